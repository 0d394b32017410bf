//! The production store: any number of instances share one PostgreSQL. SQL
//! only; the decisions live in `model.rs`.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, Postgres};

use itf_app::domain::{Icn, ItfType};

use super::alert::{
    alert_reference, delivery_status_alert, failed_delivery_alert, oldest_pending, AlertRow,
    ListedAlertRow, ALERT_COLUMNS,
};
use super::audit::{counted, AuditRow, MessageRecordRow, OperatorSessionRow};
use super::grouped::Grouped;
use super::model::{
    ensure_itf_payload, job_total_shard, millis, provider_date, AttemptRow, ClaimedRow, MailboxRow,
    OutboxRow, ProviderRecordRow, RequestRow, SessionRow, CLAIMED_COLUMNS, JOB_COUNTS_QUERY,
    OUTBOX_COLUMNS, REQUEST_COLUMNS,
};
use super::rollout::{self, RolloutRow};
use super::sign_in::SignInAttemptRow;
use super::webhook::{
    delivery_id, new_event_id, EventSourceRow, EventType, WebhookDelivery, WebhookRow,
    WebhookTrouble, WebhookTroubleRow, EVENT_SOURCE_COLUMNS, WEBHOOK_COLUMNS,
    WEBHOOK_TROUBLE_COLUMNS,
};
use super::{
    Acting, Alert, AlertAction, AlertChannel, AlertDelivery, Attempt, AttemptOutcome, AuditAction,
    AuditEntry, BudgetAnswer, BudgetClaim, CircuitState, ClaimedJob, ConfirmedItf, Delivery,
    Intake, ItfRequest, JobCounts, JobOutcome, ListedAlert, MailboxEntry, MessageKind,
    MessageRecord, NewAuditEntry, NewRequest, OldestPending, OperatorSession, OutboxItem,
    ProviderRecord, Repair, Repaired, RequestState, Rollout, RolloutFlag, Session, SignInAttempt,
    SignInMethod, Store, StoreError, ACQUIRE_TIMEOUT,
};
use crate::sealing::Keys;
use crate::session_cache::SessionCache;
use crate::session_token::SessionTokenHash;

/// The database's clock in milliseconds since the epoch, as the provider
/// budget counts.
const NOW_MS: &str = "(extract(epoch FROM now()) * 1000)::bigint";

/// Woken by every intake, so that idle workers on any instance start at once.
pub const JOBS_CHANNEL: &str = "itf_jobs";

/// Told the token hash (hex) of every session ended, for every instance's
/// session cache.
pub const SESSIONS_ENDED_CHANNEL: &str = "itf_sessions_ended";

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same database without the statement time limit, for migrations,
    /// which may take long.
    unlimited: PgConnectOptions,
    /// Seal ICNs and names, and make their blind index.
    keys: Arc<Keys>,
    /// The ends of turns that finish together, written by one statement.
    ended_turns: Arc<Grouped<EndedTurn, bool>>,
    /// Lease renewals asked for together, made by one statement.
    renewals: Arc<Grouped<Renewal, bool>>,
    /// Every instance's workers woken after intakes commit, once for all
    /// the intakes of the moment. A NOTIFY inside intake's transaction
    /// would hold PostgreSQL's one notification lock through the commit,
    /// so that every intake's commit waited for the one before it.
    wake_ups: Arc<Grouped<(), ()>>,
}

/// The most writes one grouped statement makes: more than a worker's
/// turns at a time, so that a busy worker's ends all go together.
const GROUP_MOST: usize = 64;

impl PostgresStore {
    pub fn open(url: &str, keys: Arc<Keys>) -> Result<Self, StoreError> {
        let unlimited = PgConnectOptions::from_str(url).map_err(StoreError::Query)?;
        // A statement the server cannot finish in time is stopped there
        // too, so that a struggling database frees its connections.
        let limit = format!("{}ms", super::CALL_TIME_LIMIT.as_millis());
        let options = unlimited
            .clone()
            .options([("statement_timeout", limit.as_str())]);
        let pool = super::checked_after_idle(PgPoolOptions::new())
            .max_connections(20)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let ended = pool.clone();
        let renewing = pool.clone();
        let waking = pool.clone();
        Ok(Self {
            wake_ups: Arc::new(Grouped::new(GROUP_MOST, move |intakes: Arc<[()]>| {
                let pool = waking.clone();
                async move {
                    // Workers poll as well: a wake-up lost changes how soon a
                    // job starts, never whether it does.
                    if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
                        .bind(JOBS_CHANNEL)
                        .execute(&pool)
                        .await
                    {
                        tracing::debug!(%error, "could not wake the workers");
                    }
                    Ok(vec![(); intakes.len()])
                }
            })),
            ended_turns: Arc::new(Grouped::new(GROUP_MOST, move |turns: Arc<[EndedTurn]>| {
                let pool = ended.clone();
                async move { end_turns(&pool, &turns).await }
            })),
            renewals: Arc::new(Grouped::new(GROUP_MOST, move |renewals: Arc<[Renewal]>| {
                let pool = renewing.clone();
                async move { renew_leases(&pool, &renewals).await }
            })),
            pool,
            unlimited,
            keys,
        })
    }
}

type Tx<'a> = sqlx::Transaction<'a, Postgres>;

