//! Multi-step withdrawals (offers) and the holding pool end to end against the sandbox, on
//! SQLite and PostgreSQL (the set-up is `common::exchange`): offers accepted, rejected,
//! withdrawn or expired end in the right state with the right journal; the pool job keeps `k`
//! holdings and merges dust through self-transfers the automation executes like withdrawals.
mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::time::Duration;

use canton_sandbox::token::InstructionChoice;
use common::exchange::*;
use common::withdrawal_offers::*;
use common::*;
use exchange_core::pool::PoolPolicy;
use exchange_core::withdrawal::{WithdrawalPurpose, WithdrawalState};
use exchange_core::{Amount, PartyId};
use exchange_services::pool::{PoolConfig, PoolJob};
use harness::TestDb;

conformance!(
    offers_end_accepted_rejected_or_withdrawn_with_the_right_journal,
    an_offer_not_accepted_before_it_expires_fails_and_is_refunded_once,
    the_pool_job_keeps_k_holdings_and_merges_dust,
);

async fn offers_end_accepted_rejected_or_withdrawn_with_the_right_journal(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    sbx_deposits(&mut x, 0, &["10", "10", "10"]).await;
    let sbx = x.sbx.clone();
    assert_eq!(x.balance(0, &sbx).await, amount("30"));
    let receiver = x.customers[1].clone();
    for id in ["w-acc", "w-rej", "w-wd"] {
        x.place_in(id, 0, &receiver, "10", sbx.clone(), 3_600 * SECOND)
            .await;
    }
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 20).await;
    let offers = pending_offers(&x, &["w-acc", "w-rej", "w-wd"]).await;
    assert_eq!(x.balance(0, &sbx).await, Amount::ZERO);
    answer_offers(
        &x,
        &offers,
        &[
            ("w-acc", InstructionChoice::Accept),
            ("w-rej", InstructionChoice::Reject),
            ("w-wd", InstructionChoice::Withdraw),
        ],
    );
    x.ingest().await;
    assert_eq!(x.state("w-acc").await, WithdrawalState::Completed);
    assert_eq!(x.state("w-rej").await, WithdrawalState::Failed);
    assert_eq!(x.state("w-wd").await, WithdrawalState::Failed);
    // Two refunds, once each.
    assert_eq!(x.balance(0, &sbx).await, amount("20"));
    x.ingest().await;
    x.settle(&automation, 3).await;
    assert_eq!(x.balance(0, &sbx).await, amount("20"));
    assert_eq!(x.held_sbx(&receiver), amount("10"));
}

async fn the_pool_job_keeps_k_holdings_and_merges_dust(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    for _ in 0..10 {
        x.deposit(0, "1").await;
    }
    x.deposit(0, "1000").await;
    let policy = PoolPolicy {
        k: 3,
        target: amount("100"),
        dust: amount("5"),
        max_inputs: 100,
    };
    let pool = PoolJob::new(
        x.store.clone(),
        PartyId::new(&x.treasury).unwrap(),
        vec![PoolConfig {
            instrument: x.amulet.clone(),
            policy,
            ttl: Duration::from_secs(3600),
        }],
    );
    let automation = x.automation(x.config("a"));
    let placed = run_pool(&x, &pool, &automation).await;
    assert!(placed >= 2, "{placed} pool transfers");
    let holdings = x.store.active_holdings(&x.amulet).await.unwrap();
    let amounts: Vec<Amount> = holdings.iter().map(|h| h.holding.amount).collect();
    let large = amounts.iter().filter(|a| **a >= amount("100")).count();
    let dust = amounts.iter().filter(|a| **a < amount("5")).count();
    assert!(large >= 3, "{amounts:?}");
    assert!(dust <= 1, "{amounts:?}");
    let total = amounts
        .iter()
        .fold(Amount::ZERO, |s, a| s.checked_add(*a).unwrap());
    assert_eq!(total, amount("1010"), "the pool moves nothing out");
    assert!(
        holdings.iter().all(|h| h.reserved_by.is_none()),
        "{holdings:?}"
    );
    // The ledger agrees, and no customer was debited for it.
    assert_eq!(x.held(&x.treasury), amount("1010"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("1010"));
    let pools = x.store.withdrawals(None).await.unwrap();
    assert!(
        pools
            .iter()
            .filter(|w| w.purpose == WithdrawalPurpose::Pool)
            .all(|w| w.state == WithdrawalState::Completed),
        "{pools:?}"
    );
    // Healthy now: nothing more is planned.
    assert_eq!(pool.run_once().await.unwrap(), 0);
}

async fn an_offer_not_accepted_before_it_expires_fails_and_is_refunded_once(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    sbx_deposits(&mut x, 0, &["10"]).await;
    let sbx = x.sbx.clone();
    let receiver = x.customers[1].clone();
    x.place_in("w-exp", 0, &receiver, "10", sbx.clone(), 3_600 * SECOND)
        .await;
    let mut config = x.config("a");
    config.offer_micros = 60 * SECOND;
    let automation = x.automation(config);
    x.settle(&automation, 20).await;
    let w = x.withdrawal("w-exp").await;
    assert_eq!(w.state, WithdrawalState::PendingAcceptance);
    let execute_before = w.execute_before.expect("recorded with the execution");
    assert_eq!(x.balance(0, &sbx).await, Amount::ZERO);
    // Record time at executeBefore: an accept made (by ledger time) just before may still be
    // sequenced, so the offer is still pending.
    x.advance_record_time_to(execute_before);
    x.deposit(1, "1").await;
    assert_eq!(x.state("w-exp").await, WithdrawalState::PendingAcceptance);
    // Past it by the ledger/record time tolerance: no accept can come any more, so the
    // withdrawal failed and the customer gets the funds back.
    let tolerance = exchange_core::ingest::LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS;
    x.advance_record_time_to(execute_before.checked_add_micros(tolerance).unwrap());
    x.deposit(1, "1").await;
    let w = x.withdrawal("w-exp").await;
    assert_eq!(w.state, WithdrawalState::Failed);
    assert!(
        w.reason.as_deref().unwrap_or("").contains("offer expired"),
        "{w:?}"
    );
    assert_eq!(x.balance(0, &sbx).await, amount("10"));
    // The receiver can no longer accept it, and nothing is refunded twice.
    let offer = w.transfer_instruction.unwrap().to_string();
    let late = x.sandbox.with_world(|w| {
        w.token.act(
            &mut w.ledger,
            &offer,
            InstructionChoice::Accept,
            "late-accept",
        )
    });
    assert!(late.is_err(), "accepted after executeBefore");
    x.deposit(1, "1").await;
    x.settle(&automation, 3).await;
    assert_eq!(x.balance(0, &sbx).await, amount("10"));
}
