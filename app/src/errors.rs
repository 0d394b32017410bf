use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// What can go wrong behind a page, each with words a veteran can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum PageError {
    #[error("You're signed out. Sign in again to continue.")]
    SignedOut,
    #[error("We can't reach our records right now. Try again in a few minutes.")]
    ServiceUnavailable,
    #[error("We couldn't find that. Check the address, or go back and find it from the list.")]
    NotFound,
    #[error("Check what you entered: {0}")]
    BadInput(String),
    #[error("Something went wrong on our end. Reload the page or try again in a few minutes.")]
    Transport(ServerFnErrorErr),
}

impl FromServerFnError for PageError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value)
    }
}
