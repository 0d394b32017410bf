//! The keys personal data is sealed with: data keys by id (several at once,
//! so that they can be rotated) and the blind-index key. Files only: a key
//! never sits in the environment of every process. Production needs both;
//! development makes them on first use in the data folder.

use std::path::PathBuf;

use super::reader::Reader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySettings {
    /// One key per line, `<id> <32 bytes in base64url>`.
    pub data_keys_file: Option<PathBuf>,
    /// The id new values are sealed under; the file's last key when unset.
    pub current: Option<String>,
    /// 32 bytes in base64url.
    pub blind_index_key_file: Option<PathBuf>,
    /// Development: keys not named are made on first use in the data
    /// folder. Never in production.
    pub make_on_first_use: bool,
}

pub fn read(reader: &mut Reader<'_>, production: bool) -> KeySettings {
    let path = |reader: &mut Reader<'_>, name: &str, what: &str| {
        if production {
            reader.required(name, what).map(PathBuf::from)
        } else {
            reader.text(name).map(PathBuf::from)
        }
    };
    KeySettings {
        data_keys_file: path(
            reader,
            "ITF_DATA_KEYS_FILE",
            "a file of the keys that seal ICNs and names, one `<id> <key>` per line",
        ),
        current: reader.text("ITF_DATA_KEY_CURRENT"),
        blind_index_key_file: path(
            reader,
            "ITF_BLIND_INDEX_KEY_FILE",
            "a file holding the key of the ICNs' blind index",
        ),
        make_on_first_use: !production,
    }
}
