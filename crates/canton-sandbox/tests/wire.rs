//! (b) Every JSON answer of the sandbox reads into the `canton-ledger` wire types and writes back
//! to the same JSON; (c) errors carry the real codes, categories and statuses; plus the basic
//! scenario and its info file.

mod common;

use canton_ledger::contract_events::JsGetEventsByContractIdResponse;
use canton_ledger::parties::{GetParticipantIdResponse, ListKnownPartiesResponse};
use canton_ledger::state::{
    GetConnectedSynchronizersResponse, GetLatestPrunedOffsetsResponse, GetLedgerEndResponse,
};
use canton_ledger::version::GetLedgerApiVersionResponse;
use canton_ledger::{JsCantonError, JsGetUpdatesResponse};
use canton_sandbox::scenario::{UNKNOWN_MEMO, WITHDRAWAL_MEMO, deposit_memo};
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use common::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Reads `value` as `T` and writes it back: nothing may change.
fn round_trips<T: DeserializeOwned + Serialize>(value: &Value) {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| {
        panic!(
            "does not read as {}: {e}\n{value:#}",
            std::any::type_name::<T>()
        )
    });
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        &back,
        value,
        "{} changed on the way through",
        std::any::type_name::<T>()
    );
}

async fn basic() -> Sandbox {
    Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..Default::default()
    })
    .await
    .expect("starts")
}

#[tokio::test]
async fn every_answer_round_trips_through_the_wire_types() {
    let sandbox = basic().await;
    let client = Client::new(&sandbox);
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let end = client.ledger_end().await;

    round_trips::<GetLedgerEndResponse>(&client.get("/v2/state/ledger-end").await.ok());
    round_trips::<GetLatestPrunedOffsetsResponse>(
        &client.get("/v2/state/latest-pruned-offsets").await.ok(),
    );
    round_trips::<GetConnectedSynchronizersResponse>(
        &client.get("/v2/state/connected-synchronizers").await.ok(),
    );
    round_trips::<GetLedgerApiVersionResponse>(&client.get("/v2/version").await.ok());
    round_trips::<ListKnownPartiesResponse>(&client.get("/v2/parties").await.ok());
    round_trips::<GetParticipantIdResponse>(&client.get("/v2/parties/participant-id").await.ok());

    let mut seen_cids = Vec::new();
    for shape in [
        "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        "TRANSACTION_SHAPE_ACS_DELTA",
    ] {
        // Bounded and open-ended (the latter ends with a checkpoint).
        for end_inclusive in [Some(end), None] {
            let list = client
                .post(
                    "/v2/updates",
                    &updates_request(&treasury, shape, 0, end_inclusive),
                )
                .await
                .ok();
            let list = list.as_array().unwrap();
            assert!(!list.is_empty());
            for element in list {
                round_trips::<JsGetUpdatesResponse>(element);
            }
            let last = &list[list.len() - 1]["update"];
            assert_eq!(
                last.get("OffsetCheckpoint").is_some(),
                end_inclusive.is_none(),
                "checkpoints only in open-ended streams"
            );
        }
        let list = client
            .post(
                "/v2/updates",
                &updates_request(&treasury, shape, 0, Some(end)),
            )
            .await
            .ok();
        for element in list.as_array().unwrap() {
            let tx = &element["update"]["Transaction"]["value"];
            let format = updates_request(&treasury, shape, 0, None)["updateFormat"].clone();
            let by_offset = client
                .post(
                    "/v2/updates/update-by-offset",
                    &json!({"offset": tx["offset"], "updateFormat": format}),
                )
                .await
                .ok();
            round_trips::<JsGetUpdatesResponse>(&by_offset);
            assert_eq!(&by_offset, element);
            let by_id = client
                .post(
                    "/v2/updates/update-by-id",
                    &json!({"updateId": tx["updateId"], "updateFormat": format}),
                )
                .await
                .ok();
            assert_eq!(&by_id, element);
            for e in tx["events"].as_array().unwrap() {
                let v = e.as_object().unwrap().values().next().unwrap();
                seen_cids.push(v["contractId"].as_str().unwrap().to_owned());
            }
        }
    }
    let mut found = 0;
    for cid in seen_cids {
        let answer = client
            .post(
                "/v2/events/events-by-contract-id",
                &json!({"contractId": cid, "eventFormat": guide_filter(&treasury)}),
            )
            .await;
        // Contracts the treasury only witnessed (alice's inputs) are not its to look up.
        if answer.status == 200 {
            round_trips::<JsGetEventsByContractIdResponse>(&answer.json());
            found += 1;
        } else {
            round_trips::<JsCantonError>(&answer.json());
        }
    }
    assert!(found > 0);
}

