//! The provider's circuit, shared through the database by every instance.
//! After repeated transient failures (timeouts included) it opens: look-ups
//! stop asking the provider and answer at once, and the worker defers its
//! jobs. After a cool-down exactly one caller, a look-up or a worker, makes
//! one probe; an answer closes the circuit and makes every deferred job due,
//! a failure opens it again. Every change is a log line and a metric
//! (`itf_provider_circuit_changes_total`). A database that
//! cannot be read leaves the circuit as if closed: the provider is not
//! kept from callers by our own outage.
//!
//! Answers are the common case and, on a closed circuit with no failures
//! counted, change nothing: for `QUIET_FOR` after this instance saw the
//! circuit so, its answers are not written again and the circuit is taken
//! to be still closed. A failure, or a circuit seen open, ends that at
//! once; so failures another instance counts in that moment are not reset
//! by this instance's answers, and the circuit may open a moment sooner
//! than it would have, and be seen open by this instance that much later.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::CircuitSettings;
use crate::metrics;
use crate::provider::Outcome;
use crate::store::{CircuitState, Store};

/// How long answers go unwritten after the circuit was seen closed with no
/// failures counted.
const QUIET_FOR: Duration = Duration::from_millis(250);

pub struct Circuit {
    store: Arc<dyn Store>,
    settings: CircuitSettings,
    /// Until when answers need not be written (see the module's notes).
    quiet_until: Mutex<Option<Instant>>,
}

/// How a look-up may use the provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupPass {
    /// Ask it, within the look-up's budget.
    Ask,
    /// Do not wait for it: make the probe in the background.
    Probe,
    /// Do not ask: the circuit is open.
    Skip,
}

/// What the worker may claim now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerPass {
    /// As many jobs as it has room for.
    Any,
    /// One job, whose turn is the probe.
    Probe,
    /// None: the circuit is open.
    Defer,
}

impl Circuit {
    pub fn new(store: Arc<dyn Store>, settings: CircuitSettings) -> Self {
        Self {
            store,
            settings,
            quiet_until: Mutex::new(None),
        }
    }

    fn quiet(&self) -> bool {
        let until = *self
            .quiet_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        until.is_some_and(|until| Instant::now() < until)
    }

    fn set_quiet(&self, quiet: bool) {
        *self
            .quiet_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = quiet.then(|| Instant::now() + QUIET_FOR);
    }

    /// Whether the caller may ask the provider: while the circuit is
    /// closed, or as its one probe.
    async fn may_ask(&self) -> Result<bool, ()> {
        if self.quiet() {
            return Err(());
        }
        match self.store.circuit().await {
            Ok(CircuitState::Closed) | Err(_) => Err(()),
            Ok(_) => {
                // Whatever answer comes next must be written: it may be
                // the probe's.
                self.set_quiet(false);
                let probe = self
                    .store
                    .take_probe(self.settings.cooldown)
                    .await
                    .unwrap_or(false);
                if probe {
                    tracing::warn!(state = "probing", "the provider's circuit changed");
                    metrics::circuit_changed(CircuitState::Probing);
                }
                Ok(probe)
            }
        }
    }

    /// A look-up asks the provider only while the circuit is closed; the
    /// look-up that takes the probe makes it without waiting for it.
    pub async fn lookup_pass(&self) -> LookupPass {
        match self.may_ask().await {
            Err(()) => LookupPass::Ask,
            Ok(true) => LookupPass::Probe,
            Ok(false) => LookupPass::Skip,
        }
    }

    pub async fn worker_pass(&self) -> WorkerPass {
        match self.may_ask().await {
            Err(()) => WorkerPass::Any,
            Ok(true) => WorkerPass::Probe,
            Ok(false) => WorkerPass::Defer,
        }
    }

    /// Counts a provider answer toward the circuit.
    pub async fn note(&self, outcome: &Outcome) {
        let transient = match outcome {
            Outcome::Transient { .. } => true,
            // Our credentials, not the provider's health.
            Outcome::AuthFailure => return,
            _ => false,
        };
        if !transient && self.quiet() {
            return;
        }
        let noted = self
            .store
            .note_provider_answer(transient, self.settings.failures)
            .await;
        // After an answer is written the circuit is closed with no failures;
        // after a failure, or none written, the next answer is written.
        self.set_quiet(!transient && noted.is_ok());
        match noted {
            Ok(Some(to)) => {
                tracing::warn!(state = to.as_str(), "the provider's circuit changed");
                metrics::circuit_changed(to);
                if to == CircuitState::Closed {
                    match self.store.make_deferred_jobs_due().await {
                        Ok(woken) => tracing::info!(woken, "deferred jobs are due again"),
                        Err(error) => tracing::warn!(%error, "could not wake deferred jobs"),
                    }
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not note the provider's answer"),
        }
    }
}
