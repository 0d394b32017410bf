//! Durable storage, behind one trait with a PostgreSQL and a SQLite
//! implementation. Both pass the same conformance suite
//! (`tests/api/store_conformance.rs`).

mod alert;
mod audit;
mod bounded;
mod grouped;
mod model;
mod postgres;
mod rollout;
mod sign_in;
mod sqlite;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use itf_app::domain::{Icn, ItfType, Veteran};

pub use alert::{
    Alert, AlertAction, AlertChange, AlertChannel, AlertCondition, AlertDelivery, ListedAlert,
    OldestPending, Paused, PERMANENT_FAILURE,
};
pub use audit::{
    command_line_operator, Acting, AuditAction, AuditEntry, DateDrift, MessageRecord,
    NewAuditEntry, OperatorSession, Repair, Repaired, RequestSnapshot, SYSTEM,
};
pub use bounded::{AlwaysOpen, Bounded, Gate};
pub use model::{
    Attempt, AttemptOutcome, BudgetAnswer, BudgetClaim, CallKind, CircuitState, ClaimedJob,
    ConfirmedItf, Delivery, Intake, ItfRequest, JobCounts, JobOutcome, JobState, JobUpdate,
    MailboxEntry, MessageKind, NewRequest, OutboxItem, OutboxMessage, ProviderRecord, RequestState,
    RequestUpdate,
};
pub use postgres::{
    forward_job_notifications, forward_session_ends, PostgresStore, JOBS_CHANNEL,
    SESSIONS_ENDED_CHANNEL,
};
pub use rollout::{Rollout, RolloutFlag, RolloutRefused};
pub use sign_in::{SignInAttempt, SignInKind, SignInMethod};
pub use sqlite::SqliteStore;
pub use webhook::{delivery_id, EventType, WebhookDelivery, WebhookState, WebhookTrouble};

use crate::config::DatabaseUrl;
use crate::sealing::Keys;
use crate::session_token::SessionTokenHash;

/// How long a request path waits for a database connection before it gives
/// up, so that a dead database gives a quick, clear error.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long any one store call may take, connection included; PostgreSQL
/// also stops a statement after as long.
pub const CALL_TIME_LIMIT: Duration = Duration::from_secs(2);
/// A connection is checked (pinged) as it goes back to the pool; one that
/// sat there longer than this is checked again before it is used, so that
/// a database restarted meanwhile costs no caller an error. Checking every
/// connection on every use would add a round trip to each store call.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(10);

/// `options`, with connections checked before use only after they sat idle.
fn checked_after_idle<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_AFTER_IDLE {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database did not answer in time: stopped, unreachable, or its
    /// connections hanging.
    #[error("the database did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("a database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("a database query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// A row holds a value the domain does not accept.
    #[error("the database holds a value we cannot read: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(ref db)
                // SQLite reports extended codes; their low byte is the
                // primary one: busy or locked beyond the busy timeout (5,
                // 6), read-only (8), disk I/O (10), full (13), cannot open
                // (14).
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && db
                        .code()
                        .and_then(|code| code.parse::<i32>().ok())
                        .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14)) =>
            {
                Self::Unavailable(error)
            }
            sqlx::Error::Database(ref db)
                // PostgreSQL: connection exceptions (08), the server starting
                // or stopping (57P), a statement stopped by its time limit
                // (57014), too many connections (53300), and a read-only
                // server, such as a standby during failover (25006).
                if db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || matches!(code.as_ref(), "57014" | "53300" | "25006")
                }) =>
            {
                Self::Unavailable(error)
            }
            // A value the domain cannot read back.
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                Self::Corrupt(error.to_string())
            }
            other => Self::Query(other),
        }
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::TimedOut(_))
    }
}

/// A signed-in veteran's session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub veteran: Veteran,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it was last used, to the minute (`TOUCH_EVERY`).
    pub last_seen_at: DateTime<Utc>,
    pub signed_in_with: SignInMethod,
}

