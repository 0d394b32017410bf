//! What the store keeps about requests, jobs and attempts, and the decisions
//! about them. The backends hold only their SQL and the encoding of their
//! types; every rule about what a result does lives here, once.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use itf_app::domain::{Icn, ItfType, Veteran, VeteranName};

use super::StoreError;
use crate::sealing::Keys;

/// A closed set of names, as written in the database and read back.
macro_rules! named {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }

            pub fn parse(text: &str) -> Result<Self, StoreError> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| StoreError::Corrupt(format!(
                        concat!("unknown ", stringify!($name), " {:?}"),
                        text
                    )))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(super) use named;

named! {
    /// Where a request stands. `pending` and `needs_attention` are open: at
    /// most one open request per veteran and ITF type.
    pub enum RequestState {
        /// Recorded, not yet confirmed by the provider.
        Pending => "pending",
        /// The provider confirmed an active ITF.
        Active => "active",
        /// The provider refused it for good; a person must look at it.
        NeedsAttention => "needs_attention",
    }
}

impl RequestState {
    /// `pending` and `needs_attention`: at most one per veteran and type.
    pub fn is_open(self) -> bool {
        self != Self::Active
    }
}

named! {
    /// Where a job stands.
    pub enum JobState {
        /// Waiting for its `run_at`.
        Queued => "queued",
        /// A worker holds its lease.
        Running => "running",
        /// Its request is active.
        Done => "done",
        /// Its request needs a person.
        Stopped => "stopped",
    }
}

named! {
    /// What one provider call came to, as attempts, logs and metrics name it.
    pub enum AttemptOutcome {
        Active => "active",
        NoneActive => "none_active",
        Created => "created",
        Transient => "transient",
        Permanent => "permanent",
        AuthFailure => "auth_failure",
    }
}

named! {
    /// Which provider call an attempt made.
    pub enum CallKind {
        Get => "get",
        Post => "post",
    }
}

named! {
    /// The provider's circuit, shared by every instance.
    pub enum CircuitState {
        /// The provider is asked.
        Closed => "closed",
        /// Repeated transient failures: nobody asks until a probe may.
        Open => "open",
        /// One caller is making the one probe.
        Probing => "probing",
    }
}

impl CircuitState {
    /// The state a provider answer changed the circuit to, from what its
    /// update returns: the state and whether it changed; nothing when the
    /// update had nothing to write.
    pub fn changed_to(row: Option<(String, bool)>) -> Result<Option<Self>, StoreError> {
        match row {
            Some((state, true)) => Self::parse(&state).map(Some),
            _ => Ok(None),
        }
    }
}

/// One call's claim on the shared provider budget, a GCRA bucket: a call
/// moves the bucket's theoretical arrival time on by `interval`, and is let
/// through only while that time is at most `tolerance` ahead of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetClaim {
    pub interval: Duration,
    pub tolerance: Duration,
}

/// A duration in the whole milliseconds the provider budget counts in.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// What the provider budget made of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetAnswer {
    /// The call may be made now.
    Granted,
    /// No call now; the same claim may succeed after this long.
    Wait(Duration),
}

impl BudgetAnswer {
    /// The answer from what the update that takes a call returns: the
    /// milliseconds by which the bucket is beyond the claim's tolerance, or
    /// none when the call was let through.
    pub fn from_wait(wait_ms: Option<i64>) -> Self {
        match wait_ms {
            None => Self::Granted,
            Some(ms) => Self::Wait(Duration::from_millis(u64::try_from(ms).unwrap_or(0).max(1))),
        }
    }
}

named! {
    /// A message to the veteran about a request: at most one of each kind
    /// per request.
    pub enum MessageKind {
        /// A request the veteran was shown as pending became active.
        ItfConfirmed => "itf_confirmed",
        /// A request has been pending for longer than the threshold: it is
        /// saved with its date, and we keep trying.
        ItfDelayed => "itf_delayed",
        /// The provider refused the request for good.
        ItfNeedsAttention => "itf_needs_attention",
    }
}

