//! A withdrawal offer lost in a DB restore is re-created by ingestion as `recovered`; its fate
//! must then be decided exactly like an offer the automation made: expired by record time,
//! rejected or withdrawn → failed and refunded (once) to whoever bears it; accepted → completed.

use std::collections::BTreeMap;

use exchange_core::changeset::{AccountId, Effect, JournalCause};
use exchange_core::ingest::{FoldConfig, Known, expire_due, fold};
use exchange_core::parser::{Direction, Standard, Transfer, TransferKind, TransferStatus};
use exchange_core::token_standard as ts;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalState};
use exchange_core::{
    Amount, ContractId, InstrumentId, Offset, ParsedTransaction, PartyId, SynchronizerId,
    Timestamp, UpdateId,
};

const SECOND: i64 = 1_000_000;
/// The offer's `executeBefore`, and the first record time at which it has certainly expired
/// (`executeBefore` + the ledger/record time tolerance).
const EXECUTE_BEFORE: i64 = 100 * SECOND;
const CERTAINLY_EXPIRED: i64 = EXECUTE_BEFORE + 60 * SECOND;

fn party(s: &str) -> PartyId {
    PartyId::new(&format!("{s}::1220ab")).unwrap()
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn amulet() -> InstrumentId {
    InstrumentId {
        admin: party("dso"),
        id: "Amulet".into(),
    }
}

fn sync() -> SynchronizerId {
    SynchronizerId::new("global-domain::1220ab").unwrap()
}

fn time(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros).unwrap()
}

fn offer() -> ContractId {
    ContractId::new("ti-lost").unwrap()
}

fn wid() -> WithdrawalId {
    WithdrawalId::new("w-lost").unwrap()
}

/// Recovered withdrawals name their customer through this metadata entry.
fn config() -> FoldConfig {
    let mut config = FoldConfig::new(party("treasury"));
    config.account_meta_key = Some("exchange/account".into());
    config
}

/// The treasury's offer of 30 Amulet to bob under memo `w-lost` (or its fate), at record time
/// `at`; `account`: the customer named in its metadata.
fn transaction(
    n: i64,
    at: i64,
    status: TransferStatus,
    account: Option<&str>,
) -> ParsedTransaction {
    let meta: BTreeMap<String, String> = account
        .map(|a| ("exchange/account".to_owned(), a.to_owned()))
        .into_iter()
        .collect();
    let instructions_created = match status {
        TransferStatus::Pending => vec![ts::TransferInstruction {
            contract_id: offer(),
            original_instruction_cid: None,
            transfer: ts::TransferSpec {
                sender: party("treasury"),
                receiver: party("bob"),
                amount: amount("30"),
                instrument: amulet(),
                requested_at: time(at),
                execute_before: time(EXECUTE_BEFORE),
                input_holding_cids: Vec::new(),
                reason: Some(wid().to_string()),
                meta: meta.clone(),
            },
            status: "TransferPendingReceiverAcceptance".into(),
            provenance: None,
        }],
        _ => Vec::new(),
    };
    ParsedTransaction {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        offset: Offset::new(n).unwrap(),
        record_time: time(at),
        synchronizer_id: sync(),
        holdings_created: Vec::new(),
        holdings_archived: Vec::new(),
        holding_changes: Vec::new(),
        instructions_created,
        instructions_consumed: Vec::new(),
        transfers: vec![Transfer {
            node_id: 1,
            choice: "TransferFactory_Transfer".into(),
            kind: TransferKind::Transfer,
            direction: Direction::Out,
            sender: Some(party("treasury")),
            receiver: Some(party("bob")),
            instrument: Some(amulet()),
            amount: Some(amount("30")),
            reason: Some(wid().to_string()),
            status,
            transfer_instruction_cid: Some(offer()),
            meta,
            read_from: Standard::V1,
            v2_leg: None,
        }],
        unexplained: Vec::new(),
        unresolved_archives: Vec::new(),
        possibly_own_archives: Vec::new(),
        untrusted_events: Vec::new(),
        read_from_v2: Vec::new(),
    }
}

/// Folds `tx` into `known` and returns what it changed.
fn step(known: &mut Known, tx: &ParsedTransaction) -> Vec<Effect> {
    let folded = fold(tx, known, &config());
    assert!(folded.anomalies.is_empty(), "{:?}", folded.anomalies);
    known.absorb(&folded.changes);
    known
        .record_times
        .insert(tx.synchronizer_id.clone(), tx.record_time);
    folded.changes.effects
}

/// Runs expiry at record time `at` and absorbs it.
fn expire_at(known: &mut Known, at: i64) -> Vec<Effect> {
    known.record_times.insert(sync(), time(at));
    let changes = expire_due(known);
    known.absorb(&changes);
    changes.effects
}

