//! Operators' sessions: the console cookie, its look-up on every request,
//! signing in (development's mock sign-in for now) and out.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use itf_app::domain::Operator;
use itf_app::session::CurrentOperator;

use super::{is_console, ConsoleState};
use crate::session_token::SessionToken;
use crate::store::OperatorSession;
use crate::web::{cookie, cookie_header, cookie_token, ApiError};

/// Not the veterans' cookie: operators' sessions are their own.
pub const COOKIE_NAME: &str = "itf_console_session";
/// An operator's session ends this long after sign-in.
const LIFETIME: Duration = Duration::hours(8);

fn console_cookie(value: &str, max_age_seconds: i64, secure: bool) -> String {
    // Strict: a console form is never posted from another site's page.
    cookie(COOKIE_NAME, value, "Strict", max_age_seconds, secure)
}

/// Resolves the console cookie into the operator it belongs to; a console
/// page without one is sent to sign in, a console form refused.
pub async fn resolve(
    State(state): State<ConsoleState>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut signed_in = false;
    if let Some(token) = cookie_token(request.headers(), COOKIE_NAME) {
        match state
            .store
            .find_operator_session(&token.hash(), Utc::now())
            .await
        {
            Ok(Some(session)) => {
                request
                    .extensions_mut()
                    .insert(CurrentOperator(session.operator));
                signed_in = true;
            }
            Ok(None) => {}
            Err(error) => return ApiError::from(error).into_response(),
        }
    }
    let path = request.uri().path();
    if !signed_in && is_console(path) && !path.starts_with("/console/sign-in") {
        if request.method() == Method::GET {
            return Redirect::to("/console/sign-in").into_response();
        }
        return ApiError::Console {
            status: StatusCode::UNAUTHORIZED,
            title: "Not signed in",
            detail: "Your console session has ended. Sign in to the console and try again.".into(),
        }
        .into_response();
    }
    next.run(request).await
}

/// Starts an operator's session and sends them to the console.
pub async fn start(
    state: &ConsoleState,
    operator: Operator,
) -> Result<(HeaderMap, Redirect), ApiError> {
    let token = SessionToken::generate();
    let created_at = Utc::now();
    let session = OperatorSession {
        operator,
        created_at,
        expires_at: created_at + LIFETIME,
    };
    state
        .store
        .create_operator_session(&token.hash(), &session)
        .await?;
    let cookie = console_cookie(token.expose(), LIFETIME.num_seconds(), state.secure_cookies);
    Ok((cookie_header(&cookie), Redirect::to("/console")))
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
) -> Result<(HeaderMap, Redirect), ApiError> {
    if let Some(token) = cookie_token(&headers, COOKIE_NAME) {
        state.store.delete_operator_session(&token.hash()).await?;
    }
    let cookie = console_cookie("", 0, state.secure_cookies);
    Ok((cookie_header(&cookie), Redirect::to("/console/sign-in")))
}
