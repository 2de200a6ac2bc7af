//! Multi-Step Deposit Automation end to end against the sandbox, on SQLite and PostgreSQL: the
//! treasury is an external party whose key is a 0600 key file; customers offer SBX to it (the
//! offer-only token), and the automation (registry → prepare → verify → sign → execute) and
//! ingestion (the outcome, the credit) run in rounds. What is checked is what the ledger and the
//! journal show: who holds what, each offer's end state and the customer's balance (credited at
//! most once).

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::collections::BTreeSet;
use std::time::Duration;

use canton_sandbox::TamperKind;
use canton_sandbox::token::InstructionChoice;
use common::deposit_offers::*;
use common::exchange::*;
use common::*;
use exchange_core::changeset::{DepositState, InstructionState};
use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_core::{Amount, ContractId, InstrumentId, Timestamp};
use exchange_services::Metrics;
use exchange_services::deposits::DepositAutomation;
use exchange_store::AcceptState;
use harness::TestDb;

conformance!(
    an_sbx_offer_to_a_known_account_is_accepted_and_credited_once,
    an_offer_to_an_unknown_account_is_recorded_and_not_accepted,
    an_offer_of_a_token_not_onboarded_is_not_accepted,
    an_accept_whose_answer_was_lost_is_credited_once_after_a_restart,
    an_offer_withdrawn_before_its_accept_commits_ends_withdrawn_without_credit,
    an_expired_offer_is_never_credited,
    registry_errors_are_retried_then_reported_and_the_offers_fate_still_settles,
    a_node_that_tampers_gets_no_accept_signed_and_the_offer_is_reported,
);

/// The sandbox's package name of SBX contracts (`canton_sandbox::token::offer::PACKAGE_NAME`).
const SBX_PACKAGE: &str = "sandbox-token";

fn registry_url(x: &Exchange, id: &str) -> String {
    let info = x.sandbox.info();
    let token = info.tokens.iter().find(|t| t.instrument_id == id).unwrap();
    token.registry_url.clone()
}

async fn onboard(x: &Exchange, instrument: &InstrumentId, package: &str, url: &str) {
    let token = OnboardedToken {
        instrument: instrument.clone(),
        registry_url: url.to_owned(),
        transfer_kind: TokenTransferKind::MultiStep,
        package_names: BTreeSet::from([package.to_owned()]),
    };
    x.store.onboard_token(&token).await.unwrap();
}

/// Canton Coin (1-step) and SBX, each with its own registry.
async fn onboard_all(x: &Exchange) {
    onboard(x, &x.amulet, "splice-amulet", &registry_url(x, "Amulet")).await;
    onboard(x, &x.sbx, SBX_PACKAGE, &registry_url(x, "SBX")).await;
}

/// The sender takes its offer back (as through the control API).
async fn withdraw(x: &mut Exchange, offer: &ContractId) {
    x.seq += 1;
    let seq = x.seq;
    x.sandbox
        .with_world(|w| {
            w.token.act(
                &mut w.ledger,
                offer.as_str(),
                InstructionChoice::Withdraw,
                &format!("sbx-withdraw-{seq}"),
            )
        })
        .unwrap();
    x.ingest().await;
}

async fn instruction_state(x: &Exchange, offer: &ContractId) -> InstructionState {
    x.store
        .transfer_instruction(offer)
        .await
        .unwrap()
        .unwrap()
        .state
}

/// `offer` (of `value` SBX, by customer 0) was accepted: the treasury holds the SBX and the
/// customer's account is credited.
async fn assert_accepted_and_credited(x: &Exchange, offer: &ContractId, value: &str) {
    assert_eq!(
        instruction_state(x, offer).await,
        InstructionState::Accepted
    );
    assert_eq!(deposit_state(x, offer).await, DepositState::Credited);
    assert_eq!(x.balance(0, &x.sbx).await, amount(value));
    assert_eq!(x.held_sbx(&x.treasury), amount(value));
}

