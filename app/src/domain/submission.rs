use serde::{Deserialize, Serialize};

/// What a 526 submission would carry about the veteran's compensation ITF,
/// from our records: the same answer other VA services get from the service
/// API. Dates are written out in Eastern Time ("March 16, 2026").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SubmissionItf {
    /// The provider confirmed it: the potential effective date is fixed.
    Active {
        itf_id: String,
        creation_date: String,
        expiration_date: String,
    },
    /// Requested on `received_date`, not yet confirmed.
    Pending { received_date: String },
    /// The provider refused the request; a person follows up.
    NeedsAttention { received_date: String },
    /// None on record.
    None,
}

impl SubmissionItf {
    /// As marked in the page, `data-submission-itf`.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Active { .. } => "active",
            Self::Pending { .. } => "pending",
            Self::NeedsAttention { .. } => "needs_attention",
            Self::None => "none",
        }
    }
}
