//! VA Notify (VA's fork of GOV.UK Notify): `POST /v2/notifications/email`
//! with a bearer JWT signed with the API key's secret (HS256, `iss` the
//! service id, `iat` now), the veteran named by ICN (VA Notify finds the
//! address), a template id per kind, the personalisation and our
//! reference. 429 and 5xx are tried again, honouring `Retry-After`; a 400
//! fails the message; a 401 or 403 (a bad key, or a clock more than 30 s
//! off) pauses sending.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::{Channel, Sent};
use crate::config::NotifySettings;
use crate::messages::Rendered;
use crate::store::{MessageKind, OutboxMessage};

/// The path of the email endpoint below VA Notify's base URL.
pub const EMAIL_PATH: &str = "/v2/notifications/email";
/// The longest `Retry-After` honoured from VA Notify.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(900);

pub struct VaNotify {
    http: reqwest::Client,
    settings: NotifySettings,
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

impl VaNotify {
    pub fn new(settings: NotifySettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { http, settings })
    }

    fn template(&self, kind: MessageKind) -> &str {
        match kind {
            MessageKind::ItfConfirmed => &self.settings.template_itf_confirmed,
            MessageKind::ItfDelayed => &self.settings.template_itf_delayed,
            MessageKind::ItfNeedsAttention => &self.settings.template_itf_needs_attention,
        }
    }

    /// A fresh bearer token: VA Notify allows 30 s of clock skew.
    fn bearer(&self) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            iss: &self.settings.service_id,
            iat: chrono::Utc::now().timestamp(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.settings.secret.as_bytes()),
        )
    }
}

#[async_trait::async_trait]
impl Channel for VaNotify {
    async fn send(&self, message: &OutboxMessage, rendered: &Rendered) -> Sent {
        let bearer = match self.bearer() {
            Ok(bearer) => bearer,
            Err(error) => {
                return Sent::CredentialsRefused {
                    error: format!("cannot sign the VA Notify token: {error}"),
                }
            }
        };
        let body = json!({
            "template_id": self.template(message.kind),
            "recipient_identifier": {
                "id_type": "ICN",
                "id_value": message.request.icn.expose(),
            },
            "personalisation": rendered.personalisation,
            "reference": message.reference,
        });
        let answer = self
            .http
            .post(format!("{}{EMAIL_PATH}", self.settings.base_url))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(error) => {
                return Sent::Retry {
                    after: None,
                    error: format!("VA Notify did not answer: {}", error.without_url()),
                }
            }
        };
        let status = response.status();
        let retry_after = crate::provider::retry_after(response.headers(), RETRY_AFTER_CAP);
        let text = response.text().await.unwrap_or_default();
        let error = || {
            format!(
                "VA Notify answered {}: {}",
                status.as_u16(),
                errors_of(&text)
            )
        };
        match status {
            StatusCode::CREATED | StatusCode::OK => Sent::Delivered,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Sent::CredentialsRefused { error: error() }
            }
            StatusCode::TOO_MANY_REQUESTS => Sent::Retry {
                after: retry_after,
                error: error(),
            },
            status if status.is_server_error() => Sent::Retry {
                after: retry_after,
                error: error(),
            },
            _ => Sent::Refused { error: error() },
        }
    }
}

/// The messages of a VA Notify error body
/// (`{"status_code":…,"errors":[{"error":"ValidationError","message":"…"}]}`),
/// or a note that there were none.
fn errors_of(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|body| {
            let errors = body["errors"].as_array()?.iter();
            let messages: Vec<String> = errors
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["error"].as_str().unwrap_or("Error"),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .collect();
            (!messages.is_empty()).then(|| messages.join("; "))
        })
        .unwrap_or_else(|| "no error given".to_owned())
}