async fn request_by_id(
    executor: impl sqlx::PgExecutor<'_>,
    keys: &Keys,
    id: &str,
) -> Result<Option<ItfRequest>, StoreError> {
    sqlx::query_as::<_, RequestRow<DateTime<Utc>>>(&format!(
        "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .map(|row| row.open(keys))
    .transpose()
}

/// Our record of the provider for a veteran and type, with its version
/// (the row's `xmin`), which every write of the row changes.
async fn record_of(
    executor: impl sqlx::PgExecutor<'_>,
    icn: &str,
    itf_type: &str,
) -> Result<Option<(ProviderRecord, i64)>, StoreError> {
    sqlx::query_as::<_, VersionedRecordRow>(
        "SELECT xmin::text::bigint AS version,
             provider_itf_id, creation_date, expiration_date, active_seen_at, none_seen_at
         FROM provider_records WHERE icn = $1 AND itf_type = $2",
    )
    .bind(icn)
    .bind(itf_type)
    .fetch_optional(executor)
    .await?
    .map(|row| Ok((ProviderRecord::try_from(row.record)?, row.version)))
    .transpose()
}

#[derive(sqlx::FromRow)]
struct VersionedRecordRow {
    version: i64,
    #[sqlx(flatten)]
    record: ProviderRecordRow<DateTime<Utc>>,
}

/// Queues an `ensure_itf` job for the request, due at `run_at` and ordered
/// by the request's `received_at`.
async fn queue_job(
    tx: &mut Tx<'_>,
    request_id: &str,
    run_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, request_id, payload, state, run_at, received_at,
             created_at, updated_at)
         VALUES ($1, 'ensure_itf', $2, $3, 'queued', $4, $5, $4, $4)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(request_id)
    .bind(ensure_itf_payload(request_id))
    .bind(run_at)
    .bind(received_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(JOBS_CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes our record of the provider's active ITF for a veteran and type:
/// followed by the rows (`VALUES` or `SELECT`) and then by
/// `ON_CONFLICT_ACTIVE`.
const INSERT_ACTIVE: &str = "INSERT INTO provider_records (icn, itf_type, provider_itf_id,
     creation_date, expiration_date, active_seen_at)";
/// An active ITF replaces whatever our record of the provider said.
const ON_CONFLICT_ACTIVE: &str = "ON CONFLICT (icn, itf_type) DO UPDATE SET
     provider_itf_id = EXCLUDED.provider_itf_id, creation_date = EXCLUDED.creation_date,
     expiration_date = EXCLUDED.expiration_date, active_seen_at = EXCLUDED.active_seen_at";

async fn upsert_active(
    tx: &mut Tx<'_>,
    icn: &str,
    itf_type: &str,
    itf: &ConfirmedItf,
    seen_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "{INSERT_ACTIVE} VALUES ($1, $2, $3, $4, $5, $6) {ON_CONFLICT_ACTIVE}"
    ))
    .bind(icn)
    .bind(itf_type)
    .bind(&itf.id)
    .bind(provider_date(itf.creation_date))
    .bind(provider_date(itf.expiration_date))
    .bind(seen_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Our record of the provider: the ITF confirmed for `request_id`, when
/// `itf` is one, for that request's veteran and type; first the lock that
/// serialises it with intakes for that veteran and type.
async fn record_confirmed(
    tx: &mut Tx<'_>,
    request_id: &str,
    itf: Option<&ConfirmedItf>,
    seen_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("SELECT itf_request_lock(icn, itf_type) FROM itf_requests WHERE id = $1 AND $2")
        .bind(request_id)
        .bind(itf.is_some())
        .execute(&mut **tx)
        .await?;
    sqlx::query(&format!(
        "{INSERT_ACTIVE} SELECT icn, itf_type, $2, $3, $4, $5 FROM itf_requests
         WHERE id = $1 AND $6 {ON_CONFLICT_ACTIVE}"
    ))
    .bind(request_id)
    .bind(itf.map(|itf| &itf.id))
    .bind(itf.map(|itf| provider_date(itf.creation_date)))
    .bind(itf.map(|itf| provider_date(itf.expiration_date)))
    .bind(seen_at)
    .bind(itf.is_some())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records calls to the provider, `$1` to `$7` (see `bind_attempts`).
const INSERT_ATTEMPTS: &str =
    "INSERT INTO attempts (request_id, job_id, at, call, outcome, provider_status, latency_ms)
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
         $6::integer[], $7::bigint[])";

/// Binds `attempts` as `$1` to `$7` of a query that holds `INSERT_ATTEMPTS`.
fn bind_attempts<'q, O>(
    query: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
    attempts: &[Attempt],
) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
    let column = |value: fn(&Attempt) -> String| attempts.iter().map(value).collect::<Vec<_>>();
    query
        .bind(column(|a| a.request_id.clone()))
        .bind(column(|a| a.job_id.clone()))
        .bind(attempts.iter().map(|a| a.at).collect::<Vec<_>>())
        .bind(column(|a| a.call.as_str().to_owned()))
        .bind(column(|a| a.outcome.as_str().to_owned()))
        .bind(
            attempts
                .iter()
                .map(|a| a.provider_status.map(i32::from))
                .collect::<Vec<_>>(),
        )
        .bind(attempts.iter().map(Attempt::latency_ms).collect::<Vec<_>>())
}

/// A lease to renew: `renew_lease`'s arguments.
#[derive(Clone)]
struct Renewal {
    job_id: String,
    lease_token: String,
    lease_secs: f64,
}

/// Renews the leases that are still held, by one statement; for each,
/// whether it was.
async fn renew_leases(pool: &PgPool, renewals: &[Renewal]) -> Result<Vec<bool>, StoreError> {
    // In the order of the job ids, as `end_turns` takes them, so that two
    // statements never wait on each other's rows.
    let mut order: Vec<&Renewal> = renewals.iter().collect();
    order.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    let renewed: Vec<(String,)> = sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = clock_timestamp() + make_interval(secs => r.secs)
         FROM UNNEST($1::text[], $2::text[], $3::float8[]) AS r (id, token, secs)
         WHERE jobs.id = r.id AND jobs.lease_token = r.token AND jobs.state = 'running'
         RETURNING jobs.id",
    )
    .bind(order.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>())
    .bind(
        order
            .iter()
            .map(|r| r.lease_token.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(order.iter().map(|r| r.lease_secs).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    Ok(renewals
        .iter()
        .map(|r| renewed.iter().any(|(id,)| *id == r.job_id))
        .collect())
}

/// The end of a turn: `finish_turn`'s arguments.
#[derive(Clone)]
struct EndedTurn {
    job: ClaimedJob,
    now: DateTime<Utc>,
    outcome: JobOutcome,
    attempts: Vec<Attempt>,
}

/// `end_turns`' statement. Each turn's calls are recorded whether or not it
/// still held its lease; every other write hangs on the lease check
/// (`held`) and on the lock that serialises our record of the provider
/// with intakes for the veteran and type (`locked`, as `record_confirmed`
/// takes it), so nothing is written without both, and nothing is written
/// before the lock is held.
static END_TURNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH calls AS ({INSERT_ATTEMPTS}),
         turns AS (
             SELECT * FROM UNNEST($8::text[], $9::text[], $10::text[], $11::timestamptz[],
                 $12::text[], $13::boolean[], $14::timestamptz[], $15::boolean[], $16::text[],
                 $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::boolean[],
                 $23::text[])
             AS t (job_id, lease_token, job_state, run_at, error, counts_as_attempt, at,
                 confirmed, itf_id, creation_date, expiration_date, message_ref, message_kind,
                 request_state, clear_error, request_error)),
         held AS (
             UPDATE jobs SET state = t.job_state, run_at = t.run_at,
                 last_error = COALESCE(t.error, jobs.last_error),
                 attempts = jobs.attempts - CASE WHEN t.counts_as_attempt THEN 0 ELSE 1 END,
                 lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                 updated_at = t.at
             FROM turns t
             WHERE jobs.id = t.job_id AND jobs.lease_token = t.lease_token
                 AND jobs.state = 'running'
             RETURNING jobs.id AS held_job, jobs.request_id),
         locked AS MATERIALIZED (
             SELECT t.*, r.id, r.icn, r.itf_type, r.shown_pending,
                 CASE WHEN t.confirmed THEN itf_request_lock(r.icn, r.itf_type)::text END
                     AS lock
             FROM held
             JOIN turns t ON t.job_id = held.held_job
             JOIN itf_requests r ON r.id = held.request_id
             ORDER BY t.job_id),
         record AS (
             {INSERT_ACTIVE}
             SELECT icn, itf_type, itf_id, creation_date, expiration_date, at
             FROM locked WHERE confirmed
             {ON_CONFLICT_ACTIVE}),
         total AS (
             UPDATE job_totals SET jobs = jobs + done.count
             FROM (SELECT count(*) AS count FROM locked WHERE job_state = 'done') done
             WHERE job_totals.state = 'done' AND job_totals.shard = $24 AND done.count > 0),
         events AS (
             INSERT INTO webhook_events (id, event_type, request_id, created_at)
             SELECT event.id, event.event_type, locked.id, locked.at
             FROM locked
             JOIN UNNEST($25::text[], $26::text[], $27::text[]) AS event (id, event_type, job_id)
                 ON event.job_id = locked.job_id
             ON CONFLICT DO NOTHING),
         message AS (
             INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at,
                 created_at)
             SELECT message_ref, message_kind, id, 'pending', 0, now(), at FROM locked
             WHERE shown_pending AND message_kind IS NOT NULL
             ON CONFLICT (reference) DO NOTHING),
         request AS (
             UPDATE itf_requests SET state = COALESCE(locked.request_state, itf_requests.state),
                 provider_itf_id = COALESCE(locked.itf_id, itf_requests.provider_itf_id),
                 creation_date = COALESCE(locked.creation_date, itf_requests.creation_date),
                 expiration_date = COALESCE(locked.expiration_date,
                     itf_requests.expiration_date),
                 last_error = CASE WHEN locked.clear_error THEN NULL
                     ELSE COALESCE(locked.request_error, itf_requests.last_error) END,
                 updated_at = locked.at
             FROM locked WHERE itf_requests.id = locked.id)
         SELECT job_id, lock FROM locked"
    )
});

