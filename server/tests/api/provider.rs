//! The Lighthouse client against the simulator, over HTTP: every seeded
//! veteran and every mode gives the outcome the worker must act on.

use std::time::{Duration, Instant};

use crate::support::provider::{icn, Rig};
use futures_util::StreamExt;
use itf_app::domain::ItfType::{self, Compensation, Pension, Survivor};
use itf_server::provider::Outcome;
use serde_json::{json, Value};

fn assert_created(outcome: &Outcome, itf_type: ItfType) {
    match outcome {
        Outcome::Created(itf) => {
            assert_eq!(itf.itf_type, itf_type);
            assert_eq!(itf.status, "active");
            assert!(!itf.id.is_empty());
        }
        other => panic!("expected Created, got {other:?}"),
    }
}

// Mode `up`, each seeded veteran.

#[tokio::test]
async fn up_veteran_with_no_itf_has_none_then_gets_one() {
    let rig = Rig::up().await;
    let vet = icn("vet-no-itf");
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    let created = rig.post(&vet, Compensation, None).await;
    assert_created(&created, Compensation);
    let Outcome::Created(itf) = created else {
        unreachable!()
    };
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::Active(itf));
}

#[tokio::test]
async fn up_veteran_with_an_active_itf_gets_it_with_central_time_dates() {
    let rig = Rig::up().await;
    match rig.get(&icn("vet-active-itf"), Compensation).await {
        Outcome::Active(itf) => {
            let offset = itf.creation_date.offset().local_minus_utc();
            assert!(
                offset == -5 * 3600 || offset == -6 * 3600,
                "offset {offset}"
            );
            assert!(itf.expiration_date > chrono::Utc::now());
            assert!(itf.creation_date < chrono::Utc::now());
        }
        other => panic!("expected Active, got {other:?}"),
    }
    assert_eq!(
        rig.get(&icn("vet-active-itf"), Pension).await,
        Outcome::NoneActive
    );
}

#[tokio::test]
async fn up_veteran_with_an_expired_itf_has_none_active() {
    let rig = Rig::up().await;
    assert_eq!(
        rig.get(&icn("vet-expired-itf"), Compensation).await,
        Outcome::NoneActive
    );
    let entry = rig.entry("vet-expired-itf", "compensation").await;
    assert_eq!(
        entry["itfs"].as_array().unwrap().len(),
        1,
        "the expired ITF is kept"
    );
}

#[tokio::test]
async fn up_unknown_veteran_is_a_permanent_refusal_on_post() {
    let rig = Rig::up().await;
    let vet = icn("vet-unknown");
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    assert_eq!(
        rig.post(&vet, Compensation, None).await,
        Outcome::Permanent {
            title: "Resource not found".to_owned(),
            detail: "Veteran ID not found".to_owned()
        }
    );
}

#[tokio::test]
async fn up_rejected_veteran_is_a_permanent_refusal() {
    let rig = Rig::up().await;
    match rig.post(&icn("vet-rejected"), Compensation, None).await {
        Outcome::Permanent { title, .. } => assert_eq!(title, "Unprocessable Entity"),
        other => panic!("expected Permanent, got {other:?}"),
    }
    assert_eq!(rig.entry("vet-rejected", "compensation").await["posts"], 1);
}

#[tokio::test]
async fn up_load_users_are_veterans_without_an_itf_until_one_is_made() {
    let rig = Rig::up().await;
    let vet = icn("load-4242");
    assert_eq!(rig.get(&vet, Pension).await, Outcome::NoneActive);
    assert_created(&rig.post(&vet, Pension, None).await, Pension);
    assert!(matches!(rig.get(&vet, Pension).await, Outcome::Active(_)));
}

