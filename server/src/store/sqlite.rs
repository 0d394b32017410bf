use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;

use super::{veteran_from_row, Session, Store, StoreError, ACQUIRE_TIMEOUT};
use crate::session_token::SessionTokenHash;

/// The embedded store: one node, no set-up.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool })
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
            .run(&self.pool)
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
        .execute(&self.pool)
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
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(encode_time(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
