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

/// The page and the POST each answer within 3 s, saying the request was
/// not saved.
async fn answers_unavailable(app: &TestApp, browser: &reqwest::Client) {
    let asked = Instant::now();
    let page = browser.get(app.url("/")).send().await.unwrap();
    let page = page.text().await.unwrap();
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
    let post = browser
        .post(app.url("/v0/intent_to_file/compensation"))
        .send()
        .await
        .unwrap();
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
