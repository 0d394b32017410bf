//! How the worker works through jobs.

use std::time::Duration;

use super::reader::{Reader, SECONDS};

#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Jobs one instance works on at once.
    pub concurrency: usize,
    /// Longest wait between two attempts, unless the provider asks for more.
    pub retry_max_delay: Duration,
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
    }
}
