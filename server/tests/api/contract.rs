//! The contract, pinned: every REST answer and error body, the simulator's
//! bodies and ledger, and the names of the metrics. Ids and times vary from
//! run to run; they are replaced by the name of their format after the
//! format is checked, so a change of format still shows.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::support::provider::{icn, Rig};
use crate::support::{client, TestApp, TestConfig, TestDb};

/// What a value of a varying field is replaced by, once its format is
/// checked.
fn placeholder(key: &str, text: &str) -> Option<String> {
    let utc = || chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z');
    let offset = || chrono::DateTime::parse_from_rfc3339(text).is_ok() && !text.ends_with('Z');
    let checked = |name: &str, ok: bool| {
        Some(if ok {
            format!("[{name}]")
        } else {
            format!("[not a {name}: {text}]")
        })
    };
    match key {
        "received_at" | "receivedAt" | "as_of" | "asOf" | "at" => checked("utc time", utc()),
        "creation_date" | "expiration_date" | "creationDate" | "expirationDate" => {
            checked("time with offset", offset())
        }
        "received_date" | "receivedDate" => checked(
            "date",
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        ),
        "request_id" | "requestId" => checked("uuid", uuid::Uuid::parse_str(text).is_ok()),
        "id" if !text.is_empty() => {
            checked("provider id", text.chars().all(|c| c.is_ascii_digit()))
        }
        "access_token" => checked("token", text.len() >= 16),
        _ => None,
    }
}

fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(text) => {
                            placeholder(key, text).map_or_else(|| value.clone(), Value::String)
                        }
                        other => redact(other),
                    };
                    (key.clone(), value)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// An answer as pinned: its status, the headers that are part of the
/// contract, and its body with varying values redacted.
async fn answer(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for name in [
        "content-type",
        "retry-after",
        "x-ratelimit-limit-minute",
        "x-ratelimit-remaining-minute",
    ] {
        if let Some(value) = response.headers().get(name) {
            headers.insert(name.to_owned(), json!(value.to_str().unwrap()));
        }
    }
    let text = response.text().await.unwrap();
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    json!({ "status": status, "headers": headers, "body": redact(&body) })
}

/// How the keys of an answer are asked for: snake_case, as by default, or
/// camelCase, as VA.gov's front end asks with `X-Key-Inflection: camel`.
#[derive(Clone, Copy)]
enum Keys {
    Snake,
    Camel,
}

fn inflected(call: reqwest::RequestBuilder, keys: Keys) -> reqwest::RequestBuilder {
    match keys {
        Keys::Snake => call,
        Keys::Camel => call.header("x-key-inflection", "camel"),
    }
}

async fn list_as(app: &TestApp, browser: &reqwest::Client, keys: Keys) -> Value {
    let call = inflected(browser.get(app.url("/v0/intent_to_file")), keys);
    answer(call.send().await.unwrap()).await
}

async fn create_as(app: &TestApp, browser: &reqwest::Client, itf_type: &str, keys: Keys) -> Value {
    let url = app.url(&format!("/v0/intent_to_file/{itf_type}"));
    answer(inflected(browser.post(url), keys).send().await.unwrap()).await
}

async fn list(app: &TestApp, browser: &reqwest::Client) -> Value {
    list_as(app, browser, Keys::Snake).await
}

async fn create(app: &TestApp, browser: &reqwest::Client, itf_type: &str) -> Value {
    create_as(app, browser, itf_type, Keys::Snake).await
}

/// Pins the answer to a GET both ways: `name` and `name_camel`.
async fn snapshot_list(name: &str, app: &TestApp, browser: &reqwest::Client) {
    insta::assert_json_snapshot!(name, list(app, browser).await);
    insta::assert_json_snapshot!(
        format!("{name}_camel"),
        list_as(app, browser, Keys::Camel).await
    );
}

/// Pins the answer to a POST, then to the same POST made again with
/// camelCase keys asked for: each of these POSTs answers the same again.
async fn snapshot_create(name: &str, app: &TestApp, browser: &reqwest::Client, itf_type: &str) {
    insta::assert_json_snapshot!(name, create(app, browser, itf_type).await);
    insta::assert_json_snapshot!(
        format!("{name}_camel"),
        create_as(app, browser, itf_type, Keys::Camel).await
    );
}

