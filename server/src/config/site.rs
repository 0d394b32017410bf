//! How the site is served: profile, role, address, pages.

use std::net::SocketAddr;
use std::time::Duration;

use super::reader::{Reader, HOURS, MILLISECONDS, MINUTES};

pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_SITE_ROOT: &str = "target/site";

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

#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub addr: SocketAddr,
    /// The folder the build wrote the stylesheet and WebAssembly into.
    pub root: String,
    /// How long a look-up waits for the provider before answering from our
    /// records or recording a request.
    pub lookup_budget: Duration,
    /// After how long a pending request is shown as delayed.
    pub delayed_after: Duration,
    /// Where "Start your application" leads, when not this app's own
    /// placeholder page.
    pub application_url: Option<String>,
    /// Production: cookies are `Secure` whatever the address.
    pub production: bool,
    /// How long a session may go unused, and how long it may last at all.
    pub sessions: SessionSettings,
    /// Other origins whose pages may call the REST API with the veteran's
    /// session (VA.gov's front end on www.va.gov calling api.va.gov), each
    /// as `scheme://host[:port]`.
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    pub idle: Duration,
    pub lifetime: Duration,
}

impl SiteSettings {
    /// Cookies are `Secure` in production, and elsewhere unless the site
    /// is served on loopback, where browsers allow plain HTTP.
    pub fn secure_cookies(&self) -> bool {
        self.production || !self.addr.ip().is_loopback()
    }
}

pub fn profile(reader: &mut Reader<'_>) -> Profile {
    reader.choice(
        "ITF_PROFILE",
        &[
            ("development", Profile::Development),
            ("production", Profile::Production),
        ],
    )
}

pub fn role(reader: &mut Reader<'_>) -> Role {
    reader.choice(
        "ITF_ROLE",
        &[
            ("all", Role::All),
            ("web", Role::Web),
            ("worker", Role::Worker),
        ],
    )
}

pub fn read(reader: &mut Reader<'_>, production: bool) -> Option<SiteSettings> {
    let addr_text = reader
        .text("LEPTOS_SITE_ADDR")
        .unwrap_or_else(|| DEFAULT_SITE_ADDR.to_owned());
    let addr = addr_text.parse().ok();
    if addr.is_none() {
        reader.problem(
            "LEPTOS_SITE_ADDR",
            format_args!("{addr_text:?} is not an address; use HOST:PORT such as 127.0.0.1:3000"),
        );
    }
    let allowed_origins = allowed_origins(reader, production);
    let application_url = reader.text("ITF_APPLICATION_URL");
    if let Some(url) = &application_url {
        if !(url.starts_with('/') || url.starts_with("https://") || url.starts_with("http://")) {
            reader.problem(
                "ITF_APPLICATION_URL",
                format_args!("{url:?} is neither a path on this site nor an http(s) URL"),
            );
        }
    }
    let settings = SiteSettings {
        addr: addr?,
        root: reader
            .text("LEPTOS_SITE_ROOT")
            .unwrap_or_else(|| DEFAULT_SITE_ROOT.to_owned()),
        lookup_budget: reader.duration(
            "ITF_LOOKUP_BUDGET_MS",
            Duration::from_millis(1500),
            MILLISECONDS,
            1..=60_000,
        ),
        delayed_after: reader.duration(
            "ITF_DELAYED_AFTER_MINUTES",
            Duration::from_secs(3600),
            MINUTES,
            0..=525_600,
        ),
        application_url,
        production,
        allowed_origins,
        sessions: SessionSettings {
            idle: reader.duration(
                "ITF_SESSION_IDLE_MINUTES",
                Duration::from_secs(30 * 60),
                MINUTES,
                1..=24 * 60,
            ),
            lifetime: reader.duration(
                "ITF_SESSION_LIFETIME_HOURS",
                Duration::from_secs(12 * 3600),
                HOURS,
                1..=72,
            ),
        },
    };
    Some(settings)
}

/// `ITF_ALLOWED_ORIGINS`: origins separated by commas, such as
/// `https://www.va.gov,https://staging.va.gov`; https in production.
fn allowed_origins(reader: &mut Reader<'_>, production: bool) -> Vec<String> {
    const NAME: &str = "ITF_ALLOWED_ORIGINS";
    let Some(text) = reader.text(NAME) else {
        return Vec::new();
    };
    let mut origins = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let origin = reqwest::Url::parse(item).ok().filter(|url| {
            let scheme_allowed = url.scheme() == "https" || (!production && url.scheme() == "http");
            scheme_allowed && url.host().is_some() && url.path() == "/" && url.query().is_none()
        });
        match origin {
            Some(url) => origins.push(url.origin().ascii_serialization()),
            None => reader.problem(
                NAME,
                format_args!(
                    "{item:?} is not an origin; write `https://host[:port]`, with no path, \
                     each separated by a comma{}",
                    if production {
                        " (https only in production)"
                    } else {
                        ""
                    }
                ),
            ),
        }
    }
    origins
}
