//! Webhook events for other VA services: where the endpoints are written,
//! and how long a delivery is retried.

use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Reader, HOURS, SECONDS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// The endpoints file (`webhooks::endpoints`); none: events wait in
    /// the database until endpoints are configured.
    pub file: Option<PathBuf>,
    /// The longest wait between two deliveries of an event to an endpoint.
    pub retry_max_delay: Duration,
    /// How long after the change an endpoint that does not accept the event
    /// is given up on: the delivery fails, stays listed, and is alerted.
    pub give_up_after: Duration,
}

pub fn read(reader: &mut Reader<'_>) -> WebhookSettings {
    WebhookSettings {
        file: reader.text("ITF_WEBHOOKS_FILE").map(PathBuf::from),
        retry_max_delay: reader.duration(
            "ITF_WEBHOOK_RETRY_MAX_DELAY",
            Duration::from_secs(900),
            SECONDS,
            1..=86_400,
        ),
        give_up_after: reader.duration(
            "ITF_WEBHOOK_GIVE_UP_HOURS",
            Duration::from_secs(72 * 3600),
            HOURS,
            1..=720,
        ),
    }
}
