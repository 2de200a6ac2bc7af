//! The offer-only token: offers lock the amount and create a `TransferInstruction` the receiver
//! accepts or rejects and the sender may withdraw; accepting after `executeBefore` fails. Trees
//! have the structure of the splice-cli recording (`fixtures/splice-cli/txs.json`): the sender
//! sees `TransferFactory_Transfer` with a `Pending` result, the receiver only the instruction's
//! create; the instruction's choices are consuming roots over an archive and a create. Since
//! SBX speaks V2 too, each holding change is also reported by an `EventLog_HoldingsChange`.

mod common;

use common::*;
use serde_json::{Value, json};

/// (nodeId, kind, choice or template entity) of each event of the update at `offset` for `party`.
async fn shape(client: &Client, party: &str, offset: i64) -> Vec<(i64, String, String)> {
    let tx = tx_at_with(client, guide_filter(party), offset).await;
    tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (kind, v) = e.as_object().unwrap().iter().next().unwrap();
            let what = v
                .get("choice")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    v["templateId"]
                        .as_str()
                        .unwrap()
                        .rsplit(':')
                        .next()
                        .unwrap()
                        .to_owned()
                });
            (v["nodeId"].as_i64().unwrap(), kind.clone(), what)
        })
        .collect()
}

fn kinds(s: &[(i64, String, String)]) -> Vec<(&str, &str)> {
    s.iter().map(|(_, k, w)| (k.as_str(), w.as_str())).collect()
}

#[tokio::test]
async fn offers_accept_reject_withdraw_and_expire() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.sbx_mint(&treasury, "100").await;
    let offer = |amount: &str, memo: &str| {
        let body = json!({"sender": treasury, "receiver": alice, "amount": amount, "memo": memo});
        let client = &client;
        async move { client.post("/sandbox/control/offers", &body).await.ok() }
    };

    let o1 = offer("10", "w-1").await;
    let offset = o1["offset"].as_i64().unwrap();
    assert_eq!(
        kinds(&shape(&client, &treasury, offset).await),
        vec![
            ("ExercisedEvent", "TransferFactory_Transfer"),
            ("ExercisedEvent", "Archive"),
            ("CreatedEvent", "TokenHolding"),
            ("CreatedEvent", "TokenHolding"),
            // The lock and the change, reported to the sender (V2, one event per account).
            ("ExercisedEvent", "EventLog_HoldingsChange"),
            ("CreatedEvent", "TokenTransferInstruction"),
        ]
    );
    let receiver_view = shape(&client, &alice, offset).await;
    assert_eq!(
        kinds(&receiver_view),
        vec![("CreatedEvent", "TokenTransferInstruction")]
    );
    assert_eq!(receiver_view[0].0, 5, "node ids of the full tree");
    let pending = client
        .post("/sandbox/control/offers/pending", &json!({"party": alice}))
        .await
        .ok();
    assert_eq!(pending[0]["memo"], "w-1");

    let cid = |o: &Value| json!({"transferInstructionCid": o["transferInstructionCid"]});
    let accepted = client
        .post("/sandbox/control/offers/accept", &cid(&o1))
        .await
        .ok();
    let accept_shape = shape(&client, &alice, accepted["offset"].as_i64().unwrap()).await;
    assert_eq!(
        kinds(&accept_shape),
        vec![
            ("ExercisedEvent", "TransferInstruction_Accept"),
            ("ExercisedEvent", "Archive"),
            ("CreatedEvent", "TokenHolding"),
            // The sender's and the receiver's V2 events.
            ("ExercisedEvent", "EventLog_HoldingsChange"),
            ("ExercisedEvent", "EventLog_HoldingsChange"),
        ]
    );
    let alice_holdings = client
        .post("/sandbox/control/token/holdings", &json!({"owner": alice}))
        .await
        .ok();
    assert_eq!(alice_holdings.as_array().unwrap().len(), 1);
    // Accepting twice: the instruction is gone.
    assert_eq!(
        client
            .post("/sandbox/control/offers/accept", &cid(&o1))
            .await
            .status,
        404
    );

    let o2 = offer("5", "w-2").await;
    let rejected = client
        .post("/sandbox/control/offers/reject", &cid(&o2))
        .await
        .ok();
    assert_eq!(
        kinds(&shape(&client, &treasury, rejected["offset"].as_i64().unwrap()).await)[0].1,
        "TransferInstruction_Reject"
    );
    let o3 = offer("5", "w-3").await;
    client
        .post("/sandbox/control/offers/withdraw", &cid(&o3))
        .await
        .ok();

    // Expiry: accept after executeBefore fails; the sender can still withdraw.
    let o4 = offer("7", "w-4").await;
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 86_400_000_000i64 + 1}),
        )
        .await
        .ok();
    let late = client
        .post("/sandbox/control/offers/accept", &cid(&o4))
        .await;
    assert_eq!(late.status, 400, "{}", late.text);
    assert_eq!(late.json()["code"], "DAML_INTERPRETATION_ERROR");
    client
        .post("/sandbox/control/offers/withdraw", &cid(&o4))
        .await
        .ok();

    // The treasury got everything back but the accepted 10.
    let treasury_holdings = client
        .post(
            "/sandbox/control/token/holdings",
            &json!({"owner": treasury}),
        )
        .await
        .ok();
    let total: f64 = treasury_holdings
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["amount"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 90.0);
    assert!(
        client
            .post(
                "/sandbox/control/offers/pending",
                &json!({"party": treasury})
            )
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
}
