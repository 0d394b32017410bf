//! The start page's status panel, from the look-up: which of the six states
//! a veteran is in, with dates written out in Eastern Time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use itf_app::domain::{eastern_date, eastern_time, ItfPanel, ItfType, PanelState, Veteran};
use itf_app::session::PanelSource;

use super::{IntakeService, ItfStatus};
use crate::store::{ConfirmedItf, ItfRequest, RequestState, Store};

/// After how long a pending request is shown as delayed. Adjustable at run
/// time from the review page, in development.
#[derive(Clone)]
pub struct DelayThreshold(Arc<AtomicU64>);

impl DelayThreshold {
    pub fn new(after: Duration) -> Self {
        Self(Arc::new(AtomicU64::new(after.as_secs())))
    }

    pub fn get(&self) -> Duration {
        Duration::from_secs(self.0.load(Ordering::Relaxed))
    }

    pub fn set(&self, after: Duration) {
        self.0.store(after.as_secs(), Ordering::Relaxed);
    }
}

pub struct PanelService {
    intake: Arc<IntakeService>,
    store: Arc<dyn Store>,
    delayed_after: DelayThreshold,
    /// Whether messages reach veterans, so that the panel may promise one.
    emails: bool,
    /// Whether the team is alerted of a request that needs attention.
    follow_up: bool,
}

impl PanelService {
    pub fn new(
        intake: Arc<IntakeService>,
        store: Arc<dyn Store>,
        delayed_after: DelayThreshold,
        emails: bool,
        follow_up: bool,
    ) -> Self {
        Self {
            intake,
            store,
            delayed_after,
            emails,
            follow_up,
        }
    }

    async fn compute(&self, veteran: &Veteran, watching: Option<String>) -> ItfPanel {
        ItfPanel {
            emails: self.emails,
            follow_up: self.follow_up,
            ..self.state_of(veteran, watching).await
        }
    }

    async fn state_of(&self, veteran: &Veteran, watching: Option<String>) -> ItfPanel {
        if let Some(confirmed) = self.confirmed(veteran, watching).await {
            return confirmed;
        }
        match self.intake.look_up(veteran, ItfType::Compensation).await {
            Ok(ItfStatus::Active { itf, as_of }) => ItfPanel {
                as_of: as_of.map(|at| format!("{}, {}", eastern_date(at), eastern_time(at))),
                ..with_dates(PanelState::Active, &itf)
            },
            Ok(ItfStatus::Open(request)) => self.waiting(&request),
            Ok(ItfStatus::Unconfirmed) => ItfPanel {
                state: PanelState::Unconfirmed,
                ..ItfPanel::unavailable()
            },
            Err(error) => {
                tracing::warn!(%error, "the status panel could not reach our records");
                ItfPanel::unavailable()
            }
        }
    }

    /// The request the page was waiting on, if the provider has since
    /// confirmed it.
    async fn confirmed(&self, veteran: &Veteran, watching: Option<String>) -> Option<ItfPanel> {
        let request = self.store.request(&watching?).await.ok()??;
        let theirs = request.icn == veteran.icn;
        let itf = request
            .itf
            .as_ref()
            .filter(|_| theirs && request.state == RequestState::Active)?;
        Some(with_dates(PanelState::Confirmed, itf))
    }

    fn waiting(&self, request: &ItfRequest) -> ItfPanel {
        let waited = (Utc::now() - request.received_at)
            .to_std()
            .unwrap_or_default();
        let state = match request.state {
            RequestState::NeedsAttention => PanelState::NeedsAttention,
            _ if waited >= self.delayed_after.get() => PanelState::Delayed,
            _ => PanelState::Pending,
        };
        ItfPanel {
            state,
            provider_said_none: request.provider_said_none,
            creation_date: None,
            expiration_date: None,
            as_of: None,
            received_date: Some(eastern_date(request.received_at)),
            request_id: Some(request.id.clone()),
            emails: false,
            follow_up: false,
        }
    }
}

fn provider_date(at: DateTime<FixedOffset>) -> String {
    eastern_date(at.with_timezone(&Utc))
}

fn with_dates(state: PanelState, itf: &ConfirmedItf) -> ItfPanel {
    ItfPanel {
        state,
        provider_said_none: false,
        creation_date: Some(provider_date(itf.creation_date)),
        expiration_date: Some(provider_date(itf.expiration_date)),
        as_of: None,
        received_date: None,
        request_id: None,
        emails: false,
        follow_up: false,
    }
}

impl PanelSource for PanelService {
    fn panel<'a>(
        &'a self,
        veteran: &'a Veteran,
        watching: Option<String>,
    ) -> Pin<Box<dyn Future<Output = ItfPanel> + Send + 'a>> {
        Box::pin(self.compute(veteran, watching))
    }
}
