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
pub const POST_ROUTE: &str = "POST /veterans/{icn}/intent-to-file";

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
    retry_after_cap: Duration,
}

/// Asked before each request to the provider's API, and told what each
/// answer said about the provider's quota. The worker's lease is one: a
/// request is sent only while the lease, just renewed, outlives it, and only
/// with budget; a person's call is sent only with budget.
#[async_trait::async_trait]
pub trait Fence: Send + Sync {
    /// The instant by which the request must start, or `None` when it must
    /// not be sent at all.
    async fn admit(&self, route: &'static str) -> Option<Instant>;

    /// What an answer said about the provider's quota.
    async fn answered(&self, limits: RateLimits);
}

/// What an answer said about the provider's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `X-RateLimit-Remaining-Minute`: calls left in the provider's window.
    pub remaining: Option<u32>,
    /// A 429: the quota is spent.
    pub throttled: bool,
    /// A 429's `Retry-After`, at most the cap.
    pub retry_after: Option<Duration>,
}

impl RateLimits {
    fn of(status: StatusCode, headers: &HeaderMap, cap: Duration) -> Self {
        let throttled = status == StatusCode::TOO_MANY_REQUESTS;
        Self {
            remaining: headers
                .get("x-ratelimit-remaining-minute")
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse().ok()),
            throttled,
            retry_after: retry_after(headers, cap).filter(|_| throttled),
        }
    }
}