/// How stale a session's last use may be before it is written again, at
/// most: a session is not written on every request.
pub const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Whether a session last used at `last_seen_at` is idle past `idle` at
/// `now`; and, if not, whether its use should be written. A use is written
/// once half the idle time has passed (at most every `TOUCH_EVERY`), so a
/// session in steady use never looks idle.
pub fn session_activity(
    last_seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
    idle: Duration,
) -> (bool, bool) {
    let unused = now - last_seen_at;
    let idle = chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::MAX);
    let ended = unused > idle;
    (ended, !ended && unused >= TOUCH_EVERY.min(idle / 2))
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is, for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Brings the schema up to date; safe to run from several instances.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn create_session(
        &self,
        token: &SessionTokenHash,
        session: &Session,
    ) -> Result<(), StoreError>;

    /// The session, if it exists and has not expired at `now`.
    async fn find_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError>;

    /// Ends the session; returns how it was started, if it was there.
    async fn delete_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError>;

    /// Records that the session was used at `now`.
    async fn touch_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Removes veterans' and operators' sessions, and sign-ins under way,
    /// that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Every ITF type's rollout flag.
    async fn rollouts(&self) -> Result<Vec<RolloutFlag>, StoreError>;

    /// Sets `itf_type`'s rollout, in one transaction with its audit entry
    /// (the flag before and after, who and why); returns the flag as set.
    /// The caller has checked that the type may have it.
    async fn set_rollout(
        &self,
        itf_type: ItfType,
        rollout: Rollout,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<RolloutFlag, StoreError>;

    /// Keeps a sign-in under way at the OpenID provider, under the hash of
    /// its `state`.
    async fn begin_sign_in(
        &self,
        state: &SessionTokenHash,
        attempt: &SignInAttempt,
    ) -> Result<(), StoreError>;

    /// Takes the sign-in under `state` out of the store: the attempt if it
    /// has not expired at `now`, and never the same one twice.
    async fn take_sign_in(
        &self,
        state: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInAttempt>, StoreError>;

    /// Records a request and its `ensure_itf` job in one transaction, or
    /// returns the veteran's open request of that type if there is one.
    async fn intake(&self, new: &NewRequest<'_>) -> Result<Intake, StoreError>;

    async fn request(&self, id: &str) -> Result<Option<ItfRequest>, StoreError>;

    /// The veteran's newest request of that type, open or not.
    async fn latest_request(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ItfRequest>, StoreError>;

    /// Leases up to `limit` jobs that are due, or whose lease ran out, oldest
    /// `received_at` first, for `lease` by the database's clock: instances
    /// whose clocks disagree still agree on who holds a job.
    async fn claim_jobs(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

    /// Extends the job's lease to `lease` from now, by the database's clock,
    /// only if `lease_token` still holds it: the check and the renewal are
    /// one statement. Returns whether it did.
    async fn renew_lease(
        &self,
        job_id: &str,
        lease_token: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError>;

    /// Ends the job's turn, only if `job.lease_token` still holds its
    /// lease; returns whether it did. The provider calls the turn made are
    /// recorded in the same transaction, whether or not it still held the
    /// lease: one write per turn instead of one per call. A store may write
    /// turns that end at the same moment together; each is still answered
    /// for its own lease.
    async fn finish_turn(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
        attempts: &[Attempt],
    ) -> Result<bool, StoreError>;

    /// Ends a turn that made no provider calls (see `finish_turn`).
    async fn finish_job(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
    ) -> Result<bool, StoreError> {
        self.finish_turn(job, now, outcome, &[]).await
    }

    async fn attempts(&self, request_id: &str) -> Result<Vec<Attempt>, StoreError>;

    /// How many jobs were ever made for a request.
    async fn job_count(&self, request_id: &str) -> Result<u64, StoreError>;

    async fn provider_record(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ProviderRecord>, StoreError>;

    /// The provider showed this active ITF at `seen_at`.
    async fn record_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        itf: &ConfirmedItf,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The provider said at `seen_at` that none is active.
    async fn record_none_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn job_counts(&self) -> Result<JobCounts, StoreError>;

    /// The provider's circuit now.
    async fn circuit(&self) -> Result<CircuitState, StoreError>;

    /// A provider answer. A transient failure counts toward opening the
    /// circuit after `threshold` in a row, and reopens it from a probe; any
    /// other answer closes it. Returns the state it changed to, if it did.
    async fn note_provider_answer(
        &self,
        transient: bool,
        threshold: u32,
    ) -> Result<Option<CircuitState>, StoreError>;

    /// Makes every queued job due now (the circuit closed); returns how many.
    async fn make_deferred_jobs_due(&self) -> Result<u64, StoreError>;

    /// The one probe of an open circuit whose cool-down has passed (or whose
    /// probe was abandoned as long): true for exactly one caller.
    async fn take_probe(&self, cooldown: std::time::Duration) -> Result<bool, StoreError>;

    /// One call from the provider budget shared by every instance, by the
    /// database's clock: granted, and counted, in one statement; or how
    /// long until the same claim may be granted.
    async fn take_budget(&self, claim: BudgetClaim) -> Result<BudgetAnswer, StoreError>;

    /// Moves the budget's bucket to at least `ahead` of now: a claim is
    /// then let through only once that is within its tolerance.
    async fn hold_budget(&self, ahead: std::time::Duration) -> Result<(), StoreError>;

    /// Up to `limit` items of the outbox that are due, each moved on by
    /// `lease` (by the database's clock) so that a delivery cut short is
    /// made again: at least once. Messages to veterans are left alone
    /// unless `with_messages`: alerts go out while messages wait.
    async fn claim_outbox(
        &self,
        lease: std::time::Duration,
        limit: u32,
        with_messages: bool,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Records how a delivery ended. A message that failed for good opens
    /// its `message_undeliverable` alert in the same transaction.
    async fn finish_delivery(
        &self,
        reference: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Owes `itf_delayed`, once, for every request shown as pending that is
    /// still pending and was received before `received_before`; returns how
    /// many were newly owed.
    async fn owe_delayed_messages(
        &self,
        received_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Records what the channel later said about a delivered message;
    /// false when no message has that reference. A permanent failure opens
    /// the message's `message_undeliverable` alert in the same transaction.
    async fn record_delivery_status(
        &self,
        reference: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives every event not yet fanned out one delivery per endpoint
    /// named (never call it with none: those events would go nowhere),
    /// then claims up to `limit` due deliveries, each moved on by `lease`
    /// (by the database's clock) so that one cut short is made again under
    /// the same event id: at least once.
    async fn claim_webhooks(
        &self,
        endpoints: &[String],
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;

    /// Records how a delivery of an event to an endpoint ended.
    async fn finish_webhook(
        &self,
        delivery_id: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deliveries that an endpoint has not accepted after trying, still
    /// retried or given up on, oldest event first.
    async fn webhook_trouble(&self, limit: u32) -> Result<Vec<WebhookTrouble>, StoreError>;

    /// Puts a message in the development mailbox, once per reference.
    async fn deliver_to_mailbox(&self, entry: &MailboxEntry) -> Result<(), StoreError>;

    /// The development mailbox, oldest first.
    async fn mailbox(&self) -> Result<Vec<MailboxEntry>, StoreError>;

    /// Opens the alert when `holds`, else resolves it; a change writes its
    /// delivery to the outbox in the same transaction. Returns the change,
    /// if there was one: an open alert is not opened again.
    async fn set_alert(
        &self,
        alert: &Alert,
        holds: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<AlertAction>, StoreError>;

    /// Replaces an alert's delivery with one per channel, each delivered
    /// and retried on its own; with no channel it is done.
    async fn fan_out_alert(
        &self,
        reference: &str,
        channels: &[AlertChannel],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Lists an alert in development, once per reference.
    async fn list_alert(&self, alert: &ListedAlert) -> Result<(), StoreError>;

    /// The development list of alerts, oldest first.
    async fn listed_alerts(&self) -> Result<Vec<ListedAlert>, StoreError>;

    /// The oldest pending request and how many are pending; none when none
    /// is.
    async fn oldest_pending(&self) -> Result<Option<OldestPending>, StoreError>;

    /// Since when the provider's circuit has been open; none when closed.
    async fn circuit_open_since(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Repairs a request as `acting` says, if its state allows, in one
    /// transaction with its audit entry: a retry makes a new job (the
    /// request keeps its `received_at`); a resolve records the ITF, ends
    /// the request's jobs and owes `itf_confirmed`. Either resolves the
    /// request's `needs_attention` alert.
    async fn repair(
        &self,
        request_id: &str,
        repair: Repair<'_>,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<Repaired, StoreError>;

    async fn create_operator_session(
        &self,
        token: &SessionTokenHash,
        session: &OperatorSession,
    ) -> Result<(), StoreError>;

    /// The operator's session, if it exists and has not expired at `now`.
    async fn find_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<OperatorSession>, StoreError>;

    /// Ends the operator's session; returns how it was started, if it was
    /// there.
    async fn delete_operator_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError>;

    /// Records that the operator's session was used at `now`.
    async fn touch_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Writes an entry to the audit log: a note, or a look at personal data.
    async fn audit(&self, entry: &NewAuditEntry) -> Result<(), StoreError>;

    /// The audit entries about a request, oldest first.
    async fn audit_trail(&self, request_id: &str) -> Result<Vec<AuditEntry>, StoreError>;

    /// The newest `limit` entries of the audit log (of `action` only, if
    /// given), newest first.
    async fn recent_audit(
        &self,
        action: Option<AuditAction>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Requests in `state` received in `[from, until)`, oldest first, at
    /// most `limit`.
    async fn requests_in(
        &self,
        state: RequestState,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ItfRequest>, StoreError>;

    /// A veteran's requests, newest first.
    async fn requests_of(&self, icn: &Icn) -> Result<Vec<ItfRequest>, StoreError>;

    /// How many requests are in each state (states with none left out).
    async fn request_counts(&self) -> Result<Vec<(RequestState, u64)>, StoreError>;

    /// Provider calls made in `[from, until)`, by outcome.
    async fn attempt_counts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(AttemptOutcome, u64)>, StoreError>;

    /// Seals again, under the current key, up to `limit` rows of personal
    /// data sealed under another; returns how many. Run until it returns
    /// 0 to rotate keys while the service runs.
    async fn reseal(&self, limit: u32) -> Result<u64, StoreError>;

    /// The messages owed to the veteran about a request, oldest first.
    async fn messages_of(&self, request_id: &str) -> Result<Vec<MessageRecord>, StoreError>;
}

/// Opens the store `DATABASE_URL` names, every call within
/// `CALL_TIME_LIMIT` and behind `gate`. Connections are made lazily, so that
/// an instance starts, and answers `/readyz` with 503, while its database
/// is down.
pub fn open(
    url: &DatabaseUrl,
    gate: Arc<dyn Gate>,
    keys: Arc<Keys>,
) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match url {
        DatabaseUrl::Postgres(url) => Arc::new(PostgresStore::open(url, keys)?),
        DatabaseUrl::Sqlite(url) => Arc::new(SqliteStore::open(url, keys)?),
    };
    Ok(Arc::new(Bounded::new(store, CALL_TIME_LIMIT, gate)))
}
