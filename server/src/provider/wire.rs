//! The JSON bodies of the Lighthouse Benefits Claims API v2, as documented.
//! The client reads them and the simulator writes them.

use chrono::{DateTime, FixedOffset};
use itf_app::domain::ItfType;
use serde::{Deserialize, Serialize};

/// `{"data":{"id","type":"intent_to_file","attributes":{…}}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItfBody {
    pub data: ItfData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItfData {
    pub id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub attributes: ItfAttributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItfAttributes {
    #[serde(with = "timestamp")]
    pub creation_date: DateTime<FixedOffset>,
    #[serde(with = "timestamp")]
    pub expiration_date: DateTime<FixedOffset>,
    #[serde(rename = "type")]
    pub itf_type: ItfType,
    pub status: String,
}

pub const RESOURCE_TYPE: &str = "intent_to_file";

/// `POST /veterans/{icn}/intent-to-file`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBody {
    pub data: CreateData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateData {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub attributes: CreateAttributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAttributes {
    #[serde(rename = "type")]
    pub itf_type: ItfType,
    /// Nine digits; required for `survivor`.
    #[serde(
        rename = "claimantSsn",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub claimant_ssn: Option<String>,
}

/// `{"errors":[{"title","detail","source":{"pointer"}}]}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorsBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    pub title: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<ErrorSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSource {
    pub pointer: String,
}

impl ErrorsBody {
    pub fn one(title: &str, detail: &str) -> Self {
        Self {
            errors: vec![ErrorItem {
                title: title.to_owned(),
                detail: detail.to_owned(),
                source: None,
            }],
        }
    }
}

/// The token endpoint's answer. `Debug` leaves the token out.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenBody {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default)]
    pub scope: String,
}

impl std::fmt::Debug for TokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBody")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Timestamps as Lighthouse writes them: `2021-03-16T19:15:21.000-05:00`,
/// milliseconds and the offset they were made in. Read with the offset,
/// never by cutting the date out of the text.
pub mod timestamp {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serializer};

    pub const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f%:z";

    pub fn serialize<S: Serializer>(at: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&at.format(FORMAT))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// The sample bodies of the API's documentation, verbatim.
    const SAMPLE_ITF: &str = r#"{"data":{"id":"193685","type":"intent_to_file","attributes":{"creationDate":"2021-03-16T19:15:21.000-05:00","expirationDate":"2022-03-16T19:15:20.000-05:00","type":"compensation","status":"active"}}}"#;
    const SAMPLE_NONE: &str = r#"{"errors":[{"title":"Resource not found","detail":"No active compensation intent to file found."}]}"#;
    const SAMPLE_CREATE: &str =
        r#"{"data":{"type":"intent_to_file","attributes":{"type":"compensation"}}}"#;

    #[test]
    fn the_sample_itf_parses_with_its_offset() {
        let body: ItfBody = serde_json::from_str(SAMPLE_ITF).unwrap();
        assert_eq!(body.data.id, "193685");
        assert_eq!(body.data.resource_type, RESOURCE_TYPE);
        let attributes = &body.data.attributes;
        assert_eq!(attributes.itf_type, ItfType::Compensation);
        assert_eq!(attributes.status, "active");
        assert_eq!(
            attributes.creation_date.offset().local_minus_utc(),
            -5 * 3600
        );
        assert_eq!(
            attributes.creation_date.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2021, 3, 17, 0, 15, 21).unwrap()
        );
        assert_eq!(
            attributes.expiration_date - attributes.creation_date,
            chrono::Duration::days(365) - chrono::Duration::seconds(1)
        );
    }

    #[test]
    fn the_sample_itf_writes_back_byte_for_byte() {
        let body: ItfBody = serde_json::from_str(SAMPLE_ITF).unwrap();
        assert_eq!(serde_json::to_string(&body).unwrap(), SAMPLE_ITF);
    }

    #[test]
    fn the_sample_not_found_body_parses() {
        let body: ErrorsBody = serde_json::from_str(SAMPLE_NONE).unwrap();
        assert_eq!(body.errors[0].title, "Resource not found");
        assert_eq!(serde_json::to_string(&body).unwrap(), SAMPLE_NONE);
    }

    #[test]
    fn the_create_body_is_the_documented_one() {
        let body = CreateBody {
            data: CreateData {
                resource_type: RESOURCE_TYPE.to_owned(),
                attributes: CreateAttributes {
                    itf_type: ItfType::Compensation,
                    claimant_ssn: None,
                },
            },
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), SAMPLE_CREATE);
    }

    #[test]
    fn an_error_with_a_source_pointer_parses() {
        let body: ErrorsBody = serde_json::from_str(
            r#"{"errors":[{"title":"Unprocessable Entity","detail":"claimantSsn is required","source":{"pointer":"/data/attributes/claimantSsn"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            body.errors[0].source.as_ref().unwrap().pointer,
            "/data/attributes/claimantSsn"
        );
    }
}
