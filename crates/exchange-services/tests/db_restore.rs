//! The DB-restore runbook end to end against the sandbox, on SQLite and PostgreSQL: the
//! guide's example (a withdrawal requested after the DB backup, executed, and lost in the
//! restore) comes back as `recovered`, attributed to its account through its sealed memo, or
//! without the memo key booked to suspense, with withdrawals kept off until an operator
//! attributes it. The wait honours tSafe, an interrupted run resumes with the same tSafe, and
//! requests are refused while withdrawals are off. Also: the automation submits nothing while
//! withdrawals are off.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::time::Duration;

use canton_ledger::client::LedgerClient;
use common::exchange::*;
use common::*;
use exchange_core::memo::MemoKey;
use exchange_core::selection::SelectionPolicy;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalOrder, WithdrawalState};
use exchange_core::{PartyId, Timestamp};
use exchange_services::recover_db::{self, Progress, RecoverDbConfig, RecoverDbError};
use exchange_services::{Source, Transport, memo_key};
use exchange_store::{StoreError, Switch};
use harness::TestDb;
use tokio::sync::watch;

conformance!(
    a_lost_withdrawal_comes_back_attributed_through_its_sealed_memo,
    without_the_memo_key_it_waits_in_suspense_until_attributed,
    the_automation_submits_nothing_while_withdrawals_are_off,
    a_withdrawal_ingestion_recovered_before_the_run_started_is_counted,
);

/// Ingests to the ledger end with (or without) the memo key, as `run --memo-key-file` does.
async fn ingest_with(x: &Exchange, key: Option<&MemoKey>) {
    let mut config = ingest_config(&x.treasury, true, 100);
    config.fold.memo_key = key.cloned();
    let source = Source::Ledger {
        client: LedgerClient::new(&x.sandbox.ledger_api_url(), None),
        transport: Transport::Http,
    };
    ingest(&x.store, source, config).await.unwrap();
}

fn order(
    x: &Exchange,
    id: WithdrawalId,
    customer: usize,
    receiver: &str,
    value: &str,
) -> WithdrawalOrder {
    WithdrawalOrder {
        id,
        account: account_of(customer),
        instrument: x.amulet.clone(),
        amount: amount(value),
        receiver: PartyId::new(receiver).unwrap(),
        ttl_micros: 3_600 * SECOND,
        synchronizer: None,
        idempotency_key: None,
        policy: SelectionPolicy::default(),
    }
}

fn config() -> RecoverDbConfig {
    RecoverDbConfig {
        ttl: Duration::from_secs(30),
        poll: Duration::from_millis(20),
        ..RecoverDbConfig::default()
    }
}

/// One pass of the runbook that gives up at its first wait (an operator's Ctrl-C).
async fn interrupted(x: &Exchange) -> Timestamp {
    let (_tx, stop) = watch::channel(true);
    let mut seen = Vec::new();
    let result = recover_db::run(&x.store, Timestamp::now(), &config(), stop, &mut |p| {
        seen.push(format!("{p:?}"))
    })
    .await;
    match result {
        Err(RecoverDbError::Stopped(t_safe)) => {
            assert!(seen.iter().any(|p| p.starts_with("Waiting")), "{seen:?}");
            t_safe
        }
        other => panic!("expected a wait for tSafe, got {other:?}"),
    }
}

async fn to_completion(x: &Exchange) -> recover_db::RecoverDbReport {
    let (_tx, stop) = watch::channel(false);
    let mut caught_up = false;
    let report = recover_db::run(&x.store, Timestamp::now(), &config(), stop, &mut |p| {
        caught_up |= matches!(p, Progress::CaughtUp)
    })
    .await
    .unwrap();
    assert!(caught_up);
    report
}

