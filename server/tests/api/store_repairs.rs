//! Operators' repairs, the audit log and the report queries, on both
//! databases.

use std::sync::Arc;

use chrono::Duration;
use itf_app::domain::{ItfType, Operator, OperatorRole};
use itf_server::store::{
    Acting, AlertAction, AlertCondition, AuditAction, ConfirmedItf, DateDrift, JobOutcome,
    MessageKind, NewAuditEntry, OperatorSession, Repair, Repaired, RequestSnapshot, RequestState,
    Rollout, Store,
};

use crate::store_conformance::{
    alerts, confirmed, messages, needing_attention, new_request, now, open, veteran, LEASE,
};
use crate::support::TestDb;

fn operator() -> Operator {
    Operator {
        id: "ops-operator".to_owned(),
        role: OperatorRole::Operator,
    }
}

async fn a_retry_makes_a_new_job_keeps_the_date_and_is_audited(store: Arc<dyn Store>) {
    let id = needing_attention(&store, "load-30", Duration::hours(2)).await;
    let before = store.request(&id).await.unwrap().unwrap();
    let ops = operator();
    let acting = Acting {
        operator: &ops,
        reason: "the veteran's record was fixed at the provider",
    };
    let Repaired::Done(after) = store
        .repair(&id, Repair::Retry, &acting, now())
        .await
        .unwrap()
    else {
        panic!("retried");
    };
    assert_eq!(after.state, RequestState::Pending);
    assert_eq!(
        after.received_at, before.received_at,
        "the date never changes"
    );
    assert_eq!(store.job_count(&id).await.unwrap(), 2, "a new job");
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    assert_eq!(job.request.id, id);
    assert_eq!(job.attempts, 1);
    // The alert opened by the refusal is resolved by the retry.
    let changes: Vec<_> = alerts(&store)
        .await
        .into_iter()
        .map(|a| (a.change.condition, a.change.action))
        .collect();
    assert_eq!(
        changes,
        [
            (AlertCondition::NeedsAttention, AlertAction::Trigger),
            (AlertCondition::NeedsAttention, AlertAction::Resolve)
        ]
    );
    let trail = store.audit_trail(&id).await.unwrap();
    assert_eq!(trail.len(), 1);
    let entry = &trail[0].entry;
    assert_eq!(entry.action, AuditAction::Retry);
    assert_eq!(entry.operator, "ops-operator");
    assert_eq!(entry.role, OperatorRole::Operator);
    assert_eq!(entry.reason.as_deref(), Some(acting.reason));
    assert_eq!(
        entry.before.as_deref(),
        Some(RequestSnapshot::of(&before).to_json().as_str())
    );
    assert_eq!(
        entry.after.as_deref(),
        Some(RequestSnapshot::of(&after).to_json().as_str())
    );
}

async fn only_a_request_that_needs_attention_is_retried(store: Arc<dyn Store>) {
    let vet = veteran("load-34");
    let (pending, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let ops = operator();
    let acting = Acting {
        operator: &ops,
        reason: "trying",
    };
    assert_eq!(
        store
            .repair(&pending.id, Repair::Retry, &acting, now())
            .await
            .unwrap(),
        Repaired::NotAllowed(RequestState::Pending)
    );
    assert_eq!(
        store
            .repair("no-such-request", Repair::Retry, &acting, now())
            .await
            .unwrap(),
        Repaired::NotFound
    );
    assert!(
        store.audit_trail(&pending.id).await.unwrap().is_empty(),
        "nothing done, nothing recorded"
    );
    assert_eq!(store.job_count(&pending.id).await.unwrap(), 1);
}

async fn a_resolve_by_hand_records_the_itf_ends_the_jobs_and_owes_the_message(
    store: Arc<dyn Store>,
) {
    let id = needing_attention(&store, "load-31", Duration::minutes(5)).await;
    let ops = operator();
    let acting = Acting {
        operator: &ops,
        reason: "ITF created by phone on March 17",
    };
    let itf = confirmed();
    let Repaired::Done(after) = store
        .repair(&id, Repair::Resolve(&itf), &acting, now())
        .await
        .unwrap()
    else {
        panic!("resolved");
    };
    assert_eq!(after.state, RequestState::Active);
    assert_eq!(after.itf, Some(itf.clone()));
    let record = store
        .provider_record(&after.icn, after.itf_type)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.itf, Some(itf.clone()));
    let counts = store.job_counts().await.unwrap();
    assert_eq!((counts.queued, counts.running, counts.stopped), (0, 0, 0));
    assert_eq!(counts.done, 1);
    let mut kinds: Vec<_> = messages(&store, LEASE)
        .await
        .into_iter()
        .map(|m| m.kind.as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            MessageKind::ItfConfirmed.as_str(),
            MessageKind::ItfNeedsAttention.as_str()
        ]
    );
    assert_eq!(
        store
            .repair(&id, Repair::Resolve(&itf), &acting, now())
            .await
            .unwrap(),
        Repaired::NotAllowed(RequestState::Active)
    );
    let trail = store.audit_trail(&id).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].entry.action, AuditAction::Resolve);
    assert!(trail[0]
        .entry
        .after
        .as_deref()
        .is_some_and(|after| after.contains(&itf.id)));
}

