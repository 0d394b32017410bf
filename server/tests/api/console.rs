//! The console's forms over real HTTP: who may do what, what each needs,
//! and what the audit log keeps of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use itf_app::development::test_veteran;
use itf_server::store::{AuditAction, RequestState, Store};
use reqwest::StatusCode;

use crate::support::{client, TestApp, TestConfig, TestDb};

/// A refused request: `vet-unknown` is not known to the simulator.
async fn needing_attention(app: &TestApp, store: &Arc<dyn Store>) -> String {
    let request = app.request_compensation("vet-unknown").await;
    let started = Instant::now();
    while store.request(&request).await.unwrap().unwrap().state != RequestState::NeedsAttention {
        assert!(started.elapsed() < Duration::from_secs(20), "never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    request
}

async fn post(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let answer = browser.post(app.url(path)).form(form).send().await.unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, answer.text().await.unwrap())
}

#[tokio::test]
async fn an_operator_retries_with_a_reason_and_a_viewer_or_a_stranger_cannot() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let request = needing_attention(&app, &store).await;
    let retry = format!("/console/requests/{request}/retry");

    let stranger = client();
    let page = stranger.get(app.url("/console")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/console/sign-in");
    let (status, _, said) = post(&stranger, &app, &retry, &[("reason", "x")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(said.contains("Sign in to the console"), "{said}");
    // A veteran's session is not an operator's.
    let veteran = app.veteran("vet-unknown").await;
    let (status, _, _) = post(&veteran, &app, &retry, &[("reason", "x")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let viewer = app.operator("ops-viewer").await;
    let (status, _, said) = post(&viewer, &app, &retry, &[("reason", "fixed")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        said.contains("viewer") && said.contains("Ask an operator"),
        "{said}"
    );

    let operator = app.operator("ops-operator").await;
    let (status, _, said) = post(&operator, &app, &retry, &[("reason", "  ")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(said.contains("Give a reason"), "{said}");
    assert!(
        store.audit_trail(&request).await.unwrap().is_empty(),
        "nothing done"
    );

    let reason = "the provider fixed the veteran's record";
    let (status, location, _) = post(&operator, &app, &retry, &[("reason", reason)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/console/requests/{request}"));
    let trail = store.audit_trail(&request).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].entry.action, AuditAction::Retry);
    assert_eq!(trail[0].entry.operator, "ops-operator");
    assert_eq!(trail[0].entry.reason.as_deref(), Some(reason));
    assert_eq!(store.job_count(&request).await.unwrap(), 2);

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("itf_operator_actions_total{action=\"retry\"} ")),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_operator_resolves_by_hand_notes_and_searches_on_the_record() {
    let db = TestDb::postgres().await;
    let store = db.store().await;
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let request = needing_attention(&app, &store).await;
    let operator = app.operator("ops-admin").await;
    resolve_by_hand(&app, &operator, &request).await;
    let resolved = store.request(&request).await.unwrap().unwrap();
    assert_eq!(resolved.state, RequestState::Active);
    let itf = resolved.itf.unwrap();
    assert_eq!(itf.id, "900001");
    assert_eq!(itf.creation_date.to_rfc3339(), "2026-03-16T00:00:00-04:00");
    assert_eq!(
        itf.expiration_date.to_rfc3339(),
        "2027-03-15T23:59:59-04:00"
    );

    let note = format!("/console/requests/{request}/note");
    let (status, _, _) = post(&operator, &app, &note, &[("reason", "told the veteran")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    searches_lead_to_the_request(&app, &operator, &request).await;

    let actions: Vec<AuditAction> = store
        .audit_trail(&request)
        .await
        .unwrap()
        .iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::Resolve,
            AuditAction::Note,
            AuditAction::SearchIcn
        ]
    );
    let searched = store.audit_trail(&request).await.unwrap().remove(2);
    let icn = test_veteran("vet-unknown").unwrap().icn;
    assert!(
        !searched.entry.after.unwrap().contains(icn.expose()),
        "no ICN kept"
    );
}

/// A resolve with a date the console cannot read is refused; one with
/// the ITF's id and day is done.
async fn resolve_by_hand(app: &TestApp, operator: &reqwest::Client, request: &str) {
    let resolve = format!("/console/requests/{request}/resolve");

    let (status, _, said) = post(
        operator,
        app,
        &resolve,
        &[
            ("reason", "made by phone"),
            ("itf_id", "900001"),
            ("creation_date", "16 March"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(said.contains("Give the ITF's date"), "{said}");
    let (status, _, _) = post(
        operator,
        app,
        &resolve,
        &[
            ("reason", "ITF created by phone on March 16"),
            ("itf_id", "900001"),
            ("creation_date", "2026-03-16"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// By ICN (audited, refused when malformed) and by request id.
async fn searches_lead_to_the_request(app: &TestApp, operator: &reqwest::Client, request: &str) {
    let icn = test_veteran("vet-unknown").unwrap().icn;
    let (status, location, _) =
        post(operator, app, "/console/search", &[("icn", icn.expose())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/console/requests/{request}"));
    let (status, _, said) = post(operator, app, "/console/search", &[("icn", "12345")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(said.contains("not an ICN"), "{said}");

    let (status, location, _) =
        post(operator, app, "/console/search", &[("request_id", request)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/console/requests/{request}"));
}

#[tokio::test]
async fn the_csv_carries_icns_so_only_operators_download_it_and_each_download_is_audited() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let path = "/console/report/date-drift.csv?since=2026-01-01";
    let viewer = app.operator("ops-viewer").await;
    let refused = viewer.get(app.url(path)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let operator = app.operator("ops-operator").await;
    let csv = operator.get(app.url(path)).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"date-drift-2026-01-01-"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("request_id,icn,"), "{text}");
    let backwards = operator
        .get(app.url("/console/report/date-drift.csv?since=2026-02-01&until=2026-01-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(backwards.status(), StatusCode::BAD_REQUEST);

    let downloads: Vec<_> = store
        .recent_audit(None, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action == AuditAction::DownloadReport)
        .collect();
    assert_eq!(downloads.len(), 1, "{downloads:?}");
    assert_eq!(downloads[0].entry.operator, "ops-operator");
}

#[tokio::test]
async fn production_without_operator_sign_in_has_no_console() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url()).production()).await;
    for path in ["/console", "/console/sign-in", "/console/requests/x"] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let signed_in = client()
        .post(app.url("/console/sign-in/mock"))
        .form(&[("user", "ops-admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::NOT_FOUND);
}

async fn page(browser: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let answer = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "{path}");
    answer.text().await.unwrap()
}

#[tokio::test]
async fn the_pages_show_the_overview_the_lists_a_timeline_and_the_report() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let request = needing_attention(&app, &store).await;
    let viewer = app.operator("ops-viewer").await;

    let overview = page(&viewer, &app, "/console").await;
    assert!(overview.contains("Requests by state"), "{overview}");
    assert!(overview.contains("<svg"), "the chart");
    assert!(
        overview.contains("Provider calls by hour and outcome"),
        "the chart's table"
    );

    let listed = page(&viewer, &app, "/console/requests?state=needs_attention").await;
    assert!(listed.contains(&request), "{listed}");
    let none = page(&viewer, &app, "/console/requests?state=active").await;
    assert!(!none.contains(&request));
    let bad = page(&viewer, &app, "/console/requests?since=March").await;
    assert!(bad.contains("Check what you entered"), "{bad}");

    let opened = page(&viewer, &app, &format!("/console/requests/{request}")).await;
    assert!(opened.contains("needs_attention"), "{opened}");
    assert!(
        opened.contains("POST permanent"),
        "the refused attempt: {opened}"
    );
    assert!(
        opened.contains("itf_needs_attention"),
        "the message: {opened}"
    );
    assert!(
        opened.contains("can read requests but not change them"),
        "{opened}"
    );
    let icn = test_veteran("vet-unknown").unwrap().icn;
    assert!(!opened.contains(icn.expose()), "no ICN on a request's page");
    let trail = store.audit_trail(&request).await.unwrap();
    assert_eq!(trail.last().unwrap().entry.action, AuditAction::OpenRequest);

    let report = page(&viewer, &app, "/console/report").await;
    assert!(report.contains(&request), "needing attention: {report}");
    assert!(
        report.contains("Only an operator or an admin can download"),
        "{report}"
    );
    let missing = page(&viewer, &app, "/console/requests/no-such-request").await;
    assert!(missing.contains("We couldn't find that"), "{missing}");
}
