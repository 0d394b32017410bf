//! Messages through VA Notify, against a local server that checks what VA
//! Notify checks: the JWT (HS256 with the key's secret, `iss` the service
//! id, `iat` within 30 s) and every field of the body.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use itf_app::development::test_veteran;
use itf_server::config::NotifySettings;
use serde_json::{json, Value};

use crate::support::provider::Rig;
use crate::support::{TestApp, TestConfig, TestDb};

const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const SECRET: &str = "3d2e6c4a-5b44-4c5e-9b0f-1c2d3e4f5a6b";
const CONFIRMED_TEMPLATE: &str = "5c5f1e0a-0000-4000-8000-000000000001";
const NEEDS_ATTENTION_TEMPLATE: &str = "5c5f1e0a-0000-4000-8000-000000000002";
const DELAYED_TEMPLATE: &str = "5c5f1e0a-0000-4000-8000-000000000003";

/// What the local VA Notify received, and whether its checks held.
#[derive(Default)]
struct Received {
    bodies: Vec<Value>,
    problems: Vec<String>,
    /// Answers still to give before 201s: (status, Retry-After).
    script: Vec<(StatusCode, Option<&'static str>)>,
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

fn check(headers: &HeaderMap, body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    match token.map(|t| {
        jsonwebtoken::decode::<Claims>(
            t,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
            &validation,
        )
    }) {
        Some(Ok(token)) => {
            if token.claims.iss != SERVICE_ID {
                problems.push(format!("iss {}", token.claims.iss));
            }
            if (chrono::Utc::now().timestamp() - token.claims.iat).abs() > 30 {
                problems.push(format!("iat {}", token.claims.iat));
            }
        }
        other => problems.push(format!(
            "no valid HS256 token: {:?}",
            other.map(|r| r.err())
        )),
    }
    let request_id = body["reference"]
        .as_str()
        .and_then(|r| r.rsplit_once(':'))
        .map(|(id, _)| id.to_owned());
    match (body["template_id"].as_str(), body["reference"].as_str()) {
        (Some(CONFIRMED_TEMPLATE), Some(r)) if r.ends_with(":itf_confirmed") => {}
        (Some(NEEDS_ATTENTION_TEMPLATE), Some(r)) if r.ends_with(":itf_needs_attention") => {}
        (Some(DELAYED_TEMPLATE), Some(r)) if r.ends_with(":itf_delayed") => {}
        other => problems.push(format!("template and reference {other:?}")),
    }
    if request_id.is_none() {
        problems.push("no request id in the reference".to_owned());
    }
    if body["recipient_identifier"]["id_type"] != "ICN" {
        problems.push("recipient not by ICN".to_owned());
    }
    for field in ["first_name", "benefit", "request_date"] {
        if !body["personalisation"][field].is_string() {
            problems.push(format!("personalisation without {field}"));
        }
    }
    problems
}

async fn local_va_notify(received: Arc<Mutex<Received>>) -> String {
    let router = Router::new().route(
        "/v2/notifications/email",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let received = received.clone();
            async move {
                let mut received = received.lock().unwrap();
                let problems = check(&headers, &body);
                received.problems.extend(problems);
                received.bodies.push(body.clone());
                let (status, retry_after) = if received.script.is_empty() {
                    (StatusCode::CREATED, None)
                } else {
                    received.script.remove(0)
                };
                let mut headers = HeaderMap::new();
                if let Some(after) = retry_after {
                    headers.insert("retry-after", after.parse().unwrap());
                }
                let answer = if status == StatusCode::CREATED {
                    json!({"id": "n-1", "reference": body["reference"], "content": {}, "uri": "", "template": {}})
                } else {
                    json!({"status_code": status.as_u16(), "errors": [{"error": "ValidationError", "message": "template_id is not a valid UUID"}]})
                };
                (status, headers, Json(answer))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

fn settings(base: &str) -> NotifySettings {
    NotifySettings {
        base_url: base.to_owned(),
        service_id: SERVICE_ID.to_owned(),
        secret: SECRET.to_owned(),
        template_itf_confirmed: CONFIRMED_TEMPLATE.to_owned(),
        template_itf_delayed: DELAYED_TEMPLATE.to_owned(),
        template_itf_needs_attention: NEEDS_ATTENTION_TEMPLATE.to_owned(),
        callback_token: Some("callback-secret".to_owned()),
    }
}

#[tokio::test]
async fn va_notify_gets_a_message_with_a_valid_token_again_after_a_429_never_after_a_400() {
    let received = Arc::new(Mutex::new(Received::default()));
    // The confirmation's first delivery meets a 429 asking for a second,
    // its second delivery a 400.
    received.lock().unwrap().script = vec![
        (StatusCode::TOO_MANY_REQUESTS, Some("1")),
        (StatusCode::BAD_REQUEST, None),
    ];
    let base = local_va_notify(received.clone()).await;
    let provider = Rig::up().await;
    let db = TestDb::sqlite();
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .standalone_simulator(&provider.base)
            .retry_max_delay(Duration::from_secs(1))
            .va_notify(settings(&base)),
    )
    .await;
    app.request_compensation("vet-no-itf").await;
    let started = Instant::now();
    loop {
        let count = received.lock().unwrap().bodies.len();
        if count >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{count} deliveries"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Refused for good by the 400: not delivered again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (bodies, problems) = {
        let received = received.lock().unwrap();
        (received.bodies.clone(), received.problems.clone())
    };
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let [first, second] = [&bodies[0], &bodies[1]];
    assert_eq!(
        first["reference"], second["reference"],
        "the same reference again"
    );
    assert_eq!(
        first["recipient_identifier"]["id_value"],
        test_veteran("vet-no-itf").unwrap().icn.expose()
    );
    assert_eq!(first["personalisation"]["first_name"], "Hector");
    let mailbox: Value = app.get("/dev/mailbox.json").await.json().await.unwrap();
    assert_eq!(mailbox["messages"], json!([]), "VA Notify, not the mailbox");
    the_team_is_told_of_the_failed_message(&app, first["reference"].as_str().unwrap()).await;
    callbacks_are_recorded_as_they_come(&app, &db, first["reference"].as_str().unwrap()).await;
}

/// The 400 failed the message and opened one alert about it.
async fn the_team_is_told_of_the_failed_message(app: &TestApp, reference: &str) {
    let listed: Value = app.get("/dev/alerts.json").await.json().await.unwrap();
    let undeliverable: Vec<&Value> = listed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["condition"] == "message_undeliverable")
        .collect();
    assert_eq!(undeliverable.len(), 1, "{listed}");
    assert_eq!(
        undeliverable[0]["dedup_key"],
        format!("itf-async/message_undeliverable/{reference}")
    );
}

/// VA Notify's delivery-status callbacks: refused without the token,
/// recorded with it, whatever the status.
async fn callbacks_are_recorded_as_they_come(app: &TestApp, db: &TestDb, reference: &str) {
    let http = reqwest::Client::new();
    let callback = |token: &str, reference: &str, status: &str| {
        http.post(app.url("/callbacks/va-notify"))
            .bearer_auth(token)
            .json(
                &json!({"id": "n-1", "reference": reference, "status": status,
                "notification_type": "email", "to": "veteran@example.com"}),
            )
            .send()
    };
    let refused = callback("not-the-token", reference, "delivered")
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let unknown = callback("callback-secret", "no-such:itf_confirmed", "delivered")
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
    for status in [
        "delivered",
        "temporary-failure",
        "permanent-failure",
        "technical-failure",
    ] {
        let answer = callback("callback-secret", reference, status)
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{status}");
        let (recorded,): (Option<String>,) =
            sqlx::query_as("SELECT delivery_status FROM outbox WHERE reference = ?1")
                .bind(reference)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(recorded.as_deref(), Some(status));
    }
}

/// Acceptance 4: the process ends right after VA Notify accepted a message
/// and before that is recorded (a failpoint of test builds: the test
/// command turns on the `failpoints` feature). Started again, it sends the
/// message again with the same reference, and there is one message row.
#[cfg(feature = "failpoints")]
#[tokio::test]
async fn a_crash_between_sending_and_recording_sends_again_with_the_same_reference() {
    use crate::support::process::{request_itf, AppProcess};

    let received = Arc::new(Mutex::new(Received::default()));
    let base = local_va_notify(received.clone()).await;
    let provider = Rig::up().await;
    let db = TestDb::postgres().await;
    let settings = [
        ("LIGHTHOUSE_BASE_URL", provider.base.as_str()),
        ("LIGHTHOUSE_TIMEOUT_MS", "1000"),
        ("ITF_LEASE_SECONDS", "4"),
        ("ITF_HEARTBEAT_SECONDS", "1"),
        (
            "VA_NOTIFY_API_KEY",
            "itf-async-26785a09-ab16-4eb0-8407-a37497a57506-3d2e6c4a-5b44-4c5e-9b0f-1c2d3e4f5a6b",
        ),
        ("VA_NOTIFY_BASE_URL", base.as_str()),
        ("VA_NOTIFY_TEMPLATE_ITF_CONFIRMED", CONFIRMED_TEMPLATE),
        ("VA_NOTIFY_TEMPLATE_ITF_DELAYED", DELAYED_TEMPLATE),
        (
            "VA_NOTIFY_TEMPLATE_ITF_NEEDS_ATTENTION",
            NEEDS_ATTENTION_TEMPLATE,
        ),
        ("RUST_LOG", "warn"),
    ];
    let mut crashing = settings.to_vec();
    crashing.push(("ITF_FAILPOINT_EXIT_AFTER_SEND", "1"));
    let mut first = AppProcess::start(&db.url(), &crashing, None).await;
    request_itf(&first.base, "vet-no-itf").await;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no crash");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(70), "ended by the failpoint");
    assert_eq!(received.lock().unwrap().bodies.len(), 1);

    let _second = AppProcess::start(&db.url(), &settings, None).await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let started = Instant::now();
    loop {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT reference, state FROM outbox")
            .fetch_all(&pool)
            .await
            .unwrap();
        if rows.len() == 1 && rows[0].1 == "sent" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let received = received.lock().unwrap();
    assert!(received.problems.is_empty(), "{:?}", received.problems);
    assert_eq!(received.bodies.len(), 2, "sent again, once");
    assert_eq!(
        received.bodies[0]["reference"],
        received.bodies[1]["reference"]
    );
}
