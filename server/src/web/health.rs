//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::error_response;
use super::AppState;

/// A probe that has not heard from the database by now says "not ready",
/// well inside the usual probe timeouts.
const READINESS_BUDGET: Duration = Duration::from_millis(2500);

/// The process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers. Nothing else is checked, so that an outage of the
/// ITF provider never takes instances out of rotation.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if !state.schema_ready() {
        return not_ready("The database has not been reached since start-up.");
    }
    match tokio::time::timeout(READINESS_BUDGET, state.store.ping()).await {
        Ok(Ok(())) => {
            Json(json!({ "status": "ready", "database": state.store.backend() })).into_response()
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            not_ready("The database did not answer.")
        }
        Err(_) => not_ready("The database did not answer in time."),
    }
}

fn not_ready(detail: &str) -> Response {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not ready",
        &format!("{detail} Check that the database is running and reachable; this instance keeps trying."),
    )
}
