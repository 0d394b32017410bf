//! What operators do to requests, and the audit log that records it: who,
//! when, what, why, and the request before and after. The log is
//! append-only in the database itself.

use chrono::{DateTime, FixedOffset, Utc};
use itf_app::domain::{eastern_day, Operator, OperatorRole};
use serde::{Deserialize, Serialize};

use super::model::named;
use super::{ConfirmedItf, ItfRequest, RequestState, StoreError};

named! {
    /// What an audit entry records.
    pub enum AuditAction {
        /// A request that needed attention was sent to the provider again.
        Retry => "retry",
        /// A request was closed as active by hand, with the ITF's id and dates.
        Resolve => "resolve",
        /// A note on a request, changing nothing.
        Note => "note",
        /// The request closed as active because the provider showed an ITF
        /// made some other way (by phone, say).
        FoundActive => "found_active",
        /// Requests were searched for by ICN.
        SearchIcn => "search_icn",
        /// A request was opened in the console.
        OpenRequest => "open_request",
        /// The remediation report, which carries ICNs, was downloaded.
        DownloadReport => "download_report",
        /// An ITF type's rollout flag was changed.
        SetRollout => "set_rollout",
    }
}

/// Who acted and why: every repair needs a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting<'a> {
    pub operator: &'a Operator,
    pub reason: &'a str,
}

/// A request as the audit log keeps it before and after a change: its
/// state, ITF id and dates, never its ICN or name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSnapshot {
    pub state: String,
    pub provider_itf_id: Option<String>,
    pub creation_date: Option<DateTime<FixedOffset>>,
    pub expiration_date: Option<DateTime<FixedOffset>>,
}

impl RequestSnapshot {
    pub fn of(request: &ItfRequest) -> Self {
        Self {
            state: request.state.as_str().to_owned(),
            provider_itf_id: request.itf.as_ref().map(|itf| itf.id.clone()),
            creation_date: request.itf.as_ref().map(|itf| itf.creation_date),
            expiration_date: request.itf.as_ref().map(|itf| itf.expiration_date),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One entry to write to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    /// The operator, or `system` for what the service did on its own.
    pub operator: String,
    pub role: OperatorRole,
    pub action: AuditAction,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl NewAuditEntry {
    /// An entry by `operator`, now, with nothing kept but what it names.
    pub fn by(operator: &Operator, action: AuditAction, request_id: Option<&str>) -> Self {
        Self {
            at: Utc::now(),
            operator: operator.id.clone(),
            role: operator.role,
            action,
            request_id: request_id.map(str::to_owned),
            reason: None,
            before: None,
            after: None,
        }
    }

    /// A change to a request, made by `acting`.
    pub fn change(
        acting: &Acting<'_>,
        action: AuditAction,
        before: &ItfRequest,
        after: &ItfRequest,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            at,
            operator: acting.operator.id.clone(),
            role: acting.operator.role,
            action,
            request_id: Some(before.id.clone()),
            reason: Some(acting.reason.to_owned()),
            before: Some(RequestSnapshot::of(before).to_json()),
            after: Some(RequestSnapshot::of(after).to_json()),
        }
    }
}

/// An entry of the audit log, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub entry: NewAuditEntry,
}

/// The account the service acts under in the audit log.
pub const SYSTEM: &str = "system";

/// The service itself, as the audit log names it when it acts on its own.
static SYSTEM_OPERATOR: std::sync::LazyLock<Operator> = std::sync::LazyLock::new(|| Operator {
    id: SYSTEM.to_owned(),
    role: OperatorRole::Admin,
});

/// Whoever runs an `itf-async` command that changes or reads what the
/// audit log covers: the account's name, as an `admin`.
pub fn command_line_operator() -> Operator {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    Operator {
        id: format!("command line ({user})"),
        role: OperatorRole::Admin,
    }
}

impl Acting<'static> {
    /// The service closing a request that needed attention because the
    /// provider showed an active ITF for it.
    pub fn found_active() -> Self {
        Self {
            operator: &SYSTEM_OPERATOR,
            reason: "the provider shows an active ITF for this veteran and type, \
                     made some other way",
        }
    }
}

/// What a repair came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repaired {
    /// Done: the request as it is now.
    Done(Box<ItfRequest>),
    NotFound,
    /// The request's state does not allow it.
    NotAllowed(RequestState),
}

/// What a repair does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair<'a> {
    /// Back to pending with a new job; its `received_at` never changes.
    Retry,
    /// Active with this ITF, recorded by hand.
    Resolve(&'a ConfirmedItf),
    /// Active with this ITF, which the provider showed for a request that
    /// needed attention: made some other way (by phone, say).
    FoundActive(&'a ConfirmedItf),
}

impl Repair<'_> {
    /// Whether a request in `state` may be repaired so.
    pub fn allowed_in(self, state: RequestState) -> bool {
        match self {
            Self::Retry | Self::FoundActive(_) => state == RequestState::NeedsAttention,
            Self::Resolve(_) => state.is_open(),
        }
    }

    pub fn action(self) -> AuditAction {
        match self {
            Self::Retry => AuditAction::Retry,
            Self::Resolve(_) => AuditAction::Resolve,
            Self::FoundActive(_) => AuditAction::FoundActive,
        }
    }
}

