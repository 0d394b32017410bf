//! The development list of alerts (`/dev/alerts.json`): what would have gone
//! to Slack or PagerDuty, each trigger and resolve with its `dedup_key`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::Store;
use crate::web::ApiError;

pub async fn as_json(State(store): State<Arc<dyn Store>>) -> Result<Response, ApiError> {
    let alerts: Vec<_> = store
        .listed_alerts()
        .await?
        .iter()
        .map(|alert| {
            json!({
                "condition": alert.change.condition.as_str(),
                "action": alert.change.action.as_str(),
                "dedup_key": alert.change.dedup_key,
                "reference": alert.change.reference,
                "request_id": alert.change.request_id,
                "summary": alert.change.summary,
                "delivered_at": alert.delivered_at,
            })
        })
        .collect();
    Ok(Json(json!({ "alerts": alerts })).into_response())
}
