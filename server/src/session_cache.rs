//! Veterans' sessions as last read, so that a session in steady use is not
//! read from the database on every request.
//!
//! An entry is served only while the session owes no write: neither its use
//! recorded nor its end (`session_activity`), so at most `TOUCH_EVERY`
//! after its use was last written, and never past its expiry. Every time a
//! session is written or found idle the database is read again. A session
//! ended on this instance leaves the cache at once; one ended on another
//! instance leaves it when PostgreSQL tells (`SESSIONS_ENDED_CHANNEL`), and
//! while an instance cannot hear that, it serves nothing from its cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::DatabaseUrl;
use crate::session_token::SessionTokenHash;
use crate::store::{session_activity, Session, TOUCH_EVERY};

/// More sessions than this in use within `TOUCH_EVERY` are read from the
/// database beyond it: the cache never grows past it (about 5 MB), however
/// many veterans sign in.
const MOST_ENTRIES: usize = 10_000;

pub struct SessionCache {
    inner: Mutex<Inner>,
}

struct Inner {
    entries: HashMap<SessionTokenHash, Cached>,
    /// Moved on by every end of a session and every change in `hearing`: a
    /// session read before it moved may have ended since, and is not kept.
    generation: u64,
    /// Whether ends of sessions on other instances reach this one.
    hearing: bool,
}

struct Cached {
    session: Session,
    kept_at: Instant,
}

/// When a look-up in the database began, for `SessionCache::keep`.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl SessionCache {
    /// The cache for an instance on `database`. On PostgreSQL other
    /// instances may end sessions: the cache serves nothing until it hears
    /// of their ends, for which it starts listening.
    pub fn for_database(database: &DatabaseUrl) -> Arc<Self> {
        match database {
            DatabaseUrl::Postgres(url) => {
                let cache = Arc::new(Self::new(false));
                tokio::spawn(crate::store::forward_session_ends(
                    url.clone(),
                    cache.clone(),
                ));
                cache
            }
            DatabaseUrl::Sqlite(_) => Arc::new(Self::new(true)),
        }
    }

    /// `hearing`: whether this instance hears of every end of a session
    /// from the start (it is the only instance), or only once it listens.
    pub fn new(hearing: bool) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
                hearing,
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map is consistent after every statement: a panic elsewhere
        // while it was held leaves nothing half done.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session, if it was kept, has not expired at `now` and owes no
    /// write with sessions ending after `idle` unused.
    pub fn find(
        &self,
        token: &SessionTokenHash,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Option<Session> {
        let inner = self.inner();
        let cached = inner.entries.get(token).filter(|_| inner.hearing)?;
        let owes_nothing =
            session_activity(cached.session.last_seen_at, now, idle) == (false, false);
        (owes_nothing && cached.session.expires_at > now).then(|| cached.session.clone())
    }

    /// To be taken before the session is read from the database.
    pub fn generation(&self) -> Generation {
        Generation(self.inner().generation)
    }

    /// Keeps a session read from the database since `read`, unless one
    /// ended meanwhile (it may have been this one).
    pub fn keep(&self, token: SessionTokenHash, session: Session, read: Generation) {
        let mut inner = self.inner();
        if !inner.hearing || inner.generation != read.0 {
            return;
        }
        if inner.entries.len() >= MOST_ENTRIES {
            let servable = TOUCH_EVERY.to_std().unwrap_or(Duration::ZERO);
            inner
                .entries
                .retain(|_, cached| cached.kept_at.elapsed() < servable);
            if inner.entries.len() >= MOST_ENTRIES {
                return;
            }
        }
        inner.entries.insert(
            token,
            Cached {
                session,
                kept_at: Instant::now(),
            },
        );
    }

    /// The session has ended (signed out, replaced by a new sign-in, idle).
    pub fn end(&self, token: &SessionTokenHash) {
        let mut inner = self.inner();
        inner.entries.remove(token);
        inner.generation += 1;
    }

    /// Whether ends of sessions on other instances reach this one from now
    /// on; while they do not, nothing is kept or served.
    pub fn hear(&self, hearing: bool) {
        let mut inner = self.inner();
        inner.entries.clear();
        inner.generation += 1;
        inner.hearing = hearing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_token::SessionToken;
    use crate::store::SignInMethod;

    const IDLE: Duration = Duration::from_secs(30 * 60);

    fn session(last_seen_at: DateTime<Utc>) -> Session {
        Session {
            veteran: itf_app::development::test_veteran("vet-no-itf").expect("a test user"),
            created_at: last_seen_at,
            expires_at: last_seen_at + chrono::Duration::hours(12),
            last_seen_at,
            signed_in_with: SignInMethod::Mock,
        }
    }

    /// A cache that hears of ends elsewhere or not, asked to keep a
    /// session used `now`.
    fn keeping(hearing: bool) -> (SessionCache, SessionTokenHash, DateTime<Utc>) {
        let cache = SessionCache::new(hearing);
        let token = SessionToken::generate().hash();
        let now = Utc::now();
        cache.keep(token.clone(), session(now), cache.generation());
        (cache, token, now)
    }

    #[test]
    fn a_kept_session_is_served_until_its_use_is_owed_a_write() {
        let (cache, token, now) = keeping(true);
        assert_eq!(cache.find(&token, now, IDLE), Some(session(now)));
        let later = now + TOUCH_EVERY - chrono::Duration::seconds(1);
        assert!(cache.find(&token, later, IDLE).is_some());
        assert_eq!(cache.find(&token, now + TOUCH_EVERY, IDLE), None);
        // A short idle time owes the write sooner, long before the end.
        assert_eq!(
            cache.find(
                &token,
                now + chrono::Duration::seconds(5),
                Duration::from_secs(10)
            ),
            None
        );
        let expired = Session {
            expires_at: now,
            ..session(now)
        };
        cache.keep(token.clone(), expired, cache.generation());
        assert_eq!(cache.find(&token, now, IDLE), None);
    }

    #[test]
    fn a_session_read_before_an_end_is_not_kept() {
        let cache = SessionCache::new(true);
        let (token, other) = (
            SessionToken::generate().hash(),
            SessionToken::generate().hash(),
        );
        let now = Utc::now();
        let read = cache.generation();
        cache.end(&other);
        cache.keep(token.clone(), session(now), read);
        assert_eq!(cache.find(&token, now, IDLE), None);

        cache.keep(token.clone(), session(now), cache.generation());
        cache.end(&token);
        assert_eq!(cache.find(&token, now, IDLE), None);
    }

    #[test]
    fn nothing_is_kept_or_served_while_ends_elsewhere_go_unheard() {
        let (cache, token, now) = keeping(false);
        assert_eq!(cache.find(&token, now, IDLE), None);

        let read = cache.generation();
        cache.hear(true);
        cache.keep(token.clone(), session(now), read);
        assert_eq!(cache.find(&token, now, IDLE), None, "read before hearing");
        cache.keep(token.clone(), session(now), cache.generation());
        assert!(cache.find(&token, now, IDLE).is_some());
        cache.hear(false);
        assert_eq!(cache.find(&token, now, IDLE), None);
    }
}
