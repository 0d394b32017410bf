//! Look-up and intake: what the REST API and the start page do when a
//! veteran arrives. Compensation on the asynchronous path never waits on
//! the provider beyond the look-up budget, and intake never calls it at
//! all; pension and survivor keep their synchronous behaviour, and so does
//! compensation where the rollout flag says (the kill switch).

mod panel;
mod rollout;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use itf_app::domain::{ItfType, Veteran};
use tokio::sync::Notify;

pub use panel::{DelayThreshold, PanelService};
pub use rollout::{Path, RolloutGate, REFRESH as ROLLOUT_REFRESH};

use crate::budget::{Budget, ForPeople};
use crate::circuit::{Circuit, LookupPass};
use crate::metrics;
use crate::provider::{Fenced, LighthouseClient, Outcome};
use crate::sealing::Keys;
use crate::store::{
    Acting, ConfirmedItf, Intake, ItfRequest, NewRequest, Repair, Repaired, RequestState, Store,
    StoreError,
};

/// What a veteran is told about their ITF of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItfStatus {
    /// An active ITF: from the provider just now (`as_of` is `None`), or from
    /// our last record of it when the provider could not be reached.
    Active {
        itf: ConfirmedItf,
        as_of: Option<DateTime<Utc>>,
    },
    /// An open request: pending, or needing attention.
    Open(ItfRequest),
    /// The synchronous path could not tell: the provider did not answer,
    /// or refused. Nothing was recorded.
    Unconfirmed,
}

/// Why a request was not answered.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    NotRecorded(#[from] StoreError),
    #[error(transparent)]
    Synchronous(#[from] SyncError),
}

/// Why a synchronous (pension or survivor) request failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the provider is unavailable")]
    ProviderUnavailable,
    #[error("the provider refused the request: {title}")]
    Refused { title: String },
}

pub struct IntakeService {
    store: Arc<dyn Store>,
    client: Arc<LighthouseClient>,
    circuit: Arc<Circuit>,
    /// Every call made for a person goes through it: sent only with budget.
    people: Arc<ForPeople>,
    lookup_budget: Duration,
    /// Wakes this instance's worker as soon as a job is recorded.
    wake: Arc<Notify>,
    rollout: RolloutGate,
}

impl IntakeService {
    pub fn new(
        store: Arc<dyn Store>,
        client: Arc<LighthouseClient>,
        circuit: Arc<Circuit>,
        budget: Arc<Budget>,
        lookup_budget: Duration,
        wake: Arc<Notify>,
        keys: Arc<Keys>,
    ) -> Self {
        Self {
            rollout: RolloutGate::new(store.clone(), keys),
            store,
            client,
            circuit,
            people: Arc::new(ForPeople(budget)),
            lookup_budget,
            wake,
        }
    }

    /// The look-up of a page load or `GET /v0/intent_to_file`: an open
    /// request if there is one; else one time-boxed provider GET; else our
    /// last record if it is active and unexpired; else intake.
    pub async fn look_up(
        &self,
        veteran: &Veteran,
        itf_type: ItfType,
    ) -> Result<ItfStatus, StoreError> {
        if let Some(open) = self.open_request(veteran, itf_type).await? {
            if open.state == RequestState::NeedsAttention {
                if let Some(found) = self.found_active(&open).await? {
                    metrics::lookup("active");
                    return Ok(found);
                }
            }
            metrics::lookup("open_request");
            return Ok(ItfStatus::Open(open));
        }
        if self.rollout.path(veteran, itf_type).await == Path::Synchronous {
            return Ok(self.look_up_synchronously(veteran, itf_type).await);
        }
        let answer = match self.circuit.lookup_pass().await {
            LookupPass::Ask => self.ask(veteran, itf_type).await,
            LookupPass::Probe => {
                self.probe_in_background(veteran, itf_type);
                None
            }
            LookupPass::Skip => None,
        };
        let now = Utc::now();
        match answer {
            Some(Outcome::Active(itf)) => {
                let itf = ConfirmedItf::from(&itf);
                self.note(
                    self.store
                        .record_active(&veteran.icn, itf_type, &itf, now)
                        .await,
                );
                metrics::lookup("active");
                Ok(ItfStatus::Active { itf, as_of: None })
            }
            Some(Outcome::NoneActive) => {
                self.note(
                    self.store
                        .record_none_active(&veteran.icn, itf_type, now)
                        .await,
                );
                metrics::lookup("none_active");
                self.intake(veteran, itf_type, true).await
            }
            // No answer in time, no budget, or the circuit is open: intake, which
            // itself answers with our last record of an active, unexpired ITF
            // when there is one.
            _ => {
                let status = self.intake(veteran, itf_type, false).await?;
                metrics::lookup(match status {
                    ItfStatus::Active { .. } => "as_of_record",
                    ItfStatus::Open(_) | ItfStatus::Unconfirmed => "unanswered",
                });
                Ok(status)
            }
        }
    }

