//! The service API other VA services call: who may, and the ITF state it
//! answers from our records for each kind of veteran.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{until_active, TestApp, TestConfig, TestDb};

const TOKEN: &str = "s3rvice-token-for-the-526-submission";
const NEXT: &str = "the-token-that-replaces-it";

async fn status(app: &TestApp, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut call = app
        .client
        .post(app.url("/internal/v0/itf_status"))
        .json(&body);
    if let Some(token) = token {
        call = call.bearer_auth(token);
    }
    let answer = call.send().await.unwrap();
    let code = answer.status();
    (code, answer.json().await.unwrap_or(Value::Null))
}

/// The attributes the service answers for `user`'s compensation ITF.
async fn state_of(app: &TestApp, user: &str) -> Value {
    let vet = itf_app::development::test_veteran(user).unwrap();
    let (code, body) = status(
        app,
        Some(TOKEN),
        json!({"icn": vet.icn.expose(), "type": "compensation"}),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["data"]["attributes"].clone()
}

#[tokio::test]
async fn without_a_known_token_the_service_api_answers_401() {
    let db = TestDb::sqlite();
    let app =
        TestApp::spawn(TestConfig::on(&db.url()).service_tokens(&[("claims-526", TOKEN)])).await;
    let body = json!({"icn": "1012667145V762142", "type": "compensation"});
    for token in [None, Some("not-a-token-we-know"), Some("")] {
        let (code, answer) = status(&app, token, body.clone()).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(answer["errors"][0]["title"], "Not authenticated");
    }
    let (code, answer) = status(
        &app,
        Some(TOKEN),
        json!({"icn": "12345", "type": "compensation"}),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        !answer.to_string().contains("12345"),
        "no ICN echoed: {answer}"
    );
    // Counted by the credential's name; the registry is the process's, so
    // other tests' calls may be counted too.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for (counted, at_least) in [
        (
            r#"itf_service_calls_total{credential="unknown",outcome="unauthorized"} "#,
            3.0,
        ),
        (
            r#"itf_service_calls_total{credential="claims-526",outcome="bad_request"} "#,
            1.0,
        ),
    ] {
        let count: f64 = metrics
            .lines()
            .find_map(|line| line.strip_prefix(counted))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0.0);
        assert!(count >= at_least, "{counted} {count} in:\n{metrics}");
    }
    assert!(!metrics.contains(TOKEN) && !metrics.contains("1012667145"));
}

#[tokio::test]
async fn a_rotated_token_works_beside_the_new_one_until_it_is_removed() {
    let db = TestDb::sqlite();
    let both = TestApp::spawn(
        TestConfig::on(&db.url())
            .service_tokens(&[("claims-526", TOKEN), ("claims-526-next", NEXT)]),
    )
    .await;
    let body = json!({"icn": "1012667145V762142", "type": "compensation"});
    for token in [TOKEN, NEXT] {
        assert_eq!(
            status(&both, Some(token), body.clone()).await.0,
            StatusCode::OK
        );
    }
    both.stop().await;
    let after =
        TestApp::spawn(TestConfig::on(&db.url()).service_tokens(&[("claims-526-next", NEXT)]))
            .await;
    assert_eq!(
        status(&after, Some(TOKEN), body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status(&after, Some(NEXT), body).await.0, StatusCode::OK);
}

#[tokio::test]
async fn each_state_is_answered_from_our_records() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .service_tokens(&[("claims-526", TOKEN)])
            .retry_max_delay(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(
        state_of(&app, "load-66100").await,
        json!({"state": "none", "type": "compensation"})
    );

    app.set_mode(json!({"mode": "down"})).await;
    let pending = app.veteran("load-66101").await;
    let request_id = app.request_compensation("load-66101").await;
    let answer = state_of(&app, "load-66101").await;
    assert_eq!(answer["state"], "pending");
    assert_eq!(answer["request_id"], request_id.as_str());
    assert!(
        answer["received_date"].as_str().unwrap().len() == 10,
        "{answer}"
    );

    // The provider dates the ITF a day after we received the request.
    app.set_mode(json!({"mode": "up", "creation_offset_seconds": 86_400}))
        .await;
    until_active(&pending, &app.url(""), Duration::from_secs(30)).await;
    let answer = state_of(&app, "load-66101").await;
    assert_eq!(answer["state"], "active", "{answer}");
    assert_eq!(answer["request_id"], request_id.as_str());
    assert!(answer["itf_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(answer["date_drift"], true, "{answer}");

    app.set_mode(json!({"mode": "up"})).await;
    app.request_compensation("vet-unknown").await;
    let started = std::time::Instant::now();
    while state_of(&app, "vet-unknown").await["state"] != "needs_attention" {
        assert!(started.elapsed() < Duration::from_secs(30), "never refused");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Seen active at the provider by a look-up, with no request of ours.
    let looked = app.veteran("vet-active-itf").await;
    until_active(&looked, &app.url(""), Duration::from_secs(10)).await;
    let answer = state_of(&app, "vet-active-itf").await;
    assert_eq!(answer["state"], "active");
    assert_eq!(answer["request_id"], Value::Null);
    assert_eq!(answer["date_drift"], false);
}
