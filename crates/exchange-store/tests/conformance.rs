//! The store's contract, run on SQLite and on PostgreSQL alike.

mod harness;

use exchange_core::changeset::{
    ChangeSet, Checkpoint, Deposit, DepositId, DepositState, Direction, Effect, Holding,
    IngestedUpdate, InstructionState, JournalCause, JournalEntry, QuarantinedUpdate,
    TransferInstruction,
};
use exchange_core::ingest::{Known, Needs, transition_effects};
use exchange_core::parser::Standard;
use exchange_core::token_standard::Lock;
use exchange_core::withdrawal::{
    RecoveredWithdrawal, WithdrawalRequest, WithdrawalState, WithdrawalTransition,
};
use exchange_core::{Amount, InstrumentId, Offset, SynchronizerId, Timestamp, UpdateId};
use exchange_store::{Dar, Store, StoreError, Switch};
use harness::TestDb;
use harness::fixtures::{
    account, amount, amulet, checkpoint, cid, deposit, holding, origin, party, recorded, sync, tx,
    update, wid,
};

conformance!(
    a_refund_decided_before_an_attribution_is_refused,
    migrations_at_open_are_idempotent,
    checkpoint_only_moves_forward,
    a_failing_commit_writes_nothing,
    a_deposit_is_credited_exactly_once,
    balances_are_exact,
    holdings_lifecycle_and_reservation,
    withdrawal_lifecycle_with_refunds,
    recovered_withdrawals,
    deposits_to_unknown_accounts_and_offers,
    transfer_instructions_in_both_directions,
    operator_switch_stops_withdrawal_requests,
    tokens_and_dars,
    onboarded_tokens_keep_their_package_names,
    held_back_holdings_and_deposits_wait_for_onboarding,
    record_times_and_ingested_updates,
    concurrent_requests_cannot_spend_twice,
    a_batch_laid_over_reads_equals_the_state_after_its_commit,
    a_db_from_before_the_lock_column_migrates,
    an_update_is_recorded_once_before_and_after_migrations,
    quarantined_updates_are_held_then_released_once,
    a_second_payment_is_stored_as_such,
    the_store_books_only_what_the_change_set_lists,
    an_automation_transition_refunds_by_the_same_rule_as_ingestion,
);

// ---- fixtures ------------------------------------------------------------------------------

/// An offered deposit accepted in transaction `n`, with its credit, as core emits it.
fn accepted(d: &Deposit, n: i64) -> Vec<Effect> {
    vec![
        Effect::DepositUpdated {
            id: d.id.clone(),
            state: DepositState::Credited,
            origin: origin(n),
            held_back: None,
        },
        Effect::Journal(d.credit(&origin(n)).unwrap()),
    ]
}

/// A withdrawal transition with the refund and release core decides for it, from what the
/// store knows of the withdrawal (as ingestion folds it).
async fn moved(store: &Store, t: WithdrawalTransition) -> Vec<Effect> {
    let mut needs = Needs::default();
    needs.withdrawals.insert(t.id.clone());
    let known = read(store, &needs, None).await;
    transition_effects(&known.withdrawals[&t.id], t).unwrap()
}

/// A store with account `acc` holding `funds` Amulet, credited by deposit d0 in transaction 1,
/// plus treasury holdings h1 (60) and h2 (40) from the same transaction.
async fn funded(db: &TestDb, funds: &str) -> Store {
    let holdings = vec![holding("h1", "60", 1), holding("h2", "40", 1)];
    harness::fixtures::funded(db, &[account("acc")], funds, holdings).await
}

/// Withdrawal `id` of 25 Amulet to bob, lost and recovered by ingestion in transaction 2:
/// unattributed, no offer, no duplicate.
fn recovered(id: &str) -> RecoveredWithdrawal {
    RecoveredWithdrawal {
        account: None,
        id: wid(id),
        instrument: amulet(),
        amount: amount("25"),
        receiver: party("bob"),
        origin: origin(2),
        transfer_instruction: None,
        duplicate_of: None,
        offer_expiry: None,
    }
}

fn request(id: &str, value: &str, holdings: &[&str]) -> WithdrawalRequest {
    WithdrawalRequest {
        id: wid(id),
        account: account("acc"),
        instrument: amulet(),
        amount: amount(value),
        receiver: party("bob"),
        trec_tgt: Timestamp::from_micros(1_000_000).unwrap(),
        synchronizer: Some(SynchronizerId::new("global-domain::1220ab").unwrap()),
        holdings: holdings.iter().map(|h| cid(h)).collect(),
    }
}

fn to(id: &str, state: WithdrawalState, n: Option<i64>) -> WithdrawalTransition {
    WithdrawalTransition {
        id: wid(id),
        to: state,
        reason: None,
        origin: n.map(origin),
        transfer_instruction: None,
    }
}

async fn balance(store: &Store) -> Amount {
    store.balance(&account("acc"), &amulet()).await.unwrap()
}

// ---- the contract --------------------------------------------------------------------------

async fn migrations_at_open_are_idempotent(db: &TestDb) {
    let store = funded(db, "100").await;
    store.close().await;
    let again = db.open().await;
    let third = db.open().await;
    assert_eq!(balance(&again).await, amount("100"));
    assert_eq!(third.checkpoint().await.unwrap(), Some(checkpoint(1)));
}

async fn checkpoint_only_moves_forward(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.checkpoint().await.unwrap(), None);
    store
        .commit(&ChangeSet::default(), &checkpoint(5))
        .await
        .unwrap();

    for stale in [3, 5] {
        let err = store
            .commit(&tx(stale + 100, vec![]), &checkpoint(stale))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::CheckpointRegression { stored, attempted }
                if stored.get() == 5 && attempted.get() == stale),
            "{err:?}"
        );
    }
    assert!(!store.is_ingested(&update(103).update_id).await.unwrap());

    // An offset checkpoint without a transaction keeps the identity of the last one.
    let offset_only = Checkpoint {
        offset: Offset::new(9).unwrap(),
        last_update: None,
    };
    store
        .commit(&ChangeSet::default(), &offset_only)
        .await
        .unwrap();
    let stored = store.checkpoint().await.unwrap().unwrap();
    assert_eq!(stored.offset.get(), 9);
    assert_eq!(stored.last_update, Some(update(5)));

    // Only a synchronizer's time moved (an idle ledger): the checkpoint may stay where it is,
    // and the record time advances. A transaction at that offset may not.
    let mut times = ChangeSet::default();
    times.observe_record_time(sync(), Timestamp::from_micros(77_000).unwrap());
    store.commit(&times, &offset_only).await.unwrap();
    assert_eq!(
        store.record_times().await.unwrap().get(&sync()).copied(),
        Timestamp::from_micros(77_000)
    );
    let err = store
        .commit(&tx(109, vec![]), &offset_only)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CheckpointRegression { .. }),
        "{err:?}"
    );

    // Operators may rewind (node restored: offsets changed).
    store.rewind_checkpoint(&checkpoint(2), None).await.unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), Some(checkpoint(2)));
}

