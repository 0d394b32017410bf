//! Sessions: an idle timeout, a new id at every sign-in, and a sign-out
//! that clears the cookie whatever the database does.

use std::time::Duration;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};

use crate::support::{client, TestApp, TestConfig, TestDb};

/// The session cookie `name` an answer sets.
fn set_cookie(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Signs in at `path` with a browser that sends `cookie`, and returns the
/// cookie the answer sets, as `name=value`.
async fn sign_in_with(app: &TestApp, path: &str, user: &str, cookie: Option<&str>) -> String {
    let mut post = client().post(app.url(path)).form(&[("user", user)]);
    if let Some(cookie) = cookie {
        post = post.header(COOKIE, cookie);
    }
    let answer = post.send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let name = path.trim_end_matches("/sign-in/mock");
    let name = if name.is_empty() {
        "itf_session"
    } else {
        "itf_console_session"
    };
    let set = set_cookie(&answer, name).expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// The answer to `method` at `path` from a browser that sends `cookie`.
async fn answer_with(app: &TestApp, method: Method, path: &str, cookie: &str) -> reqwest::Response {
    client()
        .request(method, app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

async fn status_with(app: &TestApp, path: &str, cookie: &str) -> StatusCode {
    answer_with(app, Method::GET, path, cookie).await.status()
}

#[tokio::test]
async fn a_session_unused_past_the_idle_timeout_ends_and_one_in_use_does_not() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url()).session_idle(Duration::from_secs(2))).await;
    let cookie = sign_in_with(&app, "/sign-in/mock", "vet-no-itf", None).await;
    // In use every 0.8 s for 3 s: longer than the timeout, never idle.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            status_with(&app, "/v0/intent_to_file", &cookie).await,
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        status_with(&app, "/v0/intent_to_file", &cookie).await,
        StatusCode::UNAUTHORIZED
    );
    let page = answer_with(&app, Method::GET, "/", &cookie).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn a_session_from_before_a_sign_in_does_not_survive_it() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let before = sign_in_with(&app, "/sign-in/mock", "vet-no-itf", None).await;
    let after = sign_in_with(&app, "/sign-in/mock", "vet-no-itf", Some(&before)).await;
    assert_ne!(before, after, "a new session id");
    assert_eq!(
        status_with(&app, "/v0/intent_to_file", &before).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_with(&app, "/v0/intent_to_file", &after).await,
        StatusCode::OK
    );

    let before = sign_in_with(&app, "/console/sign-in/mock", "ops-viewer", None).await;
    let after = sign_in_with(&app, "/console/sign-in/mock", "ops-admin", Some(&before)).await;
    assert_ne!(before, after);
    assert_eq!(
        status_with(&app, "/console", &before).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status_with(&app, "/console", &after).await, StatusCode::OK);
}

#[tokio::test]
async fn sign_out_clears_the_cookie_even_with_the_database_down() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let cookie = sign_in_with(&app, "/sign-in/mock", "vet-no-itf", None).await;
    let console = sign_in_with(&app, "/console/sign-in/mock", "ops-operator", None).await;
    assert_eq!(
        app.take_database_down().await.status(),
        StatusCode::SEE_OTHER
    );
    for (path, cookie, name) in [
        ("/sign-out", &cookie, "itf_session"),
        ("/console/sign-out", &console, "itf_console_session"),
    ] {
        let answer = answer_with(&app, Method::POST, path, cookie).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        let cleared = set_cookie(&answer, name).expect("the cookie is cleared");
        assert!(cleared.starts_with(&format!("{name}=;")), "{cleared}");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
    }
}

/// On PostgreSQL, each instance answers a session in steady use from its
/// cache, and a sign-out on one instance ends the session on every other.
#[tokio::test]
async fn a_sign_out_on_one_instance_ends_the_session_on_the_others() {
    let db = TestDb::postgres().await;
    let a = TestApp::spawn(TestConfig::on(&db.url())).await;
    let b = TestApp::spawn(TestConfig::on(&db.url())).await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let listening = "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND query LIKE 'LISTEN%itf_sessions_ended%'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>(listening)
        .fetch_one(&pool)
        .await
        .unwrap()
        < 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instances never listened for ended sessions"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Served from B's cache: the row taken away behind its back goes
    // unnoticed.
    let cached = sign_in_with(&a, "/sign-in/mock", "vet-no-itf", None).await;
    assert_eq!(
        status_with(&b, "/v0/intent_to_file", &cached).await,
        StatusCode::OK
    );
    sqlx::query("DELETE FROM sessions")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        status_with(&b, "/v0/intent_to_file", &cached).await,
        StatusCode::OK
    );

    let cookie = sign_in_with(&a, "/sign-in/mock", "vet-no-itf", None).await;
    assert_eq!(
        status_with(&b, "/v0/intent_to_file", &cookie).await,
        StatusCode::OK
    );
    let signed_out = answer_with(&a, Method::POST, "/sign-out", &cookie).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        status_with(&a, "/v0/intent_to_file", &cookie).await,
        StatusCode::UNAUTHORIZED
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while status_with(&b, "/v0/intent_to_file", &cookie).await != StatusCode::UNAUTHORIZED {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session signed out on one instance still works on another"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
