//! One behaviour, two databases: every case here runs against SQLite and
//! against PostgreSQL (a fresh database per test on the local server).

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use itf_app::development::test_veteran;
use itf_app::domain::{ItfType, Veteran};
use itf_server::session_token::SessionToken;
use itf_server::store::{
    Alert, AlertAction, AlertChannel, AlertCondition, AlertDelivery, Attempt, AttemptOutcome,
    BudgetAnswer, BudgetClaim, CallKind, CircuitState, ClaimedJob, ConfirmedItf, Delivery, Intake,
    ItfRequest, JobOutcome, ListedAlert, MailboxEntry, MessageKind, NewRequest, OutboxItem,
    OutboxMessage, Paused, RequestState, Session, SignInAttempt, SignInKind, SignInMethod, Store,
    StoreError,
};

/// Both databases keep microseconds.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::microseconds(1))
        .expect("truncation to microseconds")
}

/// The messages of what the outbox has due, claimed for `lease`.
pub(crate) async fn messages(
    store: &Arc<dyn Store>,
    lease: std::time::Duration,
) -> Vec<OutboxMessage> {
    let claimed = store.claim_outbox(lease, 10, true).await.unwrap();
    claimed
        .into_iter()
        .filter_map(|item| match item {
            OutboxItem::Message(message) => Some(message),
            OutboxItem::Alert(_) => None,
        })
        .collect()
}

/// The alert changes of what the outbox has due; messages wait.
pub(crate) async fn alerts(store: &Arc<dyn Store>) -> Vec<AlertDelivery> {
    let claimed = store.claim_outbox(LEASE, 10, false).await.unwrap();
    claimed
        .into_iter()
        .map(|item| match item {
            OutboxItem::Alert(alert) => alert,
            OutboxItem::Message(message) => {
                panic!("a message claimed without messages: {}", message.reference)
            }
        })
        .collect()
}

fn session(user: &str, created_at: DateTime<Utc>, lifetime: Duration) -> Session {
    Session {
        veteran: test_veteran(user).expect("a test user"),
        created_at,
        expires_at: created_at + lifetime,
        last_seen_at: created_at,
        signed_in_with: SignInMethod::Mock,
    }
}

async fn migrations_can_run_again(store: Arc<dyn Store>) {
    store.migrate().await.expect("a second run is a no-op");
    store.ping().await.expect("the database answers");
}

async fn a_session_reads_back_as_written(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    let written = Session {
        signed_in_with: SignInMethod::Provider,
        ..session("vet-no-itf", now(), Duration::hours(12))
    };
    store.create_session(&token.hash(), &written).await.unwrap();

    let read = store.find_session(&token.hash(), now()).await.unwrap();
    assert_eq!(read, Some(written.clone()));
    // Its use is recorded; nothing else about it changes.
    let used = now() + Duration::minutes(5);
    store.touch_session(&token.hash(), used).await.unwrap();
    let read = store.find_session(&token.hash(), now()).await.unwrap();
    assert_eq!(
        read,
        Some(Session {
            last_seen_at: used,
            ..written
        })
    );
}

async fn an_unknown_token_finds_nothing(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    store
        .create_session(&token.hash(), &session("load-7", now(), Duration::hours(1)))
        .await
        .unwrap();
    let other = SessionToken::generate();
    assert_eq!(
        store.find_session(&other.hash(), now()).await.unwrap(),
        None
    );
}

