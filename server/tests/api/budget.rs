//! The provider budget: the worker drains at its share of the quota while a
//! person's call still gets through, and a look-up that finds no budget
//! answers at once from our records.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::process::{request_itf, AppProcess};
use crate::support::provider::Rig;
use crate::support::{client, TestApp, TestConfig, TestDb};

/// Every provider call the simulator answered.
async fn calls(simulator: &Rig) -> usize {
    simulator.ledger().await["calls"].as_array().unwrap().len()
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics").await.text().await.unwrap()
}

/// Signs `user` in at `base` and asks for a pension ITF: the answer and how
/// long it took.
async fn pension(base: &str, user: &str) -> (StatusCode, Value, Duration) {
    let browser = client();
    let signed_in = browser
        .post(format!("{base}/sign-in/mock"))
        .form(&[("user", user)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection());
    let asked = Instant::now();
    let answer = browser
        .post(format!("{base}/v0/intent_to_file/pension"))
        .send()
        .await
        .unwrap();
    let took = asked.elapsed();
    (answer.status(), answer.json().await.unwrap(), took)
}

/// Acceptance 4: at Lighthouse's default quota, with the worker draining a
/// backlog as fast as the budget lets it, a pension request, which waits on
/// the provider, gets its ITF from the provider at once; and the provider
/// refuses nothing. An instance of its own, so that its metrics are its own.
#[tokio::test]
async fn a_pension_request_gets_its_answer_while_the_worker_drains_at_the_quota() {
    let db = TestDb::postgres().await;
    let simulator = Rig::start(60, Duration::from_secs(5)).await;
    let app = AppProcess::start(
        &db.url(),
        &[
            ("LIGHTHOUSE_BASE_URL", simulator.base.as_str()),
            ("LIGHTHOUSE_QUOTA_PER_MINUTE", "60"),
            ("RUST_LOG", "warn"),
        ],
        None,
    )
    .await;
    let draining = Instant::now();
    // Eighty calls of backlog: more than the provider allows in a minute.
    for n in 0..40 {
        request_itf(&app.base, &format!("load-{}", 66_000 + n)).await;
    }
    while calls(&simulator).await < 4 {
        assert!(draining.elapsed() < Duration::from_secs(20), "not draining");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The worker paces itself at 54 calls a minute: one every 1.112 s.
    let made = calls(&simulator).await;
    let most = (draining.elapsed().as_secs_f64() / 1.112).floor() as usize + 1;
    assert!(made <= most, "{made} calls in {:?}", draining.elapsed());

    let (status, body, took) = pension(&app.base, "load-66100").await;
    assert_eq!(status, StatusCode::OK);
    let itf = &body["data"]["attributes"]["intent_to_file"];
    assert_eq!(itf["type"], "pension", "{body}");
    assert_eq!(itf["status"], "active", "{body}");
    assert!(
        took < Duration::from_secs(2),
        "the pension request took {took:?}"
    );
    let pension = simulator.entry("load-66100", "pension").await;
    assert_eq!(
        (pension["gets"].as_u64(), pension["posts"].as_u64()),
        (Some(1), Some(1))
    );

    let text = client()
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let text = text.text().await.unwrap();
    assert!(
        text.contains("itf_provider_budget_corrections_total{cause=\"too_many_requests\"} 0"),
        "the provider refused a call:\n{text}"
    );
    assert!(!text.contains("outcome=\"transient\""), "{text}");
}

/// At three calls a minute two are held for people: a third look-up finds
/// no budget and answers at once, by intake, without calling the provider.
#[tokio::test]
async fn a_look_up_without_budget_answers_at_once_from_our_records() {
    let db = TestDb::sqlite();
    let simulator = Rig::start(100_000, Duration::from_secs(5)).await;
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&simulator.base)
            .quota_per_minute(3),
    )
    .await;
    let refusals = || async {
        let text = metrics(&app).await;
        let line = text
            .lines()
            .find(|line| line.starts_with("itf_provider_budget_refusals_total{caller=\"person\"}"))
            .map(str::to_owned);
        line.and_then(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .expect("the refusals are counted")
    };
    let refused_before = refusals().await;
    for user in ["load-66201", "load-66202", "load-66203"] {
        let vet = app.veteran(user).await;
        let asked = Instant::now();
        let answer = vet.get(app.url("/v0/intent_to_file")).send().await.unwrap();
        let took = asked.elapsed();
        assert_eq!(answer.status(), StatusCode::OK, "{user}");
        let body: Value = answer.json().await.unwrap();
        let items = body["data"]["attributes"]["intent_to_file"]
            .as_array()
            .unwrap();
        assert_eq!(items[0]["status"], "pending", "{user}: {body}");
        assert!(took < Duration::from_millis(200), "{user} took {took:?}");
    }
    let gets = |entry: Value| entry["gets"].as_u64().unwrap_or(0);
    assert_eq!(gets(simulator.entry("load-66201", "compensation").await), 1);
    assert_eq!(gets(simulator.entry("load-66202", "compensation").await), 1);
    assert_eq!(
        gets(simulator.entry("load-66203", "compensation").await),
        0,
        "the third look-up called the provider"
    );
    // Other tests of this process count in the same registry: the
    // difference is this test's.
    assert_eq!(refusals().await - refused_before, 1);
}
