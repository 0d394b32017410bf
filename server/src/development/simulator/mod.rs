//! A simulator of the Lighthouse Benefits Claims API v2's ITF endpoints and
//! its token service, with fault modes, for development, tests and UX
//! review. Its root is `/_sim/lighthouse` wherever it runs: inside the app,
//! or standalone (`itf-async simulator`), so that its state can outlive app
//! restarts and be shared by several instances.

pub mod keys;
mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State as Extract};
use axum::http::header::{AUTHORIZATION, HOST, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::Utc;
use itf_app::development::{test_user_for_icn, test_veteran};
use itf_app::domain::{Icn, ItfType};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

pub use keys::{DevelopmentKey, KeyError};
pub use state::{ModeKind, ModeUpdate};
use state::{Quota, SetStanding, Standing};

use crate::provider::wire::{CreateBody, ErrorsBody, TokenBody};
use crate::provider::{API_PATH, TOKEN_PATH};

pub const DEFAULT_QUOTA_PER_MINUTE: u32 = 60;

pub struct Simulator {
    state: Mutex<state::State>,
    public_key: DecodingKey,
    /// While set, ITF calls are held after their work, before they answer.
    paused: tokio::sync::watch::Sender<bool>,
}

impl Simulator {
    pub fn new(key: &DevelopmentKey, quota_per_minute: u32) -> Result<Self, KeyError> {
        Ok(Self {
            state: Mutex::new(state::State::seeded(quota_per_minute)),
            paused: tokio::sync::watch::Sender::new(false),
            public_key: DecodingKey::from_rsa_pem(&key.public_pem).map_err(|_| {
                KeyError::Malformed {
                    path: "the public key".into(),
                }
            })?,
        })
    }

    /// Switches the mode, as `PUT /mode` does.
    pub fn set_mode(&self, update: ModeUpdate) -> Result<(), &'static str> {
        self.state().mode.apply(update)
    }

    /// The current mode's name, as `GET /mode` shows it.
    pub fn mode_name(&self) -> String {
        serde_json::to_value(self.state().mode.mode)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    fn state(&self) -> MutexGuard<'_, state::State> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The simulator's routes, relative to its root.
pub fn router<S>(simulator: Arc<Simulator>) -> Router<S> {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .route(
            &format!("{API_PATH}/veterans/{{icn}}/intent-to-file/{{type}}"),
            get(get_itf),
        )
        .route(
            &format!("{API_PATH}/veterans/{{icn}}/intent-to-file"),
            post(post_itf),
        )
        .route("/mode", get(get_mode).put(put_mode))
        .route("/ledger", get(get_ledger).delete(delete_ledger))
        .route("/tokens", axum::routing::delete(revoke_tokens))
        .route("/pause", axum::routing::put(put_pause))
        .route("/veterans/{user}", axum::routing::delete(reset_veteran))
        .route(
            "/veterans/{user}/standing",
            axum::routing::put(put_standing),
        )
        .route("/veterans/{user}/itfs", post(post_out_of_band))
        .with_state(simulator)
}

type Sim = Extract<Arc<Simulator>>;

fn errors(status: StatusCode, title: &str, detail: &str) -> Response {
    (status, Json(ErrorsBody::one(title, detail))).into_response()
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
}

async fn token(
    Extract(sim): Sim,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    sim.state().count_token_request();
    let refuse = |description: &str| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client", "error_description": description })),
        )
            .into_response()
    };
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials"
        || field("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    {
        return refuse("grant_type and client_assertion_type must be the client-credentials ones");
    }
    // The audience is this token endpoint's own URL, as the caller reached it.
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let audience = format!("http://{host}{}", uri.path());
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<AssertionClaims>(
        field("client_assertion"),
        &sim.public_key,
        &validation,
    ) {
        Ok(decoded) => decoded.claims,
        Err(error) => return refuse(&format!("client_assertion rejected: {error}")),
    };
    if claims.iss != claims.sub {
        return refuse("iss and sub must both be the client id");
    }
    let access_token = uuid::Uuid::new_v4().simple().to_string();
    let mut state = sim.state();
    let expires_in = state.mode.token_ttl_seconds;
    state.issue_token(access_token.clone(), claims.iss);
    Json(TokenBody {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in,
        scope: field("scope").to_owned(),
    })
    .into_response()
}

