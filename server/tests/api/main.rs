//! The integration tests: the real app on port 0, over real HTTP, against
//! fresh databases and a simulator of the provider on loopback.

#[path = "../support/mod.rs"]
mod support;

mod contract;
