//! The HTTP face of the service: pages, server functions, sessions, the
//! REST API and the operational endpoints, with the layers every request
//! passes through.

mod assets;
mod error;
mod health;
mod inflection;
mod intent_to_file;
mod metrics;
mod notify_callback;
mod origin;
mod session;
mod sign_in;
mod signed_in;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{FromRef, MatchedPath, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use itf_app::session::{Panels, Submissions, Surfaces};
use itf_app::{shell, App};
use leptos::prelude::LeptosOptions;
use leptos_axum::{file_and_error_handler, generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::{escape_html, ApiError, ServiceRefusal};
pub use metrics::HttpMetrics;
pub use notify_callback::CallbackState;
pub use session::{
    cookie, cookie_header, cookie_token, forget, start_session,
    sweep_expired as sweep_expired_sessions,
};
pub use sign_in::{
    begin as begin_sign_in, complete as complete_sign_in, finished, signed_out, Callback,
};
pub use signed_in::SignedIn;

use crate::config::Config;
use crate::console::{self, ConsoleSignIn, ConsoleState, StoreConsole};
use crate::development::Development;
use crate::intake::{DelayThreshold, IntakeService, PanelService};
use crate::service::{self, ServiceState, StoreSubmissions};
use crate::session_cache::SessionCache;
use crate::sign_in::{Clients, OpenIdClient};
use crate::store::Store;
use assets::Assets;
use origin::AllowedOrigins;

/// What every instance serves, web or worker: health, readiness, metrics.
#[derive(Clone)]
pub struct Operations {
    pub store: Arc<dyn Store>,
    pub metrics: HttpMetrics,
    /// Set once the schema is migrated; until then the instance is not ready.
    schema_ready: Arc<AtomicBool>,
}

impl Operations {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            metrics: HttpMetrics::default(),
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

/// What the pages and the REST API for veterans need. Cloned for every
/// request by each layer that holds it, so a clone is one count, not a
/// copy of every part.
#[derive(Clone)]
pub struct WebState(Arc<WebParts>);

impl std::ops::Deref for WebState {
    type Target = WebParts;

    fn deref(&self) -> &WebParts {
        &self.0
    }
}

pub struct WebParts {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub leptos_options: LeptosOptions,
    pub intake: Arc<IntakeService>,
    /// The start page's status panel, from the look-up.
    pub panels: Arc<PanelService>,
    /// The operators' console, where it is mounted.
    pub console: Option<ConsoleState>,
    /// Veterans' sign-in at the OpenID provider, where it is set up.
    pub sign_in: Option<Arc<OpenIdClient>>,
    pub delayed_after: DelayThreshold,
    /// The static files' versioned paths.
    pub assets: Assets,
    /// Veterans' sessions as last read.
    pub sessions: Arc<SessionCache>,
}

impl WebState {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        mut leptos_options: LeptosOptions,
        intake: Arc<IntakeService>,
        sign_in: Clients,
    ) -> Self {
        let assets = Assets::of(std::path::Path::new(&config.site.root));
        leptos_options.site_pkg_dir = assets.pkg.clone().into();
        itf_app::assets::set_design_system(format!("/{}", assets.vads));
        let delayed_after = DelayThreshold::new(config.site.delayed_after);
        // Operators sign in at their provider, or, in development, as
        // made-up operators; with neither there is no console.
        let operators = sign_in
            .operator
            .clone()
            .zip(config.sign_in.operator.clone())
            .map(|(client, settings)| Arc::new(ConsoleSignIn { client, settings }));
        let console =
            (config.development_surfaces() || operators.is_some()).then(|| ConsoleState {
                store: store.clone(),
                secure_cookies: config.site.secure_cookies(),
                sessions: config.site.sessions,
                sign_in: operators,
            });
        let emails = config.message_channel().is_some();
        let follow_up = !config.alert_channels().is_empty();
        let panels = Arc::new(PanelService::new(
            intake.clone(),
            store.clone(),
            delayed_after.clone(),
            emails,
            follow_up,
        ));
        let sessions = SessionCache::for_database(&config.database);
        Self(Arc::new(WebParts {
            config,
            store,
            leptos_options,
            intake,
            panels,
            delayed_after,
            console,
            sign_in: sign_in.veteran,
            sessions,
            assets,
        }))
    }
}

impl FromRef<WebState> for LeptosOptions {
    fn from_ref(state: &WebState) -> Self {
        state.leptos_options.clone()
    }
}

/// Every route of an instance: operations always; pages and the API where
/// it serves veterans; the development parts where they exist.
pub fn router(
    operations: Operations,
    web: Option<WebState>,
    development: Option<Development>,
    callbacks: Option<CallbackState>,
) -> Router {
    let allowed = web.as_ref().map_or_else(AllowedOrigins::default, |web| {
        AllowedOrigins::new(web.config.site.allowed_origins.clone())
    });
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .with_state(operations.clone());
    if let Some(callbacks) = callbacks {
        app = app.merge(
            Router::new()
                .route("/callbacks/va-notify", post(notify_callback::record))
                .with_state(callbacks),
        );
    }
    if let Some(development) = &development {
        app = app.merge(development.router(web.as_ref()));
    }
    if let Some(web) = web {
        app = app.merge(service::router(ServiceState {
            store: web.store.clone(),
            settings: Arc::new(web.config.service.clone()),
        }));
        app = app.merge(pages(web, development));
    }
    let app = app
        .layer(from_fn_with_state(allowed.clone(), origin::check_origin))
        .layer(from_fn(origin::issue_csrf_token))
        .layer(from_fn(inflection::inflect_keys))
        .layer(from_fn_with_state(operations, metrics::track));
    // Every answer compressed as the browser accepts, at a level that costs
    // little time: pages are rendered per request.
    // Fonts come compressed already.
    let compressible = DefaultPredicate::new().and(NotForContentType::new("font/woff2"));
    let app = app.layer(
        CompressionLayer::new()
            .br(true)
            .gzip(true)
            .quality(CompressionLevel::Precise(5))
            .compress_when(compressible),
    );
    // Outermost, so that preflights are answered and refusals readable.
    let app = match allowed.cors() {
        Some(cors) => app.layer(cors),
        None => app,
    };
    with_common_layers(app)
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

fn pages(web: WebState, development: Option<Development>) -> Router {
    let surfaces = Surfaces {
        development: development.is_some(),
        application_url: web.config.site.application_url.clone(),
        veteran_sign_in: web.sign_in.is_some(),
        operator_sign_in: web
            .console
            .as_ref()
            .is_some_and(|console| console.sign_in.is_some()),
    };
    let leptos_options = web.leptos_options.clone();
    let panels = Panels(web.panels.clone());
    let submissions = Submissions(Arc::new(StoreSubmissions(web.store.clone())));
    let delayed_after = web.delayed_after.clone();
    let console = web.console.clone();
    let pages_console = console.as_ref().map(|console| {
        itf_app::console::Console(Arc::new(StoreConsole {
            store: console.store.clone(),
            budget: web.config.provider.budget,
            pending_after: web.config.alerts.pending_after,
        }))
    });
    let router = Router::new()
        .leptos_routes_with_context(
            &web,
            generate_route_list(App),
            move || {
                use leptos::prelude::provide_context;
                provide_context(surfaces.clone());
                provide_context(panels.clone());
                provide_context(submissions.clone());
                if let Some(console) = &pages_console {
                    provide_context(console.clone());
                }
                if let Some(development) = &development {
                    provide_context(development.review_settings(&delayed_after));
                }
            },
            move || shell(leptos_options.clone()),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/sign-in/start", post(sign_in::start))
        .route(sign_in::CALLBACK, get(sign_in::callback))
        .route("/v0/intent_to_file", get(intent_to_file::list))
        .route("/v0/intent_to_file/{type}", post(intent_to_file::create))
        .route_layer(from_fn_with_state(web.clone(), session::resolve));
    let router = match &console {
        Some(console) => router.route_layer(from_fn_with_state(console.clone(), console::resolve)),
        None => router.route_layer(from_fn(console::absent)),
    };
    let router = router
        .merge(web.assets.router())
        .fallback(file_and_error_handler::<WebState, _>(shell))
        .with_state(web);
    match console {
        Some(console) => router.merge(console::router(console)),
        None => router,
    }
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
