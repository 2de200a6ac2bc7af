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

use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_ledger::registry::TransferInstructionChoice;
use canton_ledger::registry_client::RegistryClient;
use canton_sandbox::model::ledger::TxNodeKind;
use canton_sandbox::token::packages::transfer_instruction_v2_interface;
use canton_sandbox::token::{InstructionChoice, OfferRequest};
use common::exchange::*;
use common::*;
use exchange_core::changeset::{DepositState, InstructionState, JournalCause};
use exchange_core::parser::Standard;
use exchange_core::signing::Signer;
use exchange_core::{Amount, ContractId, PartyId};
use exchange_services::deposits::{DepositAutomation, DepositConfig};
use harness::TestDb;

conformance!(
    a_v2_only_offer_is_accepted_through_v2_and_credited_with_the_memo_of_its_v2_leg,
    a_v2_only_deposit_accepted_in_one_go_is_credited,
    an_offer_of_a_v2_only_token_to_an_unknown_account_is_not_accepted,
);

fn automation(x: &Exchange) -> DepositAutomation {
    let mut config = DepositConfig::new("v2");
    config.outcome_timeout = Duration::from_millis(300);
    config.retry_delay = Duration::from_millis(50);
    config.max_attempts = 3;
    let signer: Arc<dyn Signer + Send + Sync> = x.signer.clone();
    DepositAutomation::new(
        x.store.clone(),
        LedgerClient::new(&x.sandbox.ledger_api_url(), None),
        signer,
        PartyId::new(&x.treasury).unwrap(),
        config,
    )
}

/// `customer` mints `value` SBX and offers it to the treasury with `memo`; ingested.
async fn offer(x: &mut Exchange, customer: usize, memo: &str, value: &str) -> ContractId {
    x.seq += 1;
    let (sender, treasury, seq) = (x.customers[customer].clone(), x.treasury.clone(), x.seq);
    let out = x.sandbox.with_world(|w| {
        w.token.mint(&mut w.ledger, &sender, amount(value)).unwrap();
        let request = OfferRequest {
            sender,
            receiver: treasury,
            amount: amount(value),
            memo: Some(memo.to_owned()),
            execute_before: None,
            command_id: format!("sbx-offer-{seq}"),
        };
        w.token.offer(&mut w.ledger, &request).unwrap()
    });
    x.ingest().await;
    ContractId::new(&out.transfer_instruction_cid).unwrap()
}

