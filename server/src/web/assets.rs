//! The site's static files, served so that a browser downloads each once:
//! the WebAssembly with its JavaScript and stylesheet (`pkg/`) and the VA
//! Design System (`vads/`) are each served under a path holding a hash of
//! the files (`/pkg-<hash>/`, `/vads-<hash>/`) with `Cache-Control:
//! immutable`; a new build is a new path. What a release build compressed
//! ahead is sent as it is; compression of everything else is a layer of the
//! whole router.

use std::path::{Path, PathBuf};

use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// A year, the longest browsers honour, for files whose path changes with
/// their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The versioned paths of the two trees, without their leading `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assets {
    root: PathBuf,
    pub pkg: String,
    pub vads: String,
}

impl Assets {
    /// The paths of the trees under `root` (the site root), as built now.
    pub fn of(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            pkg: format!("pkg-{}", version(&root.join("pkg"))),
            vads: format!("vads-{}", version(&root.join("vads"))),
        }
    }

    /// Serves both trees under their versioned paths.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let immutable =
            SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        // Files a release build compressed ahead (`--precompress`) are sent
        // as they are; the others are compressed on the way out.
        let tree = |dir: &str| {
            ServeDir::new(self.root.join(dir))
                .precompressed_br()
                .precompressed_gzip()
        };
        Router::new()
            .nest_service(&format!("/{}", self.pkg), tree("pkg"))
            .nest_service(&format!("/{}", self.vads), tree("vads"))
            .layer(immutable)
    }
}

/// A short hash of a tree's file names, sizes and modification times:
/// every build writes its files anew, so any change of content changes it,
/// without reading megabytes at start-up.
fn version(dir: &Path) -> String {
    let mut files = Vec::new();
    list(dir, &mut files);
    files.sort();
    let mut hash = Sha256::new();
    for (path, size, modified) in files {
        hash.update(path.to_string_lossy().as_bytes());
        hash.update(size.to_le_bytes());
        hash.update(modified.to_le_bytes());
    }
    hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn list(dir: &Path, files: &mut Vec<(PathBuf, u64, u128)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            list(&path, files);
        } else {
            let modified = metadata
                .modified()
                .ok()
                .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |since| since.as_nanos());
            files.push((path, metadata.len(), modified));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_the_files_changes_the_path() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(site.path().join("pkg")).unwrap();
        std::fs::write(site.path().join("pkg/itf-async.js"), "one").unwrap();
        let before = Assets::of(site.path());
        assert_eq!(
            before,
            Assets::of(site.path()),
            "the same files, the same path"
        );
        assert!(before.pkg.starts_with("pkg-") && before.pkg.len() == 16);
        std::fs::write(site.path().join("pkg/itf-async.js"), "two, longer").unwrap();
        let after = Assets::of(site.path());
        assert_ne!(after.pkg, before.pkg);
        assert_eq!(after.vads, before.vads);
    }
}
