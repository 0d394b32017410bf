//! The console's pages in the browser's build: none. The console is
//! served without WebAssembly (the shell leaves out the hydration scripts
//! under `/console`), its forms posting to the server, so veterans do not
//! download the operators' pages with their own.

use leptos::prelude::*;

#[component]
pub fn ConsoleSignInPage() -> impl IntoView {}

#[component]
pub fn ConsoleOverviewPage() -> impl IntoView {}

#[component]
pub fn ConsoleRequestsPage() -> impl IntoView {}

#[component]
pub fn ConsoleRequestPage() -> impl IntoView {}

#[component]
pub fn ConsoleReportPage() -> impl IntoView {}
