//! Settings from the environment, validated once at start-up.

use std::env;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::provider::{ClientSettings, Timeouts, DEFAULT_SCOPES, TOKEN_PATH};
use crate::simulator::{DevelopmentKey, KeyError};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/itf-async.db";
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
pub const DEFAULT_DATA_DIR: &str = "data";
/// The client id the app uses with the simulator.
pub const SIMULATOR_CLIENT_ID: &str = "itf-async-development";
/// Where the provider simulator is mounted, in-process or standalone.
pub const SIMULATOR_ROOT: &str = "/_sim/lighthouse";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Production,
}

/// Which parts of the service this instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    All,
    Web,
    Worker,
}

impl Role {
    pub fn serves_pages(self) -> bool {
        matches!(self, Self::All | Self::Web)
    }

    pub fn runs_worker(self) -> bool {
        matches!(self, Self::All | Self::Worker)
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl fmt::Debug for DatabaseUrl {
    // The URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("Postgres(<url>)"),
            Self::Sqlite(url) => write!(f, "Sqlite({url})"),
        }
    }
}

/// Where ITFs are looked up and created.
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
    pub key_file: PathBuf,
    pub key_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub profile: Profile,
    pub role: Role,
    pub database: DatabaseUrl,
    pub site_addr: SocketAddr,
    /// The folder the build wrote the stylesheet and WebAssembly into.
    pub site_root: String,
    /// Where the SQLite database (by default) and the development key live.
    pub data_dir: PathBuf,
    pub provider: Provider,
    pub provider_timeouts: Timeouts,
    pub provider_scopes: String,
    /// How long a look-up waits for the provider before answering from our
    /// records or recording a request.
    pub lookup_budget: Duration,
    pub worker_concurrency: usize,
    /// Longest wait between two attempts, unless the provider asks for more.
    pub retry_max_delay: Duration,
    /// After how long a pending request is shown as delayed.
    pub delayed_after: Duration,
    /// Where "Start your application" leads, when not this app's own
    /// placeholder page.
    pub application_url: Option<String>,
}

