//! Server functions: the calls the pages make to the server.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::PageError;

/// The signed-in veteran, as the start page greets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Greeting {
    pub name: String,
}

#[server(endpoint = "greeting")]
pub async fn load_greeting() -> Result<Greeting, PageError> {
    let veteran = crate::session::current_veteran()?;
    Ok(Greeting {
        name: veteran.name.expose().to_owned(),
    })
}

/// A test user as the sign-in page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInChoice {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// How people sign in on this site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInMethods {
    /// At the OpenID provider: veterans on the sign-in page, operators on
    /// the console's.
    pub provider: bool,
    /// Development's made-up users, where mock sign-in is mounted (never
    /// with a real provider).
    pub test_users: Option<Vec<SignInChoice>>,
}

/// How veterans, or with `console` operators, sign in here.
#[server(endpoint = "sign-in-options")]
pub async fn sign_in_options(console: bool) -> Result<SignInMethods, PageError> {
    let surfaces = crate::session::surfaces();
    Ok(SignInMethods {
        provider: if console {
            surfaces.operator_sign_in
        } else {
            surfaces.veteran_sign_in
        },
        test_users: surfaces.development.then(test_user_choices),
    })
}

/// The named test users, as sign-in forms list them.
pub fn test_user_choices() -> Vec<SignInChoice> {
    crate::development::TEST_USERS
        .iter()
        .map(|user| SignInChoice {
            id: user.id.to_owned(),
            name: user.name.to_owned(),
            description: user.description.to_owned(),
        })
        .collect()
}

/// The veteran's ITF status panel. A database that cannot be reached is the
/// `unavailable` state, not an error: the page still leads on.
#[server(endpoint = "itf-status")]
pub async fn itf_status(watching: Option<String>) -> Result<crate::domain::ItfPanel, PageError> {
    let veteran = match crate::session::current_veteran() {
        Ok(veteran) => veteran,
        Err(PageError::ServiceUnavailable) => return Ok(crate::domain::ItfPanel::unavailable()),
        Err(other) => return Err(other),
    };
    let Some(crate::session::Panels(source)) = use_context::<crate::session::Panels>() else {
        return Ok(crate::domain::ItfPanel::unavailable());
    };
    Ok(source.panel(&veteran, watching).await)
}

/// What the review page shows of the review controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSettings {
    /// The provider simulator's mode.
    pub mode: String,
    /// After how many minutes a pending request is shown as delayed.
    pub delayed_after_minutes: u64,
    /// Our database is made to look down.
    pub outage: bool,
}

/// The review controls, or `None` where review mode is off (production).
#[server(endpoint = "review-settings")]
pub async fn load_review_settings() -> Result<Option<ReviewSettings>, PageError> {
    Ok(use_context::<ReviewSettings>())
}

/// What the veteran's 526 submission would carry about their ITF.
#[server(endpoint = "submission-itf")]
pub async fn submission_itf() -> Result<crate::domain::SubmissionItf, PageError> {
    let veteran = crate::session::current_veteran()?;
    let crate::session::Submissions(source) =
        use_context::<crate::session::Submissions>().ok_or(PageError::ServiceUnavailable)?;
    source.submission(&veteran).await
}
