//! Database faults answered honestly: a PostgreSQL that hangs (its
//! processes stopped) and one that is stopped and restarted. During each,
//! the start page shows `unavailable` and the REST POST answers 503 within
//! about 3 s; afterwards every request acknowledged before is `active`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::cluster::Cluster;
use crate::support::process::wait_until_all_active;
use crate::support::provider::Rig;
use crate::support::{TestApp, TestConfig};

/// An answer, or a failure that says the app never answered: a hung
/// request fails the test instead of holding the suite.
async fn answered(request: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
    tokio::time::timeout(Duration::from_secs(30), request.send())
        .await
        .unwrap_or_else(|_| panic!("{what} had no answer within 30 s with the database down"))
        .unwrap()
}

/// The page and the POST each answer within 3 s, saying the request was
/// not saved.
async fn answers_unavailable(app: &TestApp, browser: &reqwest::Client) {
    let asked = Instant::now();
    let page = answered(browser.get(app.url("/")), "the page").await;
    let page = tokio::time::timeout(Duration::from_secs(30), page.text())
        .await
        .expect("the page's body ended within 30 s")
        .unwrap();
    assert!(
        page.contains(r#"data-itf-state="unavailable""#),
        "the page does not show unavailable:\n{page}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "page took {:?}",
        asked.elapsed()
    );
    let asked = Instant::now();
    let post = answered(
        browser.post(app.url("/v0/intent_to_file/compensation")),
        "the POST",
    )
    .await;
    assert_eq!(post.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "POST took {:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_then_restarted_database_is_answered_honestly_and_loses_nothing() {
    let cluster = Cluster::start();
    let simulator = Rig::start(100_000, Duration::from_secs(5)).await;
    let app = TestApp::spawn(
        TestConfig::on(&cluster.url())
            .standalone_simulator(&simulator.base)
            .retry_max_delay(Duration::from_secs(1)),
    )
    .await;
    // Acknowledged while the provider is down, so they are still pending
    // when the database fails.
    simulator.set_mode(json!({"mode": "down"})).await;
    let users: Vec<String> = (0..5).map(|n| format!("load-6300{n}")).collect();
    for user in &users {
        let browser = app.veteran(user).await;
        let answer = browser
            .post(app.url("/v0/intent_to_file/compensation"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::ACCEPTED, "{user}");
    }
    let browser = app.veteran("load-63009").await;

    cluster.freeze();
    let frozen = Instant::now();
    answers_unavailable(&app, &browser).await;
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(frozen.elapsed())).await;
    answers_unavailable(&app, &browser).await;
    cluster.thaw();

    cluster.stop();
    answers_unavailable(&app, &browser).await;
    cluster.resume();

    simulator.set_mode(json!({"mode": "up"})).await;
    let store = crate::support::TestDb::store_at(&cluster.url()).await;
    wait_until_all_active(&store, &users, Duration::from_secs(60)).await;
}