async fn an_expired_session_is_not_found(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    let started = now() - Duration::hours(13);
    store
        .create_session(
            &token.hash(),
            &session("vet-no-itf", started, Duration::hours(12)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_session(&token.hash(), now()).await.unwrap(),
        None
    );
    // The boundary: a session is over at its expiry instant.
    let expiry = started + Duration::hours(12);
    assert_eq!(
        store.find_session(&token.hash(), expiry).await.unwrap(),
        None
    );
    assert!(store
        .find_session(&token.hash(), expiry - Duration::microseconds(1))
        .await
        .unwrap()
        .is_some());
}

async fn sweeping_removes_only_expired_sessions(store: Arc<dyn Store>) {
    let expired = SessionToken::generate();
    let live = SessionToken::generate();
    store
        .create_session(
            &expired.hash(),
            &session("load-1", now() - Duration::days(2), Duration::hours(12)),
        )
        .await
        .unwrap();
    store
        .create_session(&live.hash(), &session("load-2", now(), Duration::hours(12)))
        .await
        .unwrap();

    assert_eq!(store.delete_expired_sessions(now()).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(now()).await.unwrap(), 0);
    assert!(store
        .find_session(&live.hash(), now())
        .await
        .unwrap()
        .is_some());
}

fn sign_in(kind: SignInKind, expires_at: DateTime<Utc>) -> SignInAttempt {
    SignInAttempt {
        kind,
        nonce: SessionToken::generate().expose().to_owned(),
        pkce_verifier: SessionToken::generate().expose().to_owned(),
        expires_at,
    }
}

async fn a_sign_in_is_taken_once_and_never_after_it_expires(store: Arc<dyn Store>) {
    let (state, attempt) = (
        SessionToken::generate(),
        sign_in(SignInKind::Operator, now() + Duration::minutes(10)),
    );
    store.begin_sign_in(&state.hash(), &attempt).await.unwrap();
    let taken = store.take_sign_in(&state.hash(), now()).await.unwrap();
    assert_eq!(taken, Some(attempt), "read back as written");
    assert_eq!(
        store.take_sign_in(&state.hash(), now()).await.unwrap(),
        None,
        "a state is good once"
    );

    let (late, expired) = (
        SessionToken::generate(),
        sign_in(SignInKind::Veteran, now()),
    );
    store.begin_sign_in(&late.hash(), &expired).await.unwrap();
    assert_eq!(
        store
            .take_sign_in(&late.hash(), now() + Duration::seconds(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_sign_in(&late.hash(), now() - Duration::hours(1))
            .await
            .unwrap(),
        None,
        "taken, though too late"
    );

    let (left, abandoned) = (
        SessionToken::generate(),
        sign_in(SignInKind::Veteran, now() - Duration::minutes(1)),
    );
    store.begin_sign_in(&left.hash(), &abandoned).await.unwrap();
    assert_eq!(
        store.delete_expired_sessions(now()).await.unwrap(),
        1,
        "swept with expired sessions"
    );
}

async fn a_deleted_session_is_gone(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    store
        .create_session(
            &token.hash(),
            &session("vet-active-itf", now(), Duration::hours(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.delete_session(&token.hash()).await.unwrap(),
        Some(SignInMethod::Mock),
        "ending a session says how it was started"
    );
    assert_eq!(
        store.find_session(&token.hash(), now()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .delete_session(&token.hash())
            .await
            .expect("deleting twice is not an error"),
        None
    );
}

async fn a_token_cannot_be_issued_twice(store: Arc<dyn Store>) {
    let token = SessionToken::generate();
    let first = session("vet-no-itf", now(), Duration::hours(1));
    store.create_session(&token.hash(), &first).await.unwrap();
    let error = store
        .create_session(
            &token.hash(),
            &session("vet-rejected", now(), Duration::hours(1)),
        )
        .await
        .expect_err("the token is the key");
    assert!(matches!(error, StoreError::Query(_)), "{error:?}");
    let kept = store.find_session(&token.hash(), now()).await.unwrap();
    assert_eq!(kept, Some(first), "the first session is untouched");
}

async fn many_sessions_can_be_written_at_once(store: Arc<dyn Store>) {
    let writers = (1..=50).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let token = SessionToken::generate();
            store
                .create_session(
                    &token.hash(),
                    &session(&format!("load-{n}"), now(), Duration::hours(1)),
                )
                .await
                .map(|()| token)
        })
    });
    let mut tokens = Vec::new();
    for writer in writers {
        tokens.push(writer.await.unwrap().expect("every write is accepted"));
    }
    for (n, token) in tokens.iter().enumerate() {
        let found = store
            .find_session(&token.hash(), now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.veteran.user_id, format!("load-{}", n + 1));
    }
}

pub(crate) fn veteran(user: &str) -> Veteran {
    test_veteran(user).expect("a test user")
}

pub(crate) fn new_request(veteran: &Veteran, received_at: DateTime<Utc>) -> NewRequest<'_> {
    NewRequest {
        veteran,
        itf_type: ItfType::Compensation,
        received_at,
        shown_pending: true,
        provider_said_none: true,
    }
}

pub(crate) fn confirmed() -> ConfirmedItf {
    ConfirmedItf {
        id: "200001".to_owned(),
        creation_date: "2026-03-16T19:15:21.000-05:00".parse().unwrap(),
        expiration_date: "2027-03-16T19:15:20.000-05:00".parse().unwrap(),
    }
}

/// The open request an intake found or made, and whether it made it.
pub(crate) fn open(intake: Intake) -> (ItfRequest, bool) {
    match intake {
        Intake::Open { request, created } => (request, created),
        Intake::Active { .. } => panic!("expected an open request, got {intake:?}"),
    }
}

/// A request the provider refused for good, received `ago`.
pub(crate) async fn needing_attention(store: &Arc<dyn Store>, user: &str, ago: Duration) -> String {
    let vet = veteran(user);
    let (request, _) = open(store.intake(&new_request(&vet, now() - ago)).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let refused = JobOutcome::NeedsAttention {
        error: "veteran not found".to_owned(),
    };
    assert!(store.finish_job(&job, now(), &refused).await.unwrap());
    request.id
}

pub(crate) const LEASE: std::time::Duration = std::time::Duration::from_secs(60);
/// A lease short enough to run out within a test.
const SHORT_LEASE: std::time::Duration = std::time::Duration::from_secs(1);

async fn intake_records_a_pending_request_and_one_job(store: Arc<dyn Store>) {
    let vet = veteran("vet-no-itf");
    let at = now();
    let (first, created) = open(store.intake(&new_request(&vet, at)).await.unwrap());
    assert!(created);
    assert_eq!(first.state, RequestState::Pending);
    assert_eq!(first.received_at, at);
    assert_eq!(first.icn, vet.icn);
    assert!(first.itf.is_none());
    assert!(first.provider_said_none);

    let (again, created) = open(
        store
            .intake(&new_request(&vet, at + Duration::seconds(5)))
            .await
            .unwrap(),
    );
    assert!(!created, "a second intake returns the open request");
    assert_eq!(again.id, first.id);
    assert_eq!(again.received_at, at, "received_at never changes");
    assert_eq!(store.job_count(&first.id).await.unwrap(), 1);

    let (_, created) = open(
        store
            .intake(&NewRequest {
                itf_type: ItfType::Pension,
                ..new_request(&vet, at)
            })
            .await
            .unwrap(),
    );
    assert!(created, "one open request per veteran and type");
}

async fn concurrent_intakes_for_one_veteran_make_one_request(store: Arc<dyn Store>) {
    let vet = Arc::new(veteran("load-11"));
    let intakes = (0..20).map(|_| {
        let store = store.clone();
        let vet = vet.clone();
        tokio::spawn(async move { store.intake(&new_request(&vet, now())).await })
    });
    let mut ids = Vec::new();
    let mut created = 0;
    for intake in intakes {
        let (request, made) = open(intake.await.unwrap().expect("every intake is answered"));
        created += usize::from(made);
        ids.push(request.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(created, 1);
    assert_eq!(store.job_count(&ids[0]).await.unwrap(), 1);
}

/// When `confirmed()` was seen, as the intake of a compensation ITF
/// answered with it, having made no request beside it.
async fn answered_with_the_itf(
    store: &Arc<dyn Store>,
    vet: &Veteran,
    intake: Intake,
) -> Option<DateTime<Utc>> {
    let Intake::Active { itf, seen_at } = intake else {
        panic!("a request made beside an active ITF: {intake:?}");
    };
    assert_eq!(itf, confirmed());
    assert!(store
        .latest_request(&vet.icn, ItfType::Compensation)
        .await
        .unwrap()
        .is_none());
    seen_at
}

async fn an_intake_answers_from_our_record_of_an_unexpired_itf_only(store: Arc<dyn Store>) {
    let vet = veteran("load-12");
    let seen = now() - Duration::minutes(5);
    store
        .record_active(&vet.icn, ItfType::Compensation, &confirmed(), seen)
        .await
        .unwrap();
    let intake = store.intake(&new_request(&vet, now())).await.unwrap();
    let seen_at = answered_with_the_itf(&store, &vet, intake).await;
    assert_eq!(seen_at, Some(seen));

    let expired = ConfirmedItf {
        expiration_date: "2026-03-16T19:15:20.000-05:00".parse().unwrap(),
        ..confirmed()
    };
    store
        .record_active(&vet.icn, ItfType::Pension, &expired, seen)
        .await
        .unwrap();
    store
        .record_none_active(&vet.icn, ItfType::Survivor, seen)
        .await
        .unwrap();
    for (itf_type, why) in [
        (ItfType::Pension, "an expired ITF is no answer"),
        (
            ItfType::Survivor,
            "the provider having said none is no answer",
        ),
    ] {
        let intake = NewRequest {
            itf_type,
            ..new_request(&vet, now())
        };
        let (request, created) = open(store.intake(&intake).await.unwrap());
        assert!(created, "{why}");
        assert_eq!(request.state, RequestState::Pending);
        assert_eq!(store.job_count(&request.id).await.unwrap(), 1);
    }
}

async fn a_claimed_job_is_leased_to_one_worker(store: Arc<dyn Store>) {
    let vet = veteran("load-12");
    let (intake, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let claimed = store.claim_jobs("a", SHORT_LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let job = &claimed[0];
    assert_eq!(job.request.id, intake.id);
    assert_eq!(job.attempts, 1);
    assert!(!job.taken_over);
    assert!(store.claim_jobs("b", LEASE, 10).await.unwrap().is_empty());

    // The lease runs out, by the database's clock: another worker takes the
    // job over.
    tokio::time::sleep(SHORT_LEASE + std::time::Duration::from_millis(300)).await;
    let later = now();
    let taken = store.claim_jobs("b", LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(taken[0].taken_over);
    assert_eq!(taken[0].attempts, 2);
    assert_ne!(taken[0].lease_token, job.lease_token);

    // The first worker's result no longer counts; the new holder's does.
    let stale = store
        .finish_job(job, later, &JobOutcome::Confirmed(confirmed()))
        .await
        .unwrap();
    assert!(!stale);
    assert_eq!(
        store.request(&intake.id).await.unwrap().unwrap().state,
        RequestState::Pending
    );
    let held = store
        .finish_job(&taken[0], later, &JobOutcome::Confirmed(confirmed()))
        .await
        .unwrap();
    assert!(held);
    let request = store.request(&intake.id).await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::Active);
    assert_eq!(request.itf, Some(confirmed()));
    let record = store
        .provider_record(&vet.icn, ItfType::Compensation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.itf, Some(confirmed()));
    assert!(store.claim_jobs("c", LEASE, 10).await.unwrap().is_empty());
}

async fn a_lease_is_renewed_only_by_its_holder(store: Arc<dyn Store>) {
    let vet = veteran("load-16");
    store.intake(&new_request(&vet, now())).await.unwrap();
    let job = store
        .claim_jobs("a", SHORT_LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(!store
        .renew_lease(&job.id, "not-the-token", LEASE)
        .await
        .unwrap());
    assert!(store
        .renew_lease(&job.id, &job.lease_token, LEASE)
        .await
        .unwrap());
    // Renewed past the short lease: nobody takes it over.
    tokio::time::sleep(SHORT_LEASE + std::time::Duration::from_millis(300)).await;
    assert!(store.claim_jobs("b", LEASE, 1).await.unwrap().is_empty());
    let done = JobOutcome::Confirmed(confirmed());
    assert!(store.finish_job(&job, now(), &done).await.unwrap());
    assert!(!store
        .renew_lease(&job.id, &job.lease_token, LEASE)
        .await
        .unwrap());
    assert_eq!(store.job_counts().await.unwrap().done, 1);

    // A renewed lease runs out as renewed: the job of a holder that died
    // after renewing it is taken over.
    let other = veteran("load-18");
    store.intake(&new_request(&other, now())).await.unwrap();
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    assert!(store
        .renew_lease(&job.id, &job.lease_token, SHORT_LEASE)
        .await
        .unwrap());
    tokio::time::sleep(SHORT_LEASE + std::time::Duration::from_millis(300)).await;
    let taken = store.claim_jobs("b", LEASE, 1).await.unwrap();
    assert_eq!(taken.len(), 1, "the renewed lease ran out");
    assert!(taken[0].taken_over);
}

async fn the_circuit_opens_lets_one_probe_through_and_closes(store: Arc<dyn Store>) {
    let cooldown = std::time::Duration::from_secs(1);
    assert_eq!(store.circuit().await.unwrap(), CircuitState::Closed);
    assert_eq!(store.note_provider_answer(true, 3).await.unwrap(), None);
    assert_eq!(store.note_provider_answer(true, 3).await.unwrap(), None);
    assert_eq!(store.circuit_open_since().await.unwrap(), None);
    let opened = store.note_provider_answer(true, 3).await.unwrap();
    assert_eq!(
        opened,
        Some(CircuitState::Open),
        "the third failure in a row opens it"
    );
    let open_since = store.circuit_open_since().await.unwrap();
    assert!(open_since.is_some_and(|since| (now() - since).num_seconds().abs() < 5));
    // A late failure keeps it open without starting the cool-down again.
    assert_eq!(store.note_provider_answer(true, 3).await.unwrap(), None);
    assert!(!store.take_probe(cooldown).await.unwrap(), "cooling down");
    tokio::time::sleep(cooldown + std::time::Duration::from_millis(200)).await;
    let (first, second) = tokio::join!(store.take_probe(cooldown), store.take_probe(cooldown));
    assert_eq!(
        [first.unwrap(), second.unwrap()]
            .iter()
            .filter(|taken| **taken)
            .count(),
        1,
        "exactly one probe"
    );
    assert_eq!(store.circuit().await.unwrap(), CircuitState::Probing);
    // The probe fails: open again; then after a cool-down a probe answers.
    let reopened = store.note_provider_answer(true, 3).await.unwrap();
    assert_eq!(reopened, Some(CircuitState::Open));
    assert_eq!(
        store.circuit_open_since().await.unwrap(),
        open_since,
        "open since the first failure, probes included"
    );
    tokio::time::sleep(cooldown + std::time::Duration::from_millis(200)).await;
    assert!(store.take_probe(cooldown).await.unwrap());
    let vet = veteran("load-17");
    store.intake(&new_request(&vet, now())).await.unwrap();
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let later = JobOutcome::Retry {
        run_at: now() + Duration::hours(1),
        error: "provider down".to_owned(),
    };
    assert!(store.finish_job(&job, now(), &later).await.unwrap());
    let closed = store.note_provider_answer(false, 3).await.unwrap();
    assert_eq!(closed, Some(CircuitState::Closed));
    assert_eq!(store.circuit_open_since().await.unwrap(), None);
    assert_eq!(store.make_deferred_jobs_due().await.unwrap(), 1);
    assert_eq!(store.claim_jobs("a", LEASE, 1).await.unwrap().len(), 1);
    // Closed and answered: nothing changes.
    assert_eq!(store.note_provider_answer(false, 3).await.unwrap(), None);
}

/// A wait the budget answered, which must be there.
fn wait_of(answer: Result<BudgetAnswer, StoreError>) -> std::time::Duration {
    match answer.unwrap() {
        BudgetAnswer::Wait(wait) => wait,
        BudgetAnswer::Granted => panic!("granted; a wait was expected"),
    }
}

async fn the_provider_budget_paces_the_worker_and_keeps_a_reserve_for_people(
    store: Arc<dyn Store>,
) {
    // Long intervals, so that the time the calls take does not count.
    let interval = std::time::Duration::from_secs(2);
    let worker = BudgetClaim {
        interval,
        tolerance: std::time::Duration::ZERO,
    };
    let person = BudgetClaim {
        interval,
        tolerance: interval * 2,
    };
    // An idle bucket lets a person take three calls at once, concurrently
    // from ten callers, and no more.
    let claims = (0..10).map(|_| store.take_budget(person));
    let granted = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .filter(|answer| *answer.as_ref().unwrap() == BudgetAnswer::Granted)
        .count();
    assert_eq!(granted, 3, "the reserve is three calls");
    // Those three are the worker's next three intervals.
    let wait = wait_of(store.take_budget(worker).await);
    assert!(
        wait > interval * 5 / 2 && wait <= interval * 3,
        "the worker waits for the calls people took: {wait:?}"
    );
    // The provider said to wait ten seconds: the worker waits that long,
    // people that long less their tolerance.
    store
        .hold_budget(std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let wait = wait_of(store.take_budget(worker).await);
    assert!(
        wait > std::time::Duration::from_secs(9) && wait <= std::time::Duration::from_secs(10),
        "{wait:?}"
    );
    let wait = wait_of(store.take_budget(person).await);
    assert!(
        wait > std::time::Duration::from_secs(5) && wait <= std::time::Duration::from_secs(6),
        "{wait:?}"
    );
    // A hold shorter than the bucket's lead changes nothing.
    store
        .hold_budget(std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert!(wait_of(store.take_budget(worker).await) > std::time::Duration::from_secs(8));
}

async fn a_confirmation_owes_one_message_delivered_at_least_once(store: Arc<dyn Store>) {
    let vet = veteran("load-19");
    let (request, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    assert!(messages(&store, LEASE).await.is_empty());
    let done = JobOutcome::Confirmed(confirmed());
    assert!(store.finish_job(&job, now(), &done).await.unwrap());
    // Owed in the same transaction as the confirmation, once.
    let claimed = messages(&store, SHORT_LEASE).await;
    assert_eq!(claimed.len(), 1);
    let message = &claimed[0];
    assert_eq!(message.kind, MessageKind::ItfConfirmed);
    assert_eq!(message.reference, format!("{}:itf_confirmed", request.id));
    assert_eq!(message.attempts, 0);
    assert_eq!(message.request.state, RequestState::Active);
    assert_eq!(message.request.itf, Some(confirmed()));
    // Claimed: nobody else delivers it until the claim runs out; then it is
    // delivered again, with the same reference.
    assert!(messages(&store, LEASE).await.is_empty());
    tokio::time::sleep(SHORT_LEASE + std::time::Duration::from_millis(300)).await;
    let again = messages(&store, LEASE).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].reference, message.reference);
    assert_eq!(again[0].attempts, 1);
    // A failed delivery waits for its time; a sent one is done.
    let retry = Delivery::Retry {
        run_at: now() + Duration::seconds(1),
        error: "channel unavailable".to_owned(),
    };
    store
        .finish_delivery(&message.reference, &retry, now())
        .await
        .unwrap();
    assert!(messages(&store, LEASE).await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let due = messages(&store, LEASE).await;
    assert_eq!(due.len(), 1);
    store
        .finish_delivery(&message.reference, &Delivery::Sent, now())
        .await
        .unwrap();
    tokio::time::sleep(SHORT_LEASE).await;
    assert!(messages(&store, SHORT_LEASE).await.is_empty());
    // The mailbox keeps one copy per reference, however often delivered.
    let entry = MailboxEntry {
        reference: message.reference.clone(),
        kind: MessageKind::ItfConfirmed,
        request_id: request.id.clone(),
        subject: "Confirmed".to_owned(),
        body: "Hello".to_owned(),
        delivered_at: now(),
    };
    store.deliver_to_mailbox(&entry).await.unwrap();
    store.deliver_to_mailbox(&entry).await.unwrap();
    assert_eq!(store.mailbox().await.unwrap(), vec![entry]);
}

async fn a_refusal_owes_a_message_and_a_request_never_shown_pending_none(store: Arc<dyn Store>) {
    needing_attention(&store, "load-20", Duration::zero()).await;
    let claimed = messages(&store, LEASE).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, MessageKind::ItfNeedsAttention);

    let other = veteran("load-21");
    let mut unseen = new_request(&other, now());
    unseen.shown_pending = false;
    store.intake(&unseen).await.unwrap();
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let done = JobOutcome::Confirmed(confirmed());
    assert!(store.finish_job(&job, now(), &done).await.unwrap());
    assert!(
        messages(&store, LEASE).await.is_empty(),
        "a veteran never shown the request as pending is sent nothing"
    );
}

async fn a_long_pending_request_owes_one_delay_message(store: Arc<dyn Store>) {
    assert_eq!(store.oldest_pending().await.unwrap(), None);
    let old = veteran("load-22");
    let young = veteran("load-23");
    let unseen = veteran("load-24");
    let (request, _) = open(
        store
            .intake(&new_request(&old, now() - Duration::hours(25)))
            .await
            .unwrap(),
    );
    store.intake(&new_request(&young, now())).await.unwrap();
    let mut never_shown = new_request(&unseen, now() - Duration::hours(25));
    never_shown.shown_pending = false;
    store.intake(&never_shown).await.unwrap();
    let oldest = store
        .oldest_pending()
        .await
        .unwrap()
        .expect("three pending");
    assert_eq!(oldest.request_id, request.id);
    assert_eq!(oldest.received_at, request.received_at);
    assert_eq!(oldest.pending, 3);
    let threshold = now() - Duration::hours(24);
    assert_eq!(
        store.owe_delayed_messages(threshold, now()).await.unwrap(),
        1
    );
    assert_eq!(
        store.owe_delayed_messages(threshold, now()).await.unwrap(),
        0,
        "owed once"
    );
    let claimed = messages(&store, LEASE).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, MessageKind::ItfDelayed);
    assert_eq!(claimed[0].reference, format!("{}:itf_delayed", request.id));
}

async fn a_retried_job_waits_for_its_time(store: Arc<dyn Store>) {
    let vet = veteran("load-13");
    store.intake(&new_request(&vet, now())).await.unwrap();
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let run_at = now() + Duration::seconds(1);
    let retry = JobOutcome::Retry {
        run_at,
        error: "provider down".to_owned(),
    };
    assert!(store.finish_job(&job, now(), &retry).await.unwrap());
    assert!(store.claim_jobs("a", LEASE, 1).await.unwrap().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let again = store.claim_jobs("a", LEASE, 1).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(!again[0].taken_over);
    assert_eq!(
        again[0].request.last_error.as_deref(),
        Some("provider down")
    );
}

async fn a_released_job_does_not_count_as_an_attempt(store: Arc<dyn Store>) {
    let vet = veteran("load-14");
    store.intake(&new_request(&vet, now())).await.unwrap();
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let release = JobOutcome::Release { run_at: now() };
    assert!(store.finish_job(&job, now(), &release).await.unwrap());
    let again = store.claim_jobs("a", LEASE, 1).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].request.state, RequestState::Pending);
}

async fn a_refused_request_needs_attention_stays_open_and_alerts(store: Arc<dyn Store>) {
    let vet = veteran("vet-unknown");
    let (intake, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let refused = JobOutcome::NeedsAttention {
        error: "Resource not found: Veteran ID not found".to_owned(),
    };
    assert!(store.finish_job(&job, now(), &refused).await.unwrap());
    let request = store.request(&intake.id).await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::NeedsAttention);
    assert!(store.claim_jobs("a", LEASE, 1).await.unwrap().is_empty());
    // Its alert opens in the same transaction; the message waits for a
    // claim that takes messages.
    let raised = alerts(&store).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].change.condition, AlertCondition::NeedsAttention);
    assert_eq!(
        raised[0].change.request_id.as_deref(),
        Some(intake.id.as_str())
    );
    assert_eq!(
        raised[0].change.dedup_key,
        Alert::needs_attention(&intake.id).dedup_key()
    );
    assert!(!raised[0].change.summary.contains(vet.icn.expose()));
    let owed = messages(&store, LEASE).await;
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].kind, MessageKind::ItfNeedsAttention);
    let (again, created) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    assert!(!created);
    assert_eq!(again.id, intake.id);
}

async fn jobs_are_claimed_oldest_received_first(store: Arc<dyn Store>) {
    let base = now() - Duration::minutes(10);
    for (n, minutes) in [(21, 3), (22, 1), (23, 2)] {
        let vet = veteran(&format!("load-{n}"));
        store
            .intake(&new_request(&vet, base + Duration::minutes(minutes)))
            .await
            .unwrap();
    }
    let order: Vec<String> = store
        .claim_jobs("a", LEASE, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|job| job.request.user_id)
        .collect();
    assert_eq!(order, ["load-22", "load-23"]);
}

/// A turn's calls are written with its end, in its transaction; a turn
/// that lost its lease changes nothing else, but its calls were made and
/// stay on record.
async fn a_turns_calls_are_recorded_with_its_end_lease_or_not(store: Arc<dyn Store>) {
    let vet = veteran("load-17");
    let (intake, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let call = |call, outcome, provider_status| Attempt {
        request_id: intake.id.clone(),
        job_id: job.id.clone(),
        at: now(),
        call,
        outcome,
        provider_status,
        latency: std::time::Duration::from_millis(7),
    };
    let retry = JobOutcome::Retry {
        run_at: now(),
        error: "the provider did not answer".to_owned(),
    };
    let late = [call(CallKind::Get, AttemptOutcome::Transient, None)];
    let stale = ClaimedJob {
        lease_token: "another-holders-token".to_owned(),
        ..job.clone()
    };
    assert!(!store
        .finish_turn(&stale, now(), &retry, &late)
        .await
        .unwrap());
    assert_eq!(store.attempts(&intake.id).await.unwrap().len(), 1);
    let request = store.request(&intake.id).await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::Pending);

    let made = [
        call(CallKind::Get, AttemptOutcome::NoneActive, Some(404)),
        call(CallKind::Post, AttemptOutcome::Created, Some(200)),
    ];
    let done = JobOutcome::Confirmed(confirmed());
    assert!(store.finish_turn(&job, now(), &done, &made).await.unwrap());
    let read = store.attempts(&intake.id).await.unwrap();
    let calls: Vec<_> = read
        .iter()
        .map(|a| (a.call, a.outcome, a.provider_status))
        .collect();
    assert_eq!(
        calls,
        [
            (CallKind::Get, AttemptOutcome::Transient, None),
            (CallKind::Get, AttemptOutcome::NoneActive, Some(404)),
            (CallKind::Post, AttemptOutcome::Created, Some(200)),
        ]
    );
    let request = store.request(&intake.id).await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::Active);
}

/// Six veterans' jobs, claimed.
async fn six_claimed_jobs(store: &Arc<dyn Store>, first: usize) -> Vec<ClaimedJob> {
    for n in first..first + 6 {
        let vet = veteran(&format!("load-{n}"));
        store.intake(&new_request(&vet, now())).await.unwrap();
    }
    let jobs = store.claim_jobs("a", LEASE, 6).await.unwrap();
    assert_eq!(jobs.len(), 6);
    jobs
}

/// Leases renewed at the same moment are each answered for their own
/// holder: the stores may renew them together.
async fn leases_renewed_together_are_each_answered_for_their_own_holder(store: Arc<dyn Store>) {
    let jobs = six_claimed_jobs(&store, 41).await;
    // Every other one is no longer ours.
    let renewals = jobs.iter().enumerate().map(|(i, job)| {
        let token = if i % 2 == 0 {
            job.lease_token.clone()
        } else {
            "another-holders-token".to_owned()
        };
        let store = store.clone();
        let id = job.id.clone();
        async move { store.renew_lease(&id, &token, LEASE).await.unwrap() }
    });
    let renewed = futures_util::future::join_all(renewals).await;
    assert_eq!(renewed, [true, false, true, false, true, false]);
}

/// Turns that end at the same moment are each answered for their own
/// lease, whatever else is written beside them: the stores may write them
/// together.
async fn turns_ending_together_are_each_answered_for_their_own_lease(store: Arc<dyn Store>) {
    let jobs = six_claimed_jobs(&store, 31).await;
    let stale = |job: &ClaimedJob| ClaimedJob {
        lease_token: "another-holders-token".to_owned(),
        ..job.clone()
    };
    // Ends: three confirmed, one retried, two by turns that lost the lease.
    let retry = JobOutcome::Retry {
        run_at: now() + Duration::minutes(5),
        error: "the provider did not answer".to_owned(),
    };
    let done = JobOutcome::Confirmed(confirmed());
    let ends = jobs.iter().enumerate().map(|(i, job)| {
        let (job, outcome) = match i {
            0..=2 => (job.clone(), done.clone()),
            3 => (job.clone(), retry.clone()),
            _ => (stale(job), done.clone()),
        };
        let store = store.clone();
        let call = Attempt {
            request_id: job.request.id.clone(),
            job_id: job.id.clone(),
            at: now(),
            call: CallKind::Post,
            outcome: AttemptOutcome::Created,
            provider_status: Some(200),
            latency: std::time::Duration::from_millis(3),
        };
        async move {
            store
                .finish_turn(&job, now(), &outcome, &[call])
                .await
                .unwrap()
        }
    });
    let held = futures_util::future::join_all(ends).await;
    assert_eq!(held, [true, true, true, true, false, false]);

    let mut states = Vec::new();
    for job in &jobs {
        let request = store.request(&job.request.id).await.unwrap().unwrap();
        assert_eq!(store.attempts(&job.request.id).await.unwrap().len(), 1);
        states.push(request.state);
    }
    use RequestState::{Active, Pending};
    assert_eq!(states, [Active, Active, Active, Pending, Pending, Pending]);
    let counts = store.job_counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.queued, counts.running),
        (3, 1, 2),
        "three done, one to retry, two still leased to their holder"
    );
    let owed = messages(&store, LEASE).await;
    assert_eq!(owed.len(), 3, "one confirmation owed per confirmed request");
}

