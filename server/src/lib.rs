//! The itf-async service: configuration, store, web and (later) the worker
//! and the provider client. `main.rs` is only the command line around it.

pub mod config;
pub mod intake;
pub mod metrics;
pub mod provider;
pub mod session_token;
pub mod simulator;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod worker;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use leptos::config::Env;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use config::{Config, DatabaseUrl, Profile, SIMULATOR_ROOT};
use intake::IntakeService;
use provider::LighthouseClient;
use simulator::{DevelopmentKey, Simulator};
use store::{Store, StoreError};
use web::AppState;
use worker::{Worker, WorkerSettings};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] simulator::KeyError),
    #[error("cannot set up the provider client: {0}")]
    Client(#[from] provider::ClientError),
    #[error(
        "cannot listen on {addr}: {source}; choose another LEPTOS_SITE_ADDR or stop what uses it"
    )]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("the web server stopped: {0}")]
    Serve(io::Error),
}

/// A configured instance, bound to its address and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    worker: Option<Arc<Worker>>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = store::open(&config.database)?;
        // Review mode can make our database look down, to show `unavailable`.
        let outage = config
            .development_surfaces()
            .then(|| Arc::new(std::sync::atomic::AtomicBool::new(false)));
        let store: Arc<dyn Store> = match &outage {
            Some(down) => Arc::new(store::OutageSwitch::new(store, down.clone())),
            None => store,
        };
        let listener = TcpListener::bind(config.site_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.site_addr,
                source,
            })?;
        let leptos_options =
            leptos_options(&config, listener.local_addr().map_err(StartError::Serve)?);
        let postgres = matches!(config.database, DatabaseUrl::Postgres(_));
        let simulator = if config.in_process_simulator() {
            let key = DevelopmentKey::load_or_create(&config.data_dir)?;
            Some(Arc::new(Simulator::new(
                &key,
                simulator::DEFAULT_QUOTA_PER_MINUTE,
            )?))
        } else {
            None
        };
        let client = Arc::new(LighthouseClient::new(
            &config.client_settings(address_of(&listener))?,
        )?);
        let wake = Arc::new(Notify::new());
        let intake = config.role.serves_pages().then(|| {
            Arc::new(IntakeService::new(
                store.clone(),
                client.clone(),
                config.lookup_budget,
                wake.clone(),
            ))
        });
        if let (DatabaseUrl::Postgres(url), true) = (&config.database, config.role.runs_worker()) {
            // Intakes on other instances wake this one's worker too.
            tokio::spawn(store::forward_job_notifications(url.clone(), wake.clone()));
        }
        let worker = config.role.runs_worker().then(|| {
            Arc::new(Worker::new(
                store.clone(),
                client,
                WorkerSettings {
                    concurrency: config.worker_concurrency,
                    retry_max_delay: config.retry_max_delay,
                    // A turn is at most a GET and a POST, each bounded by the
                    // provider timeout (twice, with one token refresh).
                    lease: config.provider_timeouts.total * 4 + Duration::from_secs(10),
                    poll: Duration::from_secs(1),
                },
                wake,
            ))
        });
        let state = AppState::new(config, store, leptos_options, simulator, intake, outage);
        prepare_schema(&state, postgres).await?;
        Ok(Self {
            listener,
            state,
            worker,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        address_of(&self.listener)
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        tokio::spawn(web::sweep_expired_sessions(self.state.clone()));
        let (stop, stopped) = watch::channel(false);
        let worker = self.worker.map(|worker| tokio::spawn(worker.run(stopped)));
        let served = serve(self.listener, web::router(self.state), async move {
            shutdown.await;
            // Stop claiming at once; turns under way finish below.
            let _ = stop.send(true);
        })
        .await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}

fn leptos_options(config: &Config, site_addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("itf-async")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(site_addr)
        .env(match config.profile {
            Profile::Development => Env::DEV,
            Profile::Production => Env::PROD,
        })
        .build()
}

/// Migrates the schema. A PostgreSQL that is down at start-up does not stop
/// the instance: it keeps trying in the background and reports "not ready"
/// until it gets through.
async fn prepare_schema(state: &AppState, postgres: bool) -> Result<(), StartError> {
    match state.store.migrate().await {
        Ok(()) => {
            state.mark_schema_ready();
            Ok(())
        }
        Err(error) if postgres && error.is_unavailable() => {
            tracing::warn!(%error, "database unreachable at start-up; retrying in the background");
            tokio::spawn(migrate_when_reachable(state.clone()));
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn migrate_when_reachable(state: AppState) {
    let mut delay = Duration::from_secs(1);
    loop {
        tokio::time::sleep(delay).await;
        match state.store.migrate().await {
            Ok(()) => {
                tracing::info!("database reached; schema is up to date");
                state.mark_schema_ready();
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "database still unreachable");
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Runs the migrations once, for `itf-async migrate`.
pub async fn migrate(config: &Config) -> Result<(), StartError> {
    let store: Arc<dyn Store> = store::open(&config.database)?;
    store.migrate().await?;
    Ok(())
}

/// The provider simulator on its own, so that its state outlives app
/// restarts and is shared by several instances.
pub struct StandaloneSimulator {
    listener: TcpListener,
    simulator: Arc<Simulator>,
}

impl StandaloneSimulator {
    pub async fn build(
        addr: SocketAddr,
        quota_per_minute: u32,
        data_dir: &std::path::Path,
    ) -> Result<Self, StartError> {
        let key = DevelopmentKey::load_or_create(data_dir)?;
        let simulator = Arc::new(Simulator::new(&key, quota_per_minute)?);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Self {
            listener,
            simulator,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        address_of(&self.listener)
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let router = axum::Router::new().nest(SIMULATOR_ROOT, simulator::router(self.simulator));
        serve(self.listener, web::with_common_layers(router), shutdown).await
    }
}

fn address_of(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .expect("a bound listener has an address")
}

async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartError::Serve)
}