/// Lists until the item's status is `status`; returns that answer.
async fn list_until(app: &TestApp, browser: &reqwest::Client, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let found = list(app, browser).await;
        if found["body"]["data"]["attributes"]["intent_to_file"][0]["status"] == status {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still {found} after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn spawn() -> (TestApp, TestDb) {
    let db = TestDb::sqlite();
    // A generous look-up budget: a loaded machine must not turn the
    // provider's answer into "no answer in time".
    let app = TestApp::spawn(
        TestConfig::on(&db.url())
            .retry_max_delay(Duration::from_secs(1))
            .lookup_budget(Duration::from_secs(10)),
    )
    .await;
    (app, db)
}

#[tokio::test]
async fn refusals() {
    let (app, _db) = spawn().await;
    let signed_out = client();
    snapshot_list("list_signed_out", &app, &signed_out).await;
    snapshot_create("create_signed_out", &app, &signed_out, "compensation").await;
    let browser = app.veteran("vet-no-itf").await;
    snapshot_create("create_unknown_type", &app, &browser, "burial").await;
    for (name, keys) in [
        ("create_foreign_origin", Keys::Snake),
        ("create_foreign_origin_camel", Keys::Camel),
    ] {
        let foreign = browser
            .post(app.url("/v0/intent_to_file/compensation"))
            .header("origin", "https://elsewhere.example");
        let foreign = inflected(foreign, keys).send().await.unwrap();
        insta::assert_json_snapshot!(name, answer(foreign).await);
    }
}

#[tokio::test]
async fn a_request_from_pending_to_active() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("vet-no-itf").await;
    app.set_mode(json!({"mode": "down"})).await;
    snapshot_list("list_pending_unchecked", &app, &browser).await;
    snapshot_create("create_pending", &app, &browser, "compensation").await;
    app.set_mode(json!({"mode": "up"})).await;
    insta::assert_json_snapshot!("list_active", list_until(&app, &browser, "active").await);
    insta::assert_json_snapshot!(
        "list_active_camel",
        list_as(&app, &browser, Keys::Camel).await
    );
    snapshot_create("create_active_from_record", &app, &browser, "compensation").await;
}

#[tokio::test]
async fn a_request_after_the_provider_said_none() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("load-7").await;
    snapshot_list("list_pending_after_none", &app, &browser).await;
}

#[tokio::test]
async fn an_active_itf_live_and_as_of_our_record() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("vet-active-itf").await;
    snapshot_list("list_active_live", &app, &browser).await;
    app.set_mode(json!({"mode": "down"})).await;
    snapshot_list("list_active_as_of", &app, &browser).await;
}

#[tokio::test]
async fn a_request_the_provider_refuses_needs_attention() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("vet-unknown").await;
    app.set_mode(json!({"mode": "down"})).await;
    create(&app, &browser, "compensation").await;
    app.set_mode(json!({"mode": "up"})).await;
    insta::assert_json_snapshot!(
        "list_needs_attention",
        list_until(&app, &browser, "needs_attention").await
    );
    insta::assert_json_snapshot!(
        "list_needs_attention_camel",
        list_as(&app, &browser, Keys::Camel).await
    );
    snapshot_create("create_needs_attention", &app, &browser, "compensation").await;
}

#[tokio::test]
async fn pension_answers_synchronously() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("vet-no-itf").await;
    snapshot_create("create_pension", &app, &browser, "pension").await;
    let rejected = app.veteran("vet-rejected").await;
    snapshot_create("create_pension_refused", &app, &rejected, "pension").await;
    app.set_mode(json!({"mode": "down"})).await;
    let other = app.veteran("load-8").await;
    snapshot_create("create_pension_provider_down", &app, &other, "pension").await;
}

#[tokio::test]
async fn our_database_down() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("vet-no-itf").await;
    let outage = app.take_database_down().await;
    assert_eq!(outage.status(), StatusCode::SEE_OTHER);
    snapshot_list("list_database_down", &app, &browser).await;
    snapshot_create("create_database_down", &app, &browser, "compensation").await;
}

