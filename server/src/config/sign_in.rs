//! How veterans and operators sign in: an OpenID Connect client each, at
//! the identity provider the settings name. Production serves no page
//! without veterans' sign-in; the console is mounted outside development
//! only with operators'. Client secrets are read from files, as keys are,
//! when the application is assembled.

use std::path::PathBuf;

use itf_app::domain::OperatorRole;

use super::reader::Reader;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInSettings {
    /// Where people reach this site, such as `https://itf.va.gov`: the
    /// provider sends them back under it.
    pub public_url: Option<String>,
    pub veteran: Option<VeteranSignIn>,
    pub operator: Option<OperatorSignIn>,
}

/// One client registered with an OpenID provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIdClientSettings {
    pub issuer: String,
    pub client_id: String,
    /// None for a public client, which PKCE alone protects.
    pub client_secret_file: Option<PathBuf>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeteranSignIn {
    pub client: OpenIdClientSettings,
    /// The claim carrying the veteran's ICN.
    pub icn_claim: String,
    /// The claim carrying the veteran's first name.
    pub first_name_claim: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSignIn {
    pub client: OpenIdClientSettings,
    /// The claim naming the operator in the audit log.
    pub id_claim: String,
    /// The claim holding the operator's groups (a list or one value).
    pub role_claim: String,
    /// Which group gives which role; several groups give the highest.
    pub roles: Vec<(String, OperatorRole)>,
}

pub fn read(reader: &mut Reader<'_>, production: bool, serves_pages: bool) -> SignInSettings {
    let veteran = client(reader, "ITF_VETERAN_OIDC", "openid profile", production).map(|client| {
        VeteranSignIn {
            client,
            icn_claim: claim(reader, "ITF_VETERAN_ICN_CLAIM", "icn"),
            first_name_claim: claim(reader, "ITF_VETERAN_FIRST_NAME_CLAIM", "given_name"),
        }
    });
    let operator = client(
        reader,
        "ITF_OPERATOR_OIDC",
        "openid profile email",
        production,
    )
    .map(|client| OperatorSignIn {
        client,
        id_claim: claim(reader, "ITF_OPERATOR_ID_CLAIM", "email"),
        role_claim: claim(reader, "ITF_OPERATOR_ROLE_CLAIM", "groups"),
        roles: roles(reader),
    });
    if production && serves_pages && veteran.is_none() {
        reader.problem(
            "ITF_VETERAN_OIDC_ISSUER",
            "missing; production signs veterans in only through an OpenID provider: \
             set ITF_VETERAN_OIDC_ISSUER and ITF_VETERAN_OIDC_CLIENT_ID",
        );
    }
    let attempted = ["ITF_VETERAN_OIDC", "ITF_OPERATOR_OIDC"]
        .iter()
        .any(|prefix| {
            reader.text(&format!("{prefix}_ISSUER")).is_some()
                || reader.text(&format!("{prefix}_CLIENT_ID")).is_some()
        });
    let public_url = if attempted {
        public_url(reader, production)
    } else {
        reader.text("ITF_PUBLIC_URL")
    };
    SignInSettings {
        public_url,
        veteran,
        operator,
    }
}

/// The client `{prefix}_ISSUER` and `{prefix}_CLIENT_ID` name, if either
/// is set; one without the other is a problem.
fn client(
    reader: &mut Reader<'_>,
    prefix: &str,
    default_scopes: &str,
    production: bool,
) -> Option<OpenIdClientSettings> {
    let (issuer_name, id_name) = (format!("{prefix}_ISSUER"), format!("{prefix}_CLIENT_ID"));
    let secret_name = format!("{prefix}_CLIENT_SECRET_FILE");
    let scopes_name = format!("{prefix}_SCOPES");
    let (issuer, client_id) = (reader.text(&issuer_name), reader.text(&id_name));
    if issuer.is_none() && client_id.is_none() {
        return None;
    }
    // Every part is checked, so that every problem is named at once.
    let issuer = reader.required(&issuer_name, "the OpenID provider's issuer URL");
    let client_id = reader.required(&id_name, "the client id the OpenID provider gave this site");
    if let Some(issuer) = issuer
        .as_deref()
        .filter(|issuer| !web_url(issuer, production))
    {
        reader.problem(
            &issuer_name,
            format_args!("{issuer:?} is not an {} URL", scheme(production)),
        );
    }
    let scopes = reader
        .text(&scopes_name)
        .unwrap_or_else(|| default_scopes.to_owned());
    let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
    if !scopes.iter().any(|scope| scope == "openid") {
        reader.problem(&scopes_name, "must include openid");
    }
    Some(OpenIdClientSettings {
        // As given: the provider's `iss` must match it to the character.
        issuer: issuer?.trim().to_owned(),
        client_id: client_id?,
        client_secret_file: reader.text(&secret_name).map(PathBuf::from),
        scopes,
    })
}

fn claim(reader: &Reader<'_>, name: &str, default: &str) -> String {
    reader
        .text(name)
        .map_or_else(|| default.to_owned(), |text| text.trim().to_owned())
}

/// `ITF_OPERATOR_ROLES`: `group=role` pairs separated by commas.
fn roles(reader: &mut Reader<'_>) -> Vec<(String, OperatorRole)> {
    const NAME: &str = "ITF_OPERATOR_ROLES";
    let Some(text) = reader.required(
        NAME,
        "which group gives which console role, such as \
         `itf-viewers=viewer,itf-operators=operator,itf-admins=admin`",
    ) else {
        return Vec::new();
    };
    let parsed: Option<Vec<_>> = text
        .split(',')
        .map(|pair| {
            let (group, role) = pair.split_once('=')?;
            let role = OperatorRole::parse(role.trim()).ok()?;
            Some((group.trim().to_owned(), role)).filter(|(group, _)| !group.is_empty())
        })
        .collect();
    parsed.unwrap_or_else(|| {
        reader.problem(
            NAME,
            format_args!(
                "{text:?} is not accepted; use `group=role` pairs separated by commas, \
                 each role viewer, operator or admin"
            ),
        );
        Vec::new()
    })
}

fn public_url(reader: &mut Reader<'_>, production: bool) -> Option<String> {
    const NAME: &str = "ITF_PUBLIC_URL";
    let url = reader.required(
        NAME,
        "the address people reach this site at, such as https://itf.va.gov, \
         which sign-in returns them to",
    )?;
    if !web_url(&url, production) {
        reader.problem(
            NAME,
            format_args!("{url:?} is not an {} URL", scheme(production)),
        );
    }
    Some(url.trim_end_matches('/').to_owned())
}

/// Production talks to identity providers and is reached over HTTPS only.
fn web_url(text: &str, production: bool) -> bool {
    let parsed = openidconnect::url::Url::parse(text).ok();
    parsed.is_some_and(|url| {
        url.has_host() && (url.scheme() == "https" || (!production && url.scheme() == "http"))
    })
}

fn scheme(production: bool) -> &'static str {
    if production {
        "https"
    } else {
        "http(s)"
    }
}
