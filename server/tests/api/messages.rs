//! Messages to veterans: one `itf_confirmed` for a request the veteran was
//! shown as pending, one `itf_needs_attention` for a refusal, none for an
//! ITF found on look-up, whatever restarts; delivered to the development
//! mailbox on the embedded defaults; the refusal listed as an alert at
//! `/dev/alerts.json`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::provider::Rig;
use crate::support::{TestApp, TestConfig, TestDb};

async fn mailbox(app: &TestApp) -> Vec<Value> {
    let body: Value = app.get("/dev/mailbox.json").await.json().await.unwrap();
    body["messages"].as_array().unwrap().clone()
}

/// The messages of `kind` about `request_id`.
fn of(messages: &[Value], request_id: &str, kind: &str) -> usize {
    messages
        .iter()
        .filter(|m| m["request_id"] == request_id && m["kind"] == kind)
        .count()
}

async fn look_up(app: &TestApp, user: &str) -> Value {
    let vet = app.veteran(user).await;
    let answer = vet.get(app.url("/v0/intent_to_file")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json::<Value>().await.unwrap()["data"]["attributes"]["intent_to_file"][0].clone()
}

#[tokio::test]
async fn each_request_shown_pending_gets_one_message_and_a_found_itf_none() {
    let db = TestDb::sqlite();
    // A provider of its own, which outlives the app's restart.
    let provider = Rig::up().await;
    let config = || {
        TestConfig::on(&db.url())
            .standalone_simulator(&provider.base)
            .retry_max_delay(Duration::from_secs(1))
    };
    let app = TestApp::spawn(config()).await;
    provider.set_mode(json!({"mode": "down"})).await;
    let confirmed = app.request_compensation("vet-no-itf").await;
    let refused = app.request_compensation("vet-unknown").await;
    provider.set_mode(json!({"mode": "up"})).await;
    assert_eq!(look_up(&app, "vet-active-itf").await["status"], "active");

    let started = Instant::now();
    loop {
        let messages = mailbox(&app).await;
        if of(&messages, &confirmed, "itf_confirmed") == 1
            && of(&messages, &refused, "itf_needs_attention") == 1
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not delivered: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Restarted, and looked up again: nothing more is sent.
    drop(app);
    let app = TestApp::spawn(config()).await;
    assert_eq!(look_up(&app, "vet-no-itf").await["status"], "active");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = mailbox(&app).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(of(&messages, &confirmed, "itf_confirmed"), 1);
    assert_eq!(of(&messages, &refused, "itf_needs_attention"), 1);
    let text = messages[0]["body"].as_str().unwrap();
    assert!(text.starts_with("Hello "), "{text}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let delivered = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix("itf_messages_total{kind=\"itf_confirmed\",outcome=\"delivered\"} ")
        })
        .and_then(|count| count.parse::<u64>().ok());
    assert!(delivered >= Some(1), "{metrics}");
    let page = app.get("/dev/mailbox").await.text().await.unwrap();
    assert!(page.contains("is confirmed"), "{page}");
    // The team is told of the refusal once, restart or not, and of nothing
    // about the others.
    let listed: Value = app.get("/dev/alerts.json").await.json().await.unwrap();
    let alerts = listed["alerts"].as_array().unwrap();
    let about = |id: &str| alerts.iter().filter(|a| a["request_id"] == id).count();
    assert_eq!(about(&refused), 1, "{listed}");
    assert_eq!(about(&confirmed), 0, "{listed}");
    let alert = alerts.iter().find(|a| a["request_id"] == refused).unwrap();
    assert_eq!(alert["condition"], "needs_attention");
    assert_eq!(alert["action"], "trigger");
    assert_eq!(
        alert["dedup_key"],
        format!("itf-async/needs_attention/{refused}")
    );
}
