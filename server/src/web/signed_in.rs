//! The signed-in veteran, as an extractor: handlers that need one take
//! `SignedIn`, and a request without one is refused with a typed error.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use itf_app::domain::Veteran;
use itf_app::session::{signed_in, NoVeteran};

use super::error::ApiError;

/// The veteran the request's session belongs to (found by
/// `session::resolve`).
pub struct SignedIn(pub Veteran);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match signed_in(&parts.extensions) {
            Ok(veteran) => Ok(Self(veteran)),
            Err(NoVeteran::SignedOut) => Err(ApiError::NotSignedIn),
            Err(NoVeteran::SessionUnavailable) => Err(ApiError::SessionUnavailable),
        }
    }
}
