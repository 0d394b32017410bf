//! Signing in at the OpenID provider, for veterans here and for operators
//! in the console: sending the browser there with a fresh `state`, and
//! taking it back. A `state` is good once, for ten minutes, and only in
//! the browser it was made for (a cookie carries it there and back).

use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::error::ApiError;
use super::session::{cookie, cookie_header, cookie_token, start_session};
use super::WebState;
use crate::metrics;
use crate::session_token::SessionToken;
use crate::sign_in::{veteran, Claims, OpenIdClient, SignInError};
use crate::store::{SignInKind, SignInMethod, Store, StoreError};

/// Where the provider sends veterans back.
pub const CALLBACK: &str = "/sign-in/callback";

/// The cookie that ties a sign-in to the browser that started it. Lax: it
/// must come along when the provider sends the browser back.
fn state_cookie_name(kind: SignInKind) -> &'static str {
    match kind {
        SignInKind::Veteran => "itf_sign_in",
        SignInKind::Operator => "itf_console_sign_in",
    }
}

/// Sends the browser to the provider to sign in, keeping what the way
/// back needs.
pub async fn begin(
    store: &dyn Store,
    client: &OpenIdClient,
    kind: SignInKind,
    secure: bool,
) -> Result<Response, ApiError> {
    let begun = client
        .begin()
        .await
        .map_err(|error| ApiError::SignIn { kind, error })?;
    store
        .begin_sign_in(&begun.state.hash(), &begun.attempt)
        .await?;
    let max_age = (begun.attempt.expires_at - Utc::now()).num_seconds();
    let cookie = cookie(
        state_cookie_name(kind),
        begun.state.expose(),
        "Lax",
        max_age,
        secure,
    );
    Ok((
        cookie_header(&cookie),
        Redirect::to(begun.authorize_url.as_str()),
    )
        .into_response())
}

/// What the provider sends the browser back with.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The provider's issuer, where it says (RFC 9207): a code from
    /// another provider is never sent to this one.
    iss: Option<String>,
}

/// Takes a sign-in back from the provider: the `state` must be the one
/// this browser was sent with, and still under way; then the code is
/// exchanged and the id token checked. Returns the claims and the header
/// that clears the state cookie, whatever comes of it.
pub async fn complete(
    store: &dyn Store,
    client: &OpenIdClient,
    kind: SignInKind,
    secure: bool,
    headers: &HeaderMap,
    callback: Callback,
    wanted: &[&str],
) -> (HeaderMap, Result<Claims, ApiError>) {
    let cleared = cookie_header(&cookie(state_cookie_name(kind), "", "Lax", 0, secure));
    let refused = |error| ApiError::SignIn { kind, error };
    let claims = async {
        if let Some(error) = callback.error {
            // An OAuth error code, such as `access_denied`; anything else
            // in that place is not repeated to the log.
            let code = Some(error)
                .filter(|code| {
                    code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                })
                .unwrap_or_else(|| "unreadable".to_owned());
            return Err(refused(SignInError::Refused(code)));
        }
        if callback
            .iss
            .as_deref()
            .is_some_and(|iss| iss != client.issuer())
        {
            return Err(refused(SignInError::Rejected(
                "the callback names another issuer".into(),
            )));
        }
        let state = callback.state.as_deref().and_then(SessionToken::parse);
        let ours = cookie_token(headers, state_cookie_name(kind));
        let (Some(state), Some(code)) = (state, callback.code) else {
            return Err(refused(SignInError::UnknownState));
        };
        if ours.as_ref() != Some(&state) {
            return Err(refused(SignInError::UnknownState));
        }
        let attempt = store
            .take_sign_in(&state.hash(), Utc::now())
            .await?
            .filter(|attempt| attempt.kind == kind)
            .ok_or(refused(SignInError::UnknownState))?;
        client.finish(code, &attempt, wanted).await.map_err(refused)
    }
    .await;
    (cleared, claims)
}

/// `POST /sign-in/start`.
pub async fn start(State(state): State<WebState>) -> Result<Response, ApiError> {
    let client = veterans_client(&state)?;
    begin(
        state.store.as_ref(),
        client,
        SignInKind::Veteran,
        state.config.site.secure_cookies(),
    )
    .await
}

/// `GET /sign-in/callback`: the veteran is back from the provider.
pub async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Result<Response, ApiError> {
    let client = veterans_client(&state)?;
    let settings = state
        .config
        .sign_in
        .veteran
        .as_ref()
        .ok_or(ApiError::SignInRefused(
            "Sign-in isn't set up on this site.",
        ))?;
    let wanted = [
        settings.icn_claim.as_str(),
        settings.first_name_claim.as_str(),
    ];
    let secure = state.config.site.secure_cookies();
    let (cleared, claims) = complete(
        state.store.as_ref(),
        client,
        SignInKind::Veteran,
        secure,
        &headers,
        callback,
        &wanted,
    )
    .await;
    let signed_in = match claims.and_then(|claims| {
        veteran(&claims, settings).map_err(|error| ApiError::SignIn {
            kind: SignInKind::Veteran,
            error,
        })
    }) {
        Ok(veteran) => start_session(&state, &headers, veteran, SignInMethod::Provider)
            .await
            .map(|(session, to_start)| (session, to_start.into_response())),
        Err(error) => Err(error),
    };
    Ok(finished(SignInKind::Veteran, cleared, signed_in))
}

/// The answer to a callback: the new session's cookie and the way in, or
/// the refusal; the state cookie cleared either way, and the outcome
/// counted.
pub fn finished(
    kind: SignInKind,
    cleared: HeaderMap,
    signed_in: Result<(HeaderMap, Response), ApiError>,
) -> Response {
    match signed_in {
        Ok((mut session, way_in)) => {
            metrics::sign_in(kind, "signed_in");
            add_cookies(&mut session, &cleared);
            (session, way_in).into_response()
        }
        Err(error) => {
            if let ApiError::SignIn { error: why, .. } = &error {
                metrics::sign_in(kind, why.outcome());
            }
            (cleared, error).into_response()
        }
    }
}

/// The answer to signing out: `cleared`, the cookie that ends our session,
/// and, for a session that was `ended` and had been started at the
/// provider, the way to the provider's sign-out (where `client` knows it);
/// else the way `back`. With the database down the cookie still goes.
pub async fn signed_out(
    cleared: &str,
    ended: Result<Option<SignInMethod>, StoreError>,
    client: Option<&OpenIdClient>,
    back: &str,
) -> Response {
    let at_provider = match (ended, client) {
        (Ok(Some(SignInMethod::Provider)), Some(client)) => client.sign_out_url().await,
        (Err(error), _) => {
            tracing::warn!(%error, "could not end a session; its cookie is cleared");
            None
        }
        _ => None,
    };
    let to = at_provider.map_or_else(|| back.to_owned(), String::from);
    (cookie_header(cleared), Redirect::to(&to)).into_response()
}

/// Adds `more`'s cookies to `headers`, keeping those already there.
fn add_cookies(headers: &mut HeaderMap, more: &HeaderMap) {
    for value in more.get_all(SET_COOKIE) {
        headers.append(SET_COOKIE, value.clone());
    }
}

fn veterans_client(state: &WebState) -> Result<&OpenIdClient, ApiError> {
    state.sign_in.as_deref().ok_or(ApiError::SignInRefused(
        "Sign-in isn't set up on this site.",
    ))
}
