//! The operators' console under `/console`: operators sign in with a
//! session of their own (another cookie, another table), read requests,
//! their timelines and the remediation report, and, as `operator` or
//! `admin`, repair requests. Every repair, every search by ICN, every
//! opened request and every download of the report is in the audit log.
//! Mounted wherever operators' OpenID sign-in is configured, and in
//! development (mock sign-in); elsewhere `/console` is not found.

mod actions;
mod session;
mod source;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use itf_app::domain::Operator;

pub use session::{resolve, start as start_operator_session, COOKIE_NAME};
pub use source::StoreConsole;

use crate::config::{OperatorSignIn, SessionSettings};
use crate::sign_in::OpenIdClient;
use crate::store::Store;
use crate::web::ApiError;

/// Where the console's pages live.
pub const ROOT: &str = "/console";

#[derive(Clone)]
pub struct ConsoleState {
    pub store: Arc<dyn Store>,
    pub secure_cookies: bool,
    pub sessions: SessionSettings,
    /// Operators' sign-in at their OpenID provider, where it is set up.
    pub sign_in: Option<Arc<ConsoleSignIn>>,
}

/// The operators' OpenID client, and how its claims map to roles.
pub struct ConsoleSignIn {
    pub client: Arc<OpenIdClient>,
    pub settings: OperatorSignIn,
}

/// The console's own routes: its forms, its search and its download. Its
/// pages are the app's, behind the same session layer.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route(session::SIGN_OUT, post(session::sign_out))
        .route("/console/sign-in/start", post(session::begin_sign_in))
        .route(session::CALLBACK, get(session::callback))
        .route("/console/search", post(actions::search))
        .route("/console/requests/{id}/retry", post(actions::retry))
        .route("/console/requests/{id}/resolve", post(actions::resolve))
        .route("/console/requests/{id}/note", post(actions::note))
        .route("/console/rollout", post(actions::set_rollout))
        .route(
            "/console/report/date-drift.csv",
            get(actions::date_drift_csv),
        )
        .route_layer(from_fn_with_state(state.clone(), session::resolve))
        .with_state(state)
}

/// Where the console is not mounted, its pages are not found either.
pub async fn absent(request: Request, next: Next) -> Response {
    if is_console(request.uri().path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

fn is_console(path: &str) -> bool {
    path == ROOT || path.starts_with("/console/")
}

/// Refuses anyone but an admin: settings, such as the rollout flag.
fn may_administer(operator: &Operator) -> Result<(), ApiError> {
    if operator.role == itf_app::domain::OperatorRole::Admin {
        return Ok(());
    }
    Err(ApiError::Console {
        status: StatusCode::FORBIDDEN,
        title: "Only an admin can do this",
        detail: format!(
            "You're signed in as {}, a {}: only an admin can change the rollout flag. \
             Ask an admin.",
            operator.id,
            operator.role.as_str()
        )
        .into(),
    })
}

/// Refuses an operator whose role may not change requests or read ICNs.
fn may_repair(operator: &Operator) -> Result<(), ApiError> {
    if operator.role.repairs() {
        return Ok(());
    }
    Err(ApiError::Console {
        status: StatusCode::FORBIDDEN,
        title: "Your role can't do this",
        detail: format!(
            "You're signed in as {}, a {}: you can read requests and the report, \
             but not change a request or download ICNs. Ask an operator or an admin.",
            operator.id,
            operator.role.as_str()
        )
        .into(),
    })
}
