//! The splice-cli 0.6.11 recording (alice's view, Canton Coin emitting both V1 signals and V2
//! `EventLog_HoldingsChange` events) against the Splice CLI's own readings of it:
//! `expected-txs-v1.json` (its V1 parser) and `expected-txs-v2.json` (its V2 parser).
//!
//! With Amulet onboarded, the parser reads Amulet's movements from the V2 events; per
//! transaction, alice's holding change per instrument agrees with both CLI outputs, the V2
//! transfers agree with the V2 output leg for leg, and the transfers between parties agree with
//! the V1 output, except where the V1 CLI has a quirk named below (with what we report instead).
//! No transfer is counted twice: the movements of each transaction add up to its holding change.

mod common;

use std::collections::BTreeMap;

use common::*;
use exchange_core::book::WithOnboarded;
use exchange_core::parser::{Direction, Standard, Transfer, TransferKind, TransferStatus};
use exchange_core::tokens::{Onboarded, OnboardedToken, TokenTransferKind};
use exchange_core::{Amount, InstrumentId, KnownContracts, ParsedTransaction};
use serde_json::Value;

const ALICE: &str = "alice::normalized";
const DSO: &str = "dso::normalized";

fn amount(v: &Value) -> Amount {
    v.as_str()
        .unwrap_or_else(|| panic!("amount is not a string: {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn amulet() -> InstrumentId {
    InstrumentId {
        admin: party(DSO),
        id: "Amulet".into(),
    }
}

fn onboarded_amulet() -> Onboarded {
    Onboarded::new([OnboardedToken {
        instrument: amulet(),
        registry_url: "http://scan".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    }])
}

struct Fixture {
    parsed_v2: Vec<ParsedTransaction>,
    parsed_v1: Vec<ParsedTransaction>,
    expected_v1: BTreeMap<String, Value>,
    expected_v2: BTreeMap<String, Value>,
}

fn fixture() -> Option<Fixture> {
    let dir = shared_dir()?.join("fixtures/splice-cli-0.6.11");
    let txs = transactions(&dir.join("txs.json"));
    assert_eq!(txs.len(), 16);
    let responses: Vec<canton_ledger::contract_events::JsGetEventsByContractIdResponse> =
        serde_json::from_str(&read(&dir.join("eventsByContractIdResponses.json"))).unwrap();
    let mut known = KnownContracts::default();
    for r in &responses {
        if let Some(c) = &r.created {
            known.add(&c.created_event).unwrap();
        }
    }
    let by_update = |file: &str| -> BTreeMap<String, Value> {
        let v: Value = serde_json::from_str(&read(&dir.join(file))).unwrap();
        v["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["updateId"].as_str().unwrap().to_owned(), t.clone()))
            .collect()
    };
    let onboarded = onboarded_amulet();
    let (parsed_v2, _) = replay(&txs, &party(ALICE), &WithOnboarded(&known, &onboarded));
    let (parsed_v1, _) = replay(&txs, &party(ALICE), &known);
    Some(Fixture {
        parsed_v2,
        parsed_v1,
        expected_v1: by_update("expected-txs-v1.json"),
        expected_v2: by_update("expected-txs-v2.json"),
    })
}

/// The CLI's holding change per (admin, id), locked and unlocked together.
fn cli_net(tx: Option<&Value>) -> BTreeMap<(String, String), Amount> {
    let mut net = BTreeMap::new();
    for ev in tx.into_iter().flat_map(|t| t["events"].as_array().unwrap()) {
        let mut holdings = Vec::new();
        for key in ["lockedHoldingsChange", "unlockedHoldingsChange"] {
            for (list, sign) in [("creates", 1), ("archives", -1)] {
                for h in ev[key][list].as_array().into_iter().flatten() {
                    holdings.push((h, sign));
                }
            }
        }
        for (h, sign) in holdings {
            let k = (
                h["instrumentId"]["admin"].as_str().unwrap().to_owned(),
                h["instrumentId"]["id"].as_str().unwrap().to_owned(),
            );
            let a = amount(&h["amount"]);
            let e: &mut Amount = net.entry(k).or_default();
            *e = e.checked_add(if sign > 0 { a } else { -a }).unwrap();
        }
    }
    net.retain(|_, a| !a.is_zero());
    net
}

fn our_net(tx: &ParsedTransaction) -> BTreeMap<(String, String), Amount> {
    tx.holding_changes
        .iter()
        .filter(|c| !c.net.is_zero())
        .map(|c| {
            let k = (c.instrument.admin.to_string(), c.instrument.id.clone());
            (k, c.net)
        })
        .collect()
}

/// (what, counterparty, amount, reason): `in`, `out`, `self`, `unlock`, `mint`, `burn`.
type Movement = (&'static str, Option<String>, Amount, Option<String>);

fn reason_of(meta: &Value) -> Option<String> {
    meta["values"]["splice.lfdecentralizedtrust.org/reason"]
        .as_str()
        .map(str::to_owned)
}

/// The V2 CLI's legs on alice's account: a self-transfer (both sides on alice) once, a
/// change without legs as an unlock when it turned locked holdings into unlocked ones.
fn cli_v2_movements(tx: Option<&Value>) -> Vec<Movement> {
    let mut out = Vec::new();
    for ev in tx.into_iter().flat_map(|t| t["events"].as_array().unwrap()) {
        let label = &ev["label"];
        assert_eq!(label["type"], "V2");
        assert_eq!(label["account"]["owner"], ALICE);
        let legs = label["transferLegSides"].as_array().cloned();
        let legs = legs.unwrap_or_default();
        if legs.is_empty() {
            let unlocked = &ev["unlockedHoldingsChangeSummary"];
            let locked = &ev["lockedHoldingsChangeSummary"];
            assert!(amount(&locked["amountChange"]).is_negative(), "{ev}");
            let reason = label["reason"].as_str().map(str::to_owned);
            out.push(("unlock", None, amount(&unlocked["outputAmount"]), reason));
            continue;
        }
        for leg in legs {
            let other = &leg["otherside"];
            let owner = other["owner"].as_str().map(str::to_owned);
            let reason = reason_of(&leg["meta"]);
            let a = amount(&leg["amount"]);
            let what = match (leg["side"].as_str().unwrap(), other["id"].as_str().unwrap()) {
                (_, _) if owner.as_deref() == Some(ALICE) => {
                    if leg["side"] == "ReceiverSide" {
                        continue;
                    }
                    "self"
                }
                ("ReceiverSide", "cip-112/mint") => "mint",
                ("SenderSide", "cip-112/burn") => "burn",
                ("ReceiverSide", _) => "in",
                _ => "out",
            };
            let counterparty = matches!(what, "in" | "out").then_some(owner).flatten();
            out.push((what, counterparty, a, reason));
        }
    }
    out
}

fn movement(t: &Transfer) -> Movement {
    let (what, counterparty) = match (t.kind, t.direction) {
        (TransferKind::Mint, _) => ("mint", None),
        (TransferKind::Burn, _) => ("burn", None),
        (TransferKind::Unlock, _) => ("unlock", None),
        (_, Direction::In) => ("in", t.sender.clone()),
        (_, Direction::Out) => ("out", t.receiver.clone()),
        (_, Direction::SelfTransfer) => ("self", None),
    };
    (
        what,
        counterparty.map(|p| p.to_string()),
        t.amount.unwrap(),
        t.reason.clone(),
    )
}

/// The V1 CLI's transfers between parties (and mints).
fn cli_v1_movements(tx: Option<&Value>) -> Vec<Movement> {
    let mut out = Vec::new();
    for ev in tx.into_iter().flat_map(|t| t["events"].as_array().unwrap()) {
        let label = &ev["label"];
        let reason = label["reason"].as_str().map(str::to_owned);
        match label["type"].as_str().unwrap() {
            "TransferIn" => {
                let sender = label["sender"].as_str().map(str::to_owned);
                let net = amount(&ev["unlockedHoldingsChangeSummary"]["amountChange"]);
                out.push(("in", sender, net, reason));
            }
            "TransferOut" => {
                for r in label["receiverAmounts"].as_array().unwrap() {
                    let receiver = r["receiver"].as_str().map(str::to_owned);
                    out.push(("out", receiver, amount(&r["amount"]), reason.clone()));
                }
            }
            "Mint" => out.push(("mint", None, amount(&label["mintAmount"]), reason)),
            _ => {}
        }
    }
    out
}

/// Transactions where the V1 CLI's reading has a quirk, with what we report instead: (direction,
/// status, amount) of our transfers read from V1 (instruction records, which V2 does not carry).
/// What we report for a transaction: (direction, status, amount) per transfer.
type OurReport = Vec<(Direction, TransferStatus, &'static str)>;

fn v1_quirk(update_id: &str) -> Option<(&'static str, OurReport)> {
    use Direction::*;
    use TransferStatus::*;
    Some(match update_id {
        "update-8" | "update-9" | "update-10" | "update-11" | "update-12" => (
            "a pending offer to bob reported as a MergeSplit of alice's",
            vec![(Out, Pending, "1000")],
        ),
        "update-14" => (
            "bob's rejection of the offer reported as a MergeSplit",
            vec![(Out, Rejected, "1000")],
        ),
        "update-15" => (
            "alice's withdrawal of the offer reported as a MergeSplit",
            vec![(Out, Withdrawn, "1000")],
        ),
        _ => return None,
    })
}

fn between_parties(t: &&Transfer) -> bool {
    t.direction != Direction::SelfTransfer && t.kind != TransferKind::Burn
}

#[test]
fn holding_changes_agree_with_both_cli_readings() {
    let Some(f) = fixture() else { return };
    for (ours, v1_only) in f.parsed_v2.iter().zip(&f.parsed_v1) {
        let update = ours.update_id.as_str();
        let net = our_net(ours);
        assert_eq!(net, cli_net(f.expected_v1.get(update)), "{update}: V1 CLI");
        assert_eq!(net, cli_net(f.expected_v2.get(update)), "{update}: V2 CLI");
        // The ledger's holdings are what they are, whichever standard explains them.
        assert_eq!(ours.holdings_created, v1_only.holdings_created, "{update}");
        assert_eq!(
            ours.holdings_archived, v1_only.holdings_archived,
            "{update}"
        );
        assert!(ours.untrusted_events.is_empty(), "{update}");
    }
}

#[test]
fn v2_transfers_agree_with_the_v2_cli_leg_for_leg() {
    let Some(f) = fixture() else { return };
    let mut read_from_v2 = 0;
    for ours in &f.parsed_v2 {
        let update = ours.update_id.as_str();
        let mut v2: Vec<Movement> = ours
            .transfers
            .iter()
            .filter(|t| t.read_from == Standard::V2)
            .map(movement)
            .collect();
        read_from_v2 += v2.len();
        // The CLI lists events in node order; we list a transfer at the node of the choice that
        // made it (update-13: the accept at node 0, before the unlock event inside it).
        let mut cli = cli_v2_movements(f.expected_v2.get(update));
        v2.sort();
        cli.sort();
        assert_eq!(v2, cli, "{update}");
        let expect_v2 = f.expected_v2.contains_key(update);
        assert_eq!(ours.read_from_v2 == vec![amulet()], expect_v2, "{update}");
        for t in ours
            .transfers
            .iter()
            .filter(|t| t.read_from == Standard::V2)
        {
            let leg = t.v2_leg.as_ref().expect("a V2 transfer names its event");
            assert_eq!(leg.account.owner.as_ref().map(|p| p.as_str()), Some(ALICE));
        }
    }
    // 4, 5, 6 transfers, 7 mint, 8-12 locks, 13 unlock and transfer, 14 and 15 unlocks.
    assert_eq!(read_from_v2, 13);
}

#[test]
fn transfers_between_parties_agree_with_the_v1_cli_except_for_its_quirks() {
    let Some(f) = fixture() else { return };
    let mut quirks = 0;
    for (ours, v1_only) in f.parsed_v2.iter().zip(&f.parsed_v1) {
        let update = ours.update_id.as_str();
        let movements = |p: &ParsedTransaction| -> Vec<Movement> {
            let moved = p.transfers.iter().filter(between_parties).filter(|t| {
                matches!(
                    t.status,
                    TransferStatus::Completed | TransferStatus::Accepted
                )
            });
            moved.map(movement).collect()
        };
        let cli = cli_v1_movements(f.expected_v1.get(update));
        match v1_quirk(update) {
            None => assert_eq!(movements(ours), cli, "{update}"),
            Some((quirk, what_we_say)) => {
                quirks += 1;
                assert!(cli.is_empty(), "{update}: {quirk}");
                let got: Vec<_> = ours
                    .transfers
                    .iter()
                    .filter(|t| t.read_from == Standard::V1)
                    .map(|t| (t.direction, t.status, t.amount.unwrap()))
                    .collect();
                let want: Vec<_> = what_we_say
                    .iter()
                    .map(|(d, s, a)| (*d, *s, a.parse::<Amount>().unwrap()))
                    .collect();
                assert_eq!(got, want, "{update} (V1 CLI quirk: {quirk})");
            }
        }
        // Read from V1 alone, the same movements between parties, with the same deposit and
        // withdrawal identities (node, instruction) ingestion derives from them.
        let key = |t: &Transfer| (movement(t), t.node_id, t.transfer_instruction_cid.clone());
        let v1: Vec<_> = v1_only
            .transfers
            .iter()
            .filter(between_parties)
            .map(key)
            .collect();
        let v2: Vec<_> = ours
            .transfers
            .iter()
            .filter(between_parties)
            .map(key)
            .collect();
        assert_eq!(v2, v1, "{update}");
    }
    assert_eq!(quirks, 7);
}

#[test]
fn no_transfer_is_counted_twice() {
    let Some(f) = fixture() else { return };
    for ours in &f.parsed_v2 {
        let update = ours.update_id.as_str();
        // What moved between accounts adds up to the party's holding change, per instrument.
        let mut moved: BTreeMap<InstrumentId, Amount> = BTreeMap::new();
        for t in &ours.transfers {
            if !matches!(
                t.status,
                TransferStatus::Completed | TransferStatus::Accepted
            ) {
                continue;
            }
            let signed = match t.direction {
                Direction::In => t.amount.unwrap(),
                Direction::Out => -t.amount.unwrap(),
                Direction::SelfTransfer => Amount::ZERO,
            };
            let e = moved.entry(t.instrument.clone().unwrap()).or_default();
            *e = e.checked_add(signed).unwrap();
        }
        moved.retain(|_, a| !a.is_zero());
        let net: BTreeMap<InstrumentId, Amount> = ours
            .holding_changes
            .iter()
            .filter(|c| !c.net.is_zero())
            .map(|c| (c.instrument.clone(), c.net))
            .collect();
        assert_eq!(moved, net, "{update}");
        // And no movement is reported from both standards.
        let mut seen = Vec::new();
        for t in ours.transfers.iter().filter(between_parties) {
            let k = (movement(t), t.status);
            assert!(!seen.contains(&k), "{update}: {k:?} twice");
            seen.push(k);
        }
    }
}
