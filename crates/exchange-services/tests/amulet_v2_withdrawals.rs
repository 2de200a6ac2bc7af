//! Canton Coin withdrawals paid through V2's transfer factory (CIP-0112), end to end against the
//! sandbox, on SQLite and PostgreSQL. The Canton Coin registry leaves V1's transfer API out of
//! `supportedApis` (the sandbox's `advertise_v1_transfers` knob), so the automation asks the V2
//! registry API for the factory and exercises V2's `TransferFactory_Transfer` on
//! `ExternalPartyAmuletRules` with `actors = [treasury]`; the signer-side verifier checks it
//! before it is signed. The committed transaction carries both V1 signals (the factory's
//! result and meta, holdings' V1 views) and V2's `EventLog_HoldingsChange` events; ingestion
//! must book it once. What is checked is what the ledger and the journal show.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use canton_sandbox::model::ledger::TxNodeKind;
use canton_sandbox::token::InstructionChoice;
use canton_sandbox::token::packages::transfer_factory_v2_interface;
use common::exchange::*;
use common::withdrawal_offers::*;
use common::*;
use exchange_core::Amount;
use exchange_core::withdrawal::WithdrawalState;
use harness::TestDb;

conformance!(
    a_direct_canton_coin_withdrawal_through_v2_is_verified_executed_and_paid_once,
    a_canton_coin_offer_through_v2_is_paid_once_when_accepted,
    a_deposit_through_v2_witnessed_from_its_root_is_credited_once,
);

/// How many nodes of the transaction committed with `command_id` are V2 events
/// (`EventLog_HoldingsChange`).
fn v2_events(x: &Exchange, command_id: &str) -> usize {
    x.sandbox.with_world(|w| {
        let tx = w
            .ledger
            .log()
            .iter()
            .find(|tx| tx.command_id == command_id)
            .unwrap_or_else(|| panic!("{command_id} committed"))
            .clone();
        let table = w.ledger.symbols();
        tx.nodes
            .iter()
            .filter(|n| {
                matches!(&n.kind, TxNodeKind::Exercise { choice, .. }
                    if table.get(*choice) == "EventLog_HoldingsChange")
            })
            .count()
    })
}

/// The customer's journal for Canton Coin: (kind, amount) of each entry.
async fn journal(x: &Exchange, customer: usize) -> Vec<(String, Amount)> {
    x.store
        .journal(&account_of(customer))
        .await
        .unwrap()
        .iter()
        .filter(|r| r.entry.instrument == x.amulet)
        .map(|r| (r.entry.cause.kind().to_owned(), r.entry.amount))
        .collect()
}

async fn a_direct_canton_coin_withdrawal_through_v2_is_verified_executed_and_paid_once(
    db: &TestDb,
) {
    let mut x = Exchange::start_with_amulet_through_v2(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    x.place("w-1", 0, &receiver, "40").await;
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 20).await;
    assert_eq!(
        x.state("w-1").await,
        WithdrawalState::Completed,
        "{:?}",
        notes(&x, "w-1").await
    );
    // Signed once, through V2's factory, by the treasury alone; the tree reports V2 events for
    // both accounts beside its V1 signals.
    assert_eq!(notes(&x, "w-1").await.0, 1, "one attempt");
    let (interface, actors, _) = root_exercise(&x, "w-1");
    assert_eq!(interface, transfer_factory_v2_interface().to_string());
    assert_eq!(actors, [x.treasury.clone()]);
    assert_eq!(v2_events(&x, "w-1"), 2);
    assert_eq!(x.held(&receiver), amount("40"));
    // Booked once: read again, nothing changes.
    x.ingest().await;
    x.settle(&automation, 2).await;
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    assert_eq!(x.payments("w-1").await, 1);
    let entries = journal(&x, 0).await;
    let kinds: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["deposit", "withdrawal_reserve"], "{entries:?}");
    // The treasury's change is mirrored once, nothing stays reserved.
    x.assert_treasury_keeps(amount("60")).await;
}

async fn a_canton_coin_offer_through_v2_is_paid_once_when_accepted(db: &TestDb) {
    let mut x = Exchange::start_with_amulet_through_v2(db, 1).await;
    x.deposit(0, "100").await;
    // No preapproval: the factory leaves an offer, which the receiver accepts.
    let receiver = x.new_party("outside");
    x.place("w-offer", 0, &receiver, "30").await;
    let mut config = x.config("a");
    config.one_step.clear();
    let automation = x.automation(config);
    x.settle(&automation, 20).await;
    let offers = pending_offers(&x, &["w-offer"]).await;
    let (interface, actors, _) = root_exercise(&x, "w-offer");
    assert_eq!(interface, transfer_factory_v2_interface().to_string());
    assert_eq!(actors, [x.treasury.clone()]);
    assert_eq!(
        v2_events(&x, "w-offer"),
        1,
        "the lock, on the treasury's account"
    );
    x.sandbox.with_world(|w| {
        w.amulet
            .act(
                &mut w.ledger,
                &offers["w-offer"],
                InstructionChoice::Accept,
                "accept",
                None,
            )
            .unwrap();
    });
    x.ingest().await;
    x.settle(&automation, 2).await;
    assert_eq!(x.state("w-offer").await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("30"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("70"));
    assert_eq!(x.payments("w-offer").await, 1);
    let entries = journal(&x, 0).await;
    let kinds: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["deposit", "withdrawal_reserve"], "{entries:?}");
}

/// A customer's deposit through V2's factory: the treasury, the receiver, is a choice observer
/// of V2's root and so witnesses the whole transfer (root, `TransferPreapproval_SendV2`, the
/// V2 events), not only the preapproval's subtree as with V1. Credited once all the same.
async fn a_deposit_through_v2_witnessed_from_its_root_is_credited_once(db: &TestDb) {
    let x = Exchange::start_with_amulet_through_v2(db, 1).await;
    let request = canton_sandbox::token::TransferRequest {
        sender: x.customers[0].clone(),
        receiver: x.treasury.clone(),
        amount: amount("25"),
        memo: Some(account_of(0).to_string()),
        inputs: None,
        command_id: "deposit-v2".into(),
    };
    let actors = [x.customers[0].clone()];
    x.sandbox
        .with_world(|w| {
            w.amulet
                .transfer_v2_at(&mut w.ledger, &request, None, &actors)
        })
        .unwrap();
    let (interface, _, _) = root_exercise(&x, "deposit-v2");
    assert_eq!(interface, transfer_factory_v2_interface().to_string());
    assert_eq!(v2_events(&x, "deposit-v2"), 2);
    x.ingest().await;
    x.ingest().await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("25"));
    let entries = journal(&x, 0).await;
    assert_eq!(entries, [("deposit".to_owned(), amount("25"))]);
}
