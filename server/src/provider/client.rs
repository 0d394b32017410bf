//! The Lighthouse Benefits Claims API v2 client for Intents to File.

use std::time::{Duration, Instant};

use itf_app::domain::{Icn, ItfType};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use super::token::{AccessToken, TokenError, TokenSource};
use super::wire::{CreateAttributes, CreateBody, CreateData, ErrorsBody, ItfBody, RESOURCE_TYPE};
use super::{ClientSettings, Itf, Outcome, API_PATH};
use crate::metrics;

/// Route templates: what logs name instead of paths, which carry the ICN.
const GET_ROUTE: &str = "GET /veterans/{icn}/intent-to-file/{type}";
const POST_ROUTE: &str = "POST /veterans/{icn}/intent-to-file";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Token(#[from] TokenError),
}

pub struct LighthouseClient {
    http: reqwest::Client,
    api_base: String,
    tokens: TokenSource,
}

impl LighthouseClient {
    pub fn new(settings: &ClientSettings) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .timeout(settings.timeouts.total)
            .build()?;
        Ok(Self {
            tokens: TokenSource::new(http.clone(), settings)?,
            api_base: format!("{}{API_PATH}", settings.base_url.trim_end_matches('/')),
            http,
        })
    }

    /// `GET /veterans/{icn}/intent-to-file/{type}`: the veteran's active ITF
    /// of that type, if any.
    pub async fn active_itf(&self, icn: &Icn, itf_type: ItfType) -> Outcome {
        self.active_itf_call(icn, itf_type).await.outcome
    }

    /// `POST /veterans/{icn}/intent-to-file`: creates an ITF. The provider
    /// does not check for an existing one; look first.
    pub async fn create_itf(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        claimant_ssn: Option<&str>,
    ) -> Outcome {
        self.create_itf_call(icn, itf_type, claimant_ssn)
            .await
            .outcome
    }

    /// `active_itf`, with the provider's status and the time it took.
    pub async fn active_itf_call(&self, icn: &Icn, itf_type: ItfType) -> Call {
        let url = format!(
            "{}/veterans/{}/intent-to-file/{}",
            self.api_base,
            icn.expose(),
            itf_type.as_str()
        );
        self.call(GET_ROUTE, Method::GET, &url, None).await
    }

    /// `create_itf`, with the provider's status and the time it took.
    pub async fn create_itf_call(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        claimant_ssn: Option<&str>,
    ) -> Call {
        let url = format!("{}/veterans/{}/intent-to-file", self.api_base, icn.expose());
        let body = CreateBody {
            data: CreateData {
                resource_type: RESOURCE_TYPE.to_owned(),
                attributes: CreateAttributes {
                    itf_type,
                    claimant_ssn: claimant_ssn.map(str::to_owned),
                },
            },
        };
        self.call(POST_ROUTE, Method::POST, &url, Some(&body)).await
    }

    #[tracing::instrument(name = "provider_call", skip_all, fields(route = %route))]
    async fn call(
        &self,
        route: &'static str,
        method: Method,
        url: &str,
        body: Option<&CreateBody>,
    ) -> Call {
        let started = Instant::now();
        let (outcome, status) = self.call_once_or_twice(route, method, url, body).await;
        let latency = started.elapsed();
        metrics::provider_call(route, &outcome, latency);
        Call {
            outcome,
            status,
            latency,
        }
    }

    async fn call_once_or_twice(
        &self,
        route: &'static str,
        method: Method,
        url: &str,
        body: Option<&CreateBody>,
    ) -> (Outcome, Option<u16>) {
        let token = match self.tokens.token().await {
            Ok(token) => token,
            Err(error) => return (token_outcome(error), None),
        };
        let first = self.send(route, &method, url, body, &token).await;
        let (token, refused) = match first {
            Sent::Answered(status, _, _) if is_auth_refusal(status) => (token, status),
            other => return self.outcome(route, &method, other),
        };
        // One fresh token and one retry: a refused token may simply have been
        // revoked or rotated. A second refusal is a system fault.
        tracing::info!(
            route,
            status = refused.as_u16(),
            "credentials refused; retrying with a fresh token"
        );
        let token = match self.tokens.replace(&token).await {
            Ok(token) => token,
            Err(error) => return (token_outcome(error), None),
        };
        let second = self.send(route, &method, url, body, &token).await;
        match second {
            Sent::Answered(status, _, _) if is_auth_refusal(status) => {
                tracing::error!(
                    route,
                    status = status.as_u16(),
                    "credentials refused after a fresh token"
                );
                (Outcome::AuthFailure, Some(status.as_u16()))
            }
            other => self.outcome(route, &method, other),
        }
    }

    async fn send(
        &self,
        route: &'static str,
        method: &Method,
        url: &str,
        body: Option<&CreateBody>,
        token: &AccessToken,
    ) -> Sent {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token.expose())
            .header("x-request-id", &request_id)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let result = request.send().await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(response) => {
                let status = response.status();
                tracing::debug!(
                    route,
                    request_id,
                    status = status.as_u16(),
                    latency_ms,
                    "provider answered"
                );
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                Sent::Answered(status, headers, text)
            }
            Err(error) => {
                let kind = if error.is_timeout() {
                    "timeout"
                } else {
                    "connection"
                };
                tracing::warn!(route, request_id, kind, latency_ms, error = %error.without_url(), "provider call failed");
                Sent::Failed
            }
        }
    }

    fn outcome(&self, route: &'static str, method: &Method, sent: Sent) -> (Outcome, Option<u16>) {
        let Sent::Answered(status, headers, text) = sent else {
            return (Outcome::Transient { retry_after: None }, None);
        };
        let posting = *method == Method::POST;
        let outcome = match status {
            StatusCode::OK | StatusCode::CREATED => match serde_json::from_str::<ItfBody>(&text) {
                Ok(body) if posting => Outcome::Created(Itf::from(body)),
                Ok(body) => Outcome::Active(Itf::from(body)),
                Err(error) => {
                    // An unreadable success is the provider's fault; asking
                    // again (GET first) settles what happened.
                    tracing::error!(route, %error, "provider sent an unreadable ITF");
                    Outcome::Transient { retry_after: None }
                }
            },
            StatusCode::NOT_FOUND if !posting => Outcome::NoneActive,
            StatusCode::TOO_MANY_REQUESTS => Outcome::Transient {
                retry_after: retry_after(&headers),
            },
            status if status.is_server_error() => Outcome::Transient {
                retry_after: retry_after(&headers),
            },
            status => {
                let (title, detail) = serde_json::from_str::<ErrorsBody>(&text)
                    .ok()
                    .and_then(|body| body.errors.into_iter().next())
                    .map(|e| (e.title, e.detail))
                    .unwrap_or_else(|| {
                        (
                            status.canonical_reason().unwrap_or("Refused").to_owned(),
                            format!("The provider answered {}", status.as_u16()),
                        )
                    });
                tracing::warn!(
                    route,
                    status = status.as_u16(),
                    "provider refused the request"
                );
                Outcome::Permanent { title, detail }
            }
        };
        (outcome, Some(status.as_u16()))
    }
}

/// A provider call: its outcome, the provider's status (none when no answer
/// came) and how long it took, retry included.
#[derive(Debug, Clone)]
pub struct Call {
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub latency: Duration,
}

enum Sent {
    Answered(StatusCode, HeaderMap, String),
    Failed,
}

fn is_auth_refusal(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

fn token_outcome(error: TokenError) -> Outcome {
    match error {
        TokenError::Unavailable { retry_after } => Outcome::Transient { retry_after },
        TokenError::Refused(_) | TokenError::Key(_) => {
            tracing::error!(%error, "cannot get an access token");
            Outcome::AuthFailure
        }
    }
}

/// `Retry-After` in seconds (the form Lighthouse and the simulator send).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
