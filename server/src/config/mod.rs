//! Settings from the environment, validated once at start-up, one module
//! per concern. Parsing reads no files: the provider's key is read when the
//! application is assembled, and checked at start-up with the other
//! settings (`Config::from_env`).

mod alerts;
mod database;
mod keys;
mod notify;
mod provider;
mod reader;
mod service;
mod sign_in;
mod site;
mod webhooks;
mod worker;

use std::env;
use std::fmt;
use std::path::PathBuf;

pub use alerts::{AlertSettings, PagerDutySettings};
pub use database::{DatabaseUrl, DEFAULT_DATABASE_URL};
pub use keys::KeySettings;
pub use notify::NotifySettings;
pub use provider::{
    read_key_file, BudgetSettings, CircuitSettings, LighthouseSettings, Provider, ProviderSettings,
    MAX_QUOTA_PER_MINUTE, SIMULATOR_ROOT,
};
pub use service::ServiceSettings;
pub use sign_in::{OpenIdClientSettings, OperatorSignIn, SignInSettings, VeteranSignIn};
pub use site::{Profile, Role, SessionSettings, SiteSettings};
pub use webhooks::WebhookSettings;
pub use worker::{WorkerConfig, LEASE_MARGIN, LEASE_ROOM};

use reader::Reader;

pub const DEFAULT_DATA_DIR: &str = "data";

#[derive(Debug, Clone)]
pub struct Config {
    pub profile: Profile,
    pub role: Role,
    pub database: DatabaseUrl,
    pub site: SiteSettings,
    /// Where the SQLite database (by default) and the development key live.
    pub data_dir: PathBuf,
    pub provider: ProviderSettings,
    pub worker: WorkerConfig,
    /// Where messages to veterans go; none outside development means they
    /// wait in the outbox.
    pub notify: Option<NotifySettings>,
    /// How long a request may stay pending before the veteran is told it is
    /// saved and we keep trying.
    pub delayed_email_after: std::time::Duration,
    /// Where developer alerts go, and when conditions raise them.
    pub alerts: AlertSettings,
    /// The keys personal data is sealed with.
    pub keys: KeySettings,
    /// How veterans and operators sign in.
    pub sign_in: SignInSettings,
    /// Who may call the service API.
    pub service: ServiceSettings,
    /// Where events for other services go.
    pub webhooks: WebhookSettings,
}

