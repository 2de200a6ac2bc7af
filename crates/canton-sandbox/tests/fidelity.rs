//! (a) Structure fidelity: a Canton Coin 1-step deposit and withdrawal made in the sandbox, read
//! as the treasury with the guide's filter, has the structure of the real LocalNet recording
//! (`fixtures/localnet-treasury/one-step-deposit-and-withdraw.json`), made before Splice 0.5.16:
//! the sandbox reproduces that release ([`SpliceRelease::Legacy`]); `v2_events.rs` holds the
//! default (0.6.11) to its own recording.

mod common;

use canton_sandbox::token::SpliceRelease;
use common::*;
use serde_json::{Value, json};

/// Replays the recording's story: alice deposits 100 from two holdings (60 + 70, so 30 change)
/// with a memo; the treasury pays 20 back from the deposited holding (80 change).
async fn deposit_and_withdraw(client: &Client) -> (String, Vec<Value>) {
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&treasury).await;
    client.preapproval(&alice).await;
    let a = client.mint(&alice, "60").await;
    let b = client.mint(&alice, "70").await;
    let deposit = client
        .transfer(
            json!({"sender": alice, "receiver": treasury, "amount": "100",
            "memo": "fd53f70c-5c3e-4324-b678-bc6ca90f7325", "inputHoldingCids": [a, b]}),
        )
        .await
        .ok();
    let received = deposit["receiverHoldingCids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .transfer(
            json!({"sender": treasury, "receiver": alice, "amount": "20",
            "memo": "4331c77f-ee16-4303-830c-78e3f10f1692", "inputHoldingCids": [received]}),
        )
        .await
        .ok();
    let end = client.ledger_end().await;
    let updates = client
        .post(
            "/v2/updates",
            &updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end)),
        )
        .await
        .ok();
    let txs = updates
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update"]["Transaction"]["value"].clone())
        .collect();
    (treasury, txs)
}

#[tokio::test]
async fn one_step_deposit_and_withdrawal_match_the_localnet_recording() {
    let Some(recording) =
        read_shared_json("fixtures/localnet-treasury/one-step-deposit-and-withdraw.json")
    else {
        return;
    };
    let sandbox = start_release(SpliceRelease::Legacy).await;
    let client = Client::new(&sandbox);
    let (treasury, txs) = deposit_and_withdraw(&client).await;
    // The treasury sees its preapproval's creation, the deposit and the withdrawal.
    assert_eq!(txs.len(), 3, "{txs:#?}");
    let ours = &txs[1..];
    let recorded: Vec<&Value> = recording
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["update"]["Transaction"]["value"])
        .collect();
    for (name, (rec, our)) in ["deposit", "withdrawal"]
        .iter()
        .zip(recorded.iter().zip(ours))
    {
        assert_eq!(
            semantic_outline(rec),
            semantic_outline(our),
            "{name}: events differ in kind, node ids, choices, names or metadata keys"
        );
        let diffs = shape_differences(rec, our);
        assert!(
            diffs.is_empty(),
            "{name}: shape differs:\n{}",
            diffs.join("\n")
        );
    }
    // Everything the treasury is shown is shown to the treasury alone.
    for tx in ours {
        for e in tx["events"].as_array().unwrap() {
            let v = e.as_object().unwrap().values().next().unwrap();
            assert_eq!(v["witnessParties"], json!([treasury]));
        }
    }
    // The memo is where the guide says: the Send's description and its result meta.
    let send = &ours[0]["events"][0]["ExercisedEvent"];
    assert_eq!(send["choice"], "TransferPreapproval_Send");
    assert_eq!(
        send["choiceArgument"]["description"],
        "fd53f70c-5c3e-4324-b678-bc6ca90f7325"
    );
    assert_eq!(
        send["exerciseResult"]["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"],
        "fd53f70c-5c3e-4324-b678-bc6ca90f7325"
    );
    // 3.4 writes absent optionals as null; interface views keep an explicit null lock.
    let receiver_amulet = &ours[0]["events"][4]["CreatedEvent"];
    assert_eq!(
        receiver_amulet["interfaceViews"][0]["viewValue"]["lock"],
        Value::Null
    );
    assert_eq!(receiver_amulet["acsDelta"], true);
    assert_eq!(ours[0]["events"][5]["CreatedEvent"]["acsDelta"], false);
}

