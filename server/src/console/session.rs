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
use crate::store::{session_activity, OperatorSession};
use crate::web::{cookie, cookie_header, cookie_token, forget, ApiError};

/// Where operators sign out.
pub const SIGN_OUT: &str = "/console/sign-out";

/// Not the veterans' cookie: operators' sessions are their own.
pub const COOKIE_NAME: &str = "itf_console_session";
/// A lifetime that cannot be written as a chrono duration falls back to
/// this.
const LIFETIME: Duration = Duration::hours(12);

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
    // Signing out needs no session, and must work with the database down.
    if request.uri().path() == SIGN_OUT {
        return next.run(request).await;
    }
    let mut signed_in = false;
    if let Some(token) = cookie_token(request.headers(), COOKIE_NAME) {
        let now = Utc::now();
        match state.store.find_operator_session(&token.hash(), now).await {
            Ok(Some(session)) => {
                let (ended, touch) =
                    session_activity(session.last_seen_at, now, state.sessions.idle);
                if ended {
                    forget(state.store.delete_operator_session(&token.hash()).await);
                } else {
                    if touch {
                        forget(state.store.touch_operator_session(&token.hash(), now).await);
                    }
                    request
                        .extensions_mut()
                        .insert(CurrentOperator(session.operator));
                    signed_in = true;
                }
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

/// Starts an operator's session, ending the one the browser came with, and
/// sends them to the console.
pub async fn start(
    state: &ConsoleState,
    previous: &HeaderMap,
    operator: Operator,
) -> Result<(HeaderMap, Redirect), ApiError> {
    if let Some(old) = cookie_token(previous, COOKIE_NAME) {
        state.store.delete_operator_session(&old.hash()).await?;
    }
    let token = SessionToken::generate();
    let created_at = Utc::now();
    let lifetime = state.sessions.lifetime;
    let session = OperatorSession {
        operator,
        created_at,
        expires_at: created_at + Duration::from_std(lifetime).unwrap_or(LIFETIME),
        last_seen_at: created_at,
    };
    state
        .store
        .create_operator_session(&token.hash(), &session)
        .await?;
    let max_age = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let cookie = console_cookie(token.expose(), max_age, state.secure_cookies);
    Ok((cookie_header(&cookie), Redirect::to("/console")))
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
) -> Result<(HeaderMap, Redirect), ApiError> {
    if let Some(token) = cookie_token(&headers, COOKIE_NAME) {
        forget(state.store.delete_operator_session(&token.hash()).await);
    }
    let cookie = console_cookie("", 0, state.secure_cookies);
    Ok((cookie_header(&cookie), Redirect::to("/console/sign-in")))
}
