//! The provider's quota, shared through the database by every instance as
//! one GCRA bucket paced at the worker's share of the quota.
//!
//! The worker takes a call only when the bucket is not ahead of now, so it
//! drains its backlog at `quota − reserved` calls a minute. A person (a page
//! or REST look-up, a synchronous pension or survivor request) may run the
//! bucket up to `reserved − 1` calls ahead: those calls are always there
//! for people, and each one they take delays the worker by one interval
//! instead. In any minute the two together stay under the quota, so the
//! provider never has to refuse us. A person never waits for budget: no
//! budget means no call, and the look-up answers from our records. What the
//! provider says about its quota (`X-RateLimit-Remaining-Minute`, a 429's
//! `Retry-After`) holds the bucket back. A database that cannot be read
//! lets calls through: our outage does not keep the provider from callers.
//! Where no quota was agreed (`LIGHTHOUSE_QUOTA_PER_MINUTE=unlimited`),
//! nothing is paced and the database is not asked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::BudgetSettings;
use crate::metrics::{self, Caller, Correction};
use crate::provider::{Fence, RateLimits};
use crate::store::{BudgetAnswer, BudgetClaim, Store};

/// The longest a waiting worker sleeps before it asks the bucket again,
/// so that a correction or a change of settings is seen soon.
const LONGEST_NAP: Duration = Duration::from_secs(1);
/// How long the bucket is held after a 429 that gave no `Retry-After`.
const THROTTLED_HOLD: Duration = Duration::from_secs(1);

pub struct Budget {
    store: Arc<dyn Store>,
    /// None where the quota is unlimited: every call goes at once, and
    /// nothing is asked of the database.
    pace: Option<Pace>,
    /// Waiting workers of this instance ask the database one at a time, in
    /// the order they came.
    queue: tokio::sync::Mutex<()>,
}

struct Pace {
    worker: BudgetClaim,
    person: BudgetClaim,
    /// Calls a person may take at once from an idle bucket.
    reserved: u32,
}

