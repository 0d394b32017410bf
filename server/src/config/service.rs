//! Who may call the service API: other VA services, each by a bearer token
//! whose SHA-256 is configured under a name. Several at once, so that a
//! token is rotated by adding the new one, moving the caller, and removing
//! the old.

use super::reader::Reader;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct ServiceSettings {
    /// Each credential's name and its token's SHA-256.
    pub tokens: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for ServiceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.tokens.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ServiceSettings")
            .field("credentials", &names)
            .finish()
    }
}

/// `ITF_SERVICE_TOKENS`: `name=<SHA-256 of the token, 64 hex digits>` pairs
/// separated by commas.
pub fn read(reader: &mut Reader<'_>) -> ServiceSettings {
    const NAME: &str = "ITF_SERVICE_TOKENS";
    let Some(text) = reader.text(NAME) else {
        return ServiceSettings::default();
    };
    let parsed: Option<Vec<(String, [u8; 32])>> = text
        .split(',')
        .map(|pair| {
            let (name, hash) = pair.split_once('=')?;
            let name = name.trim();
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            Some((name.to_owned(), hex32(hash.trim())?)).filter(|_| valid_name)
        })
        .collect();
    let unique = |tokens: &[(String, [u8; 32])]| {
        let mut names: Vec<&str> = tokens.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        names.windows(2).all(|pair| pair[0] != pair[1])
    };
    match parsed {
        Some(tokens) if unique(&tokens) => ServiceSettings { tokens },
        _ => {
            reader.problem(
                NAME,
                "is not accepted; use `name=<SHA-256 of the token in hex>` pairs separated by \
                 commas, each name once (letters, digits, - and _)",
            );
            ServiceSettings::default()
        }
    }
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}
