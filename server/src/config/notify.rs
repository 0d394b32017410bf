//! VA Notify, where messages to veterans go outside development: set
//! `VA_NOTIFY_API_KEY` and the rest is required with it.

use std::fmt;

use super::reader::Reader;

#[derive(Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Such as `https://api.notifications.va.gov`; the client adds
    /// `/v2/notifications/email`.
    pub base_url: String,
    /// The service id of the API key: the JWT's `iss`.
    pub service_id: String,
    /// The secret of the API key, which signs the JWT.
    pub secret: String,
    pub template_itf_confirmed: String,
    pub template_itf_delayed: String,
    pub template_itf_needs_attention: String,
    /// The bearer token VA Notify's delivery-status callbacks must carry.
    pub callback_token: Option<String>,
}

impl fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifySettings")
            .field("base_url", &self.base_url)
            .field("service_id", &self.service_id)
            .field("secret", &"<redacted>")
            .field(
                "callback_token",
                &self.callback_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The service id and the secret of an API key,
/// `<name>-<service id uuid>-<secret uuid>`.
pub fn split_api_key(key: &str) -> Option<(String, String)> {
    let key = key.trim();
    let (secret_at, service_at) = (key.len().checked_sub(36)?, key.len().checked_sub(73)?);
    let secret = key.get(secret_at..)?;
    let service = key.get(service_at..secret_at.checked_sub(1)?)?;
    let uuid = |text: &str| uuid::Uuid::parse_str(text).is_ok() && text.len() == 36;
    (uuid(secret) && uuid(service) && key.as_bytes().get(secret_at - 1) == Some(&b'-'))
        .then(|| (service.to_owned(), secret.to_owned()))
}

pub fn read(reader: &mut Reader<'_>) -> Option<NotifySettings> {
    let key = reader.text("VA_NOTIFY_API_KEY")?;
    let Some((service_id, secret)) = split_api_key(&key) else {
        reader.problem(
            "VA_NOTIFY_API_KEY",
            "is not a VA Notify API key; it reads <name>-<service id>-<secret>, both ids UUIDs",
        );
        return None;
    };
    let base_url = reader.required(
        "VA_NOTIFY_BASE_URL",
        "VA Notify's address, such as https://api.notifications.va.gov",
    );
    let confirmed = reader.required(
        "VA_NOTIFY_TEMPLATE_ITF_CONFIRMED",
        "the VA Notify template id of server/messages/itf_confirmed.txt",
    );
    let delayed = reader.required(
        "VA_NOTIFY_TEMPLATE_ITF_DELAYED",
        "the VA Notify template id of server/messages/itf_delayed.txt",
    );
    let needs_attention = reader.required(
        "VA_NOTIFY_TEMPLATE_ITF_NEEDS_ATTENTION",
        "the VA Notify template id of server/messages/itf_needs_attention.txt",
    );
    Some(NotifySettings {
        base_url: base_url?.trim_end_matches('/').to_owned(),
        service_id,
        secret,
        template_itf_confirmed: confirmed?,
        template_itf_delayed: delayed?,
        template_itf_needs_attention: needs_attention?,
        callback_token: reader.text("VA_NOTIFY_CALLBACK_TOKEN"),
    })
}

/// How long a request may stay pending before the veteran is sent
/// `itf_delayed`, once.
pub fn delayed_email_after(reader: &mut Reader<'_>) -> std::time::Duration {
    reader.duration(
        "ITF_DELAYED_EMAIL_AFTER_HOURS",
        std::time::Duration::from_secs(24 * 3600),
        super::reader::HOURS,
        1..=24 * 30,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_splits_into_service_id_and_secret() {
        let key =
            "itf-async-26785a09-ab16-4eb0-8407-a37497a57506-3d2e6c4a-5b44-4c5e-9b0f-1c2d3e4f5a6b";
        let (service, secret) = split_api_key(key).unwrap();
        assert_eq!(service, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(secret, "3d2e6c4a-5b44-4c5e-9b0f-1c2d3e4f5a6b");
        assert_eq!(split_api_key("not-a-key"), None);
        assert_eq!(split_api_key(&key.replace('-', "_")), None);
    }
}