#[tokio::test]
async fn up_the_provider_does_not_check_for_an_existing_itf() {
    let rig = Rig::up().await;
    let vet = icn("load-7");
    assert_created(&rig.post(&vet, Compensation, None).await, Compensation);
    assert_created(&rig.post(&vet, Compensation, None).await, Compensation);
    let entry = rig.entry("load-7", "compensation").await;
    assert_eq!(entry["itfs"].as_array().unwrap().len(), 2);
    assert_eq!(entry["posts"], 2);
}

#[tokio::test]
async fn up_survivor_needs_the_claimant_ssn() {
    let rig = Rig::up().await;
    let vet = icn("load-8");
    assert!(matches!(
        rig.post(&vet, Survivor, None).await,
        Outcome::Permanent { .. }
    ));
    assert_created(&rig.post(&vet, Survivor, Some("796043735")).await, Survivor);
}

// Fault modes.

async fn in_mode(mode: Value) -> Rig {
    let rig = Rig::start(10_000, Duration::from_millis(400)).await;
    rig.set_mode(mode).await;
    rig
}

#[tokio::test]
async fn down_is_transient_for_every_call() {
    let rig = in_mode(json!({"mode": "down"})).await;
    for user in [
        "vet-no-itf",
        "vet-active-itf",
        "vet-unknown",
        "vet-rejected",
    ] {
        let vet = icn(user);
        assert_eq!(
            rig.get(&vet, Compensation).await,
            Outcome::Transient { retry_after: None },
            "{user}"
        );
        assert_eq!(
            rig.post(&vet, Compensation, None).await,
            Outcome::Transient { retry_after: None },
            "{user}"
        );
    }
}

#[tokio::test]
async fn maintenance_is_transient() {
    let rig = in_mode(json!({"mode": "maintenance"})).await;
    let vet = icn("vet-active-itf");
    assert_eq!(
        rig.get(&vet, Compensation).await,
        Outcome::Transient { retry_after: None }
    );
    let raw = rig
        .http
        .get(format!(
            "{}/services/claims/v2/veterans/{}/intent-to-file/compensation",
            rig.base,
            vet.expose()
        ))
        .bearer_auth(rig.raw_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 503);
    let body: Value = raw.json().await.unwrap();
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("maintenance"));
}

