//! A turn's hold on its job. Each request to the provider is sent only if
//! it starts in time to end, with a margin, before the lease does, counted
//! from before the statement that last took or renewed it (by the
//! database's clock). So a job taken over after its lease ran out can meet
//! no request of its old holder still on its way, and a turn that stalled
//! past its lease sends nothing more. Before a creation the lease is always
//! renewed, in the statement that checks the job is still ours: a job taken
//! over or closed by an operator meanwhile gets no ITF from this turn. A
//! look-up, which changes nothing at the provider, goes without a renewal
//! while the lease taken with the job still leaves room. A heartbeat renews
//! the lease in between. Each request also waits for its call from the
//! provider budget shared by every instance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::budget::Budget;
use crate::config::{LEASE_MARGIN, LEASE_ROOM};
use crate::provider::{Fence, RateLimits, POST_ROUTE};
use crate::store::{ClaimedJob, Store};

pub struct Lease {
    store: Arc<dyn Store>,
    budget: Arc<Budget>,
    job_id: String,
    token: String,
    lease: Duration,
    /// The longest a provider request may take.
    call_timeout: Duration,
    /// The instant by which a request must start to end inside the lease
    /// as last taken or renewed.
    start_by: Mutex<Instant>,
    /// Set while a test stalls the turn, so that the heartbeat stops as a
    /// stopped process's would.
    stalled: AtomicBool,
}

impl Lease {
    /// The lease on `job`, taken by a statement sent after `taken`.
    pub fn new(
        store: Arc<dyn Store>,
        budget: Arc<Budget>,
        job: &ClaimedJob,
        taken: Instant,
        lease: Duration,
        call_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            budget,
            job_id: job.id.clone(),
            token: job.lease_token.clone(),
            lease,
            call_timeout,
            start_by: Mutex::new(taken + room(lease, call_timeout)),
            stalled: AtomicBool::new(false),
        })
    }

    fn start_by(&self) -> Instant {
        *self
            .start_by
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn renew(&self) -> bool {
        // Taken before the renewal: the database's "now" is no earlier.
        let asked = Instant::now();
        match self
            .store
            .renew_lease(&self.job_id, &self.token, self.lease)
            .await
        {
            Ok(true) => {
                let mut start_by = self
                    .start_by
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *start_by = (*start_by).max(asked + room(self.lease, self.call_timeout));
                true
            }
            Ok(false) => {
                tracing::warn!("the job's lease is another's now; leaving the job to it");
                false
            }
            Err(error) => {
                tracing::warn!(%error, "could not renew the job's lease");
                false
            }
        }
    }

    /// Renews the lease every `every` until the returned guard is dropped.
    pub fn keep_alive(self: &Arc<Self>, every: Duration) -> Heartbeat {
        let lease = self.clone();
        let beat = async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if !lease.stalled.load(Ordering::Acquire) && !lease.renew().await {
                    return;
                }
            }
        };
        Heartbeat(tokio::spawn(beat.instrument(tracing::Span::current())))
    }

    /// Test builds only (the `failpoints` feature):
    /// `ITF_FAILPOINT_STALL_AFTER_POST_CHECK_MS` stalls the turn right after
    /// the lease check before a POST, heartbeat included, as a stopped
    /// process would stall.
    #[cfg(feature = "failpoints")]
    async fn failpoint(&self, route: &str) {
        let stall = std::env::var("ITF_FAILPOINT_STALL_AFTER_POST_CHECK_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(Duration::from_millis);
        if let Some(stall) = stall.filter(|_| route == POST_ROUTE) {
            self.stalled.store(true, Ordering::Release);
            tokio::time::sleep(stall).await;
            self.stalled.store(false, Ordering::Release);
        }
    }

    #[cfg(not(feature = "failpoints"))]
    async fn failpoint(&self, _route: &str) {}
}

#[async_trait::async_trait]
impl Fence for Lease {
    async fn admit(&self, route: &'static str) -> Option<Instant> {
        // The heartbeat keeps the lease while the turn waits for budget.
        self.budget.for_worker().await;
        let look_up_in_time = route != POST_ROUTE && Instant::now() + LEASE_ROOM < self.start_by();
        if !look_up_in_time && !self.renew().await {
            return None;
        }
        self.failpoint(route).await;
        Some(self.start_by())
    }

    async fn answered(&self, limits: RateLimits) {
        self.budget.correct(limits).await;
    }
}

/// How long after a lease is taken or renewed a request may still start:
/// it then ends, at the latest, a margin before the lease does.
fn room(lease: Duration, call_timeout: Duration) -> Duration {
    lease
        .checked_sub(call_timeout + LEASE_MARGIN)
        .unwrap_or_default()
}

/// Stops the heartbeat when dropped.
pub struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
