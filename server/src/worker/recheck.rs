//! Requests that need attention are not left so for ever: every
//! `ITF_NEEDS_ATTENTION_RECHECK_HOURS` the worker asks the provider again
//! about each (paced by the budget, as the worker is), and one the provider
//! shows an active ITF for, made some other way (by phone, say), closes as
//! active, on the record.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Worker;
use crate::budget::ForWorker;
use crate::circuit::LookupPass;
use crate::provider::Outcome;
use crate::store::{Acting, ConfirmedItf, ItfRequest, Repair, Repaired, RequestState};

/// The most requests one round asks about; the rest wait for the next.
const ROUND: u32 = 1000;

impl Worker {
    /// Rechecks at once, then every `recheck_every`, until `stop` turns true.
    pub(super) async fn recheck(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let closed = self.recheck_round().await;
            if closed > 0 {
                tracing::info!(closed, "requests that needed attention were found active");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.recheck_every) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One round; returns how many requests it closed.
    async fn recheck_round(&self) -> usize {
        let stuck = match self
            .store
            // From the Unix epoch: PostgreSQL cannot store chrono's
            // earliest time.
            .requests_in(
                RequestState::NeedsAttention,
                DateTime::<Utc>::UNIX_EPOCH,
                Utc::now(),
                ROUND,
            )
            .await
        {
            Ok(stuck) => stuck,
            Err(error) => {
                tracing::warn!(%error, "could not list the requests that need attention");
                return 0;
            }
        };
        let fence = ForWorker(self.budget.clone());
        let mut closed = 0;
        for request in stuck {
            // A provider that is down is not asked; the next round asks.
            if self.circuit.lookup_pass().await != LookupPass::Ask {
                break;
            }
            let Ok(call) = self
                .client
                .active_itf(&request.icn, request.itf_type, &fence)
                .await
            else {
                continue;
            };
            self.circuit.note(&call.outcome).await;
            if let Outcome::Active(itf) = call.outcome {
                closed += usize::from(self.close_found(&request, &ConfirmedItf::from(&itf)).await);
            }
        }
        closed
    }

    async fn close_found(&self, request: &ItfRequest, itf: &ConfirmedItf) -> bool {
        let repair = Repair::FoundActive(itf);
        match self
            .store
            .repair(&request.id, repair, &Acting::found_active(), Utc::now())
            .await
        {
            Ok(Repaired::Done(_)) => true,
            Ok(_) => false,
            Err(error) => {
                tracing::warn!(%error, request_id = %request.id, "could not close a request found active");
                false
            }
        }
    }
}
