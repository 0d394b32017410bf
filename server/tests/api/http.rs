//! The real app on port 0, over real HTTP, against a fresh database.

use std::time::{Duration, Instant};

use crate::support::{TestApp, TestConfig, TestDb};
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

async fn spawn_sqlite() -> (TestApp, TestDb) {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    (app, db)
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let (app, _db) = spawn_sqlite().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "sqlite");
}

#[tokio::test]
async fn readiness_on_postgres() {
    let db = TestDb::postgres().await;
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let body: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["database"], "postgres");
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let (app, _db) = spawn_sqlite().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sign-in");
}

#[tokio::test]
async fn sign_in_lists_the_test_users_in_plain_words() {
    let (app, _db) = spawn_sqlite().await;
    let response = app.get("/sign-in").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    for (id, words) in [
        ("vet-no-itf", "Veteran with no Intent to File"),
        ("vet-active-itf", "Veteran with an active Intent to File"),
        (
            "vet-expired-itf",
            "Veteran whose Intent to File has expired",
        ),
        ("vet-unknown", "Veteran the provider has no record of"),
        (
            "vet-rejected",
            "Veteran whose Intent to File the provider rejects",
        ),
    ] {
        assert!(page.contains(&format!("value=\"{id}\"")), "{id} missing");
        assert!(page.contains(words), "{words:?} missing");
    }
}

