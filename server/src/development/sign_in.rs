//! Mock sign-in: any made-up veteran, at the press of a button.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::response::Redirect;
use axum::Form;
use itf_app::development::{test_operator, test_veteran};
use serde::Deserialize;

use super::review::ReviewState;
use crate::console::start_operator_session;
use crate::store::SignInMethod;
use crate::web::{start_session, ApiError};

#[derive(Deserialize)]
pub struct SignInForm {
    user: String,
}

/// `POST /sign-in/mock`: signs in as a test user.
pub async fn mock_sign_in(
    State(state): State<ReviewState>,
    headers: axum::http::HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<(axum::http::HeaderMap, Redirect), ApiError> {
    let Ok(Form(form)) = form else {
        return Err(ApiError::SignInRefused("Choose a test user to sign in as."));
    };
    let veteran = test_veteran(form.user.trim()).map_err(|_| {
        ApiError::SignInRefused(
            "We don't have a test user with that id. Choose one from the list, \
             or enter a load-test user from load-1 to load-100000.",
        )
    })?;
    start_session(&state.web, &headers, veteran, SignInMethod::Mock).await
}

/// `POST /console/sign-in/mock`: signs in to the console as a test
/// operator (`ops-viewer`, `ops-operator` or `ops-admin`).
pub async fn mock_console_sign_in(
    State(state): State<ReviewState>,
    headers: axum::http::HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<(axum::http::HeaderMap, Redirect), ApiError> {
    let operator = form
        .ok()
        .and_then(|Form(form)| test_operator(form.user.trim()))
        .ok_or(ApiError::Console {
            status: axum::http::StatusCode::BAD_REQUEST,
            title: "We couldn't sign you in",
            detail: "Choose one of the test operators: ops-viewer, ops-operator or ops-admin."
                .into(),
        })?;
    let console = state.web.console.as_ref().ok_or(ApiError::Conflict {
        title: "No console here",
        detail: "This site does not mount the operators' console.",
    })?;
    let session = start_operator_session(console, &headers, operator, SignInMethod::Mock).await?;
    Ok((session, Redirect::to(crate::console::ROOT)))
}
