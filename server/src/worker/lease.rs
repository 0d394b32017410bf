//! A turn's hold on its job. Before each request to the provider the lease
//! is renewed, by the database's clock, in the statement that checks it is
//! still ours; the request is sent only if it starts in time to end, with a
//! margin, before the renewed lease does. So a job taken over after its
//! lease ran out can meet no request of its old holder still on its way,
//! and a turn that stalled past its lease sends nothing more. A heartbeat
//! renews the lease in between. Each request also waits for its call from
//! the provider budget shared by every instance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::budget::Budget;
use crate::config::LEASE_MARGIN;
use crate::provider::{Fence, RateLimits};
use crate::store::{ClaimedJob, Store};

pub struct Lease {
    store: Arc<dyn Store>,
    budget: Arc<Budget>,
    job_id: String,
    token: String,
    lease: Duration,
    /// The longest a provider request may take.
    call_timeout: Duration,
    /// Set while a test stalls the turn, so that the heartbeat stops as a
    /// stopped process's would.
    stalled: AtomicBool,
}

impl Lease {
    pub fn new(
        store: Arc<dyn Store>,
        budget: Arc<Budget>,
        job: &ClaimedJob,
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
            stalled: AtomicBool::new(false),
        })
    }

    async fn renew(&self) -> bool {
        match self
            .store
            .renew_lease(&self.job_id, &self.token, self.lease)
            .await
        {
            Ok(true) => true,
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
        if let Some(stall) = stall.filter(|_| route.starts_with("POST")) {
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
        // Taken before the renewal: the database's "now" is no earlier.
        let asked = Instant::now();
        if !self.renew().await {
            return None;
        }
        self.failpoint(route).await;
        let room = self
            .lease
            .checked_sub(self.call_timeout + LEASE_MARGIN)
            .unwrap_or_default();
        Some(asked + room)
    }

    async fn answered(&self, limits: RateLimits) {
        self.budget.correct(limits).await;
    }
}

/// Stops the heartbeat when dropped.
pub struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
