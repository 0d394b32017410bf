//! The itf-async service: configuration, store, web, worker and provider
//! client, assembled here. `main.rs` is only the command line around it.

pub mod alerts;
pub mod budget;
pub mod circuit;
pub mod config;
pub mod console;
pub mod development;
pub mod flag;
pub mod intake;
pub mod messages;
pub mod metrics;
pub mod outbox;
pub mod provider;
pub mod report;
pub mod sealing;
pub mod service;
pub mod session_cache;
pub mod session_token;
pub mod sign_in;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod webhooks;
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

use budget::Budget;
use circuit::Circuit;
use config::{
    read_key_file, Config, ConfigError, DatabaseUrl, MessageChannel, Profile, Provider,
    SIMULATOR_ROOT,
};
use development::{Development, DevelopmentKey, Simulator};
use intake::IntakeService;
use outbox::{Channel, Mailbox, Outbox, VaNotify};
use provider::{ClientSettings, LighthouseClient};
use store::{Store, StoreError};
use web::{Operations, WebState};
use webhooks::Webhooks;
use worker::{Worker, WorkerSettings};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] development::KeyError),
    #[error("cannot load the keys that seal personal data: {0}")]
    SealingKeys(#[from] sealing::KeyFileError),
    #[error("cannot set up the provider client: {0}")]
    Client(#[from] provider::ClientError),
    #[error("cannot set up the VA Notify client: {0}")]
    Notify(#[source] reqwest::Error),
    #[error("cannot set up the Slack or PagerDuty client: {0}")]
    Alerts(#[source] reqwest::Error),
    #[error("cannot read the webhook endpoints: {0}")]
    Webhooks(#[from] webhooks::EndpointsError),
    #[error("cannot set up the webhook client: {0}")]
    WebhookClient(#[source] reqwest::Error),
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
    operations: Operations,
    web: Option<WebState>,
    development: Option<Development>,
    worker: Option<Arc<Worker>>,
    outbox: Option<Outbox>,
    /// Delivers events to other services, where endpoints are configured.
    webhooks: Option<Webhooks>,
    /// VA Notify's delivery-status callbacks, where a token is configured.
    callbacks: Option<web::CallbackState>,
}

impl Application {
    /// Assembles the instance its configuration describes: the store, the
    /// provider client, the development parts where allowed, the web parts
    /// where it serves veterans and the worker where it runs one.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let development = Development::assemble(&config)?;
        let gate = development.as_ref().map_or_else(
            || Arc::new(store::AlwaysOpen) as Arc<dyn store::Gate>,
            Development::gate,
        );
        let (store, keys) = open_store(&config, gate)?;
        let listener = TcpListener::bind(config.site.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.site.addr,
                source,
            })?;
        let address = address_of(&listener);
        let client = Arc::new(LighthouseClient::new(&client_settings(
            &config,
            development.as_ref(),
            address,
        )?)?);
        let wake = Arc::new(Notify::new());
        let circuit = Arc::new(Circuit::new(store.clone(), config.provider.circuit));
        let budget = Arc::new(Budget::new(store.clone(), config.provider.budget));
        let sign_in = sign_in::Clients::configured(&config.sign_in)?;
        let config = Arc::new(config);
        let web = config.role.serves_pages().then(|| {
            let intake = Arc::new(IntakeService::new(
                store.clone(),
                client.clone(),
                circuit.clone(),
                budget.clone(),
                config.site.lookup_budget,
                wake.clone(),
                keys,
            ));
            let options = leptos_options(&config, address);
            WebState::new(config.clone(), store.clone(), options, intake, sign_in)
        });
        let worker = config
            .role
            .runs_worker()
            .then(|| worker_for(&config, store.clone(), client, circuit, budget, wake));
        let (outbox, callbacks) = delivery_of_messages(&config, &store)?;
        let webhooks = delivery_of_events(&config, &store)?;
        let operations = Operations::new(store);
        prepare_schema(
            &operations,
            matches!(config.database, DatabaseUrl::Postgres(_)),
        )
        .await?;
        Ok(Self {
            listener,
            operations,
            web,
            development,
            worker,
            outbox,
            webhooks,
            callbacks,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        address_of(&self.listener)
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        tokio::spawn(web::sweep_expired_sessions(self.operations.store.clone()));
        let (stop, stopped) = watch::channel(false);
        let outbox = self
            .outbox
            .map(|outbox| tokio::spawn(outbox.run(stopped.clone())));
        let webhooks = self
            .webhooks
            .map(|webhooks| tokio::spawn(webhooks.run(stopped.clone())));
        let worker = self.worker.map(|worker| tokio::spawn(worker.run(stopped)));
        let router = web::router(self.operations, self.web, self.development, self.callbacks);
        let served = serve(self.listener, router, async move {
            shutdown.await;
            // Stop claiming at once; turns under way finish below.
            let _ = stop.send(true);
        })
        .await;
        for task in [worker, outbox, webhooks].into_iter().flatten() {
            let _ = task.await;
        }
        served
    }
}

/// How to reach and sign in to the provider: the real one with the key
/// `LIGHTHOUSE_KEY_FILE` names, or the simulator with the development key.
fn client_settings(
    config: &Config,
    development: Option<&Development>,
    address: SocketAddr,
) -> Result<ClientSettings, ConfigError> {
    match (&config.provider.provider, development) {
        (Provider::Lighthouse(settings), _) => Ok(ClientSettings {
            base_url: settings.base_url.clone(),
            token_url: settings.token_url.clone(),
            audience: settings.audience.clone(),
            client_id: settings.client_id.clone(),
            private_key_pem: read_key_file(&settings.key_file).map_err(|problem| ConfigError {
                problems: vec![problem],
            })?,
            key_id: settings.key_id.clone(),
            scopes: config.provider.scopes.clone(),
            timeouts: config.provider.timeouts,
            retry_after_cap: config.provider.retry_after_cap,
        }),
        (Provider::Simulator { .. }, Some(development)) => {
            Ok(development.client_settings(config, address))
        }
        (Provider::Simulator { .. }, None) => Err(ConfigError {
            problems: vec![
                "LIGHTHOUSE_BASE_URL: the simulator serves development only; \
                 set the Lighthouse Benefits Claims API"
                    .to_owned(),
            ],
        }),
    }
}

/// The outbox's delivery loop, where this instance runs the worker; and VA
/// Notify's callbacks, where a token is configured for them.
fn delivery_of_messages(
    config: &Config,
    store: &Arc<dyn Store>,
) -> Result<(Option<Outbox>, Option<web::CallbackState>), StartError> {
    let outbox = if config.role.runs_worker() {
        let alerts = alerts::Channels::configured(&config.alert_channels(), &config.alerts, store)
            .map_err(StartError::Alerts)?;
        Some(Outbox::new(
            store.clone(),
            message_channel(config, store)?,
            alerts,
            &config.alerts,
            config.worker.lease,
            config.delayed_email_after,
        ))
    } else {
        None
    };
    let callbacks = config
        .notify
        .as_ref()
        .and_then(|notify| notify.callback_token.as_deref())
        .map(|token| web::CallbackState {
            store: store.clone(),
            token: token.into(),
        });
    Ok((outbox, callbacks))
}

/// The delivery of events to other services, where this instance runs
/// the worker and endpoints are configured.
fn delivery_of_events(
    config: &Config,
    store: &Arc<dyn Store>,
) -> Result<Option<Webhooks>, StartError> {
    let Some(file) = config
        .webhooks
        .file
        .as_deref()
        .filter(|_| config.role.runs_worker())
    else {
        return Ok(None);
    };
    let endpoints = webhooks::load(file)?;
    if endpoints.is_empty() {
        tracing::warn!("ITF_WEBHOOKS_FILE names no endpoint: events wait until one is configured");
        return Ok(None);
    }
    tracing::info!(endpoints = endpoints.len(), "webhook endpoints configured");
    let deliverer = Webhooks::new(
        store.clone(),
        endpoints,
        config.webhooks.clone(),
        config.worker.lease,
    )
    .map_err(StartError::WebhookClient)?;
    Ok(Some(deliverer))
}

/// The channel the outbox delivers through, as the configuration says.
fn message_channel(
    config: &Config,
    store: &Arc<dyn Store>,
) -> Result<Option<Arc<dyn Channel>>, StartError> {
    Ok(match config.message_channel() {
        Some(MessageChannel::VaNotify(notify)) => Some(Arc::new(
            VaNotify::new(notify.clone()).map_err(StartError::Notify)?,
        )),
        Some(MessageChannel::Mailbox) => Some(Arc::new(Mailbox(store.clone()))),
        None => None,
    })
}

fn worker_for(
    config: &Config,
    store: Arc<dyn Store>,
    client: Arc<LighthouseClient>,
    circuit: Arc<Circuit>,
    budget: Arc<Budget>,
    wake: Arc<Notify>,
) -> Arc<Worker> {
    if let DatabaseUrl::Postgres(url) = &config.database {
        // Intakes on other instances wake this one's worker too.
        tokio::spawn(store::forward_job_notifications(url.clone(), wake.clone()));
    }
    Arc::new(Worker::new(
        store,
        client,
        circuit,
        budget,
        WorkerSettings {
            concurrency: config.worker.concurrency,
            retry_max_delay: config.worker.retry_max_delay,
            lease: config.worker.lease,
            heartbeat: config.worker.heartbeat,
            call_timeout: config.provider.timeouts.total,
            poll: Duration::from_secs(1),
            recheck_every: config.worker.recheck_every,
        },
        wake,
    ))
}

fn leptos_options(config: &Config, site_addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("itf-async")
        .site_root(config.site.root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(site_addr)
        .env(match config.profile {
            Profile::Development => Env::DEV,
            Profile::Production => Env::PROD,
        })
        .build()
}

/// Seals every ICN and name again under the current key, in batches, while
/// the service runs; returns how many rows and the key's id.
pub async fn rotate_keys(config: &Config) -> Result<(u64, String), StartError> {
    let keys = Arc::new(sealing::load(&config.keys, &config.data_dir)?);
    let current = keys.current().to_owned();
    let store = store::open(&config.database, Arc::new(store::AlwaysOpen), keys)?;
    store.migrate().await?;
    let mut resealed = 0;
    loop {
        let batch = store.reseal(500).await?;
        if batch == 0 {
            return Ok((resealed, current));
        }
        resealed += batch;
        tracing::info!(resealed, key = %current, "rows sealed again");
    }
}

/// The store the settings name, its personal data sealed with their keys.
/// The store the settings name, and the keys it seals with.
pub fn open_store(
    config: &Config,
    gate: Arc<dyn store::Gate>,
) -> Result<(Arc<dyn Store>, Arc<sealing::Keys>), StartError> {
    let keys = Arc::new(sealing::load(&config.keys, &config.data_dir)?);
    Ok((store::open(&config.database, gate, keys.clone())?, keys))
}

/// Migrates the schema. A PostgreSQL that is down at start-up does not stop
/// the instance: it keeps trying in the background and reports "not ready"
/// until it gets through.
async fn prepare_schema(operations: &Operations, postgres: bool) -> Result<(), StartError> {
    match operations.store.migrate().await {
        Ok(()) => {
            operations.mark_schema_ready();
            Ok(())
        }
        Err(error) if postgres && error.is_unavailable() => {
            tracing::warn!(%error, "database unreachable at start-up; retrying in the background");
            tokio::spawn(migrate_when_reachable(operations.clone()));
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn migrate_when_reachable(operations: Operations) {
    let mut delay = Duration::from_secs(1);
    loop {
        tokio::time::sleep(delay).await;
        match operations.store.migrate().await {
            Ok(()) => {
                tracing::info!("database reached; schema is up to date");
                operations.mark_schema_ready();
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
    let (store, _) = open_store(config, Arc::new(store::AlwaysOpen))?;
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
        let router = axum::Router::new().nest(
            SIMULATOR_ROOT,
            development::simulator::router(self.simulator),
        );
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
