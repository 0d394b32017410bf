//! What the store keeps about requests, jobs and attempts.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use itf_app::domain::{Icn, ItfType, Veteran};

use super::StoreError;

/// Where a request stands. `pending` and `needs_attention` are open: at most
/// one open request per veteran and ITF type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Recorded, not yet confirmed by the provider.
    Pending,
    /// The provider confirmed an active ITF.
    Active,
    /// The provider refused it for good; a person must look at it.
    NeedsAttention,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::NeedsAttention => "needs_attention",
        }
    }

    pub fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "needs_attention" => Ok(Self::NeedsAttention),
            other => Err(StoreError::Corrupt(format!(
                "unknown request state {other:?}"
            ))),
        }
    }
}

/// An ITF the provider confirmed, with its dates as the provider wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedItf {
    pub id: String,
    pub creation_date: DateTime<FixedOffset>,
    pub expiration_date: DateTime<FixedOffset>,
}

impl ConfirmedItf {
    pub fn is_unexpired(&self, now: DateTime<Utc>) -> bool {
        self.expiration_date > now
    }
}

impl From<&crate::provider::Itf> for ConfirmedItf {
    fn from(itf: &crate::provider::Itf) -> Self {
        Self {
            id: itf.id.clone(),
            creation_date: itf.creation_date,
            expiration_date: itf.expiration_date,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItfRequest {
    pub id: String,
    pub user_id: String,
    pub icn: Icn,
    pub veteran_name: String,
    pub itf_type: ItfType,
    pub state: RequestState,
    /// When we recorded it: the intent date, never changed.
    pub received_at: DateTime<Utc>,
    /// The veteran was shown that it is being created.
    pub shown_pending: bool,
    /// The provider had said none was active when the request was recorded.
    pub provider_said_none: bool,
    pub itf: Option<ConfirmedItf>,
    pub last_error: Option<String>,
}

/// What intake records.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub veteran: &'a Veteran,
    pub itf_type: ItfType,
    pub received_at: DateTime<Utc>,
    pub shown_pending: bool,
    pub provider_said_none: bool,
}

/// What intake found or made.
#[derive(Debug, Clone)]
pub enum Intake {
    /// The veteran's open request: made by this intake (`created`), or one
    /// made before.
    Open { request: ItfRequest, created: bool },
    /// Our record shows an active, unexpired ITF (seen at `seen_at`): there
    /// is nothing to request. Checked in the intake's transaction, so a
    /// request completing at the same moment cannot be followed by a new one.
    Active {
        itf: ConfirmedItf,
        seen_at: Option<DateTime<Utc>>,
    },
}

/// A job the worker holds the lease of.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub request: ItfRequest,
    /// Counting this one.
    pub attempts: u32,
    /// Another worker held it and its lease ran out.
    pub taken_over: bool,
    pub lease_token: String,
}

/// How a job ends its turn.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// The provider confirmed the ITF: the request is active.
    Confirmed(ConfirmedItf),
    /// The provider refused for good: the request needs attention.
    NeedsAttention { error: String },
    /// Try again at `run_at`.
    Retry {
        run_at: DateTime<Utc>,
        error: String,
    },
    /// Hand the job back untouched (shutdown, or our credentials refused):
    /// this turn does not count as an attempt.
    Release { run_at: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Get,
    Post,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
        }
    }
}

/// One provider call made for a request.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub request_id: String,
    pub job_id: String,
    pub at: DateTime<Utc>,
    pub call: CallKind,
    pub outcome: &'static str,
    pub provider_status: Option<u16>,
    pub latency: Duration,
}

/// Our last record of what the provider said of a veteran's ITF of a type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderRecord {
    pub itf: Option<ConfirmedItf>,
    pub active_seen_at: Option<DateTime<Utc>>,
    pub none_seen_at: Option<DateTime<Utc>>,
}

/// Jobs by state, for metrics and operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub stopped: u64,
    pub oldest_pending_received_at: Option<DateTime<Utc>>,
}

pub(super) fn parse_offset_time(text: &str) -> Result<DateTime<FixedOffset>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|_| StoreError::Corrupt(format!("provider date {text:?} is not RFC 3339")))
}

pub(super) fn confirmed_from(
    id: Option<String>,
    creation: Option<String>,
    expiration: Option<String>,
) -> Result<Option<ConfirmedItf>, StoreError> {
    match (id, creation, expiration) {
        (Some(id), Some(creation), Some(expiration)) => Ok(Some(ConfirmedItf {
            id,
            creation_date: parse_offset_time(&creation)?,
            expiration_date: parse_offset_time(&expiration)?,
        })),
        _ => Ok(None),
    }
}

pub(super) fn itf_type_from(text: &str) -> Result<ItfType, StoreError> {
    ItfType::parse(text).map_err(|_| StoreError::Corrupt(format!("unknown ITF type {text:?}")))
}

/// The payload of an `ensure_itf` job: the request's id, nothing else.
pub(super) fn ensure_itf_payload(request_id: &str) -> String {
    serde_json::json!({ "request_id": request_id }).to_string()
}
