//! `POST /v2/state/active-contracts`: the active contract set at an offset, per the requesting
//! parties' filters, with the real bounds errors.

mod common;

use common::*;
use serde_json::{Value, json};

fn acs_request(party: &str, at: i64) -> Value {
    json!({"activeAtOffset": at, "eventFormat": guide_filter(party)})
}

/// Contract ids of the holdings (`Holding` interface view present) in an ACS answer.
fn holding_ids(acs: &Value) -> Vec<String> {
    acs.as_array()
        .unwrap()
        .iter()
        .map(|e| &e["contractEntry"]["JsActiveContract"]["createdEvent"])
        .filter(|c| {
            c["interfaceViews"]
                .as_array()
                .is_some_and(|v| !v.is_empty())
        })
        .map(|c| c["contractId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_active_set_at_an_offset_for_the_requesting_parties() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    let a = client.mint(&treasury, "10").await;
    let b = client.mint(&treasury, "20").await;
    let before = client.ledger_end().await;
    client
        .transfer(
            json!({"sender": treasury, "receiver": alice, "amount": "10",
            "inputHoldingCids": [a]}),
        )
        .await
        .ok();
    let end = client.ledger_end().await;

    let then = client
        .post(
            "/v2/state/active-contracts",
            &acs_request(&treasury, before),
        )
        .await
        .ok();
    assert_eq!(holding_ids(&then), [a.clone(), b.clone()]);
    let entry = &then[0];
    assert_eq!(entry["workflowId"], "");
    assert_eq!(
        entry["contractEntry"]["JsActiveContract"]["reassignmentCounter"],
        0
    );
    assert!(entry["contractEntry"]["JsActiveContract"]["synchronizerId"].is_string());

    let now = client
        .post("/v2/state/active-contracts", &acs_request(&treasury, end))
        .await
        .ok();
    assert_eq!(holding_ids(&now), std::slice::from_ref(&b));
    let alices = client
        .post("/v2/state/active-contracts", &acs_request(&alice, end))
        .await
        .ok();
    assert_eq!(holding_ids(&alices).len(), 1);
    assert!(!holding_ids(&alices).contains(&b));

    let empty = client
        .post("/v2/state/active-contracts", &acs_request(&treasury, 0))
        .await
        .ok();
    assert_eq!(empty, json!([]));
    let limited = client
        .post(
            "/v2/state/active-contracts?limit=1",
            &acs_request(&treasury, end),
        )
        .await
        .ok();
    assert_eq!(limited.as_array().unwrap().len(), 1);

    let beyond = client
        .post(
            "/v2/state/active-contracts",
            &acs_request(&treasury, end + 1),
        )
        .await;
    assert_eq!(beyond.status, 400, "{}", beyond.text);
    assert_eq!(beyond.json()["code"], "OFFSET_AFTER_LEDGER_END");
    sandbox.prune(before);
    let pruned = client
        .post(
            "/v2/state/active-contracts",
            &acs_request(&treasury, before - 1),
        )
        .await;
    assert_eq!(pruned.json()["code"], "PARTICIPANT_PRUNED_DATA_ACCESSED");
}
