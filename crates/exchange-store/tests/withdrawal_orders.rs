//! Placing withdrawals (`Store::place_withdrawal`): selection and reservation of the funding
//! holdings, the debit and the request in one transaction, idempotency keys and the refusals;
//! and the automation's claims on them (`Store::claim_withdrawals`, `Store::finish_attempt`),
//! on SQLite and PostgreSQL alike.

mod harness;

use std::collections::BTreeSet;

use exchange_core::changeset::{AccountId, Effect};
use exchange_core::selection::{SelectionError, SelectionPolicy};
use exchange_core::token_standard::Lock;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalOrder, WithdrawalState};
use exchange_core::{Amount, ContractId, Timestamp};
use exchange_store::{AttemptOutcome, ClaimRequest, Store, StoreError, Switch};
use harness::TestDb;
use harness::fixtures::{
    HOUR_MICROS, amount, amulet, credit, dso_lock, holding_with, race_orders, reserved_by,
};

conformance!(
    an_order_reserves_the_smallest_covering_holdings,
    concurrent_orders_never_share_an_input,
    a_repeated_idempotency_key_returns_the_first_withdrawal,
    concurrent_orders_with_one_key_make_one_withdrawal,
    refusals_are_typed_and_write_nothing,
    no_spendable_holdings_says_why,
    an_expired_lock_no_longer_binds,
    a_claim_hands_out_each_due_withdrawal_to_one_worker,
    an_execution_marks_the_withdrawal_submitted_and_schedules_the_retry,
    concurrent_claims_never_share_a_withdrawal,
);

fn account() -> AccountId {
    AccountId::new("acc").unwrap()
}

/// A recognized Amulet holding from transaction 1.
fn holding(c: &str, value: &str, lock: Option<Lock>) -> Effect {
    holding_with(c, amount(value), lock, 1)
}

/// Account `acc` credited with `funds` Amulet and the treasury holding `holdings`.
async fn funded(db: &TestDb, funds: &str, holdings: Vec<Effect>) -> Store {
    harness::fixtures::funded(db, &[account()], funds, holdings).await
}

/// `acc`'s order of `value` Amulet to bob.
fn order(id: &str, value: &str) -> WithdrawalOrder {
    harness::fixtures::order(id, &account(), amount(value))
}

fn keyed(id: &str, value: &str, key: &str) -> WithdrawalOrder {
    WithdrawalOrder {
        idempotency_key: Some(key.into()),
        ..order(id, value)
    }
}

/// Why no holdings could fund it, if that was the refusal.
fn selection_error(err: &StoreError) -> Option<&SelectionError> {
    match err {
        StoreError::NoSpendableHoldings(why) => Some(why),
        _ => None,
    }
}

async fn balance(store: &Store) -> Amount {
    store.balance(&account(), &amulet()).await.unwrap()
}

async fn an_order_reserves_the_smallest_covering_holdings(db: &TestDb) {
    let holdings = vec![
        holding("h60", "60", None),
        holding("h40", "40", None),
        holding("d1", "1.5", None),
        holding("d2", "2", None),
    ];
    let store = funded(db, "100", holdings).await;
    let before = Timestamp::now();
    let placed = store.place_withdrawal(&order("w1", "10")).await.unwrap();
    let after = Timestamp::now();

    assert_eq!(placed.state, WithdrawalState::Requested);
    assert_eq!(placed.amount, amount("10"));
    let trec_tgt = placed.trec_tgt.unwrap().micros();
    assert!(
        (before.micros() + HOUR_MICROS..=after.micros() + HOUR_MICROS).contains(&trec_tgt),
        "trecTgt {trec_tgt} is not now + 1h"
    );
    // The dust goes first and is merged into the change; 60 is left alone.
    assert_eq!(reserved_by(&store, "w1").await, ["d1", "d2", "h40"]);
    assert_eq!(balance(&store).await, amount("90"));
    assert_eq!(store.withdrawal(&placed.id).await.unwrap(), Some(placed));
}

