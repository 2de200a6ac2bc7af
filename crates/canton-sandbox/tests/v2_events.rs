//! The sandbox emits what Splice 0.6.11+ emits: each Canton Coin operation, read by the
//! sender with holdings' V1 and V2 views, has the node structure of the Splice CLI's recording
//! (`fixtures/splice-cli-0.6.11/txs.json`): the same templates, choices, interfaces, node ids
//! and nesting, the same field names in choice arguments and results (values differ); and its
//! `EventLog_HoldingsChange` events explain every holding change of every account.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::{Value, json};

const RECORDING: &str = "fixtures/splice-cli-0.6.11/txs.json";

fn recorded(all: &Value, index: usize) -> Value {
    all[index]["update"]["Transaction"]["value"].clone()
}

fn event(e: &Value) -> &Value {
    e.as_object().unwrap().values().next().unwrap()
}

/// The events from node `from` on, renumbered so that `from` becomes 0 (to compare a subtree
/// whose root the recording reached through a wallet batch).
fn from_node(tx: &Value, from: i64) -> Value {
    let events: Vec<Value> = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| event(e)["nodeId"].as_i64().unwrap() >= from)
        .map(|e| {
            let mut e = e.clone();
            let v = e.as_object_mut().unwrap().values_mut().next().unwrap();
            v["nodeId"] = json!(v["nodeId"].as_i64().unwrap() - from);
            if let Some(last) = v["lastDescendantNodeId"].as_i64() {
                v["lastDescendantNodeId"] = json!(last - from);
            }
            e
        })
        .collect();
    json!({ "events": events })
}

/// The parties and the sandbox of one story.
struct Story {
    _sandbox: canton_sandbox::Sandbox,
    client: Client,
    alice: String,
    bob: String,
    validator: String,
}

async fn story() -> Story {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    // Amulet orders an operation's events by account, so by party id: named so that the
    // validator sorts before alice, as in the recording.
    let validator = client.party("aValidator").await;
    client.preapproval(&validator).await;
    Story {
        _sandbox: sandbox,
        client,
        alice,
        bob,
        validator,
    }
}

impl Story {
    async fn transfer(&self, body: Value) -> Value {
        self.client.transfer(body).await.ok()
    }

    async fn act(&self, what: &str, offer: &Value) -> i64 {
        let out = self
            .client
            .post(
                &format!("/sandbox/control/offers/{what}"),
                &json!({"transferInstructionCid": offer["transferInstructionCid"]}),
            )
            .await
            .ok();
        out["offset"].as_i64().unwrap()
    }

    /// An offer from alice to bob (no preapproval) of 1000 out of two holdings (so change).
    async fn offer(&self) -> Value {
        let a = self.client.mint(&self.alice, "700").await;
        let b = self.client.mint(&self.alice, "600").await;
        self.transfer(
            json!({"sender": self.alice, "receiver": self.bob, "amount": "1000",
            "inputHoldingCids": [a, b]}),
        )
        .await
    }
}

#[tokio::test]
async fn every_amulet_operation_has_the_node_structure_of_splice_0_6_11() {
    let Some(all) = read_shared_json(RECORDING) else {
        return;
    };
    let s = story().await;
    // tx 7: the DevNet faucet (the recording taps through a wallet batch: compare from the tap).
    let minted = s
        .client
        .post(
            "/sandbox/control/mint",
            &json!({"owner": s.alice, "amount": "6000"}),
        )
        .await
        .ok();
    let ours = tx_at(&s.client, &s.alice, minted["offset"].as_i64().unwrap()).await;
    assert_faithful("mint", &from_node(&recorded(&all, 7), 1), &ours);

    // tx 5: a 1-step transfer through the receiver's preapproval, one input, with change.
    let input = minted["contractId"].clone();
    let sent = s
        .transfer(
            json!({"sender": s.alice, "receiver": s.validator, "amount": "100",
            "inputHoldingCids": [input]}),
        )
        .await;
    let ours = tx_at(&s.client, &s.alice, sent["offset"].as_i64().unwrap()).await;
    assert_faithful("1-step transfer", &recorded(&all, 5), &ours);

    // tx 8: an offer (two inputs, change); 13, 14, 15: its accept, a reject, a withdrawal,
    // each read by the sender.
    let operations = [(13, "accept"), (14, "reject"), (15, "withdraw")];
    for (index, what) in operations {
        let offer = s.offer().await;
        let ours = tx_at(&s.client, &s.alice, offer["offset"].as_i64().unwrap()).await;
        assert_faithful("offer", &recorded(&all, 8), &ours);
        let offset = s.act(what, &offer).await;
        let ours = tx_at(&s.client, &s.alice, offset).await;
        assert_faithful(what, &recorded(&all, index), &ours);
    }
}

