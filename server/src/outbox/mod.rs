//! The delivery loop: the worker's instances deliver what the outbox owes
//! (messages to veterans and developer alerts), at least once. A claim moves a message on by the worker's lease
//! (`ITF_LEASE_SECONDS`: how soon a dead instance's work is taken over), so a
//! delivery cut short (a crash between sending and recording) is made again
//! with the same reference; a delivery that fails is tried again with
//! backoff; one refused for good is kept as `failed`, never dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;

mod mailbox;
mod va_notify;

pub use mailbox::Mailbox;
pub use va_notify::VaNotify;

use crate::alerts::{self, Channels, Watch};
use crate::config::AlertSettings;
use crate::messages::{self, Rendered};
use crate::metrics::{self, ALERT_OUTCOMES, MESSAGE_OUTCOMES};
use crate::store::{
    Alert, AlertChannel, AlertDelivery, Delivery, OutboxItem, OutboxMessage, Paused, Store,
};
use crate::worker::{later, retry_delay};

/// Messages delivered per round.
const BATCH: u32 = 16;
/// How often to look for due messages.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two deliveries of one message.
const RETRY_MAX_DELAY: Duration = Duration::from_secs(300);
/// How long sending pauses after the channel refused our credentials.
const CREDENTIALS_PAUSE: Duration = Duration::from_secs(60);

/// Where messages to veterans go.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// Delivers one message; the reference is the same on every delivery
    /// of it.
    async fn send(&self, message: &OutboxMessage, rendered: &Rendered) -> Sent;
}

/// What a channel made of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// Try again: after `after` when the channel said so, else with backoff.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    /// Refused for good: it fails and is not retried; a message that fails
    /// raises an alert.
    Refused {
        error: String,
    },
    /// Our credentials were refused: sending pauses, with an alert, and no
    /// message fails for it.
    CredentialsRefused {
        error: String,
    },
}

impl Sent {
    /// Its name in `itf_messages_total`.
    fn outcome(&self) -> &'static str {
        let [delivered, retry, refused, credentials_refused] = MESSAGE_OUTCOMES;
        match self {
            Self::Delivered => delivered,
            Self::Retry { .. } => retry,
            Self::Refused { .. } => refused,
            Self::CredentialsRefused { .. } => credentials_refused,
        }
    }

    /// Its name in `itf_alert_deliveries_total`: alert channels have no
    /// credentials to pause for, so a refusal of them is a refusal.
    fn alert_outcome(&self) -> &'static str {
        let [delivered, retry, refused] = ALERT_OUTCOMES;
        match self {
            Self::Delivered => delivered,
            Self::Retry { .. } => retry,
            Self::Refused { .. } | Self::CredentialsRefused { .. } => refused,
        }
    }
}

