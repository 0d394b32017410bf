//! Server functions: the calls the pages make to the server.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::PageError;

/// The signed-in veteran, as the start page greets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Greeting {
    pub name: String,
    /// When the server looked the session up.
    pub checked_at: DateTime<Utc>,
}

#[server(endpoint = "greeting")]
pub async fn load_greeting() -> Result<Greeting, PageError> {
    let veteran = crate::session::current_veteran()?;
    Ok(Greeting {
        name: veteran.name,
        checked_at: Utc::now(),
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
    Ok(Some(
        crate::domain::TEST_USERS
            .iter()
            .map(|user| SignInChoice {
                id: user.id.to_owned(),
                name: user.name.to_owned(),
                description: user.description.to_owned(),
            })
            .collect(),
    ))
}