impl MessageKind {
    /// The outbox's key and every delivery's reference: the request and
    /// the kind.
    pub fn reference(self, request_id: &str) -> String {
        format!("{request_id}:{}", self.as_str())
    }
}

/// What the outbox holds: a message to a veteran, or a change of an alert.
#[derive(Debug, Clone)]
pub enum OutboxItem {
    Message(OutboxMessage),
    Alert(super::AlertDelivery),
}

/// A message claimed for delivery, with the request it is about.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub reference: String,
    pub kind: MessageKind,
    /// Deliveries begun before this one, cut short or failed.
    pub attempts: u32,
    pub request: ItfRequest,
}

/// How a delivery of a message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Try again at `run_at`.
    Retry {
        run_at: DateTime<Utc>,
        error: String,
    },
    /// The channel refused it for good.
    Failed {
        error: String,
    },
}

impl Delivery {
    /// The outbox state it leaves the message in, when it is due again, and
    /// the error to keep.
    pub fn row(&self, now: DateTime<Utc>) -> (&'static str, DateTime<Utc>, Option<&str>) {
        match self {
            Self::Sent => ("sent", now, None),
            Self::Retry { run_at, error } => ("pending", *run_at, Some(error)),
            Self::Failed { error } => ("failed", now, Some(error)),
        }
    }
}

/// A message as the development mailbox shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    pub reference: String,
    pub kind: MessageKind,
    pub request_id: String,
    pub subject: String,
    pub body: String,
    pub delivered_at: DateTime<Utc>,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItfRequest {
    pub id: String,
    pub user_id: String,
    pub icn: Icn,
    pub veteran_name: VeteranName,
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

impl Intake {
    /// What intake answers when our record shows an active, unexpired ITF at
    /// `at`: that ITF wins over a new request.
    pub fn already_active(record: Option<ProviderRecord>, at: DateTime<Utc>) -> Option<Self> {
        let (itf, seen_at) = record?.active_at(at)?;
        Some(Self::Active { itf, seen_at })
    }
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
    /// Hand the job back untouched (our credentials refused, or the turn
    /// stopped before its request): this turn does not count as an attempt.
    Release { run_at: DateTime<Utc> },
}

/// What ending a turn writes to the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUpdate<'a> {
    /// The message to the veteran it owes, if the veteran was shown the
    /// request as pending.
    pub message: Option<MessageKind>,
    /// The request now needs attention: its alert opens.
    pub opens_needs_attention: bool,
    pub state: JobState,
    pub run_at: DateTime<Utc>,
    /// Replaces the job's last error when set.
    pub error: Option<&'a str>,
    /// The turn counts as an attempt; a released one does not.
    pub counts_as_attempt: bool,
    /// What it writes to the request.
    pub request: RequestUpdate<'a>,
}

/// What ending a turn writes to the request. Fields left `None` keep their
/// values; the default changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestUpdate<'a> {
    pub state: Option<RequestState>,
    /// The confirmed ITF: also becomes our record of the provider.
    pub itf: Option<&'a ConfirmedItf>,
    pub error: Option<&'a str>,
    /// Clears the last error (the request succeeded).
    pub clear_error: bool,
}

