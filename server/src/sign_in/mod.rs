//! Signing in at an OpenID provider: the authorization code flow with
//! PKCE, `state` and `nonce`. The provider's metadata and keys come from
//! discovery and are kept for an hour; the id token's signature, issuer,
//! audience, expiry and nonce are checked before any claim is read.
//! Veterans and operators each have a client of their own.

mod claims;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope,
    StandardErrorResponse, StandardTokenResponse, SubjectIdentifier, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

pub use claims::{operator, veteran, Claims};

use crate::config::{ConfigError, OpenIdClientSettings, SignInSettings};
use crate::session_token::SessionToken;
use crate::store::{SignInAttempt, SignInKind};

/// How long a person has to come back from the provider.
const ATTEMPT_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// How long discovered metadata and keys are used before asking again.
const METADATA_LIFETIME: Duration = Duration::from_secs(3600);
/// A signature no kept key verifies sends us to the provider for its keys,
/// at most this often: it may have rotated them.
const KEYS_REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
const SIGN_OUT_WAIT: Duration = Duration::from_secs(2);

/// Every claim the provider sends, ours to map.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type IdTokenFields = openidconnect::IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdTokenFields, CoreTokenType>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The clients the settings describe: veterans' and operators'.
#[derive(Clone, Default)]
pub struct Clients {
    pub veteran: Option<Arc<OpenIdClient>>,
    pub operator: Option<Arc<OpenIdClient>>,
}

impl Clients {
    /// Sets up each configured client, reading its secret; the provider
    /// itself is asked nothing until someone signs in.
    pub fn configured(settings: &SignInSettings) -> Result<Self, ConfigError> {
        let public = settings.public_url.as_deref().unwrap_or_default();
        let mut problems = Vec::new();
        let mut client = |kind, client: &OpenIdClientSettings, prefix: &str, pages: &str| {
            let made = OpenIdClient::new(
                kind,
                client,
                &format!("{public}{pages}/callback"),
                &format!("{public}{pages}"),
            );
            made.map(Arc::new)
                .map_err(|problem| problems.push(format!("{prefix}: {problem}")))
                .ok()
        };
        let veteran = settings.veteran.as_ref().and_then(|veteran| {
            client(
                SignInKind::Veteran,
                &veteran.client,
                "ITF_VETERAN_OIDC",
                "/sign-in",
            )
        });
        let operator = settings.operator.as_ref().and_then(|operator| {
            client(
                SignInKind::Operator,
                &operator.client,
                "ITF_OPERATOR_OIDC",
                "/console/sign-in",
            )
        });
        if problems.is_empty() {
            Ok(Self { veteran, operator })
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// Why a sign-in did not end in a session.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached, or answered with nonsense.
    #[error("the sign-in provider is unavailable: {0}")]
    Unavailable(String),
    /// No sign-in is under way for this `state`: used already, expired, or
    /// never started in this browser.
    #[error("no sign-in is under way for this state")]
    UnknownState,
    /// The provider sent the person back without signing them in.
    #[error("the sign-in provider refused: {0}")]
    Refused(String),
    /// What the provider sent failed a check.
    #[error("the sign-in could not be verified: {0}")]
    Rejected(String),
    #[error("the account carries no well-formed ICN")]
    NoIcn,
    /// The person's groups give no console role; `id` names them on the
    /// page they are shown, never in a log line.
    #[error("the person signed in has no console role")]
    NoRole { id: String },
}

impl SignInError {
    /// The outcome `itf_sign_ins_total` counts it under.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::UnknownState => "unknown_state",
            Self::Refused(_) => "refused",
            Self::Rejected(_) => "rejected",
            Self::NoIcn => "no_icn",
            Self::NoRole { .. } => "no_role",
        }
    }
}

/// A sign-in sent to the provider: where to send the browser, and what to
/// keep until it comes back.
pub struct Begun {
    pub authorize_url: openidconnect::url::Url,
    pub state: SessionToken,
    pub attempt: SignInAttempt,
}

struct Discovered {
    metadata: ProviderMetadataWithLogout,
    at: Instant,
}

/// One client of one OpenID provider.
pub struct OpenIdClient {
    kind: SignInKind,
    issuer: IssuerUrl,
    client_id: ClientId,
    secret: Option<ClientSecret>,
    scopes: Vec<Scope>,
    redirect: RedirectUrl,
    after_sign_out: PostLogoutRedirectUrl,
    http: reqwest::Client,
    discovered: RwLock<Option<Discovered>>,
}

