//! Structured logs: JSON in production, readable text in development. Levels
//! come from `RUST_LOG` (default `info`). Records of the `log` crate, which
//! dependencies such as reqwest write with URLs in them (and our URLs hold
//! ICNs), pass only at `warn` and above, whatever `RUST_LOG` says.

use std::io::IsTerminal;

use tracing_log::log::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::config::Profile;

pub fn init(profile: Profile) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in a log file.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let installed = match profile {
        Profile::Production => {
            tracing::subscriber::set_global_default(builder.json().flatten_event(true).finish())
        }
        Profile::Development => tracing::subscriber::set_global_default(builder.finish()),
    };
    if installed.is_ok() {
        let _ = tracing_log::LogTracer::builder()
            .with_max_level(LevelFilter::Warn)
            .init();
    }
}
