//! The development key pair: the client signs its assertions with the
//! private key and the simulator checks them with the public one. Kept under
//! the data folder and made on first use, so nothing needs configuring; an
//! app and a standalone simulator started from one folder share it.

use std::io;
use std::path::{Path, PathBuf};

use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;

const FILE_NAME: &str = "lighthouse-simulator-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the development key {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the development key {path} is not an RSA private key in PKCS#8 PEM; delete it to have a new one made")]
    Malformed { path: PathBuf },
    #[error("cannot make an RSA key: {0}")]
    Generate(#[from] rsa::Error),
}

/// The private key in PEM, and its public half in PEM.
#[derive(Clone)]
pub struct DevelopmentKey {
    pub private_pem: Vec<u8>,
    pub public_pem: Vec<u8>,
}

impl DevelopmentKey {
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(FILE_NAME);
        let io_error = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            std::fs::create_dir_all(data_dir).map_err(io_error)?;
            let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| KeyError::Malformed { path: path.clone() })?;
            // Written aside, then linked into place: the link fails if another
            // process made the key first, and then we use theirs.
            let aside = data_dir.join(format!("{FILE_NAME}.{}", std::process::id()));
            std::fs::write(&aside, pem.as_bytes()).map_err(io_error)?;
            let linked = std::fs::hard_link(&aside, &path);
            let _ = std::fs::remove_file(&aside);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(e)),
            }
        }
        let text = std::fs::read_to_string(&path).map_err(io_error)?;
        let malformed = || KeyError::Malformed { path: path.clone() };
        let key = RsaPrivateKey::from_pkcs8_pem(&text).map_err(|_| malformed())?;
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| malformed())?;
        Ok(Self {
            private_pem: text.into_bytes(),
            public_pem: public_pem.into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DevelopmentKey::load_or_create(dir.path()).unwrap();
        let second = DevelopmentKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.private_pem, second.private_pem);
        assert!(
            String::from_utf8_lossy(&first.public_pem).starts_with("-----BEGIN PUBLIC KEY-----")
        );
    }

    #[test]
    fn a_damaged_key_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "not a key").unwrap();
        let error = DevelopmentKey::load_or_create(dir.path()).err().unwrap();
        assert!(matches!(error, KeyError::Malformed { .. }));
    }
}
