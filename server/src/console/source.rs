//! What the console's pages show, read from the store: the overview, the
//! lists, a request's timeline (opening it is audited) and the report.

use std::time::Duration;

use chrono::{DateTime, DurationRound, NaiveDate, Utc};
use itf_app::console::{
    ConsoleSource, Count, DriftLine, HourOfAttempts, ItfView, Overview, ReportView, RequestFilter,
    RequestLine, RequestView, RolloutChange, RolloutLine, TimelineEntry, WebhookLine,
};
use itf_app::domain::{eastern_date, eastern_midnight, eastern_time, Operator};
use itf_app::PageError;

use crate::config::BudgetSettings;
use crate::metrics;
use crate::report;
use crate::store::{
    Attempt, AttemptOutcome, AuditAction, AuditEntry, CircuitState, ItfRequest, MessageRecord,
    NewAuditEntry, RequestState, Store, StoreError, WebhookState,
};

/// How many hours the overview's chart shows.
const HOURS: i64 = 6;
/// The most requests a list shows.
const LIST_LIMIT: u32 = 200;

pub struct StoreConsole {
    pub store: std::sync::Arc<dyn Store>,
    pub budget: Option<BudgetSettings>,
    /// How long a request may be pending before it is on the report.
    pub pending_after: Duration,
}

fn unavailable(error: StoreError) -> PageError {
    tracing::warn!(%error, "the console could not read our records");
    PageError::ServiceUnavailable
}

/// "March 16, 2026, 3:05 p.m. ET".
/// How many changes of the rollout flag the overview lists.
const ROLLOUT_CHANGES_SHOWN: u32 = 10;

fn when(at: DateTime<Utc>) -> String {
    format!("{}, {}", eastern_date(at), eastern_time(at))
}

/// "3 hours 5 minutes", from a span.
fn span(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let unit = |n: i64, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    match (days, hours) {
        (0, 0) => unit(minutes, "minute"),
        (0, _) => format!("{} {}", unit(hours, "hour"), unit(minutes, "minute")),
        _ => format!("{} {}", unit(days, "day"), unit(hours, "hour")),
    }
}

fn line(request: &ItfRequest, now: DateTime<Utc>) -> RequestLine {
    RequestLine {
        id: request.id.clone(),
        itf_type: request.itf_type.as_str().to_owned(),
        state: request.state.as_str().to_owned(),
        received: when(request.received_at),
        age: span(request.received_at, now),
    }
}

fn day(text: Option<&str>, name: &str) -> Result<Option<NaiveDate>, PageError> {
    text.map(|text| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| PageError::BadInput(format!("{name} is a day written as 2026-03-16")))
    })
    .transpose()
}

impl StoreConsole {
    async fn hours(&self, now: DateTime<Utc>) -> Result<Vec<HourOfAttempts>, StoreError> {
        let this_hour = now
            .duration_trunc(chrono::Duration::hours(1))
            .unwrap_or(now);
        let mut hours = Vec::new();
        for back in (0..HOURS).rev() {
            let from = this_hour - chrono::Duration::hours(back);
            let counted = self
                .store
                .attempt_counts(from, from + chrono::Duration::hours(1))
                .await?;
            let counts = AttemptOutcome::ALL
                .iter()
                .map(|outcome| {
                    counted
                        .iter()
                        .find(|(kind, _)| kind == outcome)
                        .map_or(0, |(_, n)| *n)
                })
                .collect();
            hours.push(HourOfAttempts {
                label: eastern_time(from).replace(":00", ""),
                counts,
            });
        }
        Ok(hours)
    }

    async fn circuit(&self) -> Result<String, StoreError> {
        let state = self.store.circuit().await?;
        let since = self.store.circuit_open_since().await?;
        Ok(match (state, since) {
            (CircuitState::Closed, _) => "closed: the provider is asked".to_owned(),
            (state, Some(since)) => format!(
                "{state} since {}: the provider failed repeatedly and waits for a probe",
                when(since)
            ),
            (state, None) => state.as_str().to_owned(),
        })
    }