async fn concurrent_orders_never_share_an_input(db: &TestDb) {
    // Ten holdings of 10; each order of 15 needs two of them, so five orders can be funded.
    let holdings = (0..10)
        .map(|i| holding(&format!("h{i}"), "10", None))
        .collect();
    let store = funded(db, "1000", holdings).await;
    // One account per order, so the account lock does not serialize them: only the holdings'.
    let accounts: Vec<AccountId> = (0..8)
        .map(|i| AccountId::new(format!("acc{i}")).unwrap())
        .collect();
    credit(&store, 2, &accounts, "100", "d2-", Vec::new()).await;
    let orders = accounts
        .iter()
        .enumerate()
        .map(|(i, account)| WithdrawalOrder {
            account: account.clone(),
            ..order(&format!("w{i}"), "15")
        })
        .collect();
    race_orders(&store, orders, 5, 2).await;
}

async fn a_repeated_idempotency_key_returns_the_first_withdrawal(db: &TestDb) {
    let store = funded(db, "100", vec![holding("h1", "60", None)]).await;
    let first = store
        .place_withdrawal(&keyed("w1", "10", "k1"))
        .await
        .unwrap();
    assert_eq!(first.idempotency_key.as_deref(), Some("k1"));
    // A retry names a new withdrawal id (the caller generated one again): it gets the first.
    let again = store
        .place_withdrawal(&keyed("w2", "10", "k1"))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(balance(&store).await, amount("90"));
    assert_eq!(store.withdrawals(None).await.unwrap().len(), 1);

    // Even with withdrawals switched off since: the first was accepted before.
    store
        .set_switch(Switch::Withdrawals, false, "maintenance")
        .await
        .unwrap();
    assert_eq!(
        store
            .place_withdrawal(&keyed("w3", "10", "k1"))
            .await
            .unwrap(),
        first
    );

    // The same key for another request is a bug of the caller, not a retry.
    store
        .set_switch(Switch::Withdrawals, true, "")
        .await
        .unwrap();
    let err = store
        .place_withdrawal(&keyed("w4", "11", "k1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::IdempotencyKeyReused(why) if why.contains("idempotency key \"k1\"")),
        "{err:?}"
    );
    assert_eq!(balance(&store).await, amount("90"));
}

async fn concurrent_orders_with_one_key_make_one_withdrawal(db: &TestDb) {
    let store = funded(
        db,
        "100",
        vec![holding("h1", "60", None), holding("h2", "60", None)],
    )
    .await;
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .place_withdrawal(&keyed(&format!("w{i}"), "10", "same"))
                    .await
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().unwrap().id.to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(balance(&store).await, amount("90"));
}

async fn refusals_are_typed_and_write_nothing(db: &TestDb) {
    let store = funded(db, "100", vec![holding("h1", "500", None)]).await;

    let err = store
        .place_withdrawal(&order("w1", "100.0000000001"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InsufficientFunds { .. }),
        "{err:?}"
    );

    let mut unknown = order("w2", "1");
    unknown.instrument.id = "NotAToken".into();
    let err = store.place_withdrawal(&unknown).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownInstrument(i) if i.id == "NotAToken"),
        "{err:?}"
    );
    // Onboarding the token makes it known, even before the treasury holds any.
    store
        .upsert_token(&unknown.instrument, "http://registry")
        .await
        .unwrap();
    let err = store.place_withdrawal(&unknown).await.unwrap_err();
    assert!(
        matches!(err, StoreError::InsufficientFunds { .. }),
        "{err:?}"
    );

    for bad in ["0", "-1"] {
        let err = store.place_withdrawal(&order("w3", bad)).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }

    store
        .set_switch(Switch::Withdrawals, false, "DB restore in progress")
        .await
        .unwrap();
    let err = store.place_withdrawal(&order("w4", "1")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::WithdrawalsDisabled { reason } if reason == "DB restore in progress"),
        "{err:?}"
    );

    assert_eq!(balance(&store).await, amount("100"));
    assert!(store.withdrawals(None).await.unwrap().is_empty());
    assert_eq!(reserved_by(&store, "w1").await, Vec::<String>::new());
}