/// The metric families, their types and help, and the label names of
/// their samples: what dashboards and alerts are written against.
#[tokio::test]
async fn metric_names() {
    let (app, _db) = spawn().await;
    let browser = app.veteran("vet-no-itf").await;
    list_until(&app, &browser, "active").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter_map(|line| {
            if line.starts_with('#') {
                return Some(line.to_owned());
            }
            let (name, rest) = line
                .split_once('{')
                .unwrap_or((line.split(' ').next()?, ""));
            let labels: Vec<&str> = rest
                .split(',')
                .filter_map(|pair| pair.split_once('=').map(|(key, _)| key))
                .collect();
            Some(format!("{name} {}", labels.join(",")))
        })
        .collect();
    lines.sort();
    lines.dedup();
    insta::assert_snapshot!("metric_names", lines.join("\n"));
}

/// Raw calls to the simulator, as the provider's documentation shows them.
struct SimCalls {
    rig: Rig,
    http: reqwest::Client,
    token: String,
}

impl SimCalls {
    fn url(&self, user: &str, itf_type: Option<&str>) -> String {
        let path = format!(
            "{}/services/claims/v2/veterans/{}/intent-to-file",
            self.rig.base,
            icn(user).expose()
        );
        itf_type.map_or(path.clone(), |itf_type| format!("{path}/{itf_type}"))
    }

    async fn get(&self, user: &str, token: &str) -> Value {
        let url = self.url(user, Some("compensation"));
        answer(self.http.get(url).bearer_auth(token).send().await.unwrap()).await
    }

    async fn post(&self, user: &str, body: reqwest::Body) -> Value {
        let url = self.url(user, None);
        let sent = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json");
        answer(sent.body(body).send().await.unwrap()).await
    }
}

fn create_body(itf_type: &str) -> reqwest::Body {
    json!({"data": {"type": "intent_to_file", "attributes": {"type": itf_type}}})
        .to_string()
        .into()
}

/// The simulator's answers, as the real provider's documentation gives
/// them, and its ledger.
#[tokio::test]
async fn simulator_bodies() {
    let rig = Rig::start(60, Duration::from_secs(5)).await;
    let http = reqwest::Client::new();
    let token_url = format!("{}/oauth2/claims/system/v1/token", rig.base);
    let refused_token = http
        .post(&token_url)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!("sim_token_refused", answer(refused_token).await);
    let token = rig.raw_token().await;
    let sim = SimCalls { rig, http, token };
    let token = sim.token.as_str();
    insta::assert_json_snapshot!("sim_get_active", sim.get("vet-active-itf", token).await);
    insta::assert_json_snapshot!("sim_get_none", sim.get("vet-no-itf", token).await);
    for (name, user, body) in [
        (
            "sim_post_created",
            "vet-no-itf",
            create_body("compensation"),
        ),
        (
            "sim_post_veteran_not_found",
            "vet-unknown",
            create_body("compensation"),
        ),
        (
            "sim_post_rejected",
            "vet-rejected",
            create_body("compensation"),
        ),
        ("sim_post_invalid", "load-3", create_body("burial")),
        ("sim_post_malformed", "load-3", "{".into()),
    ] {
        insta::assert_json_snapshot!(name, sim.post(user, body).await);
    }
    insta::assert_json_snapshot!("sim_bad_token", sim.get("vet-no-itf", "not-a-token").await);
    for (name, mode) in [
        ("sim_down", json!({"mode": "down"})),
        ("sim_maintenance", json!({"mode": "maintenance"})),
        (
            "sim_throttled",
            json!({"mode": "throttled", "retry_after_seconds": 30}),
        ),
    ] {
        sim.rig.set_mode(mode).await;
        insta::assert_json_snapshot!(name, sim.get("load-4", token).await);
    }
    sim.rig.set_mode(json!({"mode": "up"})).await;
    let mode = sim
        .http
        .get(format!("{}/mode", sim.rig.base))
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!("sim_mode", answer(mode).await);
    insta::assert_json_snapshot!("sim_ledger", redact(&sim.rig.ledger().await));
}
