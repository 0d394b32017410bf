//! Where ITFs are looked up and created: the Lighthouse Benefits Claims API,
//! or its simulator in development.

use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Reader, MILLISECONDS, SECONDS};
use crate::provider::{Timeouts, DEFAULT_SCOPES, TOKEN_PATH};

/// Where the provider simulator is mounted, in-process or standalone.
pub const SIMULATOR_ROOT: &str = "/_sim/lighthouse";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// The simulator of the Lighthouse API: in-process, or standalone at the
    /// given base URL.
    Simulator {
        base_url: Option<String>,
    },
    Lighthouse(LighthouseSettings),
}

impl Provider {
    pub fn is_simulator(&self) -> bool {
        matches!(self, Self::Simulator { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LighthouseSettings {
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub audience: String,
    /// Read and checked at start-up, not while settings are parsed.
    pub key_file: PathBuf,
    pub key_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub provider: Provider,
    pub timeouts: Timeouts,
    pub scopes: String,
    /// The longest `Retry-After` honoured: a provider cannot park a request
    /// for longer.
    pub retry_after_cap: Duration,
    pub circuit: CircuitSettings,
    /// The shared budget that paces provider calls; none when
    /// `LIGHTHOUSE_QUOTA_PER_MINUTE` is `unlimited`.
    pub budget: Option<BudgetSettings>,
}

/// The provider's quota, shared by every instance, and the part of it held
/// for calls a person is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    /// Calls a minute the provider allows our client, across instances.
    pub quota_per_minute: u32,
    /// The share of the quota, in percent, that the worker leaves to people.
    pub reserved_percent: u32,
}

/// The most calls a minute the budget can pace: it counts in milliseconds.
pub const MAX_QUOTA_PER_MINUTE: u32 = 60_000;

/// When the shared circuit opens, and how long it stays open before a probe.
#[derive(Debug, Clone, Copy)]
pub struct CircuitSettings {
    /// Transient failures in a row, across instances, that open it.
    pub failures: u32,
    pub cooldown: Duration,
}

pub fn read(reader: &mut Reader<'_>, production: bool) -> Option<ProviderSettings> {
    let defaults = Timeouts::default();
    let timeouts = Timeouts {
        connect: reader.duration(
            "LIGHTHOUSE_CONNECT_TIMEOUT_MS",
            defaults.connect,
            MILLISECONDS,
            1..=600_000,
        ),
        total: reader.duration(
            "LIGHTHOUSE_TIMEOUT_MS",
            defaults.total,
            MILLISECONDS,
            1..=600_000,
        ),
    };
    let scopes = reader
        .text("LIGHTHOUSE_SCOPES")
        .unwrap_or_else(|| DEFAULT_SCOPES.to_owned());
    let retry_after_cap = reader.duration(
        "LIGHTHOUSE_RETRY_AFTER_MAX",
        Duration::from_secs(900),
        SECONDS,
        1..=86_400,
    );
    let circuit = CircuitSettings {
        failures: reader.parsed(
            "ITF_CIRCUIT_FAILURES",
            5,
            "use a whole number from 1 to 1000000",
            |text| text.parse().ok().filter(|n| (1..=1_000_000).contains(n)),
        ),
        cooldown: reader.duration(
            "ITF_CIRCUIT_COOLDOWN_SECONDS",
            Duration::from_secs(30),
            SECONDS,
            1..=3600,
        ),
    };
    let budget = budget(reader);
    Some(ProviderSettings {
        provider: provider(reader, production)?,
        timeouts,
        scopes,
        retry_after_cap,
        circuit,
        budget,
    })
}

fn budget(reader: &mut Reader<'_>) -> Option<BudgetSettings> {
    let quota_per_minute = reader.parsed(
        "LIGHTHOUSE_QUOTA_PER_MINUTE",
        Some(60),
        "use a whole number from 3 to 60000, the calls a minute Lighthouse allows our client, \
         or `unlimited` where no quota was agreed",
        |text| match text {
            "unlimited" => Some(None),
            _ => text
                .parse()
                .ok()
                .filter(|n| (3..=MAX_QUOTA_PER_MINUTE).contains(n))
                .map(Some),
        },
    );
    let reserved_percent = reader.parsed(
        "LIGHTHOUSE_QUOTA_RESERVED_PERCENT",
        10,
        "use a whole number from 1 to 90",
        |text| text.parse().ok().filter(|n| (1..=90).contains(n)),
    );
    quota_per_minute.map(|quota_per_minute| BudgetSettings {
        quota_per_minute,
        reserved_percent,
    })
}

fn provider(reader: &mut Reader<'_>, production: bool) -> Option<Provider> {
    const BASE: &str = "LIGHTHOUSE_BASE_URL";
    let base_url = reader.text(BASE);
    if let Some(url) = &base_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            reader.problem(BASE, format_args!("{url:?} is not an http(s) URL"));
            return None;
        }
    }
    let simulator = base_url
        .as_deref()
        .is_none_or(|url| url.trim_end_matches('/').ends_with(SIMULATOR_ROOT));
    if simulator && !production {
        return Some(Provider::Simulator { base_url });
    }
    if simulator {
        reader.problem(
            BASE,
            if base_url.is_none() {
                "missing; production needs the Lighthouse Benefits Claims API, \
                 such as https://api.va.gov"
            } else {
                "points at the simulator; production needs the Lighthouse Benefits Claims API"
            },
        );
    }
    let client_id = reader.required("LIGHTHOUSE_CLIENT_ID", "the client id Lighthouse issued");
    let audience = reader.required(
        "LIGHTHOUSE_AUDIENCE",
        "the token audience URL Lighthouse gave with the client id",
    );
    let key_file = reader.required(
        "LIGHTHOUSE_KEY_FILE",
        "the path of the PEM private key registered with Lighthouse",
    );
    let base_url = base_url?;
    let token_url = reader
        .text("LIGHTHOUSE_TOKEN_URL")
        .unwrap_or_else(|| format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/')));
    Some(Provider::Lighthouse(LighthouseSettings {
        base_url,
        token_url,
        client_id: client_id?,
        audience: audience?,
        key_file: key_file?.into(),
        key_id: reader.text("LIGHTHOUSE_KEY_ID"),
    }))
}

/// The private key `LIGHTHOUSE_KEY_FILE` names, read and checked; a problem
/// is worded as a settings problem.
pub fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let pem =
        std::fs::read(path).map_err(|_| format!("LIGHTHOUSE_KEY_FILE: cannot read {path:?}"))?;
    jsonwebtoken::EncodingKey::from_rsa_pem(&pem)
        .map_err(|_| format!("LIGHTHOUSE_KEY_FILE: {path:?} is not an RSA private key in PEM"))?;
    Ok(pem)
}
