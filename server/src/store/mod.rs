//! Durable storage, behind one trait with a PostgreSQL and a SQLite
//! implementation. Both pass the same conformance suite
//! (`tests/store_conformance.rs`).

mod postgres;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use itf_app::domain::Veteran;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::config::DatabaseUrl;
use crate::session_token::SessionTokenHash;

/// How long a request path waits for a database connection before it gives
/// up, so that a dead database gives a quick, clear error.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
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
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(ref db)
                // PostgreSQL's "cannot connect now" and "admin shutdown"
                // classes: the server is starting or stopping.
                if db.code().is_some_and(|code| code.starts_with("57P")) =>
            {
                Self::Unavailable(error)
            }
            other => Self::Query(other),
        }
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A signed-in veteran's session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub veteran: Veteran,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
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

    async fn delete_session(&self, token: &SessionTokenHash) -> Result<(), StoreError>;

    /// Removes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Opens the store `DATABASE_URL` names. Connections are made lazily, so
/// that an instance starts, and answers `/readyz` with 503, while its
/// database is down.
pub fn open(url: &DatabaseUrl) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match url {
        DatabaseUrl::Postgres(url) => Arc::new(PostgresStore::open(url)?),
        DatabaseUrl::Sqlite(url) => Arc::new(SqliteStore::open(url)?),
    })
}

fn veteran_from_row(user_id: String, name: String, icn: &str) -> Result<Veteran, StoreError> {
    let icn = itf_app::domain::Icn::parse(icn)
        .map_err(|_| StoreError::Corrupt("a session holds a malformed ICN".to_owned()))?;
    Ok(Veteran { user_id, name, icn })
}