    async fn overview_of(&self, operator: &Operator) -> Result<Overview, StoreError> {
        let now = Utc::now();
        let counts = self.store.request_counts().await?;
        let by_state = RequestState::ALL
            .iter()
            .map(|state| Count {
                label: state.as_str().to_owned(),
                count: counts
                    .iter()
                    .find(|(kind, _)| kind == state)
                    .map_or(0, |(_, n)| *n),
            })
            .collect();
        let oldest_pending = self.store.oldest_pending().await?.map(|oldest| {
            format!(
                "{} (request {}, received {}; {} pending)",
                span(oldest.received_at, now),
                oldest.request_id,
                when(oldest.received_at),
                oldest.pending
            )
        });
        let hours = self.hours(now).await?;
        let last = hours
            .last()
            .map(|hour| hour.counts.clone())
            .unwrap_or_default();
        let calls: u64 = last.iter().sum();
        let transient = AttemptOutcome::ALL
            .iter()
            .position(|outcome| *outcome == AttemptOutcome::Transient)
            .and_then(|at| last.get(at).copied())
            .unwrap_or(0);
        Ok(Overview {
            operator: operator.clone(),
            by_state,
            oldest_pending,
            outcomes: AttemptOutcome::ALL
                .iter()
                .map(|outcome| outcome.as_str().to_owned())
                .collect(),
            hours,
            circuit: self.circuit().await?,
            answering: format!("{calls} calls this hour, {transient} of them failed or timed out"),
            budget: self.budget.map_or_else(
                || "not paced: the quota is unlimited".to_owned(),
                |budget| {
                    format!(
                        "{} calls a minute across instances; {}% kept for people waiting",
                        budget.quota_per_minute, budget.reserved_percent
                    )
                },
            ),
            rollout: self.rollout().await?,
            rollout_changes: self.rollout_changes().await?,
            webhooks: self.webhooks().await?,
        })
    }

    async fn webhooks(&self) -> Result<Vec<WebhookLine>, StoreError> {
        let trouble = self.store.webhook_trouble(LIST_LIMIT).await?;
        Ok(trouble
            .into_iter()
            .map(|delivery| WebhookLine {
                event: delivery.event_type.as_str().to_owned(),
                event_id: delivery.event_id,
                request_id: delivery.request_id,
                endpoint: delivery.endpoint,
                state: match delivery.state {
                    WebhookState::Failed => "given up".to_owned(),
                    WebhookState::Pending | WebhookState::Sent => {
                        format!("retrying; next try {}", when(delivery.run_at))
                    }
                },
                tries: delivery.attempts,
                last_error: delivery.last_error.unwrap_or_default(),
                since: when(delivery.created_at),
            })
            .collect())
    }

    async fn rollout(&self) -> Result<Vec<RolloutLine>, StoreError> {
        let flags = self.store.rollouts().await?;
        Ok(flags
            .into_iter()
            .map(|flag| RolloutLine {
                itf_type: flag.itf_type.as_str().to_owned(),
                rollout: flag.rollout.to_string(),
                changed: match (flag.changed_at, flag.changed_by) {
                    (Some(at), Some(by)) => format!("set {} by {by}", when(at)),
                    _ => "as installed".to_owned(),
                },
            })
            .collect())
    }

    async fn rollout_changes(&self) -> Result<Vec<RolloutChange>, StoreError> {
        let changes = self
            .store
            .recent_audit(Some(AuditAction::SetRollout), ROLLOUT_CHANGES_SHOWN)
            .await?;
        Ok(changes
            .into_iter()
            .map(|AuditEntry { entry, .. }| RolloutChange {
                at: when(entry.at),
                by: entry.operator,
                before: entry.before.unwrap_or_default(),
                after: entry.after.unwrap_or_default(),
                reason: entry.reason.unwrap_or_default(),
            })
            .collect())
    }