async fn attempts_and_records_read_back(store: Arc<dyn Store>) {
    let vet = veteran("load-15");
    let (intake, _) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
    let attempt = Attempt {
        request_id: intake.id.clone(),
        job_id: job.id.clone(),
        at: now(),
        call: CallKind::Post,
        outcome: AttemptOutcome::Transient,
        provider_status: Some(503),
        latency: std::time::Duration::from_millis(42),
    };
    // Written with the end of a turn that no longer holds the lease: the
    // call stays on record and the job stays running.
    let retry = JobOutcome::Retry {
        run_at: now(),
        error: "the provider did not answer".to_owned(),
    };
    let stale = ClaimedJob {
        lease_token: "another-holders-token".to_owned(),
        ..job.clone()
    };
    assert!(!store
        .finish_turn(&stale, now(), &retry, std::slice::from_ref(&attempt))
        .await
        .unwrap());
    let read = store.attempts(&intake.id).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].call, CallKind::Post);
    assert_eq!(read[0].outcome, AttemptOutcome::Transient);
    assert_eq!(read[0].provider_status, Some(503));
    assert_eq!(read[0].latency, std::time::Duration::from_millis(42));
    assert_eq!(read[0].at, attempt.at);

    let seen = now();
    store
        .record_none_active(&vet.icn, ItfType::Pension, seen)
        .await
        .unwrap();
    let record = store
        .provider_record(&vet.icn, ItfType::Pension)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.none_seen_at, Some(seen));
    assert_eq!(record.itf, None);
    store
        .record_active(&vet.icn, ItfType::Pension, &confirmed(), seen)
        .await
        .unwrap();
    let record = store
        .provider_record(&vet.icn, ItfType::Pension)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.itf, Some(confirmed()));
    assert_eq!(record.active_seen_at, Some(seen));

    let counts = store.job_counts().await.unwrap();
    assert_eq!(counts.running, 1);
    assert_eq!(counts.oldest_pending_received_at, Some(intake.received_at));
}

