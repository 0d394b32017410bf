use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;

use itf_app::domain::{Icn, ItfType};
use sqlx::sqlite::SqliteRow;

use super::model::{confirmed_from, ensure_itf_payload, itf_type_from};
use super::postgres::{call_from, outcome_name};
use super::{
    veteran_from_row, Attempt, ClaimedJob, ConfirmedItf, Intake, ItfRequest, JobCounts, JobOutcome,
    NewRequest, ProviderRecord, RequestState, Session, Store, StoreError, ACQUIRE_TIMEOUT,
};
use crate::session_token::SessionTokenHash;

const REQUEST_COLUMNS: &str = "id, user_id, icn, veteran_name, itf_type, state, received_at, \
     shown_pending, provider_said_none, provider_itf_id, creation_date, expiration_date, last_error";

fn request_from(row: &SqliteRow) -> Result<ItfRequest, StoreError> {
    let icn: String = row.try_get("icn")?;
    Ok(ItfRequest {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        icn: Icn::parse(&icn)
            .map_err(|_| StoreError::Corrupt("a request holds a malformed ICN".to_owned()))?,
        veteran_name: row.try_get("veteran_name")?,
        itf_type: itf_type_from(row.try_get("itf_type")?)?,
        state: RequestState::parse(row.try_get("state")?)?,
        received_at: decode_time(row.try_get("received_at")?)?,
        shown_pending: row.try_get("shown_pending")?,
        provider_said_none: row.try_get("provider_said_none")?,
        itf: confirmed_from(
            row.try_get("provider_itf_id")?,
            row.try_get("creation_date")?,
            row.try_get("expiration_date")?,
        )?,
        last_error: row.try_get("last_error")?,
    })
}

fn optional_time(text: Option<&str>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(decode_time).transpose()
}

/// The embedded store: one node, no set-up.
///
/// SQLite lets one connection write at a time; the others wait in its busy
/// handler, which sleeps in growing steps and makes for long tails. Writes
/// therefore go through a pool of one connection, where they queue in turn,
/// and reads through a pool of their own, which WAL lets run beside them.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Query)?
            .create_if_missing(true)
            // WAL with synchronous=FULL: a write we acknowledged survives a
            // power cut, and readers never block the writer.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            if dir != Path::new("") {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(e.into()))?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool, writer })
    }
}

