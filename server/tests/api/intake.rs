//! Durable, non-blocking intake end to end: the real app on port 0, its
//! in-process simulator, over HTTP.

use std::time::{Duration, Instant};

use crate::support::{TestApp, TestConfig, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

const RETRY_MAX_DELAY_SECONDS: u64 = 2;

async fn spawn(db: &TestDb) -> TestApp {
    TestApp::spawn(
        TestConfig::on(&db.url()).retry_max_delay(Duration::from_secs(RETRY_MAX_DELAY_SECONDS)),
    )
    .await
}

pub(crate) async fn ledger(app: &TestApp) -> Value {
    app.get("/_sim/lighthouse/ledger")
        .await
        .json()
        .await
        .unwrap()
}

pub(crate) async fn posts_for(app: &TestApp, user: &str) -> u64 {
    ledger(app).await["veterans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["user"] == user)
        .map(|v| v["posts"].as_u64().unwrap())
        .sum()
}

/// The single item of a `/v0/intent_to_file` answer.
fn item(body: &Value) -> &Value {
    let items = &body["data"]["attributes"]["intent_to_file"];
    if items.is_array() {
        assert_eq!(items.as_array().unwrap().len(), 1, "{body}");
        &items[0]
    } else {
        items
    }
}

async fn post(app: &TestApp, client: &reqwest::Client, itf_type: &str) -> (StatusCode, Value) {
    let response = client
        .post(app.url(&format!("/v0/intent_to_file/{itf_type}")))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn get(app: &TestApp, client: &reqwest::Client) -> Value {
    let response = client
        .get(app.url("/v0/intent_to_file"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    item(&response.json::<Value>().await.unwrap()).clone()
}

async fn wait_for_status(
    app: &TestApp,
    client: &reqwest::Client,
    status: &str,
    within: Duration,
) -> Value {
    let started = Instant::now();
    loop {
        let found = get(app, client).await;
        if found["status"] == status {
            return found;
        }
        assert!(started.elapsed() < within, "still {found} after {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_active_and_unexpired(item: &Value) {
    assert_eq!(item["status"], "active", "{item}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(item["expiration_date"].as_str().unwrap()).unwrap();
    assert!(
        expires > chrono::Utc::now(),
        "an expired ITF shown as active: {item}"
    );
}

/// Acceptance 1: with the provider slow, intake answers at once.
#[tokio::test]
async fn intake_never_waits_on_a_slow_provider() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    app.set_mode(json!({"mode": "slow"})).await;
    let mut veterans = Vec::new();
    for n in 1..=100 {
        veterans.push(app.veteran(&format!("load-{}", 500 + n)).await);
    }
    let mut slowest = Duration::ZERO;
    for client in &veterans {
        let started = Instant::now();
        let (status, body) = post(&app, client, "compensation").await;
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let item = item(&body);
        assert_eq!(item["status"], "pending");
        assert_eq!(item["id"], "");
        assert!(item["request_id"].as_str().is_some_and(|id| !id.is_empty()));
        let received = item["received_at"].as_str().unwrap();
        assert!(received.ends_with('Z'), "{received}");
        assert_eq!(item["received_date"].as_str().unwrap().len(), 10);
        assert!(took < Duration::from_millis(100), "an intake took {took:?}");
    }
    println!("slowest of 100 intakes with the provider slow: {slowest:?}");
}

/// Acceptance 2: provider down, then up: the request completes with one POST.
#[tokio::test]
async fn a_request_made_while_the_provider_is_down_completes_when_it_returns() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let vet = app.veteran("vet-no-itf").await;
    app.set_mode(json!({"mode": "down"})).await;
    let (status, body) = post(&app, &vet, "compensation").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let request_id = item(&body)["request_id"].clone();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(get(&app, &vet).await["status"], "pending");

    app.set_mode(json!({"mode": "up"})).await;
    let active = wait_for_status(
        &app,
        &vet,
        "active",
        Duration::from_secs(RETRY_MAX_DELAY_SECONDS + 5),
    )
    .await;
    assert_active_and_unexpired(&active);
    assert!(active["creation_date"].as_str().unwrap().ends_with(":00"));
    assert_eq!(posts_for(&app, "vet-no-itf").await, 1);

    let (status, body) = post(&app, &vet, "compensation").await;
    assert_eq!(status, StatusCode::OK, "now active: {body}");
    assert_ne!(item(&body)["request_id"], request_id);
}

/// Acceptance 3: an active ITF is shown, from our record when the provider
/// is down, and never created again; an expired one is never shown active.
#[tokio::test]
async fn an_active_itf_is_shown_and_never_created_again() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let vet = app.veteran("vet-active-itf").await;
    let found = get(&app, &vet).await;
    assert_active_and_unexpired(&found);
    assert!(
        found.get("as_of").is_none(),
        "fresh from the provider: {found}"
    );
    assert!(found.get("request_id").is_none());

    let (status, body) = post(&app, &vet, "compensation").await;
    assert_eq!(status, StatusCode::OK);
    assert_active_and_unexpired(item(&body));
    assert_eq!(posts_for(&app, "vet-active-itf").await, 0);

    app.set_mode(json!({"mode": "down"})).await;
    let recorded = get(&app, &vet).await;
    assert_active_and_unexpired(&recorded);
    assert_eq!(recorded["id"], found["id"]);
    assert!(recorded["as_of"].as_str().is_some(), "{recorded}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(posts_for(&app, "vet-active-itf").await, 0);
}

#[tokio::test]
async fn an_expired_itf_is_never_shown_as_active() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let vet = app.veteran("vet-expired-itf").await;
    let expired_id = ledger(&app).await["veterans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["user"] == "vet-expired-itf")
        .unwrap()["itfs"][0]["id"]
        .clone();
    let first = get(&app, &vet).await;
    assert_eq!(first["status"], "pending", "{first}");
    let active = wait_for_status(&app, &vet, "active", Duration::from_secs(10)).await;
    assert_active_and_unexpired(&active);
    assert_ne!(active["id"], expired_id);
}

/// Acceptance 4: twenty POSTs at once for one veteran.
#[tokio::test]
async fn concurrent_posts_for_one_veteran_make_one_request_and_one_post_on_sqlite() {
    concurrent_posts_for_one_veteran(TestDb::sqlite()).await;
}

#[tokio::test]
async fn concurrent_posts_for_one_veteran_make_one_request_and_one_post_on_postgres() {
    concurrent_posts_for_one_veteran(TestDb::postgres().await).await;
}

async fn concurrent_posts_for_one_veteran(db: TestDb) {
    let app = spawn(&db).await;
    let vet = app.veteran("load-77").await;
    let posts = (0..20).map(|_| post(&app, &vet, "compensation"));
    let answers = futures_util::future::join_all(posts).await;
    let mut ids: Vec<String> = answers
        .iter()
        .filter_map(|(_, body)| item(body)["request_id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{answers:?}");
    let store = db.store().await;
    assert_eq!(store.job_count(&ids[0]).await.unwrap(), 1);
    wait_for_status(&app, &vet, "active", Duration::from_secs(10)).await;
    assert_eq!(posts_for(&app, "load-77").await, 1);
}

/// Acceptance 7: a veteran the provider does not know.
#[tokio::test]
async fn an_unknown_veteran_needs_attention_after_one_post() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let vet = app.veteran("vet-unknown").await;
    let (status, body) = post(&app, &vet, "compensation").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let request_id = item(&body)["request_id"].clone();
    wait_for_status(&app, &vet, "needs_attention", Duration::from_secs(10)).await;
    assert_eq!(posts_for(&app, "vet-unknown").await, 1);
    tokio::time::sleep(Duration::from_secs(RETRY_MAX_DELAY_SECONDS + 1)).await;
    assert_eq!(
        posts_for(&app, "vet-unknown").await,
        1,
        "a refusal is not retried"
    );

    let (status, body) = post(&app, &vet, "compensation").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(item(&body)["request_id"], request_id);
    assert_eq!(item(&body)["status"], "needs_attention");
}

#[tokio::test]
async fn pension_stays_synchronous() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let vet = app.veteran("load-88").await;
    let (status, body) = post(&app, &vet, "pension").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_active_and_unexpired(item(&body));
    assert_eq!(item(&body)["type"], "pension");

    app.set_mode(json!({"mode": "down"})).await;
    let other = app.veteran("load-89").await;
    let (status, body) = post(&app, &other, "pension").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("Try again"));
}

#[tokio::test]
async fn the_api_refuses_what_it_cannot_do() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let signed_out = app
        .client
        .get(app.url("/v0/intent_to_file"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
    let body: Value = signed_out.json().await.unwrap();
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("Sign in"));

    let vet = app.veteran("vet-no-itf").await;
    let (status, body) = post(&app, &vet, "burial").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["title"], "Unknown ITF type");

    let foreign = vet
        .post(app.url("/v0/intent_to_file/compensation"))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
}

/// With its database gone, the service says it could not record the
/// request, never that it did.
#[tokio::test]
async fn a_request_that_cannot_be_recorded_is_a_503() {
    let cluster = crate::support::cluster::Cluster::start();
    let app = TestApp::spawn(TestConfig::on(&cluster.url())).await;
    let vet = app.veteran("load-99").await;
    cluster.stop();
    let started = Instant::now();
    let (status, body) = post(&app, &vet, "compensation").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = body.to_string();
    assert!(text.contains("We couldn't save your request"), "{text}");
    assert!(
        !text.contains("pending") && !text.contains("1012667145"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_count_intakes_lookups_provider_calls_and_jobs() {
    let db = TestDb::sqlite();
    let app = spawn(&db).await;
    let vet = app.veteran("vet-no-itf").await;
    get(&app, &vet).await;
    wait_for_status(&app, &vet, "active", Duration::from_secs(10)).await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for expected in [
        r#"itf_intakes_total{result="recorded"}"#,
        r#"itf_intake_duration_seconds_bucket{result="recorded""#,
        r#"itf_lookups_total{result="none_active"}"#,
        r#"itf_provider_calls_total{outcome="created",route="POST /veterans/{icn}/intent-to-file"}"#,
        r#"itf_provider_call_duration_seconds_bucket{outcome="none_active",route="GET /veterans/{icn}/intent-to-file/{type}""#,
        r#"itf_jobs{state="done"} "#,
        "itf_oldest_pending_request_age_seconds ",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains("1012667145"), "an ICN reached the metrics");
}
