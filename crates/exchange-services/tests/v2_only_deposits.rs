//! Deposits of a V2-only token (CIP-0112) end to end against the sandbox, on SQLite and
//! PostgreSQL: SBX runs as a V2-only issuer (its holdings and offers have V2 views only, its
//! transfers only V2 events), the treasury is an external party with a key file. A customer's
//! offer is recorded as read from V2, the deposit automation accepts it through
//! `TransferInstructionV2` (the V2 registry API's context, `actors = [treasury]`, verified and
//! signed), and ingestion credits the account named by the memo of the V2 leg. What is checked is
//! what the ledger and the journal show.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use canton_ledger::client::LedgerClient;
use canton_ledger::registry::TransferInstructionChoice;
use canton_sandbox::token::OfferRequest;
use canton_sandbox::token::packages::transfer_instruction_v2_interface;
use common::deposit_offers::*;
use common::exchange::*;
use common::*;
use exchange_core::Amount;
use exchange_core::changeset::{DepositState, InstructionState, JournalCause};
use exchange_core::parser::Standard;
use exchange_services::deposits::DepositAutomation;
use harness::TestDb;

conformance!(
    a_v2_only_offer_is_accepted_through_v2_and_credited_with_the_memo_of_its_v2_leg,
    a_v2_only_one_step_deposit_is_credited,
    an_offer_of_a_v2_only_token_to_an_unknown_account_is_not_accepted,
    on_a_node_without_the_v2_packages_ingestion_falls_back_to_v1_views,
);

fn automation(x: &Exchange) -> DepositAutomation {
    deposit_automation(x, deposit_config("v2"))
}

async fn a_v2_only_offer_is_accepted_through_v2_and_credited_with_the_memo_of_its_v2_leg(
    db: &TestDb,
) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 2).await;
    let memo = account_of(1).to_string();
    let cid = offer_sbx(&mut x, 1, &memo, "42.5", None).await;
    // Seen through the V2 views the filter asks for, and kept as read from V2.
    let recorded = x.store.transfer_instruction(&cid).await.unwrap().unwrap();
    assert_eq!(recorded.read_from, Standard::V2);
    assert_eq!(recorded.state, InstructionState::Pending);
    assert_eq!(recorded.reason.as_deref(), Some(memo.as_str()));
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Offered);
    assert_eq!(x.balance(1, &x.sbx).await, Amount::ZERO);
    // A V2-only token's registry has no V1 context for it: V1's accept cannot be the way.
    let registry = &x.registries[&x.sbx.admin];
    let v1 = registry
        .choice_context(cid.as_str(), TransferInstructionChoice::Accept)
        .await;
    assert_eq!(v1.unwrap_err().status(), Some(404));

    let a = automation(&x);
    settle_offers(&x, &a, 20).await;

    // The accept the automation committed (command id `accept-{offer}`).
    let (interface, actors, consuming) = root_exercise(&x, &format!("accept-{cid}"));
    assert_eq!(interface, transfer_instruction_v2_interface().to_string());
    assert_eq!(actors, [x.treasury.clone()]);
    assert!(
        !consuming,
        "V2's accept is nonconsuming (it archives the offer inside)"
    );
    let done = x.store.transfer_instruction(&cid).await.unwrap().unwrap();
    assert_eq!(done.state, InstructionState::Accepted);
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Credited);
    assert_eq!(x.balance(1, &x.sbx).await, amount("42.5"));
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
    assert_eq!(x.held_sbx(&x.treasury), amount("42.5"));
    let notes = x.store.deposit_accept(&cid).await.unwrap().unwrap();
    assert_eq!((notes.attempts, notes.executions), (1, 1), "{notes:?}");
    // One journal entry: the deposit's credit, in SBX, for the offer's update chain.
    let journal = x.store.journal(&account_of(1)).await.unwrap();
    let sbx: Vec<_> = journal
        .iter()
        .filter(|r| r.entry.instrument == x.sbx)
        .collect();
    assert_eq!(sbx.len(), 1, "{journal:?}");
    assert_eq!(sbx[0].entry.amount, amount("42.5"));
    assert!(
        matches!(sbx[0].entry.cause, JournalCause::Deposit(_)),
        "{:?}",
        sbx[0].entry.cause
    );
    // Nothing more to do, and nothing credited twice.
    assert_eq!(a.run_round().await.unwrap().claimed, 0);
    x.ingest().await;
    assert_eq!(x.balance(1, &x.sbx).await, amount("42.5"));
}