async fn reports_find_requests_by_state_date_and_veteran(store: Arc<dyn Store>) {
    let stuck = needing_attention(&store, "load-32", Duration::hours(3)).await;
    let vet = veteran("load-33");
    let received = now() - Duration::days(2);
    let (drifted, _) = open(store.intake(&new_request(&vet, received)).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    // The provider dated it two days after we received it.
    let late = ConfirmedItf {
        creation_date: (received + Duration::days(2)).fixed_offset(),
        ..confirmed()
    };
    assert!(store
        .finish_job(&job, now(), &JobOutcome::Confirmed(late))
        .await
        .unwrap());

    let (from, until) = (now() - Duration::days(7), now());
    let attention = store
        .requests_in(RequestState::NeedsAttention, from, until, 100)
        .await
        .unwrap();
    assert_eq!(ids(&attention), [stuck.as_str()]);
    let active = store
        .requests_in(RequestState::Active, from, until, 100)
        .await
        .unwrap();
    assert_eq!(ids(&active), [drifted.id.as_str()]);
    let drift: Vec<DateDrift> = active.into_iter().filter_map(DateDrift::of).collect();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].days, 2);
    assert!(store
        .requests_in(RequestState::Active, from, received, 100)
        .await
        .unwrap()
        .is_empty());
    let of_veteran = store.requests_of(&vet.icn).await.unwrap();
    assert_eq!(ids(&of_veteran), [drifted.id.as_str()]);
}

async fn an_operator_session_reads_back_until_it_expires(store: Arc<dyn Store>) {
    let token = itf_server::session_token::SessionToken::generate();
    let created_at = now();
    let session = OperatorSession {
        operator: operator(),
        created_at,
        expires_at: created_at + Duration::hours(8),
        last_seen_at: created_at,
        signed_in_with: itf_server::store::SignInMethod::Provider,
    };
    store
        .create_operator_session(&token.hash(), &session)
        .await
        .unwrap();
    let found = store
        .find_operator_session(&token.hash(), now())
        .await
        .unwrap();
    assert_eq!(found, Some(session.clone()));
    let used = now() + Duration::minutes(3);
    store
        .touch_operator_session(&token.hash(), used)
        .await
        .unwrap();
    let touched = store
        .find_operator_session(&token.hash(), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_seen_at, used);
    assert_eq!(
        store
            .find_operator_session(&token.hash(), session.expires_at)
            .await
            .unwrap(),
        None,
        "over at its expiry"
    );
    // A veteran's session table knows nothing of it.
    assert_eq!(
        store.find_session(&token.hash(), now()).await.unwrap(),
        None
    );
    assert_eq!(
        store.delete_operator_session(&token.hash()).await.unwrap(),
        Some(itf_server::store::SignInMethod::Provider)
    );
    assert_eq!(
        store
            .find_operator_session(&token.hash(), now())
            .await
            .unwrap(),
        None
    );
}

