//! `/v0/intent_to_file`, in the shape of vets-api's, so the VA.gov front end
//! could use it. Items carry no PII beyond what the signed-in veteran owns.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::America::New_York;
use itf_app::domain::{ItfType, Veteran};
use itf_app::session::{CurrentVeteran, SessionLookupFailed};
use serde::Serialize;
use serde_json::json;

use super::error::error_response;
use super::AppState;
use crate::intake::{ItfStatus, SyncError};
use crate::store::{ConfirmedItf, ItfRequest, StoreError};

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
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<&'static str>,
}

fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn active_item(itf_type: ItfType, itf: &ConfirmedItf, as_of: Option<DateTime<Utc>>) -> Item {
    Item {
        id: itf.id.clone(),
        request_id: None,
        itf_type,
        status: "active",
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
        last_error: None,
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
        last_error: None,
    }
}

fn item(itf_type: ItfType, status: &ItfStatus) -> Item {
    match status {
        ItfStatus::Active { itf, as_of } => active_item(itf_type, itf, *as_of),
        ItfStatus::Open(request) => request_item(request),
    }
}

fn envelope(items: serde_json::Value) -> serde_json::Value {
    json!({ "data": { "id": "", "type": "intent_to_file", "attributes": { "intent_to_file": items } } })
}

/// Why a request has no veteran to act for.
enum NoVeteran {
    SignedOut,
    /// The session could not be looked up: the database is down.
    SessionUnavailable,
}

impl IntoResponse for NoVeteran {
    fn into_response(self) -> Response {
        match self {
            Self::SignedOut => error_response(
                StatusCode::UNAUTHORIZED,
                "Not signed in",
                "Sign in to see or request your Intent to File.",
            ),
            Self::SessionUnavailable => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "Request not saved",
                "We couldn't save your request right now. Try again in a few minutes.",
            ),
        }
    }
}

fn signed_in(request: &Request) -> Result<Veteran, NoVeteran> {
    if let Some(CurrentVeteran(veteran)) = request.extensions().get::<CurrentVeteran>() {
        return Ok(veteran.clone());
    }
    if request.extensions().get::<SessionLookupFailed>().is_some() {
        return Err(NoVeteran::SessionUnavailable);
    }
    Err(NoVeteran::SignedOut)
}

fn not_recorded(error: StoreError) -> Response {
    tracing::error!(%error, "an ITF request could not be looked up or recorded");
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "Request not saved",
        "We couldn't save your request right now. Try again in a few minutes.",
    )
}

/// `GET /v0/intent_to_file`: the veteran's compensation ITF, or the request
/// for one.
pub async fn list(State(state): State<AppState>, request: Request) -> Response {
    let veteran = match signed_in(&request) {
        Ok(veteran) => veteran,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(intake) = &state.intake else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match intake.look_up(&veteran, ItfType::Compensation).await {
        Ok(status) => Json(envelope(json!([item(ItfType::Compensation, &status)]))).into_response(),
        Err(error) => not_recorded(error),
    }
}

/// `POST /v0/intent_to_file/{type}`.
pub async fn create(
    State(state): State<AppState>,
    Path(itf_type): Path<String>,
    request: Request,
) -> Response {
    let veteran = match signed_in(&request) {
        Ok(veteran) => veteran,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(itf_type) = ItfType::parse(&itf_type) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "Unknown ITF type",
            "The type must be compensation, pension or survivor.",
        );
    };
    let Some(intake) = &state.intake else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if itf_type != ItfType::Compensation {
        return match intake.request_synchronously(&veteran, itf_type).await {
            Ok(itf) => Json(envelope(
                serde_json::to_value(active_item(itf_type, &itf, None)).expect("serialisable"),
            ))
            .into_response(),
            Err(SyncError::ProviderUnavailable { .. }) => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "Intent to File service unavailable",
                "We can't reach the Intent to File service right now. Try again in a few minutes.",
            ),
            Err(SyncError::Refused { .. }) => error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Intent to File not accepted",
                "We couldn't create your Intent to File. Call us at 800-827-1000 and we'll help.",
            ),
        };
    }
    match intake.request(&veteran, itf_type).await {
        Ok(status) => {
            let code = match status {
                ItfStatus::Active { .. } => StatusCode::OK,
                ItfStatus::Open(_) => StatusCode::ACCEPTED,
            };
            let body = serde_json::to_value(item(itf_type, &status)).expect("serialisable");
            (code, Json(envelope(body))).into_response()
        }
        Err(error) => not_recorded(error),
    }
}
