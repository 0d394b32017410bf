//! VA Notify's delivery-status callbacks: `POST /callbacks/va-notify` with
//! the bearer token VA Notify was given (`VA_NOTIFY_CALLBACK_TOKEN`). The
//! status is recorded against the message's reference as it came
//! (`delivered`, `permanent-failure`, `temporary-failure`, or any other); a
//! permanent failure raises an alert, recorded with the status: the
//! veteran did not get the email.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::ApiError;
use crate::store::{Store, PERMANENT_FAILURE};

#[derive(Clone)]
pub struct CallbackState {
    pub store: Arc<dyn Store>,
    pub token: Arc<str>,
}

#[derive(serde::Deserialize)]
pub struct DeliveryStatus {
    reference: String,
    status: String,
}

pub async fn record(
    State(state): State<CallbackState>,
    headers: HeaderMap,
    body: Result<Json<DeliveryStatus>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same(bearer.as_bytes(), state.token.as_bytes()) {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({"errors": [{"title": "Not authorized", "detail": "Send the callback token VA Notify was given."}]})),
        )
            .into_response());
    }
    let Ok(Json(update)) = body else {
        return Err(ApiError::BadForm {
            title: "Unreadable callback",
            detail: "Send JSON with the message's reference and its status.".into(),
        });
    };
    let recorded = state
        .store
        .record_delivery_status(&update.reference, &update.status, chrono::Utc::now())
        .await?;
    if !recorded {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(json!({"errors": [{"title": "Unknown reference", "detail": "No message has that reference."}]})),
        )
            .into_response());
    }
    if update.status == PERMANENT_FAILURE {
        tracing::error!(
            alert = true,
            reference = %update.reference,
            "VA Notify could not deliver a message to a veteran"
        );
    }
    Ok(Json(json!({"recorded": true})).into_response())
}

/// Compares in time that does not depend on where the two differ.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}