impl JobOutcome {
    /// What this outcome writes, when the turn ends at `now`.
    pub fn update(&self, now: DateTime<Utc>) -> JobUpdate<'_> {
        match self {
            Self::Confirmed(itf) => JobUpdate {
                message: Some(MessageKind::ItfConfirmed),
                opens_needs_attention: false,
                state: JobState::Done,
                run_at: now,
                error: None,
                counts_as_attempt: true,
                request: RequestUpdate {
                    state: Some(RequestState::Active),
                    itf: Some(itf),
                    error: None,
                    clear_error: true,
                },
            },
            Self::NeedsAttention { error } => JobUpdate {
                message: Some(MessageKind::ItfNeedsAttention),
                opens_needs_attention: true,
                state: JobState::Stopped,
                run_at: now,
                error: Some(error),
                counts_as_attempt: true,
                request: RequestUpdate {
                    state: Some(RequestState::NeedsAttention),
                    itf: None,
                    error: Some(error),
                    clear_error: false,
                },
            },
            Self::Retry { run_at, error } => JobUpdate {
                message: None,
                opens_needs_attention: false,
                state: JobState::Queued,
                run_at: *run_at,
                error: Some(error),
                counts_as_attempt: true,
                request: RequestUpdate {
                    state: None,
                    itf: None,
                    error: Some(error),
                    clear_error: false,
                },
            },
            Self::Release { run_at } => JobUpdate {
                message: None,
                opens_needs_attention: false,
                state: JobState::Queued,
                run_at: *run_at,
                error: None,
                counts_as_attempt: false,
                request: RequestUpdate::default(),
            },
        }
    }
}

/// One provider call made for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub request_id: String,
    pub job_id: String,
    pub at: DateTime<Utc>,
    pub call: CallKind,
    pub outcome: AttemptOutcome,
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

impl ProviderRecord {
    /// The ITF this record shows active and unexpired at `now`, with when we
    /// saw it: it wins over making a new request.
    pub fn active_at(self, now: DateTime<Utc>) -> Option<(ConfirmedItf, Option<DateTime<Utc>>)> {
        let seen_at = self.active_seen_at;
        self.itf
            .filter(|itf| itf.is_unexpired(now))
            .map(|itf| (itf, seen_at))
    }
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

impl JobCounts {
    /// Folds `(state, count)` rows, as a `GROUP BY state` gives them.
    pub fn from_rows(
        rows: impl IntoIterator<Item = (String, i64)>,
        oldest_pending_received_at: Option<DateTime<Utc>>,
    ) -> Result<Self, StoreError> {
        let mut counts = Self {
            oldest_pending_received_at,
            ..Self::default()
        };
        for (state, n) in rows {
            let n = count(n)?;
            match JobState::parse(&state)? {
                JobState::Queued => counts.queued = n,
                JobState::Running => counts.running = n,
                JobState::Done => counts.done = n,
                JobState::Stopped => counts.stopped = n,
            }
        }
        Ok(counts)
    }

    pub fn by_state(&self) -> [(JobState, u64); 4] {
        [
            (JobState::Queued, self.queued),
            (JobState::Running, self.running),
            (JobState::Done, self.done),
            (JobState::Stopped, self.stopped),
        ]
    }
}

/// A count as the database returns it.
pub fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
}

/// The payload of an `ensure_itf` job: the request's id, nothing else.
pub fn ensure_itf_payload(request_id: &str) -> String {
    serde_json::json!({ "request_id": request_id }).to_string()
}

/// A request as both databases return it; `T` is the backend's timestamp.
#[derive(sqlx::FromRow)]
pub struct RequestRow<T> {
    id: String,
    user_id: String,
    /// Sealed (`crate::sealing`); the `icn` column is the blind index.
    icn_sealed: String,
    /// Sealed.
    veteran_name: String,
    itf_type: String,
    state: String,
    received_at: T,
    shown_pending: bool,
    provider_said_none: bool,
    provider_itf_id: Option<String>,
    creation_date: Option<String>,
    expiration_date: Option<String>,
    last_error: Option<String>,
}

/// The columns of a `RequestRow`, in order.
pub const REQUEST_COLUMNS: &str = "id, user_id, icn_sealed, veteran_name, itf_type, state, received_at, \
     shown_pending, provider_said_none, provider_itf_id, creation_date, expiration_date, last_error";

