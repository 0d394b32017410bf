//! Made-up veterans for development: the named test users mock sign-in
//! offers and the provider simulator knows, and `load-N` veterans for load
//! and fault tests. Nothing here is used with a real provider.

use crate::domain::{Icn, Veteran, VeteranName};

/// A made-up veteran that mock sign-in offers in development, matched by a
/// seeded veteran in the provider simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestUser {
    pub id: &'static str,
    pub name: &'static str,
    /// What the account is for, in plain words, for the sign-in page.
    pub description: &'static str,
    icn: &'static str,
}

pub const TEST_USERS: [TestUser; 5] = [
    TestUser {
        id: "vet-no-itf",
        name: "Hector Allen",
        description: "Veteran with no Intent to File",
        icn: "1012667145V762142",
    },
    TestUser {
        id: "vet-active-itf",
        name: "Wanda Brooks",
        description: "Veteran with an active Intent to File",
        icn: "1012667146V762143",
    },
    TestUser {
        id: "vet-expired-itf",
        name: "Carlos Diaz",
        description: "Veteran whose Intent to File has expired",
        icn: "1012667147V762144",
    },
    TestUser {
        id: "vet-unknown",
        name: "Dana Evans",
        description: "Veteran the provider has no record of",
        icn: "1012667148V762145",
    },
    TestUser {
        id: "vet-rejected",
        name: "Frances Gray",
        description: "Veteran whose Intent to File the provider rejects",
        icn: "1012667149V762146",
    },
];

/// Generated users `load-1` … `load-100000`, each a distinct veteran, for
/// load and fault tests.
pub const LOAD_USERS: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no test user with that id; pick one from the sign-in page")]
pub struct UnknownTestUser;

impl TestUser {
    pub fn veteran(&self) -> Veteran {
        Veteran {
            user_id: self.id.to_owned(),
            name: VeteranName::new(self.name.to_owned()),
            icn: Icn::parse(self.icn).expect("test users have well-formed ICNs"),
        }
    }
}

/// The veteran behind a test user id: a named user or `load-N`.
pub fn test_veteran(id: &str) -> Result<Veteran, UnknownTestUser> {
    if let Some(user) = TEST_USERS.iter().find(|u| u.id == id) {
        return Ok(user.veteran());
    }
    let n: u32 = id
        .strip_prefix("load-")
        .filter(|digits| !digits.starts_with('0'))
        .and_then(|digits| digits.parse().ok())
        .filter(|n| (1..=LOAD_USERS).contains(n))
        .ok_or(UnknownTestUser)?;
    Ok(Veteran {
        user_id: id.to_owned(),
        name: VeteranName::new(format!("Load Test Veteran {n}")),
        icn: Icn::parse(&format!("{:010}V{:06}", 2_000_000_000u64 + u64::from(n), n))
            .expect("generated ICNs are well-formed"),
    })
}

/// The test user an ICN belongs to, named or `load-N`; `None` for any other
/// ICN. Lets the provider simulator name veterans in its ledger.
pub fn test_user_for_icn(icn: &Icn) -> Option<String> {
    let icn = icn.expose();
    if let Some(user) = TEST_USERS.iter().find(|u| u.icn == icn) {
        return Some(user.id.to_owned());
    }
    let (head, tail) = icn.split_once('V')?;
    let n: u32 = tail.parse().ok()?;
    let expected_head = 2_000_000_000u64 + u64::from(n);
    ((1..=LOAD_USERS).contains(&n) && head.parse::<u64>().ok()? == expected_head)
        .then(|| format!("load-{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_user_resolves() {
        for user in TEST_USERS {
            assert_eq!(test_veteran(user.id).unwrap().name.expose(), user.name);
        }
    }

    #[test]
    fn load_users_are_distinct_veterans_within_range() {
        let first = test_veteran("load-1").unwrap();
        let last = test_veteran("load-100000").unwrap();
        assert_ne!(first.icn, last.icn);
        assert_eq!(first.user_id, "load-1");
        for bad in [
            "load-0",
            "load-100001",
            "load-01",
            "load-",
            "load-x",
            "vet-nobody",
            "",
        ] {
            assert_eq!(test_veteran(bad), Err(UnknownTestUser), "{bad:?}");
        }
    }

    #[test]
    fn icns_lead_back_to_their_test_users() {
        for id in ["vet-no-itf", "vet-rejected", "load-1", "load-100000"] {
            let veteran = test_veteran(id).unwrap();
            assert_eq!(test_user_for_icn(&veteran.icn).as_deref(), Some(id));
        }
        let stranger = Icn::parse("2000000001V000002").unwrap();
        assert_eq!(test_user_for_icn(&stranger), None);
    }

    #[test]
    fn named_users_have_distinct_icns() {
        let mut icns: Vec<_> = TEST_USERS.iter().map(|u| u.icn).collect();
        icns.sort_unstable();
        icns.dedup();
        assert_eq!(icns.len(), TEST_USERS.len());
    }
}
