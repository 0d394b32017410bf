//! The worker: completes each recorded request against the provider,
//! retrying transient failures with backoff for as long as it takes.

mod backoff;
mod lease;
mod recheck;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

pub use backoff::retry_delay;

use crate::alerts;
use crate::budget::Budget;
use crate::circuit::{Circuit, WorkerPass};
use crate::provider::{Call, Fenced, LighthouseClient, Outcome};
use crate::store::{Alert, Attempt, CallKind, ClaimedJob, ConfirmedItf, JobOutcome, Paused, Store};
use lease::Lease;

#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// Jobs worked on at once.
    pub concurrency: usize,
    /// Longest wait between two attempts, unless the provider asks for more.
    pub retry_max_delay: Duration,
    /// How long a claimed job stays ours without a renewal, by the
    /// database's clock; longer than one provider request.
    pub lease: Duration,
    /// How often a turn under way renews its lease.
    pub heartbeat: Duration,
    /// The longest one provider request may take.
    pub call_timeout: Duration,
    /// How often to look for due jobs when nothing wakes the worker.
    pub poll: Duration,
    /// How often every request that needs attention is asked about again.
    pub recheck_every: Duration,
}

/// A 404 for the veteran seen this recently lets a first attempt go
/// straight to creating the ITF.
const NONE_ACTIVE_SHORTCUT: chrono::Duration = chrono::Duration::seconds(60);
/// What a turn learnt of our credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials {
    /// The provider refused them, even with a fresh token.
    Refused,
    /// The provider answered as it does to a caller it accepts.
    Accepted,
    /// No answer said either way.
    Unknown,
}

impl Credentials {
    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::AuthFailure => Self::Refused,
            Outcome::Transient { .. } => Self::Unknown,
            Outcome::Active(_)
            | Outcome::NoneActive
            | Outcome::Created(_)
            | Outcome::Permanent { .. } => Self::Accepted,
        }
    }
}

/// What the turns finished since the worker last looked said.
#[derive(Debug)]
struct Heard {
    refused: bool,
    accepted: bool,
    /// Whether the alert that the worker paused may be open: true at
    /// start, so that one left open by an earlier process is resolved.
    alert_open: bool,
}

impl Default for Heard {
    fn default() -> Self {
        Self {
            refused: false,
            accepted: false,
            alert_open: true,
        }
    }
}

impl Heard {
    fn note(&mut self, done: Result<Credentials, tokio::task::JoinError>) {
        match done {
            Ok(Credentials::Refused) => self.refused = true,
            Ok(Credentials::Accepted) => self.accepted = true,
            Ok(Credentials::Unknown) | Err(_) => {}
        }
    }
}

/// How long the worker waits after the provider refused our credentials
/// before it tries again.
const AUTH_PAUSE: Duration = Duration::from_secs(60);