#[tokio::test]
async fn mock_sign_in_starts_a_session_and_sign_out_ends_it() {
    let (app, _db) = spawn_sqlite().await;

    let response = app.sign_in("vet-no-itf").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("itf_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "loopback is served over HTTP: {cookie}"
    );

    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Hector Allen"));

    let response = app.client.post(app.url("/sign-out")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sign-in");
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn load_users_sign_in_as_distinct_veterans() {
    let (app, _db) = spawn_sqlite().await;
    app.sign_in("load-100000").await;
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("Load Test Veteran 100000"));
}

#[tokio::test]
async fn an_unknown_test_user_gets_a_clear_error_and_no_session() {
    let (app, _db) = spawn_sqlite().await;
    for form in [
        vec![("user", "vet-nobody")],
        vec![("user", "load-0")],
        vec![],
    ] {
        let response = app
            .client
            .post(app.url("/sign-in/mock"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(SET_COOKIE).is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("We couldn't sign you in"), "{page}");
        assert!(page.contains("href=\"/sign-in\""), "no way back: {page}");
    }
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_server_function_answers_for_the_signed_in_veteran_only() {
    let (app, _db) = spawn_sqlite().await;
    let signed_out = app
        .client
        .post(app.url("/api/greeting"))
        .send()
        .await
        .unwrap();
    assert!(signed_out.status().is_server_error() || signed_out.status().is_client_error());
    assert!(signed_out.text().await.unwrap().contains("SignedOut"));

    app.sign_in("vet-active-itf").await;
    let response = app
        .client
        .post(app.url("/api/greeting"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let greeting: Value = response.json().await.unwrap();
    assert_eq!(greeting["name"], "Wanda Brooks");
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let db = TestDb::sqlite();
    let first = TestApp::spawn(TestConfig::on(&db.url())).await;
    let response = first.sign_in("vet-no-itf").await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    drop(first);

    let second = TestApp::spawn(TestConfig::on(&db.url())).await;
    let page = crate::support::client()
        .get(second.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Hector Allen"));
}

#[tokio::test]
async fn sessions_work_across_instances_on_one_postgres() {
    let db = TestDb::postgres().await;
    let one = TestApp::spawn(TestConfig::on(&db.url())).await;
    let two = TestApp::spawn(TestConfig::on(&db.url())).await;
    let response = one.sign_in("vet-rejected").await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let page = crate::support::client()
        .get(two.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Frances Gray"));
}

#[tokio::test]
async fn a_foreign_origin_cannot_change_state() {
    let (app, _db) = spawn_sqlite().await;
    let response = app
        .client
        .post(app.url("/sign-in/mock"))
        .header("origin", "https://evil.example")
        .form(&[("user", "vet-no-itf")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["title"], "Request refused");

    let same = app
        .client
        .post(app.url("/sign-in/mock"))
        .header("origin", format!("http://{}", app.address))
        .form(&[("user", "vet-no-itf")])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unknown_pages_are_not_found_with_a_way_on() {
    let (app, _db) = spawn_sqlite().await;
    let response = app.get("/no-such-page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("href=\"/\""));
}

#[tokio::test]
async fn metrics_use_route_templates_never_paths() {
    let (app, _db) = spawn_sqlite().await;
    app.get("/healthz").await;
    app.get("/veterans/1012667145V762142/intent-to-file/compensation")
        .await;
    app.get("/sign-in?icn=1012667145V762142").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        !text.contains("1012667145"),
        "a path leaked into metrics:\n{text}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let (app, _db) = spawn_sqlite().await;
    let response = app.get("/healthz").await;
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "from-the-load-balancer")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "from-the-load-balancer");
}

#[tokio::test]
async fn the_embedded_database_is_write_ahead_logged() {
    let db = TestDb::sqlite();
    let _app = TestApp::spawn(TestConfig::on(&db.url())).await;
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn production_mounts_no_development_surface() {
    let db = TestDb::postgres().await;
    let app = TestApp::spawn(TestConfig::on(&db.url()).production()).await;
    let response = app.sign_in("vet-no-itf").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let page = app.get("/sign-in").await.text().await.unwrap();
    assert!(
        !page.contains("vet-no-itf"),
        "test users offered in production"
    );
    assert!(page.contains("Sign-in isn't set up"));
    let review = app.take_database_down().await;
    assert_eq!(
        review.status(),
        StatusCode::NOT_FOUND,
        "review controls in production"
    );
    let review_page = app.get("/review").await.text().await.unwrap();
    assert!(review_page.contains("Review mode is off"));
    let simulator = app.get("/_sim/lighthouse/mode").await;
    assert_eq!(
        simulator.status(),
        StatusCode::NOT_FOUND,
        "simulator mounted in production"
    );
}

#[tokio::test]
async fn development_mounts_the_simulator_in_process() {
    let (app, _db) = spawn_sqlite().await;
    let mode: Value = app.get("/_sim/lighthouse/mode").await.json().await.unwrap();
    assert_eq!(mode["mode"], "up");
}

#[tokio::test]
async fn an_app_pointed_at_a_standalone_simulator_mounts_none_of_its_own() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(
        TestConfig::on(&db.url()).standalone_simulator("http://127.0.0.1:9/_sim/lighthouse"),
    )
    .await;
    assert_eq!(
        app.get("/_sim/lighthouse/mode").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/sign-in").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_worker_only_instance_serves_no_pages() {
    let db = TestDb::sqlite();
    let app =
        TestApp::spawn(TestConfig::on(&db.url()).role(itf_server::config::Role::Worker)).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/sign-in").await.status(), StatusCode::NOT_FOUND);
}

/// Acceptance: a stopped PostgreSQL makes `/readyz` say 503 within 3 s while
/// the process keeps running, and it recovers when the database returns.
#[tokio::test]
async fn readiness_follows_the_database_down_and_back() {
    let cluster = crate::support::cluster::Cluster::start();
    let app = TestApp::spawn(TestConfig::on(&cluster.url())).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);

    cluster.stop();
    let asked = Instant::now();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "took {:?}",
        asked.elapsed()
    );
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("database"));
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);

    let page = app.get("/sign-in").await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "pages without a session still render"
    );

    cluster.resume();
    wait_until_ready(&app, Duration::from_secs(15)).await;
}

/// A PostgreSQL that is down when the instance starts: the instance starts,
/// is not ready, and becomes ready once the database is up.
#[tokio::test]
async fn an_instance_started_while_postgres_is_down_becomes_ready_later() {
    let cluster = crate::support::cluster::Cluster::start();
    cluster.stop();
    let app = TestApp::spawn(TestConfig::on(&cluster.url())).await;
    let asked = Instant::now();
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(asked.elapsed() < Duration::from_secs(3));

    cluster.resume();
    wait_until_ready(&app, Duration::from_secs(40)).await;
}

async fn wait_until_ready(app: &TestApp, within: Duration) {
    let started = Instant::now();
    while started.elapsed() < within {
        if app.get("/readyz").await.status() == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("not ready {within:?} after the database returned");
}

#[tokio::test]
async fn start_your_application_leads_to_the_configured_form() {
    let (app, _db) = spawn_sqlite().await;
    let page = app.get("/application").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("VA Form 21-526EZ would begin"));

    let db = TestDb::sqlite();
    let configured = TestApp::spawn(TestConfig::on(&db.url()).application_url(
        "https://www.va.gov/disability/file-disability-claim-form-21-526ez/introduction",
    ))
    .await;
    let response = configured
        .client
        .get(configured.url("/application"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(
        response.headers()[LOCATION],
        "https://www.va.gov/disability/file-disability-claim-form-21-526ez/introduction"
    );
}