    async fn lines(&self, filter: RequestFilter) -> Result<Vec<RequestLine>, PageError> {
        let now = Utc::now();
        let states = match filter.state.as_deref() {
            None => RequestState::ALL.to_vec(),
            Some(state) => vec![RequestState::parse(state).map_err(|_| {
                PageError::BadInput("the state is pending, active or needs_attention".to_owned())
            })?],
        };
        let from = day(filter.since.as_deref(), "the first day")?
            .map_or(DateTime::<Utc>::UNIX_EPOCH, eastern_midnight);
        let mut until = day(filter.until.as_deref(), "the last day")?
            .and_then(|day| day.succ_opt())
            .map_or(now, eastern_midnight);
        if let Some(minutes) = filter.older_than_minutes {
            let minutes = i64::try_from(minutes).unwrap_or(i64::MAX / 120);
            until = until.min(now - chrono::Duration::minutes(minutes));
        }
        let mut found = Vec::new();
        for state in states {
            found.extend(
                self.store
                    .requests_in(state, from, until, LIST_LIMIT)
                    .await
                    .map_err(unavailable)?,
            );
        }
        found.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        found.truncate(LIST_LIMIT as usize);
        Ok(found.iter().map(|request| line(request, now)).collect())
    }

    async fn view_of(
        &self,
        operator: &Operator,
        id: &str,
    ) -> Result<Option<RequestView>, StoreError> {
        let Some(request) = self.store.request(id).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        self.store
            .audit(&NewAuditEntry::by(
                operator,
                AuditAction::OpenRequest,
                Some(&request.id),
            ))
            .await?;
        metrics::operator_action(AuditAction::OpenRequest);
        let timeline = self.timeline(&request).await?;
        let others = self
            .store
            .requests_of(&request.icn)
            .await?
            .iter()
            .filter(|other| other.id != request.id)
            .map(|other| line(other, now))
            .collect();
        Ok(Some(RequestView {
            operator: operator.clone(),
            id: request.id.clone(),
            itf_type: request.itf_type.as_str().to_owned(),
            state: request.state.as_str().to_owned(),
            received: when(request.received_at),
            itf: request.itf.as_ref().map(|itf| ItfView {
                id: itf.id.clone(),
                created: itf.creation_date.to_rfc3339(),
                expires: itf.expiration_date.to_rfc3339(),
            }),
            last_error: request.last_error.clone(),
            timeline,
            others,
        }))
    }

    async fn timeline(&self, request: &ItfRequest) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut entries = vec![intake_entry(request)];
        let attempts = self.store.attempts(&request.id).await?;
        entries.extend(attempts.iter().map(attempt_entry));
        let messages = self.store.messages_of(&request.id).await?;
        entries.extend(messages.iter().map(message_entry));
        let audit = self.store.audit_trail(&request.id).await?;
        entries.extend(audit.iter().map(audit_entry));
        entries.sort_by_key(|(at, _)| *at);
        Ok(entries
            .into_iter()
            .map(|(at, entry)| TimelineEntry {
                at: when(at),
                ..entry
            })
            .collect())
    }

    async fn report_of(
        &self,
        operator: &Operator,
        since: Option<String>,
        until: Option<String>,
    ) -> Result<ReportView, PageError> {
        let now = Utc::now();
        let since = day(since.as_deref(), "the first day")?;
        let until = day(until.as_deref(), "the last day")?;
        let days = super::actions::days_or_default(since, until)
            .map_err(|error| PageError::BadInput(error.to_string()))?;
        let drift = report::date_drift(self.store.as_ref(), days)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "the console could not make the report");
                PageError::ServiceUnavailable
            })?;
        metrics::date_drift(drift.len());
        let shows_icn = operator.role.repairs();
        let drift = drift
            .iter()
            .map(|line| {
                let request = &line.request;
                let itf = request.itf.as_ref();
                DriftLine {
                    request_id: request.id.clone(),
                    icn: if shows_icn {
                        request.icn.expose().to_owned()
                    } else {
                        "(for operators)".to_owned()
                    },
                    received: when(request.received_at),
                    created: itf
                        .map(|itf| itf.creation_date.to_rfc3339())
                        .unwrap_or_default(),
                    itf_id: itf.map(|itf| itf.id.clone()).unwrap_or_default(),
                    days: line.days,
                }
            })
            .collect();
        let listed = |state, until| {
            self.store
                .requests_in(state, DateTime::<Utc>::UNIX_EPOCH, until, LIST_LIMIT)
        };
        let needs_attention = listed(RequestState::NeedsAttention, now)
            .await
            .map_err(unavailable)?;
        let pending_before =
            now - chrono::Duration::from_std(self.pending_after).unwrap_or_default();
        let long_pending = listed(RequestState::Pending, pending_before)
            .await
            .map_err(unavailable)?;
        Ok(ReportView {
            operator: operator.clone(),
            since: days.since.to_string(),
            until: days.until.to_string(),
            drift,
            needs_attention: needs_attention.iter().map(|r| line(r, now)).collect(),
            long_pending: long_pending.iter().map(|r| line(r, now)).collect(),
            pending_after: span(pending_before, now),
        })
    }
}