/// Timestamps are stored as fixed-width RFC 3339 text in UTC, so that text
/// order is time order and SQL comparisons are correct.
fn encode_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn decode_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp {text:?} is not RFC 3339")))
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
            "INSERT INTO sessions (token_hash, user_id, veteran_name, icn, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token.as_bytes())
        .bind(&session.veteran.user_id)
        .bind(&session.veteran.name)
        .bind(session.veteran.icn.expose())
        .bind(encode_time(session.created_at))
        .bind(encode_time(session.expires_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, veteran_name, icn, created_at, expires_at
             FROM sessions WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token.as_bytes())
        .bind(encode_time(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Session {
                veteran: veteran_from_row(
                    row.try_get("user_id")?,
                    row.try_get("veteran_name")?,
                    row.try_get("icn")?,
                )?,
                created_at: decode_time(row.try_get("created_at")?)?,
                expires_at: decode_time(row.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, token: &SessionTokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token.as_bytes())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(encode_time(now))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn intake(&self, new: &NewRequest<'_>) -> Result<Intake, StoreError> {
        // IMMEDIATE takes the write lock first, so the look at our record
        // and the insert are one step for every other writer.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let record = sqlx::query(
            "SELECT provider_itf_id, creation_date, expiration_date, active_seen_at
             FROM provider_records WHERE icn = ?1 AND itf_type = ?2",
        )
        .bind(new.veteran.icn.expose())
        .bind(new.itf_type.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = record {
            let itf = confirmed_from(
                row.try_get("provider_itf_id")?,
                row.try_get("creation_date")?,
                row.try_get("expiration_date")?,
            )?;
            if let Some(itf) = itf.filter(|itf| itf.is_unexpired(new.received_at)) {
                let seen_at = optional_time(row.try_get("active_seen_at")?)?;
                tx.commit().await?;
                return Ok(Intake::Active { itf, seen_at });
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let inserted = sqlx::query(
            "INSERT INTO itf_requests (id, user_id, icn, veteran_name, itf_type, state, received_at,
                 shown_pending, provider_said_none, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?6, ?6)
             ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(&new.veteran.user_id)
        .bind(new.veteran.icn.expose())
        .bind(&new.veteran.name)
        .bind(new.itf_type.as_str())
        .bind(encode_time(new.received_at))
        .bind(new.shown_pending)
        .bind(new.provider_said_none)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query(
                "INSERT INTO jobs (id, kind, request_id, payload, state, run_at, received_at,
                     created_at, updated_at)
                 VALUES (?1, 'ensure_itf', ?2, ?3, 'queued', ?4, ?4, ?4, ?4)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&id)
            .bind(ensure_itf_payload(&id))
            .bind(encode_time(new.received_at))
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests
             WHERE icn = ?1 AND itf_type = ?2 AND state IN ('pending', 'needs_attention')"
        ))
        .bind(new.veteran.icn.expose())
        .bind(new.itf_type.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Intake::Open {
            request: request_from(&row)?,
            created: inserted,
        })
    }

    async fn request(&self, id: &str) -> Result<Option<ItfRequest>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| request_from(&row))
        .transpose()
    }

    async fn latest_request(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ItfRequest>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE icn = ?1 AND itf_type = ?2
             ORDER BY received_at DESC LIMIT 1"
        ))
        .bind(icn.expose())
        .bind(itf_type.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| request_from(&row))
        .transpose()
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        let expires = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let mut tx = self.writer.begin().await?;
        let claimed = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1,
                 taken_over = (state = 'running'), lease_owner = ?1, lease_token = ?2,
                 lease_expires_at = ?3, updated_at = ?4
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_at <= ?4)
                    OR (state = 'running' AND lease_expires_at < ?4)
                 ORDER BY received_at
                 LIMIT ?5)
             RETURNING id, request_id, attempts, taken_over",
        )
        .bind(owner)
        .bind(&token)
        .bind(encode_time(expires))
        .bind(encode_time(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut jobs = Vec::with_capacity(claimed.len());
        for row in claimed {
            let request_id: String = row.try_get("request_id")?;
            let request = sqlx::query(&format!(
                "SELECT {REQUEST_COLUMNS} FROM itf_requests WHERE id = ?1"
            ))
            .bind(&request_id)
            .fetch_one(&mut *tx)
            .await?;
            jobs.push(ClaimedJob {
                id: row.try_get("id")?,
                request: request_from(&request)?,
                attempts: row.try_get::<i64, _>("attempts")?.unsigned_abs() as u32,
                taken_over: row.try_get("taken_over")?,
                lease_token: token.clone(),
            });
        }
        tx.commit().await?;
        jobs.sort_by_key(|job| job.request.received_at);
        Ok(jobs)
    }

    async fn finish_job(
        &self,
        job_id: &str,
        lease_token: &str,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let (state, run_at, error, uncount) = match outcome {
            JobOutcome::Confirmed(_) => ("done", now, None, false),
            JobOutcome::NeedsAttention { error } => ("stopped", now, Some(error.as_str()), false),
            JobOutcome::Retry { run_at, error } => ("queued", *run_at, Some(error.as_str()), false),
            JobOutcome::Release { run_at } => ("queued", *run_at, None, true),
        };
        let held = sqlx::query(
            "UPDATE jobs SET state = ?1, run_at = ?2, last_error = COALESCE(?3, last_error),
                 attempts = attempts - CASE WHEN ?4 THEN 1 ELSE 0 END,
                 lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = ?5
             WHERE id = ?6 AND lease_token = ?7 AND state = 'running'
             RETURNING request_id",
        )
        .bind(state)
        .bind(encode_time(run_at))
        .bind(error)
        .bind(uncount)
        .bind(encode_time(now))
        .bind(job_id)
        .bind(lease_token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = held else {
            return Ok(false);
        };
        let request_id: String = row.try_get("request_id")?;
        match outcome {
            JobOutcome::Confirmed(itf) => {
                let request = sqlx::query(
                    "UPDATE itf_requests SET state = 'active', provider_itf_id = ?1,
                         creation_date = ?2, expiration_date = ?3, last_error = NULL, updated_at = ?4
                     WHERE id = ?5 RETURNING icn, itf_type",
                )
                .bind(&itf.id)
                .bind(itf.creation_date.to_rfc3339())
                .bind(itf.expiration_date.to_rfc3339())
                .bind(encode_time(now))
                .bind(&request_id)
                .fetch_one(&mut *tx)
                .await?;
                upsert_active(
                    &mut tx,
                    request.try_get("icn")?,
                    request.try_get("itf_type")?,
                    itf,
                    now,
                )
                .await?;
            }
            JobOutcome::NeedsAttention { error } => {
                sqlx::query(
                    "UPDATE itf_requests SET state = 'needs_attention', last_error = ?1,
                         updated_at = ?2 WHERE id = ?3",
                )
                .bind(error)
                .bind(encode_time(now))
                .bind(&request_id)
                .execute(&mut *tx)
                .await?;
            }
            JobOutcome::Retry { error, .. } => {
                sqlx::query(
                    "UPDATE itf_requests SET last_error = ?1, updated_at = ?2 WHERE id = ?3",
                )
                .bind(error)
                .bind(encode_time(now))
                .bind(&request_id)
                .execute(&mut *tx)
                .await?;
            }
            JobOutcome::Release { .. } => {}
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn record_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO attempts (request_id, job_id, at, call, outcome, provider_status, latency_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&attempt.request_id)
        .bind(&attempt.job_id)
        .bind(encode_time(attempt.at))
        .bind(attempt.call.as_str())
        .bind(attempt.outcome)
        .bind(attempt.provider_status.map(i64::from))
        .bind(i64::try_from(attempt.latency.as_millis()).unwrap_or(i64::MAX))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn attempts(&self, request_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT request_id, job_id, at, call, outcome, provider_status, latency_ms
             FROM attempts WHERE request_id = ?1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Attempt {
                    request_id: row.try_get("request_id")?,
                    job_id: row.try_get("job_id")?,
                    at: decode_time(row.try_get("at")?)?,
                    call: call_from(row.try_get("call")?)?,
                    outcome: outcome_name(row.try_get("outcome")?)?,
                    provider_status: row
                        .try_get::<Option<i64>, _>("provider_status")?
                        .and_then(|s| u16::try_from(s).ok()),
                    latency: std::time::Duration::from_millis(
                        row.try_get::<i64, _>("latency_ms")?.unsigned_abs(),
                    ),
                })
            })
            .collect()
    }

    async fn job_count(&self, request_id: &str) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE request_id = ?1")
            .bind(request_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(count.unsigned_abs())
    }

    async fn provider_record(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ProviderRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT provider_itf_id, creation_date, expiration_date, active_seen_at, none_seen_at
             FROM provider_records WHERE icn = ?1 AND itf_type = ?2",
        )
        .bind(icn.expose())
        .bind(itf_type.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ProviderRecord {
                itf: confirmed_from(
                    row.try_get("provider_itf_id")?,
                    row.try_get("creation_date")?,
                    row.try_get("expiration_date")?,
                )?,
                active_seen_at: optional_time(row.try_get("active_seen_at")?)?,
                none_seen_at: optional_time(row.try_get("none_seen_at")?)?,
            })
        })
        .transpose()
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
            icn.expose().to_owned(),
            itf_type.as_str().to_owned(),
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
        .bind(icn.expose())
        .bind(itf_type.as_str())
        .bind(encode_time(seen_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = JobCounts::default();
        for row in rows {
            let n = row.try_get::<i64, _>("n")?.unsigned_abs();
            match row.try_get::<&str, _>("state")? {
                "queued" => counts.queued = n,
                "running" => counts.running = n,
                "done" => counts.done = n,
                _ => counts.stopped = n,
            }
        }
        let (oldest,): (Option<String>,) =
            sqlx::query_as("SELECT MIN(received_at) FROM itf_requests WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        counts.oldest_pending_received_at = optional_time(oldest.as_deref())?;
        Ok(counts)
    }
}

async fn upsert_active(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    icn: String,
    itf_type: String,
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
    .bind(itf.creation_date.to_rfc3339())
    .bind(itf.expiration_date.to_rfc3339())
    .bind(encode_time(seen_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
