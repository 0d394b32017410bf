//! Developer alerts as the store keeps them: a condition about one thing
//! (a request, a message, a part of the service) opens and resolves under
//! one stable `dedup_key`, and each change is delivered through the
//! outbox. Alerts carry request ids, references and counts, never a
//! veteran's name or ICN.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::model::{attempts, named};
use super::Delivery;
use super::StoreError;

named! {
    /// What an alert is about.
    pub enum AlertCondition {
        /// The provider refused a request for good; a person must look.
        NeedsAttention => "needs_attention",
        /// The oldest pending request has waited longer than the threshold.
        PendingTooLong => "pending_too_long",
        /// The provider's circuit has been open longer than the threshold.
        CircuitOpen => "circuit_open",
        /// A worker pauses because our credentials were refused.
        WorkerPaused => "worker_paused",
        /// A message to a veteran could not be delivered.
        MessageUndeliverable => "message_undeliverable",
        /// A webhook endpoint keeps refusing, or not answering, events.
        WebhookFailing => "webhook_failing",
    }
}

named! {
    /// What a delivery of an alert says: it opened, or it cleared.
    pub enum AlertAction {
        Trigger => "trigger",
        Resolve => "resolve",
    }
}

named! {
    /// Where alerts go.
    pub enum AlertChannel {
        /// A Slack incoming webhook.
        Slack => "slack",
        /// PagerDuty's Events API v2.
        PagerDuty => "pagerduty",
        /// The development list, at `/dev/alerts.json`.
        Development => "development",
    }
}

impl AlertAction {
    /// Opening while the condition holds, resolving once it cleared.
    pub fn of(holds: bool) -> Self {
        if holds {
            Self::Trigger
        } else {
            Self::Resolve
        }
    }
}

/// The part of the service a worker alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    /// The provider worker: Lighthouse refused our credentials.
    Provider,
    /// The delivery loop: the message channel refused our credentials.
    Messages,
}

/// A condition that holds, or has cleared, with what the team is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub condition: AlertCondition,
    /// The one thing it is about, if it is about one: with the condition it
    /// makes the `dedup_key`.
    pub subject: Option<String>,
    /// The request it is about, if any.
    pub request_id: Option<String>,
    pub summary: String,
}

impl Alert {
    /// The same across trigger and resolve, and across instances.
    pub fn dedup_key(&self) -> String {
        match &self.subject {
            Some(subject) => format!("itf-async/{}/{subject}", self.condition),
            None => format!("itf-async/{}", self.condition),
        }
    }

    pub fn needs_attention(request_id: &str) -> Self {
        Self {
            condition: AlertCondition::NeedsAttention,
            subject: Some(request_id.to_owned()),
            request_id: Some(request_id.to_owned()),
            summary: format!(
                "Request {request_id} needs attention: the provider refused it for good. \
                 The veteran was told we will follow up; look at the request and repair it."
            ),
        }
    }

    /// The request no longer needs attention: the alert that clears it.
    pub fn needs_attention_cleared(request_id: &str) -> Self {
        Self {
            summary: format!(
                "Request {request_id} no longer needs attention: it was repaired, or found active."
            ),
            ..Self::needs_attention(request_id)
        }
    }

    /// The oldest pending request has waited too long; with none such, the
    /// alert that clears it.
    pub fn pending_too_long(oldest: Option<&OldestPending>, after: Duration) -> Self {
        let minutes = after.as_secs() / 60;
        let (request_id, summary) = match oldest {
            Some(oldest) => (
                Some(oldest.request_id.clone()),
                format!(
                    "{} requests pending; the oldest, request {}, has been pending since {} \
                     (longer than {minutes} minutes). Look at the provider and the worker.",
                    oldest.pending,
                    oldest.request_id,
                    oldest.received_at.format("%Y-%m-%d %H:%M:%S UTC"),
                ),
            ),
            None => (
                None,
                format!("No request has been pending longer than {minutes} minutes."),
            ),
        };
        Self {
            condition: AlertCondition::PendingTooLong,
            subject: None,
            request_id,
            summary,
        }
    }