/// Ends turns by one statement (`END_TURNS`); for each, whether it still
/// held its lease.
async fn end_turns<'e, E>(executor: E, turns: &[EndedTurn]) -> Result<Vec<bool>, StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    // Rows and locks are taken in the order of the job ids, as
    // `renew_leases` takes them.
    let mut order: Vec<&EndedTurn> = turns.iter().collect();
    order.sort_by(|a, b| a.job.id.cmp(&b.job.id));
    let mut columns = EndColumns::default();
    let mut attempts = Vec::new();
    for turn in &order {
        columns.push(turn);
        attempts.extend_from_slice(&turn.attempts);
    }
    // One shard for the whole statement: its total changes by one update.
    let shard = order
        .first()
        .map_or(0, |turn| job_total_shard(&turn.job.request.id));
    let held: Vec<(String, Option<String>)> = columns
        .bind(
            bind_attempts(sqlx::query_as(END_TURNS.as_str()), &attempts),
            shard,
        )
        .fetch_all(executor)
        .await?;
    Ok(turns
        .iter()
        .map(|turn| held.iter().any(|(job_id, _)| *job_id == turn.job.id))
        .collect())
}

/// `end_turns`' values, a column per field, a row per turn; events a row
/// each.
#[derive(Default)]
struct EndColumns {
    job_id: Vec<String>,
    lease_token: Vec<String>,
    job_state: Vec<&'static str>,
    run_at: Vec<DateTime<Utc>>,
    error: Vec<Option<String>>,
    counts_as_attempt: Vec<bool>,
    at: Vec<DateTime<Utc>>,
    confirmed: Vec<bool>,
    itf_id: Vec<Option<String>>,
    creation_date: Vec<Option<String>>,
    expiration_date: Vec<Option<String>>,
    message_ref: Vec<Option<String>>,
    message_kind: Vec<Option<&'static str>>,
    request_state: Vec<Option<&'static str>>,
    clear_error: Vec<bool>,
    request_error: Vec<Option<String>>,
    event_id: Vec<String>,
    event_type: Vec<&'static str>,
    event_job: Vec<String>,
}

impl EndColumns {
    fn push(&mut self, turn: &EndedTurn) {
        let (job, now) = (&turn.job, turn.now);
        let update = turn.outcome.update(now);
        let request = &update.request;
        let itf = request.itf;
        // A request's `received_at` never changes, so the events it owes as
        // this change leaves it are known here.
        if let Some(state) = request.state {
            for event in EventType::owed(
                state,
                job.request.received_at,
                itf.map(|itf| itf.creation_date),
            ) {
                self.event_id.push(new_event_id());
                self.event_type.push(event.as_str());
                self.event_job.push(job.id.clone());
            }
        }
        self.job_id.push(job.id.clone());
        self.lease_token.push(job.lease_token.clone());
        self.job_state.push(update.state.as_str());
        self.run_at.push(update.run_at);
        self.error.push(update.error.map(str::to_owned));
        self.counts_as_attempt.push(update.counts_as_attempt);
        self.at.push(now);
        self.confirmed.push(itf.is_some());
        self.itf_id.push(itf.map(|itf| itf.id.clone()));
        self.creation_date
            .push(itf.map(|itf| provider_date(itf.creation_date)));
        self.expiration_date
            .push(itf.map(|itf| provider_date(itf.expiration_date)));
        self.message_ref
            .push(update.message.map(|kind| kind.reference(&job.request.id)));
        self.message_kind
            .push(update.message.map(MessageKind::as_str));
        self.request_state
            .push(request.state.map(RequestState::as_str));
        self.clear_error.push(request.clear_error);
        self.request_error.push(request.error.map(str::to_owned));
    }

    /// Binds the columns as `$8` to `$27`, after the attempts' `$1` to `$7`.
    fn bind<'q, O>(
        self,
        query: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
        shard: i64,
    ) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(self.job_id)
            .bind(self.lease_token)
            .bind(self.job_state)
            .bind(self.run_at)
            .bind(self.error)
            .bind(self.counts_as_attempt)
            .bind(self.at)
            .bind(self.confirmed)
            .bind(self.itf_id)
            .bind(self.creation_date)
            .bind(self.expiration_date)
            .bind(self.message_ref)
            .bind(self.message_kind)
            .bind(self.request_state)
            .bind(self.clear_error)
            .bind(self.request_error)
            .bind(shard)
            .bind(self.event_id)
            .bind(self.event_type)
            .bind(self.event_job)
    }
}

