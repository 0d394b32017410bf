//! The web layer's one error type, mapped once to a status and to words a
//! person can act on. API bodies follow the REST contract
//! (`{"errors":[{"title","detail"}]}`) and carry no PII; the mock sign-in
//! form, a page, is answered with a page.

use std::borrow::Cow;

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::sign_in::SignInError;
use crate::store::{SignInKind, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not signed in")]
    NotSignedIn,
    /// The session could not be looked up: our database is unavailable.
    #[error("the session could not be looked up")]
    SessionUnavailable,
    /// A veteran's ITF request could not be looked up or recorded.
    #[error("an ITF request could not be looked up or recorded: {0}")]
    NotRecorded(#[source] StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("request from another site")]
    ForeignOrigin,
    /// A state-changing call from a listed origin without the session's
    /// CSRF token.
    #[error("request from a listed origin without the CSRF token")]
    CsrfTokenMissing,
    /// An answer could not be read back to be rewritten (camelCase keys).
    #[error("the answer could not be read back")]
    AnswerUnreadable,
    #[error("unknown ITF type")]
    UnknownItfType,
    /// Pension and survivor are created synchronously; the provider did not
    /// answer.
    #[error("the ITF provider is unavailable")]
    ProviderUnavailable,
    #[error("the ITF provider refused the request")]
    ProviderRefused,
    #[error("not ready: {0}")]
    NotReady(&'static str),
    /// A form that cannot be read (development controls).
    #[error("{title}")]
    BadForm {
        title: &'static str,
        detail: Cow<'static, str>,
    },
    /// The action is for another part of the system.
    #[error("{title}")]
    Conflict {
        title: &'static str,
        detail: &'static str,
    },
    /// Sign-in at the OpenID provider did not end in a session.
    #[error("{kind:?} sign-in failed: {error}")]
    SignIn {
        kind: SignInKind,
        error: SignInError,
    },
    /// Mock sign-in, a plain HTML form, refused the user.
    #[error("sign-in refused")]
    SignInRefused(&'static str),
    /// A call to the service API refused.
    #[error("service call refused: {0:?}")]
    Service(ServiceRefusal),
    /// A console form or download refused: answered with a page that leads
    /// back to the console.
    #[error("{title}")]
    Console {
        status: StatusCode,
        title: &'static str,
        detail: Cow<'static, str>,
    },
}

const TRY_AGAIN: &str = "Try again in a few minutes.";

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, Cow<'static, str>) {
        use StatusCode as S;
        match self {
            Self::NotSignedIn => (
                S::UNAUTHORIZED,
                "Not signed in",
                "Sign in to see or request your Intent to File.".into(),
            ),
            Self::SessionUnavailable | Self::NotRecorded(_) => (
                S::SERVICE_UNAVAILABLE,
                "Request not saved",
                format!("We couldn't save your request right now. {TRY_AGAIN}").into(),
            ),
            Self::Store(error) if error.is_unavailable() => (
                S::SERVICE_UNAVAILABLE,
                "Service unavailable",
                format!("We can't reach our records right now. {TRY_AGAIN}").into(),
            ),
            Self::Store(_) | Self::AnswerUnreadable => (
                S::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our end. Try again in a few minutes; \
                 if it keeps happening, call us at 800-827-1000."
                    .into(),
            ),
            Self::ForeignOrigin => refused(
                "This action can only be taken from this site's own pages. \
                 Go back to the site and try again there.",
            ),
            Self::CsrfTokenMissing => refused(
                "This request didn't carry the security token of your session. \
                 Reload the page and try again.",
            ),
            Self::UnknownItfType => (
                S::BAD_REQUEST,
                "Unknown ITF type",
                "The type must be compensation, pension or survivor.".into(),
            ),
            Self::ProviderUnavailable => (
                S::SERVICE_UNAVAILABLE,
                "Intent to File service unavailable",
                format!("We can't reach the Intent to File service right now. {TRY_AGAIN}").into(),
            ),
            Self::ProviderRefused => (
                S::UNPROCESSABLE_ENTITY,
                "Intent to File not accepted",
                "We couldn't create your Intent to File. Call us at 800-827-1000 and we'll help."
                    .into(),
            ),
            Self::NotReady(why) => (S::SERVICE_UNAVAILABLE, "Not ready", not_ready(why)),
            Self::BadForm { title, detail } => (S::BAD_REQUEST, *title, detail.clone()),
            Self::Conflict { title, detail } => (S::CONFLICT, *title, (*detail).into()),
            Self::SignIn { error, .. } => sign_in_parts(error),
            Self::SignInRefused(why) => (S::BAD_REQUEST, "We couldn't sign you in", (*why).into()),
            Self::Service(refusal) => service_parts(*refusal),
            Self::Console {
                status,
                title,
                detail,
            } => (*status, *title, detail.clone()),
        }
    }
}

fn refused(detail: &'static str) -> (StatusCode, &'static str, Cow<'static, str>) {
    (StatusCode::FORBIDDEN, "Request refused", detail.into())
}

/// Why the service API refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRefusal {
    /// No service token we know.
    NotAuthenticated,
    /// A body we cannot read.
    Unreadable,
}