/// The fence refused a request: it was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request was not sent: its fence refused it")]
pub struct Fenced;

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
            retry_after_cap: settings.retry_after_cap,
        })
    }

    /// `GET /veterans/{icn}/intent-to-file/{type}`: the veteran's active ITF
    /// of that type, if any, behind `fence`, with the provider's status and
    /// the time it took.
    pub async fn active_itf(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        fence: &dyn Fence,
    ) -> Result<Call, Fenced> {
        let url = format!(
            "{}/veterans/{}/intent-to-file/{}",
            self.api_base,
            icn.expose(),
            itf_type.as_str()
        );
        let request = Request {
            route: GET_ROUTE,
            method: Method::GET,
            url: &url,
            body: None,
            asked: itf_type,
        };
        self.call(&request, fence).await
    }

    /// `POST /veterans/{icn}/intent-to-file`: creates an ITF, behind `fence`,
    /// with the provider's status and the time it took. The provider does
    /// not check for an existing one; look first.
    pub async fn create_itf(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        claimant_ssn: Option<&str>,
        fence: &dyn Fence,
    ) -> Result<Call, Fenced> {
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
        let request = Request {
            route: POST_ROUTE,
            method: Method::POST,
            url: &url,
            body: Some(&body),
            asked: itf_type,
        };
        self.call(&request, fence).await
    }

    #[tracing::instrument(name = "provider_call", skip_all, fields(route = %request.route))]
    async fn call(&self, request: &Request<'_>, fence: &dyn Fence) -> Result<Call, Fenced> {
        let started = Instant::now();
        let (outcome, status) = self.call_once_or_twice(request, fence).await?;
        let latency = started.elapsed();
        metrics::provider_call(request.route, &outcome, latency);
        Ok(Call {
            outcome,
            status,
            latency,
        })
    }

    async fn call_once_or_twice(
        &self,
        request: &Request<'_>,
        fence: &dyn Fence,
    ) -> Result<(Outcome, Option<u16>), Fenced> {
        let route = request.route;
        let token = match self.tokens.token().await {
            Ok(token) => token,
            Err(error) => return Ok((token_outcome(&error), None)),
        };
        let first = self.send(request, &token, fence).await?;
        let (token, refused) = match first {
            Sent::Answered(status, _, _) if is_auth_refusal(status) => (token, status),
            other => return Ok(self.outcome(request, other)),
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
            Err(error) => return Ok((token_outcome(&error), None)),
        };
        let second = self.send(request, &token, fence).await?;
        Ok(match second {
            Sent::Answered(status, _, _) if is_auth_refusal(status) => {
                tracing::error!(
                    route,
                    status = status.as_u16(),
                    "credentials refused after a fresh token"
                );
                (Outcome::AuthFailure, Some(status.as_u16()))
            }
            other => self.outcome(request, other),
        })
    }

    async fn send(
        &self,
        request: &Request<'_>,
        token: &AccessToken,
        fence: &dyn Fence,
    ) -> Result<Sent, Fenced> {
        let route = request.route;
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut builder = self
            .http
            .request(request.method.clone(), request.url)
            .bearer_auth(token.expose())
            .header("x-request-id", &request_id)
            .header("accept", "application/json");
        if let Some(body) = request.body {
            builder = builder.json(body);
        }
        let start_by = fence.admit(route).await.ok_or(Fenced)?;
        if Instant::now() > start_by {
            // Paused since the fence admitted it (a stalled process): the
            // lease may be another's by now, so the request is not sent.
            tracing::warn!(route, "too late to send a request; not sent");
            return Err(Fenced);
        }
        let started = Instant::now();
        let result = builder.send().await;
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
                let limits = RateLimits::of(status, &headers, self.retry_after_cap);
                if limits.throttled || limits.remaining.is_some() {
                    fence.answered(limits).await;
                }
                let text = response.text().await.unwrap_or_default();
                Ok(Sent::Answered(status, headers, text))
            }
            Err(error) => {
                let kind = if error.is_timeout() {
                    "timeout"
                } else {
                    "connection"
                };
                tracing::warn!(route, request_id, kind, latency_ms, error = %error.without_url(), "provider call failed");
                Ok(Sent::Failed)
            }
        }
    }

    fn outcome(&self, request: &Request<'_>, sent: Sent) -> (Outcome, Option<u16>) {
        let Sent::Answered(status, headers, text) = sent else {
            return (Outcome::Transient { retry_after: None }, None);
        };
        let (route, asked) = (request.route, request.asked);
        let posting = request.method == Method::POST;
        let outcome = match status {
            StatusCode::OK | StatusCode::CREATED => match serde_json::from_str::<ItfBody>(&text) {
                Ok(body) if body.data.resource_type == RESOURCE_TYPE => {
                    confirmation(route, Itf::from(body), asked, posting)
                }
                Ok(_) => {
                    tracing::error!(
                        alert = true,
                        route,
                        "provider answered 200 with another kind of resource"
                    );
                    Outcome::Transient { retry_after: None }
                }
                Err(error) => {
                    // An unreadable success is the provider's fault; asking
                    // again (GET first) settles what happened.
                    tracing::error!(alert = true, route, %error, "provider sent an unreadable ITF");
                    Outcome::Transient { retry_after: None }
                }
            },
            StatusCode::NOT_FOUND if !posting => Outcome::NoneActive,
            // Timeouts, conflicts (a concurrent change at the provider),
            // throttling and server faults pass; asking again settles them.
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => {
                Outcome::Transient {
                    retry_after: retry_after(&headers, self.retry_after_cap),
                }
            }
            status if status.is_server_error() => Outcome::Transient {
                retry_after: retry_after(&headers, self.retry_after_cap),
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

/// A 200 confirms only an active, unexpired ITF of the type asked for;
/// anything else is the provider's fault, and asking again settles it.
fn confirmation(route: &'static str, itf: Itf, asked: ItfType, posting: bool) -> Outcome {
    let unexpired = itf.expiration_date > chrono::Utc::now();
    if itf.itf_type != asked || itf.status != "active" || !unexpired {
        tracing::error!(
            alert = true,
            route,
            status = %itf.status,
            unexpired,
            same_type = itf.itf_type == asked,
            "the provider answered 200 with an ITF that is not an active, unexpired ITF of the \
             type asked; not taken as a confirmation"
        );
        return Outcome::Transient { retry_after: None };
    }
    if posting {
        Outcome::Created(itf)
    } else {
        Outcome::Active(itf)
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

/// One request to the provider's API, as the client sends it.
struct Request<'a> {
    route: &'static str,
    method: Method,
    url: &'a str,
    body: Option<&'a CreateBody>,
    /// The ITF type asked for: a 200 about another type confirms nothing.
    asked: ItfType,
}

enum Sent {
    Answered(StatusCode, HeaderMap, String),
    Failed,
}

fn is_auth_refusal(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

fn token_outcome(error: &TokenError) -> Outcome {
    match error {
        TokenError::Unavailable { retry_after } => Outcome::Transient {
            retry_after: *retry_after,
        },
        TokenError::Refused(_) | TokenError::Key(_) => {
            tracing::error!(%error, "cannot get an access token");
            Outcome::AuthFailure
        }
    }
}

/// `Retry-After`, in seconds or as an HTTP-date, at most `cap`: whatever a
/// provider sends, a request is not parked for longer than that. A value
/// that is neither (negative, garbage) is ignored.
pub fn retry_after(headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    const CAP: Duration = Duration::from_secs(900);

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date_and_bounded() {
        assert_eq!(
            retry_after(&headers("30"), CAP),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("18446744073709551615"), CAP),
            Some(CAP)
        );
        assert_eq!(retry_after(&headers("-1"), CAP), None);
        assert_eq!(retry_after(&headers("soon, please"), CAP), None);
        let in_a_minute = (chrono::Utc::now() + chrono::Duration::seconds(60)).to_rfc2822();
        let wait = retry_after(&headers(&in_a_minute), CAP).unwrap();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        let next_year = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc2822();
        assert_eq!(retry_after(&headers(&next_year), CAP), Some(CAP));
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT"), CAP),
            Some(Duration::ZERO)
        );
    }
}