/// The guide's example up to the restore: 100 deposited and backed up; then a withdrawal of
/// 40 with a sealed memo is requested and paid; then the DB is restored from the backup, which
/// knows nothing of it (the customer shows 100 again). Returns the withdrawal's id, the backup
/// DB (now in use) and the receiver.
async fn lose_a_paid_withdrawal(
    db: &TestDb,
    x: &mut Exchange,
    key: &MemoKey,
) -> (WithdrawalId, TestDb, String) {
    x.deposit(0, "100").await;
    x.store.close().await;
    let restored = backup(db).await;
    x.store = db.open().await;

    let receiver = preapproved(x, "outside");
    let treasury = PartyId::new(&x.treasury).unwrap();
    let id = memo_key::new_withdrawal_id(Some((key, &treasury)), &account_of(0)).unwrap();
    x.store
        .place_withdrawal(&order(x, id.clone(), 0, &receiver, "40"))
        .await
        .unwrap();
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 20).await;
    assert_eq!(x.state(id.as_str()).await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("40"));

    x.store.close().await;
    x.store = restored.open().await;
    assert_eq!(
        x.balance(0, &x.amulet).await,
        amount("100"),
        "the restore lost it"
    );
    (id, restored, receiver)
}

/// Moves the ledger's record time past `t_safe` and has a transaction ingested after it.
async fn pass(x: &mut Exchange, t_safe: Timestamp) {
    let ahead = t_safe.micros() - Timestamp::now().micros() + SECOND;
    if ahead > 0 {
        x.sandbox
            .with_world(|w| w.ledger.advance_time(ahead))
            .unwrap();
    }
    x.deposit(1, "1").await;
}

async fn refused(x: &Exchange, receiver: &str, value: &str) -> StoreError {
    let id = WithdrawalId::new(format!("again-{value}")).unwrap();
    x.store
        .place_withdrawal(&order(x, id, 0, receiver, value))
        .await
        .expect_err("refused")
}

async fn a_lost_withdrawal_comes_back_attributed_through_its_sealed_memo(db: &TestDb) {
    let key = MemoKey::from_bytes([5; 32]);
    let mut x = Exchange::start(db, 2).await;
    let (id, _restored, receiver) = lose_a_paid_withdrawal(db, &mut x, &key).await;

    // Interrupted at its wait: withdrawals are off and stay off, requests are refused.
    let t_safe = interrupted(&x).await;
    assert!(t_safe > Timestamp::now(), "tSafe is now + ttl at least");
    let e = refused(&x, &receiver, "10").await;
    assert!(matches!(e, StoreError::WithdrawalsDisabled { .. }), "{e}");

    // Ingestion resyncs: the withdrawal comes back, attributed through its memo.
    ingest_with(&x, Some(&key)).await;
    let w = x.store.withdrawal(&id).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Recovered);
    assert_eq!(w.account, Some(account_of(0)));
    assert_eq!(
        x.balance(0, &x.amulet).await,
        amount("60"),
        "no operator needed"
    );

    // Ingested record time has not passed tSafe: the wait holds, and a second run resumes
    // the first with the same tSafe (switching withdrawals off again if someone turned them
    // on meanwhile).
    x.store
        .set_switch(Switch::Withdrawals, true, "by hand")
        .await
        .unwrap();
    assert_eq!(interrupted(&x).await, t_safe);
    assert!(!x.store.switch(Switch::Withdrawals).await.unwrap().enabled);

    pass(&mut x, t_safe).await;
    let report = to_completion(&x).await;
    assert!(report.resumed);
    assert_eq!(report.run.t_safe, t_safe);
    assert!(report.enabled);
    assert!(report.unattributed.is_empty());
    let found: Vec<_> = report
        .recovered
        .iter()
        .map(|w| (&w.id, &w.account))
        .collect();
    assert_eq!(found, [(&id, &Some(account_of(0)))]);
    assert_eq!(report.funds[&x.amulet], (amount("40"), amount("0")));

    // The customer cannot withdraw the paid funds a second time.
    let e = refused(&x, &receiver, "100").await;
    assert!(matches!(e, StoreError::InsufficientFunds { .. }), "{e}");
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

