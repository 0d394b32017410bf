//! Metrics of the domain: intakes, look-ups, provider calls and jobs. One
//! registry for the process, since a provider client or a worker is not tied
//! to one HTTP app; `/metrics` renders it with the app's HTTP metrics.
//! Labels are closed sets of names: never an ICN, id or path.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::store::{
    AlertAction, AlertChannel, AlertCondition, AuditAction, CircuitState, EventType, JobCounts,
    MessageKind, SignInKind,
};

/// How a delivery of a message can end, as `itf_messages_total` names it.
pub const MESSAGE_OUTCOMES: [&str; 4] = ["delivered", "retry", "refused", "credentials_refused"];
/// How a delivery of an alert can end, as `itf_alert_deliveries_total`
/// names it.
pub const ALERT_OUTCOMES: [&str; 3] = ["delivered", "retry", "refused"];

const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

struct Domain {
    registry: Registry,
    intakes: IntCounterVec,
    intake_seconds: HistogramVec,
    lookups: IntCounterVec,
    provider_calls: IntCounterVec,
    provider_seconds: HistogramVec,
    jobs: IntGaugeVec,
    oldest_pending: Gauge,
    circuit_changes: IntCounterVec,
    budget_refusals: IntCounterVec,
    budget_corrections: IntCounterVec,
    messages: IntCounterVec,
    alerts: IntCounterVec,
    alert_deliveries: IntCounterVec,
    operator_actions: IntCounterVec,
    sign_ins: IntCounterVec,
    service_calls: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    date_drift: prometheus::IntGauge,
}

