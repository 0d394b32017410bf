//! The console's forms: retry, resolve and note, each with a reason and
//! for `operator` and `admin` only; the search by ICN (a form post, so that
//! an ICN never appears in a URL); the report as CSV. Each is audited.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, FixedOffset, Months, NaiveDate, Utc};
use itf_app::domain::{eastern_day, eastern_midnight, Icn, Operator};
use itf_app::session::signed_in_operator;
use serde::Deserialize;

use super::{may_administer, may_repair, ConsoleState};
use crate::flag::{self, FlagError};
use crate::metrics;
use crate::report::{self, Days};
use crate::store::{
    Acting, AuditAction, ConfirmedItf, NewAuditEntry, Repair, Repaired, RequestSnapshot,
};
use crate::web::ApiError;

/// The operator the console's session layer found.
pub struct SignedInOperator(pub Operator);

impl<S: Send + Sync> FromRequestParts<S> for SignedInOperator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        signed_in_operator(&parts.extensions)
            .map(Self)
            .ok_or(ApiError::Console {
                status: StatusCode::UNAUTHORIZED,
                title: "Not signed in",
                detail: "Sign in to the console and try again.".into(),
            })
    }
}

fn bad_form(title: &'static str, detail: &'static str) -> ApiError {
    ApiError::Console {
        status: StatusCode::BAD_REQUEST,
        title,
        detail: detail.into(),
    }
}

/// The form of a repair, for a role that may repair, read.
fn repair_form<F>(
    operator: &Operator,
    form: Result<Form<F>, FormRejection>,
    unreadable: &'static str,
) -> Result<F, ApiError> {
    may_repair(operator)?;
    form.map(|Form(form)| form)
        .map_err(|_| bad_form("Unreadable form", unreadable))
}

/// Every change needs a reason, for the audit log.
fn reason_of(reason: &str) -> Result<&str, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(bad_form(
            "Give a reason",
            "Say why, in the reason field: it goes in the audit log with the change. \
             Go back; what you typed is still in the form.",
        ));
    }
    Ok(reason)
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

fn back_to(request_id: &str) -> Redirect {
    Redirect::to(&format!("/console/requests/{request_id}"))
}

/// What a repair came to, as the operator is told.
fn answered(request_id: &str, repaired: Repaired, what: AuditAction) -> Result<Redirect, ApiError> {
    match repaired {
        Repaired::Done(_) => {
            metrics::operator_action(what);
            Ok(back_to(request_id))
        }
        Repaired::NotFound => Err(ApiError::Console {
            status: StatusCode::NOT_FOUND,
            title: "No such request",
            detail: format!("There is no request {request_id}. Find it from the requests page.")
                .into(),
        }),
        Repaired::NotAllowed(state) => Err(ApiError::Console {
            status: StatusCode::CONFLICT,
            title: "Not for a request in this state",
            detail: format!(
                "Request {request_id} is {state}: a retry is for a request that needs \
                 attention, a resolve for one that is pending or needs attention. \
                 Open the request to see where it stands."
            )
            .into(),
        }),
    }
}

/// `POST /console/requests/{id}/retry`: back to pending with a new job.
pub async fn retry(
    State(state): State<ConsoleState>,
    SignedInOperator(operator): SignedInOperator,
    Path(request_id): Path<String>,
    form: Result<Form<ReasonForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let form = repair_form(&operator, form, "Send the retry form with a reason.")?;
    let acting = Acting {
        operator: &operator,
        reason: reason_of(&form.reason)?,
    };
    let repaired = state
        .store
        .repair(&request_id, Repair::Retry, &acting, Utc::now())
        .await?;
    answered(&request_id, repaired, AuditAction::Retry)
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    itf_id: String,
    /// `YYYY-MM-DD` (an Eastern Time day) or an RFC 3339 time.
    #[serde(default)]
    creation_date: String,
    /// The same; a year less a second after the creation when left empty,
    /// as the provider sets it.
    #[serde(default)]
    expiration_date: String,
}

fn provider_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text).ok().or_else(|| {
        let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        let midnight = eastern_midnight(day);
        let offset = day_offset(midnight);
        Some(midnight.with_timezone(&offset))
    })
}

