//! Remediation: the simulator's controls for the cases operators repair,
//! and the date-drift report from the command line.

use std::process::Command;
use std::time::Duration;

use itf_app::development::test_veteran;
use itf_app::domain::eastern_day;
use itf_app::domain::ItfType::{Compensation, Pension};
use itf_server::provider::Outcome;
use std::sync::Arc;

use itf_server::store::{AuditAction, RequestState, Store, SYSTEM};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::provider::{icn, Rig};
use crate::support::{until_active, TestApp, TestConfig, TestDb};

#[tokio::test]
async fn the_simulator_makes_a_user_unknown_known_or_rejected_and_gives_itfs_out_of_band() {
    let rig = Rig::up().await;
    let put = |user: &str, body: Value| {
        rig.http
            .put(format!("{}/veterans/{user}/standing", rig.base))
            .json(&body)
            .send()
    };
    let vet = icn("load-36");
    let create = || rig.post(&vet, Compensation, None);
    assert_eq!(
        put("load-36", json!({"standing": "unknown"}))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        create().await,
        rig.post(&icn("vet-unknown"), Compensation, None).await,
        "refused as the provider refuses a veteran it does not know"
    );
    put("load-36", json!({"standing": "rejected"}))
        .await
        .unwrap();
    assert!(matches!(create().await, Outcome::Permanent { .. }));
    put("load-36", json!({"standing": "known"})).await.unwrap();
    assert!(matches!(create().await, Outcome::Created(_)));

    // An ITF made some other way, for a type never asked for.
    let made = rig
        .http
        .post(format!("{}/veterans/load-36/itfs", rig.base))
        .json(&json!({"type": "pension"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let body: Value = made.json().await.unwrap();
    assert_eq!(body["data"]["attributes"]["type"], "pension");
    assert!(matches!(rig.get(&vet, Pension).await, Outcome::Active(_)));

    // Reset: no ITF, the default standing again.
    let reset = rig
        .http
        .delete(format!("{}/veterans/load-36", rig.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(rig.get(&vet, Pension).await, Outcome::NoneActive);

    // Bad input is refused and changes nothing.
    assert_eq!(
        put("load-36", json!({"standing": "famous"}))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        put("not-a-test-user", json!({"standing": "known"}))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// `itf-async report date-drift` against `database_url`.
fn report(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_itf-async"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        // The keys the test apps seal personal data with.
        .env("ITF_DATA_DIR", crate::support::data_dir())
        .env("USER", "remediation-test")
        .args(["report", "date-drift"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn an_itf_the_provider_dates_a_day_later_is_on_the_date_drift_report() {
    let provider = Rig::up().await;
    provider
        .set_mode(json!({"mode": "up", "creation_offset_seconds": 86_400}))
        .await;
    let db = TestDb::sqlite();
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&provider.base)
            .retry_max_delay(Duration::from_secs(1)),
    )
    .await;
    let request = app.request_compensation("vet-no-itf").await;
    let vet = app.veteran("vet-no-itf").await;
    until_active(&vet, &app.url(""), Duration::from_secs(20)).await;
    let today = eastern_day(&chrono::Utc::now()).to_string();

    let (ok, csv, said) = report(&db.url(), &["--since", &today, "--format", "csv"]);
    assert!(ok, "{said}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "request_id,icn,itf_type,received_at,received_date_et,itf_id,creation_date,creation_date_et,days_between"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(fields[0], request);
    assert_eq!(fields[1], test_veteran("vet-no-itf").unwrap().icn.expose());
    assert_eq!(fields[4], today);
    assert_eq!(fields[8], "1");

    let (ok, json, said) = report(&db.url(), &["--since", &today, "--format", "json"]);
    assert!(ok, "{said}");
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["date_drift"][0]["request_id"], request.as_str());
    assert_eq!(json["date_drift"][0]["days_between"], 1);

    // Before that day: nothing; backwards: a clear refusal.
    let (ok, before, _) = report(
        &db.url(),
        &["--since", "2026-01-01", "--until", "2026-01-02"],
    );
    assert!(ok);
    assert_eq!(before.lines().count(), 1, "the header only: {before}");
    let (ok, _, said) = report(&db.url(), &["--since", &today, "--until", "2026-01-01"]);
    assert!(!ok);
    assert!(
        said.contains("--until") && said.contains("earlier day first"),
        "{said}"
    );

    // Every reading is on the record, under the account that ran it.
    let store = db.store().await;
    let audit = store.recent_audit(None, 10).await.unwrap();
    let readings: Vec<_> = audit
        .iter()
        .filter(|e| e.entry.action == AuditAction::DownloadReport)
        .collect();
    assert_eq!(readings.len(), 3, "{audit:?}");
    assert!(readings
        .iter()
        .all(|e| e.entry.operator == "command line (remediation-test)"));
    in_the_console(&app, &store, &request, &today).await;
}

/// The same request on the console's report, on screen and as CSV; the
/// download is on the record under the operator.
async fn in_the_console(app: &TestApp, store: &Arc<dyn Store>, request: &str, today: &str) {
    let operator = app.operator("ops-operator").await;
    let page = operator
        .get(app.url(&format!("/console/report?since={today}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = page
        .split("<tr>")
        .find(|row| row.contains(request))
        .unwrap_or_else(|| panic!("{request} not on the report: {page}"));
    assert!(row.contains(r#"data-testid="days">1<"#), "{row}");
    assert!(row.contains(test_veteran("vet-no-itf").unwrap().icn.expose()));
    let csv = operator
        .get(app.url(&format!("/console/report/date-drift.csv?since={today}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = csv.lines().find(|line| line.starts_with(request)).unwrap();
    assert!(line.ends_with(",1"), "{line}");
    let audit = store.recent_audit(None, 1).await.unwrap();
    assert_eq!(audit[0].entry.action, AuditAction::DownloadReport);
    assert_eq!(audit[0].entry.operator, "ops-operator");
}

/// A test user the provider does not know, whose request comes to need
/// attention; then an ITF is made for them by phone. Returns the request.
async fn refused_then_made_by_phone(
    app: &TestApp,
    store: &Arc<dyn Store>,
    rig: &Rig,
    user: &str,
) -> String {
    rig.http
        .put(format!("{}/veterans/{user}/standing", rig.base))
        .json(&json!({"standing": "unknown"}))
        .send()
        .await
        .unwrap();
    let request = app.request_compensation(user).await;
    let started = std::time::Instant::now();
    while store.request(&request).await.unwrap().unwrap().state != RequestState::NeedsAttention {
        assert!(started.elapsed() < Duration::from_secs(20), "never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let made = rig
        .http
        .post(format!("{}/veterans/{user}/itfs", rig.base))
        .json(&json!({"type": "compensation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    request
}

/// The request is active, closed by the service and on the record.
async fn closed_on_the_record(store: &Arc<dyn Store>, request: &str) {
    let closed = store.request(request).await.unwrap().unwrap();
    assert_eq!(closed.state, RequestState::Active);
    let trail = store.audit_trail(request).await.unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].entry.action, AuditAction::FoundActive);
    assert_eq!(trail[0].entry.operator, SYSTEM);
    let before = trail[0].entry.before.as_deref().unwrap();
    assert!(before.contains("needs_attention"), "{before}");
}

#[tokio::test]
async fn a_look_up_closes_a_request_needing_attention_once_the_provider_shows_an_itf() {
    let rig = Rig::up().await;
    let db = TestDb::sqlite();
    let store = db.store().await;
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&rig.base)
            .retry_max_delay(Duration::from_secs(1)),
    )
    .await;
    let request = refused_then_made_by_phone(&app, &store, &rig, "load-37").await;
    let vet = app.veteran("load-37").await;
    let page = vet
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("You already have an Intent to File"),
        "{page}"
    );
    assert!(!page.contains("couldn't create"), "{page}");
    closed_on_the_record(&store, &request).await;
    until_active(&vet, &app.url(""), Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_recheck_closes_a_request_needing_attention_nobody_looks_up() {
    let rig = Rig::up().await;
    let db = TestDb::postgres().await;
    let store = db.store().await;
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&rig.base)
            .retry_max_delay(Duration::from_secs(1))
            .recheck_every(Duration::from_secs(1)),
    )
    .await;
    let request = refused_then_made_by_phone(&app, &store, &rig, "load-38").await;
    let started = std::time::Instant::now();
    while store.request(&request).await.unwrap().unwrap().state != RequestState::Active {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never rechecked"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    closed_on_the_record(&store, &request).await;
}
