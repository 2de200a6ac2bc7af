//! The deposit automation's claims on open offers (`Store::claim_deposit_offers`,
//! `Store::finish_deposit_accept`), on SQLite and PostgreSQL alike.

mod harness;

use std::collections::BTreeSet;

use exchange_core::changeset::{
    AccountId, Deposit, DepositId, DepositState, Direction, Effect, InstructionState,
    TransferInstruction,
};
use exchange_core::parser::Standard;
use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_core::{Amount, InstrumentId, Timestamp};
use exchange_store::{AcceptOutcome, AcceptState, OfferClaimRequest, Store, StoreError};
use harness::TestDb;
use harness::fixtures::{cid, commit, origin, party};

conformance!(
    only_open_offers_of_onboarded_tokens_to_known_accounts_are_claimed,
    claims_are_exclusive_and_expired_claims_are_taken_over,
    attempts_are_bounded_and_a_settled_offer_leaves_the_failed_list,
    concurrent_claims_never_share_an_offer,
);

fn sbx() -> InstrumentId {
    InstrumentId {
        admin: party("admin"),
        id: "SBX".into(),
    }
}

fn other() -> InstrumentId {
    InstrumentId {
        admin: party("admin"),
        id: "OTHER".into(),
    }
}

fn instruction(id: &str, instrument: InstrumentId, state: InstructionState, n: i64) -> Effect {
    Effect::TransferInstruction(TransferInstruction {
        contract_id: cid(id),
        direction: Direction::Incoming,
        sender: party("alice"),
        receiver: party("treasury"),
        instrument,
        amount: "5".parse().unwrap(),
        reason: Some("acc".into()),
        state,
        origin: origin(n),
        expiry: None,
        read_from: Standard::V1,
    })
}

fn deposit(id: &str, offer: &str, instrument: InstrumentId, state: DepositState) -> Effect {
    Effect::DepositRecorded(Deposit {
        id: DepositId::new(id).unwrap(),
        account: Some(AccountId::new("acc").unwrap()),
        instrument,
        amount: "5".parse().unwrap(),
        sender: party("alice"),
        state,
        transfer_instruction: Some(cid(offer)),
        origin: origin(1),
        held_back: None,
    })
}

/// A store with account `acc`, SBX onboarded, and pending offers: `o1`..`o{n}` of SBX to `acc`
/// (the even ones read from V2: a V2-only token's offers); `unknown` (to an unknown account),
/// `other` (a token not onboarded).
async fn store_with_offers(db: &TestDb, n: usize) -> Store {
    let store = db.open().await;
    store
        .create_account(&AccountId::new("acc").unwrap(), "customer")
        .await
        .unwrap();
    store
        .onboard_token(&OnboardedToken {
            instrument: sbx(),
            registry_url: "http://registry".into(),
            transfer_kind: TokenTransferKind::MultiStep,
            package_names: BTreeSet::from(["sandbox-token".to_owned()]),
        })
        .await
        .unwrap();
    let mut effects = Vec::new();
    for i in 1..=n {
        let id = format!("o{i}");
        let mut offer = instruction(&id, sbx(), InstructionState::Pending, 1);
        if let (0, Effect::TransferInstruction(t)) = (i % 2, &mut offer) {
            t.read_from = Standard::V2;
        }
        effects.push(offer);
        effects.push(deposit(&format!("d{i}"), &id, sbx(), DepositState::Offered));
    }
    effects.push(instruction("unknown", sbx(), InstructionState::Pending, 1));
    effects.push(deposit(
        "d-unknown",
        "unknown",
        sbx(),
        DepositState::UnknownAccount,
    ));
    effects.push(instruction("other", other(), InstructionState::Pending, 1));
    effects.push(deposit("d-other", "other", other(), DepositState::Offered));
    commit(&store, 1, effects).await.unwrap();
    store
}

fn claim(worker: &str, now: Timestamp) -> OfferClaimRequest<'_> {
    OfferClaimRequest {
        worker,
        now,
        claim_micros: 60_000_000,
        limit: 10,
        max_attempts: 2,
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_micros(1_800_000_000_000_000 + seconds * 1_000_000).unwrap()
}

fn ids(claimed: &[exchange_store::ClaimedOffer]) -> Vec<String> {
    claimed
        .iter()
        .map(|c| c.instruction.contract_id.to_string())
        .collect()
}

fn retry(executed: bool, at: Timestamp, error: Option<&str>) -> AcceptOutcome {
    AcceptOutcome {
        executed,
        retry_at: at,
        error: error.map(str::to_owned),
    }
}

async fn only_open_offers_of_onboarded_tokens_to_known_accounts_are_claimed(db: &TestDb) {
    let store = store_with_offers(db, 2).await;
    assert_eq!(store.deposit_offers_in_progress().await.unwrap(), 2);
    let claimed = store
        .claim_deposit_offers(&claim("a", at(0)))
        .await
        .unwrap()
        .offers;
    assert_eq!(ids(&claimed), ["o1", "o2"]);
    let first = &claimed[0];
    assert_eq!(first.deposit, DepositId::new("d1").unwrap());
    assert_eq!(first.account, AccountId::new("acc").unwrap());
    assert_eq!(first.registry_url, "http://registry");
    assert_eq!(first.instruction.amount, "5".parse::<Amount>().unwrap());
    assert_eq!((first.attempts, first.executions), (1, 0));
    // The standard each offer was read from comes with it: how the automation accepts it.
    let standards: Vec<_> = claimed.iter().map(|c| c.instruction.read_from).collect();
    assert_eq!(standards, [Standard::V1, Standard::V2]);
    for other in ["unknown", "other"] {
        assert_eq!(store.deposit_accept(&cid(other)).await.unwrap(), None);
    }
}

