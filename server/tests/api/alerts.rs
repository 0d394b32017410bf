//! Developer alerts to Slack and PagerDuty, against local servers that
//! answer as they do: throttled (429, Slack with `Retry-After`), failing
//! (5xx), refusing for good (Slack 404, PagerDuty 400), and accepting.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use itf_app::development::test_veteran;
use itf_server::config::{AlertSettings, PagerDutySettings};
use serde_json::{json, Value};

use crate::support::provider::Rig;
use crate::support::{TestApp, TestConfig, TestDb};

const WEBHOOK_PATH: &str = "/services/T0000/B0000/webhook-secret";
const ROUTING_KEY: &str = "R0UTINGKEY0000000000000000000000";

/// One call a local channel received, and how it answered.
#[derive(Debug, Clone)]
struct Call {
    at: Instant,
    body: Value,
    status: StatusCode,
}

/// A local Slack webhook or PagerDuty Events API: answers from its script
/// first, then with `accepted`.
#[derive(Clone)]
struct Local {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Local {
    async fn start(
        path: &'static str,
        accepted: StatusCode,
        script: Vec<(StatusCode, Option<&'static str>)>,
    ) -> Self {
        let calls = Arc::new(Mutex::new(Vec::<Call>::new()));
        let script = Arc::new(Mutex::new(script));
        let recorded = calls.clone();
        let router = Router::new().route(
            path,
            post(move |Json(body): Json<Value>| {
                let (calls, script) = (recorded.clone(), script.clone());
                async move {
                    let (status, retry_after) = {
                        let mut script = script.lock().unwrap();
                        if script.is_empty() {
                            (accepted, None)
                        } else {
                            script.remove(0)
                        }
                    };
                    calls.lock().unwrap().push(Call {
                        at: Instant::now(),
                        body,
                        status,
                    });
                    let mut headers = HeaderMap::new();
                    if let Some(after) = retry_after {
                        headers.insert("retry-after", after.parse().unwrap());
                    }
                    let answer = if accepted == StatusCode::ACCEPTED {
                        json!({"status": "success", "message": "Event processed"}).to_string()
                    } else {
                        "ok".to_owned()
                    };
                    (status, headers, answer)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url: base, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The bodies it accepted that `matches` picks.
    fn accepted(&self, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|call| call.status.is_success() && matches(&call.body))
            .map(|call| call.body)
            .collect()
    }
}

fn settings(slack: &Local, pagerduty: &Local, pending_after: Duration) -> AlertSettings {
    AlertSettings {
        slack_webhook_url: Some(format!("{}{WEBHOOK_PATH}", slack.url)),
        pagerduty: Some(PagerDutySettings {
            routing_key: ROUTING_KEY.to_owned(),
            events_url: pagerduty.url.clone(),
        }),
        pending_after,
        circuit_open_after: Duration::from_secs(3600),
        check_every: Duration::from_millis(500),
    }
}

async fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of a counter with these labels, in `/metrics`.
fn counted(metrics: &str, name: &str, labels: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name} {labels:?} in {metrics}"))
}

fn event_action(body: &Value, action: &str) -> bool {
    body["event_action"] == action
}

fn slack_says(body: &Value, words: &str) -> bool {
    body["text"]
        .as_str()
        .is_some_and(|text| text.contains(words))
}

#[tokio::test]
async fn the_oldest_pending_request_triggers_then_resolves_with_one_dedup_key_through_throttling() {
    let slack = Local::start(
        WEBHOOK_PATH,
        StatusCode::OK,
        vec![(StatusCode::TOO_MANY_REQUESTS, Some("2"))],
    )
    .await;
    let pagerduty = Local::start(
        "/v2/enqueue",
        StatusCode::ACCEPTED,
        vec![
            (StatusCode::SERVICE_UNAVAILABLE, None),
            (StatusCode::TOO_MANY_REQUESTS, None),
        ],
    )
    .await;
    let provider = Rig::up().await;
    let db = TestDb::postgres().await;
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&provider.base)
            .retry_max_delay(Duration::from_secs(1))
            .alerts(settings(&slack, &pagerduty, Duration::from_secs(1))),
    )
    .await;
    provider.set_mode(json!({"mode": "down"})).await;
    let request = app.request_compensation("vet-no-itf").await;

    wait_for("the trigger", Duration::from_secs(30), || {
        !pagerduty
            .accepted(|b| event_action(b, "trigger"))
            .is_empty()
            && !slack.accepted(|b| slack_says(b, "alert")).is_empty()
    })
    .await;
    provider.set_mode(json!({"mode": "up"})).await;
    wait_for("the resolve", Duration::from_secs(30), || {
        !pagerduty
            .accepted(|b| event_action(b, "resolve"))
            .is_empty()
            && !slack.accepted(|b| slack_says(b, "resolved")).is_empty()
    })
    .await;
    // Nothing more comes once resolved.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let events = pagerduty_got_the_trigger_after_retries_then_its_resolve(&pagerduty, &request);
    let posts = slack_got_the_trigger_after_retry_after_then_its_resolve(&slack, &request);
    // Request ids and counts only: nothing that names the veteran.
    let veteran = test_veteran("vet-no-itf").unwrap();
    for body in events.iter().chain(&posts).map(|c| c.body.to_string()) {
        assert!(!body.contains(veteran.icn.expose()), "{body}");
        assert!(!body.contains(veteran.name.expose()), "{body}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    // Counters are the process's, shared with the other tests; only these
    // tests give alerts to Slack or PagerDuty, and only this one waits a
    // second for a pending request.
    let alerts = |labels: &[&str]| counted(&metrics, "itf_alerts_total", labels);
    let pending = "condition=\"pending_too_long\"";
    assert_eq!(alerts(&[pending, "action=\"trigger\""]), 1);
    assert_eq!(alerts(&[pending, "action=\"resolve\""]), 1);
    let deliveries = |labels: &[&str]| counted(&metrics, "itf_alert_deliveries_total", labels);
    let (pd, slack) = ("channel=\"pagerduty\"", "channel=\"slack\"");
    assert!(deliveries(&[pd, "outcome=\"retry\""]) >= 2);
    assert!(deliveries(&[slack, "outcome=\"retry\""]) >= 1);
    assert!(deliveries(&[slack, "outcome=\"delivered\""]) >= 2);
}

/// A 503 and a 429 tried again with the same event; then the resolve with
/// the same `dedup_key`. Returns what PagerDuty received.
fn pagerduty_got_the_trigger_after_retries_then_its_resolve(
    pagerduty: &Local,
    request: &str,
) -> Vec<Call> {
    let events = pagerduty.calls();
    let statuses: Vec<u16> = events.iter().map(|c| c.status.as_u16()).collect();
    assert_eq!(statuses, [503, 429, 202, 202], "{events:?}");
    let [trigger, resolve] = [&events[2].body, &events[3].body];
    for retried in &events[..2] {
        assert_eq!(&retried.body, trigger, "the same event, tried again");
    }
    assert_eq!(trigger["routing_key"], ROUTING_KEY);
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "itf-async/pending_too_long");
    assert_eq!(trigger["payload"]["source"], "itf-async");
    assert_eq!(trigger["payload"]["severity"], "warning");
    let summary = trigger["payload"]["summary"].as_str().unwrap();
    assert!(summary.contains(request), "{summary}");
    assert_eq!(
        resolve,
        &json!({
            "routing_key": ROUTING_KEY,
            "event_action": "resolve",
            "dedup_key": "itf-async/pending_too_long",
        })
    );
    events
}

/// A 429 with `Retry-After: 2` honoured; then the resolve naming the same
/// `dedup_key`. Returns what Slack received.
fn slack_got_the_trigger_after_retry_after_then_its_resolve(
    slack: &Local,
    request: &str,
) -> Vec<Call> {
    let posts = slack.calls();
    let statuses: Vec<u16> = posts.iter().map(|c| c.status.as_u16()).collect();
    assert_eq!(statuses, [429, 200, 200], "{posts:?}");
    assert_eq!(posts[0].body, posts[1].body, "the same text, tried again");
    assert!(
        posts[1].at - posts[0].at >= Duration::from_millis(1900),
        "Retry-After: 2 honoured: {:?}",
        posts[1].at - posts[0].at
    );
    let text = posts[1].body["text"].as_str().unwrap();
    assert!(
        text.contains("pending_too_long") && text.contains(request),
        "{text}"
    );
    assert!(slack_says(&posts[2].body, "resolved"));
    assert!(slack_says(&posts[2].body, "itf-async/pending_too_long"));
    posts
}

#[tokio::test]
async fn a_permanent_refusal_is_logged_counted_and_never_retried() {
    let slack = Local::start(
        WEBHOOK_PATH,
        StatusCode::OK,
        vec![(StatusCode::NOT_FOUND, None)],
    )
    .await;
    let pagerduty = Local::start(
        "/v2/enqueue",
        StatusCode::ACCEPTED,
        vec![(StatusCode::BAD_REQUEST, None)],
    )
    .await;
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url()).alerts(settings(
        &slack,
        &pagerduty,
        Duration::from_secs(3600),
    )))
    .await;
    let refused = app.request_compensation("vet-unknown").await;
    wait_for("both refusals", Duration::from_secs(20), || {
        !slack.calls().is_empty() && !pagerduty.calls().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (posts, events) = (slack.calls(), pagerduty.calls());
    assert_eq!(posts.len(), 1, "not retried: {posts:?}");
    assert_eq!(events.len(), 1, "not retried: {events:?}");
    assert_eq!(
        events[0].body["dedup_key"],
        format!("itf-async/needs_attention/{refused}")
    );
    assert_eq!(
        events[0].body["payload"]["custom_details"]["request_id"],
        refused.as_str()
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let deliveries = |labels: &[&str]| counted(&metrics, "itf_alert_deliveries_total", labels);
    let for_good = "outcome=\"refused\"";
    assert!(deliveries(&["channel=\"slack\"", for_good]) >= 1);
    assert!(deliveries(&["channel=\"pagerduty\"", for_good]) >= 1);
    let raised = counted(
        &metrics,
        "itf_alerts_total",
        &["condition=\"needs_attention\"", "action=\"trigger\""],
    );
    assert!(raised >= 1);
    // The development list got it still: one channel's refusal is its own.
    let listed: Value = app.get("/dev/alerts.json").await.json().await.unwrap();
    let alerts = listed["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{listed}");
    assert_eq!(alerts[0]["request_id"], refused.as_str());
    assert_eq!(alerts[0]["condition"], "needs_attention");
}

/// The development list of alerts: (condition, action, dedup_key).
async fn listed(app: &TestApp) -> Vec<(String, String, String)> {
    let listed: Value = app.get("/dev/alerts.json").await.json().await.unwrap();
    listed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let text = |field: &str| a[field].as_str().unwrap_or_default().to_owned();
            (text("condition"), text("action"), text("dedup_key"))
        })
        .collect()
}

async fn wait_for_listed(app: &TestApp, condition: &str, action: &str) {
    let started = Instant::now();
    loop {
        let alerts = listed(app).await;
        if alerts.iter().any(|(c, a, _)| c == condition && a == action) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no {condition} {action} in {alerts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_long_open_circuit_and_refused_credentials_are_alerted() {
    let provider = Rig::up().await;
    let db = TestDb::sqlite();
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&provider.base)
            .retry_max_delay(Duration::from_secs(1))
            .circuit(2, Duration::from_secs(1))
            .alerts(AlertSettings {
                slack_webhook_url: None,
                pagerduty: None,
                pending_after: Duration::from_secs(3600),
                circuit_open_after: Duration::from_secs(1),
                check_every: Duration::from_millis(500),
            }),
    )
    .await;
    provider.set_mode(json!({"mode": "down"})).await;
    app.request_compensation("vet-no-itf").await;
    wait_for_listed(&app, "circuit_open", "trigger").await;
    provider.set_mode(json!({"mode": "up"})).await;
    wait_for_listed(&app, "circuit_open", "resolve").await;
    let circuit: Vec<_> = listed(&app)
        .await
        .into_iter()
        .filter(|(condition, _, _)| condition == "circuit_open")
        .collect();
    assert_eq!(circuit.len(), 2, "one trigger, one resolve: {circuit:?}");
    assert!(circuit
        .iter()
        .all(|(_, _, key)| key == "itf-async/circuit_open"));

    provider.set_mode(json!({"mode": "auth_rejected"})).await;
    app.request_compensation("load-29").await;
    wait_for_listed(&app, "worker_paused", "trigger").await;
    let paused = listed(&app).await;
    assert!(
        paused
            .iter()
            .any(|(_, _, key)| key == "itf-async/worker_paused/provider"),
        "{paused:?}"
    );
}
