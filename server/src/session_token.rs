//! The secret in a veteran's session cookie.

use std::fmt;

use sha2::{Digest, Sha256};

/// 32 random bytes, written as 64 lowercase hex digits in the cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

/// What the store keeps instead of the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionTokenHash([u8; 32]);

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A token from a cookie; `None` for anything we could not have issued.
    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == 64
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| Self(value.to_owned()))
    }

    pub fn hash(&self) -> SessionTokenHash {
        SessionTokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The session's CSRF token, which pages on another listed origin send
    /// back in `X-CSRF-Token`: a one-way function of the cookie's secret,
    /// so it gives nothing of the cookie away, and a page can learn it only
    /// from our answers, which CORS shows to listed origins alone.
    pub fn csrf_token(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"itf-async csrf token\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl SessionTokenHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// From 64 hex digits, as PostgreSQL's `encode(…, 'hex')` writes it.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        if hex.len() != 2 * bytes.len() {
            return None;
        }
        let digit = |d: u8| char::from(d).to_digit(16);
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
        }
        Some(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_the_sessions_own_and_not_its_secret() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.csrf_token(), a.clone().csrf_token());
        assert_ne!(a.csrf_token(), b.csrf_token());
        assert_ne!(a.csrf_token(), a.expose());
        assert_eq!(a.csrf_token().len(), 64);
    }

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a, b);
        assert_eq!(SessionToken::parse(a.expose()), Some(a.clone()));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn a_hash_reads_back_from_hex_and_nothing_else_does() {
        let hash = SessionToken::generate().hash();
        let hex: String = hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(SessionTokenHash::from_hex(&hex), Some(hash));
        for bad in ["", "ab", &"+f".repeat(32), &"g".repeat(64), &"é".repeat(32)] {
            assert_eq!(SessionTokenHash::from_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn foreign_values_are_refused() {
        for bad in ["", "abc", &"G".repeat(64), &"A".repeat(64), &"a".repeat(65)] {
            assert_eq!(SessionToken::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let token = SessionToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