/// The Eastern Time offset at an instant, as the ITF's date carries it.
fn day_offset(at: DateTime<Utc>) -> FixedOffset {
    use chrono::Offset;
    at.with_timezone(&chrono_tz::America::New_York)
        .offset()
        .fix()
}

impl ResolveForm {
    fn itf(&self) -> Result<ConfirmedItf, ApiError> {
        let id = self.itf_id.trim();
        if id.is_empty() {
            return Err(bad_form(
                "Give the ITF's id",
                "Enter the id the provider gave the ITF. Go back; what you typed is still in the form.",
            ));
        }
        let Some(creation_date) = provider_time(&self.creation_date) else {
            return Err(bad_form(
                "Give the ITF's date",
                "Enter the date the ITF was created, as 2026-03-16. \
                 Go back; what you typed is still in the form.",
            ));
        };
        let expiration_date = if self.expiration_date.trim().is_empty() {
            creation_date
                .checked_add_months(Months::new(12))
                .map(|at| at - chrono::Duration::seconds(1))
        } else {
            provider_time(&self.expiration_date)
        };
        let Some(expiration_date) = expiration_date.filter(|end| *end > creation_date) else {
            return Err(bad_form(
                "Check the expiration date",
                "Enter the expiration date as 2027-03-16, after the creation date, \
                 or leave it empty for a year after it.",
            ));
        };
        Ok(ConfirmedItf {
            id: id.to_owned(),
            creation_date,
            expiration_date,
        })
    }
}

/// `POST /console/requests/{id}/resolve`: active, with an ITF recorded by
/// hand (made by phone, say).
pub async fn resolve(
    State(state): State<ConsoleState>,
    SignedInOperator(operator): SignedInOperator,
    Path(request_id): Path<String>,
    form: Result<Form<ResolveForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let form = repair_form(
        &operator,
        form,
        "Send the resolve form with a reason, the ITF's id and its date.",
    )?;
    let reason = reason_of(&form.reason)?;
    let itf = form.itf()?;
    let acting = Acting {
        operator: &operator,
        reason,
    };
    let repaired = state
        .store
        .repair(&request_id, Repair::Resolve(&itf), &acting, Utc::now())
        .await?;
    answered(&request_id, repaired, AuditAction::Resolve)
}

/// `POST /console/requests/{id}/note`: a note on the record, changing
/// nothing.
pub async fn note(
    State(state): State<ConsoleState>,
    SignedInOperator(operator): SignedInOperator,
    Path(request_id): Path<String>,
    form: Result<Form<ReasonForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let form = repair_form(&operator, form, "Send the note in the reason field.")?;
    let reason = reason_of(&form.reason)?;
    let Some(request) = state.store.request(&request_id).await? else {
        return answered(&request_id, Repaired::NotFound, AuditAction::Note);
    };
    let snapshot = RequestSnapshot::of(&request).to_json();
    let entry = NewAuditEntry {
        reason: Some(reason.to_owned()),
        before: Some(snapshot.clone()),
        after: Some(snapshot),
        ..NewAuditEntry::by(&operator, AuditAction::Note, Some(&request_id))
    };
    state.store.audit(&entry).await?;
    answered(
        &request_id,
        Repaired::Done(Box::new(request)),
        AuditAction::Note,
    )
}

