//! Who may call: state-changing requests are accepted from this site's own
//! pages, or from an origin on `ITF_ALLOWED_ORIGINS` (VA.gov's front end on
//! www.va.gov calling api.va.gov) when they carry the session's CSRF token.
//! The session cookie is `SameSite=Lax`, so it reaches us only from the
//! same site; CORS lets pages on the listed origins read our answers, and
//! every answer to a signed-in browser carries its CSRF token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::error::ApiError;
use super::inflection;
use super::session::session_token;

/// The header that carries the session's CSRF token, both ways.
pub const CSRF_HEADER: HeaderName = HeaderName::from_static("x-csrf-token");

/// The other origins allowed to call with the veteran's session.
#[derive(Clone, Default)]
pub struct AllowedOrigins(Arc<Vec<String>>);

impl AllowedOrigins {
    pub fn new(origins: Vec<String>) -> Self {
        Self(Arc::new(origins))
    }

    fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }

    /// CORS for the listed origins, with credentials, and the CSRF token's
    /// header readable by their pages; none when no origin is listed.
    pub fn cors(&self) -> Option<CorsLayer> {
        if self.0.is_empty() {
            return None;
        }
        let origins: Vec<HeaderValue> = self
            .0
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_credentials(true)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    CONTENT_TYPE,
                    CSRF_HEADER,
                    HeaderName::from_static(inflection::HEADER),
                    HeaderName::from_static("source-app-name"),
                ])
                .expose_headers([CSRF_HEADER])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

pub async fn check_origin(
    State(allowed): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|origin| origin.to_str().ok());
    match origin {
        _ if safe => {}
        // Same-origin form posts from older browsers, and non-browser
        // clients, send no Origin; the SameSite cookie covers browsers.
        None => {}
        Some(origin) if is_same_origin(origin, &request) => {}
        Some(origin) if allowed.contains(origin) && carries_csrf_token(&request) => {}
        Some(origin) if allowed.contains(origin) => return Err(ApiError::CsrfTokenMissing),
        Some(_) => return Err(ApiError::ForeignOrigin),
    }
    Ok(next.run(request).await)
}

/// Gives every answer to a browser with a session cookie the session's
/// CSRF token, as vets-api does, for pages on listed origins to send back.
pub async fn issue_csrf_token(request: Request, next: Next) -> Response {
    let token = session_token(request.headers()).map(|token| token.csrf_token());
    let mut response = next.run(request).await;
    if let Some(value) = token.and_then(|token| HeaderValue::from_str(&token).ok()) {
        response.headers_mut().insert(CSRF_HEADER, value);
    }
    response
}

fn is_same_origin(origin: &str, request: &Request) -> bool {
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

fn carries_csrf_token(request: &Request) -> bool {
    let sent = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok());
    match (session_token(request.headers()), sent) {
        (Some(session), Some(sent)) => same_text(&session.csrf_token(), sent.trim()),
        _ => false,
    }
}

/// Equal texts, compared in a time that does not depend on where they
/// differ.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |differ, (x, y)| differ | (x ^ y))
            == 0
}
