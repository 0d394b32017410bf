//! Personal data at rest: no ICN or name of a veteran in clear in the
//! database, rows written before sealing included, while every look-up by
//! ICN still works.

use std::time::Duration;

use itf_app::development::test_veteran;
use itf_app::domain::ItfType;
use itf_server::store::RequestState;

use crate::support::provider::Rig;
use crate::support::{until_active, TestApp, TestConfig, TestDb};

/// The veterans these tests use: one written before sealing, two after.
const BEFORE: &str = "vet-expired-itf";
const AFTER: [&str; 2] = ["vet-no-itf", "vet-unknown"];

/// A request, a session and a provider record for `BEFORE`, written in
/// clear as they were before sealing.
const WRITTEN_IN_CLEAR: [&str; 3] = [
    "INSERT INTO itf_requests (id, user_id, icn, veteran_name, itf_type, state, received_at,
         shown_pending, provider_said_none, created_at, updated_at)
     VALUES ('before-sealing', 'vet-expired-itf', $ICN, $NAME, 'pension', 'needs_attention',
         '2026-03-16T15:00:00.000000Z', TRUE, FALSE,
         '2026-03-16T15:00:00.000000Z', '2026-03-16T15:00:00.000000Z')",
    "INSERT INTO sessions (token_hash, user_id, veteran_name, icn, created_at, expires_at)
     VALUES ($TOKEN, 'vet-expired-itf', $NAME, $ICN,
         '2026-03-16T15:00:00.000000Z', '2026-03-17T03:00:00.000000Z')",
    "INSERT INTO provider_records (icn, itf_type, none_seen_at)
     VALUES ($ICN, 'pension', '2026-03-16T15:00:00.000000Z')",
];

/// The statements with `BEFORE`'s ICN and name written in.
fn written_in_clear(token: &str) -> Vec<String> {
    let vet = test_veteran(BEFORE).unwrap();
    WRITTEN_IN_CLEAR
        .iter()
        .map(|sql| {
            sql.replace("$ICN", &format!("'{}'", vet.icn.expose()))
                .replace("$NAME", &format!("'{}'", vet.name.expose()))
                .replace("$TOKEN", token)
        })
        .collect()
}

/// What must not be found in clear: every ICN and full name these tests
/// wrote.
fn personal_data() -> Vec<String> {
    std::iter::once(BEFORE)
        .chain(AFTER)
        .flat_map(|user| {
            let vet = test_veteran(user).unwrap();
            [vet.icn.expose().to_owned(), vet.name.expose().to_owned()]
        })
        .collect()
}

/// Fills the database through the app: a confirmed request and a refused
/// one, each veteran signed in.
async fn fill(db: &TestDb) {
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    for user in AFTER {
        app.request_compensation(user).await;
    }
    let vet = app.veteran(AFTER[0]).await;
    until_active(&vet, &app.url(""), Duration::from_secs(20)).await;
}

/// The row written before sealing still reads back, and is found by ICN.
async fn still_found(db: &TestDb) {
    let store = db.store().await;
    let vet = test_veteran(BEFORE).unwrap();
    let before = store.request("before-sealing").await.unwrap().unwrap();
    assert_eq!(before.icn, vet.icn);
    assert_eq!(before.veteran_name.expose(), vet.name.expose());
    assert_eq!(before.state, RequestState::NeedsAttention);
    let found = store.requests_of(&vet.icn).await.unwrap();
    assert_eq!(found.len(), 1);
    let latest = store
        .latest_request(&vet.icn, ItfType::Pension)
        .await
        .unwrap();
    assert_eq!(latest.map(|r| r.id).as_deref(), Some("before-sealing"));
    assert!(store
        .provider_record(&vet.icn, ItfType::Pension)
        .await
        .unwrap()
        .is_some_and(|record| record.none_seen_at.is_some()));
}

fn assert_sealed(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for clear in personal_data() {
        assert!(!text.contains(&clear), "{clear:?} in clear in {what}");
    }
}