#[derive(Deserialize)]
pub struct RolloutForm {
    #[serde(default)]
    rollout: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/rollout`: an admin sets compensation's rollout flag;
/// every instance follows within seconds, and the change is audited.
pub async fn set_rollout(
    State(state): State<ConsoleState>,
    SignedInOperator(operator): SignedInOperator,
    form: Result<Form<RolloutForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    may_administer(&operator)?;
    let Ok(Form(form)) = form else {
        return Err(bad_form(
            "Unreadable form",
            "Choose on, a share or off, and say why.",
        ));
    };
    let rollout = match form.rollout.as_str() {
        "percent" => format!("percent {}", form.percent.trim()),
        other => other.to_owned(),
    };
    let acting = Acting {
        operator: &operator,
        reason: &form.reason,
    };
    let set = flag::change(state.store.as_ref(), "compensation", &rollout, &acting)
        .await
        .map_err(|error| match error {
            FlagError::Store(error) => ApiError::Store(error),
            refused => ApiError::Console {
                status: StatusCode::BAD_REQUEST,
                title: "The flag was not changed",
                detail: refused.to_string().into(),
            },
        })?;
    // Who changed it is in the audit log: an operator's id may be their
    // email address, which no log line carries.
    tracing::info!(
        itf_type = set.itf_type.as_str(),
        rollout = %set.rollout,
        role = operator.role.as_str(),
        "rollout flag changed"
    );
    Ok(Redirect::to(super::ROOT))
}

#[derive(Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    icn: String,
    #[serde(default)]
    request_id: String,
}

/// `POST /console/search`: a request by its id; or a veteran's requests by
/// ICN, audited, leading to the newest of them, whose page lists the
/// others.
pub async fn search(
    State(state): State<ConsoleState>,
    SignedInOperator(operator): SignedInOperator,
    form: Result<Form<SearchForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let form = form.ok().map(|Form(form)| form);
    if let Some(id) = form
        .as_ref()
        .map(|form| form.request_id.trim())
        .filter(|id| !id.is_empty())
    {
        return Ok(match state.store.request(id).await? {
            Some(request) => back_to(&request.id),
            None => Redirect::to("/console/requests?found=none"),
        });
    }
    let icn = form
        .and_then(|form| Icn::parse(form.icn.trim()).ok())
        .ok_or_else(|| {
            bad_form(
                "That is not an ICN",
                "An ICN is 10 digits, a V and 6 digits, such as 1012667145V762142. \
                 Go back and check it.",
            )
        })?;
    let found = state.store.requests_of(&icn).await?;
    let ids: Vec<&str> = found.iter().map(|request| request.id.as_str()).collect();
    let newest = found.first().map(|request| request.id.as_str());
    let entry = NewAuditEntry {
        after: Some(serde_json::json!({ "found": ids }).to_string()),
        ..NewAuditEntry::by(&operator, AuditAction::SearchIcn, newest)
    };
    state.store.audit(&entry).await?;
    metrics::operator_action(AuditAction::SearchIcn);
    Ok(match found.first() {
        Some(newest) => back_to(&newest.id),
        None => Redirect::to("/console/requests?found=none"),
    })
}

#[derive(Deserialize)]
pub struct DaysQuery {
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
}

/// The report's days when the form leaves them out: the last 30.
pub fn days_or_default(
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Result<Days, ApiError> {
    let today = eastern_day(&Utc::now());
    let until = until.unwrap_or(today);
    let since = since.unwrap_or(until - chrono::Duration::days(30));
    Days::new(since, until).map_err(|error| ApiError::Console {
        status: StatusCode::BAD_REQUEST,
        title: "Check the dates",
        detail: error.to_string().into(),
    })
}

/// `GET /console/report/date-drift.csv`: the report with ICNs, for
/// `operator` and `admin`; each download is in the audit log.
pub async fn date_drift_csv(
    State(state): State<ConsoleState>,
    SignedInOperator(operator): SignedInOperator,
    query: Result<Query<DaysQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    may_repair(&operator)?;
    let Ok(Query(query)) = query else {
        return Err(bad_form(
            "Check the dates",
            "Give the days as 2026-03-16, in since and until.",
        ));
    };
    let days = days_or_default(query.since, query.until)?;
    let drift = report::date_drift(state.store.as_ref(), days)
        .await
        .map_err(|error| ApiError::Console {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Report not made",
            detail: format!("{error}. Try again in a few minutes.").into(),
        })?;
    let entry = NewAuditEntry {
        reason: Some(format!(
            "date-drift CSV, received {} to {}, {} requests",
            days.since,
            days.until,
            drift.len()
        )),
        ..NewAuditEntry::by(&operator, AuditAction::DownloadReport, None)
    };
    state.store.audit(&entry).await?;
    metrics::operator_action(AuditAction::DownloadReport);
    let filename = format!("date-drift-{}-{}.csv", days.since, days.until);
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        report::csv(&drift),
    )
        .into_response())
}
