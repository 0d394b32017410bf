//! The delivery loop: the worker's instances deliver what the outbox owes,
//! at least once. A claim moves a message on by `CLAIM_LEASE`, so a
//! delivery cut short (a crash between sending and recording) is made again
//! with the same reference; a delivery that fails is tried again with
//! backoff; one refused for good is kept as `failed`, never dropped.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::messages::{self, Rendered};
use crate::store::{Delivery, MailboxEntry, OutboxMessage, Store};
use crate::worker::{later, retry_delay};

/// How long a claimed message is left to its deliverer before another
/// delivers it again.
const CLAIM_LEASE: Duration = Duration::from_secs(60);
/// Messages delivered per round.
const BATCH: u32 = 16;
/// How often to look for due messages.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two deliveries of one message.
const RETRY_MAX_DELAY: Duration = Duration::from_secs(300);

/// Where messages to veterans go.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// Delivers one message; the reference is the same on every delivery
    /// of it.
    async fn send(&self, message: &OutboxMessage, rendered: &Rendered) -> Delivery;
}

/// The development mailbox (rule 7): messages kept in the database and
/// shown at `/dev/mailbox`, where no email is sent.
pub struct Mailbox(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl Channel for Mailbox {
    async fn send(&self, message: &OutboxMessage, rendered: &Rendered) -> Delivery {
        let entry = MailboxEntry {
            reference: message.reference.clone(),
            kind: message.kind,
            request_id: message.request.id.clone(),
            subject: rendered.subject.clone(),
            body: rendered.body.clone(),
            delivered_at: Utc::now(),
        };
        match self.0.deliver_to_mailbox(&entry).await {
            Ok(()) => Delivery::Sent,
            Err(error) => Delivery::Retry {
                run_at: later(retry_delay(message.attempts + 1, RETRY_MAX_DELAY, None)),
                error: error.to_string(),
            },
        }
    }
}

pub struct Outbox {
    store: Arc<dyn Store>,
    channel: Arc<dyn Channel>,
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, channel: Arc<dyn Channel>) -> Self {
        Self { store, channel }
    }

    /// Delivers due messages until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let delivered = self.round().await;
            if delivered < BATCH as usize {
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// One round: claims due messages and delivers each; returns how many.
    async fn round(&self) -> usize {
        let claimed = match self.store.claim_messages(CLAIM_LEASE, BATCH).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim messages to deliver");
                return 0;
            }
        };
        for message in &claimed {
            let delivery = match messages::render(message.kind, &message.request) {
                Ok(rendered) => self.channel.send(message, &rendered).await,
                Err(missing) => Delivery::Failed {
                    error: missing.to_string(),
                },
            };
            if let Delivery::Failed { error } = &delivery {
                tracing::error!(
                    alert = true,
                    reference = %message.reference,
                    %error,
                    "a message to a veteran could not be delivered"
                );
            }
            let recorded = self
                .store
                .finish_message(&message.reference, &delivery, Utc::now())
                .await;
            if let Err(error) = recorded {
                // Delivered again once its claim runs out: at least once.
                tracing::warn!(%error, reference = %message.reference, "could not record a delivery");
            }
        }
        claimed.len()
    }
}