/// A channel that delivers messages to veterans.
#[derive(Debug, Clone, Copy)]
pub enum MessageChannel<'a> {
    VaNotify(&'a NotifySettings),
    /// The development mailbox, in the database.
    Mailbox,
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
    /// The settings of this process, with the provider's key file checked:
    /// every problem is reported at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |name: &str| env::var(name).ok();
        let parsed = Self::from_lookup(lookup);
        let key_problem = match &parsed {
            Ok(config) => match &config.provider.provider {
                Provider::Lighthouse(settings) => read_key_file(&settings.key_file).err(),
                Provider::Simulator { .. } => None,
            },
            Err(_) => lookup("LIGHTHOUSE_KEY_FILE")
                .filter(|path| !path.trim().is_empty())
                .and_then(|path| read_key_file(path.as_ref()).err()),
        };
        match (parsed, key_problem) {
            (parsed, None) => parsed,
            (Ok(_), Some(problem)) => Err(ConfigError {
                problems: vec![problem],
            }),
            (Err(mut error), Some(problem)) => {
                error.problems.push(problem);
                Err(error)
            }
        }
    }

    /// Reads settings through `lookup`, so tests need not touch the process
    /// environment. Reads no files.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(&lookup);
        let profile = site::profile(&mut reader);
        let production = profile == Profile::Production;
        let role = site::role(&mut reader);
        let database = database::read(&mut reader, production);
        let site = site::read(&mut reader, production);
        let data_dir = PathBuf::from(
            reader
                .text("ITF_DATA_DIR")
                .unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()),
        );
        let provider = provider::read(&mut reader, production);
        let worker = worker::read(&mut reader);
        let notify = notify::read(&mut reader);
        let delayed_email_after = notify::delayed_email_after(&mut reader);
        let alerts = alerts::read(&mut reader);
        let keys = keys::read(&mut reader, production);
        let sign_in = sign_in::read(&mut reader, production, role.serves_pages());
        let service = service::read(&mut reader);
        let webhooks = webhooks::read(&mut reader);
        if let Some(provider) = &provider {
            worker::check_lease(&mut reader, &worker, provider.timeouts.total);
        }
        let problems = reader.into_problems();
        match (database, site, provider) {
            (Some(database), Some(site), Some(provider)) if problems.is_empty() => Ok(Self {
                profile,
                role,
                database,
                site,
                data_dir,
                provider,
                worker,
                notify,
                delayed_email_after,
                alerts,
                keys,
                sign_in,
                service,
                webhooks,
            }),
            _ => Err(ConfigError { problems }),
        }
    }

    /// Where messages to veterans go: VA Notify when it is configured, else
    /// the development mailbox where the development surfaces are; with
    /// neither they wait in the outbox, and no page promises an email.
    pub fn message_channel(&self) -> Option<MessageChannel<'_>> {
        match &self.notify {
            Some(notify) => Some(MessageChannel::VaNotify(notify)),
            None => self
                .development_surfaces()
                .then_some(MessageChannel::Mailbox),
        }
    }

    /// Where developer alerts go: Slack and PagerDuty as configured, and
    /// the development list with the other development surfaces.
    pub fn alert_channels(&self) -> Vec<crate::store::AlertChannel> {
        use crate::store::AlertChannel;
        let configured = [
            (self.alerts.slack_webhook_url.is_some(), AlertChannel::Slack),
            (self.alerts.pagerduty.is_some(), AlertChannel::PagerDuty),
            (self.development_surfaces(), AlertChannel::Development),
        ];
        configured
            .into_iter()
            .filter_map(|(on, channel)| on.then_some(channel))
            .collect()
    }

    /// Mock sign-in, the simulator and the other development surfaces are
    /// mounted only in development and only against the simulator.
    pub fn development_surfaces(&self) -> bool {
        self.profile == Profile::Development && self.provider.provider.is_simulator()
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
    fn a_va_notify_key_needs_its_address_and_templates_and_is_redacted() {
        let key =
            "itf-async-26785a09-ab16-4eb0-8407-a37497a57506-3d2e6c4a-5b44-4c5e-9b0f-1c2d3e4f5a6b";
        let problems = config(&[("VA_NOTIFY_API_KEY", key)]).unwrap_err().problems;
        for setting in [
            "VA_NOTIFY_BASE_URL",
            "VA_NOTIFY_TEMPLATE_ITF_CONFIRMED",
            "VA_NOTIFY_TEMPLATE_ITF_DELAYED",
            "VA_NOTIFY_TEMPLATE_ITF_NEEDS_ATTENTION",
        ] {
            assert!(problems.iter().any(|p| p.contains(setting)), "{problems:?}");
        }
        let problems = config(&[("VA_NOTIFY_API_KEY", "secret")])
            .unwrap_err()
            .problems;
        assert!(problems.iter().any(|p| p.contains("VA_NOTIFY_API_KEY")));
        assert!(
            !problems.iter().any(|p| p.contains("secret\"")),
            "{problems:?}"
        );
        let notify = config(&[
            ("VA_NOTIFY_API_KEY", key),
            ("VA_NOTIFY_BASE_URL", "https://notify.example/"),
            ("VA_NOTIFY_TEMPLATE_ITF_CONFIRMED", "t-1"),
            ("VA_NOTIFY_TEMPLATE_ITF_DELAYED", "t-3"),
            ("VA_NOTIFY_TEMPLATE_ITF_NEEDS_ATTENTION", "t-2"),
        ])
        .unwrap()
        .notify
        .unwrap();
        assert_eq!(notify.base_url, "https://notify.example");
        assert!(
            !format!("{notify:?}").contains("3d2e6c4a"),
            "the secret is redacted"
        );
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
        assert_eq!(config.site.addr, "127.0.0.1:3000".parse().unwrap());
        assert!(config.development_surfaces());
        assert!(!config.site.secure_cookies());
    }

    #[test]
    fn the_quota_is_sixty_a_minute_unless_set_and_may_be_unlimited() {
        let paced = |quota: Option<u32>| {
            quota.map(|quota_per_minute| BudgetSettings {
                quota_per_minute,
                reserved_percent: 10,
            })
        };
        assert_eq!(config(&[]).unwrap().provider.budget, paced(Some(60)));
        let set = |value| config(&[("LIGHTHOUSE_QUOTA_PER_MINUTE", value)]);
        assert_eq!(set("600").unwrap().provider.budget, paced(Some(600)));
        assert_eq!(set("unlimited").unwrap().provider.budget, None);
        for wrong in ["0", "2", "60001", "Unlimited", "lots"] {
            let text = set(wrong).unwrap_err().to_string();
            assert!(
                text.contains("LIGHTHOUSE_QUOTA_PER_MINUTE") && text.contains("`unlimited`"),
                "{wrong}: {text}"
            );
        }
    }

    #[test]
    fn alerts_go_where_configured_with_their_secrets_redacted() {
        use crate::store::AlertChannel;
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.alert_channels(), vec![AlertChannel::Development]);
        assert_eq!(defaults.alerts.pending_after.as_secs(), 3600);
        let webhook = "https://hooks.slack.com/services/T0/B0/sekrit";
        let configured = config(&[
            ("SLACK_WEBHOOK_URL", webhook),
            ("PAGERDUTY_ROUTING_KEY", "routing-sekrit"),
            ("ITF_ALERT_PENDING_AFTER_MINUTES", "5"),
        ])
        .unwrap();
        assert_eq!(
            configured.alert_channels(),
            vec![
                AlertChannel::Slack,
                AlertChannel::PagerDuty,
                AlertChannel::Development
            ]
        );
        assert_eq!(configured.alerts.pending_after.as_secs(), 300);
        let pagerduty = configured.alerts.pagerduty.as_ref().unwrap();
        assert_eq!(pagerduty.events_url, alerts::PAGERDUTY_EVENTS_URL);
        let shown = format!("{:?}", configured.alerts);
        assert!(!shown.contains("sekrit"), "{shown}");
        let problems = config(&[
            ("SLACK_WEBHOOK_URL", "hooks.slack.com/services/T0"),
            ("ITF_ALERT_CHECK_SECONDS", "0"),
        ])
        .unwrap_err()
        .problems;
        for setting in ["SLACK_WEBHOOK_URL", "ITF_ALERT_CHECK_SECONDS"] {
            assert!(problems.iter().any(|p| p.contains(setting)), "{problems:?}");
        }
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
            "ITF_DATA_KEYS_FILE",
            "ITF_BLIND_INDEX_KEY_FILE",
            "ITF_VETERAN_OIDC_ISSUER",
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

    #[test]
    fn production_starts_with_postgres_and_a_real_provider() {
        let config = config(&[
            ("ITF_PROFILE", "production"),
            ("DATABASE_URL", "postgres://itf@db.internal/itf"),
            ("LIGHTHOUSE_BASE_URL", "https://sandbox-api.va.gov"),
            ("LIGHTHOUSE_CLIENT_ID", "client"),
            (
                "LIGHTHOUSE_AUDIENCE",
                "https://deptva-eval.okta.com/oauth2/aus/v1/token",
            ),
            ("LIGHTHOUSE_KEY_FILE", "/etc/itf/lighthouse.pem"),
            ("ITF_DATA_KEYS_FILE", "/etc/itf/data-keys"),
            ("ITF_BLIND_INDEX_KEY_FILE", "/etc/itf/blind-index.key"),
            ("ITF_VETERAN_OIDC_ISSUER", "https://sign-in.va.gov/"),
            ("ITF_VETERAN_OIDC_CLIENT_ID", "itf-async"),
            ("ITF_PUBLIC_URL", "https://itf.va.gov"),
            // Behind a proxy on loopback, cookies are still Secure.
            ("LEPTOS_SITE_ADDR", "127.0.0.1:8080"),
        ])
        .unwrap();
        assert!(!config.development_surfaces());
        let veteran = config.sign_in.veteran.as_ref().unwrap();
        assert_eq!(veteran.client.issuer, "https://sign-in.va.gov/");
        assert_eq!(
            (
                veteran.icn_claim.as_str(),
                veteran.first_name_claim.as_str()
            ),
            ("icn", "given_name")
        );
        assert_eq!(config.sign_in.operator, None);
        assert!(config.site.secure_cookies());
        assert_eq!(config.site.sessions.idle.as_secs(), 30 * 60);
        assert_eq!(config.site.sessions.lifetime.as_secs(), 12 * 3600);
        let Provider::Lighthouse(settings) = &config.provider.provider else {
            panic!("a real provider was configured");
        };
        assert_eq!(
            settings.token_url,
            "https://sandbox-api.va.gov/oauth2/claims/system/v1/token"
        );
        assert_eq!(
            config.provider.scopes,
            "system/claim.read system/claim.write"
        );
        assert_eq!(
            config.provider.timeouts,
            crate::provider::Timeouts::default()
        );
    }

    #[test]
    fn service_tokens_are_named_hashes() {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let config = config(&[(
            "ITF_SERVICE_TOKENS",
            &format!("claims-526={hash}, claims-526-next={hash}"),
        )])
        .unwrap();
        let names: Vec<&str> = config
            .service
            .tokens
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(names, ["claims-526", "claims-526-next"]);
        assert_eq!(config.service.tokens[0].1[..2], [0x9f, 0x86]);
        assert!(
            !format!("{:?}", config.service).contains("9f86"),
            "hashes are not printed"
        );
        for bad in [
            "claims-526",
            "a=12",
            &format!("a={hash},a={hash}"),
            &format!("a b={hash}"),
        ] {
            let problems = config_err(&[("ITF_SERVICE_TOKENS", bad)]);
            assert!(
                problems[0].starts_with("ITF_SERVICE_TOKENS: "),
                "{bad}: {problems:?}"
            );
        }
    }

    #[test]
    fn allowed_origins_are_origins_https_in_production() {
        let listed = config(&[(
            "ITF_ALLOWED_ORIGINS",
            "https://www.va.gov, http://127.0.0.1:3920/",
        )])
        .unwrap();
        assert_eq!(
            listed.site.allowed_origins,
            ["https://www.va.gov", "http://127.0.0.1:3920"]
        );
        assert!(
            config_err(&[("ITF_ALLOWED_ORIGINS", "https://www.va.gov/path")])[0]
                .starts_with("ITF_ALLOWED_ORIGINS: \"https://www.va.gov/path\" is not an origin")
        );
        let production = config(&[
            ("ITF_PROFILE", "production"),
            ("ITF_ALLOWED_ORIGINS", "http://www.va.gov"),
        ])
        .unwrap_err()
        .problems;
        assert!(
            production
                .iter()
                .any(|p| p.starts_with("ITF_ALLOWED_ORIGINS: ") && p.contains("https only")),
            "{production:?}"
        );
    }

    fn config_err(vars: &[(&str, &str)]) -> Vec<String> {
        config(vars).unwrap_err().problems
    }

    #[test]
    fn a_worker_in_production_needs_no_sign_in() {
        let config = config(&[
            ("ITF_PROFILE", "production"),
            ("ITF_ROLE", "worker"),
            ("DATABASE_URL", "postgres://itf@db.internal/itf"),
            ("LIGHTHOUSE_BASE_URL", "https://sandbox-api.va.gov"),
            ("LIGHTHOUSE_CLIENT_ID", "client"),
            ("LIGHTHOUSE_AUDIENCE", "https://example.test/token"),
            ("LIGHTHOUSE_KEY_FILE", "/etc/itf/lighthouse.pem"),
            ("ITF_DATA_KEYS_FILE", "/etc/itf/data-keys"),
            ("ITF_BLIND_INDEX_KEY_FILE", "/etc/itf/blind-index.key"),
        ]);
        assert!(config.is_ok(), "{:?}", config.err());
    }

    #[test]
    fn sign_in_settings_that_cannot_work_are_each_named() {
        let problems = config(&[
            ("ITF_VETERAN_OIDC_ISSUER", "sign-in.va.gov"),
            ("ITF_VETERAN_OIDC_SCOPES", "profile"),
            ("ITF_OPERATOR_OIDC_CLIENT_ID", "console"),
        ])
        .unwrap_err()
        .problems;
        for setting in [
            "ITF_VETERAN_OIDC_CLIENT_ID: missing",
            "ITF_OPERATOR_OIDC_ISSUER: missing",
            "ITF_PUBLIC_URL: missing",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(setting)),
                "{setting}: {problems:?}"
            );
        }
        let problems = config(&[
            ("ITF_OPERATOR_OIDC_ISSUER", "http://127.0.0.1:3918"),
            ("ITF_OPERATOR_OIDC_CLIENT_ID", "console"),
            ("ITF_OPERATOR_ROLES", "itf-ops=root"),
            ("ITF_PUBLIC_URL", "http://127.0.0.1:3000"),
        ])
        .unwrap_err()
        .problems;
        assert!(
            problems.len() == 1
                && problems[0].starts_with("ITF_OPERATOR_ROLES: \"itf-ops=root\" is not accepted"),
            "{problems:?}"
        );
    }

    #[test]
    fn operators_groups_map_to_roles() {
        let config = config(&[
            ("ITF_OPERATOR_OIDC_ISSUER", "http://127.0.0.1:3918/"),
            ("ITF_OPERATOR_OIDC_CLIENT_ID", "console"),
            (
                "ITF_OPERATOR_ROLES",
                "itf-viewers=viewer, itf-admins = admin",
            ),
            ("ITF_PUBLIC_URL", "http://127.0.0.1:3000/"),
        ])
        .unwrap();
        let operator = config.sign_in.operator.unwrap();
        assert_eq!(
            operator.roles,
            [
                (
                    "itf-viewers".to_owned(),
                    itf_app::domain::OperatorRole::Viewer
                ),
                (
                    "itf-admins".to_owned(),
                    itf_app::domain::OperatorRole::Admin
                ),
            ]
        );
        assert_eq!(operator.role_claim, "groups");
        assert_eq!(
            config.sign_in.public_url.as_deref(),
            Some("http://127.0.0.1:3000")
        );
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_named_with_the_other_problems() {
        let junk = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(
            read_key_file(junk.path()).unwrap_err(),
            format!(
                "LIGHTHOUSE_KEY_FILE: {:?} is not an RSA private key in PEM",
                junk.path()
            )
        );
        assert!(read_key_file("/nowhere/key.pem".as_ref())
            .unwrap_err()
            .contains("cannot read"));
    }

    #[test]
    fn a_real_provider_turns_development_surfaces_off_in_development_too() {
        let config = config(&[
            ("LIGHTHOUSE_BASE_URL", "https://sandbox-api.va.gov"),
            ("LIGHTHOUSE_CLIENT_ID", "client"),
            ("LIGHTHOUSE_AUDIENCE", "https://example.test/token"),
            ("LIGHTHOUSE_KEY_FILE", "/etc/itf/lighthouse.pem"),
        ])
        .unwrap();
        assert!(!config.development_surfaces());
    }

    #[test]
    fn three_bad_settings_are_three_problems_each_named() {
        let error = config(&[
            ("ITF_ROLE", "both"),
            ("ITF_WORKER_CONCURRENCY", "0"),
            ("LIGHTHOUSE_TIMEOUT_MS", "soon"),
        ])
        .unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
        for (problem, name) in error.problems.iter().zip([
            "ITF_ROLE",
            "LIGHTHOUSE_TIMEOUT_MS",
            "ITF_WORKER_CONCURRENCY",
        ]) {
            assert!(problem.starts_with(&format!("{name}: ")), "{problem}");
        }
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
