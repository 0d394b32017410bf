//! The remediation report, for the people who correct effective dates: the
//! requests whose ITF the provider dated on a later Eastern Time day than
//! the day we received them. On screen in the console, as CSV, and from the
//! command line (`itf-async report date-drift`). It carries ICNs: reading it
//! is audited.

use chrono::{DateTime, NaiveDate, Utc};
use itf_app::domain::{eastern_day, eastern_midnight};
use serde_json::{json, Value};

use crate::config::Config;
use crate::store::{
    AlwaysOpen, AuditAction, DateDrift, NewAuditEntry, RequestState, Store, StoreError,
};

/// The most requests one report reads; a longer range is refused, to be
/// asked for in parts.
pub const MAX_REQUESTS: u32 = 200_000;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("--until ({until}) is before --since ({since}); give the earlier day first")]
    Backwards { since: NaiveDate, until: NaiveDate },
    #[error(
        "more than {MAX_REQUESTS} requests were received in that range; ask for a shorter one"
    )]
    TooMany,
    #[error("cannot read the report from the database ({0}); check DATABASE_URL, and that `itf-async migrate` has run")]
    Store(#[from] StoreError),
    #[error("cannot load the keys that seal personal data: {0}")]
    Keys(#[from] crate::sealing::KeyFileError),
}

/// Received on one of these Eastern Time days, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub since: NaiveDate,
    pub until: NaiveDate,
}

impl Days {
    pub fn new(since: NaiveDate, until: NaiveDate) -> Result<Self, ReportError> {
        if until < since {
            return Err(ReportError::Backwards { since, until });
        }
        Ok(Self { since, until })
    }

    /// From `since` to today, in Eastern Time.
    pub fn since(since: NaiveDate, now: DateTime<Utc>) -> Result<Self, ReportError> {
        Self::new(since, eastern_day(&now))
    }

    fn instants(self) -> (DateTime<Utc>, DateTime<Utc>) {
        let after = self.until.succ_opt().unwrap_or(self.until);
        (eastern_midnight(self.since), eastern_midnight(after))
    }
}

/// The requests received on `days` that the provider dated later, oldest
/// first.
pub async fn date_drift(store: &dyn Store, days: Days) -> Result<Vec<DateDrift>, ReportError> {
    let (from, until) = days.instants();
    let active = store
        .requests_in(RequestState::Active, from, until, MAX_REQUESTS + 1)
        .await?;
    if active.len() > MAX_REQUESTS as usize {
        return Err(ReportError::TooMany);
    }
    Ok(active.into_iter().filter_map(DateDrift::of).collect())
}

/// The columns of the report, in order.
pub const COLUMNS: [&str; 9] = [
    "request_id",
    "icn",
    "itf_type",
    "received_at",
    "received_date_et",
    "itf_id",
    "creation_date",
    "creation_date_et",
    "days_between",
];

/// One line of the report, its fields in the order of `COLUMNS`.
fn fields(drift: &DateDrift) -> [String; 9] {
    let request = &drift.request;
    let itf = request.itf.as_ref();
    [
        request.id.clone(),
        request.icn.expose().to_owned(),
        request.itf_type.as_str().to_owned(),
        request.received_at.to_rfc3339(),
        eastern_day(&request.received_at).to_string(),
        itf.map(|itf| itf.id.clone()).unwrap_or_default(),
        itf.map(|itf| itf.creation_date.to_rfc3339())
            .unwrap_or_default(),
        itf.map(|itf| eastern_day(&itf.creation_date).to_string())
            .unwrap_or_default(),
        drift.days.to_string(),
    ]
}

/// RFC 4180: a field with a comma, a quote or a line break is quoted.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The report as CSV: one header row, then a row per request, CRLF line
/// ends.
pub fn csv(drift: &[DateDrift]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for line in drift {
        let row: Vec<String> = fields(line).iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The report as JSON: `{"date_drift": [{column: value, …}, …]}`, days as a
/// number.
pub fn json(drift: &[DateDrift]) -> Value {
    let lines: Vec<Value> = drift
        .iter()
        .map(|line| {
            let mut object = serde_json::Map::new();
            for (column, field) in COLUMNS.iter().zip(fields(line)) {
                object.insert((*column).to_owned(), Value::String(field));
            }
            object.insert("days_between".to_owned(), json!(line.days));
            Value::Object(object)
        })
        .collect();
    json!({ "date_drift": lines })
}

/// How the command line writes the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// The date-drift report as `itf-async report date-drift` prints it, read
/// from the database the settings name; the reading is audited, under the
/// account that ran the command.
pub async fn from_the_command_line(
    config: &Config,
    days: Days,
    format: Format,
) -> Result<String, ReportError> {
    let keys = crate::sealing::load(&config.keys, &config.data_dir)?;
    let store = crate::store::open(
        &config.database,
        std::sync::Arc::new(AlwaysOpen),
        std::sync::Arc::new(keys),
    )?;
    let drift = date_drift(store.as_ref(), days).await?;
    let account = crate::store::command_line_operator();
    let entry = NewAuditEntry {
        reason: Some(format!(
            "date-drift report, received {} to {}, {} requests",
            days.since,
            days.until,
            drift.len()
        )),
        ..NewAuditEntry::by(&account, AuditAction::DownloadReport, None)
    };
    store.audit(&entry).await?;
    Ok(match format {
        Format::Csv => csv(&drift),
        Format::Json => format!("{:#}\n", json(&drift)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_with_a_comma_or_a_quote_is_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn days_run_from_eastern_midnight_to_eastern_midnight() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let days = Days::new(day(16), day(17)).unwrap();
        let (from, until) = days.instants();
        assert_eq!(from.to_rfc3339(), "2026-03-16T04:00:00+00:00");
        assert_eq!(until.to_rfc3339(), "2026-03-18T04:00:00+00:00");
        assert!(matches!(
            Days::new(day(17), day(16)),
            Err(ReportError::Backwards { .. })
        ));
    }
}
