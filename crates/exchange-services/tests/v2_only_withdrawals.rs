//! Withdrawals of a V2-only token (CIP-0112) end to end against the sandbox, on SQLite and
//! PostgreSQL: SBX runs as a V2-only issuer (no V1 transfer factory: its registry answers 404
//! there), the treasury is an external party with a key file. The withdrawal automation learns
//! from the registry's instrument metadata that SBX speaks V2 only, asks the V2 registry API for
//! the factory, exercises V2's `TransferFactory_Transfer` with `actors = [treasury]` (verified
//! and signed), and ingestion reads the offer and its outcome from the V2 events. What is checked
//! is what the ledger and the journal show.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::time::Duration;

use canton_sandbox::token::InstructionChoice;
use canton_sandbox::token::packages::transfer_factory_v2_interface;
use common::exchange::*;
use common::withdrawal_offers::*;
use common::*;
use exchange_core::changeset::JournalCause;
use exchange_core::pool::PoolPolicy;
use exchange_core::withdrawal::{WithdrawalPurpose, WithdrawalState};
use exchange_core::{Amount, InstrumentId, PartyId};
use exchange_services::pool::{PoolConfig, PoolJob};
use harness::TestDb;
use serde_json::json;

conformance!(
    v2_only_offer_withdrawals_are_paid_through_v2_and_end_completed_or_refunded,
    the_v1_factory_of_a_v2_only_token_is_not_found_and_v2_s_is_served,
    the_pool_merges_v2_only_dust_through_v2_self_transfers,
);

