//! Developer alerts: the conditions watched, and the channels that tell the
//! team. A condition opens an alert once and resolves it when it clears,
//! under one `dedup_key`; the change is written to the outbox with it and
//! delivered, at least once, to every channel configured. Alerts carry
//! request ids, references and counts, never a veteran's name or ICN.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;

mod listed;
mod pagerduty;
mod slack;

pub use listed::Listed;
pub use pagerduty::{PagerDuty, ENQUEUE_PATH};
pub use slack::Slack;

use crate::config::AlertSettings;
use crate::outbox::Sent;
use crate::store::{Alert, AlertChannel, AlertDelivery, Store};

/// The longest `Retry-After` honoured from an alert channel.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(900);

/// Where alerts go.
#[async_trait::async_trait]
pub trait AlertSink: Send + Sync {
    async fn send(&self, alert: &AlertDelivery) -> Sent;
}

/// The channels of this instance, by name.
#[derive(Clone, Default)]
pub struct Channels(Vec<(AlertChannel, Arc<dyn AlertSink>)>);

impl Channels {
    /// The channels the configuration names.
    pub fn configured(
        channels: &[AlertChannel],
        settings: &AlertSettings,
        store: &Arc<dyn Store>,
    ) -> Result<Self, reqwest::Error> {
        let mut sinks: Vec<(AlertChannel, Arc<dyn AlertSink>)> = Vec::new();
        for channel in channels {
            let sink: Arc<dyn AlertSink> = match channel {
                AlertChannel::Slack => match &settings.slack_webhook_url {
                    Some(url) => Arc::new(Slack::new(url.clone())?),
                    None => continue,
                },
                AlertChannel::PagerDuty => match &settings.pagerduty {
                    Some(pagerduty) => Arc::new(PagerDuty::new(pagerduty.clone())?),
                    None => continue,
                },
                AlertChannel::Development => Arc::new(Listed(store.clone())),
            };
            sinks.push((*channel, sink));
        }
        Ok(Self(sinks))
    }

    pub fn names(&self) -> Vec<AlertChannel> {
        self.0.iter().map(|(name, _)| *name).collect()
    }

    pub fn sink(&self, channel: AlertChannel) -> Option<&Arc<dyn AlertSink>> {
        self.0
            .iter()
            .find(|(name, _)| *name == channel)
            .map(|(_, sink)| sink)
    }
}

/// Opens the alert when `holds`, else resolves it; a change is logged. A
/// failure to record it is logged too: the condition is looked at again.
pub async fn raise(store: &dyn Store, alert: &Alert, holds: bool) {
    match store.set_alert(alert, holds, Utc::now()).await {
        Ok(None) => {}
        Ok(Some(action)) => tracing::info!(
            condition = %alert.condition,
            %action,
            dedup_key = %alert.dedup_key(),
            "an alert changed"
        ),
        Err(error) => tracing::warn!(
            %error,
            condition = %alert.condition,
            "could not record an alert; it is looked at again"
        ),
    }
}

/// Watches the conditions that no single change causes: the oldest pending
/// request waiting too long, and the provider's circuit open too long; and,
/// every hour, how many requests are on the date-drift list.
pub struct Watch {
    store: Arc<dyn Store>,
    pending_after: Duration,
    circuit_open_after: Duration,
    drift_measured: Option<std::time::Instant>,
}

/// How often the date-drift list is counted for `itf_date_drift_requests`.
const DRIFT_EVERY: Duration = Duration::from_secs(3600);
/// The days the date-drift list is counted over.
const DRIFT_DAYS: i64 = 30;

impl Watch {
    pub fn new(store: Arc<dyn Store>, settings: &AlertSettings) -> Self {
        Self {
            store,
            pending_after: settings.pending_after,
            circuit_open_after: settings.circuit_open_after,
            drift_measured: None,
        }
    }

    /// Counts the requests of the last 30 days on the date-drift list.
    async fn measure_drift(&mut self) {
        if self
            .drift_measured
            .is_some_and(|at| at.elapsed() < DRIFT_EVERY)
        {
            return;
        }
        self.drift_measured = Some(std::time::Instant::now());
        let now = Utc::now();
        let today = itf_app::domain::eastern_day(&now);
        let days = crate::report::Days::since(today - chrono::Duration::days(DRIFT_DAYS), now);
        let drift = match days {
            Ok(days) => crate::report::date_drift(self.store.as_ref(), days).await,
            Err(error) => Err(error),
        };
        match drift {
            Ok(drift) => crate::metrics::date_drift(drift.len()),
            Err(error) => tracing::warn!(%error, "could not count the date-drift list"),
        }
    }

    pub async fn check(&mut self) {
        self.measure_drift().await;
        let now = Utc::now();
        let longer_than = |span: Duration| chrono::Duration::from_std(span).unwrap_or_default();
        match self.store.oldest_pending().await {
            Ok(oldest) => {
                let late = oldest.filter(|o| now - o.received_at > longer_than(self.pending_after));
                let alert = Alert::pending_too_long(late.as_ref(), self.pending_after);
                raise(self.store.as_ref(), &alert, late.is_some()).await;
            }
            Err(error) => tracing::warn!(%error, "could not look at the oldest pending request"),
        }
        match self.store.circuit_open_since().await {
            Ok(since) => {
                let long = since.filter(|at| now - *at > longer_than(self.circuit_open_after));
                raise(
                    self.store.as_ref(),
                    &Alert::circuit_open(long),
                    long.is_some(),
                )
                .await;
            }
            Err(error) => tracing::warn!(%error, "could not look at the provider's circuit"),
        }
    }
}

/// What an alert channel's answer means: 2xx delivered; 429 and 5xx tried
/// again, after `Retry-After` when given; any other answer refused for good
/// and never retried.
fn sent_for(status: StatusCode, retry_after: Option<Duration>, error: String) -> Sent {
    if status.is_success() {
        Sent::Delivered
    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Sent::Retry {
            after: retry_after,
            error,
        }
    } else {
        Sent::Refused { error }
    }
}

/// Posts `body` and reads the answer as `sent_for` does; a channel that
/// does not answer is tried again.
async fn post(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    channel: AlertChannel,
) -> Sent {
    let response = match http.post(url).json(body).send().await {
        Ok(response) => response,
        Err(error) => {
            return Sent::Retry {
                after: None,
                error: format!("{channel} did not answer: {}", error.without_url()),
            }
        }
    };
    let status = response.status();
    let retry_after = crate::provider::retry_after(response.headers(), RETRY_AFTER_CAP);
    let text = response.text().await.unwrap_or_default();
    let excerpt: String = text.chars().take(200).collect();
    sent_for(
        status,
        retry_after,
        format!("{channel} answered {}: {excerpt}", status.as_u16()),
    )
}

fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_and_server_errors_are_tried_again() {
        let after = Some(Duration::from_secs(7));
        assert_eq!(
            sent_for(StatusCode::ACCEPTED, None, String::new()),
            Sent::Delivered
        );
        for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::BAD_GATEWAY] {
            assert_eq!(
                sent_for(status, after, "e".into()),
                Sent::Retry {
                    after,
                    error: "e".into()
                }
            );
        }
        for status in [400, 403, 404, 410] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(matches!(
                sent_for(status, after, "e".into()),
                Sent::Refused { .. }
            ));
        }
    }
}