    /// The circuit open since `since` (none: closed again).
    pub fn circuit_open(since: Option<DateTime<Utc>>) -> Self {
        let summary = match since {
            Some(since) => format!(
                "The provider has failed since {}: the circuit is open and requests wait. \
                 They are kept and sent when it answers again.",
                since.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => "The provider answers again: the circuit is closed.".to_owned(),
        };
        Self {
            condition: AlertCondition::CircuitOpen,
            subject: None,
            request_id: None,
            summary,
        }
    }

    /// A worker paused by refused credentials, or going again.
    pub fn worker_paused(part: Paused, paused: bool) -> Self {
        let (subject, summary) = match (part, paused) {
            (Paused::Provider, true) => (
                "provider",
                "The Benefits Claims API refused our credentials: the worker pauses and \
                 retries. Check the client id, the key and the clock.",
            ),
            (Paused::Provider, false) => (
                "provider",
                "The Benefits Claims API accepts our credentials again.",
            ),
            (Paused::Messages, true) => (
                "messages",
                "VA Notify refused our credentials: messages to veterans wait. Check \
                 VA_NOTIFY_API_KEY and the clock (VA Notify allows 30 s).",
            ),
            (Paused::Messages, false) => ("messages", "VA Notify accepts our credentials again."),
        };
        Self {
            condition: AlertCondition::WorkerPaused,
            subject: Some(subject.to_owned()),
            request_id: None,
            summary: summary.to_owned(),
        }
    }

    /// A message that could not be delivered, and why (a status or a
    /// status code, never the message's text).
    pub fn message_undeliverable(reference: &str, request_id: Option<&str>, why: &str) -> Self {
        Self {
            condition: AlertCondition::MessageUndeliverable,
            subject: Some(reference.to_owned()),
            request_id: request_id.map(str::to_owned),
            summary: format!(
                "Message {reference} to a veteran could not be delivered ({why}). \
                 The outbox keeps it as failed; the veteran still sees the status on the page."
            ),
        }
    }

    /// A webhook endpoint that has refused or not answered a delivery
    /// `attempts` times in a row (none: it accepts deliveries again), and
    /// its last error: a status code or what the connection said.
    pub fn webhook_failing(endpoint: &str, failing: Option<(u32, &str)>) -> Self {
        let summary = match failing {
            Some((attempts, error)) => format!(
                "Webhook endpoint {endpoint} has not accepted an event in {attempts} tries \
                 (last: {error}). Events wait and are retried; check the endpoint, and the \
                 console's overview (Webhook events) for what waits."
            ),
            None => format!("Webhook endpoint {endpoint} accepts events again."),
        };
        Self {
            condition: AlertCondition::WebhookFailing,
            subject: Some(endpoint.to_owned()),
            request_id: None,
            summary,
        }
    }
}

/// The delivery status with which VA Notify says a message will never
/// arrive.
pub const PERMANENT_FAILURE: &str = "permanent-failure";

/// The alert a finished delivery opens: a message to a veteran refused
/// for good. `finished` is what recording it returned: the message's
/// request, and whether the row is a message (not an alert).
pub fn failed_delivery_alert(
    reference: &str,
    delivery: &Delivery,
    finished: Option<(Option<String>, bool)>,
) -> Option<Alert> {
    match (finished, delivery) {
        (Some((request_id, true)), Delivery::Failed { .. }) => Some(Alert::message_undeliverable(
            reference,
            request_id.as_deref(),
            "the channel refused it for good",
        )),
        _ => None,
    }
}

/// The alert a delivery status opens: VA Notify's permanent failure.
pub fn delivery_status_alert(
    reference: &str,
    status: &str,
    request_id: Option<&str>,
) -> Option<Alert> {
    (status == PERMANENT_FAILURE).then(|| {
        Alert::message_undeliverable(
            reference,
            request_id,
            "VA Notify reported a permanent failure",
        )
    })
}

/// The outbox reference of one change of an alert: the `dedup_key`, which
/// opening it is, and the action.
pub fn alert_reference(dedup_key: &str, episode: i64, action: AlertAction) -> String {
    format!("{dedup_key}#{episode}:{action}")
}

/// The oldest pending request, and how many are pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldestPending {
    pub request_id: String,
    pub received_at: DateTime<Utc>,
    pub pending: u64,
}

/// One change of an alert: what is delivered, and what development lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    /// The same on every delivery of this change.
    pub reference: String,
    pub dedup_key: String,
    pub condition: AlertCondition,
    pub action: AlertAction,
    pub request_id: Option<String>,
    pub summary: String,
}