async fn claims_are_exclusive_and_expired_claims_are_taken_over(db: &TestDb) {
    let store = store_with_offers(db, 2).await;
    let first = store
        .claim_deposit_offers(&claim("a", at(0)))
        .await
        .unwrap()
        .offers;
    assert_eq!(first.len(), 2);
    // Claimed by `a`: nobody else gets them until the claim lapses.
    assert!(
        store
            .claim_deposit_offers(&claim("b", at(30)))
            .await
            .unwrap()
            .offers
            .is_empty()
    );
    let taken = store
        .claim_deposit_offers(&claim("b", at(61)))
        .await
        .unwrap()
        .offers;
    assert_eq!(ids(&taken), ["o1", "o2"]);
    assert_eq!(taken[0].attempts, 2);
    // `a` comes back after its claim lapsed: its bookkeeping is refused, `b`'s holds.
    let err = store
        .finish_deposit_accept(&cid("o1"), "a", &retry(true, at(70), None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    store
        .finish_deposit_accept(
            &cid("o1"),
            "b",
            &retry(false, at(70), Some("registry: down")),
        )
        .await
        .unwrap();
    let notes = store.deposit_accept(&cid("o1")).await.unwrap().unwrap();
    assert_eq!(
        (notes.state, notes.attempts, notes.executions),
        (AcceptState::Accepting, 2, 0)
    );
    assert_eq!(notes.last_error.as_deref(), Some("registry: down"));
}

async fn attempts_are_bounded_and_a_settled_offer_leaves_the_failed_list(db: &TestDb) {
    let store = store_with_offers(db, 2).await;
    for (n, now) in [at(0), at(10)].into_iter().enumerate() {
        let claimed = store
            .claim_deposit_offers(&claim("a", now))
            .await
            .unwrap()
            .offers;
        assert_eq!(claimed.len(), 2, "attempt {n}");
        let later = now.checked_add_micros(5_000_000).unwrap();
        store
            .finish_deposit_accept(&cid("o1"), "a", &retry(false, later, Some("prepare: no")))
            .await
            .unwrap();
        store
            .finish_deposit_accept(&cid("o2"), "a", &retry(true, later, None))
            .await
            .unwrap();
    }
    // Not yet: the last attempt's retry time has not come, the outcome may still show.
    assert!(
        store
            .claim_deposit_offers(&claim("a", at(12)))
            .await
            .unwrap()
            .offers
            .is_empty()
    );
    assert!(store.failed_deposit_accepts().await.unwrap().is_empty());
    assert_eq!(store.deposit_offers_in_progress().await.unwrap(), 2);
    // Past it, both still pending: reported, never claimed again.
    let past = store
        .claim_deposit_offers(&claim("a", at(20)))
        .await
        .unwrap();
    assert!(past.offers.is_empty());
    let gave_up: Vec<_> = past.gave_up.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(gave_up, ["o1", "o2"]);
    let failed = store.failed_deposit_accepts().await.unwrap();
    let errors: Vec<_> = failed
        .iter()
        .map(|f| {
            (
                f.record.instruction.to_string(),
                f.record.last_error.clone(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(errors.contains(&("o1".into(), Some("prepare: no".into()))));
    assert!(errors.iter().any(|(id, e)| id == "o2" && e.is_some()));
    assert_eq!(store.deposit_offers_in_progress().await.unwrap(), 0);
    // Ingestion settles one (accepted elsewhere): it leaves the list; the mark does not stop
    // ingestion.
    commit(
        &store,
        2,
        vec![
            instruction("o2", sbx(), InstructionState::Withdrawn, 2),
            Effect::DepositUpdated {
                id: DepositId::new("d2").unwrap(),
                state: DepositState::Cancelled,
                origin: origin(2),
                held_back: None,
            },
        ],
    )
    .await
    .unwrap();
    let failed = store.failed_deposit_accepts().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].record.instruction, cid("o1"));
    // An operator's retry: attempts start over.
    store.retry_deposit_accept(&cid("o1")).await.unwrap();
    let again = store
        .claim_deposit_offers(&claim("a", at(21)))
        .await
        .unwrap()
        .offers;
    assert_eq!(ids(&again), ["o1"]);
    assert_eq!(again[0].attempts, 1);
    assert!(matches!(
        store.retry_deposit_accept(&cid("o2")).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn concurrent_claims_never_share_an_offer(db: &TestDb) {
    let store = store_with_offers(db, 12).await;
    let workers = ["a", "b", "c", "d"];
    let claims = workers.map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut request = claim(w, at(0));
            request.limit = 4;
            store.claim_deposit_offers(&request).await.unwrap().offers
        })
    });
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for handle in claims {
        for c in handle.await.unwrap() {
            total += 1;
            assert!(
                seen.insert(c.instruction.contract_id.to_string()),
                "shared: {c:?}"
            );
        }
    }
    assert!(total >= 4, "{total}");
    // Whatever the others skipped is still there, once.
    let mut request = claim("e", at(0));
    request.limit = 20;
    for c in store.claim_deposit_offers(&request).await.unwrap().offers {
        assert!(
            seen.insert(c.instruction.contract_id.to_string()),
            "shared: {c:?}"
        );
    }
    assert_eq!(seen.len(), 12);
}