impl<T: Into<DateTime<Utc>>> RequestRow<T> {
    /// The request, its ICN and name opened with `keys`.
    pub fn open(self, keys: &Keys) -> Result<ItfRequest, StoreError> {
        let row = self;
        Ok(ItfRequest {
            id: row.id,
            user_id: row.user_id,
            icn: icn(&unseal(keys, &row.icn_sealed)?)?,
            veteran_name: VeteranName::new(unseal(keys, &row.veteran_name)?),
            itf_type: itf_type(&row.itf_type)?,
            state: RequestState::parse(&row.state)?,
            received_at: row.received_at.into(),
            shown_pending: row.shown_pending,
            provider_said_none: row.provider_said_none,
            itf: confirmed(row.provider_itf_id, row.creation_date, row.expiration_date)?,
            last_error: row.last_error,
        })
    }
}

/// A claimed job with its request, as both databases return it.
#[derive(sqlx::FromRow)]
pub struct ClaimedRow<T> {
    job_id: String,
    attempts: i64,
    taken_over: bool,
    lease_token: String,
    #[sqlx(flatten)]
    request: RequestRow<T>,
}

/// The columns of a `ClaimedRow`, from `jobs` joined to `itf_requests r`.
pub const CLAIMED_COLUMNS: &str = "jobs.id AS job_id, CAST(jobs.attempts AS BIGINT) AS attempts, \
     jobs.taken_over, jobs.lease_token, r.id, r.user_id, r.icn_sealed, r.veteran_name, r.itf_type, \
     r.state, r.received_at, r.shown_pending, r.provider_said_none, r.provider_itf_id, \
     r.creation_date, r.expiration_date, r.last_error";

/// An outbox row claimed for delivery, joined to its request.
#[derive(sqlx::FromRow)]
pub struct OutboxRow<T> {
    reference: String,
    kind: String,
    message_attempts: i64,
    #[sqlx(flatten)]
    request: RequestRow<T>,
}

/// The columns of an `OutboxRow`, from `outbox o` joined to `itf_requests r`.
pub const OUTBOX_COLUMNS: &str = "o.reference, o.kind, \
     CAST(o.attempts AS BIGINT) - 1 AS message_attempts, r.id, r.user_id, r.icn_sealed, \
     r.veteran_name, r.itf_type, r.state, r.received_at, r.shown_pending, \
     r.provider_said_none, r.provider_itf_id, r.creation_date, r.expiration_date, r.last_error";

impl<T: Into<DateTime<Utc>>> OutboxRow<T> {
    pub fn open(self, keys: &Keys) -> Result<OutboxMessage, StoreError> {
        let row = self;
        Ok(OutboxMessage {
            reference: row.reference,
            kind: MessageKind::parse(&row.kind)?,
            attempts: attempts(row.message_attempts, "message")?,
            request: row.request.open(keys)?,
        })
    }
}

/// A development mailbox row.
#[derive(sqlx::FromRow)]
pub struct MailboxRow<T> {
    reference: String,
    kind: String,
    request_id: String,
    subject: String,
    body: String,
    delivered_at: T,
}

impl<T: Into<DateTime<Utc>>> TryFrom<MailboxRow<T>> for MailboxEntry {
    type Error = StoreError;

    fn try_from(row: MailboxRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            reference: row.reference,
            kind: MessageKind::parse(&row.kind)?,
            request_id: row.request_id,
            subject: row.subject,
            body: row.body,
            delivered_at: row.delivered_at.into(),
        })
    }
}

impl<T: Into<DateTime<Utc>>> ClaimedRow<T> {
    pub fn open(self, keys: &Keys) -> Result<ClaimedJob, StoreError> {
        let row = self;
        Ok(ClaimedJob {
            attempts: attempts(row.attempts, "job")?,
            id: row.job_id,
            request: row.request.open(keys)?,
            taken_over: row.taken_over,
            lease_token: row.lease_token,
        })
    }
}

