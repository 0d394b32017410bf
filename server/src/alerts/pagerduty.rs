//! PagerDuty's Events API v2: `POST /v2/enqueue` with the routing key,
//! `trigger` or `resolve`, and the alert's `dedup_key`, so that the resolve
//! closes the incident the trigger opened. 202 is accepted; 429 and 5xx
//! are tried again; a 400 (a bad event or routing key) is refused for good.

use serde_json::json;

use super::{client, post, AlertSink};
use crate::config::PagerDutySettings;
use crate::outbox::Sent;
use crate::store::{AlertAction, AlertChannel, AlertCondition, AlertDelivery};

/// The path of the Events API below its base URL.
pub const ENQUEUE_PATH: &str = "/v2/enqueue";
/// PagerDuty's limit on a summary.
const SUMMARY_MAX_CHARS: usize = 1024;

pub struct PagerDuty {
    http: reqwest::Client,
    settings: PagerDutySettings,
}

impl PagerDuty {
    pub fn new(settings: PagerDutySettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: client()?,
            settings,
        })
    }
}

/// How urgent each condition is to whoever is on call.
fn severity(condition: AlertCondition) -> &'static str {
    match condition {
        AlertCondition::CircuitOpen | AlertCondition::WorkerPaused => "critical",
        AlertCondition::NeedsAttention
        | AlertCondition::MessageUndeliverable
        | AlertCondition::WebhookFailing => "error",
        AlertCondition::PendingTooLong => "warning",
    }
}

/// The event for one change of an alert.
pub fn event(routing_key: &str, alert: &AlertDelivery) -> serde_json::Value {
    match alert.change.action {
        AlertAction::Trigger => json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": alert.change.dedup_key,
            "payload": {
                "summary": alert.change.summary.chars().take(SUMMARY_MAX_CHARS).collect::<String>(),
                "source": "itf-async",
                "severity": severity(alert.change.condition),
                "component": alert.change.condition.as_str(),
                "timestamp": alert.raised_at.to_rfc3339(),
                "custom_details": {
                    "condition": alert.change.condition.as_str(),
                    "request_id": alert.change.request_id,
                },
            },
        }),
        AlertAction::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": alert.change.dedup_key,
        }),
    }
}

#[async_trait::async_trait]
impl AlertSink for PagerDuty {
    async fn send(&self, alert: &AlertDelivery) -> Sent {
        let url = format!("{}{ENQUEUE_PATH}", self.settings.events_url);
        let body = event(&self.settings.routing_key, alert);
        post(&self.http, &url, &body, AlertChannel::PagerDuty).await
    }
}