static DOMAIN: LazyLock<Domain> = LazyLock::new(|| {
    let registry = Registry::new();
    let intakes = IntCounterVec::new(
        Opts::new(
            "itf_intakes_total",
            "Intakes, by whether they recorded a new request",
        ),
        &["result"],
    )
    .expect("valid metric");
    let intake_seconds = HistogramVec::new(
        HistogramOpts::new("itf_intake_duration_seconds", "Time to record an intake")
            .buckets(LATENCY_BUCKETS.to_vec()),
        &["result"],
    )
    .expect("valid metric");
    let lookups = IntCounterVec::new(
        Opts::new(
            "itf_lookups_total",
            "Look-ups of a veteran's ITF status, by result",
        ),
        &["result"],
    )
    .expect("valid metric");
    let provider_calls = IntCounterVec::new(
        Opts::new(
            "itf_provider_calls_total",
            "Calls to the ITF provider, by route and outcome",
        ),
        &["route", "outcome"],
    )
    .expect("valid metric");
    let provider_seconds = HistogramVec::new(
        HistogramOpts::new(
            "itf_provider_call_duration_seconds",
            "Time of a provider call",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["route", "outcome"],
    )
    .expect("valid metric");
    let jobs =
        IntGaugeVec::new(Opts::new("itf_jobs", "Jobs by state"), &["state"]).expect("valid metric");
    let oldest_pending = Gauge::new(
        "itf_oldest_pending_request_age_seconds",
        "Age of the oldest pending request (0 when none)",
    )
    .expect("valid metric");
    let circuit_changes = IntCounterVec::new(
        Opts::new(
            "itf_provider_circuit_changes_total",
            "Changes of the provider's shared circuit, by the state it changed to",
        ),
        &["state"],
    )
    .expect("valid metric");
    let budget_refusals = IntCounterVec::new(
        Opts::new(
            "itf_provider_budget_refusals_total",
            "Provider calls the shared budget did not let through at once, by caller",
        ),
        &["caller"],
    )
    .expect("valid metric");
    let budget_corrections = IntCounterVec::new(
        Opts::new(
            "itf_provider_budget_corrections_total",
            "Times the provider's rate-limit answers held the shared budget back, by cause",
        ),
        &["cause"],
    )
    .expect("valid metric");
    let messages = IntCounterVec::new(
        Opts::new(
            "itf_messages_total",
            "Deliveries of messages to veterans, by kind and outcome",
        ),
        &["kind", "outcome"],
    )
    .expect("valid metric");
    let alerts = IntCounterVec::new(
        Opts::new(
            "itf_alerts_total",
            "Developer alerts raised or cleared, by condition and action",
        ),
        &["condition", "action"],
    )
    .expect("valid metric");
    let alert_deliveries = IntCounterVec::new(
        Opts::new(
            "itf_alert_deliveries_total",
            "Deliveries of developer alerts, by channel and outcome; refused ones are not retried",
        ),
        &["channel", "outcome"],
    )
    .expect("valid metric");
    let operator_actions = IntCounterVec::new(
        Opts::new(
            "itf_operator_actions_total",
            "What operators did in the console, by kind",
        ),
        &["action"],
    )
    .expect("valid metric");
    let sign_ins = IntCounterVec::new(
        Opts::new(
            "itf_sign_ins_total",
            "Sign-ins at the OpenID provider that came back, by who (veteran, operator) and outcome",
        ),
        &["kind", "outcome"],
    )
    .expect("valid metric");
    let service_calls = IntCounterVec::new(
        Opts::new(
            "itf_service_calls_total",
            "Calls to the service API, by credential name and outcome",
        ),
        &["credential", "outcome"],
    )
    .expect("valid metric");
    let webhook_deliveries = IntCounterVec::new(
        Opts::new(
            "itf_webhook_deliveries_total",
            "Deliveries of events to webhook endpoints, by event type and outcome",
        ),
        &["event", "outcome"],
    )
    .expect("valid metric");
    let date_drift = prometheus::IntGauge::new(
        "itf_date_drift_requests",
        "Requests of the last 30 days whose ITF the provider dated on a later day than we received them",
    )
    .expect("valid metric");
    for collector in [
        Box::new(intakes.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(intake_seconds.clone()),
        Box::new(lookups.clone()),
        Box::new(provider_calls.clone()),
        Box::new(provider_seconds.clone()),
        Box::new(jobs.clone()),
        Box::new(oldest_pending.clone()),
        Box::new(circuit_changes.clone()),
        Box::new(budget_refusals.clone()),
        Box::new(budget_corrections.clone()),
        Box::new(messages.clone()),
        Box::new(alerts.clone()),
        Box::new(alert_deliveries.clone()),
        Box::new(operator_actions.clone()),
        Box::new(sign_ins.clone()),
        Box::new(service_calls.clone()),
        Box::new(webhook_deliveries.clone()),
        Box::new(date_drift.clone()),
    ] {
        registry.register(collector).expect("registered once");
    }
    // Every label known up front, at zero, so that a rate can be taken
    // before the first change.
    for state in [
        CircuitState::Closed,
        CircuitState::Open,
        CircuitState::Probing,
    ] {
        circuit_changes.with_label_values(&[state.as_str()]);
    }
    for caller in [Caller::Person, Caller::Worker] {
        budget_refusals.with_label_values(&[caller.as_str()]);
    }
    for cause in [Correction::TooManyRequests, Correction::Remaining] {
        budget_corrections.with_label_values(&[cause.as_str()]);
    }
    for kind in MessageKind::ALL {
        for outcome in MESSAGE_OUTCOMES {
            messages.with_label_values(&[kind.as_str(), outcome]);
        }
    }
    for condition in AlertCondition::ALL {
        for action in AlertAction::ALL {
            alerts.with_label_values(&[condition.as_str(), action.as_str()]);
        }
    }
    for channel in AlertChannel::ALL {
        for outcome in ALERT_OUTCOMES {
            alert_deliveries.with_label_values(&[channel.as_str(), outcome]);
        }
    }
    for action in OPERATOR_ACTIONS {
        operator_actions.with_label_values(&[action.as_str()]);
    }
    // Credentials are named in the settings; a refusal has no name.
    service_calls.with_label_values(&["unknown", "unauthorized"]);
    for event in EventType::ALL {
        for outcome in WEBHOOK_OUTCOMES {
            webhook_deliveries.with_label_values(&[event.as_str(), outcome]);
        }
    }
    for &kind in SignInKind::ALL {
        for outcome in SIGN_IN_OUTCOMES {
            sign_ins.with_label_values(&[kind.as_str(), outcome]);
        }
    }
    Domain {
        registry,
        intakes,
        intake_seconds,
        lookups,
        provider_calls,
        provider_seconds,
        jobs,
        oldest_pending,
        circuit_changes,
        budget_refusals,
        budget_corrections,
        messages,
        alerts,
        alert_deliveries,
        operator_actions,
        sign_ins,
        service_calls,
        webhook_deliveries,
        date_drift,
    }
});

pub fn intake(created: bool, latency: Duration) {
    let result = if created { "recorded" } else { "already_open" };
    DOMAIN.intakes.with_label_values(&[result]).inc();
    DOMAIN
        .intake_seconds
        .with_label_values(&[result])
        .observe(latency.as_secs_f64());
}

pub fn lookup(result: &'static str) {
    DOMAIN.lookups.with_label_values(&[result]).inc();
}

pub fn provider_call(route: &'static str, outcome: &crate::provider::Outcome, latency: Duration) {
    let labels = [route, outcome.kind().as_str()];
    DOMAIN.provider_calls.with_label_values(&labels).inc();
    DOMAIN
        .provider_seconds
        .with_label_values(&labels)
        .observe(latency.as_secs_f64());
}

pub fn jobs(counts: &JobCounts, now: chrono::DateTime<chrono::Utc>) {
    for (state, n) in counts.by_state() {
        DOMAIN
            .jobs
            .with_label_values(&[state.as_str()])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    let age = counts.oldest_pending_received_at.map_or(0.0, |at| {
        (now - at).num_milliseconds().max(0) as f64 / 1000.0
    });
    DOMAIN.oldest_pending.set(age);
}

pub fn circuit_changed(to: CircuitState) {
    DOMAIN
        .circuit_changes
        .with_label_values(&[to.as_str()])
        .inc();
}

/// Who asked the provider budget for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Person,
    Worker,
}

impl Caller {
    fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Worker => "worker",
        }
    }
}