/// Jobs by state: the open states counted through their partial indexes,
/// `done` from the running total. Columns: state, count.
pub const JOB_COUNTS_QUERY: &str = "SELECT 'queued', COUNT(*) FROM jobs WHERE state = 'queued'
     UNION ALL SELECT 'running', COUNT(*) FROM jobs WHERE state = 'running'
     UNION ALL SELECT 'stopped', COUNT(*) FROM jobs WHERE state = 'stopped'
     UNION ALL SELECT state, CAST(SUM(jobs) AS BIGINT) FROM job_totals GROUP BY state";

/// The rows the running total of done jobs is kept in (`job_totals`).
const JOB_TOTAL_SHARDS: u32 = 32;

/// The row of the running total that the jobs of `request_id` add to:
/// jobs finishing at once mostly add to different rows, so that their
/// transactions do not wait on each other's commits.
pub fn job_total_shard(request_id: &str) -> i64 {
    let hash = request_id.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    i64::from(hash % JOB_TOTAL_SHARDS)
}

/// An attempt as both databases return it.
#[derive(sqlx::FromRow)]
pub struct AttemptRow<T> {
    request_id: String,
    job_id: String,
    at: T,
    call: String,
    outcome: String,
    provider_status: Option<i64>,
    latency_ms: i64,
}

impl<T: Into<DateTime<Utc>>> TryFrom<AttemptRow<T>> for Attempt {
    type Error = StoreError;

    fn try_from(row: AttemptRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            request_id: row.request_id,
            job_id: row.job_id,
            at: row.at.into(),
            call: CallKind::parse(&row.call)?,
            outcome: AttemptOutcome::parse(&row.outcome)?,
            provider_status: row
                .provider_status
                .map(|status| {
                    u16::try_from(status).map_err(|_| {
                        StoreError::Corrupt(format!("provider status {status} out of range"))
                    })
                })
                .transpose()?,
            latency: Duration::from_millis(count(row.latency_ms)?),
        })
    }
}