fn service_parts(refusal: ServiceRefusal) -> (StatusCode, &'static str, Cow<'static, str>) {
    match refusal {
        ServiceRefusal::NotAuthenticated => (
            StatusCode::UNAUTHORIZED,
            "Not authenticated",
            "Send a service token this service knows, as `Authorization: Bearer <token>`.".into(),
        ),
        ServiceRefusal::Unreadable => (
            StatusCode::BAD_REQUEST,
            "Unreadable request",
            "Send JSON with `icn` (a well-formed ICN) and `type` (compensation, pension or \
             survivor)."
                .into(),
        ),
    }
}

const CALL_MYVA411: &str = "call MyVA411 at 800-698-2411 (TTY: 711) and we'll help.";

fn sign_in_parts(error: &SignInError) -> (StatusCode, &'static str, Cow<'static, str>) {
    use StatusCode as S;
    match error {
        SignInError::Unavailable(_) => (
            S::SERVICE_UNAVAILABLE,
            "Sign-in isn't available right now",
            format!("We can't reach the sign-in service right now. {TRY_AGAIN}").into(),
        ),
        SignInError::UnknownState => (
            S::BAD_REQUEST,
            "This sign-in has ended",
            "This sign-in was already used, was started in another browser, or is more \
             than 10 minutes old. Sign in again."
                .into(),
        ),
        SignInError::Refused(_) => (
            S::BAD_REQUEST,
            "You weren't signed in",
            "The sign-in service didn't sign you in. If you cancelled, sign in again \
             when you're ready."
                .into(),
        ),
        SignInError::Rejected(_) => (
            S::BAD_REQUEST,
            "We couldn't confirm your sign-in",
            format!("We couldn't confirm who signed in. Sign in again; if it keeps happening, {CALL_MYVA411}").into(),
        ),
        SignInError::NoIcn => (
            S::FORBIDDEN,
            "We can't find your VA records from this account",
            format!(
                "The account you signed in with doesn't give us your VA identifier (ICN), \
                 so we can't look up or request an Intent to File for you. Sign in with \
                 another account, or {CALL_MYVA411}"
            )
            .into(),
        ),
        SignInError::NoRole { id } => (
            S::FORBIDDEN,
            "You don't have a role in the console",
            format!(
                "You signed in as {id}, but your account isn't in any group that gives a \
                 role in the ITF console. Ask your team lead to add you to the viewers', \
                 operators' or admins' group, then sign in again."
            )
            .into(),
        ),
    }
}

fn not_ready(why: &str) -> Cow<'static, str> {
    format!("{why} Check that the database is running and reachable; this instance keeps trying.")
        .into()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title, detail) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request refused");
        }
        match self {
            Self::SignIn {
                kind: SignInKind::Veteran,
                ..
            }
            | Self::SignInRefused(_) => {
                let page = problem_page(title, &detail, "/sign-in", "Go back to sign in");
                return (status, Html(page)).into_response();
            }
            Self::Console { .. } => {
                let page = problem_page(title, &detail, "/console", "Go back to the console");
                return (status, Html(page)).into_response();
            }
            Self::SignIn {
                kind: SignInKind::Operator,
                ..
            } => {
                let page =
                    problem_page(title, &detail, "/console/sign-in", "Sign in to the console");
                return (status, Html(page)).into_response();
            }
            _ => {}
        }
        let body = Json(json!({ "errors": [{ "title": title, "detail": detail }] }));
        if matches!(self, Self::Service(ServiceRefusal::NotAuthenticated)) {
            return (status, [(WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        (status, body).into_response()
    }
}

/// A page for a refused form: what happened, what to do, and the way back.
fn problem_page(title: &str, detail: &str, back: &str, back_text: &str) -> String {
    let (title, detail) = (escape_html(title), escape_html(detail));
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} | Veterans Affairs</title></head><body><main>\
         <h1>{title}</h1><p role=\"alert\">{detail}</p>\
         <p><a href=\"{back}\">{back_text}</a></p></main></body></html>"
    )
}

/// Text made safe to put in HTML.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
