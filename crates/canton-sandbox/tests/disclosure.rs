//! Submissions use only contracts a submitter (`actAs` or `readAs`) is a stakeholder of, or
//! that are passed in `disclosedContracts`, as on Canton: the registry's factory, rules, round,
//! a receiver's preapproval and an offer's lock are not the wallet's, so without the registry's
//! disclosures the command finds no contract. A disclosed contract must carry its blob.

mod common;

use common::transfer::Transfer;
use common::*;
use serde_json::{Value, json};

fn transfer(factory: &str, admin: &str, instrument: &str, sender: &str, receiver: &str) -> Value {
    Transfer::new(admin, instrument, sender, receiver, "2").submission(factory, "d-1", sender)
}

fn disclosed_ids(command: &Value) -> Vec<String> {
    command["disclosedContracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["contractId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn canton_coin_transfers_need_the_registrys_disclosures() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    let preapproval = client.preapproval(&alice).await;
    client.mint(&treasury, "10").await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &treasury).await;
    let bare = transfer(&factory, &dso, "Amulet", &treasury, &alice);

    // Nothing disclosed: the factory (the DSO's) is unknown to the treasury.
    let refused = client.submit_and_wait(&bare).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    let refused = refused.json();
    assert_eq!(refused["code"], "CONTRACT_NOT_FOUND");
    assert_eq!(refused["resources"], json!([["CONTRACT_ID", factory]]));
    // Preparing is interpretation too.
    let mut prepare = bare.clone();
    prepare["commandId"] = json!("d-p");
    let refused = client
        .post("/v2/interactive-submission/prepare", &prepare)
        .await;
    assert_eq!(refused.status, 404, "{}", refused.text);

    // Everything but the receiver's preapproval: that one is missing now.
    let full = with_registry_disclosures(&sandbox, bare.clone()).await;
    let preapproval_cid = preapproval["contractId"].as_str().unwrap().to_owned();
    assert!(disclosed_ids(&full).contains(&preapproval_cid), "{full}");
    let mut partial = full.clone();
    partial["disclosedContracts"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["contractId"] != preapproval_cid);
    let refused = client.submit_and_wait(&partial).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    assert_eq!(
        refused.json()["resources"],
        json!([["CONTRACT_ID", preapproval_cid]])
    );

    // A blob that is not the contract's is refused.
    let mut forged = full.clone();
    forged["disclosedContracts"][0]["createdEventBlob"] = json!("Zm9yZ2Vk");
    let refused = client.submit_and_wait(&forged).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json()["code"], "INVALID_ARGUMENT");

    // With the registry's disclosures it goes through.
    client.submit_and_wait(&full).await.ok();

    // Reading as the DSO (a stakeholder of all of them) needs no disclosure.
    let info = sandbox.info();
    let mut as_dso = bare.clone();
    as_dso["commandId"] = json!("d-2");
    as_dso["readAs"] = json!([info.parties.dso]);
    client.submit_and_wait(&as_dso).await.ok();
}

#[tokio::test]
async fn an_sbx_receiver_needs_the_lock_disclosed_to_accept() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    client.sbx_mint(&alice, "9").await;
    let offer = client
        .post(
            "/sandbox/control/offers",
            &json!({"sender": alice, "receiver": bob, "amount": "4"}),
        )
        .await
        .ok();
    let cid = offer["transferInstructionCid"].as_str().unwrap();
    let accept = json!({
        "commands": [{"ExerciseCommand": {
            "templateId": INSTRUCTION,
            "contractId": cid, "choice": "TransferInstruction_Accept",
            "choiceArgument": {"extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}},
        }}],
        "commandId": "acc", "actAs": [bob], "userId": "exchange",
    });
    // Bob observes the instruction but is no stakeholder of the locked holding it consumes.
    let refused = client.submit_and_wait(&accept).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    let refused = refused.json();
    assert_eq!(refused["code"], "CONTRACT_NOT_FOUND");
    assert_ne!(refused["resources"], json!([["CONTRACT_ID", cid]]));
    let accept = with_registry_disclosures(&sandbox, accept).await;
    assert_eq!(disclosed_ids(&accept).len(), 2, "{accept}");
    client.submit_and_wait(&accept).await.ok();
}