async fn get_itf(
    Extract(sim): Sim,
    Path((icn, itf_type)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let user = user_of(&icn);
    let itf_type = ItfType::parse(&itf_type).ok();
    let response = match itf_type {
        None => errors(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "type must be compensation, pension or survivor",
        ),
        Some(itf_type) => {
            answer(&sim, &headers, Call::Get, |state| {
                let found = user
                    .as_deref()
                    .and_then(|user| state.active(user, itf_type, Utc::now()));
                match found {
                    Some(itf) => Json(itf.body(itf_type)).into_response(),
                    None => errors(
                        StatusCode::NOT_FOUND,
                        "Resource not found",
                        &format!("No active {} intent to file found.", itf_type.as_str()),
                    ),
                }
            })
            .await
        }
    };
    let ledger_user = user.unwrap_or_else(|| "unknown".to_owned());
    sim.state()
        .record("GET", &ledger_user, itf_type, response.status().as_u16());
    response
}

async fn post_itf(
    Extract(sim): Sim,
    Path(icn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = user_of(&icn);
    let parsed = parse_create(&body);
    let itf_type = parsed.as_ref().ok().copied();
    let response = match parsed {
        Err(refusal) => refusal.into_response(),
        Ok(itf_type) => {
            answer(&sim, &headers, Call::Post, |state| {
                match state.standing(user.clone()) {
                    Standing::Known(user) => {
                        let at = Utc::now()
                            + chrono::Duration::seconds(state.mode.creation_offset_seconds);
                        Json(state.create(&user, itf_type, at).body(itf_type)).into_response()
                    }
                    Standing::Rejected => errors(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Unprocessable Entity",
                        "The veteran's record could not be validated for an Intent to File.",
                    ),
                    Standing::Unknown => errors(
                        StatusCode::NOT_FOUND,
                        "Resource not found",
                        "Veteran ID not found",
                    ),
                }
            })
            .await
        }
    };
    let ledger_user = user.unwrap_or_else(|| "unknown".to_owned());
    sim.state()
        .record("POST", &ledger_user, itf_type, response.status().as_u16());
    response
}

/// The test user behind an ICN in a path; the ledger never shows the ICN.
fn user_of(icn: &str) -> Option<String> {
    Icn::parse(icn).ok().and_then(|icn| test_user_for_icn(&icn))
}

/// Why the API refuses a create body: 400 for one that is not JSON, 422
/// for one whose attributes are wrong.
enum CreateRefusal {
    Malformed,
    Invalid(&'static str),
}

impl IntoResponse for CreateRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::Malformed => errors(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "The request body is not valid JSON.",
            ),
            Self::Invalid(detail) => errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable Entity",
                detail,
            ),
        }
    }
}

/// The ITF type a create body asks for.
fn parse_create(body: &[u8]) -> Result<ItfType, CreateRefusal> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| CreateRefusal::Malformed)?;
    let create: CreateBody = serde_json::from_value(value).map_err(|_| {
        CreateRefusal::Invalid("data.attributes.type must be compensation, pension or survivor")
    })?;
    let attributes = create.data.attributes;
    let ssn_ok = attributes
        .claimant_ssn
        .as_deref()
        .is_some_and(|ssn| ssn.len() == 9 && ssn.bytes().all(|b| b.is_ascii_digit()));
    if attributes.itf_type == ItfType::Survivor && !ssn_ok {
        return Err(CreateRefusal::Invalid(
            "claimantSsn (nine digits) is required for a survivor intent to file",
        ));
    }
    Ok(attributes.itf_type)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Get,
    Post,
}

