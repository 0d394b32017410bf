//! What the server tells the pages about the request's session.

use crate::domain::Veteran;

/// Put in the request's extensions by the server's session layer when the
/// request carries a valid session cookie.
#[derive(Debug, Clone)]
pub struct CurrentVeteran(pub Veteran);

/// Put in the request's extensions when the session could not be looked up
/// because the database is down: the page then says so, instead of sending a
/// signed-in veteran back to sign in.
#[derive(Debug, Clone, Copy)]
pub struct SessionLookupFailed;

/// What the server tells the pages about the instance they run on.
#[derive(Debug, Clone)]
pub struct Surfaces {
    /// Mock sign-in and the other development surfaces are mounted.
    pub development: bool,
    /// Where the application begins, when it is not this app's own
    /// placeholder page.
    pub application_url: Option<String>,
}

/// Where the start page gets the veteran's ITF status from: the server's
/// look-up and intake, provided to the pages as context.
#[cfg(feature = "ssr")]
pub trait PanelSource: Send + Sync {
    /// The panel for `veteran`; `watching` is the request the page showed as
    /// pending, so that its confirmation can be shown as such.
    fn panel<'a>(
        &'a self,
        veteran: &'a Veteran,
        watching: Option<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::domain::ItfPanel> + Send + 'a>>;
}

#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Panels(pub std::sync::Arc<dyn PanelSource>);

#[cfg(feature = "ssr")]
pub(crate) fn current_veteran() -> Result<Veteran, crate::PageError> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()
        .ok_or(crate::PageError::SignedOut)?;
    if let Some(CurrentVeteran(veteran)) = parts.extensions.get::<CurrentVeteran>() {
        return Ok(veteran.clone());
    }
    if parts.extensions.get::<SessionLookupFailed>().is_some() {
        return Err(crate::PageError::ServiceUnavailable);
    }
    Err(crate::PageError::SignedOut)
}

#[cfg(feature = "ssr")]
pub(crate) fn surfaces() -> Surfaces {
    leptos::prelude::use_context::<Surfaces>().unwrap_or(Surfaces {
        development: false,
        application_url: None,
    })
}
