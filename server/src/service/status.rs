//! A veteran's ITF state from our records alone: what the service API
//! answers and the application page shows.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::America::New_York;
use itf_app::domain::{eastern_date, Icn, ItfType, SubmissionItf, Veteran};
use itf_app::session::SubmissionSource;
use itf_app::PageError;
use serde_json::{json, Value};

use crate::store::{ConfirmedItf, DateDrift, RequestState, Store, StoreError};

/// Where a veteran's ITF of a type stands, by our records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItfStatusReport {
    Active {
        /// The request that made it, when one of ours did.
        request_id: Option<String>,
        itf: ConfirmedItf,
        /// The provider dated it on a later Eastern Time day than we
        /// received the request: it is on the date-drift list.
        date_drift: bool,
    },
    Pending {
        request_id: String,
        received_at: DateTime<Utc>,
    },
    NeedsAttention {
        request_id: String,
        received_at: DateTime<Utc>,
    },
    None,
}

impl ItfStatusReport {
    pub fn state(&self) -> &'static str {
        match self {
            Self::Active { .. } => "active",
            Self::Pending { .. } => "pending",
            Self::NeedsAttention { .. } => "needs_attention",
            Self::None => "none",
        }
    }

    /// The service API's attributes: the state, and what follows from it.
    pub fn to_json(&self, itf_type: ItfType) -> Value {
        let mut attributes = json!({ "state": self.state(), "type": itf_type.as_str() });
        let more = match self {
            Self::Active {
                request_id,
                itf,
                date_drift,
            } => json!({
                "request_id": request_id,
                "itf_id": itf.id,
                "creation_date": itf.creation_date.to_rfc3339_opts(SecondsFormat::Millis, false),
                "expiration_date": itf.expiration_date.to_rfc3339_opts(SecondsFormat::Millis, false),
                "date_drift": date_drift,
            }),
            Self::Pending {
                request_id,
                received_at,
            }
            | Self::NeedsAttention {
                request_id,
                received_at,
            } => json!({
                "request_id": request_id,
                "received_at": received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                "received_date": received_at.with_timezone(&New_York).format("%Y-%m-%d").to_string(),
            }),
            Self::None => json!({}),
        };
        if let (Some(all), Value::Object(more)) = (attributes.as_object_mut(), more) {
            all.extend(more);
        }
        attributes
    }

    /// The same, as the application page words it.
    pub fn in_words(self) -> SubmissionItf {
        let day = |at: DateTime<chrono::FixedOffset>| eastern_date(at.with_timezone(&Utc));
        match self {
            Self::Active { itf, .. } => SubmissionItf::Active {
                itf_id: itf.id,
                creation_date: day(itf.creation_date),
                expiration_date: day(itf.expiration_date),
            },
            Self::Pending { received_at, .. } => SubmissionItf::Pending {
                received_date: eastern_date(received_at),
            },
            Self::NeedsAttention { received_at, .. } => SubmissionItf::NeedsAttention {
                received_date: eastern_date(received_at),
            },
            Self::None => SubmissionItf::None,
        }
    }
}

/// The veteran's newest request of the type, if open, or active with an
/// unexpired ITF; else the provider's active ITF as we last saw it; else
/// none.
pub async fn of(
    store: &dyn Store,
    icn: &Icn,
    itf_type: ItfType,
) -> Result<ItfStatusReport, StoreError> {
    let now = Utc::now();
    if let Some(request) = store.latest_request(icn, itf_type).await? {
        let (request_id, received_at) = (request.id.clone(), request.received_at);
        match request.state {
            RequestState::Pending => {
                return Ok(ItfStatusReport::Pending {
                    request_id,
                    received_at,
                })
            }
            RequestState::NeedsAttention => {
                return Ok(ItfStatusReport::NeedsAttention {
                    request_id,
                    received_at,
                })
            }
            RequestState::Active => {
                if let Some(itf) = request.itf.clone().filter(|itf| itf.is_unexpired(now)) {
                    return Ok(ItfStatusReport::Active {
                        request_id: Some(request_id),
                        itf,
                        date_drift: DateDrift::of(request).is_some(),
                    });
                }
            }
        }
    }
    let seen = store
        .provider_record(icn, itf_type)
        .await?
        .and_then(|record| record.active_at(now));
    Ok(match seen {
        Some((itf, _)) => ItfStatusReport::Active {
            request_id: None,
            itf,
            date_drift: false,
        },
        None => ItfStatusReport::None,
    })
}

/// The application page's view of the same answer.
pub struct StoreSubmissions(pub Arc<dyn Store>);

impl SubmissionSource for StoreSubmissions {
    fn submission<'a>(
        &'a self,
        veteran: &'a Veteran,
    ) -> Pin<Box<dyn Future<Output = Result<SubmissionItf, PageError>> + Send + 'a>> {
        Box::pin(async move {
            let report = of(self.0.as_ref(), &veteran.icn, ItfType::Compensation)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "the application page could not read our records");
                    PageError::ServiceUnavailable
                })?;
            Ok(report.in_words())
        })
    }
}
