//! A database of its own on the PostgreSQL server the tests use, for a
//! benchmark that measures against that server rather than a throwaway
//! cluster.

use sqlx::Connection;

/// `ITF_TEST_POSTGRES_URL`, by default the local server's `postgres`
/// database, through which databases are made and dropped.
fn admin_url() -> String {
    std::env::var("ITF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub struct Database {
    pub url: String,
    name: String,
    admin: sqlx::PgConnection,
}

impl Database {
    /// A new, empty database named after `label`, this process and the time.
    pub async fn create(label: &str) -> Self {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("itf_bench_{label}_{}_{stamp}", std::process::id());
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL answers at ITF_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("may create databases");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Self {
            url: format!("{base}/{name}"),
            name,
            admin: conn,
        }
    }

    /// Drops the database, whoever is still connected to it.
    pub async fn drop_now(mut self) {
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut self.admin)
        .await;
    }
}
