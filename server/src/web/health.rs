//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::Operations;

/// A probe that has not heard from the database by now says "not ready",
/// well inside the usual probe timeouts.
const READINESS_BUDGET: Duration = Duration::from_millis(2500);

/// The process is up.
pub async fn healthz() -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({ "status": "ok" })))
}

/// The database answers. Nothing else is checked, so that an outage of the
/// ITF provider never takes instances out of rotation.
pub async fn readyz(State(ops): State<Operations>) -> Result<Json<serde_json::Value>, ApiError> {
    if !ops.schema_ready() {
        return Err(ApiError::NotReady(
            "The database has not been reached since start-up.",
        ));
    }
    match tokio::time::timeout(READINESS_BUDGET, ops.store.ping()).await {
        Ok(Ok(())) => Ok(Json(
            json!({ "status": "ready", "database": ops.store.backend() }),
        )),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::NotReady("The database did not answer."))
        }
        Err(_) => Err(ApiError::NotReady("The database did not answer in time.")),
    }
}
