//! Personal data at rest: ICNs and names are stored sealed with
//! AES-256-GCM, a fresh nonce per value and the key's id kept with it, so
//! that keys can be rotated while the service runs. Look-ups by ICN go
//! through a blind index, an HMAC-SHA256 of the ICN under a key of its own.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use itf_app::domain::Icn;
use sha2::Sha256;

/// What a sealed value starts with: the format's version.
const VERSION: &str = "v1";
/// AES-GCM's nonce, in bytes.
const NONCE_BYTES: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("a value is sealed under key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("a sealed value does not open: it was altered, or the key is wrong")]
    DoesNotOpen,
    #[error("{0}")]
    BadKeys(String),
}

/// The data keys, by id, the one new values are sealed under, and the
/// blind-index key.
pub struct Keys {
    current: String,
    data: BTreeMap<String, Aes256Gcm>,
    blind: Vec<u8>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("current", &self.current)
            .field("ids", &self.data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// `data` holds each key's id and its 32 bytes; `current` names the one
    /// to seal under.
    pub fn new(
        data: &[(String, [u8; 32])],
        current: &str,
        blind: [u8; 32],
    ) -> Result<Self, SealError> {
        let mut keys = BTreeMap::new();
        for (id, key) in data {
            if id.is_empty() || id.contains('.') {
                return Err(SealError::BadKeys(format!(
                    "key id {id:?} must be non-empty and without dots"
                )));
            }
            keys.insert(id.clone(), Aes256Gcm::new(key.into()));
        }
        if !keys.contains_key(current) {
            return Err(SealError::BadKeys(format!(
                "the current key {current:?} is not among the keys"
            )));
        }
        Ok(Self {
            current: current.to_owned(),
            data: keys,
            blind: blind.to_vec(),
        })
    }

    /// The id new values are sealed under.
    pub fn current(&self) -> &str {
        &self.current
    }

    /// `v1.<key id>.<nonce>.<ciphertext>`, base64url.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the operating system's random source works");
        let cipher = &self.data[&self.current];
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM seals any value of this size");
        format!(
            "{VERSION}.{}.{}.{}",
            self.current,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(id), Some(nonce), Some(body), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SealError::Malformed);
        };
        let cipher = self
            .data
            .get(id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .filter(|nonce| nonce.len() == NONCE_BYTES)
            .ok_or(SealError::Malformed)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        let plain = cipher
            .decrypt(Nonce::from_slice(&nonce), body.as_ref())
            .map_err(|_| SealError::DoesNotOpen)?;
        String::from_utf8(plain).map_err(|_| SealError::DoesNotOpen)
    }

    /// The blind index of an ICN: what the store looks veterans up by.
    pub fn blind(&self, icn: &Icn) -> String {
        self.keyed_hash(b"icn:", icn)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A veteran's place among 100 buckets, the same every time and
    /// unguessable without the key: who a rollout share takes in.
    pub fn rollout_bucket(&self, icn: &Icn) -> u8 {
        let hash = self.keyed_hash(b"rollout:", icn);
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u8::try_from(u64::from_be_bytes(first) % 100).unwrap_or_default()
    }

    /// HMAC-SHA256 of the ICN under the blind-index key, in the domain
    /// `label` names, so that one use's hashes never match another's.
    fn keyed_hash(&self, label: &[u8], icn: &Icn) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.blind)
            .expect("HMAC takes a key of any length");
        mac.update(label);
        mac.update(icn.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Why the keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or write the key file {path}: {error}")]
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("the key file {0} is not `<id> <key>` lines with 32-byte base64url keys")]
    Malformed(std::path::PathBuf),
    #[error(transparent)]
    Keys(#[from] SealError),
}

/// The data-keys file development makes in the data folder.
pub const DEVELOPMENT_DATA_KEYS: &str = "data-keys";
/// The blind-index key file development makes in the data folder.
pub const DEVELOPMENT_BLIND_INDEX_KEY: &str = "blind-index.key";

/// The keys the settings name; in development, where none are named, the
/// data folder's, made on first use.
pub fn load(
    settings: &crate::config::KeySettings,
    data_dir: &std::path::Path,
) -> Result<Keys, KeyFileError> {
    let data_file = settings
        .data_keys_file
        .clone()
        .unwrap_or_else(|| data_dir.join(DEVELOPMENT_DATA_KEYS));
    let blind_file = settings
        .blind_index_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join(DEVELOPMENT_BLIND_INDEX_KEY));
    if settings.make_on_first_use && settings.data_keys_file.is_none() {
        make_once(&data_file, &format!("d1 {}\n", encode_key(&random_key())))?;
    }
    if settings.make_on_first_use && settings.blind_index_key_file.is_none() {
        make_once(&blind_file, &format!("{}\n", encode_key(&random_key())))?;
    }
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|error| KeyFileError::Io {
            path: path.to_owned(),
            error,
        })
    };
    let mut data = Vec::new();
    for line in read(&data_file)?.lines().filter(|l| !l.trim().is_empty()) {
        let (id, key) = line
            .trim()
            .split_once(' ')
            .and_then(|(id, key)| Some((id.to_owned(), decode_key(key)?)))
            .ok_or_else(|| KeyFileError::Malformed(data_file.clone()))?;
        data.push((id, key));
    }
    let current = match &settings.current {
        Some(current) => current.clone(),
        None => data
            .last()
            .map(|(id, _)| id.clone())
            .ok_or_else(|| KeyFileError::Malformed(data_file.clone()))?,
    };
    let blind = decode_key(&read(&blind_file)?).ok_or(KeyFileError::Malformed(blind_file))?;
    Ok(Keys::new(&data, &current, blind)?)
}