async fn a_failing_commit_writes_nothing(db: &TestDb) {
    let store = funded(db, "100").await;
    // Valid effects followed by a duplicate holding: all or nothing.
    let mut effects = vec![holding("h3", "5", 2)];
    effects.extend(recorded(deposit(
        "d1",
        Some("acc"),
        "7",
        DepositState::Credited,
        2,
    )));
    effects.push(holding("h1", "60", 2));
    let changes = tx(2, effects);
    let err = store.commit(&changes, &checkpoint(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // A regressing checkpoint with valid effects: nothing either.
    let good = tx(2, vec![holding("h3", "5", 2)]);
    let err = store.commit(&good, &checkpoint(1)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::CheckpointRegression { .. }),
        "{err:?}"
    );

    assert_eq!(store.holding(&cid("h3")).await.unwrap(), None);
    assert_eq!(balance(&store).await, amount("100"));
    assert_eq!(
        store.deposit(&DepositId::new("d1").unwrap()).await.unwrap(),
        None
    );
    assert!(!store.is_ingested(&update(2).update_id).await.unwrap());
    assert_eq!(store.checkpoint().await.unwrap(), Some(checkpoint(1)));

    // The same batch with a checkpoint ahead goes through.
    store.commit(&good, &checkpoint(2)).await.unwrap();
    assert!(store.holding(&cid("h3")).await.unwrap().is_some());
}

async fn a_deposit_is_credited_exactly_once(db: &TestDb) {
    let store = funded(db, "100").await;
    let d = deposit("d1", Some("acc"), "12.5", DepositState::Credited, 2);
    store
        .commit(&tx(2, recorded(d.clone())), &checkpoint(2))
        .await
        .unwrap();
    // The same deposit in a later batch (a bug upstream, or a replay without rewind).
    let err = store
        .commit(&tx(3, recorded(d.clone())), &checkpoint(3))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The same credit under another deposit row: the journal cause is unique too.
    let credit = JournalEntry {
        account: account("acc"),
        instrument: amulet(),
        amount: amount("12.5"),
        cause: JournalCause::Deposit(d.id.clone()),
        origin: Some(origin(3)),
    };
    let err = store
        .commit(&tx(3, vec![Effect::Journal(credit)]), &checkpoint(3))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The same update id again.
    let err = store
        .commit(&tx(2, vec![]), &checkpoint(4))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    assert_eq!(balance(&store).await, amount("112.5"));
    let journal = store.journal(&account("acc")).await.unwrap();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[1].entry.cause, JournalCause::Deposit(d.id));
    assert_eq!(journal[1].entry.origin, Some(origin(2)));
}

async fn balances_are_exact(db: &TestDb) {
    let store = db.open().await;
    store.create_account(&account("acc"), "c").await.unwrap();
    let entry = |value: &str, note: &str| {
        Effect::Journal(JournalEntry {
            account: account("acc"),
            instrument: amulet(),
            amount: amount(value),
            cause: JournalCause::Adjustment(note.into()),
            origin: None,
        })
    };
    let max = "9999999999999999999999999999.9999999999";
    store
        .commit(
            &tx(
                1,
                vec![
                    entry("0.1", "a"),
                    entry("0.2", "b"),
                    entry("0.0000000001", "c"),
                ],
            ),
            &checkpoint(1),
        )
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("0.3000000001"));

    let other = InstrumentId {
        admin: party("acme"),
        id: "AcmeToken".into(),
    };
    let big = |value: &str, note: &str| {
        Effect::Journal(JournalEntry {
            account: account("acc"),
            instrument: other.clone(),
            amount: amount(value),
            cause: JournalCause::Adjustment(note.into()),
            origin: None,
        })
    };
    store
        .commit(
            &tx(
                2,
                vec![
                    big(max, "max"),
                    big("-0.0000000001", "unit"),
                    big("-9999999999999999999999999999", "most"),
                ],
            ),
            &checkpoint(2),
        )
        .await
        .unwrap();
    let balances = store.balances(&account("acc")).await.unwrap();
    assert_eq!(balances[&other], amount("0.9999999998"));
    assert_eq!(balances[&amulet()], amount("0.3000000001"));

    // A single holding at the top of the range round-trips.
    store
        .commit(&tx(3, vec![holding("huge", max, 3)]), &checkpoint(3))
        .await
        .unwrap();
    let huge = store.holding(&cid("huge")).await.unwrap().unwrap();
    assert_eq!(huge.holding.amount, Amount::MAX);
    assert_eq!(huge.holding.amount.to_string(), max);
}

