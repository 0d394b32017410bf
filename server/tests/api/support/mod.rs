//! Shared by the integration tests: fresh databases, the app spawned on port
//! 0 with a typed configuration, and throwaway PostgreSQL clusters.

pub mod cluster;
pub mod process;
pub mod provider;
pub mod receiver;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use std::time::Duration;

use itf_server::config::{Config, DatabaseUrl, LighthouseSettings, Profile, Provider, Role};
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
        Self::store_at(&self.url()).await
    }

    /// A migrated store on the database at `url`, with the keys the test
    /// apps use.
    pub async fn store_at(url: &str) -> Arc<dyn Store> {
        let config = TestConfig::on(url).build();
        let keys =
            itf_server::sealing::load(&config.keys, &config.data_dir).expect("the keys load");
        let store = store::open(
            &config.database,
            Arc::new(store::AlwaysOpen),
            Arc::new(keys),
        )
        .expect("the store opens");
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
    itf_server::development::DevelopmentKey::load_or_create(data_dir()).expect("the key is made");
    data_dir()
        .join("lighthouse-simulator-key.pem")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// A failure count no test reaches: the circuit never opens.
pub const CIRCUIT_OFF: u32 = 1_000_000;

/// A provider budget no test spends: the budget stays out of the way unless
/// a test sets one.
pub const QUOTA_OFF: u32 = itf_server::config::MAX_QUOTA_PER_MINUTE;

/// A typed test configuration: the embedded defaults on a database of the
/// test's own, listening on a free port, with what a test changes named by
/// method, so that a misspelt setting does not compile.
pub struct TestConfig(Config);

impl TestConfig {
    pub fn on(database_url: &str) -> Self {
        let mut config = Config::from_lookup(|_| None).expect("the embedded defaults are valid");
        config.database = DatabaseUrl::parse(database_url).expect("a database URL");
        config.site.addr = "127.0.0.1:0".parse().expect("an address");
        config.data_dir = data_dir().to_path_buf();
        // Tests drive the provider down and up and expect completion in
        // seconds: the circuit stays out of their way unless a test sets it.
        config.provider.circuit.failures = CIRCUIT_OFF;
        Self(config).quota_per_minute(QUOTA_OFF)
    }

    /// The provider's quota a minute, shared by the instances on the database.
    pub fn quota_per_minute(mut self, quota: u32) -> Self {
        if let Some(budget) = self.0.provider.budget.as_mut() {
            budget.quota_per_minute = quota;
        }
        self
    }

    /// The longest wait between two attempts.
    pub fn retry_max_delay(mut self, delay: Duration) -> Self {
        self.0.worker.retry_max_delay = delay;
        self
    }

    /// The keys personal data is sealed with: the data-keys file (the last
    /// key current) and the blind-index key's file.
    pub fn keys(mut self, data_keys: &Path, blind_index: &Path) -> Self {
        self.0.keys.data_keys_file = Some(data_keys.to_owned());
        self.0.keys.blind_index_key_file = Some(blind_index.to_owned());
        self
    }

    /// How long a session may go unused.
    pub fn session_idle(mut self, idle: Duration) -> Self {
        self.0.site.sessions.idle = idle;
        self
    }

    /// How often requests that need attention are asked about again.
    pub fn recheck_every(mut self, every: Duration) -> Self {
        self.0.worker.recheck_every = every;
        self
    }

    /// How long a look-up waits for the provider.
    pub fn lookup_budget(mut self, budget: Duration) -> Self {
        self.0.site.lookup_budget = budget;
        self
    }

    /// How long one provider call may take.
    pub fn provider_timeout(mut self, timeout: Duration) -> Self {
        self.0.provider.timeouts.total = timeout;
        self
    }

    /// A standalone simulator at `base_url` instead of the in-process one.
    pub fn standalone_simulator(mut self, base_url: &str) -> Self {
        self.0.provider.provider = Provider::Simulator {
            base_url: Some(base_url.to_owned()),
        };
        self
    }

    /// Messages to VA Notify at `notify` instead of the mailbox.
    pub fn va_notify(mut self, notify: itf_server::config::NotifySettings) -> Self {
        self.0.notify = Some(notify);
        self
    }

    /// The provider's circuit: opened by `failures` in a row, probed after
    /// `cooldown`.
    pub fn circuit(mut self, failures: u32, cooldown: Duration) -> Self {
        self.0.provider.circuit.failures = failures;
        self.0.provider.circuit.cooldown = cooldown;
        self
    }

    /// Alerts to Slack and PagerDuty, and the conditions' thresholds.
    pub fn alerts(mut self, alerts: itf_server::config::AlertSettings) -> Self {
        self.0.alerts = alerts;
        self
    }

    pub fn role(mut self, role: Role) -> Self {
        self.0.role = role;
        self
    }

    pub fn application_url(mut self, url: &str) -> Self {
        self.0.site.application_url = Some(url.to_owned());
        self
    }

    /// Service credentials: each `(name, token)` is configured by the
    /// token's SHA-256, as operators configure it.
    pub fn service_tokens(mut self, tokens: &[(&str, &str)]) -> Self {
        use sha2::Digest;
        self.0.service.tokens = tokens
            .iter()
            .map(|(name, token)| {
                (
                    (*name).to_owned(),
                    sha2::Sha256::digest(token.as_bytes()).into(),
                )
            })
            .collect();
        self
    }

    /// Veterans sign in at the OpenID provider `issuer`, with the client
    /// `itf-veterans` and no secret.
    pub fn veteran_sign_in(mut self, issuer: &str) -> Self {
        let public = format!("http://{}", self.0.site.addr);
        self.0.sign_in.public_url = Some(public);
        self.0.sign_in.veteran = Some(itf_server::config::VeteranSignIn {
            client: itf_server::config::OpenIdClientSettings {
                issuer: issuer.to_owned(),
                client_id: "itf-veterans".to_owned(),
                client_secret_file: None,
                scopes: vec!["openid".to_owned(), "profile".to_owned()],
            },
            icn_claim: "icn".to_owned(),
            first_name_claim: "given_name".to_owned(),
        });
        self
    }

    /// Other origins whose pages may call with the veteran's session.
    pub fn allowed_origins(mut self, origins: &[&str]) -> Self {
        self.0.site.allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
        self
    }

    /// Events to the endpoints of the file at `file`, retried at most
    /// `retry_max_delay` apart.
    pub fn webhooks(mut self, file: &Path, retry_max_delay: Duration) -> Self {
        self.0.webhooks.file = Some(file.to_owned());
        self.0.webhooks.retry_max_delay = retry_max_delay;
        self
    }

    /// Production, against a real provider's address (never called).
    pub fn production(mut self) -> Self {
        self.0.profile = Profile::Production;
        self.0.provider.provider = Provider::Lighthouse(LighthouseSettings {
            base_url: "https://sandbox-api.va.gov".to_owned(),
            token_url: "https://sandbox-api.va.gov/oauth2/claims/system/v1/token".to_owned(),
            client_id: "itf-async".to_owned(),
            audience: "https://deptva-eval.okta.com/oauth2/token".to_owned(),
            key_file: key_file().into(),
            key_id: None,
        });
        self
    }

    pub fn build(self) -> Config {
        self.0
    }
}

/// The real app, serving on its own port until dropped.
pub struct TestApp {
    pub address: SocketAddr,
    /// Keeps cookies, follows no redirects: what a browser would be sent.
    pub client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    /// Asks the app to shut down as it would on SIGTERM.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    pub async fn spawn(config: TestConfig) -> Self {
        let config = config.build();
        let app = Application::build(config).await.expect("the app starts");
        let address = app.local_addr();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run(async move {
                let _ = stopped.await;
            })
            .await
            .expect("the app serves");
        });
        Self {
            address,
            client: client(),
            server,
            shutdown: Some(shutdown),
        }
    }

    /// Shuts the app down as SIGTERM does, its worker included, and waits
    /// until it has: nothing of it runs on.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = server.await;
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

    /// A browser of its own, signed in as `user`.
    pub async fn veteran(&self, user: &str) -> reqwest::Client {
        self.signed_in("/sign-in/mock", user).await
    }

    /// A browser of its own, signed in to the console as the test operator
    /// `id` (`ops-viewer`, `ops-operator` or `ops-admin`).
    pub async fn operator(&self, id: &str) -> reqwest::Client {
        self.signed_in("/console/sign-in/mock", id).await
    }

    async fn signed_in(&self, path: &str, user: &str) -> reqwest::Client {
        let browser = client();
        let response = browser
            .post(self.url(path))
            .form(&[("user", user)])
            .send()
            .await
            .expect("the app answers");
        assert_eq!(
            response.status(),
            reqwest::StatusCode::SEE_OTHER,
            "{path} as {user}"
        );
        browser
    }

    /// Signs `user` in and asks for a compensation ITF, which must be
    /// queued (202); returns the request id.
    pub async fn request_compensation(&self, user: &str) -> String {
        let vet = self.veteran(user).await;
        let answer = vet
            .post(self.url("/v0/intent_to_file/compensation"))
            .send()
            .await
            .expect("the app answers");
        assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED, "{user}");
        let body: serde_json::Value = answer.json().await.expect("a JSON answer");
        body["data"]["attributes"]["intent_to_file"]["request_id"]
            .as_str()
            .expect("a request id")
            .to_owned()
    }

    /// Asks the review page's outage switch to make our database look
    /// down (mounted only in development).
    pub async fn take_database_down(&self) -> reqwest::Response {
        self.client
            .post(self.url("/review/outage"))
            .form(&[("down", "true")])
            .send()
            .await
            .expect("the app answers")
    }

    /// Sets the in-process simulator's mode.
    pub async fn set_mode(&self, mode: serde_json::Value) {
        let response = self
            .client
            .put(self.url("/_sim/lighthouse/mode"))
            .json(&mode)
            .send()
            .await
            .expect("the app answers");
        assert!(response.status().is_success(), "mode {mode} refused");
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

/// Waits until a signed-in veteran's look-up at `base` shows their ITF
/// active, for at most `limit`.
pub async fn until_active(veteran: &reqwest::Client, base: &str, limit: Duration) {
    let started = std::time::Instant::now();
    loop {
        let listed: serde_json::Value = veteran
            .get(format!("{base}/v0/intent_to_file"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if listed["data"]["attributes"]["intent_to_file"][0]["status"] == "active" {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "not active within {limit:?}: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs each case, an `async fn(Arc<dyn Store>)`, against SQLite and
/// against PostgreSQL, each on a fresh database.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::support::TestDb::sqlite();
                    super::$case(db.store().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::support::TestDb::postgres().await;
                    super::$case(db.store().await).await;
                }
            )*
        }
    };
}
pub(crate) use conformance;
