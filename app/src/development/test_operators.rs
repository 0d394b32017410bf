//! Made-up operators for the console's mock sign-in, one per role.

use crate::domain::{Operator, OperatorRole};

/// A test operator as the console's sign-in page lists it.
pub struct TestOperator {
    pub id: &'static str,
    pub role: OperatorRole,
    /// What the account may do, in plain words.
    pub description: &'static str,
}

pub const TEST_OPERATORS: [TestOperator; 3] = [
    TestOperator {
        id: "ops-viewer",
        role: OperatorRole::Viewer,
        description: "Viewer: reads requests and the report",
    },
    TestOperator {
        id: "ops-operator",
        role: OperatorRole::Operator,
        description: "Operator: also retries, resolves and downloads the report",
    },
    TestOperator {
        id: "ops-admin",
        role: OperatorRole::Admin,
        description: "Admin: also changes settings",
    },
];

/// The operator behind a test operator id.
pub fn test_operator(id: &str) -> Option<Operator> {
    TEST_OPERATORS
        .iter()
        .find(|operator| operator.id == id)
        .map(|operator| Operator {
            id: operator.id.to_owned(),
            role: operator.role,
        })
}
