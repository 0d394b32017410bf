use serde::{Deserialize, Serialize};

/// The six screen states of the ITF status panel, and the synchronous
/// path's seventh (`unconfirmed`, where the rollout flag turned the
/// asynchronous path off). Each is marked in the page as `data-itf-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelState {
    /// The provider, or our last record of it, shows an active ITF.
    Active,
    /// A request is recorded, not yet confirmed.
    Pending,
    /// A pending request became active while the page was open.
    Confirmed,
    /// Pending for longer than the delay threshold.
    Delayed,
    /// The provider refused the request for good.
    NeedsAttention,
    /// We could not record the request.
    Unavailable,
    /// Synchronously, as before this service: the provider could not say
    /// whether there is an ITF, and nothing was recorded.
    Unconfirmed,
}

impl PanelState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Delayed => "delayed",
            Self::NeedsAttention => "needs_attention",
            Self::Unavailable => "unavailable",
            Self::Unconfirmed => "unconfirmed",
        }
    }

    /// Whether the page should keep asking for news.
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Pending | Self::Delayed)
    }
}

/// What the status panel shows. Dates are already written out in Eastern
/// Time ("March 16, 2026").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItfPanel {
    pub state: PanelState,
    /// Pending or delayed: the provider had said none was active, so one is
    /// being created (otherwise we are making sure one exists).
    pub provider_said_none: bool,
    pub creation_date: Option<String>,
    pub expiration_date: Option<String>,
    /// Shown from our record because the provider could not be reached:
    /// when we saw it, date and time.
    pub as_of: Option<String>,
    /// When we received the request.
    pub received_date: Option<String>,
    /// The request the page is waiting on.
    pub request_id: Option<String>,
    /// Messages reach the veteran (VA Notify, or the development mailbox):
    /// only then may the page promise an email.
    pub emails: bool,
    /// The team is alerted when a request needs attention (Slack,
    /// PagerDuty, or the development list): only then may the page say
    /// "we've been notified".
    pub follow_up: bool,
}

impl ItfPanel {
    pub fn unavailable() -> Self {
        Self {
            state: PanelState::Unavailable,
            provider_said_none: false,
            creation_date: None,
            expiration_date: None,
            as_of: None,
            received_date: None,
            request_id: None,
            emails: false,
            follow_up: false,
        }
    }
}
