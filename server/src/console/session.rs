//! Operators' sessions: the console cookie, its look-up on every request,
//! signing in at the operators' OpenID provider (or development's mock
//! sign-in) and out.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use itf_app::domain::Operator;
use itf_app::session::CurrentOperator;

use super::{is_console, ConsoleState, ROOT};
use crate::session_token::SessionToken;
use crate::sign_in::operator;
use crate::store::{session_activity, OperatorSession};
use crate::store::{SignInKind, SignInMethod};
use crate::web::{
    begin_sign_in as begin, complete_sign_in, cookie, cookie_header, cookie_token,
    finished as sign_in_finished, forget, signed_out, ApiError, Callback,
};

/// Where operators sign out.
pub const SIGN_OUT: &str = "/console/sign-out";
/// Where the operators' provider sends them back.
pub const CALLBACK: &str = "/console/sign-in/callback";

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

/// Starts an operator's session, ending the one the browser came with;
/// returns the header that sets its cookie.
pub async fn start(
    state: &ConsoleState,
    previous: &HeaderMap,
    operator: Operator,
    signed_in_with: SignInMethod,
) -> Result<HeaderMap, ApiError> {
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
        signed_in_with,
    };
    state
        .store
        .create_operator_session(&token.hash(), &session)
        .await?;
    let max_age = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let cookie = console_cookie(token.expose(), max_age, state.secure_cookies);
    Ok(cookie_header(&cookie))
}

/// The way into the console once signed in. The console cookie is Strict,
/// so a browser coming back from the provider, another site, would not
/// send it along a redirect: a page of ours sends it on instead.
fn to_the_console() -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={ROOT}\">\
         <title>Signed in | ITF console</title></head><body><main>\
         <p>You're signed in. <a href=\"{ROOT}\">Go to the console</a>.</p>\
         </main></body></html>"
    );
    axum::response::Html(page).into_response()
}

/// `POST /console/sign-in/start`: off to the operators' provider.
pub async fn begin_sign_in(State(state): State<ConsoleState>) -> Result<Response, ApiError> {
    let sign_in = provider(&state)?;
    begin(
        state.store.as_ref(),
        &sign_in.client,
        SignInKind::Operator,
        state.secure_cookies,
    )
    .await
}

/// `GET /console/sign-in/callback`: an operator is back from the provider,
/// signed in with the role their groups give, or refused.
pub async fn callback(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Result<Response, ApiError> {
    let sign_in = provider(&state)?;
    let settings = &sign_in.settings;
    let wanted = [settings.id_claim.as_str(), settings.role_claim.as_str()];
    let (cleared, claims) = complete_sign_in(
        state.store.as_ref(),
        &sign_in.client,
        SignInKind::Operator,
        state.secure_cookies,
        &headers,
        callback,
        &wanted,
    )
    .await;
    let operator = claims.and_then(|claims| {
        operator(&claims, settings).map_err(|error| ApiError::SignIn {
            kind: SignInKind::Operator,
            error,
        })
    });
    let signed_in = match operator {
        Ok(operator) => {
            // Not the id: it may be an email address, which no log line carries.
            tracing::info!(role = operator.role.as_str(), "operator signed in");
            start(&state, &headers, operator, SignInMethod::Provider)
                .await
                .map(|session| (session, to_the_console()))
        }
        Err(error) => Err(error),
    };
    Ok(sign_in_finished(SignInKind::Operator, cleared, signed_in))
}

fn provider(state: &ConsoleState) -> Result<&super::ConsoleSignIn, ApiError> {
    state.sign_in.as_deref().ok_or(ApiError::Console {
        status: StatusCode::NOT_FOUND,
        title: "Operator sign-in isn't set up",
        detail: "This site has no operators' sign-in. Contact the team that runs it.".into(),
    })
}

/// `POST /console/sign-out`: ends the console session, and the provider's
/// too where it says how.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ended = match cookie_token(&headers, COOKIE_NAME) {
        Some(token) => state.store.delete_operator_session(&token.hash()).await,
        None => Ok(None),
    };
    let cookie = console_cookie("", 0, state.secure_cookies);
    let client = state
        .sign_in
        .as_ref()
        .map(|sign_in| sign_in.client.as_ref());
    Ok(signed_out(&cookie, ended, client, "/console/sign-in").await)
}
