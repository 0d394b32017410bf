//! The development list of alerts, at `/dev/alerts.json`, where none goes to
//! Slack or PagerDuty.

use std::sync::Arc;

use chrono::Utc;

use super::AlertSink;
use crate::outbox::Sent;
use crate::store::{AlertDelivery, ListedAlert, Store};

pub struct Listed(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl AlertSink for Listed {
    async fn send(&self, alert: &AlertDelivery) -> Sent {
        let listed = ListedAlert {
            change: alert.change.clone(),
            delivered_at: Utc::now(),
        };
        match self.0.list_alert(&listed).await {
            Ok(()) => Sent::Delivered,
            Err(error) => Sent::Retry {
                after: None,
                error: error.to_string(),
            },
        }
    }
}
