//! The embedded store: one node, no set-up. SQL and the encoding of
//! timestamps only; the decisions live in `model.rs`.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    Sqlite, SqliteArgumentValue, SqliteConnectOptions, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous, SqliteTypeInfo, SqliteValueRef,
};
use sqlx::{Decode, Encode, Type};

use itf_app::domain::{Icn, ItfType};

use super::alert::{
    alert_reference, delivery_status_alert, failed_delivery_alert, oldest_pending, AlertRow,
    ListedAlertRow, ALERT_COLUMNS,
};
use super::audit::{counted, AuditRow, MessageRecordRow, OperatorSessionRow};
use super::model::{
    ensure_itf_payload, job_total_shard, millis, provider_date, AttemptRow, ClaimedRow, MailboxRow,
    OutboxRow, ProviderRecordRow, RequestRow, SessionRow, CLAIMED_COLUMNS, JOB_COUNTS_QUERY,
    OUTBOX_COLUMNS, REQUEST_COLUMNS,
};
use super::rollout::{self, RolloutRow};
use super::sign_in::SignInAttemptRow;
use super::webhook::{
    delivery_id, new_event_id, EventSourceRow, WebhookDelivery, WebhookRow, WebhookTrouble,
    WebhookTroubleRow, EVENT_SOURCE_COLUMNS, WEBHOOK_COLUMNS, WEBHOOK_TROUBLE_COLUMNS,
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
use crate::session_token::SessionTokenHash;

/// A timestamp stored as fixed-width RFC 3339 text in UTC, so that text
/// order is time order and SQL comparisons are correct.
#[derive(Debug, Clone, Copy)]
struct Time(DateTime<Utc>);

impl From<Time> for DateTime<Utc> {
    fn from(time: Time) -> Self {
        time.0
    }
}

impl Type<Sqlite> for Time {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for Time {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.0.to_rfc3339_opts(SecondsFormat::Micros, true), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Time {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self(
            DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc),
        ))
    }
}

/// SQLite lets one connection write at a time; the others wait in its busy
/// handler, which sleeps in growing steps and makes for long tails. Writes
/// therefore go through a pool of one connection, where they queue in turn,
/// and reads through a pool of their own, which WAL lets run beside them.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    /// Seal ICNs and names, and make their blind index.
    keys: Arc<Keys>,
}

impl SqliteStore {
    pub fn open(url: &str, keys: Arc<Keys>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Query)?
            .create_if_missing(true)
            // WAL with synchronous=FULL: a write we acknowledged survives a
            // power cut, and readers never block the writer.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true)
            // Deleted and overwritten content is zeroed, so that sealing
            // rows written in clear leaves no copy of them in the file.
            .pragma("secure_delete", "ON");
        if let Some(dir) = options.get_filename().parent() {
            if dir != Path::new("") {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(e.into()))?;
            }
        }
        let writer = super::checked_after_idle(SqlitePoolOptions::new())
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        let pool = super::checked_after_idle(SqlitePoolOptions::new())
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool, writer, keys })
    }
}

type Tx<'a> = sqlx::Transaction<'a, Sqlite>;

/// The database's clock in milliseconds since the epoch, as the provider
/// budget counts.
const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/// The database's clock, in the stored format (`Time`): leases follow it.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')";
/// The end of the database clock's current millisecond, for "is it due":
/// SQLite's clock counts milliseconds, and a time written from Rust within
/// the current one (with its microseconds) is due now, not a poll later.
const DUE: &str = "strftime('%Y-%m-%dT%H:%M:%f999Z', 'now')";
/// The database's clock plus the modifier bound at `placeholder`
/// (`seconds_from_now`). A placeholder no argument is bound to reads as
/// NULL, and a NULL lease never runs out: each statement names its own.
fn later(placeholder: &str) -> String {
    format!("strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', {placeholder})")
}

/// A date modifier of SQLite's: `+25.000 seconds`.
fn seconds_from_now(span: std::time::Duration) -> String {
    format!("+{:.3} seconds", span.as_secs_f64())
}

/// A date modifier of SQLite's: `-30.000 seconds`.
fn seconds_ago(span: std::time::Duration) -> String {
    format!("-{:.3} seconds", span.as_secs_f64())
}

