//! `X-Key-Inflection: camel`, as VA.gov's front end sends it: the keys of
//! every JSON answer in camelCase, errors included, as vets-api's
//! olive_branch gives them. Without the header, snake_case as ever. Only
//! keys change, never values.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::ApiError;

/// The request header that asks for camelCase keys.
pub const HEADER: &str = "x-key-inflection";

pub async fn inflect_keys(request: Request, next: Next) -> Response {
    let camel = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("camel"));
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !camel || !json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::AnswerUnreadable.into_response();
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(camelize(value).to_string()))
}

/// `intent_to_file` → `intentToFile`.
pub fn camel_case(key: &str) -> String {
    let mut words = key.split('_');
    let mut camel = words.next().unwrap_or_default().to_owned();
    for word in words {
        let mut letters = word.chars();
        if let Some(first) = letters.next() {
            camel.extend(first.to_uppercase());
            camel.push_str(letters.as_str());
        }
    }
    camel
}

fn camelize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (camel_case(&key), camelize(value)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camelize).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_become_camel_case_and_values_stay() {
        assert_eq!(camel_case("intent_to_file"), "intentToFile");
        assert_eq!(camel_case("expiration_date"), "expirationDate");
        assert_eq!(camel_case("status"), "status");
        assert_eq!(camel_case("id"), "id");
        let answer = json!({"data": {"attributes": {"intent_to_file": [
            {"received_at": "2026-11-29T15:00:00Z", "type": "compensation", "request_id": "a_b"}
        ]}}, "errors": [{"title": "Not_signed in"}]});
        assert_eq!(
            camelize(answer),
            json!({"data": {"attributes": {"intentToFile": [
                {"receivedAt": "2026-11-29T15:00:00Z", "type": "compensation", "requestId": "a_b"}
            ]}}, "errors": [{"title": "Not_signed in"}]})
        );
    }
}