async fn an_alert_opens_once_and_resolves_once(store: Arc<dyn Store>) {
    let paused = Alert::worker_paused(Paused::Messages, true);
    let cleared = Alert::worker_paused(Paused::Messages, false);
    assert_eq!(
        store.set_alert(&cleared, false, now()).await.unwrap(),
        None,
        "nothing to resolve"
    );
    assert_eq!(
        store.set_alert(&paused, true, now()).await.unwrap(),
        Some(AlertAction::Trigger)
    );
    assert_eq!(
        store.set_alert(&paused, true, now()).await.unwrap(),
        None,
        "an open alert is not opened again"
    );
    let raised = alerts(&store).await;
    assert_eq!(raised.len(), 1);
    let trigger = &raised[0];
    assert_eq!(trigger.change.condition, AlertCondition::WorkerPaused);
    assert_eq!(trigger.change.action, AlertAction::Trigger);
    assert_eq!(trigger.change.dedup_key, paused.dedup_key());
    assert_eq!(trigger.change.summary, paused.summary);
    assert_eq!(trigger.channel, None, "not yet fanned out");
    // Cleared: one resolve with the same key; again it opens afresh.
    assert_eq!(
        store.set_alert(&cleared, false, now()).await.unwrap(),
        Some(AlertAction::Resolve)
    );
    assert_eq!(store.set_alert(&cleared, false, now()).await.unwrap(), None);
    let resolved = alerts(&store).await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].change.action, AlertAction::Resolve);
    assert_eq!(resolved[0].change.dedup_key, trigger.change.dedup_key);
    assert_eq!(resolved[0].change.summary, cleared.summary);
    assert_eq!(
        store.set_alert(&paused, true, now()).await.unwrap(),
        Some(AlertAction::Trigger)
    );
    let reopened = alerts(&store).await;
    assert_eq!(reopened.len(), 1);
    assert_ne!(reopened[0].change.reference, trigger.change.reference);
    // The development list keeps one copy per reference.
    let listed = ListedAlert {
        change: reopened[0].change.clone(),
        delivered_at: now(),
    };
    store.list_alert(&listed).await.unwrap();
    store.list_alert(&listed).await.unwrap();
    assert_eq!(store.listed_alerts().await.unwrap(), vec![listed]);
}