#[tokio::test]
async fn errors_have_the_real_codes_and_statuses() {
    let sandbox = basic().await;
    let client = Client::new(&sandbox);
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let end = client.ledger_end().await;
    let expect = |answer: Answer, status: u16, code: &str, category: i64| {
        assert_eq!(answer.status, status, "{}", answer.text);
        let body = answer.json();
        round_trips::<JsCantonError>(&body);
        assert_eq!(body["code"], code);
        assert_eq!(body["errorCategory"], category);
        body
    };

    let shape = "TRANSACTION_SHAPE_LEDGER_EFFECTS";
    expect(
        client
            .post(
                "/v2/updates",
                &updates_request(&treasury, shape, end + 5, None),
            )
            .await,
        400,
        "OFFSET_AFTER_LEDGER_END",
        12,
    );
    expect(
        client
            .post(
                "/v2/updates",
                &updates_request(&treasury, shape, 0, Some(end + 1)),
            )
            .await,
        400,
        "OFFSET_AFTER_LEDGER_END",
        12,
    );
    let format = updates_request(&treasury, shape, 0, None)["updateFormat"].clone();
    expect(
        client
            .post(
                "/v2/updates/update-by-offset",
                &json!({"offset": end + 1, "updateFormat": format}),
            )
            .await,
        404,
        "UPDATE_NOT_FOUND",
        11,
    );
    expect(
        client
            .post(
                "/v2/updates/update-by-id",
                &json!({"updateId": "1220ff", "updateFormat": format}),
            )
            .await,
        404,
        "UPDATE_NOT_FOUND",
        11,
    );
    let unknown = format!("00{}ca111220{}", "ab".repeat(32), "cd".repeat(32));
    let body = expect(
        client
            .post(
                "/v2/events/events-by-contract-id",
                &json!({"contractId": unknown, "eventFormat": guide_filter(&treasury)}),
            )
            .await,
        404,
        "CONTRACT_EVENTS_NOT_FOUND",
        11,
    );
    assert_eq!(body["resources"], json!([["CONTRACT_ID", unknown]]));
    expect(
        client
            .post("/v2/updates", &json!({"beginExclusive": 0}))
            .await,
        400,
        "INVALID_ARGUMENT",
        8,
    );
    // A body that does not decode is a plain-text 400, as tapir answers.
    let answer = client
        .post_raw("/v2/updates", r#"{"beginExclusive": "soon"}"#.into())
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.content_type.starts_with("text/plain"), "{answer:?}");
    assert!(answer.text.starts_with("Invalid value for: body"));
}