    /// A request that needs attention is not left so for ever: the look-up
    /// still asks the provider (within its budget), and an active ITF it
    /// shows, made some other way, closes the request as active, on the
    /// record.
    async fn found_active(&self, open: &ItfRequest) -> Result<Option<ItfStatus>, StoreError> {
        if self.circuit.lookup_pass().await != LookupPass::Ask {
            return Ok(None);
        }
        let veteran = Veteran {
            user_id: open.user_id.clone(),
            name: open.veteran_name.clone(),
            icn: open.icn.clone(),
        };
        let Some(Outcome::Active(itf)) = self.ask(&veteran, open.itf_type).await else {
            return Ok(None);
        };
        let itf = ConfirmedItf::from(&itf);
        let closed = self
            .store
            .repair(
                &open.id,
                Repair::FoundActive(&itf),
                &Acting::found_active(),
                Utc::now(),
            )
            .await?;
        Ok(matches!(closed, Repaired::Done(_)).then_some(ItfStatus::Active { itf, as_of: None }))
    }

    /// One GET within the look-up's time; running out of it counts, for
    /// the circuit, as a transient failure. None when the provider budget
    /// had no call to spare: the look-up does not wait for one.
    async fn ask(&self, veteran: &Veteran, itf_type: ItfType) -> Option<Outcome> {
        let call = self
            .client
            .active_itf(&veteran.icn, itf_type, self.people.as_ref());
        let outcome = match tokio::time::timeout(self.lookup_budget, call).await {
            Ok(Ok(call)) => call.outcome,
            Ok(Err(Fenced)) => return None,
            Err(_) => Outcome::Transient { retry_after: None },
        };
        self.circuit.note(&outcome).await;
        Some(outcome)
    }

    /// The circuit's probe, made without keeping the veteran waiting; with
    /// no budget for it, a later caller probes once the probe is abandoned.
    fn probe_in_background(&self, veteran: &Veteran, itf_type: ItfType) {
        let client = self.client.clone();
        let circuit = self.circuit.clone();
        let people = self.people.clone();
        let icn = veteran.icn.clone();
        tokio::spawn(async move {
            if let Ok(call) = client.active_itf(&icn, itf_type, people.as_ref()).await {
                circuit.note(&call.outcome).await;
            }
        });
    }

    /// The look-up where the rollout flag says synchronous, as before this
    /// service: the provider is asked while the veteran waits, up to its
    /// timeout, and creates the ITF if none is active.
    async fn look_up_synchronously(&self, veteran: &Veteran, itf_type: ItfType) -> ItfStatus {
        match self.compensation_inline(veteran, itf_type).await {
            Ok(itf) => {
                metrics::lookup("synchronous");
                ItfStatus::Active { itf, as_of: None }
            }
            Err(error) => {
                tracing::info!(%error, "a synchronous look-up could not confirm an ITF");
                metrics::lookup("unconfirmed");
                ItfStatus::Unconfirmed
            }
        }
    }

