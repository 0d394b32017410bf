//! Never a duplicate: a turn that stalls past its lease sends nothing more,
//! and a killed instance's job is attempted again within 30 s.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::process::{request_itf, wait_until_all_active, AppProcess};
use crate::support::provider::Rig;
use crate::support::TestDb;

/// Acceptance 2: an instance is killed while its turn waits on the
/// provider; the job is attempted again within 30 s, by the instance
/// restarted (SQLite) or by another one (PostgreSQL). Default lease and
/// heartbeat.
async fn a_killed_instances_job_is_attempted_again_within_30_s(
    db: TestDb,
    user: &str,
    restart: bool,
) {
    let simulator = Rig::start(100_000, Duration::from_secs(5)).await;
    let settings = [
        ("LIGHTHOUSE_BASE_URL", simulator.base.as_str()),
        ("ITF_RETRY_MAX_DELAY", "1"),
        ("RUST_LOG", "warn"),
    ];
    let mut first = AppProcess::start(&db.url(), &settings, None).await;
    simulator
        .set_mode(json!({"mode": "slow", "delay_ms": 60_000}))
        .await;
    request_itf(&first.base, user).await;
    let store = db.store().await;
    let started = Instant::now();
    while store.job_counts().await.unwrap().running != 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "not claimed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The first instance holds the job, its GET waiting on the provider.
    let other = if restart {
        None
    } else {
        Some(AppProcess::start(&db.url(), &settings, None).await)
    };
    first.kill();
    let killed = Instant::now();
    simulator.set_mode(json!({"mode": "up"})).await;
    let restarted = if restart {
        Some(AppProcess::start(&db.url(), &settings, None).await)
    } else {
        None
    };
    while simulator.entry(user, "compensation").await["gets"].as_u64() < Some(1) {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "not attempted again within 30 s of the SIGKILL"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("attempted again {:?} after the SIGKILL", killed.elapsed());
    wait_until_all_active(
        &db.store().await,
        &[user.to_owned()],
        Duration::from_secs(20),
    )
    .await;
    drop((other, restarted));
}

#[tokio::test]
async fn a_killed_instances_job_is_attempted_again_within_30_s_on_sqlite() {
    a_killed_instances_job_is_attempted_again_within_30_s(TestDb::sqlite(), "load-62001", true)
        .await;
}

#[tokio::test]
async fn a_killed_instances_job_is_attempted_again_within_30_s_on_postgres() {
    a_killed_instances_job_is_attempted_again_within_30_s(
        TestDb::postgres().await,
        "load-62002",
        false,
    )
    .await;
}

/// The stall needs the `failpoints` feature, which the test command turns on.
#[cfg(feature = "failpoints")]
mod stalled {
    use std::time::{Duration, Instant};

    use crate::support::process::{by_user, request_itf, wait_until_all_active, AppProcess};
    use crate::support::provider::Rig;
    use crate::support::TestDb;

    /// The settings of an instance against `simulator` with short leases.
    fn short_leases(simulator: &str) -> Vec<(&'static str, String)> {
        vec![
            ("LIGHTHOUSE_BASE_URL", simulator.to_owned()),
            ("LIGHTHOUSE_TIMEOUT_MS", "1000".to_owned()),
            ("ITF_LEASE_SECONDS", "4".to_owned()),
            ("ITF_HEARTBEAT_SECONDS", "1".to_owned()),
            ("ITF_RETRY_MAX_DELAY", "1".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
    }

    fn pairs<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// Acceptance 1: the first instance's turn stalls right after its lease
    /// check before the POST, for longer than the lease (a failpoint of test
    /// builds: the test command turns on the `failpoints` feature). The second
    /// instance takes the job over and creates the ITF; when the stalled turn
    /// resumes it sends nothing: one ITF, one POST.
    #[tokio::test]
    async fn a_turn_stalled_past_its_lease_sends_nothing_when_it_resumes() {
        let db = TestDb::postgres().await;
        let simulator = Rig::start(100_000, Duration::from_secs(5)).await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stalled.log");
        let mut stalled_settings = short_leases(&simulator.base);
        stalled_settings.push(("ITF_FAILPOINT_STALL_AFTER_POST_CHECK_MS", "8000".to_owned()));
        let stalled = AppProcess::start(&db.url(), &pairs(&stalled_settings), Some(&log)).await;
        let user = "load-61001";
        request_itf(&stalled.base, user).await;
        // The stalled instance has looked (GET) and now stalls before its POST.
        let started = Instant::now();
        while simulator.entry(user, "compensation").await["gets"] != 1 {
            assert!(started.elapsed() < Duration::from_secs(10), "no GET yet");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let second =
            AppProcess::start(&db.url(), &pairs(&short_leases(&simulator.base)), None).await;
        wait_until_all_active(
            &db.store().await,
            &[user.to_owned()],
            Duration::from_secs(20),
        )
        .await;
        // Past the stall: the stalled turn has resumed and given up.
        tokio::time::sleep(Duration::from_millis(
            8000u64.saturating_sub(started.elapsed().as_millis() as u64) + 2000,
        ))
        .await;
        let (itfs, posts) = by_user(&simulator).await[user];
        assert_eq!((itfs, posts), (1, 1), "one ITF from one POST");
        let said = std::fs::read_to_string(&log).unwrap();
        assert!(
            said.contains("too late to send a request; not sent"),
            "the stalled turn did not give up:\n{said}"
        );
        drop((stalled, second));
    }
}