#[tokio::test]
async fn spending_the_same_holdings_twice_fails() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&treasury).await;
    let cid = client.mint(&alice, "10").await;
    let transfer = json!({"sender": alice, "receiver": treasury, "amount": "4",
        "memo": "m", "inputHoldingCids": [cid]});
    client.transfer(transfer.clone()).await.ok();
    let again = client.transfer(transfer).await;
    assert_eq!(again.status, 404, "{}", again.text);
    let body = again.json();
    assert_eq!(body["code"], "CONTRACT_NOT_FOUND");
    assert_eq!(body["resources"], json!([["CONTRACT_ID", cid]]));
    // The same input twice in one transfer is a double spend too.
    let change = client
        .post("/sandbox/control/holdings", &json!({"owner": alice}))
        .await
        .ok()[0]["contractId"]
        .clone();
    let twice = client
        .transfer(json!({"sender": alice, "receiver": treasury, "amount": "1",
            "inputHoldingCids": [change, change]}))
        .await;
    assert_eq!(twice.json()["code"], "CONTRACT_NOT_FOUND");
    // 101 inputs are refused by the Daml code.
    let many: Vec<Value> = (0..101).map(|_| change.clone()).collect();
    let too_many = client
        .transfer(json!({"sender": alice, "receiver": treasury, "amount": "1",
            "inputHoldingCids": many}))
        .await;
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.json()["code"], "DAML_INTERPRETATION_ERROR");
}

#[tokio::test]
async fn list_calls_cap_at_200_elements() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    sandbox.with_world(|w| {
        for _ in 0..201 {
            w.amulet
                .mint(&mut w.ledger, &alice, "1".parse().unwrap())
                .unwrap();
        }
    });
    let end = client.ledger_end().await;
    let request = updates_request(&alice, "TRANSACTION_SHAPE_ACS_DELTA", 0, Some(end));
    let answer = client.post("/v2/updates", &request).await;
    assert_eq!(
        answer.status,
        413,
        "{}",
        &answer.text[..200.min(answer.text.len())]
    );
    assert_eq!(
        answer.json()["code"],
        "JSON_API_MAXIMUM_LIST_ELEMENTS_NUMBER_REACHED"
    );
    let page = client.post("/v2/updates?limit=200", &request).await.ok();
    assert_eq!(page.as_array().unwrap().len(), 200);
    let last = page[199]["update"]["Transaction"]["value"]["offset"]
        .as_i64()
        .unwrap();
    let rest = client
        .post(
            "/v2/updates?limit=200",
            &updates_request(&alice, "TRANSACTION_SHAPE_ACS_DELTA", last, Some(end)),
        )
        .await
        .ok();
    assert_eq!(rest.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn basic_scenario_and_info_file() {
    let sandbox = basic().await;
    let client = Client::new(&sandbox);
    let info = sandbox.info();
    assert_eq!(info.ledger_api_url, sandbox.ledger_api_url());
    assert_eq!(info.tokens[0].instrument_id, "Amulet");
    assert_eq!(
        info.parties.customers.keys().collect::<Vec<_>>(),
        ["alice", "bob", "carol"]
    );
    let dir = std::env::temp_dir().join(format!("canton-sandbox-info-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sandbox.json");
    info.write_to(&path).unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["ledgerApiUrl"], info.ledger_api_url);
    assert_eq!(written["parties"]["treasury"], json!(info.parties.treasury));
    assert_eq!(written["tokens"][0]["admin"], json!(info.parties.dso));
    std::fs::remove_dir_all(dir).unwrap();

    // The treasury saw three deposits (two known memos, one unknown) and one withdrawal.
    let treasury = info.parties.treasury.unwrap();
    let end = client.ledger_end().await;
    let list = client
        .post(
            "/v2/updates",
            &updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end)),
        )
        .await
        .ok();
    let reasons: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| {
            u["update"]["Transaction"]["value"]["events"]
                .as_array()
                .unwrap()
                .clone()
        })
        .filter_map(|e| {
            let ex = e.get("ExercisedEvent")?;
            let send = ex["choice"]
                .as_str()?
                .starts_with("TransferPreapproval_Send");
            send.then(|| {
                ex["choiceArgument"]["description"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    assert_eq!(
        reasons,
        [
            deposit_memo("alice"),
            deposit_memo("bob"),
            UNKNOWN_MEMO.to_owned(),
            WITHDRAWAL_MEMO.to_owned()
        ]
    );
}