/// An audit log row.
#[derive(sqlx::FromRow)]
pub struct AuditRow<T> {
    id: i64,
    at: T,
    operator: String,
    role: String,
    action: String,
    request_id: Option<String>,
    reason: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

impl<T: Into<DateTime<Utc>>> TryFrom<AuditRow<T>> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            entry: NewAuditEntry {
                at: row.at.into(),
                operator: row.operator,
                role: OperatorRole::parse(&row.role)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?,
                action: AuditAction::parse(&row.action)?,
                request_id: row.request_id,
                reason: row.reason,
                before: row.before,
                after: row.after,
            },
        })
    }
}

/// A message owed to a veteran about a request, as the console's timeline
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub reference: String,
    pub kind: super::MessageKind,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What the channel later said, such as VA Notify's `delivered`.
    pub delivery_status: Option<String>,
}

#[derive(sqlx::FromRow)]
pub struct MessageRecordRow<T> {
    reference: String,
    kind: String,
    state: String,
    created_at: T,
    sent_at: Option<T>,
    delivery_status: Option<String>,
}

impl<T: Into<DateTime<Utc>>> TryFrom<MessageRecordRow<T>> for MessageRecord {
    type Error = StoreError;

    fn try_from(row: MessageRecordRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            reference: row.reference,
            kind: super::MessageKind::parse(&row.kind)?,
            state: row.state,
            created_at: row.created_at.into(),
            sent_at: row.sent_at.map(Into::into),
            delivery_status: row.delivery_status,
        })
    }
}

/// Counted rows of `(name, count)`, each name read by `parse`.
pub fn counted<K>(
    rows: Vec<(String, i64)>,
    parse: impl Fn(&str) -> Result<K, StoreError>,
) -> Result<Vec<(K, u64)>, StoreError> {
    rows.into_iter()
        .map(|(name, n)| Ok((parse(&name)?, super::model::count(n)?)))
        .collect()
}

/// A signed-in operator's session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    pub operator: Operator,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub signed_in_with: super::SignInMethod,
}

/// An operator session row.
#[derive(sqlx::FromRow)]
pub struct OperatorSessionRow<T> {
    operator_id: String,
    role: String,
    created_at: T,
    expires_at: T,
    last_seen_at: T,
    signed_in_with: String,
}

impl<T: Into<DateTime<Utc>>> TryFrom<OperatorSessionRow<T>> for OperatorSession {
    type Error = StoreError;

    fn try_from(row: OperatorSessionRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            operator: Operator {
                id: row.operator_id,
                role: OperatorRole::parse(&row.role)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            },
            created_at: row.created_at.into(),
            expires_at: row.expires_at.into(),
            last_seen_at: row.last_seen_at.into(),
            signed_in_with: super::SignInMethod::parse(&row.signed_in_with)?,
        })
    }
}

/// A request on the date-drift list: the provider dated its ITF on a later
/// day (Eastern Time) than the day we received the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateDrift {
    pub request: ItfRequest,
    /// Days between our `received_at` and the provider's creation date,
    /// both as Eastern Time days.
    pub days: i64,
}

impl DateDrift {
    /// The drift of a confirmed request, if the provider dated it later.
    pub fn of(request: ItfRequest) -> Option<Self> {
        let days = drift_days(request.received_at, request.itf.as_ref()?.creation_date);
        (days > 0).then_some(Self { request, days })
    }
}

/// Eastern Time days from our `received_at` to the provider's creation
/// date: more than none is date drift.
pub fn drift_days(received_at: DateTime<Utc>, created: DateTime<FixedOffset>) -> i64 {
    (eastern_day(&created) - eastern_day(&received_at)).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use itf_app::domain::{Icn, ItfType, VeteranName};

    fn confirmed(received_at: &str, created: &str) -> ItfRequest {
        ItfRequest {
            id: "r-1".to_owned(),
            user_id: "vet".to_owned(),
            icn: Icn::parse("1012667145V762142").unwrap(),
            veteran_name: VeteranName::new("Hector Allen".to_owned()),
            itf_type: ItfType::Compensation,
            state: RequestState::Active,
            received_at: received_at.parse().unwrap(),
            shown_pending: true,
            provider_said_none: true,
            itf: Some(ConfirmedItf {
                id: "itf-1".to_owned(),
                creation_date: DateTime::parse_from_rfc3339(created).unwrap(),
                expiration_date: DateTime::parse_from_rfc3339("2027-03-17T12:00:00-05:00").unwrap(),
            }),
            last_error: None,
        }
    }

    #[test]
    fn a_request_before_midnight_eastern_dated_the_next_day_drifts_one_day() {
        // 11:58 p.m. EDT on March 16; the provider writes Central Time.
        let late = confirmed("2026-03-17T03:58:00Z", "2026-03-16T23:01:00-05:00");
        assert_eq!(DateDrift::of(late).map(|d| d.days), Some(1));
        let same_day = confirmed("2026-03-16T15:00:00Z", "2026-03-16T10:01:00-05:00");
        assert_eq!(DateDrift::of(same_day), None);
        let three = confirmed("2026-03-16T15:00:00Z", "2026-03-19T10:01:00-05:00");
        assert_eq!(DateDrift::of(three).map(|d| d.days), Some(3));
    }

    #[test]
    fn a_snapshot_names_no_one() {
        let request = confirmed("2026-03-16T15:00:00Z", "2026-03-16T10:01:00-05:00");
        let json = RequestSnapshot::of(&request).to_json();
        assert!(json.contains("itf-1") && json.contains("active"), "{json}");
        assert!(!json.contains("1012667145V762142") && !json.contains("Hector"));
    }
}
