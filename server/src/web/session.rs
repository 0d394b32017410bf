//! Sessions: the cookie, the look-up on every page request, signing in and
//! out.

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use itf_app::domain::Veteran;
use itf_app::session::{CurrentVeteran, SessionLookupFailed};

use super::error::ApiError;
use super::sign_in::signed_out;
use super::WebState;
use crate::session_token::{SessionToken, SessionTokenHash};
use crate::store::{session_activity, Session, SignInMethod, StoreError};

pub const COOKIE_NAME: &str = "itf_session";
/// A lifetime that cannot be written as a chrono duration falls back to
/// the default.
const SESSION_LIFETIME: Duration = Duration::hours(12);
/// Pages that only a signed-in veteran can see; others are sent to sign in.
const SIGNED_IN_PAGES: &[&str] = &["/"];

/// The session token the cookie `cookie` carries, if it is well formed.
pub fn cookie_token(headers: &HeaderMap, cookie: &str) -> Option<SessionToken> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .and_then(|(_, value)| SessionToken::parse(value))
}

pub(super) fn session_token(headers: &HeaderMap) -> Option<SessionToken> {
    cookie_token(headers, COOKIE_NAME)
}

/// Resolves the session cookie into the veteran it belongs to.
pub async fn resolve(State(state): State<WebState>, mut request: Request, next: Next) -> Response {
    let mut signed_in = false;
    if let Some(token) = session_token(request.headers()) {
        match veteran_of(&state, token.hash()).await {
            Ok(Some(veteran)) => {
                request.extensions_mut().insert(CurrentVeteran(veteran));
                signed_in = true;
            }
            Ok(None) => {}
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, "session look-up failed");
                request.extensions_mut().insert(SessionLookupFailed);
            }
            Err(error) => return ApiError::from(error).into_response(),
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

/// The veteran whose live session `token` is: from the session cache while
/// the session owes no write, else from the database, ending it if idle and
/// recording its use when due.
async fn veteran_of(
    state: &WebState,
    token: SessionTokenHash,
) -> Result<Option<Veteran>, StoreError> {
    let now = Utc::now();
    let idle = state.config.site.sessions.idle;
    if let Some(session) = state.sessions.find(&token, now, idle) {
        return Ok(Some(session.veteran));
    }
    let read = state.sessions.generation();
    let Some(mut session) = state.store.find_session(&token, now).await? else {
        return Ok(None);
    };
    let (ended, touch) = session_activity(session.last_seen_at, now, idle);
    if ended {
        forget(state.store.delete_session(&token).await);
        state.sessions.end(&token);
        return Ok(None);
    }
    if touch {
        let touched = state.store.touch_session(&token, now).await;
        if touched.is_ok() {
            session.last_seen_at = now;
        }
        forget(touched);
    }
    let veteran = session.veteran.clone();
    state.sessions.keep(token, session, read);
    Ok(Some(veteran))
}

/// A session write whose failure changes nothing for this request: the
/// session's times are checked on every request anyway.
pub fn forget<T>(written: Result<T, crate::store::StoreError>) {
    if let Err(error) = written {
        tracing::warn!(%error, "could not record a session's use or end");
    }
}

/// Starts a session for `veteran`, ending the one the browser came with,
/// and sends the browser to the start page: a session id from before a
/// sign-in never outlives it.
pub async fn start_session(
    state: &WebState,
    previous: &HeaderMap,
    veteran: itf_app::domain::Veteran,
    signed_in_with: SignInMethod,
) -> Result<(HeaderMap, Redirect), ApiError> {
    if let Some(old) = session_token(previous) {
        state.store.delete_session(&old.hash()).await?;
        state.sessions.end(&old.hash());
    }
    let token = SessionToken::generate();
    let created_at = Utc::now();
    let lifetime = state.config.site.sessions.lifetime;
    let session = Session {
        veteran,
        created_at,
        expires_at: created_at + chrono::Duration::from_std(lifetime).unwrap_or(SESSION_LIFETIME),
        last_seen_at: created_at,
        signed_in_with,
    };
    state.store.create_session(&token.hash(), &session).await?;
    let cookie = session_cookie(
        token.expose(),
        i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
        state.config.site.secure_cookies(),
    );
    Ok((cookie_header(&cookie), Redirect::to("/")))
}

pub fn cookie_header(cookie: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.insert(SET_COOKIE, value);
    }
    headers
}

/// `POST /sign-out`: ends the session, wherever it was started, and the
/// provider's too where it says how.
pub async fn sign_out(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The cookie is cleared even when the database cannot end the session:
    // the browser is signed out either way.
    let ended = match session_token(&headers) {
        Some(token) => {
            let ended = state.store.delete_session(&token.hash()).await;
            state.sessions.end(&token.hash());
            ended
        }
        None => Ok(None),
    };
    let cookie = session_cookie("", 0, state.config.site.secure_cookies());
    Ok(signed_out(&cookie, ended, state.sign_in.as_deref(), "/sign-in").await)
}

fn session_cookie(value: &str, max_age_seconds: i64, secure: bool) -> String {
    cookie(COOKIE_NAME, value, "Lax", max_age_seconds, secure)
}

/// A session cookie: HttpOnly, for the whole site; `value` empty and no
/// age to end it.
pub fn cookie(
    name: &str,
    value: &str,
    same_site: &str,
    max_age_seconds: i64,
    secure: bool,
) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_seconds}{secure}"
    )
}

/// Removes expired sessions once an hour, for as long as the process runs.
pub async fn sweep_expired(store: std::sync::Arc<dyn crate::store::Store>) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        match store.delete_expired_sessions(Utc::now()).await {
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
