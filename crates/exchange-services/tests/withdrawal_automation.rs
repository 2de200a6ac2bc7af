//! Withdrawal Automation end to end against the sandbox, on SQLite and PostgreSQL: the treasury
//! is an external party whose key is a 0600 key file; withdrawals are placed as the exchange's
//! systems place them, and the automation (registry → prepare → verify → sign → execute) and
//! ingestion (the outcome) run in rounds until they settle. What is checked is what the ledger
//! and the journal show: who holds what, each withdrawal's end state, and the customer's
//! balance (debited once; refunded at most once).

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::time::Duration;

use canton_sandbox::TamperKind;
use common::exchange::*;
use common::*;
use exchange_core::withdrawal::WithdrawalState;
use exchange_core::{Amount, Timestamp};
use harness::TestDb;

conformance!(
    a_one_step_withdrawal_reaches_the_receiver_once,
    a_receiver_without_preapproval_fails_the_withdrawal_and_refunds_it_once,
    a_node_that_tampers_gets_nothing_signed_until_it_stops,
    a_lost_execute_answer_is_retried_and_paid_once,
    a_node_restore_that_loses_a_pending_submission_is_recovered_by_the_retry,
    two_replicas_with_lapsing_claims_pay_each_withdrawal_once,
    a_withdrawal_past_its_target_record_time_expires_and_is_refunded_once,
);

async fn a_one_step_withdrawal_reaches_the_receiver_once(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    x.deposit(0, "100").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));
    pay_a_withdrawal(&x, "w-1", "40").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    assert_eq!(x.payments("w-1").await, 1);
    // The treasury keeps the change, mirrored by ingestion; nothing stays reserved.
    x.assert_treasury_keeps(amount("60")).await;
}

async fn a_receiver_without_preapproval_fails_the_withdrawal_and_refunds_it_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = x.new_party("no-preapproval");
    x.place("w-2", 0, &receiver, "40").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 10).await;
    let w = x.withdrawal("w-2").await;
    assert_eq!(w.state, WithdrawalState::Failed);
    assert!(
        w.reason.as_deref().unwrap_or("").contains("preapproval"),
        "{w:?}"
    );
    // Refunded once; nothing reached the ledger; its holding is free again.
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));
    assert_eq!(x.held(&receiver), Amount::ZERO);
    assert_eq!(notes(&x, "w-2").await.1, 0);
    x.settle(&automation, 3).await;
    x.ingest().await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));
    let holdings = x.store.active_holdings(&x.amulet).await.unwrap();
    assert!(
        holdings.iter().all(|h| h.reserved_by.is_none()),
        "{holdings:?}"
    );
}

