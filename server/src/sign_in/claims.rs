//! What a signed-in person's claims make of them: a veteran with an ICN,
//! or an operator with a role. Anything else is refused with a reason a
//! person can act on.

use itf_app::domain::{Icn, Operator, OperatorRole, Veteran, VeteranName};
use serde_json::{Map, Value};

use super::SignInError;
use crate::config::{OperatorSignIn, VeteranSignIn};

/// The claims of one sign-in: the id token's, and the user info
/// endpoint's where the id token lacked one we need.
#[derive(Clone, Default)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub fn new(claims: Map<String, Value>) -> Self {
        Self(claims)
    }

    /// Adds the claims `more` has that these lack.
    pub fn fill_from(&mut self, more: Map<String, Value>) {
        for (name, value) in more {
            self.0.entry(name).or_insert(value);
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|value| !value.is_null())
    }

    /// Whom the provider says signed in.
    pub fn subject(&self) -> Option<&str> {
        self.text("sub")
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// A claim that is one string or a list of them.
    fn texts(&self, name: &str) -> Vec<&str> {
        match self.0.get(name) {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: the values are personal data.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The veteran these claims name. The ICN must be there and well formed:
/// without it we cannot look up or request anything for them.
pub fn veteran(claims: &Claims, settings: &VeteranSignIn) -> Result<Veteran, SignInError> {
    let subject = claims.subject().ok_or(SignInError::Rejected(
        "the id token names no subject".into(),
    ))?;
    let icn = claims
        .text(&settings.icn_claim)
        .and_then(|icn| Icn::parse(icn).ok())
        .ok_or(SignInError::NoIcn)?;
    let first_name = claims.text(&settings.first_name_claim).unwrap_or_default();
    Ok(Veteran {
        user_id: subject.to_owned(),
        name: VeteranName::new(first_name.to_owned()),
        icn,
    })
}

/// The operator these claims name, in the highest role their groups give.
pub fn operator(claims: &Claims, settings: &OperatorSignIn) -> Result<Operator, SignInError> {
    let id = claims
        .text(&settings.id_claim)
        .or_else(|| claims.subject())
        .ok_or(SignInError::Rejected(
            "the id token names no subject".into(),
        ))?;
    let groups = claims.texts(&settings.role_claim);
    let role: Option<OperatorRole> = settings
        .roles
        .iter()
        .filter(|(group, _)| groups.contains(&group.as_str()))
        .map(|(_, role)| *role)
        .max();
    match role {
        Some(role) => Ok(Operator {
            id: id.to_owned(),
            role,
        }),
        None => Err(SignInError::NoRole { id: id.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OpenIdClientSettings;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        let Value::Object(map) = value else {
            panic!("claims are an object")
        };
        Claims::new(map)
    }

    fn client() -> OpenIdClientSettings {
        OpenIdClientSettings {
            issuer: "https://sign-in.example/".into(),
            client_id: "itf".into(),
            client_secret_file: None,
            scopes: vec!["openid".into()],
        }
    }

    fn veterans() -> VeteranSignIn {
        VeteranSignIn {
            client: client(),
            icn_claim: "icn".into(),
            first_name_claim: "given_name".into(),
        }
    }

    fn operators() -> OperatorSignIn {
        OperatorSignIn {
            client: client(),
            id_claim: "email".into(),
            role_claim: "groups".into(),
            roles: vec![
                ("itf-viewers".into(), OperatorRole::Viewer),
                ("itf-admins".into(), OperatorRole::Admin),
                ("itf-operators".into(), OperatorRole::Operator),
            ],
        }
    }

    #[test]
    fn a_veteran_is_their_subject_icn_and_first_name() {
        let veteran = veteran(
            &claims(json!({"sub": "abc-123", "icn": "1012667145V762142", "given_name": "Hector"})),
            &veterans(),
        )
        .unwrap();
        assert_eq!(veteran.user_id, "abc-123");
        assert_eq!(veteran.icn.expose(), "1012667145V762142");
        assert_eq!(veteran.name.first_name(), "Hector");
    }

    #[test]
    fn a_missing_or_malformed_icn_is_refused() {
        for icn in [json!(null), json!("12345"), json!(1012667145), json!("")] {
            let refused = veteran(&claims(json!({"sub": "abc", "icn": icn})), &veterans());
            assert!(matches!(refused, Err(SignInError::NoIcn)), "{icn}");
        }
    }

    #[test]
    fn an_operator_gets_the_highest_role_their_groups_give() {
        let operator = operator(
            &claims(json!({"sub": "x", "email": "ana@va.gov", "groups": ["itf-viewers", "itf-operators", "staff"]})),
            &operators(),
        )
        .unwrap();
        assert_eq!(operator.id, "ana@va.gov");
        assert_eq!(operator.role, OperatorRole::Operator);
        let one_group = claims(json!({"sub": "y", "groups": "itf-admins"}));
        let admin = super::operator(&one_group, &operators()).unwrap();
        assert_eq!((admin.id.as_str(), admin.role), ("y", OperatorRole::Admin));
    }

    #[test]
    fn an_operator_without_a_mapped_group_is_refused_by_name() {
        let refused = operator(
            &claims(json!({"sub": "x", "email": "bo@va.gov", "groups": ["staff"]})),
            &operators(),
        );
        assert!(matches!(refused, Err(SignInError::NoRole { id }) if id == "bo@va.gov"));
    }

    #[test]
    fn debug_names_claims_but_shows_no_values() {
        let text = format!("{:?}", claims(json!({"icn": "1012667145V762142"})));
        assert!(
            text.contains("icn") && !text.contains("1012667145"),
            "{text}"
        );
    }
}
