//! An event's body, as every delivery of it carries it: the type, when the
//! change happened, and the request's ITF state as the service API answers
//! it, with the veteran's ICN so that the receiver can match its claim.

use chrono::SecondsFormat;
use serde_json::{json, Value};

use crate::service::ItfStatusReport;
use crate::store::{DateDrift, EventType, WebhookDelivery};

/// The event's JSON; an error names what the request lacks.
pub fn body(delivery: &WebhookDelivery) -> Result<String, String> {
    let request = &delivery.request;
    let drift = DateDrift::of(request.clone()).map(|drift| drift.days);
    let report = match delivery.event_type {
        EventType::NeedsAttention => ItfStatusReport::NeedsAttention {
            request_id: request.id.clone(),
            received_at: request.received_at,
        },
        EventType::Confirmed | EventType::DateDrift => ItfStatusReport::Active {
            request_id: Some(request.id.clone()),
            itf: request
                .itf
                .clone()
                .ok_or_else(|| format!("request {} holds no ITF", request.id))?,
            date_drift: drift.is_some(),
        },
    };
    let mut data = report.to_json(request.itf_type);
    if let Some(data) = data.as_object_mut() {
        data.insert("icn".to_owned(), Value::from(request.icn.expose()));
        if delivery.event_type == EventType::DateDrift {
            data.insert("days_between".to_owned(), Value::from(drift.unwrap_or(0)));
        }
    }
    Ok(json!({
        "type": delivery.event_type.as_str(),
        "timestamp": delivery.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string())
}