pub struct Outbox {
    store: Arc<dyn Store>,
    /// Where messages to veterans go; without one they wait in the outbox.
    messages: Option<Arc<dyn Channel>>,
    alerts: Channels,
    watch: Watch,
    /// How often conditions are looked at and `itf_delayed` is owed.
    check_every: Duration,
    /// How long a claimed item is left to its deliverer before another
    /// delivers it again.
    lease: Duration,
    /// How long a request may stay pending before `itf_delayed` is owed.
    delayed_after: Duration,
    /// Messages wait until then: the channel refused our credentials.
    paused_until: Option<Instant>,
    /// Whether the alert that messages are paused may be open: true at
    /// start, so that one left open by an earlier process is resolved.
    pause_alert_open: bool,
}

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        messages: Option<Arc<dyn Channel>>,
        alerts: Channels,
        settings: &AlertSettings,
        lease: Duration,
        delayed_after: Duration,
    ) -> Self {
        Self {
            watch: Watch::new(store.clone(), settings),
            store,
            messages,
            alerts,
            check_every: settings.check_every,
            lease,
            delayed_after,
            paused_until: None,
            pause_alert_open: true,
        }
    }

    /// Owes `itf_delayed` for requests pending longer than the threshold.
    async fn owe_delayed(&self) {
        let now = Utc::now();
        let received_before =
            now - chrono::Duration::from_std(self.delayed_after).unwrap_or_default();
        match self.store.owe_delayed_messages(received_before, now).await {
            Ok(0) => {}
            Ok(owed) => tracing::info!(owed, "requests pending for long are owed a message"),
            Err(error) => tracing::warn!(%error, "could not look for long-pending requests"),
        }
    }

    /// Delivers due items until `stop` turns true.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut checked: Option<Instant> = None;
        while !*stop.borrow() {
            if checked.is_none_or(|at| at.elapsed() >= self.check_every) {
                self.owe_delayed().await;
                self.watch.check().await;
                checked = Some(Instant::now());
            }
            if self.round().await >= BATCH as usize {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Whether messages may be sent now.
    fn sending_messages(&self) -> bool {
        self.messages.is_some()
            && self
                .paused_until
                .is_none_or(|until| Instant::now() >= until)
    }

    /// One round: claims due items and delivers each; returns how many.
    async fn round(&mut self) -> usize {
        let with_messages = self.sending_messages();
        let claimed = match self
            .store
            .claim_outbox(self.lease, BATCH, with_messages)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim what the outbox owes");
                return 0;
            }
        };
        for item in &claimed {
            match item {
                // After a refusal of our credentials, the rest of the
                // batch waits for its claim to run out.
                OutboxItem::Message(message) if self.sending_messages() => {
                    self.deliver_message(message).await;
                }
                OutboxItem::Message(_) => {}
                OutboxItem::Alert(alert) => self.deliver_alert(alert).await,
            }
        }
        claimed.len()
    }

    async fn deliver_message(&mut self, message: &OutboxMessage) {
        let Some(channel) = &self.messages else {
            return;
        };
        let sent = match messages::render(message.kind, &message.request) {
            Ok(rendered) => channel.send(message, &rendered).await,
            Err(missing) => Sent::Refused {
                error: missing.to_string(),
            },
        };
        crash_after_sending(&sent, "ITF_FAILPOINT_EXIT_AFTER_SEND");
        match &sent {
            Sent::CredentialsRefused { .. } => {
                self.paused_until = Some(Instant::now() + CREDENTIALS_PAUSE);
                self.pause_alert_open = true;
                let alert = Alert::worker_paused(Paused::Messages, true);
                alerts::raise(self.store.as_ref(), &alert, true).await;
            }
            Sent::Delivered if self.pause_alert_open => {
                self.pause_alert_open = false;
                let alert = Alert::worker_paused(Paused::Messages, false);
                alerts::raise(self.store.as_ref(), &alert, false).await;
            }
            _ => {}
        }
        self.record_message(message, sent).await;
    }

    async fn record_message(&self, message: &OutboxMessage, sent: Sent) {
        let reference = &message.reference;
        metrics::message(message.kind, sent.outcome());
        let delivery = match sent {
            Sent::Delivered => Delivery::Sent,
            Sent::Retry { after, error } => Delivery::Retry {
                run_at: later(retry_delay(message.attempts + 1, RETRY_MAX_DELAY, after)),
                error,
            },
            Sent::Refused { error } => {
                tracing::error!(alert = true, %reference, %error, "a message to a veteran could not be delivered");
                Delivery::Failed { error }
            }
            Sent::CredentialsRefused { error } => {
                tracing::error!(
                    alert = true,
                    %error,
                    pause_seconds = CREDENTIALS_PAUSE.as_secs(),
                    "the message channel refused our credentials; sending pauses"
                );
                Delivery::Retry {
                    run_at: later(CREDENTIALS_PAUSE),
                    error,
                }
            }
        };
        self.finish(reference, &delivery).await;
    }

    /// An alert as raised goes out to every channel configured, each then
    /// delivered on its own; one fanned out goes to its channel.
    async fn deliver_alert(&self, alert: &AlertDelivery) {
        let Some(channel) = alert.channel else {
            self.fan_out(alert).await;
            return;
        };
        let sent = match self.alerts.sink(channel) {
            Some(sink) => sink.send(alert).await,
            None => Sent::Refused {
                error: format!("the {channel} channel is no longer configured"),
            },
        };
        metrics::alert_delivery(channel, sent.alert_outcome());
        let delivery = match sent {
            Sent::Delivered => Delivery::Sent,
            Sent::Retry { after, error } => Delivery::Retry {
                run_at: later(retry_delay(alert.attempts + 1, RETRY_MAX_DELAY, after)),
                error,
            },
            Sent::Refused { error } | Sent::CredentialsRefused { error } => {
                tracing::error!(
                    %channel,
                    reference = %alert.change.reference,
                    %error,
                    "an alert channel refused an alert for good; it is not retried"
                );
                Delivery::Failed { error }
            }
        };
        self.finish(&alert.change.reference, &delivery).await;
    }

    async fn fan_out(&self, alert: &AlertDelivery) {
        let channels: Vec<AlertChannel> = self.alerts.names();
        match self
            .store
            .fan_out_alert(&alert.change.reference, &channels, Utc::now())
            .await
        {
            Ok(()) => {
                metrics::alert(alert.change.condition, alert.change.action);
                tracing::warn!(
                    condition = %alert.change.condition,
                    action = %alert.change.action,
                    dedup_key = %alert.change.dedup_key,
                    request_id = alert.change.request_id.as_deref().unwrap_or(""),
                    channels = channels.len(),
                    summary = %alert.change.summary,
                    "developer alert"
                );
            }
            // Fanned out again once its claim runs out.
            Err(error) => {
                tracing::warn!(%error, reference = %alert.change.reference, "could not fan out an alert")
            }
        }
    }

    async fn finish(&self, reference: &str, delivery: &Delivery) {
        if let Err(error) = self
            .store
            .finish_delivery(reference, delivery, Utc::now())
            .await
        {
            // Delivered again once its claim runs out: at least once.
            tracing::warn!(%error, %reference, "could not record a delivery");
        }
    }
}

/// Test builds only (the `failpoints` feature): with the environment
/// variable `failpoint` set (`ITF_FAILPOINT_EXIT_AFTER_SEND` for messages,
/// `ITF_FAILPOINT_EXIT_AFTER_EVENT` for webhook events) the process ends
/// right after a delivery and before it is recorded, as a crash would.
#[cfg(feature = "failpoints")]
pub(crate) fn crash_after_sending(sent: &Sent, failpoint: &str) {
    if *sent == Sent::Delivered && std::env::var_os(failpoint).is_some() {
        tracing::warn!(
            failpoint,
            "ending the process after a delivery, before recording it"
        );
        std::process::exit(70);
    }
}

#[cfg(not(feature = "failpoints"))]
pub(crate) fn crash_after_sending(_sent: &Sent, _failpoint: &str) {}