async fn request_by_id(
    executor: impl sqlx::SqliteExecutor<'_>,
    keys: &Keys,
    id: &str,
) -> Result<Option<ItfRequest>, StoreError> {
    sqlx::query_as::<_, RequestRow<Time>>(&format!(
        "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE id = ?1"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .map(|row| row.open(keys))
    .transpose()
}

async fn record_of(
    executor: impl sqlx::SqliteExecutor<'_>,
    icn: &str,
    itf_type: &str,
) -> Result<Option<ProviderRecord>, StoreError> {
    sqlx::query_as::<_, ProviderRecordRow<Time>>(
        "SELECT provider_itf_id, creation_date, expiration_date, active_seen_at, none_seen_at
         FROM provider_records WHERE icn = ?1 AND itf_type = ?2",
    )
    .bind(icn)
    .bind(itf_type)
    .fetch_optional(executor)
    .await?
    .map(ProviderRecord::try_from)
    .transpose()
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
         VALUES (?1, 'ensure_itf', ?2, ?3, 'queued', ?4, ?5, ?4, ?4)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(request_id)
    .bind(ensure_itf_payload(request_id))
    .bind(Time(run_at))
    .bind(Time(received_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_request(
    tx: &mut Tx<'_>,
    keys: &Keys,
    new: &NewRequest<'_>,
) -> Result<bool, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = sqlx::query(
        "INSERT INTO itf_requests (id, user_id, icn, icn_sealed, veteran_name, itf_type, state,
             received_at, shown_pending, provider_said_none, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?9, ?4, ?5, 'pending', ?6, ?7, ?8, ?6, ?6)
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&new.veteran.user_id)
    .bind(keys.blind(&new.veteran.icn))
    .bind(keys.seal(new.veteran.name.expose()))
    .bind(new.itf_type.as_str())
    .bind(Time(new.received_at))
    .bind(new.shown_pending)
    .bind(new.provider_said_none)
    .bind(keys.seal(new.veteran.icn.expose()))
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        queue_job(tx, &id, new.received_at, new.received_at).await?;
    }
    Ok(inserted)
}

/// Our record of the provider: the ITF confirmed for `request_id`, when
/// `itf` is one, for that request's veteran and type.
async fn record_confirmed(
    tx: &mut Tx<'_>,
    request_id: &str,
    itf: Option<&ConfirmedItf>,
    seen_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_records (icn, itf_type, provider_itf_id, creation_date,
             expiration_date, active_seen_at)
         SELECT icn, itf_type, ?2, ?3, ?4, ?5 FROM itf_requests WHERE id = ?1 AND ?6
         ON CONFLICT (icn, itf_type) DO UPDATE SET provider_itf_id = EXCLUDED.provider_itf_id,
             creation_date = EXCLUDED.creation_date, expiration_date = EXCLUDED.expiration_date,
             active_seen_at = EXCLUDED.active_seen_at",
    )
    .bind(request_id)
    .bind(itf.map(|itf| &itf.id))
    .bind(itf.map(|itf| provider_date(itf.creation_date)))
    .bind(itf.map(|itf| provider_date(itf.expiration_date)))
    .bind(Time(seen_at))
    .bind(itf.is_some())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_active(
    tx: &mut Tx<'_>,
    icn: &str,
    itf_type: &str,
    itf: &ConfirmedItf,
    seen_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_records (icn, itf_type, provider_itf_id, creation_date,
             expiration_date, active_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (icn, itf_type) DO UPDATE SET provider_itf_id = EXCLUDED.provider_itf_id,
             creation_date = EXCLUDED.creation_date, expiration_date = EXCLUDED.expiration_date,
             active_seen_at = EXCLUDED.active_seen_at",
    )
    .bind(icn)
    .bind(itf_type)
    .bind(&itf.id)
    .bind(provider_date(itf.creation_date))
    .bind(provider_date(itf.expiration_date))
    .bind(Time(seen_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_attempt(
    executor: impl sqlx::SqliteExecutor<'_>,
    attempt: &Attempt,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO attempts (request_id, job_id, at, call, outcome, provider_status, latency_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(&attempt.request_id)
    .bind(&attempt.job_id)
    .bind(Time(attempt.at))
    .bind(attempt.call.as_str())
    .bind(attempt.outcome.as_str())
    .bind(attempt.provider_status.map(i64::from))
    .bind(attempt.latency_ms())
    .execute(executor)
    .await?;
    Ok(())
}

/// Owes the veteran a message about the request, once per kind, within
/// `tx`: only to a veteran who was shown the request as pending.
async fn owe_message(
    tx: &mut Tx<'_>,
    kind: MessageKind,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at, created_at)
         SELECT ?1, ?2, id, 'pending', 0, {NOW}, ?3 FROM itf_requests
         WHERE id = ?4 AND shown_pending
         ON CONFLICT (reference) DO NOTHING"
    ))
    .bind(kind.reference(request_id))
    .bind(kind.as_str())
    .bind(Time(now))
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
    let source = sqlx::query_as::<_, EventSourceRow<Time>>(&format!(
        "SELECT {EVENT_SOURCE_COLUMNS} FROM itf_requests WHERE id = ?1"
    ))
    .bind(request_id)
    .fetch_one(&mut **tx)
    .await?;
    for event in source.owed()? {
        sqlx::query(
            "INSERT INTO webhook_events (id, event_type, request_id, created_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
        )
        .bind(new_event_id())
        .bind(event.as_str())
        .bind(request_id)
        .bind(Time(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes an audit entry within `tx`.
async fn insert_audit(tx: &mut Tx<'_>, entry: &NewAuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, operator, role, action, request_id, reason, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(Time(entry.at))
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
    sqlx::query("UPDATE itf_requests SET state = 'pending', updated_at = ?2 WHERE id = ?1")
        .bind(&request.id)
        .bind(Time(now))
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
        "UPDATE itf_requests SET state = 'active', provider_itf_id = ?2, creation_date = ?3,
             expiration_date = ?4, last_error = NULL, updated_at = ?5
         WHERE id = ?1",
    )
    .bind(request_id)
    .bind(&itf.id)
    .bind(provider_date(itf.creation_date))
    .bind(provider_date(itf.expiration_date))
    .bind(Time(now))
    .execute(&mut **tx)
    .await?;
    record_confirmed(tx, request_id, Some(itf), now).await?;
    let ended = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL, updated_at = ?2
         WHERE request_id = ?1 AND state <> 'done'",
    )
    .bind(request_id)
    .bind(Time(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE job_totals SET jobs = jobs + ?1 WHERE state = 'done' AND shard = ?2")
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
             VALUES (?1, ?2, ?3, 'open', 1, ?4)
             ON CONFLICT (dedup_key) DO UPDATE SET state = 'open',
                 episode = alerts.episode + 1, changed_at = excluded.changed_at
             WHERE alerts.state = 'resolved'
             RETURNING episode",
        )
        .bind(&key)
        .bind(alert.condition.as_str())
        .bind(&alert.request_id)
        .bind(Time(now))
        .fetch_optional(&mut **tx)
        .await?
    } else {
        sqlx::query_as(
            "UPDATE alerts SET state = 'resolved', changed_at = ?2
             WHERE dedup_key = ?1 AND state = 'open'
             RETURNING episode",
        )
        .bind(&key)
        .bind(Time(now))
        .fetch_optional(&mut **tx)
        .await?
    };
    let Some((episode,)) = changed else {
        return Ok(None);
    };
    let action = AlertAction::of(holds);
    sqlx::query(&format!(
        "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at, created_at,
             alert_key, alert_action, summary)
         VALUES (?1, 'alert', ?2, 'pending', 0, {NOW}, ?3, ?4, ?5, ?6)
         ON CONFLICT (reference) DO NOTHING"
    ))
    .bind(alert_reference(&key, episode, action))
    .bind(&alert.request_id)
    .bind(Time(now))
    .bind(&key)
    .bind(action.as_str())
    .bind(&alert.summary)
    .execute(&mut **tx)
    .await?;
    Ok(Some(action))
}

impl SqliteStore {
    /// Seals the ICNs and names of rows written before they were sealed,
    /// in batches; the blind index takes the ICN's place. Returns how many
    /// rows it sealed.
    async fn seal_old_rows(&self) -> Result<u64, StoreError> {
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
        Ok(sealed)
    }

    async fn seal_requests(&self) -> Result<u64, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, icn, veteran_name FROM itf_requests WHERE icn_sealed IS NULL LIMIT 500",
        )
        .fetch_all(&self.writer)
        .await?;
        let mut tx = self.writer.begin().await?;
        for (id, icn, name) in &rows {
            let icn = icn_of(icn)?;
            sqlx::query(
                "UPDATE itf_requests SET icn = ?1, icn_sealed = ?2, veteran_name = ?3
                 WHERE id = ?4 AND icn_sealed IS NULL",
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
        .fetch_all(&self.writer)
        .await?;
        let mut tx = self.writer.begin().await?;
        for (token, icn, name) in &rows {
            let icn = icn_of(icn)?;
            sqlx::query(
                "UPDATE sessions SET icn = ?1, icn_sealed = ?2, veteran_name = ?3
                 WHERE token_hash = ?4 AND icn_sealed IS NULL",
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
        .fetch_all(&self.writer)
        .await?;
        let mut tx = self.writer.begin().await?;
        for (icn, itf_type) in &rows {
            sqlx::query("UPDATE provider_records SET icn = ?1 WHERE icn = ?2 AND itf_type = ?3")
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
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        self.ping().await?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&self.writer)
            .await?;
        if self.seal_old_rows().await? > 0 {
            // The clear text is gone from the tables (secure_delete
            // overwrote it); the log's copies of its pages go too.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.writer)
                .await?;
        }
        Ok(())
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7, ?8)",
        )
        .bind(token.as_bytes())
        .bind(&session.veteran.user_id)
        .bind(self.keys.seal(session.veteran.name.expose()))
        .bind(self.keys.seal(session.veteran.icn.expose()))
        .bind(Time(session.created_at))
        .bind(Time(session.expires_at))
        .bind(self.keys.blind(&session.veteran.icn))
        .bind(session.signed_in_with.as_str())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        sqlx::query_as::<_, SessionRow<Time>>(
            "SELECT user_id, veteran_name, icn_sealed, created_at, expires_at,
                 COALESCE(last_seen_at, created_at) AS last_seen_at, signed_in_with
             FROM sessions WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token.as_bytes())
        .bind(Time(now))
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
        sqlx::query("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1")
            .bind(token.as_bytes())
            .bind(Time(now))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn touch_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE operator_sessions SET last_seen_at = ?2 WHERE token_hash = ?1")
            .bind(token.as_bytes())
            .bind(Time(now))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError> {
        let ended: Option<String> = sqlx::query_scalar(
            "DELETE FROM sessions WHERE token_hash = ? RETURNING signed_in_with",
        )
        .bind(token.as_bytes())
        .fetch_optional(&self.writer)
        .await?;
        ended.as_deref().map(SignInMethod::parse).transpose()
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut removed = 0;
        for table in ["sessions", "operator_sessions", "sign_in_attempts"] {
            let done = sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= ?"))
                .bind(Time(now))
                .execute(&self.writer)
                .await?;
            removed += done.rows_affected();
        }
        Ok(removed)
    }

    async fn rollouts(&self) -> Result<Vec<RolloutFlag>, StoreError> {
        sqlx::query_as::<_, RolloutRow<Time>>(
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
        // IMMEDIATE: the flag is read, then written, as one step for every
        // other writer.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let before: RolloutFlag = sqlx::query_as::<_, RolloutRow<Time>>(
            "SELECT itf_type, mode, percent, changed_at, changed_by FROM rollout_flags
             WHERE itf_type = ?1",
        )
        .bind(itf_type.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        let (mode, percent) = rollout::columns(rollout);
        sqlx::query(
            "UPDATE rollout_flags SET mode = ?2, percent = ?3, changed_at = ?4,
                 changed_by = ?5
             WHERE itf_type = ?1",
        )
        .bind(itf_type.as_str())
        .bind(mode)
        .bind(percent)
        .bind(Time(now))
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
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(state.as_bytes())
        .bind(attempt.kind.as_str())
        .bind(&attempt.nonce)
        .bind(&attempt.pkce_verifier)
        .bind(Time(attempt.expires_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn take_sign_in(
        &self,
        state: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInAttempt>, StoreError> {
        let row = sqlx::query_as::<_, SignInAttemptRow<Time>>(
            "DELETE FROM sign_in_attempts WHERE state_hash = ?1
             RETURNING kind, nonce, pkce_verifier, expires_at",
        )
        .bind(state.as_bytes())
        .fetch_optional(&self.writer)
        .await?;
        row.map_or(Ok(None), |row| row.open(now))
    }

    #[tracing::instrument(skip_all, fields(itf_type = %new.itf_type.as_str()))]
    async fn intake(&self, new: &NewRequest<'_>) -> Result<Intake, StoreError> {
        // IMMEDIATE takes the write lock first, so the look at our record
        // and the insert are one step for every other writer.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let icn = &self.keys.blind(&new.veteran.icn);
        let itf_type = new.itf_type.as_str();
        let record = record_of(&mut *tx, icn, itf_type).await?;
        if let Some(active) = Intake::already_active(record, new.received_at) {
            tx.commit().await?;
            return Ok(active);
        }
        let created = insert_request(&mut tx, &self.keys, new).await?;
        let row = sqlx::query_as::<_, RequestRow<Time>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests
             WHERE icn = ?1 AND itf_type = ?2 AND state IN ('pending', 'needs_attention')"
        ))
        .bind(icn)
        .bind(itf_type)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Intake::Open {
            request: row.open(&self.keys)?,
            created,
        })
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
        sqlx::query_as::<_, RequestRow<Time>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE icn = ?1 AND itf_type = ?2
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
        let token = uuid::Uuid::new_v4().to_string();
        let mut tx = self.writer.begin().await?;
        sqlx::query(&format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1,
                 taken_over = (state = 'running'), lease_owner = ?1, lease_token = ?2,
                 lease_expires_at = {later}, updated_at = {NOW}
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_at <= {DUE})
                    OR (state = 'running' AND lease_expires_at < {NOW})
                 ORDER BY received_at
                 LIMIT ?3)",
            later = later("?4")
        ))
        .bind(owner)
        .bind(&token)
        .bind(i64::from(limit))
        .bind(seconds_from_now(lease))
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query_as::<_, ClaimedRow<Time>>(&format!(
            "SELECT {CLAIMED_COLUMNS} FROM jobs JOIN itf_requests r ON r.id = jobs.request_id
             WHERE jobs.state = 'running' AND jobs.lease_token = ?1
             ORDER BY r.received_at"
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

    #[tracing::instrument(skip_all, fields(job_id = %job_id))]
    async fn renew_lease(
        &self,
        job_id: &str,
        lease_token: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(&format!(
            "UPDATE jobs SET lease_expires_at = {later}
             WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
            later = later("?3")
        ))
        .bind(job_id)
        .bind(lease_token)
        .bind(seconds_from_now(lease))
        .execute(&self.writer)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(job_id = %job.id))]
    async fn finish_turn(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
        attempts: &[Attempt],
    ) -> Result<bool, StoreError> {
        let (job_id, lease_token) = (&job.id, &job.lease_token);
        let update = outcome.update(now);
        let request = &update.request;
        let mut tx = self.writer.begin().await?;
        for attempt in attempts {
            insert_attempt(&mut *tx, attempt).await?;
        }
        let held: Option<(String,)> = sqlx::query_as(
            "UPDATE jobs SET state = ?1, run_at = ?2, last_error = COALESCE(?3, last_error),
                 attempts = attempts - CASE WHEN ?4 THEN 0 ELSE 1 END,
                 lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = ?5
             WHERE id = ?6 AND lease_token = ?7 AND state = 'running'
             RETURNING request_id",
        )
        .bind(update.state.as_str())
        .bind(Time(update.run_at))
        .bind(update.error)
        .bind(update.counts_as_attempt)
        .bind(Time(now))
        .bind(job_id)
        .bind(lease_token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((request_id,)) = held else {
            tx.commit().await?;
            return Ok(false);
        };
        sqlx::query(
            "UPDATE itf_requests SET state = COALESCE(?1, state),
                 provider_itf_id = COALESCE(?2, provider_itf_id),
                 creation_date = COALESCE(?3, creation_date),
                 expiration_date = COALESCE(?4, expiration_date),
                 last_error = CASE WHEN ?5 THEN NULL ELSE COALESCE(?6, last_error) END,
                 updated_at = ?7
             WHERE id = ?8",
        )
        .bind(request.state.map(RequestState::as_str))
        .bind(request.itf.map(|itf| &itf.id))
        .bind(request.itf.map(|itf| provider_date(itf.creation_date)))
        .bind(request.itf.map(|itf| provider_date(itf.expiration_date)))
        .bind(request.clear_error)
        .bind(request.error)
        .bind(Time(now))
        .bind(&request_id)
        .execute(&mut *tx)
        .await?;
        record_confirmed(&mut tx, &request_id, request.itf, now).await?;
        if request.state.is_some() {
            owe_events(&mut tx, &request_id, now).await?;
        }
        if let Some(kind) = update.message {
            owe_message(&mut tx, kind, &request_id, now).await?;
        }
        if update.opens_needs_attention {
            set_alert_in(&mut tx, &Alert::needs_attention(&request_id), true, now).await?;
        }
        sqlx::query(
            "UPDATE job_totals SET jobs = jobs + 1 WHERE state = 'done' AND ?1 = 'done'
                 AND shard = ?2",
        )
        .bind(update.state.as_str())
        .bind(job_total_shard(&request_id))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn attempts(&self, request_id: &str) -> Result<Vec<Attempt>, StoreError> {
        sqlx::query_as::<_, AttemptRow<Time>>(
            "SELECT request_id, job_id, at, call, outcome, provider_status, latency_ms
             FROM attempts WHERE request_id = ?1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Attempt::try_from)
        .collect()
    }

    async fn job_count(&self, request_id: &str) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE request_id = ?1")
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
        record_of(&self.pool, &self.keys.blind(icn), itf_type.as_str()).await
    }

    async fn record_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        itf: &ConfirmedItf,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
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
            "INSERT INTO provider_records (icn, itf_type, none_seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (icn, itf_type) DO UPDATE SET none_seen_at = EXCLUDED.none_seen_at,
                 provider_itf_id = NULL, creation_date = NULL, expiration_date = NULL,
                 active_seen_at = NULL",
        )
        .bind(self.keys.blind(icn))
        .bind(itf_type.as_str())
        .bind(Time(seen_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(JOB_COUNTS_QUERY)
            .fetch_all(&self.pool)
            .await?;
        let (oldest,): (Option<Time>,) =
            sqlx::query_as("SELECT MIN(received_at) FROM itf_requests WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        JobCounts::from_rows(rows, oldest.map(Into::into))
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
        let row: Option<(String, bool)> = sqlx::query_as(&format!(
            "UPDATE provider_circuit SET
                 failures = CASE WHEN ?1 THEN failures + 1 ELSE 0 END,
                 state = CASE WHEN NOT ?1 THEN 'closed' WHEN state = 'probing' OR failures + 1 >= ?2 THEN 'open' ELSE state END,
                 changed_at = CASE WHEN (CASE WHEN NOT ?1 THEN 'closed' WHEN state = 'probing' OR failures + 1 >= ?2 THEN 'open' ELSE state END) <> state THEN {NOW} ELSE changed_at END,
                 last_answer_changed_state = ((CASE WHEN NOT ?1 THEN 'closed' WHEN state = 'probing' OR failures + 1 >= ?2 THEN 'open' ELSE state END) <> state),
                 opened_at = CASE WHEN NOT ?1 THEN NULL WHEN state = 'closed' AND failures + 1 >= ?2 THEN {NOW} ELSE opened_at END
             WHERE id = 1 AND NOT (state = 'closed' AND failures = 0 AND NOT ?1)
             RETURNING state, last_answer_changed_state"
        ))
        .bind(transient)
        .bind(i64::from(threshold))
        .fetch_optional(&self.writer)
        .await?;
        CircuitState::changed_to(row)
    }

    async fn make_deferred_jobs_due(&self) -> Result<u64, StoreError> {
        let woken = sqlx::query(&format!(
            "UPDATE jobs SET run_at = {NOW} WHERE state = 'queued' AND run_at > {NOW}"
        ))
        .execute(&self.writer)
        .await?;
        Ok(woken.rows_affected())
    }

    async fn take_probe(&self, cooldown: std::time::Duration) -> Result<bool, StoreError> {
        let taken = sqlx::query(&format!(
            "UPDATE provider_circuit SET state = 'probing', changed_at = {NOW}
             WHERE id = 1 AND state IN ('open', 'probing') AND changed_at <= strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', ?1)"
        ))
        .bind(seconds_ago(cooldown))
        .execute(&self.writer)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn take_budget(&self, claim: BudgetClaim) -> Result<BudgetAnswer, StoreError> {
        let (wait,): (Option<i64>,) = sqlx::query_as(&format!(
            "UPDATE provider_budget SET
                 tat_ms = CASE WHEN tat_ms - {NOW_MS} <= ?2 THEN MAX(tat_ms, {NOW_MS}) + ?1 ELSE tat_ms END,
                 last_wait_ms = CASE WHEN tat_ms - {NOW_MS} <= ?2 THEN NULL ELSE tat_ms - {NOW_MS} - ?2 END
             WHERE id = 1
             RETURNING last_wait_ms"
        ))
        .bind(millis(claim.interval))
        .bind(millis(claim.tolerance))
        .fetch_one(&self.writer)
        .await?;
        Ok(BudgetAnswer::from_wait(wait))
    }

    async fn hold_budget(&self, ahead: std::time::Duration) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "UPDATE provider_budget SET tat_ms = {NOW_MS} + ?1
             WHERE id = 1 AND tat_ms < {NOW_MS} + ?1"
        ))
        .bind(millis(ahead))
        .execute(&self.writer)
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
        let mut tx = self.writer.begin().await?;
        sqlx::query(&format!(
            "UPDATE outbox SET run_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', ?1), attempts = attempts + 1, claim_token = ?2
             WHERE reference IN (
                 SELECT reference FROM outbox
                 WHERE state = 'pending' AND run_at <= {DUE} AND (alert_key IS NOT NULL OR ?4)
                 ORDER BY run_at
                 LIMIT ?3)"
        ))
        .bind(seconds_from_now(lease))
        .bind(&token)
        .bind(i64::from(limit))
        .bind(with_messages)
        .execute(&mut *tx)
        .await?;
        let messages = sqlx::query_as::<_, OutboxRow<Time>>(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN itf_requests r ON r.id = o.request_id
             WHERE o.claim_token = ?1 AND o.state = 'pending' AND o.alert_key IS NULL
             ORDER BY o.created_at"
        ))
        .bind(&token)
        .fetch_all(&mut *tx)
        .await?;
        let alerts = sqlx::query_as::<_, AlertRow<Time>>(&format!(
            "SELECT {ALERT_COLUMNS} FROM outbox o JOIN alerts a ON a.dedup_key = o.alert_key
             WHERE o.claim_token = ?1 AND o.state = 'pending'
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
        let mut tx = self.writer.begin().await?;
        let finished: Option<(Option<String>, bool)> = sqlx::query_as(
            "UPDATE outbox SET state = ?1, run_at = ?2, last_error = COALESCE(?3, last_error),
                 sent_at = CASE WHEN ?1 = 'sent' THEN ?4 ELSE sent_at END
             WHERE reference = ?5 AND state = 'pending'
             RETURNING request_id, alert_key IS NULL",
        )
        .bind(state)
        .bind(Time(run_at))
        .bind(error)
        .bind(Time(now))
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
        let mut tx = self.writer.begin().await?;
        let new: Vec<(String,)> = sqlx::query_as(&format!(
            "UPDATE webhook_events SET fanned_out_at = {NOW}
             WHERE id IN (
                 SELECT id FROM webhook_events WHERE fanned_out_at IS NULL
                 ORDER BY created_at
                 LIMIT ?1)
             RETURNING id"
        ))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        for (event_id,) in &new {
            for endpoint in endpoints {
                sqlx::query(&format!(
                    "INSERT INTO webhook_deliveries (id, event_id, endpoint, state, attempts, run_at)
                     VALUES (?1, ?2, ?3, 'pending', 0, {NOW})
                     ON CONFLICT DO NOTHING"
                ))
                .bind(delivery_id(event_id, endpoint))
                .bind(event_id)
                .bind(endpoint)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(&format!(
            "UPDATE webhook_deliveries SET run_at = {}, attempts = attempts + 1, claim_token = ?2
             WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE state = 'pending' AND run_at <= {DUE}
                 ORDER BY run_at
                 LIMIT ?3)",
            later("?1")
        ))
        .bind(seconds_from_now(lease))
        .bind(&token)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query_as::<_, WebhookRow<Time>>(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_events e ON e.id = d.event_id
             JOIN itf_requests r ON r.id = e.request_id
             WHERE d.claim_token = ?1 AND d.state = 'pending'
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
            "UPDATE webhook_deliveries SET state = ?1, run_at = ?2,
                 last_error = COALESCE(?3, last_error),
                 sent_at = CASE WHEN ?1 = 'sent' THEN ?4 ELSE sent_at END
             WHERE id = ?5 AND state = 'pending'",
        )
        .bind(state)
        .bind(Time(run_at))
        .bind(error)
        .bind(Time(now))
        .bind(delivery_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn webhook_trouble(&self, limit: u32) -> Result<Vec<WebhookTrouble>, StoreError> {
        sqlx::query_as::<_, WebhookTroubleRow<Time>>(&format!(
            "SELECT {WEBHOOK_TROUBLE_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_events e ON e.id = d.event_id
             WHERE d.state <> 'sent' AND d.last_error IS NOT NULL
             ORDER BY e.created_at, d.id
             LIMIT ?1"
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
        let owed = sqlx::query(&format!(
            "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at, created_at)
             SELECT id || ?1, ?2, id, 'pending', 0, {NOW}, ?3 FROM itf_requests
             WHERE state = 'pending' AND shown_pending AND received_at < ?4
             ON CONFLICT (reference) DO NOTHING"
        ))
        .bind(kind.reference(""))
        .bind(kind.as_str())
        .bind(Time(now))
        .bind(Time(received_before))
        .execute(&self.writer)
        .await?;
        Ok(owed.rows_affected())
    }

    async fn record_delivery_status(
        &self,
        reference: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let recorded: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE outbox SET delivery_status = ?1, delivery_status_at = ?2
             WHERE reference = ?3 AND alert_key IS NULL
             RETURNING request_id",
        )
        .bind(status)
        .bind(Time(at))
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&entry.reference)
        .bind(entry.kind.as_str())
        .bind(&entry.request_id)
        .bind(&entry.subject)
        .bind(&entry.body)
        .bind(Time(entry.delivered_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn mailbox(&self) -> Result<Vec<MailboxEntry>, StoreError> {
        let rows = sqlx::query_as::<_, MailboxRow<Time>>(
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
        let mut tx = self.writer.begin().await?;
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
        let mut tx = self.writer.begin().await?;
        for channel in channels {
            sqlx::query(&format!(
                "INSERT INTO outbox (reference, kind, request_id, state, attempts, run_at,
                     created_at, alert_key, alert_action, alert_channel, summary)
                 SELECT reference || ':' || ?2, kind, request_id, 'pending', 0, {NOW},
                     created_at, alert_key, alert_action, ?2, summary
                 FROM outbox WHERE reference = ?1
                 ON CONFLICT (reference) DO NOTHING"
            ))
            .bind(reference)
            .bind(channel.as_str())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = ?2 WHERE reference = ?1 AND state = 'pending'",
        )
        .bind(reference)
        .bind(Time(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_alert(&self, alert: &ListedAlert) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dev_alerts (reference, dedup_key, condition, action, request_id, summary,
                 delivered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&alert.change.reference)
        .bind(&alert.change.dedup_key)
        .bind(alert.change.condition.as_str())
        .bind(alert.change.action.as_str())
        .bind(&alert.change.request_id)
        .bind(&alert.change.summary)
        .bind(Time(alert.delivered_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn listed_alerts(&self) -> Result<Vec<ListedAlert>, StoreError> {
        let rows = sqlx::query_as::<_, ListedAlertRow<Time>>(
            "SELECT reference, dedup_key, condition, action, request_id, summary, delivered_at
             FROM dev_alerts ORDER BY delivered_at, reference",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ListedAlert::try_from).collect()
    }

    async fn oldest_pending(&self) -> Result<Option<OldestPending>, StoreError> {
        let row: Option<(String, Time, i64)> = sqlx::query_as(
            "SELECT id, received_at, (SELECT COUNT(*) FROM itf_requests WHERE state = 'pending')
             FROM itf_requests WHERE state = 'pending'
             ORDER BY received_at, id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        oldest_pending(row)
    }

    async fn circuit_open_since(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (since,): (Option<Time>,) = sqlx::query_as(
            "SELECT CASE WHEN state = 'closed' THEN NULL ELSE opened_at END
             FROM provider_circuit WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(since.map(DateTime::from))
    }

    async fn repair(
        &self,
        request_id: &str,
        repair: Repair<'_>,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<Repaired, StoreError> {
        // The one writer connection orders this against every other write.
        let mut tx = self.writer.begin().await?;
        let Some(before) = request_by_id(&mut *tx, &self.keys, request_id).await? else {
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6)",
        )
        .bind(token.as_bytes())
        .bind(&session.operator.id)
        .bind(session.operator.role.as_str())
        .bind(Time(session.created_at))
        .bind(Time(session.expires_at))
        .bind(session.signed_in_with.as_str())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<OperatorSession>, StoreError> {
        sqlx::query_as::<_, OperatorSessionRow<Time>>(
            "SELECT operator_id, role, created_at, expires_at,
                 COALESCE(last_seen_at, created_at) AS last_seen_at, signed_in_with
             FROM operator_sessions
             WHERE token_hash = ?1 AND expires_at > ?2",
        )
        .bind(token.as_bytes())
        .bind(Time(now))
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
            "DELETE FROM operator_sessions WHERE token_hash = ?1 RETURNING signed_in_with",
        )
        .bind(token.as_bytes())
        .fetch_optional(&self.writer)
        .await?;
        ended.as_deref().map(SignInMethod::parse).transpose()
    }

    async fn audit(&self, entry: &NewAuditEntry) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_trail(&self, request_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as::<_, AuditRow<Time>>(
            "SELECT id, at, operator, role, action, request_id, reason, before, after
             FROM audit_log WHERE request_id = ?1 ORDER BY id",
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
        let rows = sqlx::query_as::<_, AuditRow<Time>>(
            "SELECT id, at, operator, role, action, request_id, reason, before, after
             FROM audit_log WHERE ?2 IS NULL OR action = ?2 ORDER BY id DESC LIMIT ?1",
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
        let rows = sqlx::query_as::<_, RequestRow<Time>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests
             WHERE state = ?1 AND received_at >= ?2 AND received_at < ?3
             ORDER BY received_at, id LIMIT ?4"
        ))
        .bind(state.as_str())
        .bind(Time(from))
        .bind(Time(until))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| row.open(&self.keys)).collect()
    }

    async fn requests_of(&self, icn: &Icn) -> Result<Vec<ItfRequest>, StoreError> {
        let rows = sqlx::query_as::<_, RequestRow<Time>>(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE icn = ?1
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
            "SELECT outcome, COUNT(*) FROM attempts WHERE at >= ?1 AND at < ?2
             GROUP BY outcome ORDER BY outcome",
        )
        .bind(Time(from))
        .bind(Time(until))
        .fetch_all(&self.pool)
        .await?;
        counted(rows, AttemptOutcome::parse)
    }

    async fn reseal(&self, limit: u32) -> Result<u64, StoreError> {
        let current = format!("v1.{}.%", self.keys.current());
        let requests: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, icn_sealed, veteran_name FROM itf_requests
             WHERE icn_sealed NOT LIKE ?1 OR veteran_name NOT LIKE ?1 LIMIT ?2",
        )
        .bind(&current)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let sessions: Vec<(Vec<u8>, String, String)> = sqlx::query_as(
            "SELECT token_hash, icn_sealed, veteran_name FROM sessions
             WHERE icn_sealed NOT LIKE ?1 OR veteran_name NOT LIKE ?1 LIMIT ?2",
        )
        .bind(&current)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let reseal = |sealed: &str| {
            self.keys
                .open(sealed)
                .map(|plain| self.keys.seal(&plain))
                .map_err(|error| StoreError::Corrupt(error.to_string()))
        };
        let mut tx = self.writer.begin().await?;
        for (id, icn, name) in &requests {
            sqlx::query("UPDATE itf_requests SET icn_sealed = ?1, veteran_name = ?2 WHERE id = ?3")
                .bind(reseal(icn)?)
                .bind(reseal(name)?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (token, icn, name) in &sessions {
            sqlx::query(
                "UPDATE sessions SET icn_sealed = ?1, veteran_name = ?2 WHERE token_hash = ?3",
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
        let rows = sqlx::query_as::<_, MessageRecordRow<Time>>(
            "SELECT reference, kind, state, created_at, sent_at, delivery_status FROM outbox
             WHERE request_id = ?1 AND alert_key IS NULL ORDER BY created_at, reference",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(MessageRecord::try_from).collect()
    }
}
