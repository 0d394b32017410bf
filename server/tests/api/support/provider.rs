//! A standalone simulator on port 0 and a client configured to reach it, the
//! way an app pointed at a standalone simulator is.

use std::time::Duration;

use itf_app::development::test_veteran;
use itf_app::domain::{Icn, ItfType};
use itf_server::development::DevelopmentKey;
use itf_server::provider::{
    Fence, LighthouseClient, Outcome, RateLimits, DEFAULT_SCOPES, TOKEN_PATH,
};
use itf_server::StandaloneSimulator;
use serde_json::{json, Value};

use super::{data_dir, TestConfig};

/// No lease and no budget: a test's own call to the provider.
pub struct Unfenced;

#[async_trait::async_trait]
impl Fence for Unfenced {
    async fn admit(&self, _route: &'static str) -> Option<std::time::Instant> {
        Some(std::time::Instant::now() + Duration::from_secs(3600))
    }

    async fn answered(&self, _limits: RateLimits) {}
}

pub struct Rig {
    pub base: String,
    pub client: LighthouseClient,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Rig {
    /// A fresh simulator with the given quota, and a client whose calls
    /// time out after `timeout`.
    pub async fn start(quota_per_minute: u32, timeout: Duration) -> Self {
        let simulator = StandaloneSimulator::build(
            "127.0.0.1:0".parse().unwrap(),
            quota_per_minute,
            data_dir(),
        )
        .await
        .expect("the simulator starts");
        let base = format!("http://{}/_sim/lighthouse", simulator.local_addr());
        let server = tokio::spawn(async move {
            simulator
                .run(std::future::pending())
                .await
                .expect("the simulator serves");
        });
        let config = TestConfig::on("sqlite::memory:")
            .standalone_simulator(&base)
            .provider_timeout(timeout)
            .build();
        let development = itf_server::development::Development::assemble(&config)
            .expect("the development key")
            .expect("development parts against the simulator");
        let settings = development.client_settings(&config, "127.0.0.1:0".parse().unwrap());
        Self {
            client: LighthouseClient::new(&settings).expect("the client builds"),
            base,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// The client's GET, made without budget or lease.
    pub async fn get(&self, icn: &Icn, itf_type: ItfType) -> Outcome {
        let call = self.client.active_itf(icn, itf_type, &Unfenced).await;
        call.expect("nothing fences it").outcome
    }

    /// The client's POST, made without budget or lease.
    pub async fn post(&self, icn: &Icn, itf_type: ItfType, claimant_ssn: Option<&str>) -> Outcome {
        let call = self
            .client
            .create_itf(icn, itf_type, claimant_ssn, &Unfenced)
            .await;
        call.expect("nothing fences it").outcome
    }

    pub async fn up() -> Self {
        Self::start(10_000, Duration::from_secs(5)).await
    }

    pub async fn set_mode(&self, mode: Value) {
        let response = self
            .http
            .put(format!("{}/mode", self.base))
            .json(&mode)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "mode {mode} refused");
    }

    pub async fn ledger(&self) -> Value {
        self.http
            .get(format!("{}/ledger", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The ledger's entry for one veteran and ITF type.
    pub async fn entry(&self, user: &str, itf_type: &str) -> Value {
        self.ledger().await["veterans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["user"] == user && v["type"] == itf_type)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub async fn token_requests(&self) -> u64 {
        self.ledger().await["token_requests"].as_u64().unwrap()
    }

    /// An access token got the way the client gets one, for raw calls.
    pub async fn raw_token(&self) -> String {
        let key = DevelopmentKey::load_or_create(data_dir()).unwrap();
        let token_url = format!("{}{TOKEN_PATH}", self.base);
        let now = chrono::Utc::now().timestamp();
        let assertion = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &json!({ "iss": "raw", "sub": "raw", "aud": token_url, "iat": now, "exp": now + 300 }),
            &jsonwebtoken::EncodingKey::from_rsa_pem(&key.private_pem).unwrap(),
        )
        .unwrap();
        let body: Value = self
            .http
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("scope", DEFAULT_SCOPES),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn icn(user: &str) -> Icn {
    test_veteran(user).expect("a test user").icn
}
