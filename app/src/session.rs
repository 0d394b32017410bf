//! What the server tells the pages about the request's session.

use crate::domain::{Operator, Veteran};

/// Put in the request's extensions by the server's session layer when the
/// request carries a valid session cookie.
#[derive(Debug, Clone)]
pub struct CurrentVeteran(pub Veteran);

/// Put in the request's extensions by the console's session layer when the
/// request carries a valid operator session cookie.
#[derive(Debug, Clone)]
pub struct CurrentOperator(pub Operator);

/// The operator the console's session layer found for this request.
#[cfg(feature = "ssr")]
pub fn signed_in_operator(extensions: &http::Extensions) -> Option<Operator> {
    extensions
        .get::<CurrentOperator>()
        .map(|CurrentOperator(operator)| operator.clone())
}

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
    /// Veterans sign in at an OpenID provider.
    pub veteran_sign_in: bool,
    /// Operators sign in to the console at an OpenID provider.
    pub operator_sign_in: bool,
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

/// Where the application page learns what a submission would carry: the
/// server's service API, called in-process.
#[cfg(feature = "ssr")]
pub trait SubmissionSource: Send + Sync {
    fn submission<'a>(
        &'a self,
        veteran: &'a Veteran,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<crate::domain::SubmissionItf, crate::PageError>>
                + Send
                + 'a,
        >,
    >;
}

#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Submissions(pub std::sync::Arc<dyn SubmissionSource>);

/// Why a request has no veteran to act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoVeteran {
    SignedOut,
    /// The session could not be looked up: the database is down.
    SessionUnavailable,
}

/// The veteran the server's session layer found for this request. The one
/// check both the REST API and the pages use.
#[cfg(feature = "ssr")]
pub fn signed_in(extensions: &http::Extensions) -> Result<Veteran, NoVeteran> {
    if let Some(CurrentVeteran(veteran)) = extensions.get::<CurrentVeteran>() {
        return Ok(veteran.clone());
    }
    if extensions.get::<SessionLookupFailed>().is_some() {
        return Err(NoVeteran::SessionUnavailable);
    }
    Err(NoVeteran::SignedOut)
}

#[cfg(feature = "ssr")]
pub(crate) fn current_veteran() -> Result<Veteran, crate::PageError> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()
        .ok_or(crate::PageError::SignedOut)?;
    signed_in(&parts.extensions).map_err(|missing| match missing {
        NoVeteran::SignedOut => crate::PageError::SignedOut,
        NoVeteran::SessionUnavailable => crate::PageError::ServiceUnavailable,
    })
}

#[cfg(feature = "ssr")]
pub(crate) fn surfaces() -> Surfaces {
    leptos::prelude::use_context::<Surfaces>().unwrap_or(Surfaces {
        development: false,
        application_url: None,
        veteran_sign_in: false,
        operator_sign_in: false,
    })
}