/// What made the provider budget hold back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// A 429.
    TooManyRequests,
    /// `X-RateLimit-Remaining-Minute` below the reserve.
    Remaining,
}

impl Correction {
    fn as_str(self) -> &'static str {
        match self {
            Self::TooManyRequests => "too_many_requests",
            Self::Remaining => "remaining",
        }
    }
}

pub fn budget_refused(caller: Caller) {
    DOMAIN
        .budget_refusals
        .with_label_values(&[caller.as_str()])
        .inc();
}

pub fn budget_corrected(cause: Correction) {
    DOMAIN
        .budget_corrections
        .with_label_values(&[cause.as_str()])
        .inc();
}

pub fn message(kind: MessageKind, outcome: &'static str) {
    DOMAIN
        .messages
        .with_label_values(&[kind.as_str(), outcome])
        .inc();
}

pub fn alert(condition: AlertCondition, action: AlertAction) {
    DOMAIN
        .alerts
        .with_label_values(&[condition.as_str(), action.as_str()])
        .inc();
}

pub fn alert_delivery(channel: AlertChannel, outcome: &'static str) {
    DOMAIN
        .alert_deliveries
        .with_label_values(&[channel.as_str(), outcome])
        .inc();
}

/// What operators do, as `itf_operator_actions_total` names it.
pub const OPERATOR_ACTIONS: [AuditAction; 7] = [
    AuditAction::Retry,
    AuditAction::Resolve,
    AuditAction::Note,
    AuditAction::SearchIcn,
    AuditAction::OpenRequest,
    AuditAction::DownloadReport,
    AuditAction::SetRollout,
];

pub fn operator_action(action: AuditAction) {
    DOMAIN
        .operator_actions
        .with_label_values(&[action.as_str()])
        .inc();
}

/// How a sign-in at the provider ended, as `itf_sign_ins_total` names it.
pub const SIGN_IN_OUTCOMES: [&str; 7] = [
    "signed_in",
    "unavailable",
    "unknown_state",
    "refused",
    "rejected",
    "no_icn",
    "no_role",
];

pub fn sign_in(kind: SignInKind, outcome: &'static str) {
    DOMAIN
        .sign_ins
        .with_label_values(&[kind.as_str(), outcome])
        .inc();
}

/// A call to the service API by the credential named `credential`
/// (`unknown` when none matched): `answered`, `unauthorized`,
/// `bad_request` or `unavailable`.
pub fn service_call(credential: &str, outcome: &'static str) {
    DOMAIN
        .service_calls
        .with_label_values(&[credential, outcome])
        .inc();
}

/// How a delivery of an event can end, as `itf_webhook_deliveries_total`
/// names it.
pub const WEBHOOK_OUTCOMES: [&str; 3] = ["delivered", "retry", "failed"];

pub fn webhook_delivery(event: EventType, outcome: &'static str) {
    DOMAIN
        .webhook_deliveries
        .with_label_values(&[event.as_str(), outcome])
        .inc();
}

pub fn date_drift(requests: usize) {
    DOMAIN
        .date_drift
        .set(i64::try_from(requests).unwrap_or(i64::MAX));
}

pub fn gather() -> Vec<prometheus::proto::MetricFamily> {
    DOMAIN.registry.gather()
}
