//! Webhook events for other VA services, above all the 526 submission:
//! `itf.confirmed`, `itf.needs_attention` and `itf.date_drift`, written by
//! the store with the change that causes them and delivered here under the
//! Standard Webhooks conventions (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`). Each event goes to every endpoint configured, at
//! least once and always under the same id; an endpoint that does not
//! answer 2xx is retried with backoff, alerted after a few tries, and
//! given up on only after `ITF_WEBHOOK_GIVE_UP_HOURS`.

mod endpoints;
mod payload;
mod signature;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use tokio::sync::{watch, Mutex};

pub use endpoints::{load, parse, Endpoint, EndpointsError};
pub use signature::{signature, Secret};

use crate::alerts;
use crate::config::WebhookSettings;
use crate::metrics::{self, WEBHOOK_OUTCOMES};
use crate::outbox::{crash_after_sending, Sent};
use crate::store::{Alert, Delivery, Store, WebhookDelivery};
use crate::worker::{later, retry_delay};

/// Deliveries made per round.
const BATCH: u32 = 16;
/// How often to look for due deliveries.
const POLL: Duration = Duration::from_secs(1);
/// How long an endpoint has to answer one delivery.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Tries of one delivery after which its endpoint is alerted.
const ALERT_AFTER: u32 = 3;

pub struct Webhooks {
    store: Arc<dyn Store>,
    endpoints: Vec<Endpoint>,
    names: Vec<String>,
    http: reqwest::Client,
    settings: WebhookSettings,
    /// How long a claimed delivery is left to its deliverer before another
    /// makes it again.
    lease: Duration,
    /// Endpoints whose alert may be open: all at start, so that one left
    /// open by an earlier process is resolved by the next success.
    alerted: Mutex<HashSet<String>>,
}

impl Webhooks {
    pub fn new(
        store: Arc<dyn Store>,
        endpoints: Vec<Endpoint>,
        settings: WebhookSettings,
        lease: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let names: Vec<String> = endpoints.iter().map(|e| e.name.clone()).collect();
        Ok(Self {
            store,
            alerted: Mutex::new(names.iter().cloned().collect()),
            names,
            endpoints,
            http,
            settings,
            lease,
        })
    }

    /// Delivers due events until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            if self.round().await >= BATCH as usize {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One round: claims due deliveries and makes them at once; returns
    /// how many.
    async fn round(&self) -> usize {
        let claimed = match self
            .store
            .claim_webhooks(&self.names, self.lease, BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim webhook deliveries");
                return 0;
            }
        };
        join_all(claimed.iter().map(|delivery| self.deliver(delivery))).await;
        claimed.len()
    }

    #[tracing::instrument(
        skip_all,
        fields(
            event_id = %delivery.event_id,
            event = %delivery.event_type,
            endpoint = %delivery.endpoint,
            request_id = %delivery.request.id,
        )
    )]
    async fn deliver(&self, delivery: &WebhookDelivery) {
        let tries = delivery.attempts + 1;
        let sent = match self.endpoints.iter().find(|e| e.name == delivery.endpoint) {
            Some(endpoint) => self.send(endpoint, delivery).await,
            None => Sent::Refused {
                error: format!("endpoint {} is no longer configured", delivery.endpoint),
            },
        };
        crash_after_sending(&sent, "ITF_FAILPOINT_EXIT_AFTER_EVENT");
        let give_up_after = chrono::Duration::from_std(self.settings.give_up_after)
            .unwrap_or(chrono::Duration::MAX);
        let given_up = Utc::now() - delivery.created_at >= give_up_after;
        let [delivered, retry, failed] = WEBHOOK_OUTCOMES;
        let (outcome, record) = match sent {
            Sent::Delivered => {
                self.clear_alert(&delivery.endpoint).await;
                (delivered, Delivery::Sent)
            }
            Sent::Retry { error, .. } if !given_up => {
                tracing::info!(tries, %error, "a webhook endpoint did not accept an event; it is retried");
                if tries >= ALERT_AFTER {
                    self.raise_alert(&delivery.endpoint, tries, &error).await;
                }
                let delay = retry_delay(tries, self.settings.retry_max_delay, None);
                (
                    retry,
                    Delivery::Retry {
                        run_at: later(delay),
                        error,
                    },
                )
            }
            Sent::Retry { error, .. }
            | Sent::Refused { error }
            | Sent::CredentialsRefused { error } => {
                tracing::error!(tries, %error, "a webhook event is given up on");
                self.raise_alert(&delivery.endpoint, tries, &error).await;
                (failed, Delivery::Failed { error })
            }
        };
        metrics::webhook_delivery(delivery.event_type, outcome);
        if let Err(error) = self
            .store
            .finish_webhook(&delivery.id, &record, Utc::now())
            .await
        {
            // Made again once its claim runs out: at least once.
            tracing::warn!(%error, "could not record a webhook delivery");
        }
    }

    /// One POST of the event, signed with each of the endpoint's secrets.
    async fn send(&self, endpoint: &Endpoint, delivery: &WebhookDelivery) -> Sent {
        let body = match payload::body(delivery) {
            Ok(body) => body,
            Err(error) => return Sent::Refused { error },
        };
        let timestamp = Utc::now().timestamp();
        let answer = self
            .http
            .post(endpoint.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&endpoint.secrets, &delivery.event_id, timestamp, &body),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(answer) if answer.status().is_success() => Sent::Delivered,
            Ok(answer) => Sent::Retry {
                after: None,
                error: format!("the endpoint answered {}", answer.status()),
            },
            Err(error) => Sent::Retry {
                after: None,
                error: format!("the endpoint could not be reached: {}", without_url(&error)),
            },
        }
    }

    async fn raise_alert(&self, endpoint: &str, tries: u32, error: &str) {
        self.alerted.lock().await.insert(endpoint.to_owned());
        let alert = Alert::webhook_failing(endpoint, Some((tries, error)));
        alerts::raise(self.store.as_ref(), &alert, true).await;
    }

    async fn clear_alert(&self, endpoint: &str) {
        if self.alerted.lock().await.remove(endpoint) {
            let alert = Alert::webhook_failing(endpoint, None);
            alerts::raise(self.store.as_ref(), &alert, false).await;
        }
    }
}

/// What went wrong, without the endpoint's address, which may carry a
/// token of the receiver's.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connect() {
        "connection refused or unreachable"
    } else {
        "the request failed"
    };
    kind.to_owned()
}
