//! Every store call within a time limit. A database that does not answer
//! in time (stopped, unreachable, its connections hanging) is
//! `Unavailable`, never a hang, so that pages show `unavailable` and the
//! REST API answers 503 at once. A `Gate` can make the database look down.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use itf_app::domain::{Icn, ItfType};

use super::{
    Acting, Alert, AlertAction, AlertChannel, Attempt, AttemptOutcome, AuditAction, AuditEntry,
    BudgetAnswer, BudgetClaim, CircuitState, ClaimedJob, ConfirmedItf, Delivery, Intake,
    ItfRequest, JobCounts, JobOutcome, ListedAlert, MailboxEntry, MessageRecord, NewAuditEntry,
    NewRequest, OldestPending, OperatorSession, OutboxItem, ProviderRecord, Repair, Repaired,
    RequestState, Rollout, RolloutFlag, Session, SignInAttempt, SignInMethod, Store, StoreError,
    WebhookDelivery, WebhookTrouble,
};
use crate::session_token::SessionTokenHash;

/// Whether the database may be used at all.
pub trait Gate: Send + Sync {
    fn open(&self) -> bool;
}

/// Production's gate: always open.
pub struct AlwaysOpen;

impl Gate for AlwaysOpen {
    fn open(&self) -> bool {
        true
    }
}

pub struct Bounded {
    inner: Arc<dyn Store>,
    limit: Duration,
    gate: Arc<dyn Gate>,
}

impl Bounded {
    pub fn new(inner: Arc<dyn Store>, limit: Duration, gate: Arc<dyn Gate>) -> Self {
        Self { inner, limit, gate }
    }

    fn up(&self) -> Result<&dyn Store, StoreError> {
        if self.gate.open() {
            Ok(self.inner.as_ref())
        } else {
            Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
        }
    }

    async fn within<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.limit, call)
            .await
            .unwrap_or(Err(StoreError::TimedOut(self.limit)))
    }
}