/// An alert's change claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDelivery {
    pub change: AlertChange,
    /// None until it is fanned out to the channels configured.
    pub channel: Option<AlertChannel>,
    /// Deliveries begun before this one.
    pub attempts: u32,
    pub raised_at: DateTime<Utc>,
}

/// An alert as the development list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAlert {
    pub change: AlertChange,
    pub delivered_at: DateTime<Utc>,
}

/// The columns of an `AlertChange`, wherever it is kept.
#[derive(sqlx::FromRow)]
pub struct AlertChangeRow {
    reference: String,
    dedup_key: String,
    condition: String,
    action: String,
    request_id: Option<String>,
    summary: String,
}

impl TryFrom<AlertChangeRow> for AlertChange {
    type Error = StoreError;

    fn try_from(row: AlertChangeRow) -> Result<Self, StoreError> {
        Ok(Self {
            reference: row.reference,
            dedup_key: row.dedup_key,
            condition: AlertCondition::parse(&row.condition)?,
            action: AlertAction::parse(&row.action)?,
            request_id: row.request_id,
            summary: row.summary,
        })
    }
}

/// An alert outbox row claimed for delivery, joined to its alert.
#[derive(sqlx::FromRow)]
pub struct AlertRow<T> {
    #[sqlx(flatten)]
    change: AlertChangeRow,
    delivery_attempts: i64,
    alert_channel: Option<String>,
    created_at: T,
}

/// The columns of an `AlertRow`, from `outbox o` joined to `alerts a`.
pub const ALERT_COLUMNS: &str = "o.reference, o.alert_key AS dedup_key, a.condition, \
     o.alert_action AS action, o.request_id, o.summary, \
     CAST(o.attempts AS BIGINT) - 1 AS delivery_attempts, o.alert_channel, o.created_at";

impl<T: Into<DateTime<Utc>>> TryFrom<AlertRow<T>> for AlertDelivery {
    type Error = StoreError;

    fn try_from(row: AlertRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            change: AlertChange::try_from(row.change)?,
            channel: row
                .alert_channel
                .as_deref()
                .map(AlertChannel::parse)
                .transpose()?,
            attempts: attempts(row.delivery_attempts, "alert")?,
            raised_at: row.created_at.into(),
        })
    }
}

/// A development alert list row.
#[derive(sqlx::FromRow)]
pub struct ListedAlertRow<T> {
    #[sqlx(flatten)]
    change: AlertChangeRow,
    delivered_at: T,
}

impl<T: Into<DateTime<Utc>>> TryFrom<ListedAlertRow<T>> for ListedAlert {
    type Error = StoreError;

    fn try_from(row: ListedAlertRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            change: AlertChange::try_from(row.change)?,
            delivered_at: row.delivered_at.into(),
        })
    }
}

/// An oldest-pending row: the request, when it was received, and how many
/// are pending.
pub fn oldest_pending<T: Into<DateTime<Utc>>>(
    row: Option<(String, T, i64)>,
) -> Result<Option<OldestPending>, StoreError> {
    row.map(|(request_id, received_at, pending)| {
        Ok(OldestPending {
            request_id,
            received_at: received_at.into(),
            pending: super::model::count(pending)?,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_keeps_its_dedup_key_from_trigger_to_resolve() {
        let oldest = OldestPending {
            request_id: "r-1".to_owned(),
            received_at: DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
                .unwrap()
                .into(),
            pending: 3,
        };
        let hour = Duration::from_secs(3600);
        let open = Alert::pending_too_long(Some(&oldest), hour);
        let cleared = Alert::pending_too_long(None, hour);
        assert_eq!(open.dedup_key(), cleared.dedup_key());
        assert_eq!(open.dedup_key(), "itf-async/pending_too_long");
        assert!(open.summary.contains("r-1") && open.summary.contains("3 requests"));
        assert_eq!(
            Alert::worker_paused(Paused::Messages, true).dedup_key(),
            Alert::worker_paused(Paused::Messages, false).dedup_key()
        );
        assert_eq!(
            Alert::needs_attention("r-2").dedup_key(),
            "itf-async/needs_attention/r-2"
        );
        assert_eq!(
            alert_reference("itf-async/circuit_open", 2, AlertAction::Resolve),
            "itf-async/circuit_open#2:resolve"
        );
    }
}