async fn holdings_lifecycle_and_reservation(db: &TestDb) {
    let store = funded(db, "100").await;
    // The lock itself is kept, as the holding view has it.
    let lock = Lock {
        holders: vec![party("dso")],
        expires_at: Some(Timestamp::from_micros(1_750_204_800_000_000).unwrap()),
        expires_after_micros: Some(600_000_000),
        context: Some("transfer to 'bob'".into()),
    };
    let locked = Effect::HoldingCreated(Holding {
        contract_id: cid("h3"),
        instrument: amulet(),
        amount: amount("1"),
        lock: Some(lock.clone()),
        created: origin(2),
        held_back: None,
    });
    store
        .commit(&tx(2, vec![locked]), &checkpoint(2))
        .await
        .unwrap();
    let h3 = store.holding(&cid("h3")).await.unwrap().unwrap();
    assert_eq!(h3.holding.lock, Some(lock));
    let h1 = store.holding(&cid("h1")).await.unwrap().unwrap();
    assert_eq!(h1.holding.lock, None);
    let ids = |records: Vec<exchange_store::HoldingRecord>| {
        records
            .into_iter()
            .map(|r| r.holding.contract_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.active_holdings(&amulet()).await.unwrap()),
        ["h1", "h2", "h3"]
    );
    assert_eq!(
        ids(store.available_holdings(&amulet()).await.unwrap()),
        ["h1", "h2"]
    );

    store
        .request_withdrawal(&request("w1", "50", &["h1"]))
        .await
        .unwrap();
    assert_eq!(
        ids(store.available_holdings(&amulet()).await.unwrap()),
        ["h2"]
    );
    let h1 = store.holding(&cid("h1")).await.unwrap().unwrap();
    assert_eq!(h1.reserved_by, Some(wid("w1")));

    // A reserved, a locked or an unknown holding cannot fund another withdrawal; nothing of
    // that request is written.
    for taken in ["h1", "h3", "nope"] {
        let err = store
            .request_withdrawal(&request("w2", "10", &["h2", taken]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{taken}: {err:?}");
    }
    assert_eq!(store.withdrawal(&wid("w2")).await.unwrap(), None);
    assert_eq!(balance(&store).await, amount("50"));
    assert_eq!(
        ids(store.available_holdings(&amulet()).await.unwrap()),
        ["h2"]
    );

    // The transfer consumes h1 and returns change.
    let archive = Effect::HoldingArchived {
        contract_id: cid("h1"),
        archived: origin(3),
    };
    store
        .commit(
            &tx(3, vec![archive.clone(), holding("h4", "10", 3)]),
            &checkpoint(3),
        )
        .await
        .unwrap();
    let h1 = store.holding(&cid("h1")).await.unwrap().unwrap();
    assert!(!h1.is_active());
    assert_eq!(h1.archived, Some(origin(3)));
    assert_eq!(h1.reserved_by, Some(wid("w1")), "kept as history");
    assert_eq!(
        ids(store.active_holdings(&amulet()).await.unwrap()),
        ["h2", "h3", "h4"]
    );
    // Archiving twice is a conflict.
    let err = store
        .commit(&tx(4, vec![archive]), &checkpoint(4))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn withdrawal_lifecycle_with_refunds(db: &TestDb) {
    use WithdrawalState::*;
    let store = funded(db, "100").await;

    // Requested → submitted (automation) → completed (ingestion).
    store
        .request_withdrawal(&request("w1", "50", &["h1"]))
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("50"));
    let w1 = store.withdrawal(&wid("w1")).await.unwrap().unwrap();
    assert_eq!(
        (w1.state, w1.account.clone()),
        (Requested, Some(account("acc")))
    );
    // The synchronizer whose record time trecTgt bounds is kept (ingestion expires by it).
    assert_eq!(
        w1.synchronizer,
        Some(SynchronizerId::new("global-domain::1220ab").unwrap())
    );
    assert_eq!(
        store.latest_in_flight_trec_tgt().await.unwrap(),
        w1.trec_tgt
    );
    store
        .transition_withdrawal(&to("w1", Submitted, None))
        .await
        .unwrap();
    let mut effects = vec![Effect::HoldingArchived {
        contract_id: cid("h1"),
        archived: origin(2),
    }];
    effects.extend(moved(&store, to("w1", Completed, Some(2))).await);
    let done = tx(2, effects);
    store.commit(&done, &checkpoint(2)).await.unwrap();
    let w1 = store.withdrawal(&wid("w1")).await.unwrap().unwrap();
    assert_eq!((w1.state, w1.last_origin), (Completed, Some(origin(2))));
    assert_eq!(balance(&store).await, amount("50"));
    let err = store
        .transition_withdrawal(&to("w1", Submitted, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidTransition { .. }),
        "{err:?}"
    );

    // Failed (no preapproval): refunded once, holdings released, safe to redo.
    store
        .request_withdrawal(&request("w2", "30", &["h2"]))
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("20"));
    let failed = WithdrawalTransition {
        reason: Some("no transfer preapproval for bob".into()),
        ..to("w2", Failed, None)
    };
    store.transition_withdrawal(&failed).await.unwrap();
    store.transition_withdrawal(&failed).await.unwrap();
    assert_eq!(balance(&store).await, amount("50"));
    let w2 = store.withdrawal(&wid("w2")).await.unwrap().unwrap();
    assert_eq!(
        w2.reason.as_deref(),
        Some("no transfer preapproval for bob")
    );
    assert_eq!(
        store
            .holding(&cid("h2"))
            .await
            .unwrap()
            .unwrap()
            .reserved_by,
        None
    );
    let causes: Vec<_> = store
        .journal(&account("acc"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entry.cause.kind(), r.entry.amount))
        .collect();
    assert_eq!(
        causes,
        [
            ("deposit", amount("100")),
            ("withdrawal_reserve", amount("-50")),
            ("withdrawal_reserve", amount("-30")),
            ("withdrawal_refund", amount("30")),
        ]
    );

    // Expired (record time passed trecTgt), learned by ingestion: refunded.
    store
        .request_withdrawal(&request("w3", "20", &["h2"]))
        .await
        .unwrap();
    store
        .commit(
            &tx(3, moved(&store, to("w3", Expired, Some(3))).await),
            &checkpoint(3),
        )
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("50"));
    assert_eq!(
        store.withdrawals_in_state(Expired).await.unwrap()[0].id,
        wid("w3")
    );

    // Multi-step: pending acceptance, then rejected by the receiver → failed, refunded.
    store
        .request_withdrawal(&request("w4", "10", &["h2"]))
        .await
        .unwrap();
    let offer = WithdrawalTransition {
        transfer_instruction: Some(cid("ti1")),
        ..to("w4", PendingAcceptance, Some(4))
    };
    store
        .commit(&tx(4, moved(&store, offer).await), &checkpoint(4))
        .await
        .unwrap();
    assert_eq!(store.latest_in_flight_trec_tgt().await.unwrap(), None);
    store
        .commit(
            &tx(5, moved(&store, to("w4", Failed, Some(5))).await),
            &checkpoint(5),
        )
        .await
        .unwrap();
    let w4 = store.withdrawal(&wid("w4")).await.unwrap().unwrap();
    assert_eq!(
        (w4.state, w4.transfer_instruction),
        (Failed, Some(cid("ti1")))
    );
    assert_eq!(balance(&store).await, amount("50"));

    // Not more than the balance, not twice the same id, not for nothing.
    let err = store
        .request_withdrawal(&request("w5", "50.0000000001", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::InsufficientFunds { available, .. } if *available == amount("50")),
        "{err:?}"
    );
    let err = store
        .request_withdrawal(&request("w1", "1", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .request_withdrawal(&request("w6", "0", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let err = store
        .transition_withdrawal(&to("nope", Failed, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownWithdrawal(_)), "{err:?}");
    assert_eq!(balance(&store).await, amount("50"));
}

async fn recovered_withdrawals(db: &TestDb) {
    let store = funded(db, "100").await;
    let recovered = RecoveredWithdrawal {
        transfer_instruction: Some(cid("ti9")),
        ..recovered("lost-1")
    };
    store
        .commit(
            &tx(2, vec![Effect::WithdrawalRecovered(recovered.clone())]),
            &checkpoint(2),
        )
        .await
        .unwrap();
    let w = store.withdrawal(&wid("lost-1")).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Recovered);
    assert_eq!(
        (w.account, w.trec_tgt, w.amount),
        (None, None, amount("25"))
    );
    // Its offer is rejected later: failed, but there is no account to refund.
    store
        .commit(
            &tx(
                3,
                moved(&store, to("lost-1", WithdrawalState::Failed, Some(3))).await,
            ),
            &checkpoint(3),
        )
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("100"));
    // Recovering it twice is a conflict.
    let err = store
        .commit(
            &tx(4, vec![Effect::WithdrawalRecovered(recovered)]),
            &checkpoint(4),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

/// Ingestion decides a recovered withdrawal's refund from what it loaded (debited to
/// suspense); an operator attributes it to `acc` before the batch commits. The stale refund
/// would credit suspense a second time and leave the customer debited: it is a conflict, and
/// decided again from the DB the refund goes to the customer, once.
async fn a_refund_decided_before_an_attribution_is_refused(db: &TestDb) {
    let store = funded(db, "100").await;
    let suspense = account("suspense");
    store.create_account(&suspense, "operator").await.unwrap();
    let recovered = RecoveredWithdrawal {
        transfer_instruction: Some(cid("ti9")),
        ..recovered("lost-1")
    };
    let debit = Effect::Journal(JournalEntry {
        account: suspense.clone(),
        instrument: amulet(),
        amount: amount("-25"),
        cause: JournalCause::WithdrawalReserve(wid("lost-1")),
        origin: Some(origin(2)),
    });
    store
        .commit(
            &tx(2, vec![Effect::WithdrawalRecovered(recovered), debit]),
            &checkpoint(2),
        )
        .await
        .unwrap();
    let stale = moved(&store, to("lost-1", WithdrawalState::Failed, Some(3))).await;
    store
        .attribute_withdrawal(&wid("lost-1"), &account("acc"), &suspense)
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("75"));
    let err = store
        .commit(&tx(3, stale), &checkpoint(3))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let fresh = moved(&store, to("lost-1", WithdrawalState::Failed, Some(3))).await;
    store.commit(&tx(3, fresh), &checkpoint(3)).await.unwrap();
    assert_eq!(balance(&store).await, amount("100"));
    assert_eq!(
        store.balance(&suspense, &amulet()).await.unwrap(),
        Amount::ZERO
    );
    assert!(store.check_balances().await.unwrap().is_empty());
}

async fn deposits_to_unknown_accounts_and_offers(db: &TestDb) {
    let store = funded(db, "100").await;
    let unknown = deposit("d1", Some("nobody"), "3", DepositState::UnknownAccount, 2);
    let no_memo = deposit("d2", None, "4", DepositState::UnknownAccount, 2);
    let offer = Deposit {
        transfer_instruction: Some(cid("ti1")),
        ..deposit("d3", Some("acc"), "5", DepositState::Offered, 2)
    };
    let accept = accepted(&offer, 3);
    store
        .commit(
            &tx(
                2,
                vec![
                    Effect::DepositRecorded(unknown),
                    Effect::DepositRecorded(no_memo),
                    Effect::DepositRecorded(offer),
                ],
            ),
            &checkpoint(2),
        )
        .await
        .unwrap();
    let unknown_ids: Vec<_> = store
        .deposits_in_state(DepositState::UnknownAccount)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.deposit.id.to_string())
        .collect();
    assert_eq!(unknown_ids, ["d1", "d2"]);
    assert_eq!(balance(&store).await, amount("100"));
    assert_eq!(
        store
            .deposits_in_state(DepositState::Offered)
            .await
            .unwrap()
            .len(),
        1
    );

    // Crediting an account that does not exist fails and writes nothing.
    let bad = deposit("d4", Some("nobody"), "1", DepositState::Credited, 3);
    let err = store
        .commit(&tx(3, recorded(bad)), &checkpoint(3))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.deposit(&DepositId::new("d4").unwrap()).await.unwrap(),
        None
    );

    // The offer is accepted: credited once, with the accepting update.
    let d3 = DepositId::new("d3").unwrap();
    store
        .commit(&tx(3, accept.clone()), &checkpoint(3))
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("105"));
    let record = store.deposit(&d3).await.unwrap().unwrap();
    assert_eq!(
        (record.deposit.state, record.updated),
        (DepositState::Credited, origin(3))
    );
    assert_eq!(record.deposit.origin, origin(2));
    let err = store
        .commit(&tx(4, accept), &checkpoint(4))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidTransition { .. }),
        "{err:?}"
    );
    // The sender withdraws the offer to the unknown account.
    let withdrawn = Effect::DepositUpdated {
        id: DepositId::new("d1").unwrap(),
        state: DepositState::Cancelled,
        origin: origin(4),
        held_back: None,
    };
    store
        .commit(&tx(4, vec![withdrawn]), &checkpoint(4))
        .await
        .unwrap();
    assert_eq!(
        store
            .deposits_in_state(DepositState::Cancelled)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(balance(&store).await, amount("105"));
}