pub struct Worker {
    store: Arc<dyn Store>,
    client: Arc<LighthouseClient>,
    circuit: Arc<Circuit>,
    budget: Arc<Budget>,
    settings: WorkerSettings,
    owner: String,
    wake: Arc<Notify>,
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        client: Arc<LighthouseClient>,
        circuit: Arc<Circuit>,
        budget: Arc<Budget>,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            client,
            circuit,
            budget,
            settings,
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
            wake,
        }
    }

    /// Claims and works jobs until `stop` turns true; then claims no more and
    /// lets the turns under way finish (each bounded by the provider timeout).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut turns: JoinSet<Credentials> = JoinSet::new();
        let mut heard = Heard::default();
        let recheck = tokio::spawn(self.clone().recheck(stop.clone()));
        tracing::info!(concurrency = self.settings.concurrency, "worker started");
        while !*stop.borrow() {
            while let Some(done) = turns.try_join_next() {
                heard.note(done);
            }
            if self.mind_credentials(&mut heard).await {
                tokio::select! {
                    _ = tokio::time::sleep(AUTH_PAUSE) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            // Turns whose calls are over may still be writing their results;
            // at most as many of them as there are slots wait at a time.
            let room = (2 * self.settings.concurrency).saturating_sub(turns.len());
            let free = match self.circuit.worker_pass().await {
                WorkerPass::Any => slots.available_permits(),
                WorkerPass::Probe => slots.available_permits().min(1),
                WorkerPass::Defer => 0,
            }
            .min(room);
            let (taken, claimed) = self.claim(free).await;
            let idle = claimed.is_empty();
            for job in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let worker = self.clone();
                turns.spawn(worker.contained_turn(job, taken, permit));
            }
            if !idle && slots.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.changed() => {}
                Some(done) = turns.join_next(), if !turns.is_empty() => {
                    heard.note(done);
                }
            }
        }
        tracing::info!(
            in_flight = turns.len(),
            "worker stopping; finishing turns under way"
        );
        while turns.join_next().await.is_some() {}
        let _ = recheck.await;
    }

    /// Resolves the alert that the worker paused once the provider accepts
    /// our credentials again; opens it when it refused them, and returns
    /// true: the worker pauses.
    async fn mind_credentials(&self, heard: &mut Heard) -> bool {
        if std::mem::take(&mut heard.accepted) && heard.alert_open {
            heard.alert_open = false;
            let alert = Alert::worker_paused(Paused::Provider, false);
            alerts::raise(self.store.as_ref(), &alert, false).await;
        }
        if !std::mem::take(&mut heard.refused) {
            return false;
        }
        tracing::error!(
            alert = true,
            pause_seconds = AUTH_PAUSE.as_secs(),
            "the provider refused our credentials; the worker pauses"
        );
        heard.alert_open = true;
        let alert = Alert::worker_paused(Paused::Provider, true);
        alerts::raise(self.store.as_ref(), &alert, true).await;
        true
    }

    /// Leases up to `free` due jobs; none when the database cannot be used,
    /// since the next poll tries again. With them, an instant before their
    /// leases were taken.
    async fn claim(&self, free: usize) -> (Instant, Vec<ClaimedJob>) {
        let taken = Instant::now();
        if free == 0 {
            return (taken, Vec::new());
        }
        let limit = u32::try_from(free).unwrap_or(u32::MAX);
        match self
            .store
            .claim_jobs(&self.owner, self.settings.lease, limit)
            .await
        {
            Ok(jobs) => (taken, jobs),
            Err(error) => {
                tracing::warn!(%error, "could not claim jobs");
                (taken, Vec::new())
            }
        }
    }

    /// A turn in a task of its own: if it panics, whatever a provider header
    /// or body held, the job is put back to be tried again later, with an
    /// alert, instead of staying leased to a turn that no longer runs.
    async fn contained_turn(
        self: Arc<Self>,
        job: ClaimedJob,
        taken: Instant,
        slot: OwnedSemaphorePermit,
    ) -> Credentials {
        let held = job.clone();
        let worker = self.clone();
        match tokio::spawn(async move { worker.turn(job, taken, slot).await }).await {
            Ok(credentials) => credentials,
            Err(failure) => {
                let (request_id, job_id) = (&held.request.id, &held.id);
                tracing::error!(
                    alert = true,
                    %request_id,
                    %job_id,
                    panicked = failure.is_panic(),
                    "a turn failed; its job is put back to be tried again"
                );
                let retry = JobOutcome::Retry {
                    run_at: later(self.settings.retry_max_delay),
                    error: "the worker failed while working on this request; retrying".to_owned(),
                };
                if let Err(error) = self.store.finish_job(&held, Utc::now(), &retry).await {
                    tracing::error!(%error, %job_id, "could not put the job back; its lease will run out");
                }
                Credentials::Unknown
            }
        }
    }

    /// One turn of a job, under its lease. Returns what the provider made
    /// of our credentials: the worker pauses when it refused them.
    #[tracing::instrument(
        name = "turn",
        skip_all,
        fields(request_id = %job.request.id, job_id = %job.id, attempt = job.attempts)
    )]
    async fn turn(
        &self,
        job: ClaimedJob,
        taken: Instant,
        slot: OwnedSemaphorePermit,
    ) -> Credentials {
        let lease = Lease::new(
            self.store.clone(),
            self.budget.clone(),
            &job,
            taken,
            self.settings.lease,
            self.settings.call_timeout,
        );
        let _heartbeat = lease.keep_alive(self.settings.heartbeat);
        let mut calls = Calls::default();
        let (credentials, result) = match self.calls(&job, lease.as_ref(), &mut calls).await {
            Ok(outcome) => {
                let credentials = Credentials::of(&outcome);
                let result = match outcome {
                    Outcome::Active(itf) | Outcome::Created(itf) => {
                        JobOutcome::Confirmed(ConfirmedItf::from(&itf))
                    }
                    other => self.after_failure(&job, other),
                };
                (credentials, result)
            }
            Err(Fenced) => {
                // Nothing more was sent. If the lease is still ours, hand
                // the job back at once (the token guards the write);
                // whoever runs it next asks the provider afresh.
                tracing::warn!("the turn stopped before its request; the job is handed back");
                let release = JobOutcome::Release { run_at: Utc::now() };
                (Credentials::Unknown, release)
            }
        };
        // The slot bounds the provider calls in flight: with the calls over,
        // another job may start while this one's result is written, which
        // goes with the other results written at the same moment.
        drop(slot);
        self.wake.notify_one();
        // A confirmed ITF replaces our record of the provider anyway.
        if calls.none_active && !matches!(result, JobOutcome::Confirmed(_)) {
            let request = &job.request;
            if let Err(error) = self
                .store
                .record_none_active(&request.icn, request.itf_type, Utc::now())
                .await
            {
                tracing::warn!(%error, "could not note the provider's 404");
            }
        }
        self.finish(&job, result, &calls.attempts).await;
        credentials
    }

    /// The calls of a turn: the look for an active ITF (a first attempt
    /// right after a 404 may skip it), then the creation. Returns the last
    /// call's outcome; what the calls left to write is in `calls`.
    async fn calls(
        &self,
        job: &ClaimedJob,
        lease: &Lease,
        calls: &mut Calls,
    ) -> Result<Outcome, Fenced> {
        let request = &job.request;
        // Only a request whose look-up saw a 404 may skip the GET: the
        // record of it is read only then.
        let may_skip_get = job.attempts == 1 && !job.taken_over && request.provider_said_none;
        let skip_get = may_skip_get && self.none_active_just_seen(job).await;
        if !skip_get {
            let call = self
                .client
                .active_itf(&request.icn, request.itf_type, lease)
                .await?;
            calls.attempts.push(attempt(job, CallKind::Get, &call));
            if call.outcome != Outcome::NoneActive {
                self.circuit.note(&call.outcome).await;
                return Ok(call.outcome);
            }
            // The creation's answer, a moment later, counts for both
            // toward the circuit.
            calls.none_active = true;
        }
        let sent = self
            .client
            .create_itf(&request.icn, request.itf_type, None, lease)
            .await;
        let call = match sent {
            Ok(call) => call,
            Err(Fenced) => {
                if calls.none_active {
                    self.circuit.note(&Outcome::NoneActive).await;
                }
                return Err(Fenced);
            }
        };
        calls.attempts.push(attempt(job, CallKind::Post, &call));
        self.circuit.note(&call.outcome).await;
        Ok(call.outcome)
    }

    async fn none_active_just_seen(&self, job: &ClaimedJob) -> bool {
        let request = &job.request;
        match self
            .store
            .provider_record(&request.icn, request.itf_type)
            .await
        {
            Ok(Some(record)) => record
                .none_seen_at
                .is_some_and(|seen| Utc::now() - seen < NONE_ACTIVE_SHORTCUT),
            _ => false,
        }
    }

    fn after_failure(&self, job: &ClaimedJob, outcome: Outcome) -> JobOutcome {
        let now = Utc::now();
        match outcome {
            Outcome::Permanent { title, detail } => {
                tracing::error!(
                    alert = true,
                    "the provider refused an ITF request for good; it needs attention"
                );
                JobOutcome::NeedsAttention {
                    error: format!("{title}: {detail}"),
                }
            }
            Outcome::AuthFailure => JobOutcome::Release { run_at: now },
            Outcome::Transient { retry_after } => {
                let delay = retry_delay(job.attempts, self.settings.retry_max_delay, retry_after);
                JobOutcome::Retry {
                    run_at: later(delay),
                    error: "the provider did not answer in time or failed; retrying".to_owned(),
                }
            }
            // A GET cannot create and a POST cannot find; ask again.
            Outcome::Active(_) | Outcome::NoneActive | Outcome::Created(_) => JobOutcome::Retry {
                run_at: now,
                error: "the provider gave an unexpected answer; retrying".to_owned(),
            },
        }
    }

    /// Writes the turn's result while we still hold the lease, with the
    /// calls it made.
    async fn finish(&self, job: &ClaimedJob, outcome: JobOutcome, attempts: &[Attempt]) {
        match self
            .store
            .finish_turn(job, Utc::now(), &outcome, attempts)
            .await
        {
            Ok(true) => {
                if matches!(outcome, JobOutcome::Confirmed(_)) {
                    tracing::info!("ITF confirmed");
                }
            }
            Ok(false) => {
                tracing::warn!("lost the job's lease before finishing; its new holder decides");
            }
            Err(error) => tracing::error!(
                %error,
                "could not save a job's result; it will be taken up again when its lease runs out"
            ),
        }
    }
}

/// What a turn's calls leave to be written with its result.
#[derive(Default)]
struct Calls {
    attempts: Vec<Attempt>,
    /// The provider said it holds no active ITF for the veteran.
    none_active: bool,
}

/// The record of one call of a turn.
fn attempt(job: &ClaimedJob, kind: CallKind, call: &Call) -> Attempt {
    Attempt {
        request_id: job.request.id.clone(),
        job_id: job.id.clone(),
        at: Utc::now(),
        call: kind,
        outcome: call.outcome.kind(),
        provider_status: call.status,
        latency: call.latency,
    }
}

/// `delay` from now; far delays are held to the latest time there is
/// rather than overflowing.
pub fn later(delay: Duration) -> chrono::DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|delay| Utc::now().checked_add_signed(delay))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}