async fn an_alert_goes_to_each_channel_on_its_own(store: Arc<dyn Store>) {
    let paused = Alert::worker_paused(Paused::Provider, true);
    store.set_alert(&paused, true, now()).await.unwrap();
    let trigger = &alerts(&store).await[0];
    // One delivery per channel, each on its own; the raised one is done.
    let channels = [AlertChannel::Slack, AlertChannel::PagerDuty];
    store
        .fan_out_alert(&trigger.change.reference, &channels, now())
        .await
        .unwrap();
    store
        .fan_out_alert(&trigger.change.reference, &channels, now())
        .await
        .unwrap();
    let fanned = alerts(&store).await;
    let mut to: Vec<_> = fanned.iter().map(|a| a.channel).collect();
    to.sort_by_key(|channel| channel.map(AlertChannel::as_str));
    assert_eq!(
        to,
        vec![Some(AlertChannel::PagerDuty), Some(AlertChannel::Slack)]
    );
    assert!(fanned
        .iter()
        .all(|a| a.change.dedup_key == trigger.change.dedup_key
            && a.change.action == AlertAction::Trigger
            && a.change.reference.starts_with(&trigger.change.reference)));
    for delivery in &fanned {
        let end = match delivery.channel {
            Some(AlertChannel::Slack) => Delivery::Sent,
            _ => Delivery::Failed {
                error: "PagerDuty answered 400".to_owned(),
            },
        };
        store
            .finish_delivery(&delivery.change.reference, &end, now())
            .await
            .unwrap();
    }
    assert!(
        alerts(&store).await.is_empty(),
        "a refused alert opens no alert of its own"
    );
}