async fn no_spendable_holdings_says_why(db: &TestDb) {
    let holdings = vec![
        holding("free", "5", None),
        holding("locked", "50", dso_lock(None)),
        holding("dust1", "1", None),
        holding("dust2", "1", None),
    ];
    let store = funded(db, "1000", holdings).await;
    // 7 is spendable, but the two largest spendable holdings make only 6.
    let mut limited = order("w0", "7");
    limited.policy = SelectionPolicy { max_inputs: 2 };
    let err = store.place_withdrawal(&limited).await.unwrap_err();
    assert!(
        matches!(
            selection_error(&err),
            Some(SelectionError::TooManyInputs { max_inputs: 2, .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("needs more than 2 inputs"),
        "{err}"
    );

    // Reserve "free" and the dust by a first withdrawal.
    store.place_withdrawal(&order("w1", "6")).await.unwrap();
    assert_eq!(reserved_by(&store, "w1").await, ["dust1", "dust2", "free"]);

    let err = store
        .place_withdrawal(&order("w2", "10"))
        .await
        .unwrap_err();
    match selection_error(&err) {
        Some(SelectionError::Unavailable { needed, totals }) => {
            assert_eq!(*needed, amount("10"));
            assert_eq!(totals.spendable, Amount::ZERO);
            assert_eq!(totals.reserved, amount("7"));
            assert_eq!(totals.locked, amount("50"));
        }
        other => panic!("{other:?}"),
    }
    let err = store
        .place_withdrawal(&order("w3", "100"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            selection_error(&err),
            Some(SelectionError::Insufficient { .. })
        ),
        "{err:?}"
    );

    assert_eq!(balance(&store).await, amount("994"));
}

async fn an_expired_lock_no_longer_binds(db: &TestDb) {
    let past = Timestamp::from_micros(Timestamp::now().micros() - HOUR_MICROS).unwrap();
    let future = Timestamp::from_micros(Timestamp::now().micros() + HOUR_MICROS).unwrap();
    let holdings = vec![
        holding("expired", "10", dso_lock(Some(past))),
        holding("binding", "10", dso_lock(Some(future))),
    ];
    let store = funded(db, "100", holdings).await;
    store.place_withdrawal(&order("w1", "10")).await.unwrap();
    assert_eq!(reserved_by(&store, "w1").await, ["expired"]);
    let err = store
        .place_withdrawal(&order("w2", "10"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            selection_error(&err),
            Some(SelectionError::Unavailable { .. })
        ),
        "{err:?}"
    );
}

fn claim(worker: &str, now: Timestamp) -> ClaimRequest<'_> {
    ClaimRequest {
        worker,
        now,
        claim_micros: 60_000_000,
        limit: 10,
    }
}

fn later(t: Timestamp, micros: i64) -> Timestamp {
    t.checked_add_micros(micros).unwrap()
}

async fn a_claim_hands_out_each_due_withdrawal_to_one_worker(db: &TestDb) {
    let holdings = vec![holding("h1", "10", None), holding("h2", "20", None)];
    let store = funded(db, "100", holdings).await;
    store.place_withdrawal(&order("w1", "10")).await.unwrap();
    store.place_withdrawal(&order("w2", "20")).await.unwrap();
    let now = Timestamp::now();
    let first = store.claim_withdrawals(&claim("a", now)).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|c| c.withdrawal.id.as_str()).collect();
    assert_eq!(ids, ["w1", "w2"]);
    assert_eq!(first[0].inputs, [ContractId::new("h1").unwrap()]);
    assert_eq!(first[1].inputs, [ContractId::new("h2").unwrap()]);
    assert_eq!((first[0].attempts, first[0].executions), (1, 0));
    // Claimed by `a`: nobody else gets them until the claim lapses.
    assert!(
        store
            .claim_withdrawals(&claim("b", now))
            .await
            .unwrap()
            .is_empty()
    );
    let lapsed = later(now, 61_000_000);
    let taken = store.claim_withdrawals(&claim("b", lapsed)).await.unwrap();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0].attempts, 2);
    // `a` comes back after its claim lapsed: its bookkeeping is refused, `b`'s holds.
    let outcome = AttemptOutcome {
        executed: true,
        retry_at: lapsed,
        error: None,
        execute_before: None,
    };
    let id = WithdrawalId::new("w1").unwrap();
    let refused = store.finish_attempt(&id, "a", &outcome).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
    let w1 = store.withdrawal(&id).await.unwrap().unwrap();
    assert_eq!(w1.state, WithdrawalState::Requested);
    // Past its target record time a withdrawal is no longer handed out: no transfer can commit.
    let past = later(now, 2 * HOUR_MICROS);
    assert!(
        store
            .claim_withdrawals(&claim("c", past))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_execution_marks_the_withdrawal_submitted_and_schedules_the_retry(db: &TestDb) {
    let store = funded(db, "100", vec![holding("h1", "10", None)]).await;
    store.place_withdrawal(&order("w1", "10")).await.unwrap();
    let id = WithdrawalId::new("w1").unwrap();
    let now = Timestamp::now();
    let retry_at = later(now, 5_000_000);
    store.claim_withdrawals(&claim("a", now)).await.unwrap();
    let failed = AttemptOutcome {
        executed: false,
        retry_at,
        error: Some("registry unavailable".into()),
        execute_before: None,
    };
    store.finish_attempt(&id, "a", &failed).await.unwrap();
    let notes = store.attempt_notes(&id).await.unwrap();
    assert_eq!(notes, (1, 0, Some("registry unavailable".into())));
    // Not due before `retry_at`, due from then on.
    assert!(
        store
            .claim_withdrawals(&claim("a", now))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_withdrawals(&claim("a", retry_at))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let executed = AttemptOutcome {
        executed: true,
        retry_at: later(retry_at, 5_000_000),
        error: None,
        execute_before: None,
    };
    store.finish_attempt(&id, "a", &executed).await.unwrap();
    let w1 = store.withdrawal(&id).await.unwrap().unwrap();
    assert_eq!(w1.state, WithdrawalState::Submitted);
    assert_eq!(store.attempt_notes(&id).await.unwrap(), (2, 1, None));
    // The customer was debited once, by the request; submitting books nothing.
    assert_eq!(balance(&store).await, amount("90"));
    // A submitted withdrawal without an outcome is due again at its retry time.
    let third = store
        .claim_withdrawals(&claim("b", executed.retry_at))
        .await
        .unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].withdrawal.state, WithdrawalState::Submitted);
}

async fn concurrent_claims_never_share_a_withdrawal(db: &TestDb) {
    let holdings = (0..20)
        .map(|i| holding(&format!("h{i:02}"), "5", None))
        .collect();
    let store = funded(db, "100", holdings).await;
    for i in 0..20 {
        store
            .place_withdrawal(&order(&format!("w{i:02}"), "5"))
            .await
            .unwrap();
    }
    let now = Timestamp::now();
    let workers = ["a", "b", "c", "d"].map(|worker| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let request = ClaimRequest {
                    limit: 3,
                    ..claim(worker, now)
                };
                let got = store.claim_withdrawals(&request).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.withdrawal.id.to_string()));
            }
        })
    });
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    all.sort();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 20, "{all:?}");
    assert_eq!(
        distinct.len(),
        20,
        "a withdrawal was claimed twice: {all:?}"
    );
}
