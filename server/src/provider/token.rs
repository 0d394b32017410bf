//! OAuth client credentials with a signed client assertion. The token is
//! cached until shortly before it expires and shared by concurrent calls:
//! the token service is shared by every consumer, so it is asked as seldom
//! as possible, and by one call at a time.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use tokio::sync::Mutex;

use super::wire::TokenBody;
use super::ClientSettings;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lighthouse accepts assertions that live at most five minutes.
const ASSERTION_LIFETIME_SECONDS: i64 = 300;
const ROUTE: &str = "POST /oauth2/claims/system/v1/token";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token service refused our credentials.
    #[error("the token service refused our credentials (status {0})")]
    Refused(u16),
    /// The token service could not be reached or failed; try again later.
    #[error("the token service is unavailable")]
    Unavailable { retry_after: Option<Duration> },
    #[error("the private key cannot sign the client assertion: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
}

/// An access token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    audience: String,
    client_id: String,
    key: EncodingKey,
    key_id: Option<String>,
    scopes: String,
    cached: Mutex<Option<Cached>>,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

impl TokenSource {
    pub fn new(http: reqwest::Client, settings: &ClientSettings) -> Result<Self, TokenError> {
        Ok(Self {
            http,
            token_url: settings.token_url.clone(),
            audience: settings.audience.clone(),
            client_id: settings.client_id.clone(),
            key: EncodingKey::from_rsa_pem(&settings.private_key_pem)?,
            key_id: settings.key_id.clone(),
            scopes: settings.scopes.clone(),
            cached: Mutex::new(None),
        })
    }

    /// A token that is good for a while yet.
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(current.token.clone());
        }
        let fresh = self.request().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// A token other than `rejected`, which the API just refused: a fresh one,
    /// unless another call has already replaced it.
    pub async fn replace(&self, rejected: &AccessToken) -> Result<AccessToken, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|c| &c.token != rejected) {
            return Ok(current.token.clone());
        }
        let fresh = self.request().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn request(&self) -> Result<Cached, TokenError> {
        let assertion = self.assertion()?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
            ("scope", self.scopes.as_str()),
        ];
        let asked = Instant::now();
        let response = self
            .http
            .post(&self.token_url)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .form(&form)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(route = ROUTE, error = %error.without_url(), "token request failed");
                return Err(TokenError::Unavailable { retry_after: None });
            }
        };
        let status = response.status();
        tracing::debug!(
            route = ROUTE,
            status = status.as_u16(),
            latency_ms = asked.elapsed().as_millis() as u64,
            "token request answered"
        );
        if status.is_success() {
            let body: TokenBody = response.json().await.map_err(|error| {
                tracing::warn!(route = ROUTE, error = %error.without_url(), "token response unreadable");
                TokenError::Unavailable { retry_after: None }
            })?;
            let lifetime = Duration::from_secs(body.expires_in);
            // Renew with a tenth of the lifetime to spare, so a token never
            // expires on its way to the API.
            return Ok(Cached {
                token: AccessToken(body.access_token),
                renew_at: asked + lifetime - lifetime / 10,
            });
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenError::Unavailable {
                retry_after: super::client::retry_after(response.headers()),
            });
        }
        Err(TokenError::Refused(status.as_u16()))
    }

    fn assertion(&self) -> Result<String, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let claims = AssertionClaims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: &self.audience,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}
