//! Sign-in at an OpenID provider, where no provider answers: what a person
//! is told, and that nothing is started. Signing in through a real
//! provider is tested in the browser (end2end/tests/sign-in-at-provider).

use axum::http::StatusCode;
use itf_server::session_token::SessionToken;

use crate::support::{TestApp, TestConfig, TestDb};

/// A port nothing listens on.
async fn dead_issuer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

async fn app() -> (TestDb, TestApp) {
    let db = TestDb::sqlite();
    let config = TestConfig::on(&db.url()).veteran_sign_in(&dead_issuer().await);
    let app = TestApp::spawn(config).await;
    (db, app)
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_sign_in_page_offers_the_provider_where_it_is_set_up() {
    let (_db, app) = app().await;
    let page = app.get("/sign-in").await.text().await.unwrap();
    assert!(page.contains(r#"action="/sign-in/start""#), "{page}");

    let db = TestDb::sqlite();
    let without = TestApp::spawn(TestConfig::on(&db.url())).await;
    let page = without.get("/sign-in").await.text().await.unwrap();
    assert!(!page.contains("/sign-in/start"), "{page}");
    let response = without
        .client
        .post(without.url("/sign-in/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_named_and_nothing_starts() {
    let (_db, app) = app().await;
    let response = app
        .client
        .post(app.url("/sign-in/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&response).is_empty(), "no state cookie");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("We can't reach the sign-in service right now. Try again in a few minutes."),
        "{page}"
    );
    assert!(page.contains(r#"href="/sign-in""#), "{page}");
}

#[tokio::test]
async fn a_callback_this_browser_did_not_start_is_refused_and_signs_no_one_in() {
    let (_db, app) = app().await;
    let state = SessionToken::generate();
    for query in [
        format!("code=abc&state={}", state.expose()),
        "code=abc".to_owned(),
        "code=abc&state=not-a-state".to_owned(),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/sign-in/callback?{query}")))
            .header(
                "cookie",
                format!("itf_sign_in={}", SessionToken::generate().expose()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let cookies = set_cookies(&response);
        assert!(
            cookies.len() == 1 && cookies[0].starts_with("itf_sign_in=;"),
            "only the state cookie, cleared: {cookies:?}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("This sign-in has ended"), "{page}");
    }
    let me = app.get("/v0/intent_to_file").await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_sign_in_the_provider_refused_says_so() {
    let (_db, app) = app().await;
    let response = app
        .get("/sign-in/callback?error=access_denied&state=x")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("The sign-in service didn't sign you in."),
        "{page}"
    );
}
