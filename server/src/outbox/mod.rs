//! The delivery loop: the worker's instances deliver what the outbox owes,
//! at least once. A claim moves a message on by the worker's lease
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

use crate::messages::{self, Rendered};
use crate::metrics::{self, MESSAGE_OUTCOMES};
use crate::store::{Delivery, OutboxMessage, Store};
use crate::worker::{later, retry_delay};

/// Messages delivered per round.
const BATCH: u32 = 16;
/// How often to look for due messages.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two deliveries of one message.
const RETRY_MAX_DELAY: Duration = Duration::from_secs(300);
/// How often to look for requests pending long enough to owe `itf_delayed`.
const DELAYED_SWEEP: Duration = Duration::from_secs(60);
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
    /// Refused for good: the message fails, with an alert.
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
}

pub struct Outbox {
    store: Arc<dyn Store>,
    channel: Arc<dyn Channel>,
    /// How long a claimed message is left to its deliverer before another
    /// delivers it again.
    lease: Duration,
    /// How long a request may stay pending before `itf_delayed` is owed.
    delayed_after: Duration,
}

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        channel: Arc<dyn Channel>,
        lease: Duration,
        delayed_after: Duration,
    ) -> Self {
        Self {
            store,
            channel,
            lease,
            delayed_after,
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

    /// Delivers due messages until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut swept: Option<Instant> = None;
        while !*stop.borrow() {
            if swept.is_none_or(|at| at.elapsed() >= DELAYED_SWEEP) {
                self.owe_delayed().await;
                swept = Some(Instant::now());
            }
            let (delivered, paused) = self.round().await;
            let wait = if paused {
                CREDENTIALS_PAUSE
            } else if delivered < BATCH as usize {
                POLL
            } else {
                continue;
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One round: claims due messages and delivers each; returns how many,
    /// and whether sending must pause.
    async fn round(&self) -> (usize, bool) {
        let claimed = match self.store.claim_messages(self.lease, BATCH).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim messages to deliver");
                return (0, false);
            }
        };
        for (n, message) in claimed.iter().enumerate() {
            let sent = match messages::render(message.kind, &message.request) {
                Ok(rendered) => self.channel.send(message, &rendered).await,
                Err(missing) => Sent::Refused {
                    error: missing.to_string(),
                },
            };
            let paused = matches!(sent, Sent::CredentialsRefused { .. });
            crash_after_sending(&sent);
            self.record(message, sent).await;
            if paused {
                // The rest of the batch waits for its claim to run out.
                return (n + 1, true);
            }
        }
        (claimed.len(), false)
    }

    async fn record(&self, message: &OutboxMessage, sent: Sent) {
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
        if let Err(error) = self
            .store
            .finish_message(reference, &delivery, Utc::now())
            .await
        {
            // Delivered again once its claim runs out: at least once.
            tracing::warn!(%error, %reference, "could not record a delivery");
        }
    }
}

/// Test builds only (the `failpoints` feature): with
/// `ITF_FAILPOINT_EXIT_AFTER_SEND` set the process ends right after a
/// message was delivered and before that is recorded, as a crash would.
#[cfg(feature = "failpoints")]
fn crash_after_sending(sent: &Sent) {
    if *sent == Sent::Delivered && std::env::var_os("ITF_FAILPOINT_EXIT_AFTER_SEND").is_some() {
        tracing::warn!("failpoint: ending the process after a send, before recording it");
        std::process::exit(70);
    }
}

#[cfg(not(feature = "failpoints"))]
fn crash_after_sending(_sent: &Sent) {}
