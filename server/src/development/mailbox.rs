//! The development mailbox: the messages the outbox delivered, as the
//! veteran would read them (`/dev/mailbox`) and as JSON for tests
//! (`/dev/mailbox.json`).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::{MailboxEntry, Store};
use crate::web::{escape_html, ApiError};

pub async fn as_json(State(store): State<Arc<dyn Store>>) -> Result<Response, ApiError> {
    let messages: Vec<_> = store
        .mailbox()
        .await?
        .iter()
        .map(|entry| {
            json!({
                "kind": entry.kind.as_str(),
                "reference": entry.reference,
                "request_id": entry.request_id,
                "subject": entry.subject,
                "body": entry.body,
                "delivered_at": entry.delivered_at,
            })
        })
        .collect();
    Ok(Json(json!({ "messages": messages })).into_response())
}

pub async fn page(State(store): State<Arc<dyn Store>>) -> Result<Response, ApiError> {
    let entries = store.mailbox().await?;
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Development mailbox</title></head><body><main>\
         <h1>Development mailbox</h1>\
         <p>Messages to veterans, as they would read them. No email is sent in development.</p>",
    );
    if entries.is_empty() {
        html.push_str("<p>No messages yet.</p>");
    }
    for entry in &entries {
        html.push_str(&message(entry));
    }
    html.push_str("</main></body></html>");
    Ok(Html(html).into_response())
}

fn message(entry: &MailboxEntry) -> String {
    let paragraphs: String = entry
        .body
        .split("\n\n")
        .map(|paragraph| format!("<p>{}</p>", escape_html(paragraph.trim())))
        .collect();
    format!(
        "<article><h2>{}</h2><p><small>{} · request {} · delivered {}</small></p>{paragraphs}</article>",
        escape_html(&entry.subject),
        entry.kind.as_str(),
        escape_html(&entry.request_id),
        entry.delivered_at.to_rfc3339()
    )
}