/// Every problem with the settings, each naming the setting.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "itf-async cannot start; fix these settings and start it again:"
        )?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();

        let profile = match lookup("ITF_PROFILE").as_deref() {
            None | Some("development") => Profile::Development,
            Some("production") => Profile::Production,
            Some(other) => {
                problems.push(format!(
                    "ITF_PROFILE: {other:?} is not a profile; use development or production"
                ));
                Profile::Development
            }
        };
        let production = profile == Profile::Production;

        let role = match lookup("ITF_ROLE").as_deref() {
            None | Some("all") => Role::All,
            Some("web") => Role::Web,
            Some("worker") => Role::Worker,
            Some(other) => {
                problems.push(format!(
                    "ITF_ROLE: {other:?} is not a role; use all, web or worker"
                ));
                Role::All
            }
        };

        let database = match lookup("DATABASE_URL") {
            None if production => {
                problems.push(
                    "DATABASE_URL: missing; production needs a PostgreSQL URL such as \
                     postgres://user@host:5432/itf_async"
                        .to_owned(),
                );
                None
            }
            None => Some(DatabaseUrl::Sqlite(DEFAULT_DATABASE_URL.to_owned())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(DatabaseUrl::Postgres(url))
            }
            Some(url) if url.starts_with("sqlite:") => {
                if production {
                    problems.push(
                        "DATABASE_URL: production needs PostgreSQL; SQLite serves one node only"
                            .to_owned(),
                    );
                }
                Some(DatabaseUrl::Sqlite(url))
            }
            Some(_) => {
                problems.push("DATABASE_URL: use a postgres:// or sqlite:// URL".to_owned());
                None
            }
        };

        let site_addr_text =
            lookup("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_SITE_ADDR.to_owned());
        let site_addr = site_addr_text.parse().map_err(|_| {
            problems.push(format!(
                "LEPTOS_SITE_ADDR: {site_addr_text:?} is not an address; use HOST:PORT such as 127.0.0.1:3000"
            ))
        });

        let site_root = lookup("LEPTOS_SITE_ROOT").unwrap_or_else(|| DEFAULT_SITE_ROOT.to_owned());
        let data_dir =
            PathBuf::from(lookup("ITF_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()));
        let provider = provider_from(&lookup, production, &mut problems);
        let defaults = Timeouts::default();
        let provider_timeouts = Timeouts {
            connect: milliseconds(
                &lookup,
                "LIGHTHOUSE_CONNECT_TIMEOUT_MS",
                defaults.connect,
                &mut problems,
            ),
            total: milliseconds(
                &lookup,
                "LIGHTHOUSE_TIMEOUT_MS",
                defaults.total,
                &mut problems,
            ),
        };
        let provider_scopes =
            lookup("LIGHTHOUSE_SCOPES").unwrap_or_else(|| DEFAULT_SCOPES.to_owned());
        let lookup_budget = milliseconds(
            &lookup,
            "ITF_LOOKUP_BUDGET_MS",
            Duration::from_millis(1500),
            &mut problems,
        );
        let worker_concurrency = match lookup("ITF_WORKER_CONCURRENCY").map(|t| t.parse::<usize>())
        {
            None => 8,
            Some(Ok(n)) if (1..=1000).contains(&n) => n,
            Some(_) => {
                problems
                    .push("ITF_WORKER_CONCURRENCY: use a whole number from 1 to 1000".to_owned());
                8
            }
        };
        let delayed_after = match lookup("ITF_DELAYED_AFTER_MINUTES").map(|t| t.parse::<u64>()) {
            None => Duration::from_secs(3600),
            Some(Ok(n)) => Duration::from_secs(n * 60),
            Some(Err(_)) => {
                problems
                    .push("ITF_DELAYED_AFTER_MINUTES: use a whole number of minutes".to_owned());
                Duration::from_secs(3600)
            }
        };
        let application_url = lookup("ITF_APPLICATION_URL");
        if let Some(url) = &application_url {
            if !(url.starts_with('/') || url.starts_with("https://") || url.starts_with("http://"))
            {
                problems.push(format!(
                    "ITF_APPLICATION_URL: {url:?} is neither a path on this site nor an http(s) URL"
                ));
            }
        }
        let retry_max_delay = match lookup("ITF_RETRY_MAX_DELAY").map(|t| t.parse::<u64>()) {
            None => Duration::from_secs(30),
            Some(Ok(n)) if n >= 1 => Duration::from_secs(n),
            Some(_) => {
                problems.push(
                    "ITF_RETRY_MAX_DELAY: use a whole number of seconds, at least 1".to_owned(),
                );
                Duration::from_secs(30)
            }
        };

        match (database, site_addr, provider) {
            (Some(database), Ok(site_addr), Some(provider)) if problems.is_empty() => Ok(Self {
                profile,
                role,
                database,
                site_addr,
                site_root,
                data_dir,
                provider,
                provider_timeouts,
                provider_scopes,
                lookup_budget,
                worker_concurrency,
                retry_max_delay,
                delayed_after,
                application_url,
            }),
            _ => Err(ConfigError { problems }),
        }
    }

    /// Mock sign-in, the simulator and the other development surfaces are
    /// mounted only in development and only against the simulator.
    pub fn development_surfaces(&self) -> bool {
        self.profile == Profile::Development && self.provider.is_simulator()
    }

    /// The in-process simulator is mounted when the provider is the
    /// simulator and no standalone one is named.
    pub fn in_process_simulator(&self) -> bool {
        self.profile == Profile::Development
            && matches!(self.provider, Provider::Simulator { base_url: None })
    }

    /// How to reach and sign in to the provider; `app_addr` is where this
    /// instance listens, for the in-process simulator.
    pub fn client_settings(&self, app_addr: SocketAddr) -> Result<ClientSettings, KeyError> {
        let (base_url, token_url, audience, client_id, private_key_pem, key_id) =
            match &self.provider {
                Provider::Lighthouse(settings) => (
                    settings.base_url.clone(),
                    settings.token_url.clone(),
                    settings.audience.clone(),
                    settings.client_id.clone(),
                    std::fs::read(&settings.key_file).map_err(|source| KeyError::Io {
                        path: settings.key_file.clone(),
                        source,
                    })?,
                    settings.key_id.clone(),
                ),
                Provider::Simulator { base_url } => {
                    let base_url = base_url
                        .clone()
                        .unwrap_or_else(|| format!("http://{app_addr}{SIMULATOR_ROOT}"));
                    let token_url = format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/'));
                    let key = DevelopmentKey::load_or_create(&self.data_dir)?;
                    (
                        base_url,
                        token_url.clone(),
                        token_url,
                        SIMULATOR_CLIENT_ID.to_owned(),
                        key.private_pem,
                        None,
                    )
                }
            };
        Ok(ClientSettings {
            base_url,
            token_url,
            audience,
            client_id,
            private_key_pem,
            key_id,
            scopes: self.provider_scopes.clone(),
            timeouts: self.provider_timeouts,
        })
    }

    /// Cookies are `Secure` unless the site is served on loopback, where
    /// browsers allow plain HTTP.
    pub fn secure_cookies(&self) -> bool {
        !self.site_addr.ip().is_loopback()
    }
}

fn provider_from(
    lookup: &impl Fn(&str) -> Option<String>,
    production: bool,
    problems: &mut Vec<String>,
) -> Option<Provider> {
    let base_url = lookup("LIGHTHOUSE_BASE_URL");
    if let Some(url) = &base_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problems.push(format!(
                "LIGHTHOUSE_BASE_URL: {url:?} is not an http(s) URL"
            ));
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
        problems.push(match base_url {
            None => "LIGHTHOUSE_BASE_URL: missing; production needs the Lighthouse Benefits \
                     Claims API, such as https://api.va.gov"
                .to_owned(),
            Some(_) => "LIGHTHOUSE_BASE_URL: points at the simulator; production needs the \
                        Lighthouse Benefits Claims API"
                .to_owned(),
        });
    }
    let mut required = |name: &str, what: &str| {
        let value = lookup(name);
        if value.is_none() {
            problems.push(format!("{name}: missing; set {what}"));
        }
        value
    };
    let client_id = required("LIGHTHOUSE_CLIENT_ID", "the client id Lighthouse issued");
    let audience = required(
        "LIGHTHOUSE_AUDIENCE",
        "the token audience URL Lighthouse gave with the client id",
    );
    let key_file = required(
        "LIGHTHOUSE_KEY_FILE",
        "the path of the PEM private key registered with Lighthouse",
    );
    if let Some(path) = &key_file {
        match std::fs::read(path) {
            Err(_) => problems.push(format!("LIGHTHOUSE_KEY_FILE: cannot read {path:?}")),
            Ok(pem) if jsonwebtoken::EncodingKey::from_rsa_pem(&pem).is_err() => problems.push(
                format!("LIGHTHOUSE_KEY_FILE: {path:?} is not an RSA private key in PEM"),
            ),
            Ok(_) => {}
        }
    }
    let base_url = base_url?;
    let token_url = lookup("LIGHTHOUSE_TOKEN_URL")
        .unwrap_or_else(|| format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/')));
    Some(Provider::Lighthouse(LighthouseSettings {
        base_url,
        token_url,
        client_id: client_id?,
        audience: audience?,
        key_file: key_file?.into(),
        key_id: lookup("LIGHTHOUSE_KEY_ID"),
    }))
}

fn milliseconds(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: Duration,
    problems: &mut Vec<String>,
) -> Duration {
    match lookup(name).map(|text| text.parse::<u64>()) {
        None => default,
        Some(Ok(ms)) if ms > 0 => Duration::from_millis(ms),
        Some(_) => {
            problems.push(format!(
                "{name}: use a whole number of milliseconds above 0"
            ));
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn embedded_defaults_need_nothing() {
        let config = config(&[]).unwrap();
        assert_eq!(config.profile, Profile::Development);
        assert_eq!(config.role, Role::All);
        assert_eq!(
            config.database,
            DatabaseUrl::Sqlite(DEFAULT_DATABASE_URL.to_owned())
        );
        assert_eq!(config.site_addr, "127.0.0.1:3000".parse().unwrap());
        assert!(config.development_surfaces());
        assert!(!config.secure_cookies());
    }

    #[test]
    fn production_with_nothing_names_every_missing_setting() {
        let error = config(&[("ITF_PROFILE", "production")]).unwrap_err();
        let text = error.to_string();
        for name in [
            "DATABASE_URL",
            "LIGHTHOUSE_BASE_URL",
            "LIGHTHOUSE_CLIENT_ID",
            "LIGHTHOUSE_AUDIENCE",
            "LIGHTHOUSE_KEY_FILE",
        ] {
            assert!(text.contains(name), "{name} not named in:\n{text}");
        }
    }

    #[test]
    fn production_refuses_sqlite_and_the_simulator() {
        let text = config(&[
            ("ITF_PROFILE", "production"),
            ("DATABASE_URL", "sqlite://data/x.db"),
            (
                "LIGHTHOUSE_BASE_URL",
                "http://127.0.0.1:9000/_sim/lighthouse",
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("DATABASE_URL: production needs PostgreSQL"),
            "{text}"
        );
        assert!(text.contains("points at the simulator"), "{text}");
    }

    /// A directory holding an RSA private key, and the key's path.
    fn key_file() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        DevelopmentKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join("lighthouse-simulator-key.pem");
        (dir, path.to_str().unwrap().to_owned())
    }

    #[test]
    fn production_starts_with_postgres_and_a_real_provider() {
        let (_dir, key) = key_file();
        let config = config(&[
            ("ITF_PROFILE", "production"),
            ("DATABASE_URL", "postgres://itf@db.internal/itf"),
            ("LIGHTHOUSE_BASE_URL", "https://sandbox-api.va.gov"),
            ("LIGHTHOUSE_CLIENT_ID", "client"),
            (
                "LIGHTHOUSE_AUDIENCE",
                "https://deptva-eval.okta.com/oauth2/aus/v1/token",
            ),
            ("LIGHTHOUSE_KEY_FILE", &key),
            ("LEPTOS_SITE_ADDR", "0.0.0.0:8080"),
        ])
        .unwrap();
        assert!(!config.development_surfaces());
        assert!(!config.in_process_simulator());
        assert!(config.secure_cookies());
        let settings = config
            .client_settings("0.0.0.0:8080".parse().unwrap())
            .unwrap();
        assert_eq!(
            settings.token_url,
            "https://sandbox-api.va.gov/oauth2/claims/system/v1/token"
        );
        assert_eq!(settings.scopes, "system/claim.read system/claim.write");
        assert_eq!(settings.timeouts, Timeouts::default());
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_named() {
        let junk = tempfile::NamedTempFile::new().unwrap();
        let text = config(&[
            ("LIGHTHOUSE_BASE_URL", "https://sandbox-api.va.gov"),
            ("LIGHTHOUSE_CLIENT_ID", "client"),
            ("LIGHTHOUSE_AUDIENCE", "https://example.test/token"),
            ("LIGHTHOUSE_KEY_FILE", junk.path().to_str().unwrap()),
            ("LIGHTHOUSE_TIMEOUT_MS", "soon"),
        ])
        .unwrap_err()
        .to_string();
        assert!(text.contains("LIGHTHOUSE_KEY_FILE"), "{text}");
        assert!(text.contains("LIGHTHOUSE_TIMEOUT_MS"), "{text}");
    }

    #[test]
    fn the_simulator_is_reached_in_process_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(&[("ITF_DATA_DIR", dir.path().to_str().unwrap())]).unwrap();
        assert!(config.in_process_simulator());
        let settings = config
            .client_settings("127.0.0.1:3000".parse().unwrap())
            .unwrap();
        assert_eq!(settings.base_url, "http://127.0.0.1:3000/_sim/lighthouse");
        assert_eq!(settings.audience, settings.token_url);
        assert!(dir.path().join("lighthouse-simulator-key.pem").exists());
    }

    #[test]
    fn a_real_provider_turns_development_surfaces_off_in_development_too() {
        let (_dir, key) = key_file();
        let config = config(&[
            ("LIGHTHOUSE_BASE_URL", "https://sandbox-api.va.gov"),
            ("LIGHTHOUSE_CLIENT_ID", "client"),
            ("LIGHTHOUSE_AUDIENCE", "https://example.test/token"),
            ("LIGHTHOUSE_KEY_FILE", &key),
        ])
        .unwrap();
        assert!(!config.development_surfaces());
    }

    #[test]
    fn malformed_values_are_named() {
        let text = config(&[
            ("ITF_PROFILE", "staging"),
            ("ITF_ROLE", "both"),
            ("DATABASE_URL", "mysql://x"),
            ("LEPTOS_SITE_ADDR", "localhost"),
        ])
        .unwrap_err()
        .to_string();
        for name in [
            "ITF_PROFILE",
            "ITF_ROLE",
            "DATABASE_URL",
            "LEPTOS_SITE_ADDR",
        ] {
            assert!(text.contains(name), "{name} not named in:\n{text}");
        }
    }
}
