use serde::{Deserialize, Serialize};

/// The kind of benefit an Intent to File is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItfType {
    Compensation,
    Pension,
    Survivor,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ITF type is compensation, pension or survivor")]
pub struct UnknownItfType;

impl ItfType {
    pub const ALL: [Self; 3] = [Self::Compensation, Self::Pension, Self::Survivor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compensation => "compensation",
            Self::Pension => "pension",
            Self::Survivor => "survivor",
        }
    }

    /// The benefit as a veteran reads it in a sentence: "an intent to file
    /// for disability compensation".
    pub fn benefit(self) -> &'static str {
        match self {
            Self::Compensation => "disability compensation",
            Self::Pension => "Veterans Pension",
            Self::Survivor => "survivors benefits",
        }
    }

    pub fn parse(value: &str) -> Result<Self, UnknownItfType> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or(UnknownItfType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ItfType::ALL {
            assert_eq!(ItfType::parse(t.as_str()), Ok(t));
        }
        assert_eq!(ItfType::parse("Compensation"), Err(UnknownItfType));
    }
}
