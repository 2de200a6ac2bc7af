//! Canton Coin offers (`token-standard.md` §6.3 item 3): a transfer to a receiver without a
//! preapproval locks the amount in a `LockedAmulet` and leaves an `AmuletTransferInstruction`
//! that the receiver accepts or rejects and the sender withdraws. The treasury's view of each
//! tree has the structure of the LocalNet recording (`splice-test-cases.json`: offer at offset
//! 9, accept 13, reject 14, withdraw 15), less what only non-zero fees create. That recording
//! predates Splice 0.5.16, so that comparison runs on [`SpliceRelease::Legacy`]; the other tests
//! run on the default (0.6.11) trees, which `v2_events.rs` holds to their recording.

mod common;

use std::collections::BTreeSet;

use canton_sandbox::token::SpliceRelease;
use common::transfer::Transfer;
use common::*;
use serde_json::{Value, json};

/// The transaction at `offset` as `party` reads it with the guide's filter.
async fn tx_at(client: &Client, party: &str, offset: i64) -> Value {
    tx_at_with(client, guide_filter(party), offset).await
}

fn event(e: &Value) -> &Value {
    e.as_object().unwrap().values().next().unwrap()
}

fn entity(e: &Value) -> String {
    qualified_name(event(e)["templateId"].as_str().unwrap())
}

/// The recorded events without the nodes in `dropped`, renumbered as if they had never been
/// there (node ids are pre-order positions).
fn without(events: &[Value], dropped: &BTreeSet<i64>) -> Vec<Value> {
    let before = |n: i64| dropped.iter().filter(|d| **d <= n).count() as i64;
    events
        .iter()
        .filter(|e| !dropped.contains(&event(e)["nodeId"].as_i64().unwrap()))
        .map(|e| {
            let mut e = e.clone();
            let v = e.as_object_mut().unwrap().values_mut().next().unwrap();
            let node = v["nodeId"].as_i64().unwrap();
            v["nodeId"] = json!(node - before(node));
            if let Some(last) = v["lastDescendantNodeId"].as_i64() {
                v["lastDescendantNodeId"] = json!(last - before(last));
            }
            e
        })
        .collect()
}

/// (kind, node, last, choice, consuming, template, interface) of each event.
fn layout(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let (k, v) = e.as_object().unwrap().iter().next().unwrap();
            format!(
                "{k} node={} last={} choice={} consuming={} template={} interface={}",
                v["nodeId"],
                v["lastDescendantNodeId"],
                v["choice"].as_str().unwrap_or("-"),
                v["consuming"],
                entity(e),
                v["interfaceId"]
                    .as_str()
                    .map(qualified_name)
                    .unwrap_or("-".into()),
            )
        })
        .collect()
}

/// Compares our tree with the recorded one: the recording's reward coupons (and, with
/// `drop_change`, the sender's change, which only the fee surplus of the lock leaves on accept)
/// are taken out; then the node layout must be equal and each event alike in shape, except
/// for what fees write (`burned` meta, the change of an accept).
fn compare(name: &str, recorded: &Value, ours: &Value, drop_change: bool) {
    let events = recorded["events"].as_array().unwrap();
    let change: Vec<&Value> = if drop_change {
        event(&events[0])["exerciseResult"]["senderChangeCids"]
            .as_array()
            .unwrap()
            .iter()
            .collect()
    } else {
        vec![]
    };
    let dropped: BTreeSet<i64> = events
        .iter()
        .filter(|e| {
            let n = entity(e);
            n.ends_with(":ValidatorRewardCoupon")
                || n.ends_with(":AppRewardCoupon")
                || change.contains(&&event(e)["contractId"])
        })
        .map(|e| event(e)["nodeId"].as_i64().unwrap())
        .collect();
    let recorded = without(events, &dropped);
    let ours = ours["events"].as_array().unwrap();
    assert_eq!(layout(&recorded), layout(ours), "{name}: node layout");
    for (r, o) in recorded.iter().zip(ours) {
        let diffs: Vec<String> = shape_differences(r, o)
            .into_iter()
            .filter(|d| !d.contains("burned"))
            .filter(|d| {
                !(drop_change
                    && (d.contains("senderChangeCids") || d.contains("senderChangeAmulet")))
            })
            .collect();
        assert!(
            diffs.is_empty(),
            "{name}: {} differs:\n{}",
            entity(r),
            diffs.join("\n")
        );
    }
}

struct Story {
    _sandbox: canton_sandbox::Sandbox,
    client: Client,
    treasury: String,
    bob: String,
}

async fn story() -> Story {
    story_of(SpliceRelease::default()).await
}

async fn story_of(release: SpliceRelease) -> Story {
    let sandbox = start_release(release).await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let bob = client.party("bob").await;
    client.mint(&treasury, "5000").await;
    Story {
        _sandbox: sandbox,
        client,
        treasury,
        bob,
    }
}

