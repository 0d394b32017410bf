//! Events for other VA services, above all the 526 submission: a request's
//! ITF was confirmed, needs attention, or was dated by the provider on a
//! later day than we received the request. Each is written in the same
//! transaction as the change, at most once per request and type, under an
//! id that every delivery of it carries; it is then delivered to each
//! webhook endpoint configured, each endpoint retried on its own.

use chrono::{DateTime, FixedOffset, Utc};

use super::model::{attempts, named, parse_offset_time, RequestRow};
use super::{ItfRequest, RequestState, StoreError};
use crate::sealing::Keys;

named! {
    /// What an event says happened to a request.
    pub enum EventType {
        /// The provider confirmed the request's ITF.
        Confirmed => "itf.confirmed",
        /// The provider refused the request for good; operators follow up.
        NeedsAttention => "itf.needs_attention",
        /// The provider dated the ITF on a later Eastern Time day than we
        /// received the request: it is on the operators' date-drift list.
        DateDrift => "itf.date_drift",
    }
}

named! {
    /// Where one delivery of an event to one endpoint stands.
    pub enum WebhookState {
        /// Not yet accepted by the endpoint: due at its `run_at`.
        Pending => "pending",
        /// The endpoint answered 2xx.
        Sent => "sent",
        /// Given up on: the endpoint refused it for too long, or is no
        /// longer configured.
        Failed => "failed",
    }
}

impl EventType {
    /// The events a request owes, as it stands once a change is made: a
    /// confirmation, with date drift when the provider dated it later; or
    /// that it needs attention.
    pub fn owed(
        state: RequestState,
        received_at: DateTime<Utc>,
        creation_date: Option<DateTime<FixedOffset>>,
    ) -> Vec<Self> {
        match (state, creation_date) {
            (RequestState::Active, Some(created)) => {
                if super::audit::drift_days(received_at, created) > 0 {
                    vec![Self::Confirmed, Self::DateDrift]
                } else {
                    vec![Self::Confirmed]
                }
            }
            (RequestState::NeedsAttention, _) => vec![Self::NeedsAttention],
            (RequestState::Active | RequestState::Pending, _) => Vec::new(),
        }
    }
}

/// A new event's id: the `webhook-id` of every delivery of it.
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// What a request's events are decided from, as both databases return it.
#[derive(sqlx::FromRow)]
pub struct EventSourceRow<T> {
    state: String,
    received_at: T,
    creation_date: Option<String>,
}

/// The columns of an `EventSourceRow`, from `itf_requests`.
pub const EVENT_SOURCE_COLUMNS: &str = "state, received_at, creation_date";

impl<T: Into<DateTime<Utc>>> EventSourceRow<T> {
    pub fn owed(self) -> Result<Vec<EventType>, StoreError> {
        let created = self
            .creation_date
            .as_deref()
            .map(parse_offset_time)
            .transpose()?;
        Ok(EventType::owed(
            RequestState::parse(&self.state)?,
            self.received_at.into(),
            created,
        ))
    }
}

/// One delivery of an event to one endpoint, claimed, with its request.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// The event's id and the endpoint's name.
    pub id: String,
    pub event_id: String,
    pub event_type: EventType,
    pub endpoint: String,
    /// Deliveries of it begun before this one, cut short or failed.
    pub attempts: u32,
    /// When the change happened: the event's `timestamp`.
    pub created_at: DateTime<Utc>,
    pub request: ItfRequest,
}

/// A delivery's key: one per event and endpoint.
pub fn delivery_id(event_id: &str, endpoint: &str) -> String {
    format!("{event_id}/{endpoint}")
}

/// A claimed delivery as both databases return it.
#[derive(sqlx::FromRow)]
pub struct WebhookRow<T> {
    delivery_id: String,
    event_id: String,
    event_type: String,
    endpoint: String,
    delivery_attempts: i64,
    event_created_at: T,
    #[sqlx(flatten)]
    request: RequestRow<T>,
}