async fn a_rollout_starts_as_the_schema_sets_it_and_every_change_is_audited(store: Arc<dyn Store>) {
    let flags = store.rollouts().await.unwrap();
    let seeded: Vec<_> = flags
        .iter()
        .map(|f| (f.itf_type, f.rollout, f.changed_at))
        .collect();
    assert_eq!(
        seeded,
        [
            (ItfType::Compensation, Rollout::On, None),
            (ItfType::Pension, Rollout::Off, None),
            (ItfType::Survivor, Rollout::Off, None),
        ]
    );
    let admin = Operator {
        id: "ops-admin".to_owned(),
        role: OperatorRole::Admin,
    };
    let acting = Acting {
        operator: &admin,
        reason: "start with half of veterans",
    };
    let at = now();
    let set = store
        .set_rollout(ItfType::Compensation, Rollout::Percent(50), &acting, at)
        .await
        .unwrap();
    assert_eq!(set.rollout, Rollout::Percent(50));
    assert_eq!(set.changed_by.as_deref(), Some("ops-admin"));
    let read = store.rollouts().await.unwrap();
    assert_eq!(read[0], set, "read back as set");
    assert_eq!(
        (read[0].changed_at, read[1].rollout),
        (Some(at), Rollout::Off)
    );

    let entry = store.recent_audit(None, 1).await.unwrap().remove(0).entry;
    assert_eq!(entry.action, AuditAction::SetRollout);
    assert_eq!(entry.before.as_deref(), Some("compensation on"));
    assert_eq!(entry.after.as_deref(), Some("compensation percent 50"));
    assert_eq!(entry.reason.as_deref(), Some("start with half of veterans"));
    assert_eq!(entry.request_id, None);
}

async fn the_database_keeps_pension_and_survivor_synchronous(store: Arc<dyn Store>) {
    let admin = Operator {
        id: "ops-admin".to_owned(),
        role: OperatorRole::Admin,
    };
    let acting = Acting {
        operator: &admin,
        reason: "a mistake the caller did not catch",
    };
    for (itf_type, rollout) in [
        (ItfType::Pension, Rollout::On),
        (ItfType::Survivor, Rollout::Percent(10)),
    ] {
        store
            .set_rollout(itf_type, rollout, &acting, now())
            .await
            .expect_err("refused by the schema");
    }
    let flags = store.rollouts().await.unwrap();
    assert!(flags[1..]
        .iter()
        .all(|f| f.rollout == Rollout::Off && f.changed_at.is_none()));
    assert!(
        store.recent_audit(None, 10).await.unwrap().is_empty(),
        "nothing audited"
    );
}

fn ids(requests: &[itf_server::store::ItfRequest]) -> Vec<&str> {
    requests.iter().map(|r| r.id.as_str()).collect()
}

crate::support::conformance!(
    a_retry_makes_a_new_job_keeps_the_date_and_is_audited,
    only_a_request_that_needs_attention_is_retried,
    a_resolve_by_hand_records_the_itf_ends_the_jobs_and_owes_the_message,
    reports_find_requests_by_state_date_and_veteran,
    an_operator_session_reads_back_until_it_expires,
    a_rollout_starts_as_the_schema_sets_it_and_every_change_is_audited,
    the_database_keeps_pension_and_survivor_synchronous,
);

/// An entry a test writes about a request of its own, and then tries to
/// change behind the store's back; returns the request's id.
async fn write_an_entry(store: &Arc<dyn Store>) -> String {
    let vet = veteran("load-35");
    let (request, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let entry = NewAuditEntry {
        at: now(),
        operator: "ops-viewer".to_owned(),
        role: OperatorRole::Viewer,
        action: AuditAction::OpenRequest,
        request_id: Some(request.id.clone()),
        reason: None,
        before: None,
        after: None,
    };
    store.audit(&entry).await.unwrap();
    assert_eq!(
        store.audit_trail(&request.id).await.unwrap()[0].entry,
        entry
    );
    request.id
}

/// Runs `sql` on the test's database behind the store's back: rows
/// changed, or the database's refusal.
async fn behind_the_store(db: &TestDb, sql: &str) -> Result<u64, String> {
    let url = db.url();
    let done = if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected())
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected())
    };
    done.map_err(|error| error.to_string())
}

async fn the_audit_log_refuses(db: TestDb, changes: &[&str]) {
    let store = db.store().await;
    let id = write_an_entry(&store).await;
    for change in changes {
        let refused = behind_the_store(&db, change).await.unwrap_err();
        assert!(refused.contains("append-only"), "{change}: {refused}");
    }
    let trail = store.audit_trail(&id).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].entry.operator, "ops-viewer", "unchanged");
}

#[tokio::test]
async fn the_audit_log_refuses_a_raw_update_or_delete_on_sqlite() {
    the_audit_log_refuses(
        TestDb::sqlite(),
        &[
            "UPDATE audit_log SET operator = 'someone else'",
            "DELETE FROM audit_log",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_audit_log_refuses_a_raw_update_delete_or_truncate_on_postgres() {
    the_audit_log_refuses(
        TestDb::postgres().await,
        &[
            "UPDATE audit_log SET operator = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ],
    )
    .await;
}