impl Attempt {
    /// The latency as stored, in whole milliseconds.
    pub fn latency_ms(&self) -> i64 {
        i64::try_from(self.latency.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Our record of the provider, as both databases return it.
#[derive(sqlx::FromRow)]
pub struct ProviderRecordRow<T> {
    provider_itf_id: Option<String>,
    creation_date: Option<String>,
    expiration_date: Option<String>,
    active_seen_at: Option<T>,
    none_seen_at: Option<T>,
}

impl<T: Into<DateTime<Utc>>> TryFrom<ProviderRecordRow<T>> for ProviderRecord {
    type Error = StoreError;

    fn try_from(row: ProviderRecordRow<T>) -> Result<Self, StoreError> {
        Ok(Self {
            itf: confirmed(row.provider_itf_id, row.creation_date, row.expiration_date)?,
            active_seen_at: row.active_seen_at.map(Into::into),
            none_seen_at: row.none_seen_at.map(Into::into),
        })
    }
}

/// A session as both databases return it.
#[derive(sqlx::FromRow)]
pub struct SessionRow<T> {
    user_id: String,
    /// Sealed, as the ICN.
    veteran_name: String,
    icn_sealed: String,
    created_at: T,
    expires_at: T,
    last_seen_at: T,
    signed_in_with: String,
}

impl<T: Into<DateTime<Utc>>> SessionRow<T> {
    pub fn open(self, keys: &Keys) -> Result<super::Session, StoreError> {
        let row = self;
        Ok(super::Session {
            veteran: Veteran {
                user_id: row.user_id,
                name: VeteranName::new(unseal(keys, &row.veteran_name)?),
                icn: icn(&unseal(keys, &row.icn_sealed)?)?,
            },
            created_at: row.created_at.into(),
            expires_at: row.expires_at.into(),
            last_seen_at: row.last_seen_at.into(),
            signed_in_with: super::SignInMethod::parse(&row.signed_in_with)?,
        })
    }
}

/// A count of attempts as stored, which a row written by us never holds
/// out of `u32`'s range.
pub(super) fn attempts(stored: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(stored)
        .map_err(|_| StoreError::Corrupt(format!("{what} attempts {stored} out of range")))
}

/// An ITF's date as stored: the provider's text, with its offset.
pub fn provider_date(at: DateTime<FixedOffset>) -> String {
    at.to_rfc3339()
}

fn unseal(keys: &Keys, sealed: &str) -> Result<String, StoreError> {
    keys.open(sealed)
        .map_err(|error| StoreError::Corrupt(error.to_string()))
}

fn icn(text: &str) -> Result<Icn, StoreError> {
    Icn::parse(text).map_err(|_| StoreError::Corrupt("a row holds a malformed ICN".to_owned()))
}

fn itf_type(text: &str) -> Result<ItfType, StoreError> {
    ItfType::parse(text).map_err(|_| StoreError::Corrupt(format!("unknown ITF type {text:?}")))
}

pub(super) fn parse_offset_time(text: &str) -> Result<DateTime<FixedOffset>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|_| StoreError::Corrupt(format!("provider date {text:?} is not RFC 3339")))
}

fn confirmed(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_claim_is_granted_or_told_how_long_to_wait() {
        assert_eq!(BudgetAnswer::from_wait(None), BudgetAnswer::Granted);
        assert_eq!(
            BudgetAnswer::from_wait(Some(1500)),
            BudgetAnswer::Wait(Duration::from_millis(1500))
        );
        // Refused at the edge of its tolerance: it waits, however little.
        assert_eq!(
            BudgetAnswer::from_wait(Some(0)),
            BudgetAnswer::Wait(Duration::from_millis(1))
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn itf(expires: &str) -> ConfirmedItf {
        ConfirmedItf {
            id: "193685".to_owned(),
            creation_date: DateTime::parse_from_rfc3339("2026-03-16T19:15:21.000-05:00").unwrap(),
            expiration_date: DateTime::parse_from_rfc3339(expires).unwrap(),
        }
    }

    #[test]
    fn names_read_back_as_written() {
        for state in RequestState::ALL {
            assert_eq!(RequestState::parse(state.as_str()).unwrap(), *state);
        }
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()).unwrap(), *state);
        }
        for outcome in AttemptOutcome::ALL {
            assert_eq!(AttemptOutcome::parse(outcome.as_str()).unwrap(), *outcome);
        }
        assert!(matches!(
            JobState::parse("lost"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn a_confirmation_ends_the_job_and_activates_the_request() {
        let now = at("2026-11-28T12:00:00Z");
        let itf = itf("2027-03-16T19:15:20.000-05:00");
        let outcome = JobOutcome::Confirmed(itf.clone());
        let update = outcome.update(now);
        assert_eq!(update.state, JobState::Done);
        assert!(update.counts_as_attempt);
        let request = update.request;
        assert_eq!(request.state, Some(RequestState::Active));
        assert_eq!(request.itf, Some(&itf));
        assert!(request.clear_error);
    }

    #[test]
    fn a_refusal_stops_the_job_and_the_request_needs_attention() {
        let now = at("2026-11-28T12:00:00Z");
        let outcome = JobOutcome::NeedsAttention {
            error: "Veteran not found".to_owned(),
        };
        let update = outcome.update(now);
        assert_eq!(update.state, JobState::Stopped);
        assert_eq!(update.error, Some("Veteran not found"));
        let request = update.request;
        assert_eq!(request.state, Some(RequestState::NeedsAttention));
        assert_eq!(request.error, Some("Veteran not found"));
        assert_eq!(request.itf, None);
    }

    #[test]
    fn a_retry_queues_the_job_and_keeps_the_request_pending() {
        let now = at("2026-11-28T12:00:00Z");
        let later = at("2026-11-28T12:00:30Z");
        let outcome = JobOutcome::Retry {
            run_at: later,
            error: "timeout".to_owned(),
        };
        let update = outcome.update(now);
        assert_eq!((update.state, update.run_at), (JobState::Queued, later));
        assert!(update.counts_as_attempt);
        let request = update.request;
        assert_eq!(request.state, None, "the request stays as it is");
        assert_eq!(request.error, Some("timeout"));
    }

    #[test]
    fn a_release_does_not_count_and_leaves_the_request_alone() {
        let now = at("2026-11-28T12:00:00Z");
        let outcome = JobOutcome::Release { run_at: now };
        let update = outcome.update(now);
        assert_eq!(update.state, JobState::Queued);
        assert!(!update.counts_as_attempt);
        assert_eq!(update.error, None);
        assert_eq!(update.request, RequestUpdate::default());
    }

    #[test]
    fn an_active_record_answers_intake() {
        let record = ProviderRecord {
            itf: Some(itf("2026-12-01T00:00:00.000-05:00")),
            active_seen_at: None,
            none_seen_at: None,
        };
        assert!(matches!(
            Intake::already_active(Some(record), at("2026-11-28T00:00:00Z")),
            Some(Intake::Active { .. })
        ));
        assert!(Intake::already_active(None, at("2026-11-28T00:00:00Z")).is_none());
    }

    #[test]
    fn only_an_unexpired_record_wins_over_a_new_request() {
        let seen = at("2026-11-01T00:00:00Z");
        let record = ProviderRecord {
            itf: Some(itf("2026-12-01T00:00:00.000-05:00")),
            active_seen_at: Some(seen),
            none_seen_at: None,
        };
        let (found, seen_at) = record
            .clone()
            .active_at(at("2026-11-28T00:00:00Z"))
            .unwrap();
        assert_eq!(found.id, "193685");
        assert_eq!(seen_at, Some(seen));
        assert_eq!(record.active_at(at("2026-12-02T00:00:00Z")), None);
        assert_eq!(ProviderRecord::default().active_at(seen), None);
    }

    #[test]
    fn a_circuit_changes_only_when_its_update_says_so() {
        assert_eq!(CircuitState::changed_to(None).unwrap(), None);
        assert_eq!(
            CircuitState::changed_to(Some(("open".to_owned(), false))).unwrap(),
            None
        );
        assert_eq!(
            CircuitState::changed_to(Some(("closed".to_owned(), true))).unwrap(),
            Some(CircuitState::Closed)
        );
        assert!(CircuitState::changed_to(Some(("ajar".to_owned(), true))).is_err());
    }

    #[test]
    fn counts_fold_by_state_and_refuse_what_they_do_not_know() {
        let counts = JobCounts::from_rows(
            [
                ("queued".to_owned(), 3),
                ("done".to_owned(), 10),
                ("stopped".to_owned(), 1),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            counts.by_state(),
            [
                (JobState::Queued, 3),
                (JobState::Running, 0),
                (JobState::Done, 10),
                (JobState::Stopped, 1),
            ]
        );
        assert!(JobCounts::from_rows([("lost".to_owned(), 1)], None).is_err());
        assert!(JobCounts::from_rows([("done".to_owned(), -1)], None).is_err());
    }

    #[test]
    fn attempts_beyond_u32_are_corrupt_not_truncated() {
        let keys = Keys::new(&[("k".to_owned(), [3; 32])], "k", [4; 32]).unwrap();
        let row = ClaimedRow::<DateTime<Utc>> {
            job_id: "job".to_owned(),
            attempts: i64::from(u32::MAX) + 1,
            taken_over: false,
            lease_token: "lease".to_owned(),
            request: RequestRow {
                id: "request".to_owned(),
                user_id: "vet".to_owned(),
                icn_sealed: keys.seal("1012667145V762142"),
                veteran_name: keys.seal("Hector Allen"),
                itf_type: "compensation".to_owned(),
                state: "pending".to_owned(),
                received_at: at("2026-11-28T12:00:00Z"),
                shown_pending: true,
                provider_said_none: false,
                provider_itf_id: None,
                creation_date: None,
                expiration_date: None,
                last_error: None,
            },
        };
        assert!(matches!(row.open(&keys), Err(StoreError::Corrupt(_))));
    }
}
