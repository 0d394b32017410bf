//! What the simulator knows: the veterans' ITFs, the mode it is in, the
//! tokens it issued, the per-client quota, and the ledger of calls.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Months, TimeZone, Utc};
use chrono_tz::America::Chicago;
use itf_app::development::test_veteran;
use itf_app::domain::ItfType;
use serde::{Deserialize, Serialize};

use crate::provider::wire::{ItfAttributes, ItfBody, ItfData, RESOURCE_TYPE};

/// How the simulated API behaves, switchable at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeKind {
    Up,
    /// 503 to every ITF call.
    Down,
    /// 503 with a maintenance message.
    Maintenance,
    /// Answers after `delay_ms`, longer than a client's timeout.
    Slow,
    /// `failure_rate` of calls answer 500, 502 or 504; half of the failing
    /// POSTs fail after the ITF was created (the lost-response case).
    Flaky,
    /// 429 with `Retry-After`.
    Throttled,
    /// 401 to every ITF call, whatever the token: credentials revoked.
    AuthRejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mode {
    pub mode: ModeKind,
    pub failure_rate: f64,
    pub delay_ms: u64,
    pub retry_after_seconds: u64,
    pub quota_per_minute: u32,
    pub token_ttl_seconds: u64,
    /// In `slow` mode, do the work (create the ITF) on receipt and answer
    /// after `delay_ms`: a request in flight whose work is done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_on_receipt: bool,
    /// Added to the creation time of each ITF made from then on: an ITF
    /// dated later than it was asked for, on demand.
    #[serde(skip_serializing_if = "is_zero")]
    pub creation_offset_seconds: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The longest `creation_offset_seconds`, either way: a year.
const MAX_CREATION_OFFSET: i64 = 366 * 24 * 3600;

/// `PUT /mode`: the mode, and any parameters to change with it; those left
/// out keep their values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeUpdate {
    pub mode: ModeKind,
    pub failure_rate: Option<f64>,
    pub delay_ms: Option<u64>,
    pub retry_after_seconds: Option<u64>,
    pub quota_per_minute: Option<u32>,
    pub token_ttl_seconds: Option<u64>,
    pub create_on_receipt: Option<bool>,
    pub creation_offset_seconds: Option<i64>,
}

impl ModeUpdate {
    /// The mode alone: every parameter keeps its value.
    pub fn only(mode: ModeKind) -> Self {
        Self {
            mode,
            failure_rate: None,
            delay_ms: None,
            retry_after_seconds: None,
            quota_per_minute: None,
            token_ttl_seconds: None,
            create_on_receipt: None,
            creation_offset_seconds: None,
        }
    }
}

impl Mode {
    pub fn new(quota_per_minute: u32) -> Self {
        Self {
            mode: ModeKind::Up,
            failure_rate: 0.3,
            delay_ms: 25_000,
            retry_after_seconds: 30,
            quota_per_minute,
            token_ttl_seconds: 300,
            create_on_receipt: false,
            creation_offset_seconds: 0,
        }
    }

    pub fn apply(&mut self, update: ModeUpdate) -> Result<(), &'static str> {
        if update
            .failure_rate
            .is_some_and(|r| !(0.0..=1.0).contains(&r))
        {
            return Err("failure_rate is a share from 0 to 1");
        }
        if update.quota_per_minute == Some(0) {
            return Err("quota_per_minute must be at least 1");
        }
        if update.token_ttl_seconds == Some(0) {
            return Err("token_ttl_seconds must be at least 1");
        }
        if update
            .creation_offset_seconds
            .is_some_and(|offset| offset.abs() > MAX_CREATION_OFFSET)
        {
            return Err("creation_offset_seconds is at most a year either way");
        }
        self.mode = update.mode;
        self.failure_rate = update.failure_rate.unwrap_or(self.failure_rate);
        self.delay_ms = update.delay_ms.unwrap_or(self.delay_ms);
        self.retry_after_seconds = update
            .retry_after_seconds
            .unwrap_or(self.retry_after_seconds);
        self.quota_per_minute = update.quota_per_minute.unwrap_or(self.quota_per_minute);
        self.token_ttl_seconds = update.token_ttl_seconds.unwrap_or(self.token_ttl_seconds);
        self.create_on_receipt = update.create_on_receipt.unwrap_or(self.create_on_receipt);
        self.creation_offset_seconds = update
            .creation_offset_seconds
            .unwrap_or(self.creation_offset_seconds);
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SimItf {
    pub id: String,
    #[serde(rename = "creationDate", with = "crate::provider::wire::timestamp")]
    pub creation_date: DateTime<FixedOffset>,
    #[serde(rename = "expirationDate", with = "crate::provider::wire::timestamp")]
    pub expiration_date: DateTime<FixedOffset>,
}

impl SimItf {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expiration_date > now
    }

