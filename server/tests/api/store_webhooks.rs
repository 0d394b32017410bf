//! Webhook events in the store, on both databases: owed with the change
//! that causes them, once per request and type, each delivered to every
//! endpoint on its own and at least once.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use itf_app::domain::{Operator, OperatorRole};
use itf_server::store::{
    Acting, Delivery, EventType, JobOutcome, Repair, Repaired, Store, WebhookDelivery, WebhookState,
};

use crate::store_conformance::{
    confirmed, needing_attention, new_request, now, open, veteran, LEASE,
};

const ENDPOINTS: [&str; 2] = ["claims-526", "audit"];
/// A claim short enough to run out within a test.
const SHORT_LEASE: std::time::Duration = std::time::Duration::from_secs(1);

async fn due(store: &Arc<dyn Store>, lease: std::time::Duration) -> Vec<WebhookDelivery> {
    let endpoints = ENDPOINTS.map(str::to_owned);
    store.claim_webhooks(&endpoints, lease, 20).await.unwrap()
}

fn kinds(deliveries: &[WebhookDelivery]) -> BTreeSet<(&'static str, String)> {
    deliveries
        .iter()
        .map(|d| (d.event_type.as_str(), d.endpoint.clone()))
        .collect()
}

/// A request of `user`'s received at `received` and confirmed by the
/// worker; returns its id.
async fn confirm(store: &Arc<dyn Store>, user: &str, received: chrono::DateTime<Utc>) -> String {
    let vet = veteran(user);
    let (request, _) = open(store.intake(&new_request(&vet, received)).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    assert!(
        due(store, LEASE).await.is_empty(),
        "a pending request owes none"
    );
    let done = JobOutcome::Confirmed(confirmed());
    assert!(store.finish_job(&job, now(), &done).await.unwrap());
    request.id
}

async fn a_confirmation_owes_its_events_to_each_endpoint_at_least_once(store: Arc<dyn Store>) {
    let before = Utc::now();
    // Received the Eastern Time day before the provider's creation date.
    let id = confirm(&store, "load-40", "2026-03-15T20:00:00Z".parse().unwrap()).await;
    let claimed = due(&store, SHORT_LEASE).await;
    let expected: BTreeSet<(&str, String)> = [EventType::Confirmed, EventType::DateDrift]
        .into_iter()
        .flat_map(|event| ENDPOINTS.map(|e| (event.as_str(), e.to_owned())))
        .collect();
    assert_eq!(kinds(&claimed), expected);
    for delivery in &claimed {
        assert_eq!(delivery.request.id, id);
        assert_eq!(delivery.request.itf, Some(confirmed()));
        assert_eq!(delivery.attempts, 0);
        assert!(delivery.created_at >= before - Duration::seconds(1));
        // One event, one id, whichever endpoint it goes to.
        let same_event = claimed
            .iter()
            .filter(|other| other.event_type == delivery.event_type);
        assert!(same_event
            .clone()
            .all(|other| other.event_id == delivery.event_id));
        assert_eq!(same_event.count(), 2);
    }
    // Claimed: nobody delivers them again until the claim runs out; then
    // they are, under the same ids.
    assert!(due(&store, LEASE).await.is_empty());
    tokio::time::sleep(SHORT_LEASE + std::time::Duration::from_millis(300)).await;
    let again = due(&store, LEASE).await;
    assert_eq!(kinds(&again), expected);
    assert!(again.iter().all(|d| d.attempts == 1));
    let ids = |deliveries: &[WebhookDelivery]| -> BTreeSet<String> {
        deliveries.iter().map(|d| d.id.clone()).collect()
    };
    assert_eq!(ids(&again), ids(&claimed));
}

async fn each_endpoint_is_retried_on_its_own_and_its_trouble_listed(store: Arc<dyn Store>) {
    let id = confirm(&store, "load-42", now()).await;
    let claimed = due(&store, LEASE).await;
    assert_eq!(claimed.len(), 2, "confirmed, to each endpoint");
    for delivery in &claimed {
        let outcome = if delivery.endpoint == "audit" {
            Delivery::Retry {
                run_at: now() + Duration::hours(1),
                error: "the endpoint answered 500 Internal Server Error".to_owned(),
            }
        } else {
            Delivery::Sent
        };
        store
            .finish_webhook(&delivery.id, &outcome, now())
            .await
            .unwrap();
    }
    assert!(due(&store, LEASE).await.is_empty());
    let trouble = store.webhook_trouble(10).await.unwrap();
    assert_eq!(trouble.len(), 1, "{trouble:?}");
    assert_eq!(trouble[0].endpoint, "audit");
    assert_eq!(trouble[0].event_type, EventType::Confirmed);
    assert_eq!(trouble[0].request_id, id);
    assert_eq!(trouble[0].state, WebhookState::Pending);
    assert_eq!(trouble[0].attempts, 1);
    assert_eq!(
        trouble[0].last_error.as_deref(),
        Some("the endpoint answered 500 Internal Server Error")
    );
    let refused = claimed.iter().find(|d| d.endpoint == "audit").unwrap();
    let given_up = Delivery::Failed {
        error: "given up".to_owned(),
    };
    store
        .finish_webhook(&refused.id, &given_up, now())
        .await
        .unwrap();
    let trouble = store.webhook_trouble(10).await.unwrap();
    assert_eq!(trouble[0].state, WebhookState::Failed);
    assert_eq!(trouble[0].last_error.as_deref(), Some("given up"));
}

async fn needing_attention_and_a_repair_owe_their_events_once(store: Arc<dyn Store>) {
    let id = needing_attention(&store, "load-41", Duration::zero()).await;
    let claimed = due(&store, LEASE).await;
    assert_eq!(claimed.len(), 2);
    assert!(claimed
        .iter()
        .all(|d| d.event_type == EventType::NeedsAttention && d.request.id == id));
    for delivery in &claimed {
        store
            .finish_webhook(&delivery.id, &Delivery::Sent, now())
            .await
            .unwrap();
    }
    // Resolved by an operator: confirmed, dated before we received it, so
    // no date drift.
    let ops = Operator {
        id: "ops-operator".to_owned(),
        role: OperatorRole::Operator,
    };
    let acting = Acting {
        operator: &ops,
        reason: "found at the provider",
    };
    let itf = confirmed();
    let repaired = store
        .repair(&id, Repair::Resolve(&itf), &acting, now())
        .await
        .unwrap();
    assert!(matches!(repaired, Repaired::Done(_)));
    let claimed = due(&store, LEASE).await;
    assert_eq!(
        kinds(&claimed),
        ENDPOINTS
            .map(|e| (EventType::Confirmed.as_str(), e.to_owned()))
            .into_iter()
            .collect()
    );
    let ids: BTreeSet<&str> = claimed.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids.len(), 1, "one event, to two endpoints");
}

crate::support::conformance!(
    a_confirmation_owes_its_events_to_each_endpoint_at_least_once,
    each_endpoint_is_retried_on_its_own_and_its_trouble_listed,
    needing_attention_and_a_repair_owe_their_events_once,
);
