//! The messages a veteran is sent about a request. Their texts live in
//! `server/messages/`, one file per kind: the source of the VA Notify
//! templates, and exactly what the development mailbox shows. A text's
//! first line is its subject; `((name))` is filled from the message's
//! personalisation, which never holds an ICN or an SSN.

use std::collections::BTreeMap;

use itf_app::domain::eastern_date;

use crate::store::{ItfRequest, MessageKind};

/// A message filled in for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
    /// What filled it in: what VA Notify is sent with its template id.
    pub personalisation: BTreeMap<&'static str, String>,
}

/// The text of a kind of message, as kept in the repository.
pub fn template(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::ItfConfirmed => include_str!("../messages/itf_confirmed.txt"),
        MessageKind::ItfDelayed => include_str!("../messages/itf_delayed.txt"),
        MessageKind::ItfNeedsAttention => include_str!("../messages/itf_needs_attention.txt"),
    }
}

/// What fills in a message about `request`: the first name, the benefit,
/// the date the veteran asked and, once confirmed, the ITF's own dates as
/// the provider recorded them (its date may be later than the request's),
/// all written out in Eastern Time.
pub fn personalisation(request: &ItfRequest) -> BTreeMap<&'static str, String> {
    let mut fields = BTreeMap::from([
        ("first_name", request.veteran_name.first_name().to_owned()),
        ("benefit", request.itf_type.benefit().to_owned()),
        ("request_date", eastern_date(request.received_at)),
    ]);
    if let Some(itf) = &request.itf {
        let date = |at: chrono::DateTime<chrono::FixedOffset>| {
            eastern_date(at.with_timezone(&chrono::Utc))
        };
        fields.insert("itf_date", date(itf.creation_date));
        fields.insert("expiration_date", date(itf.expiration_date));
    }
    fields
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {kind} message needs {field}, which this request does not have")]
pub struct MissingField {
    pub kind: MessageKind,
    pub field: String,
}

/// The message of `kind` about `request`.
pub fn render(kind: MessageKind, request: &ItfRequest) -> Result<Rendered, MissingField> {
    let personalisation = personalisation(request);
    let text =
        fill(template(kind), &personalisation).map_err(|field| MissingField { kind, field })?;
    let (first, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Ok(Rendered {
        subject: first.trim_start_matches("Subject:").trim().to_owned(),
        body: body.trim().to_owned(),
        personalisation,
    })
}

/// `text` with every `((name))` replaced; the first name it has no value
/// for is the error.
fn fill(text: &str, fields: &BTreeMap<&'static str, String>) -> Result<String, String> {
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("((") {
        let Some(length) = rest[start..].find("))") else {
            break;
        };
        let name = &rest[start + 2..start + length];
        let value = fields.get(name).ok_or_else(|| name.to_owned())?;
        filled.push_str(&rest[..start]);
        filled.push_str(value);
        rest = &rest[start + length + 2..];
    }
    filled.push_str(rest);
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::{DateTime, Utc};
    use itf_app::domain::{Icn, ItfType, VeteranName};

    use crate::store::{ConfirmedItf, RequestState};

    fn request(itf: Option<ConfirmedItf>) -> ItfRequest {
        ItfRequest {
            id: "r-1".to_owned(),
            user_id: "vet-no-itf".to_owned(),
            icn: Icn::parse("1012667145V762142").unwrap(),
            veteran_name: VeteranName::new("Hector Allen".to_owned()),
            itf_type: ItfType::Compensation,
            state: RequestState::Active,
            received_at: "2026-03-17T02:30:00Z".parse::<DateTime<Utc>>().unwrap(),
            shown_pending: true,
            provider_said_none: false,
            itf,
            last_error: None,
        }
    }

    fn confirmed() -> ConfirmedItf {
        ConfirmedItf {
            id: "193685".to_owned(),
            creation_date: "2026-03-16T21:30:00-05:00".parse().unwrap(),
            expiration_date: "2027-03-16T21:29:59-05:00".parse().unwrap(),
        }
    }

    #[test]
    fn a_confirmation_greets_by_first_name_with_eastern_dates_written_out() {
        let message = render(MessageKind::ItfConfirmed, &request(Some(confirmed()))).unwrap();
        assert_eq!(
            message.subject,
            "Your intent to file for disability compensation is confirmed"
        );
        assert!(
            message.body.starts_with("Hello Hector,"),
            "{}",
            message.body
        );
        assert!(message
            .body
            .contains("Your intent to file date is March 16, 2026."));
        assert!(message
            .body
            .contains("You have until March 16, 2027 to file"));
        assert!(!message.body.contains("(("), "{}", message.body);
    }

    #[test]
    fn a_confirmation_gives_the_date_the_provider_recorded_not_the_request_date() {
        let later = ConfirmedItf {
            creation_date: "2026-03-17T09:00:00-05:00".parse().unwrap(),
            ..confirmed()
        };
        let message = render(MessageKind::ItfConfirmed, &request(Some(later))).unwrap();
        assert!(message
            .body
            .contains("Your intent to file date is March 17, 2026."));
    }

    #[test]
    fn no_message_holds_the_icn_or_the_full_name() {
        for kind in MessageKind::ALL {
            let message = render(*kind, &request(Some(confirmed()))).unwrap();
            for text in [&message.subject, &message.body] {
                assert!(!text.contains("1012667145V762142"), "{kind}");
                assert!(!text.contains("Allen"), "{kind}");
            }
            assert!(message.body.contains("800-827-1000"), "{kind}");
        }
    }

    #[test]
    fn a_confirmation_without_its_itf_is_refused_not_sent_half_filled() {
        let missing = render(MessageKind::ItfConfirmed, &request(None)).unwrap_err();
        assert_eq!(missing.field, "itf_date");
    }
}
