//! A withdrawal the treasury had already sent as a transfer offer, lost in an Integration-DB
//! restore and re-created by ingestion as `recovered`, against the sandbox on SQLite and
//! PostgreSQL: when the offer expires (by record time) or is rejected, the withdrawal fails
//! and its amount goes back, once, to whoever bears it (the attributed customer, or suspense);
//! the treasury's totals reconcile with no own funds left over.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use canton_sandbox::token::InstructionChoice;
use common::exchange::*;
use common::*;
use exchange_core::reconcile::{self, WithdrawalLine};
use exchange_core::withdrawal::{WithdrawalId, WithdrawalState};
use exchange_core::{Amount, Timestamp};
use harness::TestDb;

conformance!(
    a_recovered_offer_that_expires_is_refunded_to_its_attributed_customer,
    a_recovered_offer_that_is_rejected_is_refunded_to_suspense,
);

fn wid() -> WithdrawalId {
    WithdrawalId::new("w-lost").unwrap()
}

/// Customer 0 deposits 30 SBX; the DB is backed up; customer 0 withdraws the 30 to customer 1
/// as an offer (executeBefore 60 s on); the DB is restored from the backup, which knows
/// nothing of it; ingestion resyncs and re-creates it as `recovered`, booked to suspense (its
/// memo names no account). Returns the offer's contract id and its executeBefore.
async fn lose_a_pending_offer(db: &TestDb, x: &mut Exchange) -> (String, Timestamp, TestDb) {
    sbx_deposits(x, 0, &["30"]).await;
    x.store.close().await;
    let restored = backup(db).await;
    x.store = db.open().await;

    let receiver = x.customers[1].clone();
    x.place_in("w-lost", 0, &receiver, "30", x.sbx.clone(), 3_600 * SECOND)
        .await;
    let mut config = x.config("a");
    config.offer_micros = 60 * SECOND;
    x.settle(&x.automation(config), 20).await;
    let w = x.store.withdrawal(&wid()).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::PendingAcceptance);
    let offer = w.transfer_instruction.unwrap().to_string();
    let execute_before = w.execute_before.unwrap();

    x.store.close().await;
    x.store = restored.open().await;
    assert_eq!(
        x.balance(0, &x.sbx).await,
        amount("30"),
        "the restore lost it"
    );
    x.ingest().await;
    let w = x.store.withdrawal(&wid()).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Recovered);
    assert_eq!(w.account, None);
    assert_eq!(
        w.execute_before,
        Some(execute_before),
        "the offer's deadline"
    );
    assert_eq!(suspense_balance(x).await, amount("-30"));
    assert_eq!(own_funds(x).await, Amount::ZERO, "the offer is in flight");
    (offer, execute_before, restored)
}

async fn suspense_balance(x: &Exchange) -> Amount {
    x.store.balance(&suspense(), &x.sbx).await.unwrap()
}

/// SBX's own funds as the API's treasury totals compute them.
async fn own_funds(x: &Exchange) -> Amount {
    let mut lines = Vec::new();
    for s in [
        WithdrawalState::Requested,
        WithdrawalState::Submitted,
        WithdrawalState::PendingAcceptance,
        WithdrawalState::Recovered,
    ] {
        for w in x.store.withdrawals_in_state(s).await.unwrap() {
            lines.push(WithdrawalLine {
                instrument: w.instrument,
                amount: w.amount,
                state: w.state,
                purpose: w.purpose,
                recovered_offer: w.execute_before.is_some(),
            });
        }
    }
    let holdings = x.store.all_active_holdings().await.unwrap();
    let balances = x.store.all_balances().await.unwrap();
    let totals = reconcile::totals(
        holdings.iter().map(|h| &h.holding),
        &balances,
        &suspense(),
        &lines,
    )
    .unwrap();
    totals[&x.sbx].own_funds
}

async fn a_recovered_offer_that_expires_is_refunded_to_its_attributed_customer(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    let (offer, execute_before, _restored) = lose_a_pending_offer(db, &mut x).await;
    // The operator attributes it: the debit moves from suspense to the customer.
    x.store
        .attribute_withdrawal(&wid(), &account_of(0), &suspense())
        .await
        .unwrap();
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
    assert_eq!(suspense_balance(&x).await, Amount::ZERO);

    // Record time at executeBefore: an accept may still be sequenced; nothing moves.
    x.advance_record_time_to(execute_before);
    x.deposit(1, "1").await;
    assert_eq!(x.state("w-lost").await, WithdrawalState::Recovered);

    // Past it by the ledger/record time tolerance: failed, and the customer has the 30 back.
    let tolerance = exchange_core::ingest::LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS;
    x.advance_record_time_to(execute_before.checked_add_micros(tolerance).unwrap());
    x.deposit(1, "1").await;
    let w = x.store.withdrawal(&wid()).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Failed);
    assert!(
        w.reason.as_deref().unwrap_or("").contains("offer expired"),
        "{w:?}"
    );
    assert_eq!(x.balance(0, &x.sbx).await, amount("30"));
    assert_eq!(suspense_balance(&x).await, Amount::ZERO);
    assert_eq!(
        own_funds(&x).await,
        Amount::ZERO,
        "no unexplained own funds"
    );

    // The receiver can no longer accept; the treasury's withdrawing the expired offer, and
    // any further ingestion, refunds nothing twice; attributing it again is refused.
    let late = x.sandbox.with_world(|w| {
        w.token
            .act(&mut w.ledger, &offer, InstructionChoice::Accept, "late")
    });
    assert!(late.is_err(), "accepted after executeBefore");
    x.deposit(1, "1").await;
    assert_eq!(x.balance(0, &x.sbx).await, amount("30"));
    assert!(
        x.store
            .attribute_withdrawal(&wid(), &account_of(1), &suspense())
            .await
            .is_err()
    );
    assert!(x.store.check_balances().await.unwrap().is_empty());
}

async fn a_recovered_offer_that_is_rejected_is_refunded_to_suspense(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    let (offer, _, _restored) = lose_a_pending_offer(db, &mut x).await;
    x.sandbox.with_world(|w| {
        w.token
            .act(&mut w.ledger, &offer, InstructionChoice::Reject, "no")
            .unwrap();
    });
    x.ingest().await;
    let w = x.store.withdrawal(&wid()).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Failed);
    // Nobody bore it but suspense, which is even again; the customer never lost the 30 (the
    // restore had given them back); the treasury holds them again.
    assert_eq!(suspense_balance(&x).await, Amount::ZERO);
    assert_eq!(x.balance(0, &x.sbx).await, amount("30"));
    assert_eq!(own_funds(&x).await, Amount::ZERO);
    // Rule: once refunded, there is nothing left to attribute.
    let e = x
        .store
        .attribute_withdrawal(&wid(), &account_of(0), &suspense())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a recovered withdrawal"), "{e}");
    x.ingest().await;
    assert_eq!(suspense_balance(&x).await, Amount::ZERO);
    assert!(x.store.check_balances().await.unwrap().is_empty());
}