async fn transfer_instructions_in_both_directions(db: &TestDb) {
    let store = db.open().await;
    let incoming = TransferInstruction {
        contract_id: cid("ti1"),
        direction: Direction::Incoming,
        sender: party("alice"),
        receiver: party("treasury"),
        instrument: amulet(),
        amount: amount("5"),
        reason: Some("acc".into()),
        state: InstructionState::Pending,
        origin: origin(1),
        expiry: None,
        // A V2-only token's offer: the standard it was read from is kept.
        read_from: Standard::V2,
    };
    let outgoing = TransferInstruction {
        contract_id: cid("ti2"),
        direction: Direction::Outgoing,
        sender: party("treasury"),
        receiver: party("bob"),
        reason: Some("w1".into()),
        read_from: Standard::V1,
        ..incoming.clone()
    };
    store
        .commit(
            &tx(
                1,
                vec![
                    Effect::TransferInstruction(incoming.clone()),
                    Effect::TransferInstruction(outgoing.clone()),
                ],
            ),
            &checkpoint(1),
        )
        .await
        .unwrap();
    let pending_in = store
        .transfer_instructions(Direction::Incoming, InstructionState::Pending)
        .await
        .unwrap();
    assert_eq!(pending_in, std::slice::from_ref(&incoming));
    let accepted = TransferInstruction {
        state: InstructionState::Accepted,
        origin: origin(2),
        ..incoming
    };
    store
        .commit(
            &tx(2, vec![Effect::TransferInstruction(accepted.clone())]),
            &checkpoint(2),
        )
        .await
        .unwrap();
    assert_eq!(
        store.transfer_instruction(&cid("ti1")).await.unwrap(),
        Some(accepted)
    );
    assert!(
        store
            .transfer_instructions(Direction::Incoming, InstructionState::Pending)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .transfer_instructions(Direction::Outgoing, InstructionState::Pending)
            .await
            .unwrap(),
        [outgoing]
    );
}

