//! Rule 6 at the most verbose level: the `itf-async` binary, run at
//! `RUST_LOG=trace` with its in-process simulator, through a look-up, an
//! intake and a worker turn, writes neither the veteran's ICN nor their
//! name anywhere in its output.

use std::time::Duration;

use itf_app::development::test_veteran;
use reqwest::StatusCode;

use crate::support::process::AppProcess;
use crate::support::{client, until_active};

#[tokio::test]
async fn trace_logs_of_a_look_up_an_intake_and_a_turn_hold_no_icn_or_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output.log");
    let database = format!("sqlite://{}/itf.db", dir.path().display());
    let mut app = AppProcess::start(&database, &[("RUST_LOG", "trace")], Some(&output)).await;
    let base = app.base.clone();
    let browser = client();
    let signed_in = browser
        .post(format!("{base}/sign-in/mock"))
        .form(&[("user", "vet-no-itf")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let page = browser.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    until_active(&browser, &base, Duration::from_secs(30)).await;
    app.kill();

    let text = std::fs::read_to_string(&output).unwrap();
    for (what, evidence) in [
        ("the worker's turn", "turn{request_id="),
        ("the provider call", "provider_call{route="),
        ("the intake", "intake{itf_type="),
        ("trace-level lines", "TRACE"),
    ] {
        assert!(text.contains(evidence), "{what} not in the logs:\n{text}");
    }
    let veteran = test_veteran("vet-no-itf").unwrap();
    let icn = veteran.icn.expose();
    let name = veteran.name.expose();
    for (line_number, line) in text.lines().enumerate() {
        assert!(
            !line.contains(icn) && !line.contains(&icn[..10]),
            "line {} holds the ICN: {line}",
            line_number + 1
        );
        for part in name.split(' ') {
            assert!(
                !line.contains(part),
                "line {} holds the name: {line}",
                line_number + 1
            );
        }
    }
}
