//! A V2-only SBX's transfer factory (CIP-0112, `TransferInstructionV2.TransferFactory`): the V2
//! registry API names it for V2's argument, and `TransferFactory_Transfer` through V2's interface
//! with `actors = [sender]` commits an offer as Splice 0.6.11 would shape it (V2's argument with
//! accounts and the memo, the admin's `EventLog_HoldingsChange` of the lock, no V1 signal). V1's
//! exercise on it fails as on a node (the factory implements no V1 interface), and actors the
//! transfer may not have are refused.

mod common;

use common::*;
use serde_json::{Value, json};

const FACTORY_V2: &str = "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferFactory";
const MEMO: &str = "withdrawal-v2";

fn transfer(admin: &str, sender: Value, receiver: Value) -> Value {
    json!({
        "sender": sender, "receiver": receiver, "amount": "5",
        "instrumentId": {"admin": admin, "id": "SBX"},
        "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
        "inputHoldingCids": [],
        "meta": {"values": {"splice.lfdecentralizedtrust.org/reason": MEMO}},
    })
}

fn account(party: &str) -> Value {
    json!({"owner": party, "provider": null, "id": ""})
}

fn extra_args() -> Value {
    json!({"context": {"values": {}}, "meta": {"values": {}}})
}

fn command(id: &str, act_as: &[&str], template: &str, factory: &Value, argument: Value) -> Value {
    json!({
        "commands": [{"ExerciseCommand": {
            "templateId": template,
            "contractId": factory["factoryId"],
            "choice": "TransferFactory_Transfer",
            "choiceArgument": argument,
        }}],
        "commandId": id,
        "actAs": act_as,
        "disclosedContracts": factory["choiceContext"]["disclosedContracts"],
    })
}

fn event(e: &Value) -> &Value {
    e.as_object().and_then(|o| o.values().next()).unwrap()
}

#[tokio::test]
async fn v2_s_transfer_commits_an_offer_shaped_as_splice_s_and_other_shapes_are_refused() {
    let sandbox = canton_sandbox::Sandbox::start(canton_sandbox::SandboxConfig {
        sbx_v2_only: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.sbx_mint(&treasury, "50").await;
    let token = advertised(&sandbox, "SBX");
    let v2_argument = |actors: &[&str]| {
        json!({
            "transfer": transfer(&token.admin, account(&treasury), account(&alice)),
            "actors": actors,
            "extraArgs": extra_args(),
        })
    };
    let (status, factory) = post_abs(
        &format!(
            "{}/registry/transfer-instruction/v2/transfer-factory",
            token.registry_url
        ),
        &json!({"choiceArguments": v2_argument(&[&treasury])}),
    )
    .await;
    assert_eq!(status, 200, "{factory}");
    assert_eq!(factory["transferKind"], "offer");

    // V1's exercise on the V2-only factory: it implements no V1 interface.
    let v1_argument = json!({
        "expectedAdmin": token.admin,
        "transfer": transfer(&token.admin, json!(treasury), json!(alice)),
        "extraArgs": extra_args(),
    });
    let answer = client
        .submit_and_wait(&command("v1", &[&treasury], FACTORY, &factory, v1_argument))
        .await;
    assert_eq!(
        answer.json()["code"],
        "DAML_INTERPRETATION_ERROR",
        "{}",
        answer.text
    );
    // Actors the sandbox's SBX transfer may not have: the receiver too (not modelled), or not
    // the sender.
    for (id, act_as, actors) in [
        (
            "both",
            vec![treasury.as_str(), alice.as_str()],
            vec![treasury.as_str(), alice.as_str()],
        ),
        (
            "not-sender",
            vec![treasury.as_str(), alice.as_str()],
            vec![alice.as_str()],
        ),
        (
            "not-submitting",
            vec![treasury.as_str()],
            vec![treasury.as_str(), alice.as_str()],
        ),
    ] {
        let answer = client
            .submit_and_wait(&command(
                id,
                &act_as,
                FACTORY_V2,
                &factory,
                v2_argument(&actors),
            ))
            .await;
        assert_ne!(answer.status, 200, "{id}: {}", answer.text);
    }

    let done = client
        .submit_and_wait(&command(
            "v2",
            &[&treasury],
            FACTORY_V2,
            &factory,
            v2_argument(&[&treasury]),
        ))
        .await
        .ok();
    let tx = client
        .transaction(
            &done["updateId"],
            &treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let tx = &tx["update"]["Transaction"]["value"];
    let events: Vec<&Value> = tx["events"].as_array().unwrap().iter().map(event).collect();
    let root = events[0];
    assert_eq!(root["choice"], "TransferFactory_Transfer");
    assert_eq!(
        root["interfaceId"].as_str().map(qualified_name).as_deref(),
        Some("Splice.Api.Token.TransferInstructionV2:TransferFactory")
    );
    assert_eq!(root["actingParties"], json!([treasury]));
    let argument = &root["choiceArgument"];
    assert_eq!(argument["actors"], json!([treasury]));
    assert_eq!(argument["transfer"]["sender"], account(&treasury));
    assert_eq!(argument["transfer"]["receiver"], account(&alice));
    assert!(argument.get("expectedAdmin").is_none(), "{argument:#}");
    assert_eq!(
        root["exerciseResult"]["output"]["tag"],
        "TransferInstructionResult_Pending"
    );
    assert_eq!(
        argument["transfer"]["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"],
        MEMO
    );
    // The admin's event for the treasury's account: the offer locks the amount, a leg from the
    // treasury's account to itself (as Amulet's offers report it); the memo's leg comes with
    // the accept.
    let treasury_event = events
        .iter()
        .find(|e| {
            e["choice"] == "EventLog_HoldingsChange"
                && e["choiceArgument"]["account"]["owner"] == json!(treasury)
        })
        .unwrap_or_else(|| panic!("no event for the sender: {tx:#}"));
    let leg = &treasury_event["choiceArgument"]["transferLegSides"][0];
    assert_eq!(leg["side"], "SenderSide", "{treasury_event:#}");
    assert_eq!(leg["otherside"], account(&treasury), "{treasury_event:#}");
    assert_eq!(leg["amount"], "5.0000000000");
    let text = tx.to_string();
    for v1 in [
        "Splice.Api.Token.HoldingV1:",
        "Splice.Api.Token.TransferInstructionV1:",
    ] {
        assert!(!text.contains(v1), "{v1} in a V2-only transaction: {tx:#}");
    }
    let pending = client
        .post("/sandbox/control/offers/pending", &json!({"party": alice}))
        .await
        .ok();
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending:#}");
}
