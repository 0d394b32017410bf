//! A store that can be made to look down, for UX review of the
//! `unavailable` state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use itf_app::domain::{Icn, ItfType};

use crate::session_token::SessionTokenHash;
use crate::store::{
    Attempt, ClaimedJob, ConfirmedItf, Intake, ItfRequest, JobCounts, JobOutcome, NewRequest,
    ProviderRecord, Session, Store, StoreError,
};

pub struct OutageSwitch {
    inner: Arc<dyn Store>,
    down: Arc<AtomicBool>,
}

impl OutageSwitch {
    pub fn new(inner: Arc<dyn Store>, down: Arc<AtomicBool>) -> Self {
        Self { inner, down }
    }

    fn up(&self) -> Result<&dyn Store, StoreError> {
        if self.down.load(Ordering::Relaxed) {
            Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
        } else {
            Ok(self.inner.as_ref())
        }
    }
}

#[async_trait]
impl Store for OutageSwitch {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.up()?.ping().await
    }

    async fn create_session(
        &self,
        token: &SessionTokenHash,
        session: &Session,
    ) -> Result<(), StoreError> {
        self.up()?.create_session(token, session).await
    }

    async fn find_session(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        self.up()?.find_session(token, now).await
    }

    async fn delete_session(&self, token: &SessionTokenHash) -> Result<(), StoreError> {
        self.up()?.delete_session(token).await
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.up()?.delete_expired_sessions(now).await
    }

    async fn intake(&self, new: &NewRequest<'_>) -> Result<Intake, StoreError> {
        self.up()?.intake(new).await
    }

    async fn request(&self, id: &str) -> Result<Option<ItfRequest>, StoreError> {
        self.up()?.request(id).await
    }

    async fn latest_request(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ItfRequest>, StoreError> {
        self.up()?.latest_request(icn, itf_type).await
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        self.up()?.claim_jobs(owner, now, lease, limit).await
    }

    async fn finish_job(
        &self,
        job_id: &str,
        lease_token: &str,
        now: DateTime<Utc>,
        outcome: &JobOutcome,
    ) -> Result<bool, StoreError> {
        self.up()?
            .finish_job(job_id, lease_token, now, outcome)
            .await
    }

    async fn record_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.up()?.record_attempt(attempt).await
    }

    async fn attempts(&self, request_id: &str) -> Result<Vec<Attempt>, StoreError> {
        self.up()?.attempts(request_id).await
    }

    async fn job_count(&self, request_id: &str) -> Result<u64, StoreError> {
        self.up()?.job_count(request_id).await
    }

    async fn provider_record(
        &self,
        icn: &Icn,
        itf_type: ItfType,
    ) -> Result<Option<ProviderRecord>, StoreError> {
        self.up()?.provider_record(icn, itf_type).await
    }

    async fn record_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        itf: &ConfirmedItf,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.up()?.record_active(icn, itf_type, itf, seen_at).await
    }

    async fn record_none_active(
        &self,
        icn: &Icn,
        itf_type: ItfType,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.up()?.record_none_active(icn, itf_type, seen_at).await
    }

    async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        self.up()?.job_counts().await
    }
}