async fn an_undeliverable_message_opens_an_alert(store: Arc<dyn Store>) {
    let first = veteran("load-25");
    let second = veteran("load-26");
    let mut references = Vec::new();
    for vet in [&first, &second] {
        store.intake(&new_request(vet, now())).await.unwrap();
        let job = store.claim_jobs("a", LEASE, 1).await.unwrap().remove(0);
        let done = JobOutcome::Confirmed(confirmed());
        assert!(store.finish_job(&job, now(), &done).await.unwrap());
        references.push(messages(&store, LEASE).await.remove(0));
    }
    // Refused for good by the channel.
    let refused = Delivery::Failed {
        error: "VA Notify answered 400".to_owned(),
    };
    store
        .finish_delivery(&references[0].reference, &refused, now())
        .await
        .unwrap();
    let about = |alert: &AlertDelivery| {
        (
            alert.change.condition,
            alert.change.dedup_key.clone(),
            alert.change.request_id.clone(),
        )
    };
    let expected = |message: &OutboxMessage| {
        (
            AlertCondition::MessageUndeliverable,
            format!("itf-async/message_undeliverable/{}", message.reference),
            Some(message.request.id.clone()),
        )
    };
    let raised: Vec<_> = alerts(&store).await.iter().map(about).collect();
    assert_eq!(raised, vec![expected(&references[0])]);
    // Sent, then reported undeliverable.
    store
        .finish_delivery(&references[1].reference, &Delivery::Sent, now())
        .await
        .unwrap();
    assert!(store
        .record_delivery_status(&references[1].reference, "temporary-failure", now())
        .await
        .unwrap());
    assert!(
        alerts(&store).await.is_empty(),
        "a temporary failure is only recorded"
    );
    assert!(store
        .record_delivery_status(&references[1].reference, "permanent-failure", now())
        .await
        .unwrap());
    let raised: Vec<_> = alerts(&store).await.iter().map(about).collect();
    assert_eq!(raised, vec![expected(&references[1])]);
    assert!(!store
        .record_delivery_status("no-such-reference", "permanent-failure", now())
        .await
        .unwrap());
}