/// A timeline entry, its time still to be written out.
type Dated = (DateTime<Utc>, TimelineEntry);

fn dated(at: DateTime<Utc>, kind: &str, what: String, detail: String) -> Dated {
    let entry = TimelineEntry {
        at: String::new(),
        kind: kind.to_owned(),
        what,
        detail,
    };
    (at, entry)
}

fn intake_entry(request: &ItfRequest) -> Dated {
    let detail = if request.shown_pending {
        "The veteran was shown it as being created."
    } else {
        "Recorded without the veteran waiting on it."
    };
    dated(
        request.received_at,
        "intake",
        "Received".to_owned(),
        detail.to_owned(),
    )
}

fn attempt_entry(attempt: &Attempt) -> Dated {
    let status = attempt
        .provider_status
        .map_or("no answer".to_owned(), |status| format!("status {status}"));
    dated(
        attempt.at,
        "attempt",
        format!(
            "{} {}",
            attempt.call.as_str().to_uppercase(),
            attempt.outcome
        ),
        format!("{status}, {} ms", attempt.latency.as_millis()),
    )
}

fn message_entry(message: &MessageRecord) -> Dated {
    let sent = message
        .sent_at
        .map(|at| format!("; sent {}", when(at)))
        .unwrap_or_default();
    let delivered = message
        .delivery_status
        .as_ref()
        .map(|status| format!("; the channel said {status}"))
        .unwrap_or_default();
    dated(
        message.created_at,
        "message",
        format!("Message {}: {}", message.kind, message.state),
        format!("{}{sent}{delivered}", message.reference),
    )
}

fn audit_entry(AuditEntry { entry, .. }: &AuditEntry) -> Dated {
    dated(
        entry.at,
        entry.action.as_str(),
        format!(
            "{} by {} ({})",
            entry.action,
            entry.operator,
            entry.role.as_str()
        ),
        entry.reason.clone().unwrap_or_default(),
    )
}

impl ConsoleSource for StoreConsole {
    fn overview<'a>(&'a self, operator: &'a Operator) -> itf_app::console::Answer<'a, Overview> {
        Box::pin(async move { self.overview_of(operator).await.map_err(unavailable) })
    }

    fn requests(&self, filter: RequestFilter) -> itf_app::console::Answer<'_, Vec<RequestLine>> {
        Box::pin(self.lines(filter))
    }

    fn request<'a>(
        &'a self,
        operator: &'a Operator,
        id: String,
    ) -> itf_app::console::Answer<'a, Option<RequestView>> {
        Box::pin(async move { self.view_of(operator, &id).await.map_err(unavailable) })
    }

    fn report<'a>(
        &'a self,
        operator: &'a Operator,
        since: Option<String>,
        until: Option<String>,
    ) -> itf_app::console::Answer<'a, ReportView> {
        Box::pin(self.report_of(operator, since, until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_written_out() {
        let now: DateTime<Utc> = "2026-03-16T15:00:00Z".parse().unwrap();
        let ago = |minutes| now - chrono::Duration::minutes(minutes);
        assert_eq!(span(ago(1), now), "1 minute");
        assert_eq!(span(ago(185), now), "3 hours 5 minutes");
        assert_eq!(span(ago(60 * 49), now), "2 days 1 hour");
    }
}
