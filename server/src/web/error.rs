//! The web layer's one error type, mapped once to a status and to words a
//! person can act on. Bodies follow the REST contract and carry no PII.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("request from another site")]
    ForeignOrigin,
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Store(error) if error.is_unavailable() => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
                "We can't reach our records right now. Try again in a few minutes.",
            ),
            Self::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our end. Try again in a few minutes; \
                 if it keeps happening, call us at 800-827-1000.",
            ),
            Self::ForeignOrigin => (
                StatusCode::FORBIDDEN,
                "Request refused",
                "This action can only be taken from this site's own pages. \
                 Go back to the site and try again there.",
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, detail) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request refused");
        }
        error_response(status, title, detail)
    }
}

pub fn error_response(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        Json(json!({ "errors": [{ "title": title, "detail": detail }] })),
    )
        .into_response()
}
