//! The operators' console: the overview, the requests, one request's
//! timeline with its repairs, and the remediation report. Server-rendered
//! pages whose forms post to the server, served without WebAssembly.

mod model;
#[cfg(feature = "ssr")]
mod pages;
#[cfg(not(feature = "ssr"))]
#[path = "unhydrated.rs"]
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