/// Owes the veteran a message about the request, once per kind, within
/// `tx`: only to a veteran who was shown the request as pending.
async fn owe_message(
    tx: &mut Tx<'_>,
    kind: MessageKind,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at, created_at)
         SELECT $1, $2, id, 'pending', 0, now(), $3 FROM itf_requests
         WHERE id = $4 AND shown_pending
         ON CONFLICT (reference) DO NOTHING",
    )
    .bind(kind.reference(request_id))
    .bind(kind.as_str())
    .bind(now)
    .bind(request_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Owes other services the events the request's change makes, within
/// `tx`: at most one of each type per request.
async fn owe_events(
    tx: &mut Tx<'_>,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let source = sqlx::query_as::<_, EventSourceRow<DateTime<Utc>>>(&format!(
        "SELECT {EVENT_SOURCE_COLUMNS} FROM itf_requests WHERE id = $1"
    ))
    .bind(request_id)
    .fetch_one(&mut **tx)
    .await?;
    let (ids, types): (Vec<String>, Vec<&str>) = source
        .owed()?
        .into_iter()
        .map(|event| (new_event_id(), event.as_str()))
        .unzip();
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO webhook_events (id, event_type, request_id, created_at)
         SELECT event.id, event.event_type, $3, $4
         FROM UNNEST($1::text[], $2::text[]) AS event (id, event_type)
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .bind(types)
    .bind(request_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes an audit entry within `tx`.
async fn insert_audit(tx: &mut Tx<'_>, entry: &NewAuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, operator, role, action, request_id, reason, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.at)
    .bind(&entry.operator)
    .bind(entry.role.as_str())
    .bind(entry.action.as_str())
    .bind(&entry.request_id)
    .bind(&entry.reason)
    .bind(&entry.before)
    .bind(&entry.after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Puts a request back to pending with a new job, due now and ordered by
/// the request's own `received_at`.
async fn requeue(
    tx: &mut Tx<'_>,
    request: &ItfRequest,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE itf_requests SET state = 'pending', updated_at = $2 WHERE id = $1")
        .bind(&request.id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    queue_job(tx, &request.id, now, request.received_at).await
}

/// Closes a request as active with `itf`, ends its jobs and owes the
/// veteran `itf_confirmed`.
async fn close_active(
    tx: &mut Tx<'_>,
    request_id: &str,
    itf: &ConfirmedItf,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE itf_requests SET state = 'active', provider_itf_id = $2, creation_date = $3,
             expiration_date = $4, last_error = NULL, updated_at = $5
         WHERE id = $1",
    )
    .bind(request_id)
    .bind(&itf.id)
    .bind(provider_date(itf.creation_date))
    .bind(provider_date(itf.expiration_date))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    record_confirmed(tx, request_id, Some(itf), now).await?;
    let ended = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL, updated_at = $2
         WHERE request_id = $1 AND state <> 'done'",
    )
    .bind(request_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE job_totals SET jobs = jobs + $1 WHERE state = 'done' AND shard = $2")
        .bind(i64::try_from(ended).unwrap_or(i64::MAX))
        .bind(job_total_shard(request_id))
        .execute(&mut **tx)
        .await?;
    owe_events(tx, request_id, now).await?;
    owe_message(tx, MessageKind::ItfConfirmed, request_id, now).await
}

/// Opens or resolves an alert and writes the change's delivery, within
/// `tx`; an open alert is not opened again.
async fn set_alert_in(
    tx: &mut Tx<'_>,
    alert: &Alert,
    holds: bool,
    now: DateTime<Utc>,
) -> Result<Option<AlertAction>, StoreError> {
    let key = alert.dedup_key();
    let changed: Option<(i64,)> = if holds {
        sqlx::query_as(
            "INSERT INTO alerts (dedup_key, condition, request_id, state, episode, changed_at)
             VALUES ($1, $2, $3, 'open', 1, $4)
             ON CONFLICT (dedup_key) DO UPDATE SET state = 'open',
                 episode = alerts.episode + 1, changed_at = excluded.changed_at
             WHERE alerts.state = 'resolved'
             RETURNING CAST(episode AS BIGINT)",
        )
        .bind(&key)
        .bind(alert.condition.as_str())
        .bind(&alert.request_id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?
    } else {
        sqlx::query_as(
            "UPDATE alerts SET state = 'resolved', changed_at = $2
             WHERE dedup_key = $1 AND state = 'open'
             RETURNING CAST(episode AS BIGINT)",
        )
        .bind(&key)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?
    };
    let Some((episode,)) = changed else {
        return Ok(None);
    };
    let action = AlertAction::of(holds);
    sqlx::query(
        "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at, created_at,
             alert_key, alert_action, summary)
         VALUES ($1, 'alert', $2, 'pending', 0, now(), $3, $4, $5, $6)
         ON CONFLICT (reference) DO NOTHING",
    )
    .bind(alert_reference(&key, episode, action))
    .bind(&alert.request_id)
    .bind(now)
    .bind(&key)
    .bind(action.as_str())
    .bind(&alert.summary)
    .execute(&mut **tx)
    .await?;
    Ok(Some(action))
}

impl PostgresStore {
    /// Seals the ICNs and names of rows written before they were sealed,
    /// in batches; the blind index takes the ICN's place. Returns how many
    /// rows it sealed.
    async fn seal_old_rows(&self) -> Result<(), StoreError> {
        let mut sealed = 0u64;
        loop {
            let batch = self.seal_requests().await?
                + self.seal_sessions().await?
                + self.seal_records().await?;
            if batch == 0 {
                break;
            }
            sealed += batch;
        }
        if sealed > 0 {
            tracing::info!(sealed, "rows written before sealing are sealed");
        }
        Ok(())
    }

    async fn seal_requests(&self) -> Result<u64, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, icn, veteran_name FROM itf_requests WHERE icn_sealed IS NULL LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        for (id, icn, name) in &rows {
            let icn = icn_of(icn)?;
            sqlx::query(
                "UPDATE itf_requests SET icn = $1, icn_sealed = $2, veteran_name = $3
                 WHERE id = $4 AND icn_sealed IS NULL",
            )
            .bind(self.keys.blind(&icn))
            .bind(self.keys.seal(icn.expose()))
            .bind(self.keys.seal(name))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    async fn seal_sessions(&self) -> Result<u64, StoreError> {
        let rows: Vec<(Vec<u8>, String, String)> = sqlx::query_as(
            "SELECT token_hash, icn, veteran_name FROM sessions WHERE icn_sealed IS NULL LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        for (token, icn, name) in &rows {
            let icn = icn_of(icn)?;
            sqlx::query(
                "UPDATE sessions SET icn = $1, icn_sealed = $2, veteran_name = $3
                 WHERE token_hash = $4 AND icn_sealed IS NULL",
            )
            .bind(self.keys.blind(&icn))
            .bind(self.keys.seal(icn.expose()))
            .bind(self.keys.seal(name))
            .bind(token)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Our records of the provider are keyed by the blind index alone: an
    /// ICN in clear is 17 characters, a blind index 64.
    async fn seal_records(&self) -> Result<u64, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT icn, itf_type FROM provider_records WHERE length(icn) <> 64 LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        for (icn, itf_type) in &rows {
            sqlx::query("UPDATE provider_records SET icn = $1 WHERE icn = $2 AND itf_type = $3")
                .bind(self.keys.blind(&icn_of(icn)?))
                .bind(icn)
                .bind(itf_type)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}

/// An ICN as a row written before sealing holds it.
fn icn_of(text: &str) -> Result<Icn, StoreError> {
    Icn::parse(text).map_err(|_| StoreError::Corrupt("a row holds a malformed ICN".to_owned()))
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // Surface an unreachable database as such, not as a migration fault.
        self.ping().await?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(self.unlimited.clone());
        let migrated = sqlx::migrate!("../migrations/postgres").run(&pool).await;
        pool.close().await;
        migrated?;
        self.seal_old_rows().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_session(
        &self,
        token: &SessionTokenHash,
        session: &Session,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, veteran_name, icn_sealed, created_at,
                 expires_at, last_seen_at, icn, signed_in_with)
             VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)",
        )
        .bind(token.as_bytes())
        .bind(&session.veteran.user_id)
        .bind(self.keys.seal(session.veteran.name.expose()))
        .bind(self.keys.seal(session.veteran.icn.expose()))
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(self.keys.blind(&session.veteran.icn))
        .bind(session.signed_in_with.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        sqlx::query_as::<_, SessionRow<DateTime<Utc>>>(
            "SELECT user_id, veteran_name, icn_sealed, created_at, expires_at,
                 COALESCE(last_seen_at, created_at) AS last_seen_at, signed_in_with
             FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token.as_bytes())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.open(&self.keys))
        .transpose()
    }

    async fn touch_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token.as_bytes())
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn touch_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE operator_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token.as_bytes())
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError> {
        // Other instances' session caches hear of the end once it commits.
        let ended: Option<String> = sqlx::query_scalar(
            "WITH ended AS (DELETE FROM sessions WHERE token_hash = $1
                 RETURNING token_hash, signed_in_with)
             SELECT signed_in_with FROM ended, LATERAL pg_notify($2, encode(token_hash, 'hex'))",
        )
        .bind(token.as_bytes())
        .bind(SESSIONS_ENDED_CHANNEL)
        .fetch_optional(&self.pool)
        .await?;
        ended.as_deref().map(SignInMethod::parse).transpose()
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut removed = 0;
        for table in ["sessions", "operator_sessions", "sign_in_attempts"] {
            let done = sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                .bind(now)
                .execute(&self.pool)
                .await?;
            removed += done.rows_affected();
        }
        Ok(removed)
    }

    async fn rollouts(&self) -> Result<Vec<RolloutFlag>, StoreError> {
        sqlx::query_as::<_, RolloutRow<DateTime<Utc>>>(
            "SELECT itf_type, mode, percent, changed_at, changed_by FROM rollout_flags
             ORDER BY itf_type",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(RolloutFlag::try_from)
        .collect()
    }

    async fn set_rollout(
        &self,
        itf_type: ItfType,
        rollout: Rollout,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<RolloutFlag, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before: RolloutFlag = sqlx::query_as::<_, RolloutRow<DateTime<Utc>>>(
            "SELECT itf_type, mode, percent, changed_at, changed_by FROM rollout_flags
             WHERE itf_type = $1",
        )
        .bind(itf_type.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        let (mode, percent) = rollout::columns(rollout);
        sqlx::query(
            "UPDATE rollout_flags SET mode = $2, percent = $3, changed_at = $4,
                 changed_by = $5
             WHERE itf_type = $1",
        )
        .bind(itf_type.as_str())
        .bind(mode)
        .bind(percent)
        .bind(now)
        .bind(&acting.operator.id)
        .execute(&mut *tx)
        .await?;
        let after = RolloutFlag {
            rollout,
            changed_at: Some(now),
            changed_by: Some(acting.operator.id.clone()),
            ..before.clone()
        };
        insert_audit(&mut tx, &rollout::audit_entry(&before, &after, acting)).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn begin_sign_in(
        &self,
        state: &SessionTokenHash,
        attempt: &SignInAttempt,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sign_in_attempts (state_hash, kind, nonce, pkce_verifier, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state.as_bytes())
        .bind(attempt.kind.as_str())
        .bind(&attempt.nonce)
        .bind(&attempt.pkce_verifier)
        .bind(attempt.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_sign_in(
        &self,
        state: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInAttempt>, StoreError> {
        let row = sqlx::query_as::<_, SignInAttemptRow<DateTime<Utc>>>(
            "DELETE FROM sign_in_attempts WHERE state_hash = $1
             RETURNING kind, nonce, pkce_verifier, expires_at",
        )
        .bind(state.as_bytes())
        .fetch_optional(&self.pool)
        .await?;
        row.map_or(Ok(None), |row| row.open(now))
    }

    #[tracing::instrument(skip_all, fields(itf_type = %new.itf_type.as_str()))]
    async fn intake(&self, new: &NewRequest<'_>) -> Result<Intake, StoreError> {
        let icn = &self.keys.blind(&new.veteran.icn);
        let itf_type = new.itf_type.as_str();
        // Most veterans have no record of ours yet: the request is proposed
        // on that footing, and the record read and decided on only when
        // `itf_intake` finds it is not so (or that it changed meanwhile).
        let mut decided_on = None;
        loop {
            let id = uuid::Uuid::new_v4().to_string();
            let row = sqlx::query_as::<_, RequestRow<DateTime<Utc>>>(&format!(
                "SELECT {REQUEST_COLUMNS}
                 FROM itf_intake($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(&id)
            .bind(&new.veteran.user_id)
            .bind(icn)
            .bind(self.keys.seal(new.veteran.icn.expose()))
            .bind(self.keys.seal(new.veteran.name.expose()))
            .bind(itf_type)
            .bind(new.received_at)
            .bind(new.shown_pending)
            .bind(new.provider_said_none)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(ensure_itf_payload(&id))
            .bind(decided_on)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                let request = row.open(&self.keys)?;
                let created = request.id == id;
                if created {
                    self.wake_ups.send(());
                }
                return Ok(Intake::Open { request, created });
            }
            let (record, version) = record_of(&self.pool, icn, itf_type).await?.unzip();
            if let Some(active) = Intake::already_active(record, new.received_at) {
                return Ok(active);
            }
            decided_on = version;
        }
    }

    #[tracing::instrument(skip_all, fields(request_id = %id))]
    async fn request(&self, id: &str) -> Result<Option<ItfRequest>, StoreError> {
        request_by_id(&self.pool, &self.keys, id).await
    }

    async fn latest_request(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ItfRequest>, StoreError> {
        sqlx::query_as::<_, RequestRow<DateTime<Utc>>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE icn = $1 AND itf_type = $2
             ORDER BY received_at DESC LIMIT 1"
        ))
        .bind(self.keys.blind(icn))
        .bind(itf_type.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.open(&self.keys))
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(owner = %owner, limit))]
    async fn claim_jobs(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        // One statement, so one round trip: the claim is what a worker
        // does most often.
        let claimed = sqlx::query_as::<_, ClaimedRow<DateTime<Utc>>>(&format!(
            "WITH jobs AS (
                 UPDATE jobs SET state = 'running', attempts = attempts + 1,
                     taken_over = (state = 'running'), lease_owner = $1, lease_token = $2,
                     lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
                 WHERE id IN (
                     SELECT id FROM jobs
                     WHERE (state = 'queued' AND run_at <= now())
                        OR (state = 'running' AND lease_expires_at < now())
                     ORDER BY received_at
                     LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 RETURNING *)
             SELECT {CLAIMED_COLUMNS} FROM jobs JOIN itf_requests r ON r.id = jobs.request_id
             ORDER BY r.received_at"
        ))
        .bind(owner)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(lease.as_secs_f64())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        claimed
            .into_iter()
            .map(|row| row.open(&self.keys))
            .collect()
    }

    #[tracing::instrument(skip_all, fields(job_id = %job_id))]
    async fn renew_lease(
        &self,
        job_id: &str,
        lease_token: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.renewals
            .write(Renewal {
                job_id: job_id.to_owned(),
                lease_token: lease_token.to_owned(),
                lease_secs: lease.as_secs_f64(),
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(job_id = %job.id))]
    async fn finish_turn(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
        attempts: &[Attempt],
    ) -> Result<bool, StoreError> {
        let turn = EndedTurn {
            job: job.clone(),
            now,
            outcome: outcome.clone(),
            attempts: attempts.to_vec(),
        };
        if !outcome.update(now).opens_needs_attention {
            return self.ended_turns.write(turn).await;
        }
        // The alert opens with the change, in one transaction.
        let mut tx = self.pool.begin().await?;
        let held = end_turns(&mut *tx, std::slice::from_ref(&turn))
            .await?
            .contains(&true);
        if held {
            let alert = Alert::needs_attention(&job.request.id);
            set_alert_in(&mut tx, &alert, true, now).await?;
        }
        tx.commit().await?;
        Ok(held)
    }

    async fn attempts(&self, request_id: &str) -> Result<Vec<Attempt>, StoreError> {
        sqlx::query_as::<_, AttemptRow<DateTime<Utc>>>(
            "SELECT request_id, job_id, at, call, outcome,
                 provider_status::BIGINT AS provider_status, latency_ms
             FROM attempts WHERE request_id = $1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Attempt::try_from)
        .collect()
    }

    async fn job_count(&self, request_id: &str) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE request_id = $1")
            .bind(request_id)
            .fetch_one(&self.pool)
            .await?;
        super::model::count(count)
    }

    async fn provider_record(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ProviderRecord>, StoreError> {
        Ok(
            record_of(&self.pool, &self.keys.blind(icn), itf_type.as_str())
                .await?
                .map(|(record, _)| record),
        )
    }

    async fn record_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        itf: &ConfirmedItf,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        upsert_active(
            &mut tx,
            &self.keys.blind(icn),
            itf_type.as_str(),
            itf,
            seen_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_none_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO provider_records (icn, itf_type, none_seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (icn, itf_type) DO UPDATE SET none_seen_at = EXCLUDED.none_seen_at,
                 provider_itf_id = NULL, creation_date = NULL, expiration_date = NULL,
                 active_seen_at = NULL",
        )
        .bind(self.keys.blind(icn))
        .bind(itf_type.as_str())
        .bind(seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(JOB_COUNTS_QUERY)
            .fetch_all(&self.pool)
            .await?;
        let (oldest,): (Option<DateTime<Utc>>,) =
            sqlx::query_as("SELECT MIN(received_at) FROM itf_requests WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        JobCounts::from_rows(rows, oldest)
    }

    async fn circuit(&self) -> Result<CircuitState, StoreError> {
        let (state,): (String,) = sqlx::query_as("SELECT state FROM provider_circuit WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        CircuitState::parse(&state)
    }

    async fn note_provider_answer(
        &self,
        transient: bool,
        threshold: u32,
    ) -> Result<Option<CircuitState>, StoreError> {
        // One statement; in the common case (closed, and answered) it has
        // nothing to write.
        let row: Option<(String, bool)> = sqlx::query_as(
            "UPDATE provider_circuit SET
                 failures = CASE WHEN $1 THEN failures + 1 ELSE 0 END,
                 state = CASE WHEN NOT $1 THEN 'closed' WHEN state = 'probing' OR failures + 1 >= $2 THEN 'open' ELSE state END,
                 changed_at = CASE WHEN (CASE WHEN NOT $1 THEN 'closed' WHEN state = 'probing' OR failures + 1 >= $2 THEN 'open' ELSE state END) <> state THEN now() ELSE changed_at END,
                 last_answer_changed_state = ((CASE WHEN NOT $1 THEN 'closed' WHEN state = 'probing' OR failures + 1 >= $2 THEN 'open' ELSE state END) <> state),
                 opened_at = CASE WHEN NOT $1 THEN NULL WHEN state = 'closed' AND failures + 1 >= $2 THEN now() ELSE opened_at END
             WHERE id = 1 AND NOT (state = 'closed' AND failures = 0 AND NOT $1)
             RETURNING state, last_answer_changed_state",
        )
        .bind(transient)
        .bind(i64::from(threshold))
        .fetch_optional(&self.pool)
        .await?;
        CircuitState::changed_to(row)
    }

    async fn make_deferred_jobs_due(&self) -> Result<u64, StoreError> {
        let woken =
            sqlx::query("UPDATE jobs SET run_at = now() WHERE state = 'queued' AND run_at > now()")
                .execute(&self.pool)
                .await?;
        Ok(woken.rows_affected())
    }

    async fn take_probe(&self, cooldown: std::time::Duration) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "UPDATE provider_circuit SET state = 'probing', changed_at = now()
             WHERE id = 1 AND state IN ('open', 'probing') AND changed_at <= now() - make_interval(secs => $1)",
        )
        .bind(cooldown.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn take_budget(&self, claim: BudgetClaim) -> Result<BudgetAnswer, StoreError> {
        let (wait,): (Option<i64>,) = sqlx::query_as(&format!(
            "UPDATE provider_budget SET
                 tat_ms = CASE WHEN tat_ms - {NOW_MS} <= $2 THEN GREATEST(tat_ms, {NOW_MS}) + $1 ELSE tat_ms END,
                 last_wait_ms = CASE WHEN tat_ms - {NOW_MS} <= $2 THEN NULL ELSE tat_ms - {NOW_MS} - $2 END
             WHERE id = 1
             RETURNING last_wait_ms"
        ))
        .bind(millis(claim.interval))
        .bind(millis(claim.tolerance))
        .fetch_one(&self.pool)
        .await?;
        Ok(BudgetAnswer::from_wait(wait))
    }

    async fn hold_budget(&self, ahead: std::time::Duration) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "UPDATE provider_budget SET tat_ms = {NOW_MS} + $1
             WHERE id = 1 AND tat_ms < {NOW_MS} + $1"
        ))
        .bind(millis(ahead))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_outbox(
        &self,
        lease: std::time::Duration,
        limit: u32,
        with_messages: bool,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE outbox SET run_at = now() + make_interval(secs => $1),
                 attempts = attempts + 1, claim_token = $2
             WHERE reference IN (
                 SELECT reference FROM outbox
                 WHERE state = 'pending' AND run_at <= now() AND (alert_key IS NOT NULL OR $4)
                 ORDER BY run_at
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(lease.as_secs_f64())
        .bind(&token)
        .bind(i64::from(limit))
        .bind(with_messages)
        .execute(&mut *tx)
        .await?;
        let messages = sqlx::query_as::<_, OutboxRow<DateTime<Utc>>>(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN itf_requests r ON r.id = o.request_id
             WHERE o.claim_token = $1 AND o.state = 'pending' AND o.alert_key IS NULL
             ORDER BY o.created_at"
        ))
        .bind(&token)
        .fetch_all(&mut *tx)
        .await?;
        let alerts = sqlx::query_as::<_, AlertRow<DateTime<Utc>>>(&format!(
            "SELECT {ALERT_COLUMNS} FROM outbox o JOIN alerts a ON a.dedup_key = o.alert_key
             WHERE o.claim_token = $1 AND o.state = 'pending'
             ORDER BY o.created_at, o.reference"
        ))
        .bind(&token)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let messages = messages
            .into_iter()
            .map(|row| row.open(&self.keys).map(OutboxItem::Message));
        let alerts = alerts
            .into_iter()
            .map(|row| AlertDelivery::try_from(row).map(OutboxItem::Alert));
        messages.chain(alerts).collect()
    }

    async fn finish_delivery(
        &self,
        reference: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, run_at, error) = delivery.row(now);
        let mut tx = self.pool.begin().await?;
        let finished: Option<(Option<String>, bool)> = sqlx::query_as(
            "UPDATE outbox SET state = $1, run_at = $2, last_error = COALESCE($3, last_error),
                 sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END
             WHERE reference = $5 AND state = 'pending'
             RETURNING request_id, alert_key IS NULL",
        )
        .bind(state)
        .bind(run_at)
        .bind(error)
        .bind(now)
        .bind(reference)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(alert) = failed_delivery_alert(reference, delivery, finished) {
            set_alert_in(&mut tx, &alert, true, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_webhooks(
        &self,
        endpoints: &[String],
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        let new: Vec<(String,)> = sqlx::query_as(
            "UPDATE webhook_events SET fanned_out_at = now()
             WHERE id IN (
                 SELECT id FROM webhook_events WHERE fanned_out_at IS NULL
                 ORDER BY created_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        for (event_id,) in &new {
            for endpoint in endpoints {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, event_id, endpoint, state, attempts, run_at)
                     VALUES ($1, $2, $3, 'pending', 0, now())
                     ON CONFLICT DO NOTHING",
                )
                .bind(delivery_id(event_id, endpoint))
                .bind(event_id)
                .bind(endpoint)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "UPDATE webhook_deliveries SET run_at = now() + make_interval(secs => $1),
                 attempts = attempts + 1, claim_token = $2
             WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE state = 'pending' AND run_at <= now()
                 ORDER BY run_at
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(lease.as_secs_f64())
        .bind(&token)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query_as::<_, WebhookRow<DateTime<Utc>>>(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_events e ON e.id = d.event_id
             JOIN itf_requests r ON r.id = e.request_id
             WHERE d.claim_token = $1 AND d.state = 'pending'
             ORDER BY e.created_at, d.id"
        ))
        .bind(&token)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        claimed
            .into_iter()
            .map(|row| row.open(&self.keys))
            .collect()
    }

    async fn finish_webhook(
        &self,
        delivery_id: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, run_at, error) = delivery.row(now);
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, run_at = $2,
                 last_error = COALESCE($3, last_error),
                 sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END
             WHERE id = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(run_at)
        .bind(error)
        .bind(now)
        .bind(delivery_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhook_trouble(&self, limit: u32) -> Result<Vec<WebhookTrouble>, StoreError> {
        sqlx::query_as::<_, WebhookTroubleRow<DateTime<Utc>>>(&format!(
            "SELECT {WEBHOOK_TROUBLE_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_events e ON e.id = d.event_id
             WHERE d.state <> 'sent' AND d.last_error IS NOT NULL
             ORDER BY e.created_at, d.id
             LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(WebhookTrouble::try_from)
        .collect()
    }

    async fn owe_delayed_messages(
        &self,
        received_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let kind = MessageKind::ItfDelayed;
        let owed = sqlx::query(
            "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at, created_at)
             SELECT id || $1, $2, id, 'pending', 0, now(), $3 FROM itf_requests
             WHERE state = 'pending' AND shown_pending AND received_at < $4
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(kind.reference(""))
        .bind(kind.as_str())
        .bind(now)
        .bind(received_before)
        .execute(&self.pool)
        .await?;
        Ok(owed.rows_affected())
    }

    async fn record_delivery_status(
        &self,
        reference: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let recorded: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE outbox SET delivery_status = $1, delivery_status_at = $2
             WHERE reference = $3 AND alert_key IS NULL
             RETURNING request_id",
        )
        .bind(status)
        .bind(at)
        .bind(reference)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((request_id,)) = recorded else {
            return Ok(false);
        };
        if let Some(alert) = delivery_status_alert(reference, status, request_id.as_deref()) {
            set_alert_in(&mut tx, &alert, true, at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn deliver_to_mailbox(&self, entry: &MailboxEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dev_mailbox (reference, kind, request_id, subject, body, delivered_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&entry.reference)
        .bind(entry.kind.as_str())
        .bind(&entry.request_id)
        .bind(&entry.subject)
        .bind(&entry.body)
        .bind(entry.delivered_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mailbox(&self) -> Result<Vec<MailboxEntry>, StoreError> {
        let rows = sqlx::query_as::<_, MailboxRow<DateTime<Utc>>>(
            "SELECT reference, kind, request_id, subject, body, delivered_at FROM dev_mailbox
             ORDER BY delivered_at, reference",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(MailboxEntry::try_from).collect()
    }

    async fn set_alert(
        &self,
        alert: &Alert,
        holds: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<AlertAction>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = set_alert_in(&mut tx, alert, holds, now).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn fan_out_alert(
        &self,
        reference: &str,
        channels: &[AlertChannel],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for channel in channels {
            sqlx::query(
                "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at,
                     created_at, alert_key, alert_action, alert_channel, summary)
                 SELECT reference || ':' || $2, kind, request_id, 'pending', 0, now(),
                     created_at, alert_key, alert_action, $2, summary
                 FROM outbox WHERE reference = $1
                 ON CONFLICT (reference) DO NOTHING",
            )
            .bind(reference)
            .bind(channel.as_str())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $2 WHERE reference = $1 AND state = 'pending'",
        )
        .bind(reference)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_alert(&self, alert: &ListedAlert) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dev_alerts (reference, dedup_key, condition, action, request_id, summary,
                 delivered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&alert.change.reference)
        .bind(&alert.change.dedup_key)
        .bind(alert.change.condition.as_str())
        .bind(alert.change.action.as_str())
        .bind(&alert.change.request_id)
        .bind(&alert.change.summary)
        .bind(alert.delivered_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn listed_alerts(&self) -> Result<Vec<ListedAlert>, StoreError> {
        let rows = sqlx::query_as::<_, ListedAlertRow<DateTime<Utc>>>(
            "SELECT reference, dedup_key, condition, action, request_id, summary, delivered_at
             FROM dev_alerts ORDER BY delivered_at, reference",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ListedAlert::try_from).collect()
    }

    async fn oldest_pending(&self) -> Result<Option<OldestPending>, StoreError> {
        let row: Option<(String, DateTime<Utc>, i64)> = sqlx::query_as(
            "SELECT id, received_at, (SELECT COUNT(*) FROM itf_requests WHERE state = 'pending')
             FROM itf_requests WHERE state = 'pending'
             ORDER BY received_at, id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        oldest_pending(row)
    }

    async fn circuit_open_since(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (since,): (Option<DateTime<Utc>>,) = sqlx::query_as(
            "SELECT CASE WHEN state = 'closed' THEN NULL ELSE opened_at END
             FROM provider_circuit WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(since)
    }

    async fn repair(
        &self,
        request_id: &str,
        repair: Repair<'_>,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<Repaired, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = sqlx::query_as::<_, RequestRow<DateTime<Utc>>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE id = $1 FOR UPDATE"
        ))
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.open(&self.keys))
        .transpose()?;
        let Some(before) = before else {
            return Ok(Repaired::NotFound);
        };
        if !repair.allowed_in(before.state) {
            return Ok(Repaired::NotAllowed(before.state));
        }
        match repair {
            Repair::Retry => requeue(&mut tx, &before, now).await?,
            Repair::Resolve(itf) | Repair::FoundActive(itf) => {
                close_active(&mut tx, request_id, itf, now).await?;
            }
        }
        let cleared = Alert::needs_attention_cleared(request_id);
        set_alert_in(&mut tx, &cleared, false, now).await?;
        let after = request_by_id(&mut *tx, &self.keys, request_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("request {request_id} vanished")))?;
        let entry = NewAuditEntry::change(acting, repair.action(), &before, &after, now);
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Repaired::Done(Box::new(after)))
    }

    async fn create_operator_session(
        &self,
        token: &SessionTokenHash,
        session: &OperatorSession,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operator_sessions (token_hash, operator_id, role, created_at, expires_at,
                 last_seen_at, signed_in_with)
             VALUES ($1, $2, $3, $4, $5, $4, $6)",
        )
        .bind(token.as_bytes())
        .bind(&session.operator.id)
        .bind(session.operator.role.as_str())
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.signed_in_with.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<OperatorSession>, StoreError> {
        sqlx::query_as::<_, OperatorSessionRow<DateTime<Utc>>>(
            "SELECT operator_id, role, created_at, expires_at,
                 COALESCE(last_seen_at, created_at) AS last_seen_at, signed_in_with
             FROM operator_sessions
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token.as_bytes())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .map(OperatorSession::try_from)
        .transpose()
    }

    async fn delete_operator_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError> {
        let ended: Option<String> = sqlx::query_scalar(
            "DELETE FROM operator_sessions WHERE token_hash = $1 RETURNING signed_in_with",
        )
        .bind(token.as_bytes())
        .fetch_optional(&self.pool)
        .await?;
        ended.as_deref().map(SignInMethod::parse).transpose()
    }

    async fn audit(&self, entry: &NewAuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_trail(&self, request_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as::<_, AuditRow<DateTime<Utc>>>(
            "SELECT id, at, operator, role, action, request_id, reason, before, after
             FROM audit_log WHERE request_id = $1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn recent_audit(
        &self,
        action: Option<AuditAction>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as::<_, AuditRow<DateTime<Utc>>>(
            "SELECT id, at, operator, role, action, request_id, reason, before, after
             FROM audit_log WHERE $2::TEXT IS NULL OR action = $2
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .bind(action.map(AuditAction::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn requests_in(
        &self,
        state: RequestState,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ItfRequest>, StoreError> {
        let rows = sqlx::query_as::<_, RequestRow<DateTime<Utc>>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests
             WHERE state = $1 AND received_at >= $2 AND received_at < $3
             ORDER BY received_at, id LIMIT $4"
        ))
        .bind(state.as_str())
        .bind(from)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| row.open(&self.keys)).collect()
    }

    async fn requests_of(&self, icn: &Icn) -> Result<Vec<ItfRequest>, StoreError> {
        let rows = sqlx::query_as::<_, RequestRow<DateTime<Utc>>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE icn = $1
             ORDER BY received_at DESC, id"
        ))
        .bind(self.keys.blind(icn))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| row.open(&self.keys)).collect()
    }

    async fn request_counts(&self) -> Result<Vec<(RequestState, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM itf_requests GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        counted(rows, RequestState::parse)
    }

    async fn attempt_counts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(AttemptOutcome, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT outcome, COUNT(*) FROM attempts WHERE at >= $1 AND at < $2
             GROUP BY outcome ORDER BY outcome",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        counted(rows, AttemptOutcome::parse)
    }

    async fn reseal(&self, limit: u32) -> Result<u64, StoreError> {
        let current = format!("v1.{}.%", self.keys.current());
        let requests: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, icn_sealed, veteran_name FROM itf_requests
             WHERE icn_sealed NOT LIKE $1 OR veteran_name NOT LIKE $1 LIMIT $2",
        )
        .bind(&current)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let sessions: Vec<(Vec<u8>, String, String)> = sqlx::query_as(
            "SELECT token_hash, icn_sealed, veteran_name FROM sessions
             WHERE icn_sealed NOT LIKE $1 OR veteran_name NOT LIKE $1 LIMIT $2",
        )
        .bind(&current)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let reseal = |sealed: &str| {
            self.keys
                .open(sealed)
                .map(|plain| self.keys.seal(&plain))
                .map_err(|error| StoreError::Corrupt(error.to_string()))
        };
        let mut tx = self.pool.begin().await?;
        for (id, icn, name) in &requests {
            sqlx::query("UPDATE itf_requests SET icn_sealed = $1, veteran_name = $2 WHERE id = $3")
                .bind(reseal(icn)?)
                .bind(reseal(name)?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (token, icn, name) in &sessions {
            sqlx::query(
                "UPDATE sessions SET icn_sealed = $1, veteran_name = $2 WHERE token_hash = $3",
            )
            .bind(reseal(icn)?)
            .bind(reseal(name)?)
            .bind(token)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((requests.len() + sessions.len()) as u64)
    }

    async fn messages_of(&self, request_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        let rows = sqlx::query_as::<_, MessageRecordRow<DateTime<Utc>>>(
            "SELECT reference, kind, state, created_at, sent_at, delivery_status FROM outbox
             WHERE request_id = $1 AND alert_key IS NULL ORDER BY created_at, reference",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(MessageRecord::try_from).collect()
    }
}

/// Wakes `wake` whenever any instance records a job, for as long as the
/// process runs; polling covers the gaps while the database is away.
pub async fn forward_job_notifications(url: String, wake: std::sync::Arc<tokio::sync::Notify>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(JOBS_CHANNEL).await {
                Ok(()) => {
                    while listener.recv().await.is_ok() {
                        wake.notify_one();
                    }
                }
                Err(error) => tracing::debug!(%error, "cannot listen for new jobs"),
            },
            Err(error) => tracing::debug!(%error, "cannot listen for new jobs"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}

/// Takes sessions ended on any instance out of `cache`, for as long as the
/// process runs; while the connection is lost, the cache serves nothing.
pub async fn forward_session_ends(url: String, cache: Arc<SessionCache>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(SESSIONS_ENDED_CHANNEL).await {
                Ok(()) => {
                    cache.hear(true);
                    // `None`: the connection was lost, and with it any
                    // ends told meanwhile.
                    while let Ok(Some(ended)) = listener.try_recv().await {
                        match SessionTokenHash::from_hex(ended.payload()) {
                            Some(token) => cache.end(&token),
                            // An end we cannot read: forget every session.
                            None => cache.hear(true),
                        }
                    }
                    cache.hear(false);
                }
                Err(error) => tracing::debug!(%error, "cannot listen for ended sessions"),
            },
            Err(error) => tracing::debug!(%error, "cannot listen for ended sessions"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}
