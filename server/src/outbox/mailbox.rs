//! The development mailbox (rule 7): messages kept in the database and
//! shown at `/dev/mailbox`, where no email is sent.

use std::sync::Arc;

use chrono::Utc;

use super::{Channel, Sent};
use crate::messages::Rendered;
use crate::store::{MailboxEntry, OutboxMessage, Store};

/// The development mailbox, in the database.
pub struct Mailbox(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl Channel for Mailbox {
    async fn send(&self, message: &OutboxMessage, rendered: &Rendered) -> Sent {
        let entry = MailboxEntry {
            reference: message.reference.clone(),
            kind: message.kind,
            request_id: message.request.id.clone(),
            subject: rendered.subject.clone(),
            body: rendered.body.clone(),
            delivered_at: Utc::now(),
        };
        match self.0.deliver_to_mailbox(&entry).await {
            Ok(()) => Sent::Delivered,
            Err(error) => Sent::Retry {
                after: None,
                error: error.to_string(),
            },
        }
    }
}
