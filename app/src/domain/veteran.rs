use std::fmt;

use super::Icn;

/// The veteran a session belongs to. Its name and ICN are PII: `Debug`
/// redacts both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veteran {
    /// Our name for the account: a test user's id in development.
    pub user_id: String,
    pub name: VeteranName,
    pub icn: Icn,
}

/// A veteran's name. PII: `Debug` redacts it and there is no `Display`, so
/// that it reaches a page only on purpose and a log line never.
#[derive(Clone, PartialEq, Eq)]
pub struct VeteranName(String);

impl VeteranName {
    pub fn new(name: String) -> Self {
        Self(name)
    }

    /// The name itself, for the page that greets the veteran and the
    /// database; never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first name, as a message to the veteran greets them.
    pub fn first_name(&self) -> &str {
        self.0.split_whitespace().next().unwrap_or_default()
    }
}

impl fmt::Debug for VeteranName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VeteranName(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_name_nor_icn() {
        let veteran = Veteran {
            user_id: "vet-no-itf".to_owned(),
            name: VeteranName::new("Hector Allen".to_owned()),
            icn: Icn::parse("1012667145V762142").unwrap(),
        };
        let text = format!("{veteran:?}");
        assert!(
            !text.contains("Hector") && !text.contains("1012667145"),
            "{text}"
        );
    }
}