    pub fn body(&self, itf_type: ItfType) -> ItfBody {
        ItfBody {
            data: ItfData {
                id: self.id.clone(),
                resource_type: RESOURCE_TYPE.to_owned(),
                attributes: ItfAttributes {
                    creation_date: self.creation_date,
                    expiration_date: self.expiration_date,
                    itf_type,
                    status: "active".to_owned(),
                },
            },
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Counts {
    gets: u64,
    posts: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub at: DateTime<Utc>,
    pub method: &'static str,
    pub user: String,
    #[serde(rename = "type")]
    pub itf_type: Option<ItfType>,
    pub status: u16,
}

pub struct State {
    pub mode: Mode,
    /// Keyed by test user id: only test users' ITFs can exist here.
    itfs: BTreeMap<(String, ItfType), Vec<SimItf>>,
    counts: BTreeMap<(String, ItfType), Counts>,
    calls: Vec<CallRecord>,
    token_requests: u64,
    /// Issued access tokens: client id and expiry.
    tokens: HashMap<String, (String, Instant)>,
    quota: HashMap<String, VecDeque<Instant>>,
    next_id: u64,
    /// Test users whose standing was set, overriding the default.
    standings: HashMap<String, SetStanding>,
}

/// The quota's verdict on one call.
pub enum Quota {
    Allowed { limit: u32, remaining: u32 },
    Spent { limit: u32, retry_after: Duration },
}

const QUOTA_WINDOW: Duration = Duration::from_secs(60);

impl State {
    pub fn seeded(quota_per_minute: u32) -> Self {
        let mut state = Self {
            mode: Mode::new(quota_per_minute),
            itfs: BTreeMap::new(),
            counts: BTreeMap::new(),
            calls: Vec::new(),
            token_requests: 0,
            tokens: HashMap::new(),
            quota: HashMap::new(),
            next_id: 193_685,
            standings: HashMap::new(),
        };
        let now = Utc::now();
        state.create(
            "vet-active-itf",
            ItfType::Compensation,
            now - chrono::Duration::days(30),
        );
        state.create(
            "vet-expired-itf",
            ItfType::Compensation,
            now - chrono::Duration::days(400),
        );
        state
    }

    /// Makes an ITF as the provider does: created in US Central time, to
    /// expire one year less one second later.
    pub fn create(&mut self, user: &str, itf_type: ItfType, at: DateTime<Utc>) -> SimItf {
        let created = at.with_timezone(&Chicago);
        let created = Chicago
            .timestamp_millis_opt(created.timestamp_millis())
            .single()
            .expect("a UTC instant has one Central time");
        let expires_local = created
            .naive_local()
            .checked_add_months(Months::new(12))
            .expect("a year later is a date")
            - chrono::Duration::seconds(1);
        let expires = Chicago
            .from_local_datetime(&expires_local)
            .earliest()
            .unwrap_or_else(|| created + chrono::Duration::days(365));
        let itf = SimItf {
            id: self.next_id.to_string(),
            creation_date: created.fixed_offset(),
            expiration_date: expires.fixed_offset(),
        };
        self.next_id += 1;
        self.itfs
            .entry((user.to_owned(), itf_type))
            .or_default()
            .push(itf.clone());
        itf
    }

    /// The newest active ITF, as the real API returns only that.
    pub fn active(&self, user: &str, itf_type: ItfType, now: DateTime<Utc>) -> Option<&SimItf> {
        self.itfs
            .get(&(user.to_owned(), itf_type))?
            .iter()
            .rev()
            .find(|itf| itf.is_active(now))
    }

    pub fn record(
        &mut self,
        method: &'static str,
        user: &str,
        itf_type: Option<ItfType>,
        status: u16,
    ) {
        if let Some(itf_type) = itf_type {
            let counts = self.counts.entry((user.to_owned(), itf_type)).or_default();
            match method {
                "GET" => counts.gets += 1,
                _ => counts.posts += 1,
            }
        }
        self.calls.push(CallRecord {
            at: Utc::now(),
            method,
            user: user.to_owned(),
            itf_type,
            status,
        });
    }

    pub fn count_token_request(&mut self) {
        self.token_requests += 1;
    }

    pub fn issue_token(&mut self, token: String, client_id: String) {
        let now = Instant::now();
        self.tokens.retain(|_, (_, expires)| *expires > now);
        let ttl = Duration::from_secs(self.mode.token_ttl_seconds);
        self.tokens.insert(token, (client_id, now + ttl));
    }

    pub fn revoke_tokens(&mut self) {
        self.tokens.clear();
    }

    /// The client a live token was issued to.
    pub fn client_of(&self, token: &str) -> Option<String> {
        self.tokens
            .get(token)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(client, _)| client.clone())
    }

    /// Counts a call against the client's rolling one-minute quota.
    pub fn take_quota(&mut self, client: &str) -> Quota {
        let limit = self.mode.quota_per_minute;
        let now = Instant::now();
        let window = self.quota.entry(client.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= QUOTA_WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            let oldest = *window.front().expect("a spent quota has calls");
            let wait = QUOTA_WINDOW.saturating_sub(now.duration_since(oldest));
            return Quota::Spent {
                limit,
                retry_after: Duration::from_secs(wait.as_secs() + 1),
            };
        }
        window.push_back(now);
        Quota::Allowed {
            limit,
            remaining: limit - window.len() as u32,
        }
    }

    pub fn ledger(&self) -> serde_json::Value {
        let mut veterans: BTreeMap<(String, ItfType), serde_json::Value> = BTreeMap::new();
        let keys = self.counts.keys().chain(self.itfs.keys());
        for key in keys {
            let counts = self.counts.get(key).copied().unwrap_or_default();
            let itfs = self.itfs.get(key).cloned().unwrap_or_default();
            veterans.insert(
                key.clone(),
                serde_json::json!({
                    "user": key.0,
                    "type": key.1,
                    "gets": counts.gets,
                    "posts": counts.posts,
                    "itfs": itfs,
                }),
            );
        }
        serde_json::json!({
            "veterans": veterans.into_values().collect::<Vec<_>>(),
            "calls": self.calls,
            "token_requests": self.token_requests,
        })
    }

    pub fn clear_ledger(&mut self) {
        self.counts.clear();
        self.calls.clear();
        self.token_requests = 0;
    }
}

/// How the simulator treats a veteran's POST.
pub enum Standing {
    /// A test user the provider knows: ITFs can be created.
    Known(String),
    /// The provider rejects this veteran's ITFs (422).
    Rejected,
    /// The provider has no such veteran (404).
    Unknown,
}

/// A standing set for a test user, as `PUT /veterans/{user}/standing`
/// takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetStanding {
    Known,
    Unknown,
    Rejected,
}

impl State {
    /// How the provider treats this user's POST: as set for them, else
    /// `vet-unknown` unknown, `vet-rejected` rejected, other test users
    /// known.
    pub fn standing(&self, user: Option<String>) -> Standing {
        let set = user.as_ref().and_then(|user| self.standings.get(user));
        match (user, set) {
            (Some(user), Some(SetStanding::Known)) => Standing::Known(user),
            (Some(_), Some(SetStanding::Unknown)) => Standing::Unknown,
            (Some(_), Some(SetStanding::Rejected)) => Standing::Rejected,
            (Some(user), None) if user == "vet-unknown" => Standing::Unknown,
            (Some(user), None) if user == "vet-rejected" => Standing::Rejected,
            (Some(user), None) if test_veteran(&user).is_ok() => Standing::Known(user),
            _ => Standing::Unknown,
        }
    }

