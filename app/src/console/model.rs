//! What the console's pages show, as the server sends it.

use serde::{Deserialize, Serialize};

use crate::domain::Operator;

/// A figure with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub count: u64,
}

/// Provider calls in one hour, by outcome (in `Overview::outcomes` order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourOfAttempts {
    /// Such as "2 p.m. ET".
    pub label: String,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub operator: Operator,
    pub by_state: Vec<Count>,
    /// How long the oldest pending request has waited, in words.
    pub oldest_pending: Option<String>,
    pub outcomes: Vec<String>,
    /// The last hours, oldest first.
    pub hours: Vec<HourOfAttempts>,
    /// The provider's circuit, in words.
    pub circuit: String,
    /// How the provider answered in the last hour, in words.
    pub answering: String,
    /// The provider budget, in words.
    pub budget: String,
    /// Each ITF type's rollout flag.
    pub rollout: Vec<RolloutLine>,
    /// The latest changes of the flag, newest first.
    pub rollout_changes: Vec<RolloutChange>,
    /// Webhook deliveries an endpoint has not accepted, oldest first.
    pub webhooks: Vec<WebhookLine>,
}

/// A delivery of an event that its endpoint has not accepted after
/// trying: still retried, or given up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookLine {
    /// `itf.confirmed`, `itf.needs_attention` or `itf.date_drift`.
    pub event: String,
    pub event_id: String,
    pub request_id: String,
    pub endpoint: String,
    /// "retrying, next at …" or "given up".
    pub state: String,
    pub tries: u32,
    pub last_error: String,
    /// When the change happened, in Eastern Time.
    pub since: String,
}

/// One ITF type's rollout flag, as people write it (`off`, `on`,
/// `percent N`), and its last change in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutLine {
    pub itf_type: String,
    pub rollout: String,
    pub changed: String,
}

/// A change of the rollout flag, from the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutChange {
    /// When, in Eastern Time.
    pub at: String,
    pub by: String,
    pub before: String,
    pub after: String,
    pub reason: String,
}

/// Which requests to list; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFilter {
    /// `pending`, `active` or `needs_attention`.
    pub state: Option<String>,
    /// Received on or after this Eastern Time day, `YYYY-MM-DD`.
    pub since: Option<String>,
    /// Received on or before this Eastern Time day.
    pub until: Option<String>,
    /// Received at least this many minutes ago.
    pub older_than_minutes: Option<u64>,
}

/// A request in a list. No ICN and no name: a list is not a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    pub id: String,
    pub itf_type: String,
    pub state: String,
    /// When we received it, in Eastern Time.
    pub received: String,
    /// How long ago, in words.
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItfView {
    pub id: String,
    pub created: String,
    pub expires: String,
}

/// One thing that happened to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When, in Eastern Time.
    pub at: String,
    /// `intake`, `attempt`, `message` or the audit action.
    pub kind: String,
    pub what: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub operator: Operator,
    pub id: String,
    pub itf_type: String,
    pub state: String,
    pub received: String,
    pub itf: Option<ItfView>,
    pub last_error: Option<String>,
    /// Oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The veteran's other requests, newest first.
    pub others: Vec<RequestLine>,
}

/// A request on the date-drift list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftLine {
    pub request_id: String,
    /// Shown to those who may download it; others see it masked.
    pub icn: String,
    pub received: String,
    pub created: String,
    pub itf_id: String,
    pub days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    pub operator: Operator,
    pub since: String,
    pub until: String,
    pub drift: Vec<DriftLine>,
    pub needs_attention: Vec<RequestLine>,
    /// Pending longer than the alert threshold.
    pub long_pending: Vec<RequestLine>,
    /// The threshold, in words.
    pub pending_after: String,
}

/// What a `ConsoleSource` answers, in time.
#[cfg(feature = "ssr")]
pub type Answer<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, crate::PageError>> + Send + 'a>>;

/// Where the console's pages get what they show: the server's store,
/// provided to the pages as context.
#[cfg(feature = "ssr")]
pub trait ConsoleSource: Send + Sync {
    fn overview<'a>(&'a self, operator: &'a Operator) -> Answer<'a, Overview>;

    fn requests(&self, filter: RequestFilter) -> Answer<'_, Vec<RequestLine>>;

    /// The request's page; opening it is audited.
    fn request<'a>(&'a self, operator: &'a Operator, id: String)
        -> Answer<'a, Option<RequestView>>;

    fn report<'a>(
        &'a self,
        operator: &'a Operator,
        since: Option<String>,
        until: Option<String>,
    ) -> Answer<'a, ReportView>;
}

#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Console(pub std::sync::Arc<dyn ConsoleSource>);
