//! Development only: the provider simulator, mock sign-in, the review page
//! and a simulated outage of our database. Assembled here and mounted by
//! `router`, only where rule 7 allows: in development, with the simulator
//! as the provider. Production types know nothing of them.

mod alerts;
mod mailbox;
mod review;
mod sign_in;
pub mod simulator;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

pub use simulator::{DevelopmentKey, KeyError, Simulator};

use crate::config::{Config, Provider, SIMULATOR_ROOT};
use crate::intake::DelayThreshold;
use crate::provider::{ClientSettings, TOKEN_PATH};
use crate::store::Gate;
use crate::web::WebState;

/// The client id the app uses with the simulator.
pub const SIMULATOR_CLIENT_ID: &str = "itf-async-development";

/// The development parts of one instance.
#[derive(Clone)]
pub struct Development {
    /// The simulator, when it runs inside this instance rather than
    /// standalone.
    simulator: Option<Arc<Simulator>>,
    /// Makes our database look down, for review of `unavailable`.
    outage: Arc<AtomicBool>,
    key: DevelopmentKey,
}

impl Development {
    /// The development parts, where the configuration allows them.
    pub fn assemble(config: &Config) -> Result<Option<Self>, KeyError> {
        if !config.development_surfaces() {
            return Ok(None);
        }
        let key = DevelopmentKey::load_or_create(&config.data_dir)?;
        let in_process = matches!(
            config.provider.provider,
            Provider::Simulator { base_url: None }
        );
        // The in-process simulator allows what our client is configured
        // for, as Lighthouse would once the quota is agreed.
        let simulator = if in_process {
            let quota = config
                .provider
                .budget
                .map_or(u32::MAX, |budget| budget.quota_per_minute);
            Some(Arc::new(Simulator::new(&key, quota)?))
        } else {
            None
        };
        Ok(Some(Self {
            simulator,
            outage: Arc::new(AtomicBool::new(false)),
            key,
        }))
    }

    /// The review page's outage switch, as the store's gate.
    pub fn gate(&self) -> Arc<dyn Gate> {
        Arc::new(OutageSwitch(self.outage.clone()))
    }

    /// How the provider client reaches the simulator; `app_addr` is where
    /// this instance listens, for the in-process one.
    pub fn client_settings(&self, config: &Config, app_addr: SocketAddr) -> ClientSettings {
        let base_url = match &config.provider.provider {
            Provider::Simulator {
                base_url: Some(url),
            } => url.clone(),
            _ => format!("http://{app_addr}{SIMULATOR_ROOT}"),
        };
        let token_url = format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/'));
        ClientSettings {
            base_url,
            audience: token_url.clone(),
            token_url,
            client_id: SIMULATOR_CLIENT_ID.to_owned(),
            private_key_pem: self.key.private_pem.clone(),
            key_id: None,
            scopes: config.provider.scopes.clone(),
            timeouts: config.provider.timeouts,
            retry_after_cap: config.provider.retry_after_cap,
        }
    }

    /// The review page's controls, for the page to show.
    pub fn review_settings(
        &self,
        delayed_after: &DelayThreshold,
    ) -> itf_app::server_fns::ReviewSettings {
        review::settings(self, delayed_after)
    }

    /// Every development route: the in-process simulator, and where this
    /// instance serves pages, mock sign-in and the review controls.
    pub fn router(&self, web: Option<&WebState>) -> Router {
        let mut router = Router::new();
        if let Some(simulator) = &self.simulator {
            router = router.nest(SIMULATOR_ROOT, simulator::router(simulator.clone()));
        }
        if let Some(web) = web {
            let state = review::ReviewState {
                development: self.clone(),
                web: web.clone(),
            };
            router = router.merge(
                Router::new()
                    .route("/sign-in/mock", post(sign_in::mock_sign_in))
                    .route("/console/sign-in/mock", post(sign_in::mock_console_sign_in))
                    .route("/review/mode", post(review::set_mode))
                    .route("/review/delay", post(review::set_delay))
                    .route("/review/outage", post(review::set_outage))
                    .with_state(state),
            );
            router = router.merge(
                Router::new()
                    .route("/dev/mailbox", get(mailbox::page))
                    .route("/dev/mailbox.json", get(mailbox::as_json))
                    .route("/dev/alerts.json", get(alerts::as_json))
                    .with_state(web.store.clone()),
            );
        }
        router
    }
}

/// Makes our database look down while set, for review of `unavailable`.
struct OutageSwitch(Arc<AtomicBool>);

impl Gate for OutageSwitch {
    fn open(&self) -> bool {
        !self.0.load(Ordering::Relaxed)
    }
}