async fn v2_only_offer_withdrawals_are_paid_through_v2_and_end_completed_or_refunded(db: &TestDb) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 2).await;
    sbx_deposits(&mut x, 0, &["10", "10", "10"]).await;
    let sbx = x.sbx.clone();
    assert_eq!(x.balance(0, &sbx).await, amount("30"));
    let receiver = x.customers[1].clone();
    for id in ["w-acc", "w-rej"] {
        x.place_in(id, 0, &receiver, "10", sbx.clone(), 3_600 * SECOND)
            .await;
    }
    let automation = x.automation(x.config("v2"));
    x.settle(&automation, 20).await;
    let offers = pending_offers(&x, &["w-acc", "w-rej"]).await;
    for id in ["w-acc", "w-rej"] {
        // Signed once, through V2's factory, by the treasury alone.
        let (interface, actors, _) = root_exercise(&x, id);
        assert_eq!(interface, transfer_factory_v2_interface().to_string());
        assert_eq!(actors, [x.treasury.clone()]);
        assert_eq!(notes(&x, id).await.0, 1, "one attempt");
    }
    assert_eq!(x.balance(0, &sbx).await, amount("10"));
    // The two offered amounts are locked away from the treasury's free holdings.
    assert_eq!(x.held_sbx(&receiver), Amount::ZERO);

    answer_offers(
        &x,
        &offers,
        &[
            ("w-acc", InstructionChoice::Accept),
            ("w-rej", InstructionChoice::Reject),
        ],
    );
    x.ingest().await;
    assert_eq!(x.state("w-acc").await, WithdrawalState::Completed);
    assert_eq!(x.state("w-rej").await, WithdrawalState::Failed);
    // The refund once, nothing more on a second read or round.
    assert_eq!(x.balance(0, &sbx).await, amount("20"));
    x.ingest().await;
    x.settle(&automation, 3).await;
    assert_eq!(x.balance(0, &sbx).await, amount("20"));
    assert_eq!(x.held_sbx(&receiver), amount("10"));
    assert_eq!(x.held_sbx(&x.treasury), amount("20"));
    // The journal: three deposits, two reserves, one refund; it adds up to the balance.
    let journal = x.store.journal(&account_of(0)).await.unwrap();
    let sbx_entries: Vec<_> = journal
        .iter()
        .filter(|r| r.entry.instrument == sbx)
        .map(|r| (r.entry.cause.kind(), r.entry.amount))
        .collect();
    let count = |kind: &str| sbx_entries.iter().filter(|(k, _)| *k == kind).count();
    assert_eq!(count("deposit"), 3, "{sbx_entries:?}");
    assert_eq!(count("withdrawal_reserve"), 2, "{sbx_entries:?}");
    assert_eq!(count("withdrawal_refund"), 1, "{sbx_entries:?}");
    assert_eq!(sbx_entries.len(), 6, "{sbx_entries:?}");
    let total = sbx_entries
        .iter()
        .fold(Amount::ZERO, |s, (_, a)| s.checked_add(*a).unwrap());
    assert_eq!(total, amount("20"));
    let refunded: Vec<_> = journal
        .iter()
        .filter_map(|r| match &r.entry.cause {
            JournalCause::WithdrawalRefund(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(refunded, ["w-rej"]);
}

/// The registry's side: V1's factory endpoint answers 404 for a V2-only token, V2's names the
/// factory for V2's argument (an offer, with the factory disclosed) and refuses V1's argument.
async fn the_v1_factory_of_a_v2_only_token_is_not_found_and_v2_s_is_served(db: &TestDb) {
    let x = Exchange::start_with_v2_only_sbx(db, 1).await;
    let registry = &x.registries[&x.sbx.admin];
    let sbx: &InstrumentId = &x.sbx;
    let transfer = |holder: &dyn Fn(&str) -> serde_json::Value| {
        json!({
            "sender": holder(&x.treasury),
            "receiver": holder(&x.customers[0]),
            "amount": "1.0",
            "instrumentId": {"admin": sbx.admin.as_str(), "id": sbx.id},
            "requestedAt": "2026-01-01T00:00:00Z",
            "executeBefore": "2099-01-01T00:00:00Z",
            "inputHoldingCids": [],
            "meta": {"values": {}},
        })
    };
    let extra = json!({"context": {"values": {}}, "meta": {"values": {}}});
    let v1 = json!({
        "expectedAdmin": sbx.admin.as_str(),
        "transfer": transfer(&|p| json!(p)),
        "extraArgs": extra,
    });
    let v2 = json!({
        "transfer": transfer(&|p| json!({"owner": p, "provider": null, "id": ""})),
        "actors": [x.treasury.as_str()],
        "extraArgs": extra,
    });
    let raw = |v: &serde_json::Value| serde_json::value::to_raw_value(v).unwrap();
    let refused = registry.transfer_factory(raw(&v1)).await.unwrap_err();
    assert_eq!(refused.status(), Some(404), "{refused}");
    let served = registry.transfer_factory_v2(raw(&v2)).await.unwrap();
    let factory = x.sandbox.with_world(|w| w.token.factory.clone());
    assert_eq!(served.factory_id, factory);
    assert_eq!(served.transfer_kind.as_str(), "offer");
    let disclosed: Vec<_> = served
        .choice_context
        .disclosed_contracts
        .iter()
        .map(|c| c.contract_id.clone())
        .collect();
    assert_eq!(disclosed, [factory]);
    let wrong_shape = registry.transfer_factory_v2(raw(&v1)).await.unwrap_err();
    assert_eq!(wrong_shape.status(), Some(400), "{wrong_shape}");
    // The instrument's metadata is what the automation chooses by.
    let metadata = registry.instrument("SBX").await.unwrap();
    assert_eq!(
        exchange_services::withdraw::transfer_standard(&metadata.supported_apis),
        Some(exchange_core::parser::Standard::V2)
    );
}

/// The holding pool of a V2-only token: its merges are self-transfers through V2's factory
/// (`self` kind, `actors = [treasury]`), completed from the V2 events, moving nothing out.
async fn the_pool_merges_v2_only_dust_through_v2_self_transfers(db: &TestDb) {
    let mut x = Exchange::start_with_v2_only_sbx(db, 1).await;
    sbx_deposits(&mut x, 0, &["1", "1", "1", "1", "1", "1", "50"]).await;
    let sbx = x.sbx.clone();
    let pool = PoolJob::new(
        x.store.clone(),
        PartyId::new(&x.treasury).unwrap(),
        vec![PoolConfig {
            instrument: sbx.clone(),
            policy: PoolPolicy {
                k: 1,
                target: amount("10"),
                dust: amount("2"),
                max_inputs: 100,
            },
            ttl: Duration::from_secs(3600),
        }],
    );
    let automation = x.automation(x.config("v2-pool"));
    let placed = run_pool(&x, &pool, &automation).await;
    assert!(placed >= 1, "{placed} pool transfers");
    let pools: Vec<_> = x
        .store
        .withdrawals(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|w| w.purpose == WithdrawalPurpose::Pool)
        .collect();
    assert_eq!(pools.len(), placed, "{pools:?}");
    for w in &pools {
        assert_eq!(w.state, WithdrawalState::Completed, "{w:?}");
        let (interface, actors, _) = root_exercise(&x, w.id.as_str());
        assert_eq!(interface, transfer_factory_v2_interface().to_string());
        assert_eq!(actors, [x.treasury.clone()]);
    }
    let holdings = x.store.active_holdings(&sbx).await.unwrap();
    let amounts: Vec<Amount> = holdings.iter().map(|h| h.holding.amount).collect();
    let dust = amounts.iter().filter(|a| **a < amount("2")).count();
    assert!(dust <= 1, "{amounts:?}");
    let total = amounts
        .iter()
        .fold(Amount::ZERO, |s, a| s.checked_add(*a).unwrap());
    assert_eq!(total, amount("56"), "the pool moves nothing out");
    assert_eq!(x.held_sbx(&x.treasury), amount("56"));
    assert_eq!(x.balance(0, &sbx).await, amount("56"));
}