async fn operator_switch_stops_withdrawal_requests(db: &TestDb) {
    let store = funded(db, "100").await;
    let on = store.switch(Switch::Withdrawals).await.unwrap();
    assert!(on.enabled && on.changed_at.is_none());
    store
        .set_switch(Switch::Withdrawals, false, "DB restored; waiting for tSafe")
        .await
        .unwrap();
    let err = store
        .request_withdrawal(&request("w1", "1", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::WithdrawalsDisabled { reason } if reason == "DB restored; waiting for tSafe"),
        "{err:?}"
    );
    assert_eq!(balance(&store).await, amount("100"));
    store
        .set_switch(Switch::Withdrawals, true, "caught up")
        .await
        .unwrap();
    let state = store.switch(Switch::Withdrawals).await.unwrap();
    assert!(state.enabled && state.reason == "caught up" && state.changed_at.is_some());
    store
        .request_withdrawal(&request("w1", "1", &[]))
        .await
        .unwrap();
}

async fn tokens_and_dars(db: &TestDb) {
    let store = db.open().await;
    store
        .upsert_token(&amulet(), "https://scan.example/registry")
        .await
        .unwrap();
    store
        .upsert_token(&amulet(), "https://scan2.example/registry")
        .await
        .unwrap();
    let tokens = store.tokens().await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].registry_url, "https://scan2.example/registry");
    assert_eq!(
        store.token(&amulet()).await.unwrap(),
        Some(tokens[0].clone())
    );

    let dar = |id: &str, at: i64| Dar {
        main_package_id: id.into(),
        file_name: format!("{id}.dar"),
        content: vec![0x50, 0x4b, 0, 0xff],
        uploaded_at: Timestamp::from_micros(at).unwrap(),
        content_hash: format!("hash-of-{id}"),
        package_name: format!("name-{id}"),
        package_version: "1.0.0".into(),
        // Sorted, as read back.
        package_ids: vec![format!("dep-of-{id}"), id.to_owned()],
        listed_at: Some(Timestamp::from_micros(at + 1).unwrap()),
        ledger_end_before: Some(at),
        ledger_end_after: None,
    };
    store.record_dar(&dar("pkg-a", 10)).await.unwrap();
    store.record_dar(&dar("pkg-b", 20)).await.unwrap();
    store.record_dar(&dar("pkg-a", 30)).await.unwrap();
    let since = store
        .dars_uploaded_since(Timestamp::from_micros(15).unwrap())
        .await
        .unwrap();
    assert_eq!(since, [dar("pkg-b", 20)]);
    // The first record of pkg-a is kept.
    assert_eq!(
        store
            .dars_uploaded_since(Timestamp::UNIX_EPOCH)
            .await
            .unwrap(),
        [dar("pkg-a", 10), dar("pkg-b", 20)]
    );
}

async fn onboarded_tokens_keep_their_package_names(db: &TestDb) {
    use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
    let store = db.open().await;
    let token = |url: &str, names: &[&str]| OnboardedToken {
        instrument: amulet(),
        registry_url: url.into(),
        transfer_kind: TokenTransferKind::MultiStep,
        package_names: names.iter().map(|n| n.to_string()).collect(),
    };
    assert!(store.onboarded_tokens().await.unwrap().is_empty());
    store
        .onboard_token(&token("https://scan/a", &["splice-amulet"]))
        .await
        .unwrap();
    // Onboarding again adds names and moves the registry; it never forgets a name.
    store
        .onboard_token(&token(
            "https://scan/b",
            &["splice-amulet", "splice-amulet-v2"],
        ))
        .await
        .unwrap();
    let other = InstrumentId {
        admin: party("issuer"),
        id: "X".into(),
    };
    store.upsert_token(&other, "http://x").await.unwrap();
    let tokens = store.onboarded_tokens().await.unwrap();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let amulet_token = tokens.iter().find(|t| t.instrument == amulet()).unwrap();
    assert_eq!(
        amulet_token,
        &token("https://scan/b", &["splice-amulet", "splice-amulet-v2"])
    );
    let other = tokens.iter().find(|t| t.instrument != amulet()).unwrap();
    assert!(other.package_names.is_empty());
    assert_eq!(other.transfer_kind, TokenTransferKind::OneStep);
}

async fn held_back_holdings_and_deposits_wait_for_onboarding(db: &TestDb) {
    use exchange_core::held_back::judge_again;
    use exchange_core::tokens::{
        HeldBack, Onboarded, OnboardedToken, Provenance, TokenTransferKind,
    };
    let store = db.open().await;
    store.create_account(&account("acc"), "cust").await.unwrap();
    let provenance = |signatory: &str| Provenance {
        template_id: "pkg:Splice.Amulet:Amulet".into(),
        package_name: Some("splice-amulet".into()),
        signatories: vec![party(signatory)],
    };
    let held = |signatory: &str| {
        Some(HeldBack {
            reason: "not onboarded".into(),
            provenance: vec![provenance(signatory)],
        })
    };
    let held_holding = |c: &str, signatory: &str| {
        Effect::HoldingCreated(Holding {
            contract_id: cid(c),
            instrument: amulet(),
            amount: amount("5"),
            lock: None,
            created: origin(1),
            held_back: held(signatory),
        })
    };
    let mut real = deposit("d-real", Some("acc"), "5", DepositState::Unrecognized, 1);
    real.held_back = held("DSO");
    let mut fake = deposit("d-fake", Some("acc"), "5", DepositState::Unrecognized, 1);
    fake.held_back = held("forger");
    let mut effects = vec![
        held_holding("h-real", "DSO"),
        held_holding("h-fake", "forger"),
    ];
    effects.extend(recorded(real.clone()));
    effects.extend(recorded(fake));
    store.commit(&tx(1, effects), &checkpoint(1)).await.unwrap();

    // Mirrored, never counted or spent.
    assert!(
        store
            .available_holdings(&amulet())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.active_holdings(&amulet()).await.unwrap().len(), 2);
    assert_eq!(store.held_back_holdings().await.unwrap().len(), 2);
    assert_eq!(balance(&store).await, Amount::ZERO);
    let stored = store.deposit(&real.id).await.unwrap().unwrap().deposit;
    assert_eq!(
        stored, real,
        "the held-back reason and provenance round-trip"
    );

    let (holdings, deposits) = store.held_back_of(&[amulet()]).await.unwrap();
    assert_eq!((holdings.len(), deposits.len()), (2, 2));
    assert!(deposits.iter().all(|d| d.account_known && !d.pending_offer));
    assert_eq!(store.held_back_of(&[]).await.unwrap().0.len(), 0);

    let onboarded = Onboarded::new([OnboardedToken {
        instrument: amulet(),
        registry_url: "http://scan".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    }]);
    let changes = judge_again(&onboarded, &holdings, &deposits);
    let stay = Checkpoint {
        offset: Offset::new(1).unwrap(),
        last_update: None,
    };
    store.commit(&changes, &stay).await.unwrap();
    assert_eq!(balance(&store).await, amount("5"));
    let available: Vec<_> = store
        .available_holdings(&amulet())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.holding.contract_id)
        .collect();
    assert_eq!(available, [cid("h-real")]);
    let credited = store.deposit(&real.id).await.unwrap().unwrap().deposit;
    assert_eq!(
        (credited.state, credited.held_back),
        (DepositState::Credited, None)
    );
    // Judged again, what is left changes nothing; the same credit twice is refused.
    let (holdings, deposits) = store.held_back_of(&[amulet()]).await.unwrap();
    assert!(judge_again(&onboarded, &holdings, &deposits).is_empty());
    assert!(store.commit(&changes, &stay).await.is_err());
    assert_eq!(balance(&store).await, amount("5"));
}

