//! The people who look after requests: operators, each with one role.

use serde::{Deserialize, Serialize};

/// What an operator may do. Each role may do all that the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Reads requests, their timelines and the report on screen.
    Viewer,
    /// Also repairs requests (retry, resolve, note) and downloads the
    /// report, which carries ICNs.
    Operator,
    /// Also changes settings, such as the rollout flag.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown operator role: use viewer, operator or admin")]
pub struct UnknownOperatorRole;

impl OperatorRole {
    pub const ALL: [Self; 3] = [Self::Viewer, Self::Operator, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Result<Self, UnknownOperatorRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or(UnknownOperatorRole)
    }

    /// Whether this role may change a request or see the report's ICNs.
    pub fn repairs(self) -> bool {
        self >= Self::Operator
    }
}

/// A signed-in operator: who, for the audit log, and in which role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub id: String,
    pub role: OperatorRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operators_and_admins_repair() {
        assert!(!OperatorRole::Viewer.repairs());
        assert!(OperatorRole::Operator.repairs());
        assert!(OperatorRole::Admin.repairs());
        for role in OperatorRole::ALL {
            assert_eq!(OperatorRole::parse(role.as_str()), Ok(role));
        }
        assert_eq!(OperatorRole::parse("root"), Err(UnknownOperatorRole));
    }
}