/// On PostgreSQL, the workers of every instance hear of a new job on the
/// jobs channel, sent after intake commits; of a request already open,
/// nothing.
#[tokio::test]
async fn an_intake_on_postgres_wakes_the_workers_of_every_instance() {
    let db = crate::support::TestDb::postgres().await;
    let store = db.store().await;
    let mut listener = sqlx::postgres::PgListener::connect(&db.url())
        .await
        .unwrap();
    listener
        .listen(itf_server::store::JOBS_CHANNEL)
        .await
        .unwrap();
    let vet = veteran("load-51");
    let (_, created) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    assert!(created);
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv()).await;
    assert!(
        matches!(heard, Ok(Ok(_))),
        "no wake-up on the jobs channel after an intake"
    );
    let (_, created) = open(store.intake(&new_request(&vet, now())).await.unwrap());
    assert!(!created);
    let heard = tokio::time::timeout(std::time::Duration::from_millis(500), listener.recv()).await;
    assert!(
        heard.is_err(),
        "an intake that made no job woke the workers"
    );
}

/// On PostgreSQL, an intake that waits on a completion of the same
/// veteran's ITF (which holds the lock intake takes) answers with the ITF it
/// recorded, and makes no request beside it.
#[tokio::test]
async fn an_intake_waiting_on_a_completion_on_postgres_sees_its_itf() {
    let db = crate::support::TestDb::postgres().await;
    let store = db.store().await;
    let vet = Arc::new(veteran("load-52"));
    // The ICN as the database keeps it (its blind index).
    store
        .record_none_active(&vet.icn, ItfType::Pension, now())
        .await
        .unwrap();
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let (icn,): (String,) = sqlx::query_as("SELECT icn FROM provider_records")
        .fetch_one(&pool)
        .await
        .unwrap();

    let mut completion = pool.begin().await.unwrap();
    sqlx::query("SELECT itf_request_lock($1, 'compensation')")
        .bind(&icn)
        .execute(&mut *completion)
        .await
        .unwrap();
    let intake = tokio::spawn({
        let (store, vet) = (store.clone(), vet.clone());
        async move { store.intake(&new_request(&vet, now())).await }
    });
    let waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted";
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>(waiting)
        .fetch_one(&pool)
        .await
        .unwrap()
        == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the intake never waited on the completion's lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sqlx::query(
        "INSERT INTO provider_records (icn, itf_type, provider_itf_id, creation_date,
             expiration_date, active_seen_at)
         VALUES ($1, 'compensation', '200001', '2026-03-16T19:15:21.000-05:00',
             '2027-03-16T19:15:20.000-05:00', now())",
    )
    .bind(&icn)
    .execute(&mut *completion)
    .await
    .unwrap();
    completion.commit().await.unwrap();

    answered_with_the_itf(&store, &vet, intake.await.unwrap().unwrap()).await;
}

