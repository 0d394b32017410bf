//! `/v0/intent_to_file`, in the shape of vets-api's, so the VA.gov front end
//! could use it. Items carry no PII beyond what the signed-in veteran owns.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::America::New_York;
use itf_app::domain::ItfType;
use serde::Serialize;
use serde_json::json;

use super::error::ApiError;
use super::signed_in::SignedIn;
use super::WebState;
use crate::intake::{ItfStatus, RequestError, SyncError};
use crate::store::{ConfirmedItf, ItfRequest, RequestState};

#[derive(Debug, Serialize)]
pub struct Item {
    /// The provider's ITF id when known, else "".
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(rename = "type")]
    itf_type: ItfType,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
}

fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn active_item(itf_type: ItfType, itf: &ConfirmedItf, as_of: Option<DateTime<Utc>>) -> Item {
    Item {
        id: itf.id.clone(),
        request_id: None,
        itf_type,
        status: RequestState::Active.as_str(),
        creation_date: Some(
            itf.creation_date
                .to_rfc3339_opts(SecondsFormat::Millis, false),
        ),
        expiration_date: Some(
            itf.expiration_date
                .to_rfc3339_opts(SecondsFormat::Millis, false),
        ),
        received_at: None,
        received_date: None,
        as_of: as_of.map(utc),
    }
}

fn request_item(request: &ItfRequest) -> Item {
    let confirmed = request.itf.as_ref();
    Item {
        id: confirmed.map(|itf| itf.id.clone()).unwrap_or_default(),
        request_id: Some(request.id.clone()),
        itf_type: request.itf_type,
        status: request.state.as_str(),
        creation_date: confirmed.map(|itf| {
            itf.creation_date
                .to_rfc3339_opts(SecondsFormat::Millis, false)
        }),
        expiration_date: confirmed.map(|itf| {
            itf.expiration_date
                .to_rfc3339_opts(SecondsFormat::Millis, false)
        }),
        received_at: Some(utc(request.received_at)),
        received_date: Some(
            request
                .received_at
                .with_timezone(&New_York)
                .format("%Y-%m-%d")
                .to_string(),
        ),
        as_of: None,
    }
}

/// The item of a status; `None` when the synchronous path could not tell,
/// which is answered as the provider being unavailable.
fn item(itf_type: ItfType, status: &ItfStatus) -> Result<Item, ApiError> {
    match status {
        ItfStatus::Active { itf, as_of } => Ok(active_item(itf_type, itf, *as_of)),
        ItfStatus::Open(request) => Ok(request_item(request)),
        ItfStatus::Unconfirmed => Err(ApiError::ProviderUnavailable),
    }
}

fn envelope(items: serde_json::Value) -> serde_json::Value {
    json!({ "data": { "id": "", "type": "intent_to_file", "attributes": { "intent_to_file": items } } })
}

fn to_json(item: &Item) -> serde_json::Value {
    // An `Item` is strings and options of strings: it always serialises.
    serde_json::to_value(item).unwrap_or_default()
}

/// `GET /v0/intent_to_file`: the veteran's compensation ITF, or the request
/// for one.
pub async fn list(
    State(state): State<WebState>,
    SignedIn(veteran): SignedIn,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = state
        .intake
        .look_up(&veteran, ItfType::Compensation)
        .await
        .map_err(ApiError::NotRecorded)?;
    let item = item(ItfType::Compensation, &status)?;
    Ok(Json(envelope(json!([to_json(&item)]))))
}

/// `POST /v0/intent_to_file/{type}`: compensation is recorded at once and
/// completed in the background, or, where the rollout flag says, created
/// inline as pension and survivor are.
pub async fn create(
    State(state): State<WebState>,
    SignedIn(veteran): SignedIn,
    Path(itf_type): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let itf_type = ItfType::parse(&itf_type).map_err(|_| ApiError::UnknownItfType)?;
    let status = state
        .intake
        .request(&veteran, itf_type)
        .await
        .map_err(|error| match error {
            RequestError::NotRecorded(error) => ApiError::NotRecorded(error),
            RequestError::Synchronous(SyncError::ProviderUnavailable) => {
                ApiError::ProviderUnavailable
            }
            RequestError::Synchronous(SyncError::Refused { .. }) => ApiError::ProviderRefused,
        })?;
    let code = match status {
        ItfStatus::Open(_) => StatusCode::ACCEPTED,
        ItfStatus::Active { .. } | ItfStatus::Unconfirmed => StatusCode::OK,
    };
    Ok((code, Json(envelope(to_json(&item(itf_type, &status)?)))))
}
