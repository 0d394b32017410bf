//! State-changing requests are accepted only from this site's own pages.
//! The session cookie is `SameSite=Lax`; this refuses a foreign `Origin`
//! header as well, for browsers and clients that send one.

use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

pub async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(&request) {
        next.run(request).await
    } else {
        ApiError::ForeignOrigin.into_response()
    }
}

fn is_same_origin(request: &Request) -> bool {
    let Some(origin) = request.headers().get(ORIGIN) else {
        // Same-origin form posts from older browsers, and non-browser
        // clients, send no Origin; the SameSite cookie covers browsers.
        return true;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}
