//! The expired-lock path of Canton Coin offers (splice `abortTwoStepTransfer`,
//! `LockedAmulet_OwnerExpireLockV2` since Splice 0.6.11): once `executeBefore` has passed, the sender may spend the
//! offer's LockedAmulet as a transfer input (the factory unlocks it on the fly); the registry
//! then answers reject/withdraw with `expire-lock = false` only, and those choices archive the
//! instruction without unlocking anything. `false` before expiry is refused; `true` with the
//! lock gone finds no contract; a live lock cannot be spent.

mod common;

use common::transfer::Transfer;
use common::*;
use serde_json::{Value, json};

const DAY: i64 = 86_400_000_000;

fn instruction_choice(cid: &str, choice: &str, act_as: &str, id: &str, context: &Value) -> Value {
    json!({
        "commands": [{"ExerciseCommand": {
            "templateId": INSTRUCTION, "contractId": cid, "choice": choice,
            "choiceArgument": {"extraArgs": {
                "context": context["choiceContextData"], "meta": {"values": {}}}},
        }}],
        "commandId": id, "actAs": [act_as], "userId": "exchange",
        "disclosedContracts": context["disclosedContracts"],
    })
}

/// The LockedAmulet behind an instruction, as the sender's ACS shows it.
async fn locked_amulet_of(client: &Client, sender: &str) -> String {
    let end = client.ledger_end().await;
    let acs = client
        .post(
            "/v2/state/active-contracts",
            &json!({"activeAtOffset": end, "eventFormat": {"filtersByParty": {sender: {
                "cumulative": [{"identifierFilter": {"TemplateFilter": {"value": {
                    "templateId": "#splice-amulet:Splice.Amulet:LockedAmulet",
                    "includeCreatedEventBlob": false}}}}]}}, "verbose": false}}),
        )
        .await
        .ok();
    let locked: Vec<&str> = acs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["contractEntry"]["JsActiveContract"]["createdEvent"]["contractId"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(locked.len(), 1, "{acs}");
    locked[0].to_owned()
}

#[tokio::test]
async fn after_expiry_the_sender_spends_the_lock_and_reject_only_archives_the_instruction() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let carol = client.party("carol").await;
    client.mint(&alice, "20").await;
    let token = advertised(&sandbox, "Amulet");
    let (registry, dso) = (token.registry_url, token.admin);

    // Two offers to carol (no preapproval), valid for a day.
    let first = client
        .transfer(json!({"sender": alice, "receiver": carol, "amount": "5"}))
        .await
        .ok();
    let instruction = first["transferInstructionCid"].as_str().unwrap().to_owned();
    let locked = locked_amulet_of(&client, &alice).await;
    let second = client
        .transfer(json!({"sender": alice, "receiver": carol, "amount": "3"}))
        .await
        .ok();
    let second_instruction = second["transferInstructionCid"]
        .as_str()
        .unwrap()
        .to_owned();

    let context_url = |cid: &str, choice: &str| {
        format!("{registry}/registry/transfer-instruction/v1/{cid}/choice-contexts/{choice}")
    };
    let self_transfer = |inputs: Vec<String>, amount: &str, id: &str| {
        let dso = dso.clone();
        let alice = alice.clone();
        let registry = registry.clone();
        let id = id.to_owned();
        let amount = amount.to_owned();
        async move {
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            let transfer = Transfer {
                inputs: &inputs,
                ..Transfer::new(&dso, "Amulet", &alice, &alice, &amount)
            };
            let factory = transfer_factory(&registry, &transfer.choice_argument()).await;
            transfer.registry_submission(&factory, &id, &alice)
        }
    };

    // Before expiry the lock is live: it cannot be spent, and the registry says unlock it.
    let refused = client
        .submit_and_wait(&self_transfer(vec![locked.clone()], "5", "spend-early").await)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json()["code"], "DAML_INTERPRETATION_ERROR");
    let (_, live) = post_abs(&context_url(&instruction, "reject"), &json!({})).await;
    // The LockedAmulet is disclosed with the rules, the round and (0.6.11) the config state.
    let disclosed: Vec<&str> = live["disclosedContracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["contractId"].as_str().unwrap())
        .collect();
    assert_eq!(disclosed.len(), 4);
    assert!(disclosed.contains(&locked.as_str()));
    assert_eq!(
        live["choiceContextData"]["values"]["expire-lock"],
        json!({"tag": "AV_Bool", "value": true})
    );
    // Rejecting with `expire-lock = false` before expiry is refused.
    let early_false = json!({"choiceContextData": {"values": {
        "expire-lock": {"tag": "AV_Bool", "value": false}}}, "disclosedContracts": []});
    let refused = client
        .submit_and_wait(&instruction_choice(
            &second_instruction,
            "TransferInstruction_Reject",
            &carol,
            "early-false",
            &early_false,
        ))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused.text.contains("only allowed after transferBefore"),
        "{}",
        refused.text
    );

    // A day later the lock has expired: alice spends it (and merges it with her change).
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": DAY + 1_000_000}),
        )
        .await
        .ok();
    let second_change: Vec<String> = second["senderChangeCids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let mut inputs = vec![locked.clone()];
    inputs.extend(second_change);
    let done = client
        .submit_and_wait(&self_transfer(inputs.clone(), "17", "spend-expired").await)
        .await
        .ok();
    let tx = client
        .transaction(
            &done["updateId"],
            &alice,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let events = tx["update"]["Transaction"]["value"]["events"]
        .as_array()
        .unwrap();
    let unlock = events
        .iter()
        .filter_map(|e| e.get("ExercisedEvent"))
        .find(|e| e["choice"] == "LockedAmulet_OwnerExpireLockV2")
        .expect("the factory unlocks the expired lock");
    assert_eq!(unlock["contractId"], locked);
    assert_eq!(unlock["actingParties"], json!([alice]));
    assert_eq!(
        unlock["exerciseResult"]["meta"],
        json!({"values": {
            "splice.lfdecentralizedtrust.org/reason": "lock expired",
            "splice.lfdecentralizedtrust.org/tx-kind": "unlock"}})
    );
    let root = &events[0]["ExercisedEvent"];
    assert_eq!(
        root["choiceArgument"]["transfer"]["inputHoldingCids"],
        json!(inputs),
        "the factory's argument names the inputs as submitted"
    );
    let holdings = client
        .post("/sandbox/control/holdings", &json!({"owner": alice}))
        .await
        .ok();
    let amounts: Vec<&str> = holdings
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["amount"].as_str().unwrap())
        .collect();
    // Of the 20 minted: the expired 5 and the second offer's change of 12 merged into 17; 3
    // stay locked by the second offer.
    assert_eq!(amounts, vec!["17.0000000000"]);

    // Now the registry tells reject and withdraw not to unlock, and discloses nothing …
    let (status, gone) = post_abs(&context_url(&instruction, "reject"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        gone,
        json!({"choiceContextData": {"values": {
            "expire-lock": {"tag": "AV_Bool", "value": false}}}, "disclosedContracts": []})
    );
    // An accept context cannot be had any more (Scan: the LockedAmulet is not found).
    let (status, missing) = post_abs(&context_url(&instruction, "accept"), &json!({})).await;
    assert_eq!(status, 404);
    assert!(
        missing["error"].as_str().unwrap().starts_with(&format!(
            "LockedAmulet '{locked}' not found for AmuletTransferInstruction"
        )),
        "{missing}"
    );
    // … the old context no longer works (its lock is gone) …
    let refused = client
        .submit_and_wait(&instruction_choice(
            &instruction,
            "TransferInstruction_Reject",
            &carol,
            "reject-true",
            &live,
        ))
        .await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    assert_eq!(refused.json()["code"], "CONTRACT_NOT_FOUND");
    // … and rejecting with the new one archives the instruction: Failed, nothing returned.
    let done = client
        .submit_and_wait(&instruction_choice(
            &instruction,
            "TransferInstruction_Reject",
            &carol,
            "reject-false",
            &gone,
        ))
        .await
        .ok();
    let tx = client
        .transaction(
            &done["updateId"],
            &carol,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let events = tx["update"]["Transaction"]["value"]["events"]
        .as_array()
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let reject = &events[0]["ExercisedEvent"];
    assert_eq!(reject["choice"], "TransferInstruction_Reject");
    assert_eq!(reject["consuming"], true);
    assert_eq!(
        reject["exerciseResult"],
        json!({"output": {"tag": "TransferInstructionResult_Failed", "value": {}},
               "senderChangeCids": [], "meta": {"values": {}}})
    );
    let pending = client
        .post("/sandbox/control/offers/pending", &json!({"party": carol}))
        .await
        .ok();
    assert_eq!(
        pending.as_array().unwrap().len(),
        1,
        "only the second offer is left"
    );

    // The second offer's lock is still there (expired, unspent): withdrawing unlocks it.
    let (_, context) = post_abs(&context_url(&second_instruction, "withdraw"), &json!({})).await;
    assert_eq!(
        context["choiceContextData"]["values"]["expire-lock"]["value"],
        true
    );
    client
        .submit_and_wait(&instruction_choice(
            &second_instruction,
            "TransferInstruction_Withdraw",
            &alice,
            "withdraw",
            &context,
        ))
        .await
        .ok();
    let holdings = client
        .post("/sandbox/control/holdings", &json!({"owner": alice}))
        .await
        .ok();
    assert_eq!(holdings.as_array().unwrap().len(), 2, "{holdings}");
}
