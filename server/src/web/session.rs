//! Sessions: the cookie, the look-up on every page request, and mock sign-in
//! (development only).

use axum::extract::rejection::FormRejection;
use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Duration, Utc};
use itf_app::domain::test_veteran;
use itf_app::session::{CurrentVeteran, SessionLookupFailed};
use serde::Deserialize;

use super::error::AppError;
use super::AppState;
use crate::session_token::SessionToken;
use crate::store::Session;

pub const COOKIE_NAME: &str = "itf_session";
/// A session ends this long after sign-in.
const SESSION_LIFETIME: Duration = Duration::hours(12);
/// Pages that only a signed-in veteran can see; others are sent to sign in.
const SIGNED_IN_PAGES: &[&str] = &["/"];

fn session_token(headers: &HeaderMap) -> Option<SessionToken> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| SessionToken::parse(value))
}

/// Resolves the session cookie into the veteran it belongs to.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut signed_in = false;
    if let Some(token) = session_token(request.headers()) {
        match state.store.find_session(&token.hash(), Utc::now()).await {
            Ok(Some(session)) => {
                request
                    .extensions_mut()
                    .insert(CurrentVeteran(session.veteran));
                signed_in = true;
            }
            Ok(None) => {}
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, "session look-up failed");
                request.extensions_mut().insert(SessionLookupFailed);
            }
            Err(error) => return AppError::from(error).into_response(),
        }
    }
    let must_sign_in = !signed_in
        && request.method() == Method::GET
        && request.extensions().get::<SessionLookupFailed>().is_none()
        && SIGNED_IN_PAGES.contains(&request.uri().path());
    if must_sign_in {
        return Redirect::to("/sign-in").into_response();
    }
    next.run(request).await
}

#[derive(Deserialize)]
pub struct SignInForm {
    user: String,
}

/// `POST /sign-in/mock`: signs in as a test user. Mounted only where the
/// development surfaces are.
pub async fn mock_sign_in(
    State(state): State<AppState>,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, AppError> {
    let Ok(Form(form)) = form else {
        return Ok(sign_in_problem("Choose a test user to sign in as."));
    };
    let Ok(veteran) = test_veteran(form.user.trim()) else {
        return Ok(sign_in_problem(
            "We don't have a test user with that id. Choose one from the list, \
             or enter a load-test user from load-1 to load-100000.",
        ));
    };
    let token = SessionToken::generate();
    let created_at = Utc::now();
    let session = Session {
        veteran,
        created_at,
        expires_at: created_at + SESSION_LIFETIME,
    };
    state.store.create_session(&token.hash(), &session).await?;
    let cookie = session_cookie(
        token.expose(),
        SESSION_LIFETIME.num_seconds(),
        state.config.secure_cookies(),
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// `POST /sign-out`: ends the session, wherever it was started.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = session_token(&headers) {
        state.store.delete_session(&token.hash()).await?;
    }
    let cookie = session_cookie("", 0, state.config.secure_cookies());
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/sign-in")).into_response())
}

fn session_cookie(value: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    )
}

/// Mock sign-in is a plain HTML form, so its problems are answered as a page.
fn sign_in_problem(message: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in | Veterans Affairs</title></head><body><main>\
         <h1>We couldn't sign you in</h1><p role=\"alert\">{message}</p>\
         <p><a href=\"/sign-in\">Go back to sign in</a></p></main></body></html>"
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

/// Removes expired sessions once an hour, for as long as the process runs.
pub async fn sweep_expired(state: AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        match state.store.delete_expired_sessions(Utc::now()).await {
            Ok(removed) => tracing::debug!(removed, "expired sessions removed"),
            Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_our_cookie_among_others() {
        let token = SessionToken::generate();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=1; {COOKIE_NAME}={}; b=2", token.expose())).unwrap(),
        );
        assert_eq!(session_token(&headers), Some(token));
    }

    #[test]
    fn ignores_a_forged_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("itf_session=not-a-token"));
        assert_eq!(session_token(&headers), None);
    }
}