impl Budget {
    pub fn new(store: Arc<dyn Store>, settings: Option<BudgetSettings>) -> Self {
        Self {
            store,
            pace: settings.map(|settings| {
                let (worker, person, reserved) = claims(settings);
                Pace {
                    worker,
                    person,
                    reserved,
                }
            }),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    /// A call a person is waiting on: now, or not at all.
    pub async fn for_person(&self) -> bool {
        let Some(pace) = &self.pace else {
            return true;
        };
        match self.store.take_budget(pace.person).await {
            Ok(BudgetAnswer::Granted) => true,
            Ok(BudgetAnswer::Wait(_)) => {
                metrics::budget_refused(Caller::Person);
                false
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the provider budget; calling anyway");
                true
            }
        }
    }

    /// A call of the worker: waits its turn, for as long as that takes.
    pub async fn for_worker(&self) {
        let Some(pace) = &self.pace else {
            return;
        };
        let _turn = self.queue.lock().await;
        loop {
            match self.store.take_budget(pace.worker).await {
                Ok(BudgetAnswer::Granted) => return,
                Ok(BudgetAnswer::Wait(wait)) => {
                    metrics::budget_refused(Caller::Worker);
                    tokio::time::sleep(wait.min(LONGEST_NAP)).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read the provider budget; calling anyway");
                    return;
                }
            }
        }
    }

    /// Holds the bucket back by what the provider said about its quota: a
    /// 429 stops the worker for its `Retry-After`; fewer calls remaining
    /// than the reserve trims what people may still take to that many.
    pub async fn correct(&self, limits: RateLimits) {
        let Some(pace) = &self.pace else {
            if limits.throttled {
                tracing::warn!(
                    "the provider answered 429 although LIGHTHOUSE_QUOTA_PER_MINUTE is \
                     unlimited; set it to the quota Lighthouse allows our client"
                );
            }
            return;
        };
        let (ahead, cause) = if limits.throttled {
            // The worker waits it out; the few calls people make meanwhile
            // are answered at once, by a 429 or by the provider.
            let wait = limits.retry_after.unwrap_or(THROTTLED_HOLD);
            (wait, Correction::TooManyRequests)
        } else {
            match limits.remaining.filter(|left| *left < pace.reserved) {
                Some(left) => (
                    pace.person.interval * (pace.reserved - left),
                    Correction::Remaining,
                ),
                None => return,
            }
        };
        match self.store.hold_budget(ahead).await {
            Ok(()) => metrics::budget_corrected(cause),
            Err(error) => tracing::warn!(%error, "could not hold the provider budget back"),
        }
    }
}

/// The calls a minute the worker may make: the quota less the reserve for
/// people, which is at least two calls (a look-up and a creation).
pub fn worker_share(settings: BudgetSettings) -> u32 {
    let quota = settings.quota_per_minute;
    let reserved = (quota * settings.reserved_percent)
        .div_ceil(100)
        .clamp(2, quota - 1);
    quota - reserved
}

/// The worker's claim and a person's, from the settings: both paced at the
/// worker's share, whole milliseconds rounded up so that the pace never
/// exceeds it; a person's runs ahead by the reserve.
fn claims(settings: BudgetSettings) -> (BudgetClaim, BudgetClaim, u32) {
    let reserved = settings.quota_per_minute - worker_share(settings);
    let interval = Duration::from_millis(u64::from(60_000u32.div_ceil(worker_share(settings))));
    (
        BudgetClaim {
            interval,
            tolerance: Duration::ZERO,
        },
        BudgetClaim {
            interval,
            tolerance: interval * (reserved - 1),
        },
        reserved,
    )
}

/// The fence of a call a person is waiting on: sent only with budget.
pub struct ForPeople(pub Arc<Budget>);

#[async_trait::async_trait]
impl Fence for ForPeople {
    async fn admit(&self, _route: &'static str) -> Option<Instant> {
        self.0
            .for_person()
            .await
            .then(|| Instant::now() + Duration::from_secs(3600))
    }

    async fn answered(&self, limits: RateLimits) {
        self.0.correct(limits).await;
    }
}

/// The fence of a call the worker makes outside a job (the recheck of
/// requests that need attention): paced as the worker is.
pub struct ForWorker(pub Arc<Budget>);

#[async_trait::async_trait]
impl Fence for ForWorker {
    async fn admit(&self, _route: &'static str) -> Option<Instant> {
        self.0.for_worker().await;
        Some(Instant::now() + Duration::from_secs(3600))
    }

    async fn answered(&self, limits: RateLimits) {
        self.0.correct(limits).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(quota_per_minute: u32, reserved_percent: u32) -> BudgetSettings {
        BudgetSettings {
            quota_per_minute,
            reserved_percent,
        }
    }

    /// The most calls a GCRA claim lets through in any 60 s, from an idle
    /// bucket: one at once and one more per interval, plus its tolerance.
    fn most_in_a_minute(claim: BudgetClaim) -> u128 {
        let ms = claim.interval.as_millis();
        (60_000 - 1) / ms + 1 + claim.tolerance.as_millis() / ms
    }

    #[test]
    fn the_worker_and_people_together_stay_under_the_quota() {
        for (quota, percent) in [
            (60, 10),
            (600, 10),
            (3, 1),
            (60_000, 10),
            (100, 90),
            (7, 50),
        ] {
            let (worker, person, _) = claims(settings(quota, percent));
            assert!(
                most_in_a_minute(person) < u128::from(quota),
                "{quota} a minute, {percent}% reserved: {person:?}"
            );
            assert_eq!(worker.tolerance, Duration::ZERO);
            assert!(person.tolerance >= person.interval, "room for two calls");
        }
    }

    #[test]
    fn sixty_a_minute_keeps_six_for_people_and_paces_the_worker_at_fifty_four() {
        let (worker, person, reserved) = claims(settings(60, 10));
        assert_eq!(reserved, 6);
        assert_eq!(worker.interval, Duration::from_millis(1112));
        assert_eq!(person.tolerance, Duration::from_millis(1112 * 5));
    }
}
