//! Requests survive the process: the app killed mid-queue and started again,
//! and two app processes sharing one PostgreSQL, against a standalone
//! simulator that outlives them.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::process::{by_user, request_itf, wait_until_all_active, AppProcess};
use crate::support::provider::Rig;
use crate::support::TestDb;
use futures_util::StreamExt;
use itf_app::development::test_veteran;
use itf_app::domain::ItfType;
use itf_server::store::RequestState;
use serde_json::json;

/// A standalone simulator that outlives the app processes.
async fn simulator() -> Rig {
    Rig::start(100_000, Duration::from_secs(5)).await
}

/// Acceptance 5: ten requests queued with the provider down survive a
/// SIGKILL; once the provider is up, each gets exactly one POST.
async fn queued_requests_survive_a_killed_process(db: TestDb, first_user: u32) {
    let simulator = simulator().await;
    simulator.set_mode(json!({"mode": "down"})).await;
    let users: Vec<String> = (first_user..first_user + 10)
        .map(|n| format!("load-{n}"))
        .collect();

    let mut first = AppProcess::against_simulator(&db.url(), &simulator.base).await;
    for user in &users {
        request_itf(&first.base, user).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill();

    let _second = AppProcess::against_simulator(&db.url(), &simulator.base).await;
    simulator.set_mode(json!({"mode": "up"})).await;
    wait_until_all_active(&db.store().await, &users, Duration::from_secs(40)).await;
    let at_simulator = by_user(&simulator).await;
    for user in &users {
        assert_eq!(
            at_simulator.get(user),
            Some(&(1, 1)),
            "{user}: (ITFs, POSTs)"
        );
    }
}

#[tokio::test]
async fn queued_requests_survive_a_killed_process_on_sqlite() {
    queued_requests_survive_a_killed_process(TestDb::sqlite(), 30_001).await;
}

#[tokio::test]
async fn queued_requests_survive_a_killed_process_on_postgres() {
    queued_requests_survive_a_killed_process(TestDb::postgres().await, 30_101).await;
}

/// Acceptance 6: two processes on one PostgreSQL, 500 veterans, a flaky
/// provider: every veteran ends with exactly one ITF and one active request.
#[tokio::test]
async fn two_instances_share_the_work_without_doubling_it() {
    let db = TestDb::postgres().await;
    let simulator = simulator().await;
    simulator
        .set_mode(json!({"mode": "flaky", "failure_rate": 0.3}))
        .await;
    let one = AppProcess::against_simulator(&db.url(), &simulator.base).await;
    let two = AppProcess::against_simulator(&db.url(), &simulator.base).await;
    let users: Vec<String> = (40_001..=40_500).map(|n| format!("load-{n}")).collect();
    futures_util::stream::iter(users.iter().enumerate())
        .for_each_concurrent(16, |(n, user)| {
            let app = if n % 2 == 0 { &one.base } else { &two.base };
            async move { request_itf(app, user).await }
        })
        .await;

    wait_until_all_active(&db.store().await, &users, Duration::from_secs(120)).await;
    let at_simulator = by_user(&simulator).await;
    let mut retried = 0;
    for user in &users {
        let (itfs, posts) = at_simulator.get(user).copied().unwrap_or_default();
        assert_eq!(itfs, 1, "{user} has {itfs} ITFs at the provider");
        retried += usize::from(posts > 1);
    }
    println!("{retried} of 500 veterans needed more than one POST");
}

/// SIGTERM: the process stops claiming, lets turns under way finish and
/// exits cleanly, with the provider slow so that a turn is under way.
#[tokio::test]
async fn sigterm_stops_the_process_cleanly() {
    let db = TestDb::sqlite();
    let simulator = simulator().await;
    simulator
        .set_mode(json!({"mode": "slow", "delay_ms": 3000}))
        .await;
    let mut app = AppProcess::against_simulator(&db.url(), &simulator.base).await;
    request_itf(&app.base, "load-50001").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let asked = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &app.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = app.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    // The turn under way was bounded by the provider timeout (1 s here).
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );

    let store = db.store().await;
    let icn = test_veteran("load-50001").unwrap().icn;
    let request = store
        .latest_request(&icn, ItfType::Compensation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        request.state,
        RequestState::Pending,
        "kept, to be completed later"
    );
    assert_eq!(
        store.job_counts().await.unwrap().running,
        0,
        "no job left leased"
    );
}