async fn a_node_that_tampers_gets_nothing_signed_until_it_stops(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    x.place("w-3", 0, &receiver, "40").await;
    let all = [
        TamperKind::Receiver,
        TamperKind::Amount,
        TamperKind::Input,
        TamperKind::Memo,
        TamperKind::ExtraNode,
        TamperKind::Hash,
    ];
    x.sandbox.tamper_prepare(11, &all);
    let automation = x.automation(x.config("a"));
    for _ in 0..6 {
        automation.run_round().await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    x.ingest().await;
    let (attempts, executions, error) = notes(&x, "w-3").await;
    assert!(attempts >= 2, "{attempts} attempts");
    assert_eq!(executions, 0, "a tampered transaction was executed");
    let error = error.unwrap_or_default();
    assert!(error.contains("refused to sign"), "{error}");
    assert_eq!(x.state("w-3").await, WithdrawalState::Requested);
    assert_eq!(x.held(&receiver), Amount::ZERO);
    // An honest node again: the next attempt goes through, once.
    x.sandbox.set_faults(Default::default());
    x.settle(&automation, 20).await;
    assert_eq!(x.state("w-3").await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.payments("w-3").await, 1);
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

async fn a_lost_execute_answer_is_retried_and_paid_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    x.place("w-4", 0, &receiver, "40").await;
    x.sandbox.set_faults(canton_sandbox::FaultConfig {
        lose_execute_answers: 1,
        ..Default::default()
    });
    let automation = x.automation(x.config("a"));
    // The execution commits, its answer is lost; before ingestion shows the transfer, the
    // outcome timeout passes and the automation tries again from the registry call.
    let first = automation.run_round().await.unwrap();
    assert_eq!(first.executed, 1);
    assert_eq!(x.state("w-4").await, WithdrawalState::Submitted);
    tokio::time::sleep(Duration::from_millis(400)).await;
    automation.run_round().await.unwrap();
    let (attempts, _, error) = notes(&x, "w-4").await;
    assert_eq!(attempts, 2);
    assert!(error.is_some(), "the retry found the inputs spent");
    x.settle(&automation, 10).await;
    assert_eq!(x.state("w-4").await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.payments("w-4").await, 1);
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

/// Issue 10: the node accepts the execution (`{}`), then is restored from a backup taken
/// before it was sequenced, so it never commits. Nothing tells the automation; the outcome
/// timeout does, and the retry (from the registry call, on inputs still unspent) pays once.
async fn a_node_restore_that_loses_a_pending_submission_is_recovered_by_the_retry(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    // The backup point: everything ingested so far is in it.
    let ingested_end = x.sandbox.ledger_end();
    let backup = x.sandbox.backup();
    x.sandbox.hold_executions(true);
    x.place("w-7", 0, &receiver, "40").await;
    let automation = x.automation(x.config("a"));
    let first = automation.run_round().await.unwrap();
    assert_eq!(first.executed, 1);
    assert_eq!(x.state("w-7").await, WithdrawalState::Submitted);
    assert_eq!(x.sandbox.pending_executions(), 1, "accepted, not sequenced");
    assert_eq!(x.sandbox.ledger_end(), ingested_end, "nothing committed");
    let report = x.sandbox.restore(&backup);
    assert_eq!(report.redelivered, 0);
    assert_eq!(x.sandbox.pending_executions(), 0, "the restore lost it");
    x.sandbox.hold_executions(false);
    // The checkpoint (the last ingested update, at its offset) is still on the node, so
    // ingestion resumes without the runbook.
    x.settle(&automation, 20).await;
    let (attempts, _, _) = notes(&x, "w-7").await;
    assert!(
        attempts >= 2,
        "{attempts} attempts: the retry paid, not the lost one"
    );
    assert_eq!(x.state("w-7").await, WithdrawalState::Completed);
    assert_eq!(x.payments("w-7").await, 1);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    // Nothing lost comes back later: releasing has nothing left, more rounds pay nothing more.
    assert_eq!(x.sandbox.release_pending().released, 0);
    x.settle(&automation, 3).await;
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

async fn two_replicas_with_lapsing_claims_pay_each_withdrawal_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    for _ in 0..5 {
        x.deposit(0, "20").await;
    }
    let receiver = preapproved(&x, "outside");
    for i in 0..5 {
        x.place(&format!("w-5-{i}"), 0, &receiver, "20").await;
    }
    // Claims that lapse at once: both replicas attempt the same withdrawals, as when a replica
    // stalls past its claim. Only the ledger stands between them and a double payment.
    let lapsing = |worker: &str| {
        let mut config = x.config(worker);
        config.claim = Duration::ZERO;
        config.outcome_timeout = Duration::ZERO;
        x.automation(config)
    };
    let (a, b) = (lapsing("a"), lapsing("b"));
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.run_round(), b.run_round());
        // Neither replica's round may fail: an attempt still holding the SQLite write lock
        // while the round records another one used to starve the round for the pool's timeout.
        ra.unwrap();
        rb.unwrap();
    }
    x.settle(&a, 20).await;
    for i in 0..5 {
        let id = format!("w-5-{i}");
        assert_eq!(x.state(&id).await, WithdrawalState::Completed, "{id}");
        assert_eq!(x.payments(&id).await, 1, "{id}");
    }
    assert_eq!(x.held(&receiver), amount("100"));
    assert_eq!(x.balance(0, &x.amulet).await, Amount::ZERO);
}

async fn a_withdrawal_past_its_target_record_time_expires_and_is_refunded_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    let ttl = 2 * SECOND;
    x.place_in("w-6", 0, &receiver, "40", x.amulet.clone(), ttl)
        .await;
    // Nothing the node prepares is signed, so the transfer never commits.
    x.sandbox.tamper_prepare(5, &[TamperKind::Amount]);
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 200).await;
    let w = x.withdrawal("w-6").await;
    let trec_tgt = w.trec_tgt.unwrap();
    assert!(Timestamp::now() > trec_tgt, "settled before trecTgt");
    assert_eq!(
        w.state,
        WithdrawalState::Requested,
        "waits for the ledger to pass trecTgt"
    );
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    // The synchronizer's record time passes trecTgt (a later transaction shows it).
    x.sandbox.with_world(|w| {
        let now = w.ledger.record_time_of(0);
        let behind = trec_tgt.micros() - now.micros();
        w.ledger.advance_time(behind.max(0) + SECOND).unwrap();
    });
    x.deposit(0, "1").await;
    assert_eq!(x.state("w-6").await, WithdrawalState::Expired);
    assert_eq!(x.balance(0, &x.amulet).await, amount("101"));
    // Later rounds and transactions refund nothing more.
    x.settle(&automation, 3).await;
    x.deposit(0, "1").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("102"));
    assert_eq!(x.held(&receiver), Amount::ZERO);
}
