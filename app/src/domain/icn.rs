use std::fmt;

/// A veteran's Integration Control Number: ten digits, `V`, six digits.
///
/// It identifies a veteran across VA and is part of the provider's URL paths,
/// so it is PII: `Debug` redacts it and there is no `Display`, which keeps it
/// out of log lines written with `{:?}` or `{}` by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Icn(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an ICN is ten digits, the letter V and six digits")]
pub struct InvalidIcn;

impl Icn {
    pub fn parse(value: &str) -> Result<Self, InvalidIcn> {
        let bytes = value.as_bytes();
        let well_formed = bytes.len() == 17
            && bytes[..10].iter().all(u8::is_ascii_digit)
            && bytes[10] == b'V'
            && bytes[11..].iter().all(u8::is_ascii_digit);
        if well_formed {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidIcn)
        }
    }

    /// The ICN itself, for the database and the provider's URL; never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Icn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Icn(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_shape() {
        assert_eq!(
            Icn::parse("1012667145V762142").unwrap().expose(),
            "1012667145V762142"
        );
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            "1012667145762142",
            "1012667145v762142",
            "101266714XV762142",
            "1012667145V7621421",
            "1012667145V76214",
        ] {
            assert_eq!(Icn::parse(bad), Err(InvalidIcn), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_number() {
        let icn = Icn::parse("1012667145V762142").unwrap();
        let shown = format!("{icn:?} {:?}", Some(&icn));
        assert!(!shown.contains("1012667145"), "{shown}");
        assert!(!shown.contains("762142"), "{shown}");
    }
}
