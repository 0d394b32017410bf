//! The operators' console: the overview, the requests, one request's
//! timeline with its repairs, and the remediation report. Server-rendered
//! pages whose forms post to the server, so that each works without
//! WebAssembly.

mod model;
mod pages;
pub mod server_fns;

pub use model::{
    Count, DriftLine, HourOfAttempts, ItfView, Overview, ReportView, RequestFilter, RequestLine,
    RequestView, RolloutChange, RolloutLine, TimelineEntry, WebhookLine,
};
pub use pages::{
    ConsoleOverviewPage, ConsoleReportPage, ConsoleRequestPage, ConsoleRequestsPage,
    ConsoleSignInPage,
};

#[cfg(feature = "ssr")]
pub use model::{Answer, Console, ConsoleSource};