/// A DB that lost the withdrawal, with the customer `acc` known; the lost offer ingested.
fn recovered(account: Option<&str>) -> Known {
    let mut known = Known::default();
    known.accounts.insert(AccountId::new("acc").unwrap());
    known
        .accounts
        .insert(AccountId::new(exchange_core::ingest::SUSPENSE_ACCOUNT).unwrap());
    let effects = step(
        &mut known,
        &transaction(1, 10 * SECOND, TransferStatus::Pending, account),
    );
    let r = effects
        .iter()
        .find_map(|e| match e {
            Effect::WithdrawalRecovered(r) => Some(r),
            _ => None,
        })
        .expect("recovered");
    let expiry = r
        .offer_expiry
        .as_ref()
        .expect("a recovered offer keeps its deadline");
    assert_eq!(expiry.execute_before, time(EXECUTE_BEFORE));
    known
}

/// The refunds in `effects`, as (account, amount).
fn refunds(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Journal(j) if j.cause == JournalCause::WithdrawalRefund(wid()) => {
                Some((j.account.to_string(), j.amount.to_string()))
            }
            _ => None,
        })
        .collect()
}

fn state(known: &Known) -> WithdrawalState {
    known.withdrawals[&wid()].state
}

#[test]
fn a_recovered_offer_fails_and_is_refunded_once_it_has_certainly_expired() {
    for (account, bearer) in [(None, "suspense"), (Some("acc"), "acc")] {
        let mut known = recovered(account);
        assert_eq!(state(&known), WithdrawalState::Recovered);
        // Until executeBefore + tolerance an accept may still be sequenced: nothing moves.
        assert!(expire_at(&mut known, CERTAINLY_EXPIRED - 1).is_empty());
        assert_eq!(state(&known), WithdrawalState::Recovered);

        let effects = expire_at(&mut known, CERTAINLY_EXPIRED);
        assert_eq!(state(&known), WithdrawalState::Failed, "{effects:?}");
        assert_eq!(
            refunds(&effects),
            [(bearer.to_owned(), "30.0000000000".to_owned())]
        );
        assert!(effects.contains(&Effect::HoldingsReleased { withdrawal: wid() }));

        // Once only: expiry again, and the offer's own end (withdrawn by the treasury, or its
        // expiry seen on the ledger), change nothing.
        assert!(expire_at(&mut known, CERTAINLY_EXPIRED + SECOND).is_empty());
        for (n, fate) in [(2, TransferStatus::Withdrawn), (3, TransferStatus::Expired)] {
            let later = transaction(n, CERTAINLY_EXPIRED + n * SECOND, fate, account);
            assert!(refunds(&step(&mut known, &later)).is_empty());
        }
        assert_eq!(state(&known), WithdrawalState::Failed);
    }
}

#[test]
fn a_rejected_or_withdrawn_recovered_offer_fails_and_is_refunded() {
    for fate in [TransferStatus::Rejected, TransferStatus::Withdrawn] {
        let mut known = recovered(None);
        let effects = step(&mut known, &transaction(2, 20 * SECOND, fate, None));
        assert_eq!(state(&known), WithdrawalState::Failed, "{fate:?}");
        assert_eq!(
            refunds(&effects),
            [("suspense".to_owned(), "30.0000000000".to_owned())]
        );
        // Replayed (a restore replays history): nothing again, and never expired on top.
        assert!(step(&mut known, &transaction(2, 20 * SECOND, fate, None)).is_empty());
        assert!(expire_at(&mut known, CERTAINLY_EXPIRED).is_empty());
    }
}

#[test]
fn an_accepted_recovered_offer_completes_and_never_expires() {
    let mut known = recovered(Some("acc"));
    let effects = step(
        &mut known,
        &transaction(2, 20 * SECOND, TransferStatus::Accepted, Some("acc")),
    );
    assert_eq!(state(&known), WithdrawalState::Completed);
    assert!(refunds(&effects).is_empty());
    assert!(expire_at(&mut known, CERTAINLY_EXPIRED).is_empty());
}

#[test]
fn a_withdrawal_recovered_from_a_completed_transfer_has_no_deadline() {
    let mut known = Known::default();
    let mut paid = transaction(1, 10 * SECOND, TransferStatus::Completed, None);
    paid.transfers[0].transfer_instruction_cid = None;
    let effects = step(&mut known, &paid);
    let r = effects
        .iter()
        .find_map(|e| match e {
            Effect::WithdrawalRecovered(r) => Some(r),
            _ => None,
        })
        .expect("recovered");
    assert_eq!(r.offer_expiry, None);
    assert!(expire_at(&mut known, CERTAINLY_EXPIRED * 10).is_empty());
    assert_eq!(state(&known), WithdrawalState::Recovered);
}