    pub fn set_standing(&mut self, user: &str, standing: SetStanding) {
        self.standings.insert(user.to_owned(), standing);
    }

    /// Forgets a user's ITFs, calls and standing, as if never seen.
    pub fn reset(&mut self, user: &str) {
        self.standings.remove(user);
        self.itfs.retain(|(owner, _), _| owner != user);
        self.counts.retain(|(owner, _), _| owner != user);
        self.calls.retain(|call| call.user != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itfs_expire_one_year_less_one_second_in_central_time() {
        let mut state = State::seeded(60);
        let at = "2021-03-17T00:15:21Z".parse().unwrap();
        let itf = state.create("load-1", ItfType::Compensation, at);
        let body = serde_json::to_value(itf.body(ItfType::Compensation)).unwrap();
        assert_eq!(
            body["data"]["attributes"]["creationDate"],
            "2021-03-16T19:15:21.000-05:00"
        );
        assert_eq!(
            body["data"]["attributes"]["expirationDate"],
            "2022-03-16T19:15:20.000-05:00"
        );
    }

    #[test]
    fn winter_itfs_carry_central_standard_time() {
        let mut state = State::seeded(60);
        let itf = state.create(
            "load-1",
            ItfType::Pension,
            "2026-01-10T12:00:00Z".parse().unwrap(),
        );
        assert_eq!(itf.creation_date.offset().local_minus_utc(), -6 * 3600);
    }

    #[test]
    fn only_an_unexpired_itf_is_active() {
        let state = State::seeded(60);
        let now = Utc::now();
        assert!(state
            .active("vet-active-itf", ItfType::Compensation, now)
            .is_some());
        assert!(state
            .active("vet-expired-itf", ItfType::Compensation, now)
            .is_none());
        assert!(state
            .active("vet-active-itf", ItfType::Pension, now)
            .is_none());
    }

    #[test]
    fn a_standing_set_for_a_user_wins_until_reset() {
        let mut state = State::seeded(60);
        assert!(matches!(
            state.standing(Some("vet-unknown".to_owned())),
            Standing::Unknown
        ));
        state.set_standing("vet-unknown", SetStanding::Known);
        assert!(matches!(
            state.standing(Some("vet-unknown".to_owned())),
            Standing::Known(_)
        ));
        state.set_standing("load-1", SetStanding::Rejected);
        assert!(matches!(
            state.standing(Some("load-1".to_owned())),
            Standing::Rejected
        ));
        state.create("load-1", ItfType::Compensation, Utc::now());
        state.reset("load-1");
        assert!(matches!(
            state.standing(Some("load-1".to_owned())),
            Standing::Known(_)
        ));
        assert!(state
            .active("load-1", ItfType::Compensation, Utc::now())
            .is_none());
    }

    #[test]
    fn the_quota_is_a_rolling_minute() {
        let mut state = State::seeded(3);
        for expected in [2, 1, 0] {
            match state.take_quota("client") {
                Quota::Allowed { remaining, .. } => assert_eq!(remaining, expected),
                Quota::Spent { .. } => panic!("spent too early"),
            }
        }
        match state.take_quota("client") {
            Quota::Spent { retry_after, .. } => assert!(retry_after <= Duration::from_secs(61)),
            Quota::Allowed { .. } => panic!("the fourth call must be refused"),
        }
        assert!(matches!(
            state.take_quota("another client"),
            Quota::Allowed { .. }
        ));
    }
}
