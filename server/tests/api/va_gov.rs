//! VA.gov's front end calls from another origin of the same site
//! (www.va.gov to api.va.gov): CORS with credentials for the origins
//! listed, the session's CSRF token on state-changing calls from them, and
//! camelCase keys when asked. Unlisted origins are refused as before.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ORIGIN,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{TestApp, TestConfig, TestDb};

const VA_GOV: &str = "http://127.0.0.1:3920";
const ELSEWHERE: &str = "https://elsewhere.example";

async fn spawn() -> (TestApp, TestDb) {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url()).allowed_origins(&[VA_GOV])).await;
    (app, db)
}

fn header(answer: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> &str {
    answer
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_answered_and_from_others_not() {
    let (app, _db) = spawn().await;
    let preflight = |origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/v0/intent_to_file/compensation"))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "x-csrf-token,x-key-inflection,source-app-name",
            )
            .send()
    };
    let listed = preflight(VA_GOV).await.unwrap();
    assert!(listed.status().is_success(), "{}", listed.status());
    assert_eq!(header(&listed, ACCESS_CONTROL_ALLOW_ORIGIN), VA_GOV);
    assert_eq!(header(&listed, ACCESS_CONTROL_ALLOW_CREDENTIALS), "true");
    let allowed = header(&listed, ACCESS_CONTROL_ALLOW_HEADERS).to_ascii_lowercase();
    for name in ["x-csrf-token", "x-key-inflection", "source-app-name"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    let other = preflight(ELSEWHERE).await.unwrap();
    assert!(other.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn a_post_from_a_listed_origin_needs_the_sessions_csrf_token() {
    let (app, _db) = spawn().await;
    let veteran = app.veteran("vet-no-itf").await;
    let listed = veteran
        .get(app.url("/v0/intent_to_file"))
        .header(ORIGIN, VA_GOV)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(header(&listed, ACCESS_CONTROL_ALLOW_ORIGIN), VA_GOV);
    assert_eq!(header(&listed, ACCESS_CONTROL_ALLOW_CREDENTIALS), "true");
    assert!(header(&listed, ACCESS_CONTROL_EXPOSE_HEADERS)
        .to_ascii_lowercase()
        .contains("x-csrf-token"));
    let token = header(&listed, "x-csrf-token").to_owned();
    assert_eq!(token.len(), 64, "the session's token is given: {token:?}");

    let post = |origin: &str, token: Option<&str>| {
        let call = veteran
            .post(app.url("/v0/intent_to_file/compensation"))
            .header(ORIGIN, origin);
        match token {
            Some(token) => call.header("x-csrf-token", token),
            None => call,
        }
        .send()
    };
    let refusal = |answer: reqwest::Response| async move {
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        let body: Value = answer.json().await.unwrap();
        body["errors"][0]["detail"].as_str().unwrap().to_owned()
    };
    let without = post(VA_GOV, None).await.unwrap();
    assert_eq!(
        header(&without, "x-csrf-token"),
        token,
        "given again to retry with"
    );
    assert!(refusal(without).await.contains("security token"));
    let other = app.veteran("load-9").await;
    let others_token = other
        .get(app.url("/v0/intent_to_file"))
        .send()
        .await
        .unwrap();
    let others_token = header(&others_token, "x-csrf-token").to_owned();
    assert_ne!(others_token, token);
    for wrong in ["", "not-the-token", others_token.as_str()] {
        let answer = post(VA_GOV, Some(wrong)).await.unwrap();
        assert!(
            refusal(answer).await.contains("security token"),
            "{wrong:?}"
        );
    }
    // An unlisted origin is refused as before, token or not.
    let elsewhere = post(ELSEWHERE, Some(&token)).await.unwrap();
    assert!(refusal(elsewhere).await.contains("this site's own pages"));

    let accepted = post(VA_GOV, Some(&token)).await.unwrap();
    assert!(accepted.status().is_success(), "{}", accepted.status());
    assert_eq!(header(&accepted, ACCESS_CONTROL_ALLOW_ORIGIN), VA_GOV);
    // Our own pages need no token, as before.
    let own = post(&app.url(""), None).await.unwrap();
    assert!(own.status().is_success(), "{}", own.status());
}

#[tokio::test]
async fn without_listed_origins_no_cors_is_offered() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(TestConfig::on(&db.url())).await;
    let veteran = app.veteran("vet-no-itf").await;
    let answer = veteran
        .get(app.url("/v0/intent_to_file"))
        .header(ORIGIN, VA_GOV)
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let post = veteran
        .post(app.url("/v0/intent_to_file/compensation"))
        .header(ORIGIN, VA_GOV)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
}
