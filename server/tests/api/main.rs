//! The integration tests, one binary: the real app on port 0, over real
//! HTTP, against fresh databases and a simulator of the provider on
//! loopback; and the `itf-async` binary as operators run it.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a broken assumption should fail the test where it breaks"
)]

mod support;

mod alerts;
mod budget;
mod circuit;
mod cli;
mod console;
mod contract;
mod faults;
mod http;
mod intake;
mod leases;
mod logs;
mod messages;
mod provider;
mod provider_answers;
mod provider_logs;
mod recovery;
mod remediation;
mod rollout;
mod sealing;
mod service;
mod sessions;
mod sign_in;
mod store_conformance;
mod store_repairs;
mod store_webhooks;
mod va_gov;
mod va_notify;
mod webhooks;
