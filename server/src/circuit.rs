//! The provider's circuit, shared through the database by every instance.
//! After repeated transient failures (timeouts included) it opens: look-ups
//! stop asking the provider and answer at once, and the worker defers its
//! jobs. After a cool-down exactly one caller, a look-up or a worker, makes
//! one probe; an answer closes the circuit and makes every deferred job due,
//! a failure opens it again. Every change is a log line and a metric
//! (`itf_provider_circuit_changes_total`). A database that
//! cannot be read leaves the circuit as if closed: the provider is not
//! kept from callers by our own outage.

use std::sync::Arc;

use crate::config::CircuitSettings;
use crate::metrics;
use crate::provider::Outcome;
use crate::store::{CircuitState, Store};

pub struct Circuit {
    store: Arc<dyn Store>,
    settings: CircuitSettings,
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
        Self { store, settings }
    }

    /// Whether the caller may ask the provider: while the circuit is
    /// closed, or as its one probe.
    async fn may_ask(&self) -> Result<bool, ()> {
        match self.store.circuit().await {
            Ok(CircuitState::Closed) | Err(_) => Err(()),
            Ok(_) => {
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
        match self
            .store
            .note_provider_answer(transient, self.settings.failures)
            .await
        {
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
