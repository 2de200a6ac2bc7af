//! The Registry API at the `registryUrl`s of the info file: metadata, the transfer factory with
//! its kind, choice context and disclosed contracts, and choice contexts of pending
//! instructions; submissions that use what it hands out.

mod common;

use common::transfer::Transfer;
use common::*;
use serde_json::{Value, json};

/// The registry base URL and admin of `instrument`, from the info file.
fn registry_of(sandbox: &canton_sandbox::Sandbox, instrument: &str) -> (String, String) {
    let token = advertised(sandbox, instrument);
    (token.registry_url, token.admin)
}

/// A transfer of 5, as the tests ask the registry about it.
fn transfer<'a>(
    admin: &'a str,
    instrument: &'a str,
    sender: &'a str,
    receiver: &'a str,
) -> Transfer<'a> {
    Transfer::new(admin, instrument, sender, receiver, "5")
}

async fn get_abs(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn metadata_of_both_registries() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    client.mint(&treasury, "12.5").await;
    let (amulet, dso) = registry_of(&sandbox, "Amulet");
    let (info_status, info) = get_abs(&format!("{amulet}/registry/metadata/v1/info")).await;
    assert_eq!(info_status, 200);
    assert_eq!(info["adminId"], dso);
    assert_eq!(info["supportedApis"]["splice-api-token-metadata-v1"], 1);
    let (_, list) = get_abs(&format!("{amulet}/registry/metadata/v1/instruments")).await;
    let cc = &list["instruments"][0];
    assert_eq!(cc["id"], "Amulet");
    assert_eq!(cc["symbol"], "CC");
    assert_eq!(cc["decimals"], 10);
    assert_eq!(cc["totalSupply"], "12.5");
    assert_eq!(
        cc["supportedApis"]["splice-api-token-transfer-instruction-v1"],
        1
    );
    let (status, one) = get_abs(&format!("{amulet}/registry/metadata/v1/instruments/Amulet")).await;
    assert_eq!((status, &one["name"]), (200, &json!("Canton Coin")));
    let (status, missing) =
        get_abs(&format!("{amulet}/registry/metadata/v1/instruments/Nope")).await;
    assert_eq!(status, 404);
    assert!(missing["error"].as_str().unwrap().contains("Nope"));

    let (token, admin) = registry_of(&sandbox, "SBX");
    let (_, info) = get_abs(&format!("{token}/registry/metadata/v1/info")).await;
    assert_eq!(info["adminId"], admin);
    let (status, sbx) = get_abs(&format!("{token}/registry/metadata/v1/instruments/SBX")).await;
    assert_eq!((status, &sbx["symbol"]), (200, &json!("SBX")));
}

#[tokio::test]
async fn canton_coin_factory_kinds_and_a_direct_transfer_with_its_context() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    client.preapproval(&alice).await;
    client.mint(&treasury, "100").await;
    let (amulet, dso) = registry_of(&sandbox, "Amulet");
    let url = format!("{amulet}/registry/transfer-instruction/v1/transfer-factory");

    let arguments = transfer(&dso, "Amulet", &treasury, &alice);
    let (status, direct) = post_abs(
        &url,
        &json!({"choiceArguments": arguments.choice_argument(), "excludeDebugFields": false}),
    )
    .await;
    assert_eq!(status, 200, "{direct}");
    assert_eq!(direct["transferKind"], "direct");
    let values = &direct["choiceContext"]["choiceContextData"]["values"];
    assert_eq!(values["amulet-rules"]["tag"], "AV_ContractId");
    assert_eq!(values["open-round"]["tag"], "AV_ContractId");
    assert_eq!(values["transfer-preapproval"]["tag"], "AV_ContractId");
    // Splice 0.6.11: the config state transfers read and report their V2 events on.
    let config_state = &values["external-party-config-state"];
    assert_eq!(config_state["tag"], "AV_ContractId");
    let disclosed = direct["choiceContext"]["disclosedContracts"]
        .as_array()
        .unwrap();
    assert_eq!(disclosed.len(), 5);
    assert!(
        disclosed
            .iter()
            .any(|d| d["contractId"] == config_state["value"])
    );
    for d in disclosed {
        for field in [
            "templateId",
            "contractId",
            "createdEventBlob",
            "synchronizerId",
        ] {
            assert!(d[field].as_str().is_some_and(|s| !s.is_empty()), "{d}");
        }
        assert!(d["debugPayload"].is_object(), "{d}");
    }
    assert!(
        disclosed
            .iter()
            .any(|d| d["contractId"] == direct["factoryId"])
    );

    let done = client
        .submit_and_wait(&arguments.registry_submission(&direct, "r-1", &treasury))
        .await
        .ok();
    assert!(done["updateId"].is_string());

    let (_, offer) = post_abs(
        &url,
        &json!({"choiceArguments": transfer(&dso, "Amulet", &treasury, &bob).choice_argument(), "excludeDebugFields": true}),
    )
    .await;
    assert_eq!(offer["transferKind"], "offer");
    assert!(
        offer["choiceContext"]["choiceContextData"]["values"]["transfer-preapproval"].is_null()
    );
    assert!(offer["choiceContext"]["disclosedContracts"][0]["debugPayload"].is_null());
    let (_, own) = post_abs(
        &url,
        &json!({"choiceArguments": transfer(&dso, "Amulet", &treasury, &treasury).choice_argument()}),
    )
    .await;
    assert_eq!(own["transferKind"], "self");

    let (status, bad) = post_abs(&url, &json!({"choiceArguments": {"transfer": {}}})).await;
    assert_eq!(status, 400);
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .starts_with("Field choiceArguments does not contain a valid TransferFactory_Transfer")
    );
    let (status, _) = post_abs(
        &url,
        &json!({"choiceArguments": transfer(&dso, "SBX", &treasury, &bob).choice_argument()}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn sbx_offer_through_the_registry_and_its_accept_context() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.sbx_mint(&treasury, "50").await;
    let (token, admin) = registry_of(&sandbox, "SBX");
    let arguments = transfer(&admin, "SBX", &treasury, &alice);
    let (status, factory) = post_abs(
        &format!("{token}/registry/transfer-instruction/v1/transfer-factory"),
        &json!({"choiceArguments": arguments.choice_argument()}),
    )
    .await;
    assert_eq!(status, 200, "{factory}");
    assert_eq!(factory["transferKind"], "offer");
    client
        .submit_and_wait(&arguments.registry_submission(&factory, "o-1", &treasury))
        .await
        .ok();
    let pending = client
        .post("/sandbox/control/offers/pending", &json!({"party": alice}))
        .await
        .ok();
    let cid = pending[0]["transferInstructionCid"].as_str().unwrap();

    let (status, context) = post_abs(
        &format!("{token}/registry/transfer-instruction/v1/{cid}/choice-contexts/accept"),
        &json!({"excludeDebugFields": true}),
    )
    .await;
    assert_eq!(status, 200, "{context}");
    client
        .submit_and_wait(&json!({
            "commands": [{"ExerciseCommand": {
                "templateId": INSTRUCTION, "contractId": cid,
                "choice": "TransferInstruction_Accept",
                "choiceArgument": {"extraArgs": {
                    "context": context["choiceContextData"], "meta": {"values": {}}}},
            }}],
            "commandId": "a-1", "actAs": [alice],
            "disclosedContracts": context["disclosedContracts"],
        }))
        .await
        .ok();
    // Accepted: no longer pending.
    let (status, gone) = post_abs(
        &format!("{token}/registry/transfer-instruction/v1/{cid}/choice-contexts/withdraw"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(gone["error"].as_str().unwrap().contains(cid));
}
