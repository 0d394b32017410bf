//! Webhook events for the 526 submission, delivered to a receiver that
//! verifies them with the `standardwebhooks` package from npm: each event
//! once per request under a stable id, a 500 retried, a crash between
//! sending and recording sent again under the same id, and an endpoint
//! that keeps failing alerted and shown in the console.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use itf_app::development::test_veteran;
use serde_json::{json, Value};

use crate::support::receiver::{endpoints_file, Receiver};
use crate::support::{TestApp, TestConfig, TestDb};

/// The receiver's secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The secret being rotated out: deliveries are signed with both.
const OLD_SECRET: &str = "whsec_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const ENDPOINT: &str = "claims-526";
const LIMIT: Duration = Duration::from_secs(30);

fn accepted(received: &[Value]) -> Vec<&Value> {
    received.iter().filter(|d| d["status"] == 204).collect()
}

/// Accepted deliveries by event id: (type, request id, how many times).
fn accepted_events(received: &[Value]) -> BTreeMap<String, (String, String, usize)> {
    let mut events = BTreeMap::new();
    for delivery in accepted(received) {
        let entry = events
            .entry(delivery["id"].as_str().unwrap().to_owned())
            .or_insert_with(|| {
                (
                    delivery["event"]["type"].as_str().unwrap().to_owned(),
                    delivery["event"]["data"]["request_id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    0,
                )
            });
        entry.2 += 1;
    }
    events
}

/// The one accepted event of `event_type` about `request_id`.
fn event<'a>(received: &'a [Value], event_type: &str, request_id: &str) -> &'a Value {
    let found: Vec<&Value> = accepted(received)
        .into_iter()
        .filter(|d| {
            d["event"]["type"] == event_type && d["event"]["data"]["request_id"] == request_id
        })
        .collect();
    assert_eq!(found.len(), 1, "{event_type} of {request_id}: {found:#?}");
    &found[0]["event"]
}

async fn events_reach_a_receiver_that_verifies_them(db: TestDb) {
    let receiver = Receiver::start(SECRET, 1);
    let file = endpoints_file(ENDPOINT, &receiver.events_url(), &[OLD_SECRET, SECRET]);
    let app =
        TestApp::spawn(TestConfig::on(&db.url()).webhooks(file.path(), Duration::from_secs(1)))
            .await;
    let confirmed = app.request_compensation("vet-no-itf").await;
    let other = app.request_compensation("load-7").await;
    let refused = app.request_compensation("vet-unknown").await;
    let received = receiver
        .until(LIMIT, |r| accepted_events(r).len() == 3)
        .await;
    check_the_first_events(&received, &confirmed, &other, &refused);
    a_later_dated_confirmation_is_date_drift(&app, &receiver).await;

    // Once per request: nothing more arrives, and no event came twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = receiver.received().await;
    let events = accepted_events(&received);
    assert_eq!(events.len(), 5, "{events:#?}");
    assert!(
        events.values().all(|(_, _, times)| *times == 1),
        "{events:#?}"
    );
    let kinds: BTreeSet<(&str, &str)> = events
        .values()
        .map(|(kind, request, _)| (kind.as_str(), request.as_str()))
        .collect();
    assert_eq!(kinds.len(), 5, "one of each type per request: {kinds:?}");
}

fn check_the_first_events(received: &[Value], confirmed: &str, other: &str, refused: &str) {
    // Every delivery verifies with the receiver's secret alone, signed
    // with both secrets while the old one is rotated out.
    assert!(
        received.iter().all(|d| d["verified"] == true),
        "{received:#?}"
    );
    assert!(
        received.iter().all(|d| d["signatures"] == 2),
        "{received:#?}"
    );
    // The receiver's first answer, a 500, was retried under the same id.
    let failed: Vec<&Value> = received.iter().filter(|d| d["status"] == 500).collect();
    assert_eq!(failed.len(), 1, "{received:#?}");
    let retried = accepted_events(received)
        .get(failed[0]["id"].as_str().unwrap())
        .cloned();
    assert!(
        retried.is_some(),
        "the refused delivery was made again: {received:#?}"
    );

    let active = event(received, "itf.confirmed", confirmed);
    assert_eq!(active["data"]["state"], "active");
    assert_eq!(active["data"]["type"], "compensation");
    assert_eq!(active["data"]["date_drift"], false);
    assert!(active["data"]["itf_id"].is_string(), "{active}");
    assert_eq!(
        active["data"]["icn"],
        test_veteran("vet-no-itf").unwrap().icn.expose()
    );
    event(received, "itf.confirmed", other);
    let attention = event(received, "itf.needs_attention", refused);
    assert_eq!(attention["data"]["state"], "needs_attention");
    assert!(
        attention["data"]["received_date"].is_string(),
        "{attention}"
    );
}

/// A confirmation the provider dated a day later is date drift too.
async fn a_later_dated_confirmation_is_date_drift(app: &TestApp, receiver: &Receiver) {
    app.set_mode(json!({"mode": "up", "creation_offset_seconds": 86_400}))
        .await;
    let drifted = app.request_compensation("load-8").await;
    let received = receiver
        .until(LIMIT, |r| accepted_events(r).len() == 5)
        .await;
    let drift = event(&received, "itf.date_drift", &drifted);
    assert_eq!(drift["data"]["date_drift"], true);
    assert_eq!(drift["data"]["days_between"], 1);
    assert_eq!(
        event(&received, "itf.confirmed", &drifted)["data"]["date_drift"],
        true
    );
}

