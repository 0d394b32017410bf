//! The service API, for other VA services such as the 526 submission:
//! `POST /internal/v0/itf_status` answers a veteran's ITF state from our
//! records, never calling the provider. Callers present a bearer token
//! whose SHA-256 is configured under a name; every call is logged and
//! counted by that name, never by the token.

mod status;

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use itf_app::domain::{Icn, ItfType};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub use status::{ItfStatusReport, StoreSubmissions};

use crate::config::ServiceSettings;
use crate::metrics;
use crate::store::Store;
use crate::web::{ApiError, ServiceRefusal};

/// Where the service API lives.
pub const ITF_STATUS: &str = "/internal/v0/itf_status";

#[derive(Clone)]
pub struct ServiceState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<ServiceSettings>,
}

/// The credential a call was made with, by name.
#[derive(Clone)]
struct Caller(String);

pub fn router(state: ServiceState) -> Router {
    Router::new()
        .route(ITF_STATUS, post(itf_status))
        .route_layer(from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Lets through only a bearer token whose SHA-256 is configured.
async fn authenticate(
    State(state): State<ServiceState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| <[u8; 32]>::from(Sha256::digest(token.trim().as_bytes())));
    let caller = presented.and_then(|hash| {
        state
            .settings
            .tokens
            .iter()
            .find(|(_, known)| *known == hash)
            .map(|(name, _)| name.clone())
    });
    let Some(caller) = caller else {
        metrics::service_call("unknown", "unauthorized");
        return Err(ApiError::Service(ServiceRefusal::NotAuthenticated));
    };
    request.extensions_mut().insert(Caller(caller));
    Ok(next.run(request).await)
}

#[derive(Deserialize)]
struct StatusQuery {
    icn: String,
    #[serde(rename = "type")]
    itf_type: String,
}

/// `POST /internal/v0/itf_status` with `{"icn": "...", "type": "compensation"}`.
async fn itf_status(
    State(state): State<ServiceState>,
    Extension(Caller(caller)): Extension<Caller>,
    query: Result<Json<StatusQuery>, JsonRejection>,
) -> Result<Response, ApiError> {
    let asked = query.ok().and_then(|Json(query)| {
        Some((
            Icn::parse(query.icn.trim()).ok()?,
            ItfType::parse(&query.itf_type).ok()?,
        ))
    });
    let Some((icn, itf_type)) = asked else {
        tracing::info!(credential = %caller, "service call unreadable");
        metrics::service_call(&caller, "bad_request");
        return Err(ApiError::Service(ServiceRefusal::Unreadable));
    };
    let report = status::of(state.store.as_ref(), &icn, itf_type)
        .await
        .inspect_err(|error| {
            tracing::warn!(credential = %caller, %error, "service call could not read our records");
            metrics::service_call(&caller, "unavailable");
        })?;
    tracing::info!(credential = %caller, state = report.state(), "service call answered");
    metrics::service_call(&caller, "answered");
    let attributes = report.to_json(itf_type);
    Ok(Json(json!({ "data": { "type": "itf_status", "attributes": attributes } })).into_response())
}
