//! Ingestion folds what the parser read from V2 as it folds the V1 reading: on the splice-cli
//! 0.6.11 recording (Canton Coin with both signals), the change sets are the same whichever
//! standard the transfers were read from; a forged V2 event is held back (logged, never a reason
//! to stop), not credited.

mod common;

use canton_ledger::JsTransaction;
use common::*;
use exchange_core::book::WithOnboarded;
use exchange_core::changeset::{ChangeSet, Effect};
use exchange_core::ingest::{FoldConfig, Folded, Known, StateLookup, fold};
use exchange_core::parser::{ContractLookup, Standard};
use exchange_core::tokens::{Onboarded, OnboardedToken, TokenTransferKind};
use exchange_core::{InstrumentId, ParsedTransaction, parse_transaction};

const ALICE: &str = "alice::normalized";

fn config() -> FoldConfig {
    let mut config = FoldConfig::new(party(ALICE));
    config.onboarded = Onboarded::new([OnboardedToken {
        instrument: InstrumentId {
            admin: party("dso::normalized"),
            id: "Amulet".into(),
        },
        registry_url: "http://scan-proxy".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    }]);
    config
}

fn recording() -> Option<Vec<JsTransaction>> {
    let dir = shared_dir()?.join("fixtures/splice-cli-0.6.11");
    Some(transactions(&dir.join("txs.json")))
}

/// Parses and folds every transaction as ingestion does; `v2` passes the onboarded tokens to
/// the parser (as ingestion does), otherwise it reads V1 only.
fn ingest(txs: &[JsTransaction], v2: bool) -> Vec<(ParsedTransaction, Folded)> {
    let config = config();
    let mut known = Known::default();
    let mut out = Vec::new();
    for tx in txs {
        let state = StateLookup {
            state: &known,
            treasury: &config.treasury,
        };
        let with = WithOnboarded(&state, &config.onboarded);
        let lookup: &dyn ContractLookup = if v2 { &with } else { &state };
        let parsed = parse_transaction(tx, &config.treasury, lookup).unwrap();
        let folded = fold(&parsed, &known, &config);
        known.absorb(&folded.changes);
        out.push((parsed, folded));
    }
    out
}

fn changes(run: &[(ParsedTransaction, Folded)]) -> Vec<&ChangeSet> {
    run.iter().map(|(_, f)| &f.changes).collect()
}

#[test]
fn ingestion_folds_the_v2_reading_as_the_v1_reading() {
    let Some(txs) = recording() else { return };
    let v2 = ingest(&txs, true);
    let v1 = ingest(&txs, false);
    let from_v2 = v2.iter().flat_map(|(p, _)| &p.transfers);
    assert_eq!(from_v2.filter(|t| t.read_from == Standard::V2).count(), 13);
    assert_eq!(changes(&v2), changes(&v1));
    for (p, f) in &v2 {
        assert!(f.anomalies.is_empty(), "{}: {:?}", p.update_id, f.anomalies);
        assert!(f.held_back.is_empty(), "{}: {:?}", p.update_id, f.held_back);
    }
    // Not vacuous: the deposit of update-4 and the offers and their fates are effects.
    assert!(
        v2.iter()
            .map(|(_, f)| f.changes.effects.len())
            .sum::<usize>()
            > 20
    );
}

#[test]
fn a_forged_v2_event_is_held_back_not_credited() {
    let Some(mut txs) = recording() else { return };
    // update-4 (200 CC to alice): the event on alice's account, now exercised by alice herself.
    let tx = &mut txs[4];
    assert_eq!(tx.update_id, "update-4");
    let mut value = serde_json::to_value(&*tx).unwrap();
    let events = value["events"].as_array_mut().unwrap();
    let forged = events
        .iter_mut()
        .filter_map(|e| e.get_mut("ExercisedEvent"))
        .filter(|x| x["choice"] == "EventLog_HoldingsChange")
        .find(|x| x["choiceArgument"]["account"]["owner"] == ALICE)
        .unwrap();
    forged["actingParties"] = serde_json::json!([ALICE]);
    *tx = serde_json::from_value(value).unwrap();

    let v2 = ingest(&txs[..5], true);
    let v1 = ingest(&txs[..5], false);
    let (parsed, folded) = &v2[4];
    assert_eq!(parsed.untrusted_events.len(), 1);
    assert_eq!(folded.held_back.len(), 1, "{:?}", folded.held_back);
    assert!(
        folded.held_back[0]
            .what
            .contains("not exercised by its admin alone")
    );
    assert!(folded.anomalies.is_empty());
    // What is credited is the V1 reading's; the event is recorded for operators besides.
    assert!(parsed.transfers.iter().all(|t| t.read_from == Standard::V1));
    let recorded: Vec<_> = folded
        .changes
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::UntrustedEvent(u) => Some((u.node_id, u.reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        recorded,
        vec![(
            folded.held_back[0].node_id.unwrap(),
            folded.held_back[0].what.clone()
        )]
    );
    let without: Vec<ChangeSet> = v2
        .iter()
        .map(|(_, f)| {
            let mut c = f.changes.clone();
            c.effects
                .retain(|e| !matches!(e, Effect::UntrustedEvent(_)));
            c
        })
        .collect();
    assert_eq!(without.iter().collect::<Vec<_>>(), changes(&v1));
}