/// A 1-step deposit of a V2-only token (V2's factory transfer with the customer and the
/// treasury as its actors, completed at once): credited from the V2 events, with the memo of
/// the V2 leg, with nothing for the automation to do.
async fn a_v2_only_one_step_deposit_is_credited(db: &TestDb) {
    let x = Exchange::start_with_v2_only_sbx(db, 2).await;
    let (sender, treasury) = (x.customers[0].clone(), x.treasury.clone());
    let request = OfferRequest {
        sender: sender.clone(),
        receiver: treasury,
        amount: amount("7"),
        memo: Some(account_of(0).to_string()),
        execute_before: None,
        command_id: "one-step-1".into(),
    };
    x.sandbox.with_world(|w| {
        w.token.mint(&mut w.ledger, &sender, amount("10")).unwrap();
        w.token
            .transfer_in_one_step(&mut w.ledger, &request)
            .unwrap();
    });
    x.ingest().await;
    let credited = x
        .store
        .deposits_in_state(DepositState::Credited)
        .await
        .unwrap();
    assert_eq!(credited.len(), 1, "{credited:?}");
    let deposit = &credited[0].deposit;
    assert_eq!(deposit.transfer_instruction, None, "no offer: one step");
    assert_eq!(deposit.amount, amount("7"));
    assert_eq!(x.balance(0, &x.sbx).await, amount("7"));
    assert_eq!(x.balance(1, &x.sbx).await, Amount::ZERO);
    assert_eq!(x.held_sbx(&x.treasury), amount("7"));
    let a = automation(&x);
    assert_eq!(a.run_round().await.unwrap().claimed, 0);
    // Read again (a second ingestion run), nothing is credited twice.
    x.ingest().await;
    assert_eq!(x.balance(0, &x.sbx).await, amount("7"));
}

async fn an_offer_of_a_v2_only_token_to_an_unknown_account_is_not_accepted(db: &TestDb) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 1).await;
    let cid = offer_sbx(&mut x, 0, "no-such-account", "3", None).await;
    assert_eq!(deposit_state(&x, &cid).await, DepositState::UnknownAccount);
    let a = automation(&x);
    for _ in 0..3 {
        assert_eq!(a.run_round().await.unwrap().claimed, 0);
    }
    x.ingest().await;
    assert_eq!(
        x.store
            .transfer_instruction(&cid)
            .await
            .unwrap()
            .unwrap()
            .state,
        InstructionState::Pending
    );
    assert_eq!(x.held_sbx(&x.treasury), Amount::ZERO);
}

/// A node without the V2 interface packages (Splice before 0.6.11) refuses a filter naming
/// them; ingestion then reads V1's views alone, and a Canton Coin deposit is credited as ever.
async fn on_a_node_without_the_v2_packages_ingestion_falls_back_to_v1_views(db: &TestDb) {
    let mut x = Exchange::start_on_a_legacy_node(db, 1).await;
    // The node's answer to the V2 filter, which ingestion recognises.
    let client = LedgerClient::new(&x.sandbox.ledger_api_url(), None);
    let probe = canton_ledger::GetUpdatesRequest {
        update_format: Some(exchange_services::filter::treasury_format(&x.treasury)),
        end_inclusive: Some(0),
        ..Default::default()
    };
    let packages = client.package_ids().await.unwrap();
    let holding_v2 = canton_sandbox::token::packages::HOLDING_V2_PACKAGE_ID;
    assert!(!packages.iter().any(|p| p == holding_v2), "{packages:?}");
    let refused = client.updates_page(&probe, 1, None).await.unwrap_err();
    assert_eq!(refused.code(), Some("PACKAGE_NAMES_NOT_FOUND"), "{refused}");
    assert!(exchange_services::filter::lacks_v2_packages(&refused));
    let views = exchange_services::filter::negotiate(&client, &x.treasury)
        .await
        .unwrap();
    assert_eq!(views, exchange_services::filter::Views::V1Only);
    // Ingestion runs with V1's views and credits.
    x.deposit(0, "12").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("12"));
}
