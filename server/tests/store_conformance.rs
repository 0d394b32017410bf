//! One behaviour, two databases: every case here runs against SQLite and
//! against PostgreSQL (a fresh database per test on the local server).

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use itf_app::domain::test_veteran;
use itf_server::session_token::SessionToken;
use itf_server::store::{Session, Store, StoreError};

/// Both databases keep microseconds.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::microseconds(1))
        .expect("truncation to microseconds")
}

fn session(user: &str, created_at: DateTime<Utc>, lifetime: Duration) -> Session {
    Session {
        veteran: test_veteran(user).expect("a test user"),
        created_at,
        expires_at: created_at + lifetime,
    }
}

async fn migrations_can_run_again(store: Arc<dyn Store>) {
    store.migrate().await.expect("a second run is a no-op");
    store.ping().await.expect("the database answers");
}

async fn a_session_reads_back_as_written(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    let written = session("vet-no-itf", now(), Duration::hours(12));
    store.create_session(&token.hash(), &written).await.unwrap();

    let read = store.find_session(&token.hash(), now()).await.unwrap();
    assert_eq!(read, Some(written));
}

async fn an_unknown_token_finds_nothing(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    store
        .create_session(&token.hash(), &session("load-7", now(), Duration::hours(1)))
        .await
        .unwrap();
    let other = SessionToken::generate();
    assert_eq!(
        store.find_session(&other.hash(), now()).await.unwrap(),
        None
    );
}

async fn an_expired_session_is_not_found(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    let started = now() - Duration::hours(13);
    store
        .create_session(
            &token.hash(),
            &session("vet-no-itf", started, Duration::hours(12)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_session(&token.hash(), now()).await.unwrap(),
        None
    );
    // The boundary: a session is over at its expiry instant.
    let expiry = started + Duration::hours(12);
    assert_eq!(
        store.find_session(&token.hash(), expiry).await.unwrap(),
        None
    );
    assert!(store
        .find_session(&token.hash(), expiry - Duration::microseconds(1))
        .await
        .unwrap()
        .is_some());
}

async fn sweeping_removes_only_expired_sessions(store: Arc<dyn Store>) {
    let expired = SessionToken::generate();
    let live = SessionToken::generate();
    store
        .create_session(
            &expired.hash(),
            &session("load-1", now() - Duration::days(2), Duration::hours(12)),
        )
        .await
        .unwrap();
    store
        .create_session(&live.hash(), &session("load-2", now(), Duration::hours(12)))
        .await
        .unwrap();

    assert_eq!(store.delete_expired_sessions(now()).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(now()).await.unwrap(), 0);
    assert!(store
        .find_session(&live.hash(), now())
        .await
        .unwrap()
        .is_some());
}

async fn a_deleted_session_is_gone(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    store
        .create_session(
            &token.hash(),
            &session("vet-active-itf", now(), Duration::hours(1)),
        )
        .await
        .unwrap();
    store.delete_session(&token.hash()).await.unwrap();
    assert_eq!(
        store.find_session(&token.hash(), now()).await.unwrap(),
        None
    );
    store
        .delete_session(&token.hash())
        .await
        .expect("deleting twice is not an error");
}

async fn a_token_cannot_be_issued_twice(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    let first = session("vet-no-itf", now(), Duration::hours(1));
    store.create_session(&token.hash(), &first).await.unwrap();
    let error = store
        .create_session(
            &token.hash(),
            &session("vet-rejected", now(), Duration::hours(1)),
        )
        .await
        .expect_err("the token is the key");
    assert!(matches!(error, StoreError::Query(_)), "{error:?}");
    let kept = store.find_session(&token.hash(), now()).await.unwrap();
    assert_eq!(kept, Some(first), "the first session is untouched");
}

async fn many_sessions_can_be_written_at_once(store: Arc<dyn Store>) {
    let writers = (1..=50).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let token = SessionToken::generate();
            store
                .create_session(
                    &token.hash(),
                    &session(&format!("load-{n}"), now(), Duration::hours(1)),
                )
                .await
                .map(|()| token)
        })
    });
    let mut tokens = Vec::new();
    for writer in writers {
        tokens.push(writer.await.unwrap().expect("every write is accepted"));
    }
    for (n, token) in tokens.iter().enumerate() {
        let found = store
            .find_session(&token.hash(), now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.veteran.user_id, format!("load-{}", n + 1));
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::support::TestDb::sqlite();
                    super::$case(db.store().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::support::TestDb::postgres().await;
                    super::$case(db.store().await).await;
                }
            )*
        }
    };
}

conformance!(
    migrations_can_run_again,
    a_session_reads_back_as_written,
    an_unknown_token_finds_nothing,
    an_expired_session_is_not_found,
    sweeping_removes_only_expired_sessions,
    a_deleted_session_is_gone,
    a_token_cannot_be_issued_twice,
    many_sessions_can_be_written_at_once,
);
