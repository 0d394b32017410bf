//! Shared by the integration tests: fresh databases, the app spawned on port
//! 0, and throwaway PostgreSQL clusters.
#![allow(dead_code)] // each test binary uses a different part of this

pub mod cluster;
pub mod provider;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use itf_server::config::Config;
use itf_server::store::{self, Store};
use itf_server::Application;
use sqlx::Connection;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("ITF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own for one test, removed when dropped.
pub enum TestDb {
    Sqlite { dir: tempfile::TempDir },
    Postgres { name: String },
}

impl TestDb {
    pub fn sqlite() -> Self {
        Self::Sqlite {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub async fn postgres() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "itf_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .expect("PostgreSQL runs at ITF_TEST_POSTGRES_URL (default 127.0.0.1:5432)");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("the test user may create databases");
        Self::Postgres { name }
    }

    pub fn url(&self) -> String {
        match self {
            Self::Sqlite { dir } => format!("sqlite://{}/itf-async.db", dir.path().display()),
            Self::Postgres { name } => {
                let admin = postgres_admin_url();
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(base, _)| base);
                format!("{base}/{name}")
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Arc<dyn Store> {
        let config = config_for(&self.url(), &[]);
        let store = store::open(&config.database).expect("the store opens");
        store.migrate().await.expect("migrations run");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Self::Postgres { name } = self else {
            return;
        };
        let name = name.clone();
        // Drop runs outside any async context we could borrow, so the
        // database is removed from a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await;
                    }
                });
        })
        .join();
    }
}

/// One data folder per test process, so the development key is made once.
pub fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
        .path()
}

/// The development key's file, as `LIGHTHOUSE_KEY_FILE` would name it.
pub fn key_file() -> String {
    itf_server::simulator::DevelopmentKey::load_or_create(data_dir()).expect("the key is made");
    data_dir()
        .join("lighthouse-simulator-key.pem")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// A development configuration on `database_url`, listening on a free port,
/// with `extra` settings on top.
pub fn config_for(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("LEPTOS_SITE_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "ITF_DATA_DIR".to_owned(),
            data_dir().to_str().expect("a UTF-8 path").to_owned(),
        ),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration is valid")
}

/// The real app, serving on its own port until dropped.
pub struct TestApp {
    pub address: SocketAddr,
    /// Keeps cookies, follows no redirects: what a browser would be sent.
    pub client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(config: Config) -> Self {
        let app = Application::build(config).await.expect("the app starts");
        let address = app.local_addr();
        let server = tokio::spawn(async move {
            app.run(std::future::pending())
                .await
                .expect("the app serves");
        });
        Self {
            address,
            client: client(),
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the app answers")
    }

    pub async fn sign_in(&self, user: &str) -> reqwest::Response {
        self.client
            .post(self.url("/sign-in/mock"))
            .form(&[("user", user)])
            .send()
            .await
            .expect("the app answers")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("an HTTP client")
}
