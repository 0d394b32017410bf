//! Where the pages find their files: the VA Design System under a path the
//! server sets once at start-up, holding a hash of their content, so that a
//! new version is a new address and browsers may keep each for good; and
//! whether a page loads the WebAssembly at all.

use std::sync::OnceLock;

static DESIGN_SYSTEM: OnceLock<String> = OnceLock::new();

/// The path the design system's files are served under; `/vads` until the
/// server sets it.
pub fn design_system() -> &'static str {
    DESIGN_SYSTEM.get().map_or("/vads", String::as_str)
}

/// Sets the path, once; later calls change nothing.
pub fn set_design_system(path: String) {
    let _ = DESIGN_SYSTEM.set(path);
}

/// Whether the page being rendered is the operators' console, which is
/// served without WebAssembly (see `console`).
#[cfg(feature = "ssr")]
pub fn serves_console() -> bool {
    leptos::prelude::use_context::<http::request::Parts>()
        .is_some_and(|request| request.uri.path().starts_with("/console"))
}

#[cfg(not(feature = "ssr"))]
pub fn serves_console() -> bool {
    false
}
