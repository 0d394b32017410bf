//! Sign-ins under way at an OpenID provider, as the store keeps them
//! between sending a person there and their coming back.

use chrono::{DateTime, Utc};

use super::model::named;
use super::StoreError;

named! {
    /// Who is signing in, and so which client, callback and session.
    pub enum SignInKind {
        Veteran => "veteran",
        Operator => "operator",
    }
}

named! {
    /// How a session was started.
    pub enum SignInMethod {
        /// At the OpenID provider, whose own session signing out ends too.
        Provider => "provider",
        /// Development's mock sign-in.
        Mock => "mock",
    }
}

/// What the callback needs to finish a sign-in: the nonce the id token
/// must carry and the PKCE verifier the code is exchanged with.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    pub kind: SignInKind,
    pub nonce: String,
    pub pkce_verifier: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SignInAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInAttempt")
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A sign-in attempt as both databases return it.
#[derive(sqlx::FromRow)]
pub struct SignInAttemptRow<T> {
    pub kind: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub expires_at: T,
}

impl<T: Into<DateTime<Utc>>> SignInAttemptRow<T> {
    /// The attempt, if it is still good at `now`.
    pub fn open(self, now: DateTime<Utc>) -> Result<Option<SignInAttempt>, StoreError> {
        let kind = SignInKind::parse(&self.kind)?;
        let expires_at = self.expires_at.into();
        Ok((expires_at > now).then_some(SignInAttempt {
            kind,
            nonce: self.nonce,
            pkce_verifier: self.pkce_verifier,
            expires_at,
        }))
    }
}