/// Automation rounds and ingestion until no open offer is left (or `rounds`).
async fn settle(x: &Exchange, automation: &DepositAutomation, rounds: usize) {
    for _ in 0..rounds {
        let round = automation.run_round().await.unwrap();
        x.ingest().await;
        if x.store.deposit_offers_in_progress().await.unwrap() == 0 {
            return;
        }
        if round.claimed == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn sbx_held(x: &Exchange) -> Amount {
    x.sandbox.with_world(|w| {
        w.token
            .holdings(&w.ledger, &x.treasury)
            .iter()
            .fold(Amount::ZERO, |s, (_, a)| s.checked_add(*a).unwrap())
    })
}

async fn deposit_of(x: &Exchange, offer: &ContractId) -> DepositState {
    let mut found = Vec::new();
    for state in DepositState::ALL {
        for r in x.store.deposits_in_state(state).await.unwrap() {
            if r.deposit.transfer_instruction.as_ref() == Some(offer) {
                found.push(r.deposit.state);
            }
        }
    }
    assert_eq!(found.len(), 1, "one deposit per offer: {found:?}");
    found[0]
}

/// The root of the accept the automation committed (command id `accept-{offer}`): interface,
/// acting parties, consuming.
fn accept_root(x: &Exchange, offer: &ContractId) -> (String, Vec<String>, bool) {
    x.sandbox.with_world(|w| {
        let command_id = format!("accept-{offer}");
        let tx = w
            .ledger
            .log()
            .iter()
            .find(|tx| tx.command_id == command_id)
            .expect("the accept committed")
            .clone();
        let table = w.ledger.symbols();
        let TxNodeKind::Exercise {
            interface,
            acting_parties,
            consuming,
            ..
        } = &tx.nodes[0].kind
        else {
            panic!("the accept's root is no exercise");
        };
        let interface = interface.as_ref().map(|i| i.to_string()).unwrap_or_default();
        let actors = table.parties(*acting_parties).map(str::to_owned).collect();
        (interface, actors, *consuming)
    })
}

async fn a_v2_only_offer_is_accepted_through_v2_and_credited_with_the_memo_of_its_v2_leg(
    db: &TestDb,
) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 2).await;
    let memo = account_of(1).to_string();
    let cid = offer(&mut x, 1, &memo, "42.5").await;
    // Seen through the V2 views the filter asks for, and kept as read from V2.
    let recorded = x.store.transfer_instruction(&cid).await.unwrap().unwrap();
    assert_eq!(recorded.read_from, Standard::V2);
    assert_eq!(recorded.state, InstructionState::Pending);
    assert_eq!(recorded.reason.as_deref(), Some(memo.as_str()));
    assert_eq!(deposit_of(&x, &cid).await, DepositState::Offered);
    assert_eq!(x.balance(1, &x.sbx).await, Amount::ZERO);
    // A V2-only token's registry has no V1 context for it: V1's accept cannot be the way.
    let info = x.sandbox.info();
    let sbx = info.tokens.iter().find(|t| t.instrument_id == "SBX").unwrap();
    let registry = RegistryClient::new(&sbx.registry_url, Default::default());
    let v1 = registry
        .choice_context(cid.as_str(), TransferInstructionChoice::Accept)
        .await;
    assert_eq!(v1.unwrap_err().status(), Some(404));

    let a = automation(&x);
    settle(&x, &a, 20).await;

    let (interface, actors, consuming) = accept_root(&x, &cid);
    assert_eq!(interface, transfer_instruction_v2_interface().to_string());
    assert_eq!(actors, [x.treasury.clone()]);
    assert!(!consuming, "V2's accept is nonconsuming (it archives the offer inside)");
    let done = x.store.transfer_instruction(&cid).await.unwrap().unwrap();
    assert_eq!(done.state, InstructionState::Accepted);
    assert_eq!(deposit_of(&x, &cid).await, DepositState::Credited);
    assert_eq!(x.balance(1, &x.sbx).await, amount("42.5"));
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
    assert_eq!(sbx_held(&x), amount("42.5"));
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

/// The offer accepted by the treasury right away (the sandbox's scenario treasury acting through
/// V2's interface, as a wallet would): the deposit is credited from the V2 accept's events
/// without the automation.
async fn a_v2_only_deposit_accepted_in_one_go_is_credited(db: &TestDb) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 1).await;
    let memo = account_of(0).to_string();
    let cid = offer(&mut x, 0, &memo, "7").await;
    x.sandbox
        .with_world(|w| {
            w.token.act(
                &mut w.ledger,
                cid.as_str(),
                InstructionChoice::Accept,
                "direct-accept",
            )
        })
        .unwrap();
    x.ingest().await;
    assert_eq!(deposit_of(&x, &cid).await, DepositState::Credited);
    assert_eq!(x.balance(0, &x.sbx).await, amount("7"));
    assert_eq!(sbx_held(&x), amount("7"));
}

async fn an_offer_of_a_v2_only_token_to_an_unknown_account_is_not_accepted(db: &TestDb) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 1).await;
    let cid = offer(&mut x, 0, "no-such-account", "3").await;
    assert_eq!(deposit_of(&x, &cid).await, DepositState::UnknownAccount);
    let a = automation(&x);
    for _ in 0..3 {
        assert_eq!(a.run_round().await.unwrap().claimed, 0);
    }
    x.ingest().await;
    assert_eq!(
        x.store.transfer_instruction(&cid).await.unwrap().unwrap().state,
        InstructionState::Pending
    );
    assert_eq!(sbx_held(&x), Amount::ZERO);
}
