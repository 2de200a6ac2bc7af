//! `POST /v2/commands/submit-and-wait` by local parties: the token-standard
//! `TransferFactory_Transfer` (Canton Coin 1-step, SBX offer) and `TransferInstruction_*`
//! choices, and the errors a node answers with.

mod common;

use common::transfer::Transfer;
use common::*;
use serde_json::json;

#[tokio::test]
async fn canton_coin_transfer_commits_the_real_tree_and_a_second_spend_is_refused() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    let holding = client.mint(&treasury, "100").await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &treasury).await;
    let transfer = Transfer {
        inputs: &[&holding],
        reason: Some("withdrawal-42"),
        ..Transfer::new(&dso, "Amulet", &treasury, &alice, "20")
    };
    let command = |id: &str| {
        with_registry_disclosures(&sandbox, transfer.submission(&factory, id, &treasury))
    };

    let done = client.submit_and_wait(&command("w-1").await).await.ok();
    assert_eq!(done["completionOffset"], client.ledger_end().await);
    let tx = client
        .transaction(
            &done["updateId"],
            &treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let tx = &tx["update"]["Transaction"]["value"];
    assert_eq!(tx["commandId"], "w-1");
    let root = &tx["events"][0]["ExercisedEvent"];
    assert_eq!(root["choice"], "TransferFactory_Transfer");
    let transfer = &root["choiceArgument"]["transfer"];
    // The submitter's times and memo, not the sandbox's.
    assert_eq!(transfer["requestedAt"], "2025-09-26T09:00:00Z");
    assert_eq!(transfer["executeBefore"], "2099-01-01T00:00:00Z");
    assert_eq!(
        transfer["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"],
        "withdrawal-42"
    );

    // The input is consumed: a retry (or a competing withdrawal) cannot spend it again.
    let again = client.submit_and_wait(&command("w-2").await).await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.json()["code"], "CONTRACT_NOT_FOUND");
}

#[tokio::test]
async fn expired_unknown_party_and_unauthorized_submissions_get_the_node_errors() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    let holding = client.mint(&treasury, "100").await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &treasury).await;
    let transfer = Transfer {
        inputs: &[&holding],
        reason: Some("withdrawal-42"),
        ..Transfer::new(&dso, "Amulet", &treasury, &alice, "1")
    };

    let expired = Transfer {
        execute_before: "2020-01-01T00:00:00Z",
        ..transfer
    };
    let expired =
        with_registry_disclosures(&sandbox, expired.submission(&factory, "e", &treasury)).await;
    let answer = client.submit_and_wait(&expired).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json()["code"], "DAML_INTERPRETATION_ERROR");

    let mut unknown = expired.clone();
    unknown["actAs"] = json!(["nobody::1220abcd"]);
    let answer = client.submit_and_wait(&unknown).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert_eq!(answer.json()["code"], "PARTY_NOT_KNOWN_ON_LEDGER");

    // Alice cannot move the treasury's holding.
    let theft =
        with_registry_disclosures(&sandbox, transfer.submission(&factory, "t", &alice)).await;
    let answer = client.submit_and_wait(&theft).await;
    assert_eq!(answer.json()["code"], "DAML_INTERPRETATION_ERROR");

    let missing = transfer.submission("00deadbeef", "m", &treasury);
    let missing = with_registry_disclosures(&sandbox, missing).await;
    let answer = client.submit_and_wait(&missing).await;
    assert_eq!(answer.json()["code"], "CONTRACT_NOT_FOUND");
}

#[tokio::test]
async fn sbx_offer_then_accept_by_the_receiver() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client
        .post(
            "/sandbox/control/token/mint",
            &json!({"owner": treasury, "amount": "50"}),
        )
        .await
        .ok();
    let (factory, admin) = registry_factory(&sandbox, "SBX", &treasury).await;
    let offer = Transfer {
        reason: Some("withdrawal-42"),
        ..Transfer::new(&admin, "SBX", &treasury, &alice, "5")
    };
    let offer =
        with_registry_disclosures(&sandbox, offer.submission(&factory, "o-1", &treasury)).await;
    client.submit_and_wait(&offer).await.ok();
    let pending = client
        .post("/sandbox/control/offers/pending", &json!({"party": alice}))
        .await
        .ok();
    let cid = pending[0]["transferInstructionCid"]
        .as_str()
        .unwrap()
        .to_owned();
    let accept = |act_as: &str, id: &str| {
        json!({
            "commands": [{"ExerciseCommand": {
                "templateId": INSTRUCTION, "contractId": cid,
                "choice": "TransferInstruction_Accept",
                "choiceArgument": {"extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}},
            }}],
            "commandId": id, "actAs": [act_as],
        })
    };
    // Only the receiver may accept.
    let answer = client
        .submit_and_wait(&with_registry_disclosures(&sandbox, accept(&treasury, "a-0")).await)
        .await;
    assert_eq!(answer.json()["code"], "DAML_INTERPRETATION_ERROR");
    client
        .submit_and_wait(&with_registry_disclosures(&sandbox, accept(&alice, "a-1")).await)
        .await
        .ok();
    let answer = client
        .submit_and_wait(&with_registry_disclosures(&sandbox, accept(&alice, "a-2")).await)
        .await;
    assert_eq!(answer.json()["code"], "CONTRACT_NOT_FOUND");
}