#[tokio::test]
async fn events_reach_a_receiver_that_verifies_them_on_sqlite() {
    events_reach_a_receiver_that_verifies_them(TestDb::sqlite()).await;
}

#[tokio::test]
async fn events_reach_a_receiver_that_verifies_them_on_postgres() {
    events_reach_a_receiver_that_verifies_them(TestDb::postgres().await).await;
}

/// An endpoint that keeps answering 500 is alerted after 3 tries and its
/// waiting events are on the console's overview; once it accepts them the
/// alert clears and the console says so.
#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_alerted_and_shown_to_operators() {
    let receiver = Receiver::start(SECRET, 1000);
    let file = endpoints_file(ENDPOINT, &receiver.events_url(), &[SECRET]);
    let db = TestDb::sqlite();
    let app =
        TestApp::spawn(TestConfig::on(&db.url()).webhooks(file.path(), Duration::from_secs(1)))
            .await;
    let request = app.request_compensation("vet-no-itf").await;
    receiver
        .until(LIMIT, |r| {
            r.iter().filter(|d| d["status"] == 500).count() >= 3
        })
        .await;
    let alert = wait_for_alert(&app, "trigger").await;
    assert_eq!(
        alert["dedup_key"],
        format!("itf-async/webhook_failing/{ENDPOINT}")
    );
    assert!(
        alert["summary"].as_str().unwrap().contains("500"),
        "{alert}"
    );
    let operator = app.operator("ops-viewer").await;
    let page = overview(&app, &operator).await;
    assert!(page.contains("data-testid=\"webhooks\""), "{page}");
    assert!(
        page.contains(&request),
        "the waiting event's request is listed"
    );
    assert!(page.contains("itf.confirmed"));
    assert!(page.contains("500 Internal Server Error"), "its last error");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(|line| line
            .strip_prefix(
                "itf_webhook_deliveries_total{event=\"itf.confirmed\",outcome=\"retry\"} "
            )
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 3)),
        "{metrics}"
    );

    receiver.fail_next(0).await;
    receiver
        .until(LIMIT, |r| accepted_events(r).len() == 1)
        .await;
    wait_for_alert(&app, "resolve").await;
    let page = overview(&app, &operator).await;
    assert!(
        page.contains("Every endpoint has accepted every event sent to it."),
        "{page}"
    );
}

async fn overview(app: &TestApp, operator: &reqwest::Client) -> String {
    let answer = operator.get(app.url("/console")).send().await.unwrap();
    answer.text().await.unwrap()
}

/// The `webhook_failing` alert's change `action`, from the development list.
async fn wait_for_alert(app: &TestApp, action: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let listed: Value = app.get("/dev/alerts.json").await.json().await.unwrap();
        let found = listed["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["condition"] == "webhook_failing" && a["action"] == action);
        if let Some(found) = found {
            return found.clone();
        }
        assert!(started.elapsed() < LIMIT, "no {action}: {listed}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The process ends right after the receiver accepted an event and before
/// that is recorded (a failpoint of test builds). Started again, it makes
/// the delivery again under the same id, and records it once.
#[cfg(feature = "failpoints")]
#[tokio::test]
async fn a_crash_mid_delivery_sends_the_event_again_under_the_same_id() {
    use std::time::Instant;

    use crate::support::process::{request_itf, AppProcess};

    let receiver = Receiver::start(SECRET, 0);
    let file = endpoints_file(ENDPOINT, &receiver.events_url(), &[SECRET]);
    let db = TestDb::postgres().await;
    let path = file.path().to_str().unwrap();
    let settings = [
        ("ITF_WEBHOOKS_FILE", path),
        ("LIGHTHOUSE_TIMEOUT_MS", "1000"),
        ("ITF_LEASE_SECONDS", "4"),
        ("ITF_HEARTBEAT_SECONDS", "1"),
        ("RUST_LOG", "warn"),
    ];
    let mut crashing = settings.to_vec();
    crashing.push(("ITF_FAILPOINT_EXIT_AFTER_EVENT", "1"));
    let mut first = AppProcess::start(&db.url(), &crashing, None).await;
    request_itf(&first.base, "vet-no-itf").await;
    let started = Instant::now();
    while first.child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < LIMIT, "no crash");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = first.child.wait().unwrap();
    assert_eq!(status.code(), Some(70), "ended by the failpoint");
    assert_eq!(accepted_events(&receiver.received().await).len(), 1);

    let _second = AppProcess::start(&db.url(), &settings, None).await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let started = Instant::now();
    loop {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT event_id, state FROM webhook_deliveries")
                .fetch_all(&pool)
                .await
                .unwrap();
        if rows.len() == 1 && rows[0].1 == "sent" {
            break;
        }
        assert!(started.elapsed() < LIMIT, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let received = receiver.received().await;
    assert_eq!(received.len(), 2, "sent again, once: {received:#?}");
    assert!(received
        .iter()
        .all(|d| d["verified"] == true && d["status"] == 204));
    assert_eq!(received[0]["id"], received[1]["id"]);
    assert_eq!(received[0]["event"], received[1]["event"], "the same body");
    let events: Vec<(String,)> = sqlx::query_as("SELECT id FROM webhook_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(received[0]["id"], events[0].0.as_str());
}
