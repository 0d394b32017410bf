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

/// The test users mock sign-in offers, or `None` where mock sign-in is not
/// mounted (any instance with a real provider).
#[server(endpoint = "sign-in-choices")]
pub async fn sign_in_choices() -> Result<Option<Vec<SignInChoice>>, PageError> {
    if !crate::session::surfaces().development {
        return Ok(None);
    }
    Ok(Some(test_user_choices()))
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
