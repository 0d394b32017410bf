//! The rollout flag: which path each ITF type's requests take. Compensation
//! may go asynchronously (to everyone, or to a stable share of veterans);
//! pension and survivor stay synchronous. Turning compensation `off` is the
//! kill switch: new look-ups go synchronous, what is queued keeps draining.

use std::fmt;

use chrono::{DateTime, Utc};
use itf_app::domain::ItfType;

use super::{Acting, AuditAction, NewAuditEntry, StoreError};

/// Which path a type's requests take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// Synchronous, as before: look-ups and requests wait for the provider.
    Off,
    /// Asynchronous for this share of veterans, 0 to 100, chosen by a keyed
    /// hash of the veteran so that each stays on one path.
    Percent(u8),
    /// Asynchronous for every veteran.
    On,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutRefused {
    #[error("{0:?} is not a rollout; use off, on or percent N (N from 0 to 100)")]
    Unreadable(String),
    #[error("{0} ITFs stay synchronous: only compensation can be turned on")]
    StaysSynchronous(&'static str),
}

impl Rollout {
    /// `off`, `on` or `percent N`, as people write it.
    pub fn parse(text: &str) -> Result<Self, RolloutRefused> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["off"] => Ok(Self::Off),
            ["on"] => Ok(Self::On),
            ["percent", n] => n
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= 100)
                .map(Self::Percent)
                .ok_or_else(|| RolloutRefused::Unreadable(text.to_owned())),
            _ => Err(RolloutRefused::Unreadable(text.to_owned())),
        }
    }

    /// The rollout `itf_type` may have: pension and survivor only `off`.
    pub fn for_type(self, itf_type: ItfType) -> Result<Self, RolloutRefused> {
        if itf_type != ItfType::Compensation && self != Self::Off {
            return Err(RolloutRefused::StaysSynchronous(itf_type.as_str()));
        }
        Ok(self)
    }

    /// Whether a veteran in `bucket` (0 to 99) takes the asynchronous path.
    pub fn is_async_for(self, bucket: u8) -> bool {
        match self {
            Self::Off => false,
            Self::Percent(percent) => bucket < percent,
            Self::On => true,
        }
    }

    fn mode(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Percent(_) => "percent",
            Self::On => "on",
        }
    }

    fn percent(self) -> Option<i32> {
        match self {
            Self::Percent(percent) => Some(i32::from(percent)),
            Self::Off | Self::On => None,
        }
    }
}

impl fmt::Display for Rollout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Percent(percent) => write!(f, "percent {percent}"),
            other => f.write_str(other.mode()),
        }
    }
}

/// One type's flag, and its last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutFlag {
    pub itf_type: ItfType,
    pub rollout: Rollout,
    /// None while the flag is as the schema set it.
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
}

/// The columns a flag is written to: its mode and percent.
pub fn columns(rollout: Rollout) -> (&'static str, Option<i32>) {
    (rollout.mode(), rollout.percent())
}

/// The audit entry of a change from `before` to `after`.
pub fn audit_entry(
    before: &RolloutFlag,
    after: &RolloutFlag,
    acting: &Acting<'_>,
) -> NewAuditEntry {
    let flag = |flag: &RolloutFlag| format!("{} {}", flag.itf_type.as_str(), flag.rollout);
    NewAuditEntry {
        at: after.changed_at.unwrap_or_else(Utc::now),
        reason: Some(acting.reason.to_owned()),
        before: Some(flag(before)),
        after: Some(flag(after)),
        ..NewAuditEntry::by(acting.operator, AuditAction::SetRollout, None)
    }
}

/// A flag as both databases return it.
#[derive(sqlx::FromRow)]
pub struct RolloutRow<T> {
    pub itf_type: String,
    pub mode: String,
    pub percent: Option<i32>,
    pub changed_at: Option<T>,
    pub changed_by: Option<String>,
}

impl<T: Into<DateTime<Utc>>> TryFrom<RolloutRow<T>> for RolloutFlag {
    type Error = StoreError;

    fn try_from(row: RolloutRow<T>) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("unreadable rollout for {}", row.itf_type));
        let rollout = match (row.mode.as_str(), row.percent) {
            ("off", None) => Rollout::Off,
            ("on", None) => Rollout::On,
            ("percent", Some(percent)) => Rollout::Percent(
                u8::try_from(percent)
                    .ok()
                    .filter(|p| *p <= 100)
                    .ok_or_else(corrupt)?,
            ),
            _ => return Err(corrupt()),
        };
        Ok(Self {
            itf_type: ItfType::parse(&row.itf_type)
                .map_err(|_| StoreError::Corrupt(format!("unknown ITF type {}", row.itf_type)))?,
            rollout,
            changed_at: row.changed_at.map(Into::into),
            changed_by: row.changed_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollouts_read_as_people_write_them() {
        assert_eq!(Rollout::parse("off"), Ok(Rollout::Off));
        assert_eq!(Rollout::parse(" on "), Ok(Rollout::On));
        assert_eq!(Rollout::parse("percent 50"), Ok(Rollout::Percent(50)));
        for bad in ["percent 101", "percent", "50", "half", "percent -1"] {
            assert!(Rollout::parse(bad).is_err(), "{bad}");
        }
        for rollout in [Rollout::Off, Rollout::On, Rollout::Percent(7)] {
            assert_eq!(Rollout::parse(&rollout.to_string()), Ok(rollout));
        }
    }

    #[test]
    fn only_compensation_leaves_the_synchronous_path() {
        assert_eq!(
            Rollout::On.for_type(ItfType::Pension),
            Err(RolloutRefused::StaysSynchronous("pension"))
        );
        assert!(Rollout::Percent(1).for_type(ItfType::Survivor).is_err());
        assert_eq!(Rollout::Off.for_type(ItfType::Survivor), Ok(Rollout::Off));
        assert_eq!(Rollout::On.for_type(ItfType::Compensation), Ok(Rollout::On));
    }

    #[test]
    fn a_share_takes_the_buckets_below_it() {
        assert!(!Rollout::Off.is_async_for(0));
        assert!(Rollout::On.is_async_for(99));
        assert!(Rollout::Percent(50).is_async_for(49));
        assert!(!Rollout::Percent(50).is_async_for(50));
        assert!(!Rollout::Percent(0).is_async_for(0));
        assert!(Rollout::Percent(100).is_async_for(99));
    }
}