/// What the bearer token and the quota make of a call.
enum Admission {
    /// Let through, in this mode, with these rate-limit figures.
    Admitted {
        mode: state::Mode,
        limit: u32,
        remaining: u32,
    },
    Refused(Response),
}

fn admit(sim: &Simulator, headers: &HeaderMap) -> Admission {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let mut state = sim.state();
    let client = token.and_then(|t| state.client_of(t));
    let Some(client) = client.filter(|_| state.mode.mode != ModeKind::AuthRejected) else {
        return Admission::Refused(errors(
            StatusCode::UNAUTHORIZED,
            "Not authorized",
            "Invalid or expired token.",
        ));
    };
    match state.take_quota(&client) {
        Quota::Spent { limit, retry_after } => {
            let mut response = errors(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "API rate limit exceeded",
            );
            rate_headers(&mut response, limit, 0);
            set_retry_after(&mut response, retry_after);
            Admission::Refused(response)
        }
        Quota::Allowed { limit, remaining } => Admission::Admitted {
            mode: state.mode,
            limit,
            remaining,
        },
    }
}

/// Authentication, the quota and the mode, then `normal` as the API would
/// answer when all is well.
async fn answer(
    sim: &Simulator,
    headers: &HeaderMap,
    call: Call,
    normal: impl FnOnce(&mut state::State) -> Response,
) -> Response {
    let (mode, limit, remaining) = match admit(sim, headers) {
        Admission::Admitted {
            mode,
            limit,
            remaining,
        } => (mode, limit, remaining),
        Admission::Refused(refusal) => return refusal,
    };
    let mut response = match mode.mode {
        ModeKind::Down => errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "The Benefits Claims API is not available.",
        ),
        ModeKind::Maintenance => errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "The Benefits Claims API is down for scheduled maintenance. Try again later.",
        ),
        ModeKind::Throttled => {
            let mut response = errors(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "API rate limit exceeded",
            );
            set_retry_after(&mut response, Duration::from_secs(mode.retry_after_seconds));
            response
        }
        ModeKind::Slow if mode.create_on_receipt => {
            let response = normal(&mut sim.state());
            tokio::time::sleep(Duration::from_millis(mode.delay_ms)).await;
            response
        }
        ModeKind::Slow => {
            tokio::time::sleep(Duration::from_millis(mode.delay_ms)).await;
            normal(&mut sim.state())
        }
        ModeKind::Flaky => flaky(mode.failure_rate, call, || normal(&mut sim.state())),
        ModeKind::Up | ModeKind::AuthRejected => normal(&mut sim.state()),
    };
    rate_headers(&mut response, limit, remaining);
    let mut paused = sim.paused.subscribe();
    while *paused.borrow_and_update() {
        if paused.changed().await.is_err() {
            break;
        }
    }
    response
}

/// Fails at `failure_rate` with a 5xx; half of the failing POSTs fail after
/// the work was done.
fn flaky(failure_rate: f64, call: Call, normal: impl FnOnce() -> Response) -> Response {
    let (fails, status, after) = {
        let mut rng = rand::thread_rng();
        let status = [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::GATEWAY_TIMEOUT,
        ][rng.gen_range(0..3)];
        (rng.gen_bool(failure_rate), status, rng.gen_bool(0.5))
    };
    if !fails {
        return normal();
    }
    if call == Call::Post && after {
        // The lost response: the work was done, the answer is not.
        normal();
    }
    errors(
        status,
        "Upstream error",
        "The request could not be completed.",
    )
}

fn rate_headers(response: &mut Response, limit: u32, remaining: u32) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit-minute", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining-minute", HeaderValue::from(remaining));
}

fn set_retry_after(response: &mut Response, after: Duration) {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
}

async fn get_mode(Extract(sim): Sim) -> Response {
    Json(sim.state().mode).into_response()
}