/// Automation rounds (each followed by ingestion) leave `offer` alone: none claims it, no
/// accept is recorded, it stays pending and the treasury holds no SBX.
async fn assert_left_alone(x: &Exchange, automation: &DepositAutomation, offer: &ContractId) {
    for _ in 0..3 {
        assert_eq!(automation.run_round().await.unwrap().claimed, 0);
        x.ingest().await;
    }
    assert_eq!(instruction_state(x, offer).await, InstructionState::Pending);
    assert_eq!(x.store.deposit_accept(offer).await.unwrap(), None);
    assert_eq!(x.held_sbx(&x.treasury), Amount::ZERO);
}

async fn an_sbx_offer_to_a_known_account_is_accepted_and_credited_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    onboard_all(&x).await;
    let memo = account_of(0).to_string();
    let cid = offer_sbx(&mut x, 0, &memo, "25", None).await;
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Offered);
    assert_eq!(
        x.balance(0, &x.sbx).await,
        Amount::ZERO,
        "not before it is accepted"
    );
    let a = deposit_automation(&x, deposit_config("a"));
    settle_offers(&x, &a, 20).await;
    assert_accepted_and_credited(&x, &cid, "25").await;
    let notes = x.store.deposit_accept(&cid).await.unwrap().unwrap();
    assert_eq!((notes.attempts, notes.executions), (1, 1), "{notes:?}");
    // Nothing more to do: later rounds accept and credit nothing again.
    for _ in 0..3 {
        assert_eq!(a.run_round().await.unwrap().claimed, 0);
    }
    x.ingest().await;
    assert_eq!(x.balance(0, &x.sbx).await, amount("25"));
}

async fn an_offer_to_an_unknown_account_is_recorded_and_not_accepted(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    onboard_all(&x).await;
    let cid = offer_sbx(&mut x, 0, "nobody-knows-me", "7", None).await;
    assert_eq!(deposit_state(&x, &cid).await, DepositState::UnknownAccount);
    let a = deposit_automation(&x, deposit_config("a"));
    // Left for support; the sender can still take it back.
    assert_left_alone(&x, &a, &cid).await;
    withdraw(&mut x, &cid).await;
    assert_eq!(
        instruction_state(&x, &cid).await,
        InstructionState::Withdrawn
    );
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Cancelled);
}

async fn an_offer_of_a_token_not_onboarded_is_not_accepted(db: &TestDb) {
    let mut x = Exchange::start_without_tokens(db, 1).await;
    let amulet = x.amulet.clone();
    onboard(&x, &amulet, "splice-amulet", &registry_url(&x, "Amulet")).await;
    let memo = account_of(0).to_string();
    let cid = offer_sbx(&mut x, 0, &memo, "9", None).await;
    let a = deposit_automation(&x, deposit_config("a"));
    assert_left_alone(&x, &a, &cid).await;
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
    // Onboarded later: now it is accepted.
    let sbx = x.sbx.clone();
    onboard(&x, &sbx, SBX_PACKAGE, &registry_url(&x, "SBX")).await;
    settle_offers(&x, &a, 20).await;
    assert_eq!(
        instruction_state(&x, &cid).await,
        InstructionState::Accepted
    );
    assert_eq!(x.balance(0, &x.sbx).await, amount("9"));
}

/// The accept commits, its answer is lost and the automation stops before ingestion shows the
/// outcome. Restarted, it tries again once the outcome timeout passed: the registry no longer
/// knows the offer, so nothing is accepted twice, and ingestion credits it once.
async fn an_accept_whose_answer_was_lost_is_credited_once_after_a_restart(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    onboard_all(&x).await;
    let memo = account_of(0).to_string();
    let cid = offer_sbx(&mut x, 0, &memo, "40", None).await;
    x.sandbox.set_faults(canton_sandbox::FaultConfig {
        lose_execute_answers: 1,
        ..Default::default()
    });
    let first = deposit_automation(&x, deposit_config("a"));
    assert_eq!(first.run_round().await.unwrap().executed, 1);
    drop(first);
    let notes = x.store.deposit_accept(&cid).await.unwrap().unwrap();
    assert_eq!(notes.executions, 1);
    assert!(notes.last_error.is_some(), "the lost answer is noted");
    assert_eq!(x.held_sbx(&x.treasury), amount("40"), "it committed");
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO, "not yet ingested");
    // Restarted, before ingestion ran: the retry finds the offer gone and accepts nothing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let restarted = deposit_automation(&x, deposit_config("b"));
    let round = restarted.run_round().await.unwrap();
    assert_eq!((round.claimed, round.executed), (1, 0), "{round:?}");
    x.ingest().await;
    settle_offers(&x, &restarted, 10).await;
    assert_accepted_and_credited(&x, &cid, "40").await;
    let notes = x.store.deposit_accept(&cid).await.unwrap().unwrap();
    assert_eq!((notes.attempts, notes.executions), (2, 1), "{notes:?}");
    assert_eq!(restarted.run_round().await.unwrap().claimed, 0);
}