/// The columns of a `WebhookRow`, from `webhook_deliveries d` joined to
/// `webhook_events e` and `itf_requests r`.
pub const WEBHOOK_COLUMNS: &str = "d.id AS delivery_id, e.id AS event_id, e.event_type, \
     d.endpoint, CAST(d.attempts AS BIGINT) - 1 AS delivery_attempts, \
     e.created_at AS event_created_at, r.id, r.user_id, r.icn_sealed, r.veteran_name, \
     r.itf_type, r.state, r.received_at, r.shown_pending, r.provider_said_none, \
     r.provider_itf_id, r.creation_date, r.expiration_date, r.last_error";

impl<T: Into<DateTime<Utc>>> WebhookRow<T> {
    pub fn open(self, keys: &Keys) -> Result<WebhookDelivery, StoreError> {
        let row = self;
        Ok(WebhookDelivery {
            id: row.delivery_id,
            event_id: row.event_id,
            event_type: EventType::parse(&row.event_type)?,
            endpoint: row.endpoint,
            attempts: attempts(row.delivery_attempts, "webhook")?,
            created_at: row.event_created_at.into(),
            request: row.request.open(keys)?,
        })
    }
}

/// A delivery an endpoint has not accepted after trying, as operators see
/// it: no personal data, only ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTrouble {
    pub event_id: String,
    pub event_type: EventType,
    pub request_id: String,
    pub endpoint: String,
    pub state: WebhookState,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When it is tried next, while pending.
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A `WebhookTrouble` as both databases return it.
#[derive(sqlx::FromRow)]
pub struct WebhookTroubleRow<T> {
    event_id: String,
    event_type: String,
    request_id: String,
    endpoint: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    run_at: T,
    created_at: T,
}

/// The columns of a `WebhookTroubleRow`, from `webhook_deliveries d` joined
/// to `webhook_events e`.
pub const WEBHOOK_TROUBLE_COLUMNS: &str = "e.id AS event_id, e.event_type, e.request_id, \
     d.endpoint, d.state, CAST(d.attempts AS BIGINT) AS attempts, d.last_error, d.run_at, \
     e.created_at";

impl<T: Into<DateTime<Utc>>> TryFrom<WebhookTroubleRow<T>> for WebhookTrouble {
    type Error = StoreError;

    fn try_from(row: WebhookTroubleRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            event_id: row.event_id,
            event_type: EventType::parse(&row.event_type)?,
            request_id: row.request_id,
            endpoint: row.endpoint,
            state: WebhookState::parse(&row.state)?,
            attempts: attempts(row.attempts, "webhook")?,
            last_error: row.last_error,
            run_at: row.run_at.into(),
            created_at: row.created_at.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn created(text: &str) -> Option<DateTime<FixedOffset>> {
        Some(DateTime::parse_from_rfc3339(text).unwrap())
    }

    #[test]
    fn a_confirmation_dated_the_day_we_received_it_owes_one_event() {
        let owed = EventType::owed(
            RequestState::Active,
            at("2026-03-16T15:00:00Z"),
            created("2026-03-16T19:15:21.000-05:00"),
        );
        assert_eq!(owed, vec![EventType::Confirmed]);
    }

    #[test]
    fn a_confirmation_dated_a_later_eastern_day_owes_date_drift_too() {
        let owed = EventType::owed(
            RequestState::Active,
            // 23:30 in New York on the 16th.
            at("2026-03-17T03:30:00Z"),
            created("2026-03-17T00:10:00.000-05:00"),
        );
        assert_eq!(owed, vec![EventType::Confirmed, EventType::DateDrift]);
    }

    #[test]
    fn needs_attention_owes_its_event_and_pending_owes_none() {
        let received = at("2026-03-16T15:00:00Z");
        assert_eq!(
            EventType::owed(RequestState::NeedsAttention, received, None),
            vec![EventType::NeedsAttention]
        );
        assert!(EventType::owed(RequestState::Pending, received, None).is_empty());
        assert!(EventType::owed(RequestState::Active, received, None).is_empty());
    }

    #[test]
    fn event_ids_differ_and_deliveries_are_keyed_by_event_and_endpoint() {
        let (a, b) = (new_event_id(), new_event_id());
        assert_ne!(a, b);
        assert!(a.starts_with("evt_"));
        assert_eq!(delivery_id("evt_1", "submission"), "evt_1/submission");
    }
}
