//! Structured logs: JSON in production, readable text in development. Levels
//! come from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

use crate::config::Profile;

pub fn init(profile: Profile) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match profile {
        Profile::Production => builder.json().flatten_event(true).init(),
        Profile::Development => builder.init(),
    }
}
