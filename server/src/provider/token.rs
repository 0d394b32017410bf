//! OAuth client credentials with a signed client assertion. The token is
//! cached until shortly before it expires and shared by concurrent calls:
//! the token service is shared by every consumer, so it is asked as seldom
//! as possible, and by one fetch at a time. That fetch runs as a task of its
//! own: callers wait for it without holding a lock, and a caller that gives
//! up (a look-up's budget) never cancels it for the others.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::wire::TokenBody;
use super::ClientSettings;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lighthouse accepts assertions that live at most five minutes.
const ASSERTION_LIFETIME_SECONDS: i64 = 300;
const ROUTE: &str = "POST /oauth2/claims/system/v1/token";
/// Lighthouse tokens live 300 s; a token service that claims more, or an
/// absurd number, is held to this.
const LONGEST_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

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

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

type Fetch = Shared<BoxFuture<'static, Result<Cached, Arc<TokenError>>>>;

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The fetch under way, shared by every caller waiting for a token.
    fetching: Option<Fetch>,
}

pub struct TokenSource {
    service: Arc<TokenService>,
    state: Arc<Mutex<State>>,
}

/// How to ask the token service.
struct TokenService {
    http: reqwest::Client,
    retry_after_cap: Duration,
    token_url: String,
    audience: String,
    client_id: String,
    key: EncodingKey,
    key_id: Option<String>,
    scopes: String,
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
            service: Arc::new(TokenService {
                http,
                retry_after_cap: settings.retry_after_cap,
                token_url: settings.token_url.clone(),
                audience: settings.audience.clone(),
                client_id: settings.client_id.clone(),
                key: EncodingKey::from_rsa_pem(&settings.private_key_pem)?,
                key_id: settings.key_id.clone(),
                scopes: settings.scopes.clone(),
            }),
            state: Arc::new(Mutex::new(State::default())),
        })
    }

    /// A token that is good for a while yet.
    pub async fn token(&self) -> Result<AccessToken, Arc<TokenError>> {
        let fetch = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(current) = state
                .cached
                .as_ref()
                .filter(|c| Instant::now() < c.renew_at)
            {
                return Ok(current.token.clone());
            }
            self.fetch(&mut state)
        };
        fetch.await.map(|fresh| fresh.token)
    }

    /// A token other than `rejected`, which the API just refused: a fresh one,
    /// unless another call has already replaced it.
    pub async fn replace(&self, rejected: &AccessToken) -> Result<AccessToken, Arc<TokenError>> {
        let fetch = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(current) = state.cached.as_ref().filter(|c| &c.token != rejected) {
                return Ok(current.token.clone());
            }
            state.cached = None;
            self.fetch(&mut state)
        };
        fetch.await.map(|fresh| fresh.token)
    }

    /// The fetch under way, or a new one: a task of its own, which caches
    /// what it got when it ends.
    fn fetch(&self, state: &mut State) -> Fetch {
        if let Some(fetching) = &state.fetching {
            return fetching.clone();
        }
        let service = self.service.clone();
        let shared_state = self.state.clone();
        let task = tokio::spawn(async move {
            let result = service.request().await.map_err(Arc::new);
            let mut state = shared_state.lock().unwrap_or_else(PoisonError::into_inner);
            state.fetching = None;
            if let Ok(fresh) = &result {
                state.cached = Some(fresh.clone());
            }
            result
        });
        let fetch = async move {
            task.await
                .unwrap_or_else(|_| Err(Arc::new(TokenError::Unavailable { retry_after: None })))
        }
        .boxed()
        .shared();
        state.fetching = Some(fetch.clone());
        fetch
    }
}

impl TokenService {
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
            let lifetime = Duration::from_secs(body.expires_in.max(1)).min(LONGEST_TOKEN_LIFETIME);
            // Renew with a tenth of the lifetime to spare, so a token never
            // expires on its way to the API.
            return Ok(Cached {
                token: AccessToken(body.access_token),
                renew_at: asked + lifetime - lifetime / 10,
            });
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenError::Unavailable {
                retry_after: super::client::retry_after(response.headers(), self.retry_after_cap),
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
