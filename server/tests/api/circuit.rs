//! The shared circuit: with the provider down, four instances together let
//! at most one call through per cool-down; with it slow, look-ups answer at
//! once; when it is back, the deferred work completes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::process::{request_itf, wait_until_all_active, AppProcess};
use crate::support::provider::Rig;
use crate::support::{client, TestDb};

const COOLDOWN_SECONDS: u64 = 2;

/// A signed-in veteran's look-up and start page, each within 200 ms.
async fn answers_at_once(base: &str) {
    let browser = client();
    let signed_in = browser
        .post(format!("{}/sign-in/mock", base))
        .form(&[("user", "load-65100")])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection());
    for path in ["/v0/intent_to_file", "/"] {
        let asked = Instant::now();
        let answer = browser.get(format!("{}{path}", base)).send().await.unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        assert!(
            asked.elapsed() < Duration::from_millis(200),
            "{path} took {:?} with the circuit open",
            asked.elapsed()
        );
    }
}

#[tokio::test]
async fn four_instances_let_one_probe_through_per_cooldown() {
    let db = TestDb::postgres().await;
    let simulator = Rig::start(100_000, Duration::from_secs(5)).await;
    let cooldown = COOLDOWN_SECONDS.to_string();
    let settings = [
        ("LIGHTHOUSE_BASE_URL", simulator.base.as_str()),
        ("LIGHTHOUSE_TIMEOUT_MS", "1000"),
        ("ITF_CIRCUIT_FAILURES", "3"),
        ("ITF_CIRCUIT_COOLDOWN_SECONDS", cooldown.as_str()),
        ("ITF_RETRY_MAX_DELAY", "1"),
        ("RUST_LOG", "warn"),
    ];
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(AppProcess::start(&db.url(), &settings, None).await);
    }
    simulator.set_mode(json!({"mode": "down"})).await;
    let users: Vec<String> = (0..8).map(|n| format!("load-6500{n}")).collect();
    for (n, user) in users.iter().enumerate() {
        request_itf(&instances[n % 4].base, user).await;
    }
    let store = db.store().await;
    let started = Instant::now();
    while store.circuit().await.unwrap() == itf_server::store::CircuitState::Closed {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the circuit never opened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Calls in flight when it opened have landed by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    simulator
        .http
        .delete(format!("{}/ledger", simulator.base))
        .send()
        .await
        .unwrap();
    let window = Duration::from_secs(5 * COOLDOWN_SECONDS);
    tokio::time::sleep(window).await;
    let calls = simulator.ledger().await["calls"].as_array().unwrap().len();
    assert!(
        calls <= 6,
        "{calls} calls in {window:?} with the circuit open across four instances"
    );

    // Slow, and the circuit open: a look-up answers at once.
    simulator
        .set_mode(json!({"mode": "slow", "delay_ms": 60_000}))
        .await;
    answers_at_once(&instances[0].base).await;

    simulator.set_mode(json!({"mode": "up"})).await;
    wait_until_all_active(&store, &users, Duration::from_secs(30)).await;
}
