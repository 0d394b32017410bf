//! Whatever the provider answers, a turn neither panics nor parks a request
//! for ever, and only an active, unexpired ITF of the type asked for counts
//! as a confirmation. A provider of odd answers on loopback stands in for
//! Lighthouse.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use itf_app::domain::{Icn, ItfType};
use itf_server::budget::{Budget, ForPeople};
use itf_server::config::BudgetSettings;
use itf_server::development::Development;
use itf_server::provider::{LighthouseClient, Outcome};
use itf_server::store::{BudgetAnswer, BudgetClaim, Store};
use itf_server::worker::retry_delay;
use serde_json::{json, Value};

use crate::support::provider::{icn, Unfenced};
use crate::support::{TestConfig, TestDb};

/// What the odd provider answers to every ITF call.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    /// `X-RateLimit-Remaining-Minute`.
    remaining: Option<u32>,
    body: Value,
}

struct OddProvider {
    base: String,
    answer: Arc<Mutex<Answer>>,
    token_requests: Arc<Mutex<u32>>,
    server: tokio::task::JoinHandle<()>,
}

impl OddProvider {
    /// Its token service grants a token "for ever" (`expires_in` of
    /// u64::MAX).
    async fn start() -> Self {
        let answer = Arc::new(Mutex::new(Answer {
            status: StatusCode::OK,
            retry_after: None,
            remaining: None,
            body: json!({}),
        }));
        let token_requests = Arc::new(Mutex::new(0));
        let counted = token_requests.clone();
        let served = answer.clone();
        let router = Router::new()
            .route(
                "/oauth2/claims/system/v1/token",
                post(move || {
                    *counted.lock().unwrap() += 1;
                    async {
                        Json(json!({
                            "access_token": "odd-token",
                            "token_type": "Bearer",
                            "expires_in": u64::MAX,
                        }))
                    }
                }),
            )
            .route(
                "/services/claims/v2/veterans/{icn}/intent-to-file/{type}",
                get(move || {
                    let answer = served.lock().unwrap().clone();
                    async move {
                        let mut headers = HeaderMap::new();
                        if let Some(after) = &answer.retry_after {
                            headers.insert("retry-after", HeaderValue::from_str(after).unwrap());
                        }
                        if let Some(remaining) = answer.remaining {
                            headers.insert("x-ratelimit-remaining-minute", remaining.into());
                        }
                        (answer.status, headers, Json(answer.body))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            base,
            answer,
            token_requests,
            server,
        }
    }

    fn answers(&self, status: StatusCode, retry_after: Option<&str>, body: Value) {
        *self.answer.lock().unwrap() = Answer {
            status,
            retry_after: retry_after.map(str::to_owned),
            remaining: None,
            body,
        };
    }

    /// Answers with `X-RateLimit-Remaining-Minute: remaining`.
    fn answers_with_remaining(&self, status: StatusCode, remaining: u32, body: Value) {
        *self.answer.lock().unwrap() = Answer {
            status,
            retry_after: None,
            remaining: Some(remaining),
            body,
        };
    }

    fn client(&self) -> LighthouseClient {
        let config = TestConfig::on("sqlite::memory:")
            .standalone_simulator(&self.base)
            .build();
        let development = Development::assemble(&config).unwrap().unwrap();
        LighthouseClient::new(&development.client_settings(&config, "127.0.0.1:0".parse().unwrap()))
            .unwrap()
    }
}

impl Drop for OddProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn itf(status: &str, itf_type: &str, expires_in_days: i64) -> Value {
    let now = chrono::Utc::now();
    json!({"data": {"id": "1", "type": "intent_to_file", "attributes": {
        "creationDate": (now - chrono::Duration::days(1)).to_rfc3339(),
        "expirationDate": (now + chrono::Duration::days(expires_in_days)).to_rfc3339(),
        "type": itf_type,
        "status": status,
    }}})
}

async fn ask(client: &LighthouseClient, vet: &Icn) -> Outcome {
    let call = client
        .active_itf(vet, ItfType::Compensation, &Unfenced)
        .await;
    call.expect("nothing fences it").outcome
}

const RETRY_AFTER_CAP: Duration = Duration::from_secs(900);

#[tokio::test]
async fn any_retry_after_gives_a_bounded_delay_and_a_token_for_ever_is_renewed() {
    let provider = OddProvider::start().await;
    let client = provider.client();
    let vet = icn("vet-no-itf");
    let in_a_minute = (chrono::Utc::now() + chrono::Duration::seconds(60)).to_rfc2822();
    for (sent, expected) in [
        ("18446744073709551615", Some(RETRY_AFTER_CAP)),
        ("-1", None),
        (in_a_minute.as_str(), Some(Duration::from_secs(60))),
        ("whenever you like", None),
    ] {
        provider.answers(StatusCode::SERVICE_UNAVAILABLE, Some(sent), json!({}));
        let Outcome::Transient { retry_after } = ask(&client, &vet).await else {
            panic!("{sent}: not transient");
        };
        match (retry_after, expected) {
            (Some(got), Some(want)) => assert!(
                got <= want && got + Duration::from_secs(5) >= want,
                "{sent}: {got:?}, wanted about {want:?}"
            ),
            (got, want) => assert_eq!(got, want, "{sent}"),
        }
        let delay = retry_delay(1, Duration::from_secs(30), retry_after);
        assert!(delay <= RETRY_AFTER_CAP, "{sent}: {delay:?}");
    }
    // The token granted "for ever" is held to an hour, not overflowed.
    assert_eq!(*provider.token_requests.lock().unwrap(), 1);
}

#[tokio::test]
async fn only_an_active_unexpired_itf_of_the_type_asked_confirms() {
    let provider = OddProvider::start().await;
    let client = provider.client();
    let vet = icn("vet-no-itf");
    for (what, body) in [
        ("expired status", itf("expired", "compensation", 300)),
        ("past its expiration", itf("active", "compensation", -1)),
        ("another type", itf("active", "pension", 300)),
    ] {
        provider.answers(StatusCode::OK, None, body);
        let outcome = ask(&client, &vet).await;
        assert_eq!(outcome, Outcome::Transient { retry_after: None }, "{what}");
    }
    provider.answers(StatusCode::OK, None, itf("active", "compensation", 300));
    assert!(matches!(ask(&client, &vet).await, Outcome::Active(_)));
    for status in [StatusCode::REQUEST_TIMEOUT, StatusCode::CONFLICT] {
        provider.answers(status, None, json!({"errors": []}));
        assert_eq!(
            ask(&client, &vet).await,
            Outcome::Transient { retry_after: None },
            "{status}"
        );
    }
}

/// A claim of the worker's at 60 calls a minute, 10% held for people.
const WORKER: BudgetClaim = BudgetClaim {
    interval: Duration::from_millis(1112),
    tolerance: Duration::ZERO,
};

async fn worker_wait(store: &Arc<dyn Store>) -> Duration {
    match store.take_budget(WORKER).await.unwrap() {
        BudgetAnswer::Wait(wait) => wait,
        BudgetAnswer::Granted => panic!("the worker was let through"),
    }
}

#[tokio::test]
async fn the_providers_quota_answers_hold_the_shared_budget_back() {
    let provider = OddProvider::start().await;
    let client = provider.client();
    let db = TestDb::sqlite();
    let store = db.store().await;
    let settings = BudgetSettings {
        quota_per_minute: 60,
        reserved_percent: 10,
    };
    let people = ForPeople(Arc::new(Budget::new(store.clone(), Some(settings))));
    let vet = icn("vet-no-itf");

    // A 429 holds the worker for its Retry-After.
    provider.answers(
        StatusCode::TOO_MANY_REQUESTS,
        Some("3"),
        json!({"errors": []}),
    );
    let call = client
        .active_itf(&vet, ItfType::Compensation, &people)
        .await;
    assert!(matches!(call.unwrap().outcome, Outcome::Transient { .. }));
    let wait = worker_wait(&store).await;
    assert!(
        wait > Duration::from_millis(2500) && wait <= Duration::from_secs(3),
        "{wait:?}"
    );

    // No call left in the provider's minute: people may take none, the
    // worker waits for the reserve to come back (six intervals).
    provider.answers_with_remaining(StatusCode::NOT_FOUND, 0, json!({"errors": []}));
    let call = client
        .active_itf(&vet, ItfType::Compensation, &people)
        .await;
    assert_eq!(call.unwrap().outcome, Outcome::NoneActive);
    let wait = worker_wait(&store).await;
    assert!(
        wait > Duration::from_secs(6) && wait <= Duration::from_millis(6672),
        "{wait:?}"
    );
    assert!(
        client
            .active_itf(&vet, ItfType::Compensation, &people)
            .await
            .is_err(),
        "a person's call was let through with no call left"
    );
}