/// Holdings consumed and created, per owner, with the net amount.
#[derive(Debug, Default, PartialEq)]
struct Changes {
    consumed: BTreeSet<String>,
    created: BTreeSet<String>,
    net: i128,
}

/// Numeric 10 as integer units (exact; no floats).
fn units(s: &str) -> i128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let negative = int.starts_with('-');
    let int: i128 = int.trim_start_matches('-').parse().unwrap();
    let frac: i128 = format!("{frac:0<10}")[..10].parse().unwrap();
    let v = int * 10_000_000_000 + frac;
    if negative { -v } else { v }
}

/// What the V2 events of `tx` report, by account owner; checks that the admin (the
/// instrument's, `admin`) exercised each alone and names itself.
fn reported(tx: &Value, admin: &str) -> BTreeMap<String, Changes> {
    let mut out: BTreeMap<String, Changes> = BTreeMap::new();
    for v in tx["events"].as_array().unwrap().iter().map(event) {
        if v["choice"] != "EventLog_HoldingsChange" {
            continue;
        }
        assert_eq!(
            v["actingParties"],
            json!([admin]),
            "exercised by the admin alone"
        );
        let arg = &v["choiceArgument"];
        assert_eq!(arg["admin"], admin);
        let owner = arg["account"]["owner"].as_str().unwrap().to_owned();
        let entry = out.entry(owner).or_default();
        let cids = |k: &str| {
            arg[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        entry.consumed.extend(cids("inputHoldingCids"));
        entry.created.extend(cids("outputHoldingCids"));
        for leg in arg["transferLegSides"].as_array().unwrap() {
            let amount = units(leg["amount"].as_str().unwrap());
            entry.net += if leg["side"] == "SenderSide" {
                -amount
            } else {
                amount
            };
        }
    }
    out
}

/// What the ledger shows of `tx`: holdings (Amulet, LockedAmulet) created and consumed, by
/// owner; `known` remembers every holding seen made (owner, amount), here and before.
fn on_ledger(
    tx: &Value,
    known: &mut BTreeMap<String, (String, i128)>,
) -> BTreeMap<String, Changes> {
    let mut out: BTreeMap<String, Changes> = BTreeMap::new();
    for v in tx["events"].as_array().unwrap().iter().map(event) {
        let template = v["templateId"].as_str().unwrap();
        if !(template.ends_with(":Splice.Amulet:Amulet")
            || template.ends_with(":Splice.Amulet:LockedAmulet")
            || template.ends_with(":Sandbox.Token:TokenHolding"))
        {
            continue;
        }
        let cid = v["contractId"].as_str().unwrap().to_owned();
        if let Some(view) = v["interfaceViews"].as_array().and_then(|a| a.first()) {
            let view = &view["viewValue"];
            // A V1 view names the owner; a V2 view (a V2-only issuer's) its account.
            let owner = view["owner"]
                .as_str()
                .or(view["account"]["owner"].as_str())
                .unwrap()
                .to_owned();
            let amount = units(view["amount"].as_str().unwrap());
            known.insert(cid.clone(), (owner.clone(), amount));
            let entry = out.entry(owner).or_default();
            entry.created.insert(cid);
            entry.net += amount;
        } else if v["consuming"] == true {
            // A holding the reader never saw made is not its own (it would be a stakeholder).
            let Some((owner, amount)) = known.get(&cid).cloned() else {
                continue;
            };
            let entry = out.entry(owner).or_default();
            entry.consumed.insert(cid);
            entry.net -= amount;
        }
    }
    out
}

/// The V2 events of every operation (mint, merge, split, 1-step transfer with a memo, offer,
/// accept, reject, withdraw, the owner's unlock of an expired lock) explain exactly the
/// holding changes the ledger shows to the sender, and their legs net to her balance change.
#[tokio::test]
async fn v2_events_explain_every_holding_change_of_every_operation() {
    let s = story().await;
    let a = s.client.mint(&s.alice, "50").await;
    let b = s.client.mint(&s.alice, "70").await;
    let merged = s
        .transfer(
            json!({"sender": s.alice, "receiver": s.alice, "amount": "120",
            "inputHoldingCids": [a, b]}),
        )
        .await;
    let whole = merged["receiverHoldingCids"][0].clone();
    s.transfer(
        json!({"sender": s.alice, "receiver": s.alice, "amount": "20",
        "inputHoldingCids": [whole], "memo": "split-1"}),
    )
    .await;
    let direct = s
        .transfer(json!({"sender": s.alice, "receiver": s.validator, "amount": "5", "memo": "m-1"}))
        .await;
    for what in ["accept", "reject", "withdraw"] {
        let offer = s.offer().await;
        s.act(what, &offer).await;
    }
    // An offer left to expire; its sender then spends the LockedAmulet (unlocked on the fly).
    let expiring = s.offer().await;
    let offer_tx = tx_at(&s.client, &s.alice, expiring["offset"].as_i64().unwrap()).await;
    let locked = offer_tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event)
        .find(|v| v["templateId"].as_str().unwrap().ends_with(":LockedAmulet"))
        .map(|v| v["contractId"].clone())
        .unwrap();
    s.client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 2 * 86_400_000_000_i64}),
        )
        .await
        .ok();
    let unlocked = s
        .transfer(
            json!({"sender": s.alice, "receiver": s.alice, "amount": "1000",
            "inputHoldingCids": [locked]}),
        )
        .await;

    let end = s.client.ledger_end().await;
    let updates = s
        .client
        .post(
            "/v2/updates",
            &json!({"beginExclusive": 0, "endInclusive": end,
            "updateFormat": {"includeTransactions": {"eventFormat": v2_filter(&s.alice),
            "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}}}),
        )
        .await
        .ok();
    let mut known = BTreeMap::new();
    let mut checked = 0;
    let mut kinds = BTreeSet::new();
    for u in updates.as_array().unwrap() {
        let tx = &u["update"]["Transaction"]["value"];
        let ledger = on_ledger(tx, &mut known);
        let Some(mine) = ledger.get(&s.alice) else {
            continue;
        };
        let admin = tx["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(event)
            .find_map(|v| v["interfaceViews"][0]["viewValue"]["instrumentId"]["admin"].as_str())
            .or_else(|| known.is_empty().then_some(""))
            .map(str::to_owned);
        let admin = admin.unwrap_or_else(|| {
            tx["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(event)
                .find(|v| v["choice"] == "EventLog_HoldingsChange")
                .map(|v| v["choiceArgument"]["admin"].as_str().unwrap().to_owned())
                .expect("holding changes come with events")
        });
        let events = reported(tx, &admin);
        let theirs = events
            .get(&s.alice)
            .unwrap_or_else(|| panic!("no event for alice in {tx:#}"));
        assert_eq!(theirs.consumed, mine.consumed, "consumed, in {tx:#}");
        assert_eq!(theirs.created, mine.created, "created, in {tx:#}");
        assert_eq!(theirs.net, mine.net, "legs vs balance change, in {tx:#}");
        kinds.extend(
            tx["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(event)
                .filter_map(|v| v["choice"].as_str())
                .map(str::to_owned),
        );
        checked += 1;
    }
    // 2 mints, merge, split, transfer, 4 offers (each after 2 mints), accept, reject,
    // withdraw, the expired lock's unlock and spend.
    assert_eq!(checked, 21);
    for choice in [
        "LockedAmulet_UnlockV2",
        "LockedAmulet_OwnerExpireLockV2",
        "TransferPreapproval_SendV2",
    ] {
        assert!(kinds.contains(choice), "{choice} among {kinds:?}");
    }
    // The memo travels on both sides of the direct transfer's leg (the sender sees both).
    let direct_tx = tx_at(&s.client, &s.alice, direct["offset"].as_i64().unwrap()).await;
    let leg_memos: Vec<&Value> = direct_tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event)
        .filter(|v| v["choice"] == "EventLog_HoldingsChange")
        .flat_map(|v| v["choiceArgument"]["transferLegSides"].as_array().unwrap())
        .map(|l| &l["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"])
        .collect();
    assert_eq!(leg_memos, vec![&json!("m-1"), &json!("m-1")]);
    assert!(unlocked["receiverHoldingCids"][0].is_string());
    let _ = &s.bob;
}

/// The receiver of a 1-step transfer sees its own event (it observes it) with its new holding
/// and the ReceiverSide leg; a holding's V2 view names the owner's basic account.
#[tokio::test]
async fn the_receiver_sees_its_event_and_holdings_carry_both_views() {
    let s = story().await;
    s.client.mint(&s.alice, "10").await;
    let sent = s
        .transfer(json!({"sender": s.alice, "receiver": s.validator, "amount": "4", "memo": "r-1"}))
        .await;
    let tx = tx_at(&s.client, &s.validator, sent["offset"].as_i64().unwrap()).await;
    let events: Vec<&Value> = tx["events"].as_array().unwrap().iter().map(event).collect();
    let mine: Vec<&&Value> = events
        .iter()
        .filter(|v| {
            v["choice"] == "EventLog_HoldingsChange"
                && v["choiceArgument"]["account"]["owner"] == json!(s.validator)
        })
        .collect();
    assert_eq!(mine.len(), 1, "{tx:#}");
    let arg = &mine[0]["choiceArgument"];
    assert_eq!(arg["outputHoldingCids"], sent["receiverHoldingCids"]);
    assert_eq!(arg["transferLegSides"][0]["side"], "ReceiverSide");
    assert_eq!(
        arg["transferLegSides"][0]["otherside"]["owner"],
        json!(s.alice)
    );
    assert_eq!(
        arg["transferLegSides"][0]["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"],
        "r-1"
    );
    let created = events
        .iter()
        .find(|v| {
            v["contractId"] == sent["receiverHoldingCids"][0] && v["createArgument"].is_object()
        })
        .unwrap();
    let views = created["interfaceViews"].as_array().unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0]["viewValue"]["owner"], json!(s.validator));
    assert_eq!(
        views[1]["viewValue"]["account"],
        json!({"owner": s.validator, "provider": null, "id": ""})
    );
    assert_eq!(
        views[0]["viewValue"]["amount"],
        views[1]["viewValue"]["amount"]
    );
}

/// Every SBX holding change of `party` in updates up to the ledger end is explained by the
/// admin's V2 events (on the token's factory); answers the transactions read.
async fn sbx_changes_are_explained(client: &Client, party: &str) -> Vec<Value> {
    let end = client.ledger_end().await;
    let updates = client
        .post(
            "/v2/updates",
            &json!({"beginExclusive": 0, "endInclusive": end,
            "updateFormat": {"includeTransactions": {"eventFormat": v2_filter(party),
            "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}}}),
        )
        .await
        .ok();
    let mut known = BTreeMap::new();
    let mut txs = vec![];
    for u in updates.as_array().unwrap() {
        let tx = &u["update"]["Transaction"]["value"];
        let ledger = on_ledger(tx, &mut known);
        let Some(mine) = ledger.get(party) else {
            continue;
        };
        let admin = tx["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(event)
            .find(|v| v["choice"] == "EventLog_HoldingsChange")
            .map(|v| v["choiceArgument"]["admin"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("holding changes without events: {tx:#}"));
        let events = reported(tx, &admin);
        let theirs = &events[party];
        assert_eq!(
            (&theirs.consumed, &theirs.created, theirs.net),
            (&mine.consumed, &mine.created, mine.net),
            "in {tx:#}"
        );
        txs.push(tx.clone());
    }
    txs
}

/// SBX by default speaks V1 and V2: its mint, offer, accept, reject and withdrawal keep their
/// V1 signals and add V2 events that explain every holding change, for sender and receiver.
#[tokio::test]
async fn sbx_reports_v2_events_beside_its_v1_signals() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    client.sbx_mint(&alice, "100").await;
    for what in ["accept", "reject", "withdraw"] {
        let offer = client
            .post(
                "/sandbox/control/offers",
                &json!({"sender": alice, "receiver": bob,
                "amount": "10", "memo": format!("sbx-{what}")}),
            )
            .await
            .ok();
        client
            .post(
                &format!("/sandbox/control/offers/{what}"),
                &json!({"transferInstructionCid": offer["transferInstructionCid"]}),
            )
            .await
            .ok();
    }
    let alices = sbx_changes_are_explained(&client, &alice).await;
    // mint, then offer + its settlement three times.
    assert_eq!(alices.len(), 7);
    let bobs = sbx_changes_are_explained(&client, &bob).await;
    assert_eq!(bobs.len(), 1, "bob's holdings change once: the accept");
    let accept = &bobs[0];
    let events: Vec<&Value> = accept["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event)
        .collect();
    assert_eq!(
        events[0]["interfaceId"]
            .as_str()
            .map(qualified_name)
            .as_deref(),
        Some("Splice.Api.Token.TransferInstructionV1:TransferInstruction")
    );
    let leg = events
        .iter()
        .find(|v| v["choiceArgument"]["account"]["owner"] == json!(bob))
        .map(|v| &v["choiceArgument"]["transferLegSides"][0])
        .unwrap();
    assert_eq!(leg["side"], "ReceiverSide");
    assert_eq!(
        leg["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"],
        "sbx-accept"
    );
}

/// A V2-only issuer: no V1 interface anywhere in its transactions (no `HoldingV1` view, the
/// factory and the instruction used through their V2 interfaces), V2 events explain every
/// change, and the exchange's parser finds no transfer to credit in them.
#[tokio::test]
async fn a_v2_only_sbx_shows_no_v1_signal_and_its_offers_are_read_from_v2() {
    use exchange_core::{HoldingBook, PartyId, parse_transaction};

    let sandbox = canton_sandbox::Sandbox::start(canton_sandbox::SandboxConfig {
        sbx_v2_only: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    client.sbx_mint(&alice, "100").await;
    let offer = client
        .post(
            "/sandbox/control/offers",
            &json!({"sender": alice, "receiver": bob,
            "amount": "10", "memo": "v2-only"}),
        )
        .await
        .ok();
    client
        .post(
            "/sandbox/control/offers/accept",
            &json!({"transferInstructionCid": offer["transferInstructionCid"]}),
        )
        .await
        .ok();
    let alices = sbx_changes_are_explained(&client, &alice).await;
    let bobs = sbx_changes_are_explained(&client, &bob).await;
    assert_eq!((alices.len(), bobs.len()), (3, 1));
    for tx in alices.iter().chain(&bobs) {
        let text = tx.to_string();
        for v1 in [
            "Splice.Api.Token.HoldingV1",
            "Splice.Api.Token.TransferInstructionV1",
        ] {
            assert!(!text.contains(v1), "{v1} in a V2-only transaction: {tx:#}");
        }
    }
    let root = event(&bobs[0]["events"][0]);
    assert_eq!(root["choice"], "TransferInstruction_Accept");
    assert_eq!(
        root["interfaceId"].as_str().map(qualified_name).as_deref(),
        Some("Splice.Api.Token.TransferInstructionV2:TransferInstruction")
    );
    assert_eq!(root["choiceArgument"]["actors"], json!([bob]));
    let party = PartyId::new(&bob).unwrap();
    let parsed = parse_transaction(
        &serde_json::from_value(bobs[0].clone()).unwrap(),
        &party,
        &HoldingBook::default(),
    )
    .unwrap();
    // The accept is read from the instruction's V2 view alone (no V1 view to read it from):
    // one transfer, marked V2, so ingestion judges it by V2's trust rules (an onboarded
    // issuer) before crediting anything.
    assert_eq!(parsed.transfers.len(), 1, "{:?}", parsed.transfers);
    let accepted = &parsed.transfers[0];
    assert_eq!(accepted.read_from, exchange_core::parser::Standard::V2);
    assert_eq!(accepted.choice, "TransferInstruction_Accept");
    assert_eq!(
        accepted.amount.map(|a| a.to_string()).as_deref(),
        Some("10.0000000000")
    );
    assert_eq!(
        accepted.instrument.as_ref().map(|i| i.id.as_str()),
        Some("SBX")
    );
}