async fn record_times_and_ingested_updates(db: &TestDb) {
    let store = db.open().await;
    let other = SynchronizerId::new("private::1220").unwrap();
    let mut changes = tx(3, vec![]);
    changes.observe_record_time(other.clone(), Timestamp::from_micros(77).unwrap());
    store.commit(&changes, &checkpoint(3)).await.unwrap();
    // An offset checkpoint carrying an older time for a synchronizer does not move it back.
    let mut older = ChangeSet::default();
    older.observe_record_time(sync(), Timestamp::from_micros(1).unwrap());
    older.observe_record_time(other.clone(), Timestamp::from_micros(99).unwrap());
    store
        .commit(
            &older,
            &Checkpoint {
                offset: Offset::new(4).unwrap(),
                last_update: None,
            },
        )
        .await
        .unwrap();

    assert_eq!(
        store.record_time(&sync()).await.unwrap(),
        Some(update(3).record_time)
    );
    let all = store.record_times().await.unwrap();
    assert_eq!(all[&other].micros(), 99);
    assert!(store.is_ingested(&update(3).update_id).await.unwrap());
    assert!(!store.is_ingested(&update(4).update_id).await.unwrap());
}

async fn concurrent_requests_cannot_spend_twice(db: &TestDb) {
    let store = funded(db, "100").await;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .request_withdrawal(&request(&format!("w{i}"), "60", &[]))
                .await
        }));
    }
    let mut granted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => granted += 1,
            Err(StoreError::InsufficientFunds { .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(granted, 1);
    assert_eq!(balance(&store).await, amount("40"));
}

/// What ingestion reads for `needs`, with `overlay` (a batch whose commit may or may not be
/// visible yet) laid over it, as the pipelined ingestion loop does.
async fn read(store: &Store, needs: &Needs, overlay: Option<&ChangeSet>) -> Known {
    let mut known = Known::default();
    store.load_known(needs, &mut known).await.unwrap();
    if let Some(changes) = overlay {
        known.absorb(changes);
    }
    known
}

fn assert_same_state(a: &Known, b: &Known, what: &str) {
    assert_eq!(a.holdings, b.holdings, "holdings, {what}");
    assert_eq!(a.instructions, b.instructions, "instructions, {what}");
    assert_eq!(a.accounts, b.accounts, "accounts, {what}");
    assert_eq!(a.deposits, b.deposits, "deposits, {what}");
    assert_eq!(a.withdrawals, b.withdrawals, "withdrawals, {what}");
    assert_eq!(a.record_times, b.record_times, "record times, {what}");
    assert_eq!(a.ingested, b.ingested, "ingested updates, {what}");
}

/// Ingestion prepares a batch while the one before commits, on the DB's state with that
/// batch's changes laid over it. Whether a read sees the DB before the commit, during it, or
/// after it, the overlaid state must be the state after the commit.
async fn a_batch_laid_over_reads_equals_the_state_after_its_commit(db: &TestDb) {
    let store = funded(db, "100").await;
    store
        .request_withdrawal(&request("w1", "30", &["h1"]))
        .await
        .unwrap();
    let offer = deposit("d1", Some("acc"), "10", DepositState::Offered, 2);
    store
        .commit(
            &tx(
                2,
                vec![
                    holding("h3", "7", 2),
                    Effect::DepositRecorded(offer.clone()),
                ],
            ),
            &checkpoint(2),
        )
        .await
        .unwrap();

    // Every kind of effect: holdings archived (one created in the same batch), a withdrawal
    // completed, an offer credited, a recovered withdrawal and its debit, an instruction, a
    // newer record time, two transactions.
    let instruction = TransferInstruction {
        contract_id: cid("ti1"),
        direction: Direction::Incoming,
        sender: party("alice"),
        receiver: party("treasury"),
        instrument: amulet(),
        amount: amount("10"),
        reason: Some("acc".into()),
        state: InstructionState::Accepted,
        origin: origin(3),
        expiry: None,
        read_from: Standard::V1,
    };
    let mut effects = vec![
        Effect::HoldingArchived {
            contract_id: cid("h1"),
            archived: origin(3),
        },
        holding("h4", "30", 3),
        holding("h5", "1", 3),
        Effect::HoldingArchived {
            contract_id: cid("h5"),
            archived: origin(3),
        },
    ];
    effects.extend(moved(&store, to("w1", WithdrawalState::Completed, Some(3))).await);
    effects.extend(accepted(&offer, 3));
    effects.push(Effect::TransferInstruction(instruction));
    let mut batch = tx(3, effects);
    let mut second = tx(
        4,
        vec![
            Effect::WithdrawalRecovered(RecoveredWithdrawal {
                amount: amount("5"),
                origin: origin(4),
                ..recovered("lost-1")
            }),
            Effect::Journal(JournalEntry {
                account: account("acc"),
                instrument: amulet(),
                amount: amount("-5"),
                cause: JournalCause::WithdrawalReserve(wid("lost-1")),
                origin: Some(origin(4)),
            }),
        ],
    );
    second.observe_record_time(sync(), update(4).record_time);
    batch.merge(second);

    let mut needs = Needs::default();
    for c in ["h1", "h2", "h3", "h4", "h5", "ti1"] {
        needs.contracts.insert(c.to_owned());
    }
    for n in 1..=4 {
        needs.update_ids.insert(update(n).update_id.to_string());
    }
    needs.accounts.insert(account("acc"));
    needs.deposits.insert(DepositId::new("d0").unwrap());
    needs.deposits.insert(offer.id.clone());
    needs.withdrawals.insert(wid("w1"));
    needs.withdrawals.insert(wid("lost-1"));

    let before = read(&store, &needs, Some(&batch)).await;
    // A read racing the commit sees it or not; laid over, either is the same state.
    let committing = {
        let store = store.clone();
        let batch = batch.clone();
        tokio::spawn(async move { store.commit(&batch, &checkpoint(4)).await })
    };
    let during = read(&store, &needs, Some(&batch)).await;
    committing.await.unwrap().unwrap();
    let after = read(&store, &needs, None).await;
    let after_overlaid = read(&store, &needs, Some(&batch)).await;

    assert_same_state(&before, &after, "read before the commit");
    assert_same_state(&during, &after, "read during the commit");
    assert_same_state(
        &after_overlaid,
        &after,
        "read after the commit, laid over again",
    );
    // And that state is what the batch did.
    assert!(after.holdings[&cid("h1")].archived);
    assert!(after.holdings[&cid("h5")].archived);
    assert!(!after.holdings[&cid("h4")].archived);
    assert_eq!(
        after.withdrawals[&wid("w1")].state,
        WithdrawalState::Completed
    );
    assert_eq!(
        after.withdrawals[&wid("lost-1")].debited,
        Some(account("acc"))
    );
    assert_eq!(after.deposits[&offer.id].state, DepositState::Credited);
    assert_eq!(after.ingested.len(), 4);
}

/// The update ids recorded by a DB written up to migration 0003 (SQLite's 0005 moves them to a
/// table without a unique key) stay found, and recording one again fails, whether it was
/// recorded before the migration, in an earlier batch or twice in one batch.
async fn an_update_is_recorded_once_before_and_after_migrations(db: &TestDb) {
    db.migrate_up_to(3).await;
    let long_id = format!("1220{}", "ab".repeat(32));
    let insert = format!(
        "INSERT INTO ingested_updates (update_id, ledger_offset, record_time_us, synchronizer_id)
         VALUES ('u7', 7, 7000, 'global-domain::1220'), ('{long_id}', 8, 8000, 'global-domain::1220')"
    );
    db.raw(&[&insert]).await;

    let store = db.open().await;
    assert!(store.is_ingested(&update(7).update_id).await.unwrap());
    assert!(
        store
            .is_ingested(&UpdateId::new(&long_id).unwrap())
            .await
            .unwrap()
    );
    // Same first 20 characters, another id: not ingested.
    let sibling = format!("1220{}cd", "ab".repeat(31));
    assert!(
        !store
            .is_ingested(&UpdateId::new(&sibling).unwrap())
            .await
            .unwrap()
    );
    let again = store.commit(&tx(9, vec![]), &checkpoint(9)).await;
    assert!(again.is_ok(), "{again:?}");
    let mut repeat = tx(10, vec![]);
    repeat.ingest(update(7));
    let err = store.commit(&repeat, &checkpoint(10)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .commit(&tx(9, vec![]), &checkpoint(11))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let mut twice = tx(12, vec![]);
    twice.ingest(update(12));
    let err = store.commit(&twice, &checkpoint(12)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The sibling id is its own update.
    let mut sibling_tx = ChangeSet::default();
    sibling_tx.ingest(IngestedUpdate {
        update_id: UpdateId::new(&sibling).unwrap(),
        ..update(13)
    });
    store.commit(&sibling_tx, &checkpoint(13)).await.unwrap();
    let mut known = Known::default();
    let mut needs = Needs::default();
    for id in ["u7", "u9", "u10", "u12", long_id.as_str(), sibling.as_str()] {
        needs.update_ids.insert(id.to_owned());
    }
    store.load_known(&needs, &mut known).await.unwrap();
    let mut found: Vec<String> = known.ingested.iter().map(|u| u.to_string()).collect();
    found.sort();
    let mut want = vec!["u7".to_owned(), "u9".to_owned(), long_id, sibling];
    want.sort();
    assert_eq!(found, want);
    store.close().await;
}

/// A DB written by the schema up to migration 0003 (holdings with only the `locked` flag)
/// migrates at open: its locked holding reads as a lock without details, its other holdings as
/// unlocked, and new holdings keep their lock.
async fn a_db_from_before_the_lock_column_migrates(db: &TestDb) {
    let postgres = db.url.starts_with("postgres");
    db.migrate_up_to(3).await;
    let insert = "INSERT INTO holdings (contract_id, instrument_admin, instrument_id, amount,
                      locked, created_update_id, created_record_time_us)
                  VALUES ('old-locked', 'DSO::1220', 'Amulet', '1.0000000000', true, 'u', 1),
                         ('old-free', 'DSO::1220', 'Amulet', '2.0000000000', false, 'u', 1)";
    db.raw(&[insert]).await;

    let store = db.open().await;
    let locked = store.holding(&cid("old-locked")).await.unwrap().unwrap();
    assert_eq!(
        locked.holding.lock,
        Some(Lock {
            holders: vec![],
            expires_at: None,
            expires_after_micros: None,
            context: None,
        })
    );
    let free = store.holding(&cid("old-free")).await.unwrap().unwrap();
    assert_eq!(free.holding.lock, None);
    let lock = Lock {
        holders: vec![party("dso")],
        expires_at: None,
        expires_after_micros: None,
        context: None,
    };
    store
        .commit(
            &tx(
                1,
                vec![Effect::HoldingCreated(Holding {
                    contract_id: cid("new-locked"),
                    instrument: amulet(),
                    amount: amount("3"),
                    lock: Some(lock.clone()),
                    created: origin(1),
                    held_back: None,
                })],
            ),
            &checkpoint(1),
        )
        .await
        .unwrap();
    let new = store.holding(&cid("new-locked")).await.unwrap().unwrap();
    assert_eq!(new.holding.lock, Some(lock));
    store.close().await;
    if postgres {
        // The unused index is gone.
        let left = db
            .texts("SELECT indexname::text FROM pg_indexes WHERE indexname = 'ingested_updates_by_time'")
            .await;
        assert_eq!(left, Vec::<Vec<String>>::new());
    }
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    store
        .commit(&tx(1, vec![holding("h1", "1", 1)]), &checkpoint(1))
        .await
        .unwrap();
    assert_eq!(store.active_holdings(&amulet()).await.unwrap().len(), 1);
    assert!(matches!(
        Store::open("mysql://x").await.unwrap_err(),
        StoreError::UnsupportedUrl(_)
    ));
}

async fn quarantined_updates_are_held_then_released_once(db: &TestDb) {
    let store = funded(db, "100").await;
    let held = QuarantinedUpdate {
        update: update(2),
        error: "amount \"1e400\" is not a Numeric 10".into(),
        raw_json: r#"{"updateId":"u2"}"#.into(),
    };
    let mut changes = tx(2, vec![Effect::Quarantined(held.clone())]);
    store.commit(&changes, &checkpoint(2)).await.unwrap();
    let entries = store.quarantine(true).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].quarantined, held);
    assert!(!entries[0].released);
    // Recorded as ingested: a replay does not take it up again.
    assert!(store.is_ingested(&update(2).update_id).await.unwrap());
    // Quarantining it twice is a conflict.
    changes.ingested.clear();
    let err = store.commit(&changes, &checkpoint(3)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // Released with its effects, without moving the checkpoint; a second release fails whole.
    let mut release = ChangeSet::default();
    release.push(Effect::QuarantineReleased {
        update_id: update(2).update_id,
    });
    release.effects.extend(recorded(deposit(
        "d2",
        Some("acc"),
        "7",
        DepositState::Credited,
        2,
    )));
    store.commit_released(&release).await.unwrap();
    assert_eq!(balance(&store).await, amount("107"));
    assert_eq!(store.checkpoint().await.unwrap(), Some(checkpoint(2)));
    assert!(store.quarantine(true).await.unwrap().is_empty());
    let all = store.quarantine(false).await.unwrap();
    assert!(all[0].released && all[0].released_at.is_some());
    let err = store.commit_released(&release).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(balance(&store).await, amount("107"));
}

async fn a_second_payment_is_stored_as_such(db: &TestDb) {
    let store = funded(db, "100").await;
    let repeat = RecoveredWithdrawal {
        duplicate_of: Some(wid("w1")),
        ..recovered("w1#repeat:u2:7")
    };
    store
        .commit(
            &tx(2, vec![Effect::WithdrawalRecovered(repeat)]),
            &checkpoint(2),
        )
        .await
        .unwrap();
    let w = store
        .withdrawal(&wid("w1#repeat:u2:7"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.duplicate_of, Some(wid("w1")));
    assert_eq!(w.state, WithdrawalState::Recovered);
}

/// The store applies effects and derives none (the contract in `changeset`): a credited
/// deposit, an accepted offer or a failed withdrawal without their journal and release effects
/// move no balance and free no holding; those effects on their own do.
async fn the_store_books_only_what_the_change_set_lists(db: &TestDb) {
    use WithdrawalState::*;
    let store = funded(db, "100").await;
    let credited = deposit("d1", Some("acc"), "7", DepositState::Credited, 2);
    let offer = deposit("d2", Some("acc"), "5", DepositState::Offered, 2);
    let changes = tx(
        2,
        vec![
            Effect::DepositRecorded(credited.clone()),
            Effect::DepositRecorded(offer.clone()),
        ],
    );
    store.commit(&changes, &checkpoint(2)).await.unwrap();
    let accept = Effect::DepositUpdated {
        id: offer.id.clone(),
        state: DepositState::Credited,
        origin: origin(3),
        held_back: None,
    };
    store
        .commit(&tx(3, vec![accept]), &checkpoint(3))
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("100"));
    let d1 = store.deposit(&credited.id).await.unwrap().unwrap();
    assert_eq!(d1.deposit.state, DepositState::Credited);
    assert_eq!(store.journal(&account("acc")).await.unwrap().len(), 1);

    // A withdrawal failed by ingestion, without its refund and release: neither happens.
    store
        .request_withdrawal(&request("w1", "30", &["h1"]))
        .await
        .unwrap();
    store
        .commit(
            &tx(4, vec![Effect::Withdrawal(to("w1", Failed, Some(4)))]),
            &checkpoint(4),
        )
        .await
        .unwrap();
    let w1 = store.withdrawal(&wid("w1")).await.unwrap().unwrap();
    assert_eq!(w1.state, Failed);
    assert_eq!(balance(&store).await, amount("70"));
    let reserved = |store: Store| async move {
        let h1 = store.holding(&cid("h1")).await.unwrap().unwrap();
        h1.reserved_by
    };
    assert_eq!(reserved(store.clone()).await, Some(wid("w1")));

    // The effects core decides, applied on their own, are what moves money and holdings.
    let credit = Effect::Journal(credited.credit(&origin(5)).unwrap());
    let release = Effect::HoldingsReleased {
        withdrawal: wid("w1"),
    };
    store
        .commit(&tx(5, vec![credit, release]), &checkpoint(5))
        .await
        .unwrap();
    assert_eq!(balance(&store).await, amount("77"));
    assert_eq!(reserved(store.clone()).await, None);
}

/// `transition_withdrawal` takes its refund and release from core's rule, as ingestion does:
/// a recovered withdrawal that ingestion debited (here to the account its metadata named) is
/// refunded to that account, once (before, the store refunded only requests with an account).
async fn an_automation_transition_refunds_by_the_same_rule_as_ingestion(db: &TestDb) {
    let store = funded(db, "100").await;
    let recovered = recovered("lost-1");
    let debit = JournalEntry {
        account: account("acc"),
        instrument: amulet(),
        amount: amount("-25"),
        cause: JournalCause::WithdrawalReserve(wid("lost-1")),
        origin: Some(origin(2)),
    };
    let changes = tx(
        2,
        vec![
            Effect::WithdrawalRecovered(recovered),
            Effect::Journal(debit),
        ],
    );
    store.commit(&changes, &checkpoint(2)).await.unwrap();
    assert_eq!(balance(&store).await, amount("75"));
    let failed = to("lost-1", WithdrawalState::Failed, None);
    store.transition_withdrawal(&failed).await.unwrap();
    store.transition_withdrawal(&failed).await.unwrap();
    assert_eq!(balance(&store).await, amount("100"));
    let w = store.withdrawal(&wid("lost-1")).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Failed);
}
