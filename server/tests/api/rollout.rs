//! The rollout flag and its kill switch, through the real app: which path
//! a new request takes, that queued requests keep draining, and that no
//! synchronous POST is made beside a queued job.

use std::time::{Duration, Instant};

use itf_app::domain::{ItfType, Operator, OperatorRole};
use itf_server::intake::ROLLOUT_REFRESH;
use itf_server::store::{Acting, AuditAction, Rollout, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::intake::posts_for;
use crate::support::{until_active, TestApp, TestConfig, TestDb};

async fn set(store: &dyn Store, rollout: Rollout, reason: &str) {
    let admin = Operator {
        id: "ops-admin".to_owned(),
        role: OperatorRole::Admin,
    };
    let acting = Acting {
        operator: &admin,
        reason,
    };
    store
        .set_rollout(ItfType::Compensation, rollout, &acting, chrono::Utc::now())
        .await
        .unwrap();
}

async fn post(app: &TestApp, veteran: &reqwest::Client) -> (StatusCode, Value) {
    let answer = veteran
        .post(app.url("/v0/intent_to_file/compensation"))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// The first answer of fresh veterans (`load-{first}` on) with `status`,
/// within the time every instance has to follow a change of the flag.
async fn once_followed(app: &TestApp, first: u32, status: StatusCode) -> (String, Value) {
    let started = Instant::now();
    for n in first.. {
        let user = format!("load-{n}");
        let (answered, body) = post(app, &app.veteran(&user).await).await;
        if answered == status {
            return (user, body);
        }
        assert!(
            started.elapsed() <= ROLLOUT_REFRESH + Duration::from_secs(1),
            "still answering {answered} after {:?}, not {status}: {body}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    unreachable!("load users run out only after 100,000")
}

#[tokio::test]
async fn the_kill_switch_sends_new_requests_down_the_synchronous_path_while_queued_ones_drain() {
    let db = TestDb::sqlite();
    let app =
        TestApp::spawn(TestConfig::on(&db.url()).retry_max_delay(Duration::from_secs(1))).await;
    let store = db.store().await;
    app.set_mode(json!({"mode": "down"})).await;
    let queued = app.veteran("load-64000").await;
    assert_eq!(post(&app, &queued).await.0, StatusCode::ACCEPTED);

    set(
        store.as_ref(),
        Rollout::Off,
        "the provider's outage is over; back to the old path",
    )
    .await;
    app.set_mode(json!({"mode": "up"})).await;
    let (user, body) = once_followed(&app, 64_001, StatusCode::OK).await;
    let item = &body["data"]["attributes"]["intent_to_file"];
    assert_eq!(item["status"], "active", "{body}");
    assert_eq!(posts_for(&app, &user).await, 1, "created inline, once");
    until_active(&queued, &app.url(""), Duration::from_secs(30)).await;
    let entry = store.recent_audit(None, 1).await.unwrap().remove(0).entry;
    assert_eq!(entry.action, AuditAction::SetRollout);
    assert_eq!(entry.after.as_deref(), Some("compensation off"));

    set(store.as_ref(), Rollout::On, "the provider is steady again").await;
    app.set_mode(json!({"mode": "down"})).await;
    let (_, body) = once_followed(&app, 64_100, StatusCode::ACCEPTED).await;
    assert_eq!(
        body["data"]["attributes"]["intent_to_file"]["status"],
        "pending"
    );
}

#[tokio::test]
async fn with_the_switch_off_a_queued_veteran_sees_their_request_and_no_second_post_is_made() {
    let db = TestDb::sqlite();
    let app =
        TestApp::spawn(TestConfig::on(&db.url()).retry_max_delay(Duration::from_secs(1))).await;
    let store = db.store().await;
    app.set_mode(json!({"mode": "down"})).await;
    let veteran = app.veteran("load-64200").await;
    let (_, queued) = post(&app, &veteran).await;
    let request_id = queued["data"]["attributes"]["intent_to_file"]["request_id"].clone();

    set(store.as_ref(), Rollout::Off, "kill switch").await;
    app.set_mode(json!({"mode": "up"})).await;
    // Until this instance follows the switch, and after it: the open
    // request is the answer either way.
    let started = Instant::now();
    while started.elapsed() <= ROLLOUT_REFRESH + Duration::from_secs(1) {
        let page = veteran
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains(r#"data-itf-state="active""#)
            || page.contains(r#"data-itf-state="confirmed""#)
        {
            break;
        }
        assert!(page.contains(r#"data-itf-state="pending""#), "{page}");
        let (status, body) = post(&app, &veteran).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(
            body["data"]["attributes"]["intent_to_file"]["request_id"],
            request_id
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    until_active(&veteran, &app.url(""), Duration::from_secs(30)).await;
    assert_eq!(
        posts_for(&app, "load-64200").await,
        1,
        "the worker's POST only"
    );
}

#[tokio::test]
async fn half_of_a_thousand_veterans_go_asynchronously_and_each_stays_on_their_path() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    set(db.store().await.as_ref(), Rollout::Percent(50), "half").await;
    // With the provider down, the asynchronous path answers 202 and the
    // synchronous one 503: the answer tells the path.
    app.set_mode(json!({"mode": "down"})).await;
    let users: Vec<String> = (65_001..=66_000).map(|n| format!("load-{n}")).collect();
    let mut first = Vec::new();
    for user in &users {
        first.push(post(&app, &app.veteran(user).await).await.0);
    }
    let queued = first.iter().filter(|s| **s == StatusCode::ACCEPTED).count();
    let waited = first
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert_eq!(
        queued + waited,
        1000,
        "every answer is one path or the other"
    );
    assert!(
        (450..=550).contains(&queued),
        "{queued} of 1,000 went asynchronously"
    );

    // Signed in again, each stays where they were: the synchronous ones
    // are not queued now, and the queued ones are not queued twice.
    for (user, before) in users.iter().zip(&first) {
        let (again, _) = post(&app, &app.veteran(user).await).await;
        assert_eq!(again, *before, "{user} changed paths");
    }
    let store = db.store().await;
    let mut requests = 0;
    for user in &users {
        let vet = itf_app::development::test_veteran(user).unwrap();
        requests += store.requests_of(&vet.icn).await.unwrap().len();
    }
    assert_eq!(
        requests, queued,
        "one request per queued veteran, none for the others"
    );
}