    /// `POST /v0/intent_to_file/{type}`. Compensation on the asynchronous
    /// path: recorded with its job in one transaction, no provider call.
    /// Synchronously (pension, survivor, and compensation where the rollout
    /// flag says): the provider is asked inline, except that an open
    /// request of the veteran's is answered instead, so that no ITF is
    /// created beside a job that may be creating one.
    pub async fn request(
        &self,
        veteran: &Veteran,
        itf_type: ItfType,
    ) -> Result<ItfStatus, RequestError> {
        if itf_type == ItfType::Compensation {
            if self.rollout.path(veteran, itf_type).await == Path::Asynchronous {
                return Ok(self.intake(veteran, itf_type, false).await?);
            }
            if let Some(open) = self.open_request(veteran, itf_type).await? {
                return Ok(ItfStatus::Open(open));
            }
        }
        let itf = if itf_type == ItfType::Compensation {
            self.compensation_inline(veteran, itf_type).await?
        } else {
            self.request_synchronously(veteran, itf_type).await?
        };
        Ok(ItfStatus::Active { itf, as_of: None })
    }

    /// Compensation on the synchronous path: the provider's ITF, found or
    /// made inline, also becomes our record of the provider, as a look-up's
    /// answer does.
    async fn compensation_inline(
        &self,
        veteran: &Veteran,
        itf_type: ItfType,
    ) -> Result<ConfirmedItf, SyncError> {
        let itf = self.request_synchronously(veteran, itf_type).await?;
        self.note(
            self.store
                .record_active(&veteran.icn, itf_type, &itf, Utc::now())
                .await,
        );
        Ok(itf)
    }

    /// The synchronous path, as pension and survivor have always had it:
    /// the provider is asked inline, and its ITF, or why there is none, is
    /// the answer.
    async fn request_synchronously(
        &self,
        veteran: &Veteran,
        itf_type: ItfType,
    ) -> Result<ConfirmedItf, SyncError> {
        if self.circuit.lookup_pass().await == LookupPass::Skip {
            return Err(SyncError::ProviderUnavailable);
        }
        let people = self.people.as_ref();
        let found = self
            .client
            .active_itf(&veteran.icn, itf_type, people)
            .await
            .map_err(|Fenced| SyncError::ProviderUnavailable)?
            .outcome;
        self.circuit.note(&found).await;
        let created = match found {
            Outcome::Active(itf) => return Ok(ConfirmedItf::from(&itf)),
            Outcome::NoneActive => {
                let created = self
                    .client
                    .create_itf(&veteran.icn, itf_type, None, people)
                    .await
                    .map_err(|Fenced| SyncError::ProviderUnavailable)?
                    .outcome;
                self.circuit.note(&created).await;
                created
            }
            other => other,
        };
        match created {
            Outcome::Created(itf) | Outcome::Active(itf) => Ok(ConfirmedItf::from(&itf)),
            Outcome::Permanent { title, .. } => Err(SyncError::Refused { title }),
            Outcome::Transient { .. } => Err(SyncError::ProviderUnavailable),
            Outcome::AuthFailure | Outcome::NoneActive => Err(SyncError::ProviderUnavailable),
        }
    }

    async fn open_request(
        &self,
        veteran: &Veteran,
        itf_type: ItfType,
    ) -> Result<Option<ItfRequest>, StoreError> {
        Ok(self
            .store
            .latest_request(&veteran.icn, itf_type)
            .await?
            .filter(|r| r.state != RequestState::Active))
    }

    /// Records the request and its job in one transaction; no provider call.
    async fn intake(
        &self,
        veteran: &Veteran,
        itf_type: ItfType,
        provider_said_none: bool,
    ) -> Result<ItfStatus, StoreError> {
        let started = Instant::now();
        let intake = self
            .store
            .intake(&NewRequest {
                veteran,
                itf_type,
                received_at: Utc::now(),
                shown_pending: true,
                provider_said_none,
            })
            .await?;
        Ok(match intake {
            Intake::Open { request, created } => {
                metrics::intake(created, started.elapsed());
                if created {
                    self.wake.notify_one();
                }
                ItfStatus::Open(request)
            }
            Intake::Active { itf, seen_at } => ItfStatus::Active {
                itf,
                as_of: seen_at,
            },
        })
    }

    fn note(&self, written: Result<(), StoreError>) {
        if let Err(error) = written {
            tracing::warn!(%error, "could not update our record of the provider's answer");
        }
    }
}