async fn put_mode(Extract(sim): Sim, body: Bytes) -> Response {
    let update: ModeUpdate = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            return errors(
                StatusCode::BAD_REQUEST,
                "Unknown mode",
                &format!(
                    "{error}. Send {{\"mode\":\"up|down|maintenance|slow|flaky|throttled|auth_rejected\"}} \
                     with optional failure_rate, delay_ms, retry_after_seconds, quota_per_minute, token_ttl_seconds, create_on_receipt, creation_offset_seconds."
                ),
            )
        }
    };
    let mut state = sim.state();
    match state.mode.apply(update) {
        Ok(()) => {
            tracing::info!(mode = ?state.mode.mode, "simulator mode changed");
            Json(state.mode).into_response()
        }
        Err(problem) => errors(StatusCode::BAD_REQUEST, "Invalid mode parameter", problem),
    }
}

/// The refusal of a user who is not one of the made-up test users: only
/// they exist here.
fn not_a_test_user(user: &str) -> Option<Response> {
    test_veteran(user).is_err().then(|| {
        errors(
            StatusCode::NOT_FOUND,
            "Unknown test user",
            "Name a test user, such as vet-no-itf or load-1.",
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StandingUpdate {
    standing: SetStanding,
}

/// `PUT /veterans/{user}/standing`: the provider knows the user, does not,
/// or rejects their ITFs, from now on.
async fn put_standing(Extract(sim): Sim, Path(user): Path<String>, body: Bytes) -> Response {
    if let Some(refused) = not_a_test_user(&user) {
        return refused;
    }
    let Ok(update) = serde_json::from_slice::<StandingUpdate>(&body) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "Unknown standing",
            "Send {\"standing\":\"known|unknown|rejected\"}.",
        );
    };
    sim.state().set_standing(&user, update.standing);
    tracing::info!(%user, standing = ?update.standing, "simulator standing changed");
    Json(json!({"user": user, "standing": update.standing})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfBand {
    #[serde(rename = "type")]
    itf_type: ItfType,
}

/// `POST /veterans/{user}/itfs`: an active ITF made for the user some other
/// way (by phone, say), dated now.
async fn post_out_of_band(Extract(sim): Sim, Path(user): Path<String>, body: Bytes) -> Response {
    if let Some(refused) = not_a_test_user(&user) {
        return refused;
    }
    let Ok(made) = serde_json::from_slice::<OutOfBand>(&body) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "Unknown ITF type",
            "Send {\"type\":\"compensation|pension|survivor\"}.",
        );
    };
    let itf = sim.state().create(&user, made.itf_type, Utc::now());
    (StatusCode::CREATED, Json(itf.body(made.itf_type))).into_response()
}

/// `DELETE /veterans/{user}`: forgets the user's ITFs, calls and standing.
async fn reset_veteran(Extract(sim): Sim, Path(user): Path<String>) -> Response {
    if let Some(refused) = not_a_test_user(&user) {
        return refused;
    }
    sim.state().reset(&user);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_ledger(Extract(sim): Sim) -> Response {
    Json(sim.state().ledger()).into_response()
}

async fn delete_ledger(Extract(sim): Sim) -> StatusCode {
    sim.state().clear_ledger();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Pause {
    paused: bool,
}

/// `PUT /pause`: `{"paused": true}` holds every ITF call, its work done,
/// until `{"paused": false}`: requests in flight, for tests.
async fn put_pause(Extract(sim): Sim, body: Bytes) -> Response {
    let Ok(pause) = serde_json::from_slice::<Pause>(&body) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "Not a pause",
            "Send {\"paused\":true} or {\"paused\":false}.",
        );
    };
    sim.paused.send_replace(pause.paused);
    StatusCode::NO_CONTENT.into_response()
}

/// Revokes every access token issued so far, as when credentials rotate.
async fn revoke_tokens(Extract(sim): Sim) -> StatusCode {
    sim.state().revoke_tokens();
    StatusCode::NO_CONTENT
}