#[tokio::test]
async fn nothing_personal_is_in_clear_in_the_sqlite_file_or_its_log() {
    let db = TestDb::sqlite();
    db.store().await;
    let url = db.url();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for sql in written_in_clear("X'00112233'") {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    // Started again, as after an upgrade: the rows are sealed.
    fill(&db).await;
    still_found(&db).await;
    let file = url.trim_start_matches("sqlite://").to_owned();
    assert_sealed("the database file", &std::fs::read(&file).unwrap());
    if let Ok(log) = std::fs::read(format!("{file}-wal")) {
        assert_sealed("the write-ahead log", &log);
    }
}

#[tokio::test]
async fn nothing_personal_is_in_clear_in_a_dump_of_postgresql() {
    let db = TestDb::postgres().await;
    db.store().await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    for sql in written_in_clear("'\\x00112233'::bytea") {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    fill(&db).await;
    still_found(&db).await;
    let dump = crate::support::cluster::dump(&db.url());
    assert!(dump.len() > 1000, "a dump with data");
    assert_sealed("the dump", &dump);
}

/// Writes key files: data keys `ids` (the last current) and a blind-index
/// key.
fn key_files(dir: &std::path::Path, ids: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data-keys");
    let lines: String = ids
        .iter()
        .map(|id| {
            let byte = id.bytes().last().unwrap_or(0);
            format!("{id} {}\n", itf_server::sealing::encode_key(&[byte; 32]))
        })
        .collect();
    std::fs::write(&data, lines).unwrap();
    let blind = dir.join("blind-index.key");
    std::fs::write(&blind, itf_server::sealing::encode_key(&[7; 32])).unwrap();
    (data, blind)
}

/// How many values of requests and sessions are not under `key`.
async fn not_under(db: &TestDb, key: &str) -> i64 {
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let pattern = format!("v1.{key}.%");
    let mut left = 0;
    for table in ["itf_requests", "sessions"] {
        let (n,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM {table} WHERE icn_sealed NOT LIKE $1 OR veteran_name NOT LIKE $1"
        ))
        .bind(&pattern)
        .fetch_one(&pool)
        .await
        .unwrap();
        left += n;
    }
    left
}

#[tokio::test]
async fn rotate_keys_while_requests_come_in_leaves_every_value_under_the_new_key() {
    let keys = tempfile::tempdir().unwrap();
    let db = TestDb::postgres().await;
    let users: Vec<String> = (0..12).map(|n| format!("load-{}", 4100 + n)).collect();
    // One provider for both apps, as in production.
    let provider = Rig::up().await;
    let config = |data: &std::path::Path, blind: &std::path::Path| {
        TestConfig::on(&db.url())
            .standalone_simulator(&provider.base)
            .keys(data, blind)
    };
    let (data, blind) = key_files(keys.path(), &["k1"]);
    let before = TestApp::spawn(config(&data, &blind)).await;
    for user in &users[..8] {
        before.request_compensation(user).await;
    }
    // Instances get the new keys before the rotation starts.
    before.stop().await;
    assert_eq!(not_under(&db, "k1").await, 0);

    // Every instance gets both keys, k2 current; then the rotation runs
    // while requests are taken in and completed.
    key_files(keys.path(), &["k1", "k2"]);
    let app = TestApp::spawn(config(&data, &blind)).await;
    let rotation = std::process::Command::new(env!("CARGO_BIN_EXE_itf-async"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("ITF_DATA_KEYS_FILE", &data)
        .env("ITF_BLIND_INDEX_KEY_FILE", &blind)
        .arg("rotate-keys")
        .spawn()
        .unwrap();
    for user in &users[8..] {
        app.request_compensation(user).await;
    }
    let rotated = rotation.wait_with_output().unwrap();
    assert!(rotated.status.success());
    for user in &users {
        let vet = app.veteran(user).await;
        until_active(&vet, &app.url(""), Duration::from_secs(30)).await;
    }
    app.stop().await;
    assert_eq!(not_under(&db, "k2").await, 0, "every value under k2");

    // k1 is no longer needed: with k2 alone, every request reads back and
    // is found by ICN, and none is lost.
    key_files(keys.path(), &["k2"]);
    let config = TestConfig::on(&db.url()).keys(&data, &blind).build();
    let (store, _) =
        itf_server::open_store(&config, std::sync::Arc::new(itf_server::store::AlwaysOpen))
            .unwrap();
    for user in &users {
        let vet = test_veteran(user).unwrap();
        let found = store.requests_of(&vet.icn).await.unwrap();
        assert_eq!(found.len(), 1, "{user}");
        assert_eq!(found[0].veteran_name.expose(), vet.name.expose());
        assert_eq!(found[0].state, RequestState::Active);
    }
}
