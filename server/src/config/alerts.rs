//! Developer alerts: a Slack incoming webhook and/or PagerDuty's Events API
//! v2, and the thresholds of the conditions watched.

use std::fmt;
use std::time::Duration;

use super::reader::{Reader, MINUTES, SECONDS};

/// PagerDuty's Events API, where `PAGERDUTY_EVENTS_URL` is not set.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com";

#[derive(Clone, PartialEq, Eq)]
pub struct AlertSettings {
    /// A Slack incoming webhook: the URL is the secret.
    pub slack_webhook_url: Option<String>,
    /// PagerDuty's integration key, with the Events API's base URL.
    pub pagerduty: Option<PagerDutySettings>,
    /// How long the oldest pending request may wait before an alert.
    pub pending_after: Duration,
    /// How long the provider's circuit may stay open before an alert.
    pub circuit_open_after: Duration,
    /// How often the conditions are looked at.
    pub check_every: Duration,
}

#[derive(Clone, PartialEq, Eq)]
pub struct PagerDutySettings {
    pub routing_key: String,
    /// Such as `https://events.pagerduty.com`; the client adds `/v2/enqueue`.
    pub events_url: String,
}

impl fmt::Debug for AlertSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertSettings")
            .field(
                "slack_webhook_url",
                &self.slack_webhook_url.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "pagerduty",
                &self
                    .pagerduty
                    .as_ref()
                    .map(|pd| format!("{} (routing key redacted)", pd.events_url)),
            )
            .field("pending_after", &self.pending_after)
            .field("circuit_open_after", &self.circuit_open_after)
            .field("check_every", &self.check_every)
            .finish()
    }
}

fn http_url(reader: &mut Reader<'_>, name: &str) -> Option<String> {
    let url = reader.text(name)?;
    if url.starts_with("https://") || url.starts_with("http://") {
        Some(url.trim_end_matches('/').to_owned())
    } else {
        reader.problem(name, "is not an http(s) URL");
        None
    }
}

pub fn read(reader: &mut Reader<'_>) -> AlertSettings {
    let slack_webhook_url = http_url(reader, "SLACK_WEBHOOK_URL");
    let events_url = http_url(reader, "PAGERDUTY_EVENTS_URL");
    let pagerduty = reader
        .text("PAGERDUTY_ROUTING_KEY")
        .map(|routing_key| PagerDutySettings {
            routing_key,
            events_url: events_url.unwrap_or_else(|| PAGERDUTY_EVENTS_URL.to_owned()),
        });
    AlertSettings {
        slack_webhook_url,
        pagerduty,
        pending_after: reader.duration(
            "ITF_ALERT_PENDING_AFTER_MINUTES",
            Duration::from_secs(3600),
            MINUTES,
            1..=7 * 24 * 60,
        ),
        circuit_open_after: reader.duration(
            "ITF_ALERT_CIRCUIT_OPEN_AFTER_MINUTES",
            Duration::from_secs(15 * 60),
            MINUTES,
            1..=7 * 24 * 60,
        ),
        check_every: reader.duration(
            "ITF_ALERT_CHECK_SECONDS",
            Duration::from_secs(30),
            SECONDS,
            1..=3600,
        ),
    }
}