/// Writes `content` to `path` unless it exists, atomically: instances
/// starting together agree on one key.
fn make_once(path: &std::path::Path, content: &str) -> Result<(), KeyFileError> {
    let io = |error| KeyFileError::Io {
        path: path.to_owned(),
        error,
    };
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let draft = path.with_extension(format!("draft-{}", uuid::Uuid::new_v4()));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&draft)
            .map_err(io)?;
        file.write_all(content.as_bytes()).map_err(io)?;
    }
    let published = std::fs::hard_link(&draft, path);
    let _ = std::fs::remove_file(&draft);
    match published {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => Err(io(error)),
        _ => Ok(()),
    }
}

/// 32 random bytes, for a key made on first use.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source works");
    key
}

/// A key as written in a key file: base64.
pub fn encode_key(key: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_key(text: &str) -> Option<[u8; 32]> {
    URL_SAFE_NO_PAD.decode(text.trim()).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str) -> Keys {
        Keys::new(
            &[("k1".to_owned(), [1; 32]), ("k2".to_owned(), [2; 32])],
            current,
            [9; 32],
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_value_opens_under_any_configured_key_and_hides_its_text() {
        let icn = "1012667145V762142";
        let old = keys("k1").seal(icn);
        assert!(!old.contains(icn) && old.starts_with("v1.k1."), "{old}");
        assert_ne!(old, keys("k1").seal(icn), "a fresh nonce each time");
        let rotated = keys("k2");
        assert_eq!(rotated.open(&old).unwrap(), icn);
        assert!(rotated.seal(icn).starts_with("v1.k2."));
    }

    #[test]
    fn an_altered_or_foreign_value_does_not_open() {
        let keys = keys("k1");
        let sealed = keys.seal("Hector Allen");
        // A letter of the ciphertext changed: still base64, another text.
        let at = sealed.rfind('.').unwrap() + 2;
        let swapped = if &sealed[at..=at] == "A" { "B" } else { "A" };
        let altered = format!("{}{swapped}{}", &sealed[..at], &sealed[at + 1..]);
        assert_eq!(keys.open(&altered), Err(SealError::DoesNotOpen));
        assert_eq!(
            keys.open(&sealed.replace("v1.k1.", "v1.k9.")),
            Err(SealError::UnknownKey("k9".to_owned()))
        );
        assert_eq!(keys.open("Hector Allen"), Err(SealError::Malformed));
    }

    #[test]
    fn the_blind_index_is_stable_and_keyed() {
        let icn = Icn::parse("1012667145V762142").unwrap();
        assert_eq!(keys("k1").blind(&icn), keys("k2").blind(&icn));
        assert_eq!(keys("k1").blind(&icn).len(), 64);
        let other = Keys::new(&[("k1".to_owned(), [1; 32])], "k1", [8; 32]).unwrap();
        assert_ne!(other.blind(&icn), keys("k1").blind(&icn));
        assert!(format!("{:?}", keys("k1")).contains("k2"));
    }
}
