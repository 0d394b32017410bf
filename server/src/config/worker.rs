//! How the worker works through jobs.

use std::time::Duration;

use super::reader::{Reader, HOURS, SECONDS};

#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Jobs one instance works on at once.
    pub concurrency: usize,
    /// Longest wait between two attempts, unless the provider asks for more.
    pub retry_max_delay: Duration,
    /// How long a claimed job stays a worker's without a renewal, by the
    /// database's clock: how soon a dead instance's jobs are taken over.
    pub lease: Duration,
    /// How often a turn under way renews its lease.
    pub heartbeat: Duration,
    /// How often every request that needs attention is asked about again.
    pub recheck_every: Duration,
}

pub fn read(reader: &mut Reader<'_>) -> WorkerConfig {
    WorkerConfig {
        concurrency: reader.parsed(
            "ITF_WORKER_CONCURRENCY",
            8,
            "use a whole number from 1 to 1000",
            |text| text.parse().ok().filter(|n| (1..=1000).contains(n)),
        ),
        retry_max_delay: reader.duration(
            "ITF_RETRY_MAX_DELAY",
            Duration::from_secs(30),
            SECONDS,
            1..=86_400,
        ),
        lease: reader.duration(
            "ITF_LEASE_SECONDS",
            Duration::from_secs(25),
            SECONDS,
            2..=3600,
        ),
        heartbeat: reader.duration(
            "ITF_HEARTBEAT_SECONDS",
            Duration::from_secs(5),
            SECONDS,
            1..=600,
        ),
        recheck_every: reader.duration(
            "ITF_NEEDS_ATTENTION_RECHECK_HOURS",
            Duration::from_secs(24 * 3600),
            HOURS,
            1..=24 * 30,
        ),
    }
}

/// Time kept between the end of a provider call and the end of the lease
/// it was sent under, for the network and the clocks.
pub const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// The least time a renewed lease leaves to start a request in.
pub const LEASE_ROOM: Duration = Duration::from_secs(1);

/// A provider call is sent only while the lease outlives it, so the lease
/// must be longer than one call, and renewed more often than it runs out.
pub fn check_lease(reader: &mut Reader<'_>, worker: &WorkerConfig, call_timeout: Duration) {
    let least = call_timeout + LEASE_MARGIN + LEASE_ROOM;
    if worker.lease < least {
        reader.problem(
            "ITF_LEASE_SECONDS",
            format_args!(
                "must be at least the provider timeout (LIGHTHOUSE_TIMEOUT_MS, {} s) plus {} s, \
                 {} s in all",
                call_timeout.as_secs_f64(),
                (LEASE_MARGIN + LEASE_ROOM).as_secs(),
                least.as_secs_f64().ceil()
            ),
        );
    }
    if worker.heartbeat >= worker.lease {
        reader.problem(
            "ITF_HEARTBEAT_SECONDS",
            "must be shorter than ITF_LEASE_SECONDS",
        );
    }
}