async fn without_the_memo_key_it_waits_in_suspense_until_attributed(db: &TestDb) {
    let key = MemoKey::from_bytes([6; 32]);
    let mut x = Exchange::start(db, 2).await;
    let (id, _restored, receiver) = lose_a_paid_withdrawal(db, &mut x, &key).await;

    let t_safe = interrupted(&x).await;
    ingest_with(&x, None).await;
    let w = x.store.withdrawal(&id).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Recovered);
    assert_eq!(w.account, None, "booked to suspense");
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));

    // Caught up, but one recovered withdrawal is nobody's yet: withdrawals stay off.
    pass(&mut x, t_safe).await;
    let report = to_completion(&x).await;
    assert!(!report.enabled);
    assert_eq!(report.unattributed.len(), 1);
    assert_eq!(report.funds[&x.amulet], (amount("0"), amount("40")));
    let e = refused(&x, &receiver, "10").await;
    assert!(matches!(e, StoreError::WithdrawalsDisabled { .. }), "{e}");

    // The operator attributes it: the debit moves from suspense to the customer.
    let suspense = exchange_core::changeset::AccountId::new("suspense").unwrap();
    x.store.create_account(&suspense, "operator").await.ok();
    let e = x
        .store
        .attribute_withdrawal(
            &id,
            &exchange_core::changeset::AccountId::new("nobody").unwrap(),
            &suspense,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    x.store
        .attribute_withdrawal(&id, &account_of(0), &suspense)
        .await
        .unwrap();
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    assert_eq!(
        x.store.balance(&suspense, &x.amulet).await.unwrap(),
        amount("0")
    );
    assert!(
        x.store
            .attribute_withdrawal(&id, &account_of(0), &suspense)
            .await
            .is_err()
    );
    assert!(x.store.check_balances().await.unwrap().is_empty());

    // Now the runbook finishes (same run, no new wait) and withdrawals are on again.
    let report = to_completion(&x).await;
    assert!(report.enabled);
    assert_eq!(report.run.t_safe, t_safe);
    let e = refused(&x, &receiver, "100").await;
    assert!(matches!(e, StoreError::InsufficientFunds { .. }), "{e}");
}

async fn the_automation_submits_nothing_while_withdrawals_are_off(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    x.place("w-off", 0, &receiver, "40").await;
    x.store
        .set_switch(Switch::Withdrawals, false, "drill")
        .await
        .unwrap();
    let automation = x.automation(x.config("a"));
    for _ in 0..3 {
        let round = automation.run_round().await.unwrap();
        assert_eq!(round.executed, 0);
    }
    x.ingest().await;
    assert_eq!(x.payments("w-off").await, 0);
    assert_eq!(x.state("w-off").await, WithdrawalState::Requested);

    x.store
        .set_switch(Switch::Withdrawals, true, "done")
        .await
        .unwrap();
    x.settle(&automation, 20).await;
    assert_eq!(x.state("w-off").await, WithdrawalState::Completed);
    assert_eq!(x.payments("w-off").await, 1);
}

/// Ingestion (`run`) may resync and re-create the lost withdrawal before the operator starts
/// `recover db`: the run still reports it, as it counts what the resync recovered since the
/// previous run finished, not what appeared after its own start. A second run reports
/// nothing new.
async fn a_withdrawal_ingestion_recovered_before_the_run_started_is_counted(db: &TestDb) {
    let key = MemoKey::from_bytes([7; 32]);
    let mut x = Exchange::start(db, 2).await;
    let (id, _restored, _receiver) = lose_a_paid_withdrawal(db, &mut x, &key).await;
    ingest_with(&x, Some(&key)).await;
    assert_eq!(x.state(id.as_str()).await, WithdrawalState::Recovered);
    tokio::time::sleep(Duration::from_millis(5)).await;

    let t_safe = interrupted(&x).await;
    pass(&mut x, t_safe).await;
    let report = to_completion(&x).await;
    let found: Vec<_> = report.recovered.iter().map(|w| &w.id).collect();
    assert_eq!(found, [&id]);
    assert_eq!(report.funds[&x.amulet], (amount("40"), amount("0")));

    // The next run (the ledger's record time moved well past its tSafe first): none of its own.
    let ahead = Timestamp::now().checked_add_micros(120 * SECOND).unwrap();
    pass(&mut x, ahead).await;
    assert!(to_completion(&x).await.recovered.is_empty());
}