/// The accept is executed but held by the node; meanwhile the sender withdraws the offer. The
/// held accept then fails on the ledger, and ingestion ends the offer withdrawn, without credit.
async fn an_offer_withdrawn_before_its_accept_commits_ends_withdrawn_without_credit(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    onboard_all(&x).await;
    let memo = account_of(0).to_string();
    let cid = offer_sbx(&mut x, 0, &memo, "12", None).await;
    x.sandbox.hold_executions(true);
    let a = deposit_automation(&x, deposit_config("a"));
    assert_eq!(a.run_round().await.unwrap().executed, 1);
    assert_eq!(x.sandbox.pending_executions(), 1);
    withdraw(&mut x, &cid).await;
    let released = x.sandbox.release_pending();
    assert_eq!((released.released, released.committed), (1, 0));
    x.sandbox.hold_executions(false);
    settle_offers(&x, &a, 10).await;
    assert_eq!(
        instruction_state(&x, &cid).await,
        InstructionState::Withdrawn
    );
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Cancelled);
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
    assert_eq!(x.held_sbx(&x.treasury), Amount::ZERO);
    assert_eq!(a.run_round().await.unwrap().claimed, 0);
    assert!(x.store.failed_deposit_accepts().await.unwrap().is_empty());
}

/// An offer past its `executeBefore` cannot be accepted: the attempts fail on the node, the
/// offer is reported, nothing is credited; once record time is past it, it ends expired.
async fn an_expired_offer_is_never_credited(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    onboard_all(&x).await;
    let memo = account_of(0).to_string();
    let soon = Timestamp::now().checked_add_micros(SECOND).unwrap();
    let cid = offer_sbx(&mut x, 0, &memo, "5", Some(soon)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let a = deposit_automation(&x, deposit_config("a"));
    settle_offers(&x, &a, 40).await;
    let notes = x.store.deposit_accept(&cid).await.unwrap().unwrap();
    assert_eq!(notes.state, AcceptState::AcceptFailed, "{notes:?}");
    assert_eq!((notes.attempts, notes.executions), (3, 0), "{notes:?}");
    let error = notes.last_error.unwrap_or_default();
    assert!(error.contains("expired"), "{error}");
    assert_eq!(instruction_state(&x, &cid).await, InstructionState::Pending);
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
    assert_eq!(x.held_sbx(&x.treasury), Amount::ZERO);
    let failed = x.store.failed_deposit_accepts().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].record.instruction, cid);
    // No more attempts, however many rounds.
    assert_eq!(a.run_round().await.unwrap().claimed, 0);
    // Once the synchronizer's record time is past `executeBefore` by more than the ledger-time
    // tolerance, no accept can commit: ingestion ends the offer expired, its deposit cancelled
    // (the ledger itself shows nothing when an offer lapses).
    x.sandbox
        .with_world(|w| w.ledger.advance_time(120 * SECOND).unwrap());
    // A transaction carries the synchronizer's new record time to ingestion.
    x.deposit(0, "1").await;
    assert_eq!(instruction_state(&x, &cid).await, InstructionState::Expired);
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Cancelled);
    assert!(x.store.failed_deposit_accepts().await.unwrap().is_empty());
    // The sender's later withdrawal changes nothing.
    withdraw(&mut x, &cid).await;
    assert_eq!(instruction_state(&x, &cid).await, InstructionState::Expired);
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Cancelled);
    assert_eq!(x.balance(0, &x.sbx).await, Amount::ZERO);
}