impl Story {
    /// An offer of `amount` from the treasury to bob (who has no preapproval).
    async fn offer(&self, amount: &str) -> Value {
        let out = self
            .client
            .transfer(json!({"sender": self.treasury, "receiver": self.bob, "amount": amount}))
            .await
            .ok();
        assert_eq!(out["receiverHoldingCids"], json!([]));
        assert!(out["transferInstructionCid"].is_string(), "{out}");
        out
    }

    async fn act(&self, what: &str, offer: &Value) -> Value {
        self.client
            .post(
                &format!("/sandbox/control/offers/{what}"),
                &json!({"transferInstructionCid": offer["transferInstructionCid"]}),
            )
            .await
            .ok()
    }

    async fn holdings(&self, owner: &str) -> Vec<String> {
        let h = self
            .client
            .post("/sandbox/control/holdings", &json!({"owner": owner}))
            .await
            .ok();
        h.as_array()
            .unwrap()
            .iter()
            .map(|h| h["amount"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn offer_accept_reject_and_withdraw_match_the_localnet_recording() {
    let Some(recording) = read_shared_json("fixtures/localnet-treasury/splice-test-cases.json")
    else {
        return;
    };
    let recorded = |offset: i64| {
        recording
            .as_array()
            .unwrap()
            .iter()
            .map(|u| &u["update"]["Transaction"]["value"])
            .find(|tx| tx["offset"] == offset)
            .cloned()
            .expect("recorded")
    };
    let s = story_of(SpliceRelease::Legacy).await;
    let offer = s.offer("1000").await;
    let ours = tx_at(&s.client, &s.treasury, offer["offset"].as_i64().unwrap()).await;
    compare("offer", &recorded(9), &ours, false);

    let o = s.offer("100").await;
    let accepted = s.act("accept", &o).await;
    let ours = tx_at(&s.client, &s.treasury, accepted["offset"].as_i64().unwrap()).await;
    compare("accept", &recorded(13), &ours, true);

    let o = s.offer("100").await;
    let rejected = s.act("reject", &o).await;
    let ours = tx_at(&s.client, &s.treasury, rejected["offset"].as_i64().unwrap()).await;
    compare("reject", &recorded(14), &ours, false);

    let o = s.offer("100").await;
    let withdrawn = s.act("withdraw", &o).await;
    let ours = tx_at(
        &s.client,
        &s.treasury,
        withdrawn["offset"].as_i64().unwrap(),
    )
    .await;
    compare("withdraw", &recorded(15), &ours, false);
}

#[tokio::test]
async fn the_offer_tree_locks_for_the_receiver_who_sees_only_the_instruction() {
    let s = story().await;
    let offer = s.offer("1000").await;
    let offset = offer["offset"].as_i64().unwrap();
    let ours = tx_at(&s.client, &s.treasury, offset).await;
    let events = ours["events"].as_array().unwrap();
    let root = event(&events[0]);
    assert_eq!(root["choice"], "TransferFactory_Transfer");
    assert_eq!(
        root["exerciseResult"]["output"]["tag"],
        "TransferInstructionResult_Pending"
    );
    assert_eq!(
        root["exerciseResult"]["output"]["value"]["transferInstructionCid"],
        offer["transferInstructionCid"]
    );
    let locked = events
        .iter()
        .map(event)
        .find(|e| e["templateId"].as_str().unwrap().ends_with(":LockedAmulet"))
        .expect("a LockedAmulet");
    let lock = &locked["createArgument"]["lock"];
    assert_eq!(
        lock["holders"],
        json!([root["choiceArgument"]["expectedAdmin"]])
    );
    assert_eq!(
        lock["expiresAt"],
        root["choiceArgument"]["transfer"]["executeBefore"]
    );
    assert_eq!(
        lock["optContext"],
        json!(format!("transfer to '{}'", s.bob))
    );
    assert_eq!(
        locked["createArgument"]["amulet"]["amount"]["initialAmount"],
        "1000.0000000000"
    );
    let instruction = event(events.last().unwrap());
    let view = &instruction["interfaceViews"][0]["viewValue"];
    assert_eq!(view["status"]["tag"], "TransferPendingReceiverAcceptance");
    assert_eq!(
        view["transfer"]["inputHoldingCids"],
        json!([locked["contractId"]])
    );
    assert_eq!(view["originalInstructionCid"], Value::Null);

    // The receiver's view: the instruction's create alone.
    let bob_view = tx_at(&s.client, &s.bob, offset).await;
    let bob_events = bob_view["events"].as_array().unwrap();
    assert_eq!(bob_events.len(), 1, "{bob_view:#}");
    assert!(entity(&bob_events[0]).ends_with(":AmuletTransferInstruction"));
    // Pending for both; the sender holds only the change meanwhile.
    for party in [&s.treasury, &s.bob] {
        let pending = s
            .client
            .post("/sandbox/control/offers/pending", &json!({"party": party}))
            .await
            .ok();
        assert_eq!(
            pending[0]["transferInstructionCid"],
            offer["transferInstructionCid"]
        );
    }
    assert_eq!(s.holdings(&s.treasury).await, vec!["4000.0000000000"]);
}

#[tokio::test]
async fn accept_pays_the_receiver_reject_and_withdraw_return_the_funds_and_expiry_blocks_accept() {
    let s = story().await;
    let o = s.offer("1000").await;
    let accepted = s.act("accept", &o).await;
    assert_eq!(s.holdings(&s.bob).await, vec!["1000.0000000000"]);
    assert_eq!(
        s.holdings(&s.bob).await.len(),
        1,
        "the receiver got {}",
        accepted["holdingCid"]
    );
    // Gone once accepted.
    let again = s
        .client
        .post(
            "/sandbox/control/offers/reject",
            &json!({"transferInstructionCid": o["transferInstructionCid"]}),
        )
        .await;
    assert_eq!(again.json()["code"], "CONTRACT_NOT_FOUND");

    let o = s.offer("100").await;
    s.act("reject", &o).await;
    let o = s.offer("200").await;
    s.act("withdraw", &o).await;
    let mut treasury = s.holdings(&s.treasury).await;
    treasury.sort();
    // 4000 change → 3900 + 100 back → 3700 + 200 back.
    assert_eq!(
        treasury,
        vec!["100.0000000000", "200.0000000000", "3700.0000000000"]
    );

    let o = s.offer("300").await;
    s.client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 2 * 86_400_000_000i64}),
        )
        .await
        .ok();
    let late = s
        .client
        .post(
            "/sandbox/control/offers/accept",
            &json!({"transferInstructionCid": o["transferInstructionCid"]}),
        )
        .await;
    assert_eq!(
        late.json()["code"],
        "DAML_INTERPRETATION_ERROR",
        "{}",
        late.text
    );
    // Still refundable after expiry.
    s.act("withdraw", &o).await;
}

#[tokio::test]
async fn an_offer_and_its_accept_through_the_registry_and_the_ledger_api() {
    let s = story().await;
    let amulet = advertised(&s._sandbox, "Amulet");
    let (registry, dso) = (amulet.registry_url, amulet.admin);
    let transfer = Transfer {
        reason: Some("w-7"),
        ..Transfer::new(&dso, "Amulet", &s.treasury, &s.bob, "5")
    };
    let http = reqwest::Client::new();
    let post = |url: String, body: Value| {
        let http = http.clone();
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, factory) = post(
        format!("{registry}/registry/transfer-instruction/v1/transfer-factory"),
        json!({"choiceArguments": transfer.choice_argument()}),
    )
    .await;
    assert_eq!(status, 200, "{factory}");
    assert_eq!(factory["transferKind"], "offer");
    s.client
        .submit_and_wait(&transfer.registry_submission(&factory, "offer-1", &s.treasury))
        .await
        .ok();
    let pending = s
        .client
        .post("/sandbox/control/offers/pending", &json!({"party": s.bob}))
        .await
        .ok();
    assert_eq!(pending[0]["memo"], "w-7");
    let cid = pending[0]["transferInstructionCid"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, context) = post(
        format!("{registry}/registry/transfer-instruction/v1/{cid}/choice-contexts/accept"),
        json!({"excludeDebugFields": true}),
    )
    .await;
    assert_eq!(status, 200, "{context}");
    let values = &context["choiceContextData"]["values"];
    assert_eq!(
        values["expire-lock"],
        json!({"tag": "AV_Bool", "value": true})
    );
    assert_eq!(values["amulet-rules"]["tag"], "AV_ContractId");
    assert_eq!(values["open-round"]["tag"], "AV_ContractId");
    // Only the receiver may accept.
    let accept = |act_as: &str, id: &str| {
        json!({
            "commands": [{"ExerciseCommand": {
                "templateId": INSTRUCTION, "contractId": cid,
                "choice": "TransferInstruction_Accept",
                "choiceArgument": {"extraArgs": {
                    "context": context["choiceContextData"], "meta": {"values": {}}}},
            }}],
            "commandId": id, "actAs": [act_as],
            "disclosedContracts": context["disclosedContracts"],
        })
    };
    let refused = s.client.submit_and_wait(&accept(&s.treasury, "a-0")).await;
    assert_eq!(refused.json()["code"], "DAML_INTERPRETATION_ERROR");
    s.client.submit_and_wait(&accept(&s.bob, "a-1")).await.ok();
    assert_eq!(s.holdings(&s.bob).await, vec!["5.0000000000"]);
    let (status, _) = post(
        format!("{registry}/registry/transfer-instruction/v1/{cid}/choice-contexts/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
}
