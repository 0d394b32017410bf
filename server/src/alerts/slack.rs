//! A Slack incoming webhook: `POST {"text": …}`, answered `200 ok`; 429
//! with `Retry-After` when throttled. 400, 403, 404 and 410 (a bad payload,
//! or a webhook revoked or removed) are refused for good.

use super::{client, post, AlertSink};
use crate::outbox::Sent;
use crate::store::{AlertAction, AlertChannel, AlertDelivery};

pub struct Slack {
    http: reqwest::Client,
    url: String,
}

impl Slack {
    pub fn new(url: String) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: client()?,
            url,
        })
    }
}

/// The text of an alert: what changed, the summary, and the key that ties
/// trigger and resolve together.
pub fn text(alert: &AlertDelivery) -> String {
    let headline = match alert.change.action {
        AlertAction::Trigger => format!(
            ":rotating_light: ITF Async alert: {}",
            alert.change.condition
        ),
        AlertAction::Resolve => {
            format!(
                ":white_check_mark: ITF Async resolved: {}",
                alert.change.condition
            )
        }
    };
    format!(
        "{headline}\n{}\ndedup_key: {}",
        alert.change.summary, alert.change.dedup_key
    )
}

#[async_trait::async_trait]
impl AlertSink for Slack {
    async fn send(&self, alert: &AlertDelivery) -> Sent {
        let body = serde_json::json!({ "text": text(alert) });
        post(&self.http, &self.url, &body, AlertChannel::Slack).await
    }
}
