//! The calls the console's pages make: each needs a signed-in operator.

use leptos::prelude::*;

use super::model::{Overview, ReportView, RequestFilter, RequestLine, RequestView};
use crate::PageError;

#[cfg(feature = "ssr")]
fn operator_and_source() -> Result<(crate::domain::Operator, super::Console), PageError> {
    let parts = use_context::<http::request::Parts>().ok_or(PageError::SignedOut)?;
    let operator =
        crate::session::signed_in_operator(&parts.extensions).ok_or(PageError::SignedOut)?;
    let console = use_context::<super::Console>().ok_or(PageError::NotFound)?;
    Ok((operator, console))
}

#[server(endpoint = "console-overview")]
pub async fn console_overview() -> Result<Overview, PageError> {
    let (operator, console) = operator_and_source()?;
    console.0.overview(&operator).await
}

#[server(endpoint = "console-requests")]
pub async fn console_requests(filter: RequestFilter) -> Result<Vec<RequestLine>, PageError> {
    operator_and_source()?.1 .0.requests(filter).await
}

#[server(endpoint = "console-request")]
pub async fn console_request(id: String) -> Result<Option<RequestView>, PageError> {
    let (operator, console) = operator_and_source()?;
    console.0.request(&operator, id).await
}

#[server(endpoint = "console-report")]
pub async fn console_report(
    since: Option<String>,
    until: Option<String>,
) -> Result<ReportView, PageError> {
    let (operator, console) = operator_and_source()?;
    console.0.report(&operator, since, until).await
}