crate::support::conformance!(
    migrations_can_run_again,
    a_session_reads_back_as_written,
    a_sign_in_is_taken_once_and_never_after_it_expires,
    an_unknown_token_finds_nothing,
    an_expired_session_is_not_found,
    sweeping_removes_only_expired_sessions,
    a_deleted_session_is_gone,
    a_token_cannot_be_issued_twice,
    many_sessions_can_be_written_at_once,
    intake_records_a_pending_request_and_one_job,
    concurrent_intakes_for_one_veteran_make_one_request,
    an_intake_answers_from_our_record_of_an_unexpired_itf_only,
    a_claimed_job_is_leased_to_one_worker,
    a_lease_is_renewed_only_by_its_holder,
    the_circuit_opens_lets_one_probe_through_and_closes,
    the_provider_budget_paces_the_worker_and_keeps_a_reserve_for_people,
    a_confirmation_owes_one_message_delivered_at_least_once,
    a_refusal_owes_a_message_and_a_request_never_shown_pending_none,
    a_long_pending_request_owes_one_delay_message,
    a_retried_job_waits_for_its_time,
    a_released_job_does_not_count_as_an_attempt,
    a_turns_calls_are_recorded_with_its_end_lease_or_not,
    turns_ending_together_are_each_answered_for_their_own_lease,
    leases_renewed_together_are_each_answered_for_their_own_holder,
    a_refused_request_needs_attention_stays_open_and_alerts,
    jobs_are_claimed_oldest_received_first,
    attempts_and_records_read_back,
    an_alert_opens_once_and_resolves_once,
    an_alert_goes_to_each_channel_on_its_own,
    an_undeliverable_message_opens_an_alert,
);