impl OpenIdClient {
    /// The client `settings` describe, coming back to `callback` and, after
    /// signing out at the provider, to `after_sign_out` (both full URLs).
    /// Reads the client secret's file.
    pub fn new(
        kind: SignInKind,
        settings: &OpenIdClientSettings,
        callback: &str,
        after_sign_out: &str,
    ) -> Result<Self, String> {
        let secret = match &settings.client_secret_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|error| format!("cannot read the client secret {path:?}: {error}"))?;
                Some(ClientSecret::new(text.trim().to_owned()))
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            // Discovery and token answers are never followed elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|error| format!("cannot set up an HTTP client: {error}"))?;
        Ok(Self {
            kind,
            issuer: IssuerUrl::new(settings.issuer.clone())
                .map_err(|error| format!("the issuer is not a URL: {error}"))?,
            client_id: ClientId::new(settings.client_id.clone()),
            secret,
            scopes: settings
                .scopes
                .iter()
                .filter(|scope| *scope != "openid")
                .map(|scope| Scope::new(scope.clone()))
                .collect(),
            redirect: RedirectUrl::new(callback.to_owned())
                .map_err(|error| format!("the callback is not a URL: {error}"))?,
            after_sign_out: PostLogoutRedirectUrl::new(after_sign_out.to_owned())
                .map_err(|error| format!("the sign-out return is not a URL: {error}"))?,
            http,
            discovered: RwLock::new(None),
        })
    }

    /// Starts a sign-in: a fresh `state`, nonce and PKCE verifier, and the
    /// provider's page to send the browser to.
    pub async fn begin(&self) -> Result<Begun, SignInError> {
        let client = self.client(&self.metadata(false).await?);
        let state = SessionToken::generate();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state_value = state.expose().to_owned();
        let (authorize_url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_value),
                Nonce::new_random,
            )
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        Ok(Begun {
            authorize_url,
            state,
            attempt: SignInAttempt {
                kind: self.kind,
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                expires_at: Utc::now() + ATTEMPT_LIFETIME,
            },
        })
    }

    /// Finishes a sign-in: exchanges `code` with the attempt's verifier,
    /// checks the id token, and returns its claims, filled from the user
    /// info endpoint when one of `wanted` is missing.
    pub async fn finish(
        &self,
        code: String,
        attempt: &SignInAttempt,
        wanted: &[&str],
    ) -> Result<Claims, SignInError> {
        let client = self.client(&self.metadata(false).await?);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|error| SignInError::Unavailable(error.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(refused) => {
                    SignInError::Refused(refused.error().to_string())
                }
                other => SignInError::Unavailable(other.to_string()),
            })?;
        let mut claims = self.verified_claims(&client, &tokens, attempt).await?;
        if wanted.iter().any(|name| !claims.has(name)) {
            if let Some(more) = self.user_info(&client, &tokens, &claims).await? {
                claims.fill_from(more);
            }
        }
        Ok(claims)
    }

    /// The issuer this client trusts, as configured.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// Where to send a person signing out so that the provider signs them
    /// out too, if it says how. Signing out never waits long on the
    /// provider: without its metadata at hand, and no answer in
    /// `SIGN_OUT_WAIT`, it ends with our session alone.
    pub async fn sign_out_url(&self) -> Option<openidconnect::url::Url> {
        let metadata = tokio::time::timeout(SIGN_OUT_WAIT, self.metadata(false))
            .await
            .ok()?
            .ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_client_id(self.client_id.clone())
                .set_post_logout_redirect_uri(self.after_sign_out.clone())
                .http_get_url(),
        )
    }

    async fn verified_claims(
        &self,
        client: &Client,
        tokens: &Tokens,
        attempt: &SignInAttempt,
    ) -> Result<Claims, SignInError> {
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SignInError::Rejected("the provider sent no id token".into()))?;
        let nonce = Nonce::new(attempt.nonce.clone());
        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(_)) if self.may_refresh().await => {
                let refreshed = self.client(&self.metadata(true).await?);
                let verifier = refreshed.id_token_verifier();
                id_token.claims(&verifier, &nonce).cloned()
            }
            verified => verified.cloned(),
        }
        .map_err(|error| SignInError::Rejected(error.to_string()))?;
        Ok(Claims::new(as_object(&verified)?))
    }

    async fn user_info(
        &self,
        client: &Client,
        tokens: &Tokens,
        claims: &Claims,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, SignInError> {
        let subject = claims
            .subject()
            .map(|subject| SubjectIdentifier::new(subject.to_owned()));
        let Ok(request) = client.user_info(tokens.access_token().clone(), subject) else {
            return Ok(None);
        };
        let info = request
            .request_async::<OtherClaims, _, CoreGenderClaim>(&self.http)
            .await
            .map_err(|error| SignInError::Unavailable(format!("user info: {error}")))?;
        as_object(&info).map(Some)
    }

    /// Whether the keys are old enough to ask the provider for them again.
    async fn may_refresh(&self) -> bool {
        self.discovered
            .read()
            .await
            .as_ref()
            .is_none_or(|found| found.at.elapsed() >= KEYS_REFRESH_AT_MOST_EVERY)
    }

    /// The provider's metadata and keys: discovered at most once an hour,
    /// or now when `fresh`. When the provider cannot be asked, the last
    /// ones found stand in.
    async fn metadata(&self, fresh: bool) -> Result<ProviderMetadataWithLogout, SignInError> {
        if let Some(found) = self.discovered.read().await.as_ref() {
            if !fresh && found.at.elapsed() < METADATA_LIFETIME {
                return Ok(found.metadata.clone());
            }
        }
        let mut discovered = self.discovered.write().await;
        match ProviderMetadataWithLogout::discover_async(self.issuer.clone(), &self.http).await {
            Ok(metadata) => {
                *discovered = Some(Discovered {
                    metadata: metadata.clone(),
                    at: Instant::now(),
                });
                Ok(metadata)
            }
            Err(error) => {
                tracing::warn!(kind = self.kind.as_str(), %error, "OpenID discovery failed");
                discovered
                    .as_ref()
                    .map(|found| found.metadata.clone())
                    .ok_or_else(|| SignInError::Unavailable(format!("discovery: {error}")))
            }
        }
    }

    fn client(&self, metadata: &ProviderMetadataWithLogout) -> Client {
        Client::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            self.secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone())
    }
}

fn as_object(
    claims: &impl Serialize,
) -> Result<serde_json::Map<String, serde_json::Value>, SignInError> {
    match serde_json::to_value(claims) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(SignInError::Rejected("the claims are not an object".into())),
    }
}