async fn registry_errors_are_retried_then_reported_and_the_offers_fate_still_settles(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    let (amulet, sbx) = (x.amulet.clone(), x.sbx.clone());
    onboard(&x, &amulet, "splice-amulet", &registry_url(&x, "Amulet")).await;
    // A registry that is down: nothing listens on port 1.
    onboard(&x, &sbx, SBX_PACKAGE, "http://127.0.0.1:1").await;
    let memo = account_of(0).to_string();
    let withdrawn = offer_sbx(&mut x, 0, &memo, "3", None).await;
    let retried = offer_sbx(&mut x, 0, &memo, "4", None).await;
    let metrics = Metrics::new();
    let a = deposit_automation(&x, deposit_config("a")).with_metrics(metrics.clone());
    settle_offers(&x, &a, 40).await;
    let failed = x.store.failed_deposit_accepts().await.unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");
    // Counted: three attempts per offer, each a retry, then both given up; the registry's
    // calls as errors.
    let accepts = |outcome: &str| {
        sample(
            &metrics,
            &format!("canton_exchange_deposit_accepts_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(accepts("retry"), Some(6.0));
    assert_eq!(accepts("failed"), Some(2.0));
    assert_eq!(accepts("executed"), None);
    let context = |outcome: &str| {
        let series = format!(
            "canton_exchange_registry_call_seconds_count{{operation=\"choice_context\",outcome=\"{outcome}\"}}"
        );
        sample(&metrics, &series)
    };
    assert_eq!(context("error"), Some(6.0));
    for f in &failed {
        assert_eq!((f.record.attempts, f.record.executions), (3, 0), "{f:?}");
        let error = f.record.last_error.as_deref().unwrap_or_default();
        assert!(error.starts_with("registry"), "{error}");
        assert_eq!(f.account, account_of(0));
    }
    assert_eq!(x.held_sbx(&x.treasury), Amount::ZERO);
    // Its fate, read by ingestion, settles an offer reported as accept_failed.
    withdraw(&mut x, &withdrawn).await;
    assert_eq!(deposit_state(&x, &withdrawn).await, DepositState::Cancelled);
    // The registry is back; an operator has the other offer tried again: credited once.
    onboard(&x, &sbx, SBX_PACKAGE, &registry_url(&x, "SBX")).await;
    x.store.retry_deposit_accept(&retried).await.unwrap();
    settle_offers(&x, &a, 20).await;
    assert_eq!(deposit_state(&x, &retried).await, DepositState::Credited);
    assert_eq!(x.balance(0, &x.sbx).await, amount("4"));
    assert!(x.store.failed_deposit_accepts().await.unwrap().is_empty());
    assert_eq!(accepts("executed"), Some(1.0));
    assert_eq!(context("ok"), Some(1.0));
}

/// The value of one series in a scrape of `metrics`, if present.
fn sample(metrics: &Metrics, series: &str) -> Option<f64> {
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn a_node_that_tampers_gets_no_accept_signed_and_the_offer_is_reported(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    onboard_all(&x).await;
    let memo = account_of(0).to_string();
    let cid = offer_sbx(&mut x, 0, &memo, "8", None).await;
    x.sandbox.tamper_prepare(7, &[TamperKind::Hash]);
    let a = deposit_automation(&x, deposit_config("a"));
    settle_offers(&x, &a, 40).await;
    let notes = x.store.deposit_accept(&cid).await.unwrap().unwrap();
    assert_eq!(notes.state, AcceptState::AcceptFailed, "{notes:?}");
    assert_eq!(notes.executions, 0, "a tampered transaction was executed");
    let error = notes.last_error.unwrap_or_default();
    assert!(error.contains("refused to sign"), "{error}");
    assert_eq!(x.held_sbx(&x.treasury), Amount::ZERO);
    // An honest node again, and an operator's retry: accepted and credited once.
    x.sandbox.set_faults(Default::default());
    x.store.retry_deposit_accept(&cid).await.unwrap();
    settle_offers(&x, &a, 20).await;
    assert_eq!(deposit_state(&x, &cid).await, DepositState::Credited);
    assert_eq!(x.balance(0, &x.sbx).await, amount("8"));
    assert_eq!(x.held_sbx(&x.treasury), amount("8"));
}
