//! The ITF provider: a client of the Lighthouse Benefits Claims API v2, and
//! the typed outcome the worker acts on without reading strings.

mod client;
mod token;
pub mod wire;

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use itf_app::domain::ItfType;

pub use client::{
    retry_after, Call, ClientError, Fence, Fenced, LighthouseClient, RateLimits, POST_ROUTE,
};
pub use token::TokenError;

use crate::store::{AttemptOutcome, ConfirmedItf};

/// Paths below the provider's base URL.
pub const TOKEN_PATH: &str = "/oauth2/claims/system/v1/token";
pub const API_PATH: &str = "/services/claims/v2";
pub const DEFAULT_SCOPES: &str = "system/claim.read system/claim.write";

/// An Intent to File as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Itf {
    /// The provider's id for it.
    pub id: String,
    pub itf_type: ItfType,
    /// In the offset the provider wrote it in (US Central).
    pub creation_date: DateTime<FixedOffset>,
    pub expiration_date: DateTime<FixedOffset>,
    pub status: String,
}

impl Outcome {
    /// What the call came to, as attempts, logs and metrics name it.
    pub fn kind(&self) -> AttemptOutcome {
        match self {
            Self::Active(_) => AttemptOutcome::Active,
            Self::NoneActive => AttemptOutcome::NoneActive,
            Self::Created(_) => AttemptOutcome::Created,
            Self::Transient { .. } => AttemptOutcome::Transient,
            Self::Permanent { .. } => AttemptOutcome::Permanent,
            Self::AuthFailure => AttemptOutcome::AuthFailure,
        }
    }
}

impl From<&Itf> for ConfirmedItf {
    fn from(itf: &Itf) -> Self {
        Self {
            id: itf.id.clone(),
            creation_date: itf.creation_date,
            expiration_date: itf.expiration_date,
        }
    }
}

impl From<wire::ItfBody> for Itf {
    fn from(body: wire::ItfBody) -> Self {
        let attributes = body.data.attributes;
        Self {
            id: body.data.id,
            itf_type: attributes.itf_type,
            creation_date: attributes.creation_date,
            expiration_date: attributes.expiration_date,
            status: attributes.status,
        }
    }
}

/// What a call to the provider came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// GET 200: the veteran has an active ITF of that type.
    Active(Itf),
    /// GET 404: no active ITF of that type.
    NoneActive,
    /// POST 200: the provider created this ITF.
    Created(Itf),
    /// Try again later: a timeout, a connection failure, a 5xx, 408, 409 or
    /// 429, or a 200 that confirms nothing.
    Transient { retry_after: Option<Duration> },
    /// The provider refused the request itself (any other 4xx, such as 400,
    /// 422, or 404 on POST: veteran not found); retrying will not help.
    Permanent { title: String, detail: String },
    /// Our credentials were refused even after a fresh token: a fault of the
    /// system, never a verdict on the veteran's request.
    AuthFailure,
}

/// Timeouts for provider calls. The defaults suit a background worker, as
/// vets-api uses for the same API: 15 s to connect, 20 s in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            total: Duration::from_secs(20),
        }
    }
}

/// Everything the client needs to reach and sign in to one provider.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Such as `https://api.va.gov` or `http://127.0.0.1:3000/_sim/lighthouse`.
    pub base_url: String,
    pub token_url: String,
    pub audience: String,
    pub client_id: String,
    /// PEM text of the RSA private key the client assertion is signed with.
    pub private_key_pem: Vec<u8>,
    pub key_id: Option<String>,
    pub scopes: String,
    pub timeouts: Timeouts,
    /// The longest `Retry-After` taken from the provider.
    pub retry_after_cap: Duration,
}