#[tokio::test]
async fn summary_values_follow_splice_arithmetic() {
    // Independent of the fixture: the balance changes "as of round zero" that the recording
    // shows are reproduced exactly (round 19, rate 0.00380518 per round).
    let sandbox = start_release(SpliceRelease::Legacy).await;
    let client = Client::new(&sandbox);
    let (_, txs) = deposit_and_withdraw(&client).await;
    let withdrawal_send = &txs[2]["events"][1]["ExercisedEvent"];
    assert_eq!(withdrawal_send["choice"], "TransferPreapproval_Send");
    let summary = &withdrawal_send["exerciseResult"]["result"]["summary"];
    // Treasury: spent 100 created in round 19, got 80 back in round 19.
    let changes = summary["balanceChanges"].as_array().unwrap();
    let treasury_change = &changes
        .iter()
        .find(|c| c[0].as_str().unwrap().starts_with("treasury::"))
        .unwrap()[1];
    assert_eq!(
        treasury_change["changeToInitialAmountAsOfRoundZero"],
        "-20.0000000000"
    );
    assert_eq!(treasury_change["changeToHoldingFeesRate"], "0.0000000000");
    let alice_change = &changes
        .iter()
        .find(|c| c[0].as_str().unwrap().starts_with("alice::"))
        .unwrap()[1];
    assert_eq!(
        alice_change["changeToInitialAmountAsOfRoundZero"],
        "20.0722984200"
    );
    assert_eq!(summary["senderChangeAmount"], "80.0000000000");
}

#[test]
fn the_shape_comparison_sees_differences() {
    let a = json!({"x": {"y": "1", "z": [1, 2]}, "n": null, "acsDelta": true});
    assert!(shape_differences(&a, &json!({"x": {"y": "2", "z": [3, 4]}})).is_empty());
    assert_eq!(
        shape_differences(&a, &json!({"x": {"y": 1, "z": [3]}, "w": "extra"})),
        vec![
            "$.w: only ours".to_owned(),
            "$.x.y: string vs number".to_owned(),
            "$.x.z: 2 vs 1 elements".to_owned(),
        ]
    );
}

/// (e) The exchange's parser reads the sandbox's transactions as it reads the recording: the
/// same transfers (direction, kind, status, amount, memo) and the same holding changes.
#[tokio::test]
async fn the_parser_reads_sandbox_and_recording_alike() {
    use exchange_core::{HoldingBook, PartyId, parse_transaction};

    let Some(recording) =
        read_shared_json("fixtures/localnet-treasury/one-step-deposit-and-withdraw.json")
    else {
        return;
    };
    let sandbox = start_release(SpliceRelease::Legacy).await;
    let client = Client::new(&sandbox);
    let (treasury, txs) = deposit_and_withdraw(&client).await;
    // The same story on 0.6.11 trees, which add V2 events the V1 parser must pass over.
    let sandbox_v2 = start_empty().await;
    let client_v2 = Client::new(&sandbox_v2);
    let (treasury_v2, txs_v2) = deposit_and_withdraw(&client_v2).await;

    // What matters to the exchange, without the ids that differ between the two ledgers.
    let outline = |party: &str, txs: &[Value]| {
        let party = PartyId::new(party).unwrap();
        let mut book = HoldingBook::default();
        txs.iter()
            .map(|tx| {
                let tx = serde_json::from_value(tx.clone()).unwrap();
                let parsed = parse_transaction(&tx, &party, &book).unwrap();
                book.apply(&parsed);
                let transfers: Vec<_> = parsed
                    .transfers
                    .iter()
                    .map(|t| {
                        (
                            t.direction,
                            t.kind,
                            t.status,
                            t.amount,
                            t.reason.clone(),
                            t.instrument.as_ref().map(|i| i.id.clone()),
                        )
                    })
                    .collect();
                let nets: Vec<_> = parsed.holding_changes.iter().map(|c| c.net).collect();
                (transfers, nets, parsed.unexplained.len())
            })
            .collect::<Vec<_>>()
    };
    let recorded: Vec<Value> = recording
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update"]["Transaction"]["value"].clone())
        .collect();
    let recorded_treasury =
        recorded[0]["events"][4]["CreatedEvent"]["interfaceViews"][0]["viewValue"]["owner"]
            .as_str()
            .unwrap()
            .to_owned();
    // The sandbox's first treasury transaction is its preapproval, which moves no holdings.
    let ours = outline(&treasury, &txs);
    assert_eq!(ours[0], (vec![], vec![], 0));
    assert_eq!(ours[1..], outline(&recorded_treasury, &recorded)[..]);
    assert_eq!(ours[1].0.len(), 1, "the deposit is one incoming transfer");
    assert_eq!(
        outline(&treasury_v2, &txs_v2),
        ours,
        "V1 + V2 trees read as the V1 trees: nothing counted twice, nothing unexplained"
    );
}