#[tokio::test]
async fn slow_times_out_as_transient_without_waiting_for_the_answer() {
    let rig = in_mode(json!({"mode": "slow", "delay_ms": 3000})).await;
    let started = Instant::now();
    let outcome = rig.get(&icn("vet-active-itf"), Compensation).await;
    assert_eq!(outcome, Outcome::Transient { retry_after: None });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn throttled_is_transient_with_the_retry_after_delay() {
    let rig = in_mode(json!({"mode": "throttled", "retry_after_seconds": 7})).await;
    assert_eq!(
        rig.post(&icn("vet-no-itf"), Compensation, None).await,
        Outcome::Transient {
            retry_after: Some(Duration::from_secs(7))
        }
    );
}

#[tokio::test]
async fn flaky_failures_are_transient() {
    let rig = in_mode(json!({"mode": "flaky", "failure_rate": 1.0})).await;
    assert_eq!(
        rig.get(&icn("vet-no-itf"), Compensation).await,
        Outcome::Transient { retry_after: None }
    );
    let calls = rig.ledger().await["calls"].as_array().unwrap().clone();
    let status = calls.last().unwrap()["status"].as_u64().unwrap();
    assert!([500, 502, 504].contains(&status), "{status}");
}

#[tokio::test]
async fn flaky_posts_sometimes_fail_after_the_itf_was_created() {
    let rig = Rig::up().await;
    rig.set_mode(json!({"mode": "flaky"})).await;
    let mut lost = 0;
    let mut failed = 0;
    let tasks: Vec<_> = (1..=1000)
        .map(|n| {
            let vet = icn(&format!("load-{}", 10_000 + n));
            let rig = &rig;
            async move { (n, rig.post(&vet, Compensation, None).await) }
        })
        .collect();
    let outcomes: Vec<_> = futures_util::stream::iter(tasks)
        .buffer_unordered(16)
        .collect()
        .await;
    let ledger = rig.ledger().await;
    for (n, outcome) in outcomes {
        if matches!(outcome, Outcome::Transient { .. }) {
            failed += 1;
            let user = format!("load-{}", 10_000 + n);
            let exists =
                ledger["veterans"].as_array().unwrap().iter().any(|v| {
                    v["user"] == user.as_str() && !v["itfs"].as_array().unwrap().is_empty()
                });
            if exists {
                lost += 1;
            }
        }
    }
    assert!(
        failed > 150 && failed < 450,
        "{failed} of 1000 failed at a 30% rate"
    );
    assert!(lost > 0, "no POST failed after creating its ITF");
    assert!(lost < failed, "every failure created an ITF");
}

#[tokio::test]
async fn revoked_credentials_are_an_auth_failure_after_one_refresh() {
    let rig = in_mode(json!({"mode": "auth_rejected"})).await;
    assert_eq!(
        rig.get(&icn("vet-no-itf"), Compensation).await,
        Outcome::AuthFailure
    );
    assert_eq!(rig.token_requests().await, 2, "one token, then one refresh");
    assert_eq!(
        rig.entry("vet-no-itf", "compensation").await["gets"],
        2,
        "one call, one retry"
    );
}

// Tokens.

#[tokio::test]
async fn concurrent_calls_share_one_token() {
    let rig = Rig::up().await;
    let vet = icn("vet-active-itf");
    let calls = (0..200).map(|_| rig.get(&vet, Compensation));
    let outcomes = futures_util::future::join_all(calls).await;
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Active(_))));
    assert_eq!(rig.token_requests().await, 1);
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    let rig = Rig::up().await;
    rig.set_mode(json!({"mode": "up", "token_ttl_seconds": 1}))
        .await;
    let vet = icn("vet-no-itf");
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    assert_eq!(rig.token_requests().await, 2);
    assert_eq!(
        rig.entry("vet-no-itf", "compensation").await["gets"],
        2,
        "no call was refused"
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_call_retried() {
    let rig = Rig::up().await;
    let vet = icn("vet-no-itf");
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    rig.http
        .delete(format!("{}/tokens", rig.base))
        .send()
        .await
        .unwrap();
    assert_eq!(rig.get(&vet, Compensation).await, Outcome::NoneActive);
    assert_eq!(rig.token_requests().await, 2);
    let statuses: Vec<u64> = rig.ledger().await["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [404, 401, 404]);
}

#[tokio::test]
async fn the_simulator_refuses_a_forged_assertion_and_a_bad_token() {
    let rig = Rig::up().await;
    let token_url = format!("{}/oauth2/claims/system/v1/token", rig.base);
    let forged = rig
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"),
            ("scope", "system/claim.read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let bad = rig
        .http
        .get(format!(
            "{}/services/claims/v2/veterans/{}/intent-to-file/compensation",
            rig.base,
            icn("vet-no-itf").expose()
        ))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}

// Quota.

#[tokio::test]
async fn the_61st_call_in_a_minute_is_refused_with_a_delay() {
    let rig = Rig::start(60, Duration::from_secs(5)).await;
    let vet = icn("vet-no-itf");
    for n in 1..=60 {
        assert_eq!(
            rig.get(&vet, Compensation).await,
            Outcome::NoneActive,
            "call {n}"
        );
    }
    match rig.get(&vet, Compensation).await {
        Outcome::Transient {
            retry_after: Some(delay),
        } => assert!(
            delay > Duration::ZERO && delay <= Duration::from_secs(61),
            "{delay:?}"
        ),
        other => panic!("expected a delayed Transient, got {other:?}"),
    }
}

// The bodies, field for field.

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn is_lighthouse_timestamp(text: &str) -> bool {
    // 2021-03-16T19:15:21.000-05:00
    let b = text.as_bytes();
    text.len() == 29
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
        && b[19] == b'.'
        && (text.ends_with("-05:00") || text.ends_with("-06:00"))
}

#[tokio::test]
async fn the_simulator_writes_the_documented_shapes() {
    let rig = Rig::start(60, Duration::from_secs(5)).await;
    let token = rig.raw_token().await;
    let url = |user: &str| {
        format!(
            "{}/services/claims/v2/veterans/{}/intent-to-file/compensation",
            rig.base,
            icn(user).expose()
        )
    };
    let found = rig
        .http
        .get(url("vet-active-itf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    assert_eq!(found.headers()["x-ratelimit-limit-minute"], "60");
    assert_eq!(found.headers()["x-ratelimit-remaining-minute"], "59");
    let body: Value = found.json().await.unwrap();
    assert_eq!(keys(&body), ["data"]);
    assert_eq!(keys(&body["data"]), ["attributes", "id", "type"]);
    assert_eq!(body["data"]["type"], "intent_to_file");
    let attributes = &body["data"]["attributes"];
    assert_eq!(
        keys(attributes),
        ["creationDate", "expirationDate", "status", "type"]
    );
    assert_eq!(attributes["type"], "compensation");
    assert_eq!(attributes["status"], "active");
    for field in ["creationDate", "expirationDate"] {
        let text = attributes[field].as_str().unwrap();
        assert!(is_lighthouse_timestamp(text), "{field}: {text}");
    }

    let none = rig
        .http
        .get(url("vet-no-itf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
    let body: Value = none.json().await.unwrap();
    assert_eq!(keys(&body), ["errors"]);
    assert_eq!(keys(&body["errors"][0]), ["detail", "title"]);
    assert_eq!(body["errors"][0]["title"], "Resource not found");
    assert_eq!(
        body["errors"][0]["detail"],
        "No active compensation intent to file found."
    );
}

#[tokio::test]
async fn a_malformed_create_body_is_400_and_an_invalid_one_422() {
    let rig = Rig::up().await;
    let token = rig.raw_token().await;
    let url = format!(
        "{}/services/claims/v2/veterans/{}/intent-to-file",
        rig.base,
        icn("load-9").expose()
    );
    let malformed = rig
        .http
        .post(&url)
        .bearer_auth(&token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let invalid = rig
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"data": {"type": "intent_to_file", "attributes": {"type": "burial"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
}

/// Tests can hold a request in flight: in `slow` mode with
/// `create_on_receipt` the ITF exists before the answer comes, and `PUT
/// /pause` holds every answer until it is lifted.
#[tokio::test]
async fn a_request_can_be_held_in_flight() {
    let rig = Rig::start(10_000, Duration::from_secs(10)).await;
    let vet = icn("load-64001");
    rig.set_mode(json!({"mode": "slow", "delay_ms": 3000, "create_on_receipt": true}))
        .await;
    let started = Instant::now();
    let (created, ()) = tokio::join!(rig.post(&vet, Compensation, None), async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let held = rig.entry("load-64001", "compensation").await;
        assert_eq!(held["itfs"].as_array().map(Vec::len), Some(1), "{held}");
    });
    assert!(matches!(created, Outcome::Created(_)), "{created:?}");
    assert!(started.elapsed() >= Duration::from_secs(3));

    rig.set_mode(json!({"mode": "up"})).await;
    let pause = |paused: bool| {
        rig.http
            .put(format!("{}/pause", rig.base))
            .json(&json!({ "paused": paused }))
            .send()
    };
    assert_eq!(pause(true).await.unwrap().status(), 204);
    let asked = Instant::now();
    let (found, ()) = tokio::join!(rig.get(&vet, Compensation), async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(pause(false).await.unwrap().status(), 204);
    });
    assert!(matches!(found, Outcome::Active(_)), "{found:?}");
    assert!(asked.elapsed() >= Duration::from_millis(1500));
}
