//! Which path a veteran's request takes, as the rollout flag says. The flag
//! is read from the database at most every `REFRESH`, so every instance
//! follows a change (the kill switch among them) within five seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use itf_app::domain::{ItfType, Veteran};

use crate::sealing::Keys;
use crate::store::{Rollout, Store};

/// How stale an instance's copy of the flag may be.
pub const REFRESH: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Recorded at once and completed by the worker.
    Asynchronous,
    /// As before: the provider is asked while the veteran waits.
    Synchronous,
}

pub struct RolloutGate {
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    read: Mutex<Option<(Instant, HashMap<ItfType, Rollout>)>>,
}

impl RolloutGate {
    pub fn new(store: Arc<dyn Store>, keys: Arc<Keys>) -> Self {
        Self {
            store,
            keys,
            read: Mutex::new(None),
        }
    }

    /// The path `veteran`'s `itf_type` request takes now.
    pub async fn path(&self, veteran: &Veteran, itf_type: ItfType) -> Path {
        let rollout = self.rollout(itf_type).await;
        if rollout.is_async_for(self.keys.rollout_bucket(&veteran.icn)) {
            Path::Asynchronous
        } else {
            Path::Synchronous
        }
    }

    /// The type's rollout: from this instance's copy while it is fresh;
    /// when the database cannot be read, the last copy, else the schema's
    /// own setting (compensation on, the others off).
    async fn rollout(&self, itf_type: ItfType) -> Rollout {
        let fresh = self.copy(|(at, _)| at.elapsed() < REFRESH);
        if fresh != Some(true) {
            match self.store.rollouts().await {
                Ok(flags) => {
                    let flags = flags.into_iter().map(|f| (f.itf_type, f.rollout)).collect();
                    if let Ok(mut read) = self.read.lock() {
                        *read = Some((Instant::now(), flags));
                    }
                }
                Err(error) => tracing::warn!(%error, "could not read the rollout flag"),
            }
        }
        self.copy(|(_, flags)| flags.get(&itf_type).copied())
            .flatten()
            .unwrap_or(if itf_type == ItfType::Compensation {
                Rollout::On
            } else {
                Rollout::Off
            })
    }

    fn copy<T>(&self, look: impl FnOnce(&(Instant, HashMap<ItfType, Rollout>)) -> T) -> Option<T> {
        self.read.lock().ok()?.as_ref().map(look)
    }
}
