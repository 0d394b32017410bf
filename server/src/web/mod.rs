//! The HTTP face of the service: pages, server functions, sign-in and the
//! operational endpoints, with the layers every request passes through.

mod error;
mod health;
mod intent_to_file;
mod metrics;
mod origin;
mod review;
mod session;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{FromRef, MatchedPath, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use itf_app::session::{Panels, Surfaces};
use itf_app::{shell, App};
use leptos::prelude::LeptosOptions;
use leptos_axum::{file_and_error_handler, generate_route_list, LeptosRoutes};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use metrics::HttpMetrics;
pub use session::sweep_expired as sweep_expired_sessions;

use crate::config::{Config, SIMULATOR_ROOT};
use crate::intake::{DelayThreshold, IntakeService, PanelService};
use crate::simulator::{self, Simulator};
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub leptos_options: LeptosOptions,
    pub metrics: HttpMetrics,
    /// The provider simulator, when it runs inside this instance.
    pub simulator: Option<Arc<Simulator>>,
    /// Look-up and intake, where this instance serves veterans.
    pub intake: Option<Arc<IntakeService>>,
    /// The start page's status panel, from the look-up.
    pub panels: Option<Arc<PanelService>>,
    pub delayed_after: DelayThreshold,
    /// Makes our database look down, for review (development only).
    pub outage: Option<Arc<AtomicBool>>,
    /// Set once the schema is migrated; until then the instance is not ready.
    schema_ready: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        leptos_options: LeptosOptions,
        simulator: Option<Arc<Simulator>>,
        intake: Option<Arc<IntakeService>>,
        outage: Option<Arc<AtomicBool>>,
    ) -> Self {
        let delayed_after = DelayThreshold::new(config.delayed_after);
        let panels = intake.clone().map(|intake| {
            Arc::new(PanelService::new(
                intake,
                store.clone(),
                delayed_after.clone(),
            ))
        });
        Self {
            config: Arc::new(config),
            store,
            leptos_options,
            metrics: HttpMetrics::default(),
            simulator,
            intake,
            panels,
            delayed_after,
            outage,
            schema_ready: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn schema_ready(&self) -> bool {
        self.schema_ready.load(Ordering::Acquire)
    }

    pub fn mark_schema_ready(&self) {
        self.schema_ready.store(true, Ordering::Release);
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let operations = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render));

    let mut app = if state.config.role.serves_pages() {
        operations.merge(pages(&state))
    } else {
        operations
    };
    if let Some(simulator) = &state.simulator {
        app = app.nest(SIMULATOR_ROOT, simulator::router(simulator.clone()));
    }

    let app = app
        .layer(from_fn(origin::same_origin_only))
        .layer(from_fn_with_state(state.clone(), metrics::track));
    with_common_layers(app).with_state(state)
}

/// Request ids and request spans, for every server this binary runs.
pub fn with_common_layers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // The response line already carries the status; a 503 from
                // the simulator or a refused request is no fault of ours.
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn pages(state: &AppState) -> Router<AppState> {
    let surfaces = Surfaces {
        development: state.config.development_surfaces(),
        application_url: state.config.application_url.clone(),
    };
    let development = surfaces.development;
    let leptos_options = state.leptos_options.clone();
    let context_state = state.clone();
    let mut pages = Router::new()
        .leptos_routes_with_context(
            state,
            generate_route_list(App),
            move || {
                use leptos::prelude::provide_context;
                provide_context(surfaces.clone());
                if let Some(panels) = &context_state.panels {
                    provide_context(Panels(panels.clone()));
                }
                if development {
                    provide_context(review::settings(&context_state));
                }
            },
            move || shell(leptos_options.clone()),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/v0/intent_to_file", get(intent_to_file::list))
        .route("/v0/intent_to_file/{type}", post(intent_to_file::create));
    if development {
        pages = pages
            .route("/sign-in/mock", post(session::mock_sign_in))
            .route("/review/mode", post(review::set_mode))
            .route("/review/delay", post(review::set_delay))
            .route("/review/outage", post(review::set_outage));
    }
    pages
        .route_layer(from_fn_with_state(state.clone(), session::resolve))
        .fallback(file_and_error_handler::<AppState, _>(shell))
}

/// The span of one request: its route template and request id, never the
/// path or query, which could carry an ICN.
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(metrics::UNMATCHED_ROUTE, MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %request.method(), route, request_id)
}