#[async_trait]
impl Store for Bounded {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// Not limited: migrations run at start-up and may take long.
    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.within(self.up()?.ping()).await
    }

    async fn create_session(
        &self,
        token: &SessionTokenHash,
        session: &Session,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.create_session(token, session)).await
    }

    async fn find_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        self.within(self.up()?.find_session(token, now)).await
    }

    async fn delete_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError> {
        self.within(self.up()?.delete_session(token)).await
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.within(self.up()?.delete_expired_sessions(now)).await
    }

    async fn intake(&self, new: &NewRequest<'_>) -> Result<Intake, StoreError> {
        self.within(self.up()?.intake(new)).await
    }

    async fn request(&self, id: &str) -> Result<Option<ItfRequest>, StoreError> {
        self.within(self.up()?.request(id)).await
    }

    async fn latest_request(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ItfRequest>, StoreError> {
        self.within(self.up()?.latest_request(icn, itf_type)).await
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        self.within(self.up()?.claim_jobs(owner, lease, limit))
            .await
    }

    async fn renew_lease(
        &self,
        job_id: &str,
        lease_token: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.within(self.up()?.renew_lease(job_id, lease_token, lease))
            .await
    }

    async fn finish_turn(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
        attempts: &[Attempt],
    ) -> Result<bool, StoreError> {
        self.within(self.up()?.finish_turn(job, now, outcome, attempts))
            .await
    }

    async fn attempts(&self, request_id: &str) -> Result<Vec<Attempt>, StoreError> {
        self.within(self.up()?.attempts(request_id)).await
    }

    async fn job_count(&self, request_id: &str) -> Result<u64, StoreError> {
        self.within(self.up()?.job_count(request_id)).await
    }

    async fn provider_record(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ProviderRecord>, StoreError> {
        self.within(self.up()?.provider_record(icn, itf_type)).await
    }

    async fn record_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        itf: &ConfirmedItf,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.record_active(icn, itf_type, itf, seen_at))
            .await
    }

    async fn record_none_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.record_none_active(icn, itf_type, seen_at))
            .await
    }

    async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        self.within(self.up()?.job_counts()).await
    }

    async fn circuit(&self) -> Result<CircuitState, StoreError> {
        self.within(self.up()?.circuit()).await
    }

    async fn note_provider_answer(
        &self,
        transient: bool,
        threshold: u32,
    ) -> Result<Option<CircuitState>, StoreError> {
        self.within(self.up()?.note_provider_answer(transient, threshold))
            .await
    }

    async fn make_deferred_jobs_due(&self) -> Result<u64, StoreError> {
        self.within(self.up()?.make_deferred_jobs_due()).await
    }

    async fn take_probe(&self, cooldown: Duration) -> Result<bool, StoreError> {
        self.within(self.up()?.take_probe(cooldown)).await
    }

    async fn take_budget(&self, claim: BudgetClaim) -> Result<BudgetAnswer, StoreError> {
        self.within(self.up()?.take_budget(claim)).await
    }

    async fn hold_budget(&self, ahead: Duration) -> Result<(), StoreError> {
        self.within(self.up()?.hold_budget(ahead)).await
    }

    async fn claim_outbox(
        &self,
        lease: Duration,
        limit: u32,
        with_messages: bool,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        self.within(self.up()?.claim_outbox(lease, limit, with_messages))
            .await
    }

    async fn finish_delivery(
        &self,
        reference: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.finish_delivery(reference, delivery, now))
            .await
    }

    async fn claim_webhooks(
        &self,
        endpoints: &[String],
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.within(self.up()?.claim_webhooks(endpoints, lease, limit))
            .await
    }

    async fn finish_webhook(
        &self,
        delivery_id: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.finish_webhook(delivery_id, delivery, now))
            .await
    }

    async fn webhook_trouble(&self, limit: u32) -> Result<Vec<WebhookTrouble>, StoreError> {
        self.within(self.up()?.webhook_trouble(limit)).await
    }

    async fn owe_delayed_messages(
        &self,
        received_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.within(self.up()?.owe_delayed_messages(received_before, now))
            .await
    }

    async fn record_delivery_status(
        &self,
        reference: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.within(self.up()?.record_delivery_status(reference, status, at))
            .await
    }

    async fn deliver_to_mailbox(&self, entry: &MailboxEntry) -> Result<(), StoreError> {
        self.within(self.up()?.deliver_to_mailbox(entry)).await
    }

    async fn mailbox(&self) -> Result<Vec<MailboxEntry>, StoreError> {
        self.within(self.up()?.mailbox()).await
    }

    async fn set_alert(
        &self,
        alert: &Alert,
        holds: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<AlertAction>, StoreError> {
        self.within(self.up()?.set_alert(alert, holds, now)).await
    }

    async fn fan_out_alert(
        &self,
        reference: &str,
        channels: &[AlertChannel],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.fan_out_alert(reference, channels, now))
            .await
    }

    async fn list_alert(&self, alert: &ListedAlert) -> Result<(), StoreError> {
        self.within(self.up()?.list_alert(alert)).await
    }

    async fn listed_alerts(&self) -> Result<Vec<ListedAlert>, StoreError> {
        self.within(self.up()?.listed_alerts()).await
    }

    async fn oldest_pending(&self) -> Result<Option<OldestPending>, StoreError> {
        self.within(self.up()?.oldest_pending()).await
    }

    async fn circuit_open_since(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.within(self.up()?.circuit_open_since()).await
    }

    async fn repair(
        &self,
        request_id: &str,
        repair: Repair<'_>,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<Repaired, StoreError> {
        self.within(self.up()?.repair(request_id, repair, acting, now))
            .await
    }

    async fn rollouts(&self) -> Result<Vec<RolloutFlag>, StoreError> {
        self.within(self.up()?.rollouts()).await
    }

    async fn set_rollout(
        &self,
        itf_type: ItfType,
        rollout: Rollout,
        acting: &Acting<'_>,
        now: DateTime<Utc>,
    ) -> Result<RolloutFlag, StoreError> {
        self.within(self.up()?.set_rollout(itf_type, rollout, acting, now))
            .await
    }

    async fn begin_sign_in(
        &self,
        state: &SessionTokenHash,
        attempt: &SignInAttempt,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.begin_sign_in(state, attempt)).await
    }

    async fn take_sign_in(
        &self,
        state: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInAttempt>, StoreError> {
        self.within(self.up()?.take_sign_in(state, now)).await
    }

    async fn create_operator_session(
        &self,
        token: &SessionTokenHash,
        session: &OperatorSession,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.create_operator_session(token, session))
            .await
    }

    async fn find_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<OperatorSession>, StoreError> {
        self.within(self.up()?.find_operator_session(token, now))
            .await
    }

    async fn delete_operator_session(
        &self,
        token: &SessionTokenHash,
    ) -> Result<Option<SignInMethod>, StoreError> {
        self.within(self.up()?.delete_operator_session(token)).await
    }

    async fn touch_operator_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.touch_operator_session(token, now))
            .await
    }

    async fn touch_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.within(self.up()?.touch_session(token, now)).await
    }

    async fn audit(&self, entry: &NewAuditEntry) -> Result<(), StoreError> {
        self.within(self.up()?.audit(entry)).await
    }

    async fn audit_trail(&self, request_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.within(self.up()?.audit_trail(request_id)).await
    }

    async fn recent_audit(
        &self,
        action: Option<AuditAction>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.within(self.up()?.recent_audit(action, limit)).await
    }

    async fn requests_in(
        &self,
        state: RequestState,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ItfRequest>, StoreError> {
        self.within(self.up()?.requests_in(state, from, until, limit))
            .await
    }

    async fn requests_of(&self, icn: &Icn) -> Result<Vec<ItfRequest>, StoreError> {
        self.within(self.up()?.requests_of(icn)).await
    }

    async fn request_counts(&self) -> Result<Vec<(RequestState, u64)>, StoreError> {
        self.within(self.up()?.request_counts()).await
    }

    async fn attempt_counts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(AttemptOutcome, u64)>, StoreError> {
        self.within(self.up()?.attempt_counts(from, until)).await
    }

    async fn reseal(&self, limit: u32) -> Result<u64, StoreError> {
        self.within(self.up()?.reseal(limit)).await
    }

    async fn messages_of(&self, request_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        self.within(self.up()?.messages_of(request_id)).await
    }
}
