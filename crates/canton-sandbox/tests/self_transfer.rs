//! Self transfers (`transferKind: "self"`): a `TransferFactory_Transfer` with sender = receiver
//! merges/splits the sender's holdings at once, on Canton Coin (even for a sender with a
//! preapproval) and on SBX; the exchange's parser reports it as a `mergeSplit` self transfer.

mod common;

use canton_ledger::{JsGetUpdatesResponse, Update};
use common::transfer::Transfer;
use common::*;
use exchange_core::parser::{Direction, NoLookup, TransferKind, TransferStatus, parse_transaction};
use exchange_core::{Amount, PartyId};
use serde_json::{Value, json};

/// The registry's answer for a self transfer of `amount` from `inputs`, and the command a
/// wallet builds from it.
async fn self_transfer_command(
    sandbox: &canton_sandbox::Sandbox,
    instrument: &str,
    party: &str,
    amount: &str,
    inputs: &[String],
    command_id: &str,
) -> (Value, Value) {
    let token = advertised(sandbox, instrument);
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let transfer = Transfer {
        inputs: &inputs,
        reason: Some("merge"),
        ..Transfer::new(&token.admin, instrument, party, party, amount)
    };
    let factory = transfer_factory(&token.registry_url, &transfer.choice_argument()).await;
    let command = transfer.registry_submission(&factory, command_id, party);
    (factory, command)
}

/// The holdings of `owner` as the control endpoint `path` lists them: (contract id, amount).
async fn holdings(client: &Client, path: &str, owner: &str) -> Vec<(String, Amount)> {
    client
        .post(path, &json!({"owner": owner}))
        .await
        .ok()
        .as_array()
        .expect("a list")
        .iter()
        .map(|h| {
            (
                h["contractId"].as_str().unwrap().to_owned(),
                h["amount"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

/// The parser's reading of the transaction: exactly one transfer, a merge/split self transfer,
/// which consumed `inputs` (unresolved: the parser is given no lookup) and created holdings
/// worth `total` for the party.
fn assert_parsed_as_merge_split(
    tx: &Value,
    party: &str,
    expected_amount: &str,
    inputs: &[String],
    total: &str,
) {
    let response: JsGetUpdatesResponse = serde_json::from_value(tx.clone()).expect("wire shape");
    let Update::Transaction(t) = response.update else {
        panic!("a transaction")
    };
    let parsed =
        parse_transaction(&t.value, &PartyId::new(party).unwrap(), &NoLookup).expect("parses");
    assert_eq!(parsed.transfers.len(), 1, "{:?}", parsed.transfers);
    let transfer = &parsed.transfers[0];
    assert_eq!(transfer.kind, TransferKind::MergeSplit);
    assert_eq!(transfer.direction, Direction::SelfTransfer);
    assert_eq!(transfer.status, TransferStatus::Completed);
    assert_eq!(transfer.amount, Some(amount(expected_amount)));
    assert_eq!(transfer.reason.as_deref(), Some("merge"));
    assert!(parsed.unexplained.is_empty(), "{:?}", parsed.unexplained);
    let mut archived: Vec<String> = parsed
        .unresolved_archives
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    archived.sort();
    let mut expected: Vec<String> = inputs.to_vec();
    expected.sort();
    assert_eq!(archived, expected);
    let [change] = parsed.holding_changes.as_slice() else {
        panic!("one instrument: {:?}", parsed.holding_changes)
    };
    assert_eq!(change.created, amount(total));
}

#[tokio::test]
async fn canton_coin_self_transfer_merges_and_splits_at_once() {
    // The tree before 0.5.16 (`v2_events.rs` checks the 0.6.11 one).
    let sandbox = start_release(canton_sandbox::token::SpliceRelease::Legacy).await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    // A preapproval of its own must not turn the self transfer into a direct one.
    client.preapproval(&treasury).await;
    for a in ["10", "20", "30"] {
        client.mint(&treasury, a).await;
    }
    let before = holdings(&client, "/sandbox/control/holdings", &treasury).await;
    assert_eq!(before.len(), 3);
    let inputs: Vec<String> = before.iter().map(|(c, _)| c.clone()).collect();

    // Merge 60 into 45 + 15.
    let (factory, command) =
        self_transfer_command(&sandbox, "Amulet", &treasury, "45", &inputs, "self-1").await;
    assert_eq!(factory["transferKind"], "self");
    assert!(
        factory["choiceContext"]["choiceContextData"]["values"]["transfer-preapproval"].is_null()
    );
    let done = client.submit_and_wait(&command).await.ok();
    let after = holdings(&client, "/sandbox/control/holdings", &treasury).await;
    let mut amounts: Vec<Amount> = after.iter().map(|(_, a)| *a).collect();
    amounts.sort();
    assert_eq!(amounts, vec![amount("15"), amount("45")]);
    assert!(after.iter().all(|(c, _)| !inputs.contains(c)));

    let tx = client
        .transaction(
            &done["updateId"],
            &treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let events = tx["update"]["Transaction"]["value"]["events"]
        .as_array()
        .unwrap();
    let exercised: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("ExercisedEvent"))
        .collect();
    let choices: Vec<&str> = exercised
        .iter()
        .map(|e| e["choice"].as_str().unwrap())
        .collect();
    assert_eq!(
        choices,
        [
            "TransferFactory_Transfer",
            "AmuletRules_Transfer",
            "Archive",
            "Archive",
            "Archive"
        ]
    );
    let root = exercised[0];
    assert_eq!(
        root["exerciseResult"]["output"]["tag"],
        "TransferInstructionResult_Completed"
    );
    let output = root["exerciseResult"]["output"]["value"]["receiverHoldingCids"]
        .as_array()
        .unwrap();
    assert_eq!(output.len(), 1);
    assert_eq!(
        root["exerciseResult"]["senderChangeCids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Token-standard choices carry only burn meta (none at zero fees).
    assert_eq!(root["exerciseResult"]["meta"], json!({"values": {}}));
    let inner = exercised[1];
    assert_eq!(inner["choiceArgument"]["transfer"]["provider"], treasury);
    assert_eq!(
        inner["choiceArgument"]["transfer"]["outputs"][0]["receiver"],
        treasury
    );
    assert_eq!(
        inner["exerciseResult"]["meta"],
        json!({"values": {"splice.lfdecentralizedtrust.org/tx-kind": "merge-split"}})
    );
    let created: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("CreatedEvent"))
        .collect();
    assert_eq!(created.len(), 2);
    assert!(
        created
            .iter()
            .all(|c| c["createArgument"]["owner"] == treasury)
    );
    assert_parsed_as_merge_split(&tx, &treasury, "45", &inputs, "60");

    // Merging everything into one holding: amount = the inputs' total, no change.
    let all: Vec<String> = after.iter().map(|(c, _)| c.clone()).collect();
    let (_, command) =
        self_transfer_command(&sandbox, "Amulet", &treasury, "60", &all, "self-2").await;
    client.submit_and_wait(&command).await.ok();
    let merged = holdings(&client, "/sandbox/control/holdings", &treasury).await;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].1, amount("60"));

    // More than the inputs hold: refused, nothing changes.
    let (_, command) = self_transfer_command(
        &sandbox,
        "Amulet",
        &treasury,
        "61",
        &[merged[0].0.clone()],
        "self-3",
    )
    .await;
    let refused = client.submit_and_wait(&command).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused.text.contains("ITR_InsufficientFunds"),
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn sbx_self_transfer_merges_and_splits_at_once() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    for a in ["7", "8"] {
        client.sbx_mint(&alice, a).await;
    }
    let before = holdings(&client, "/sandbox/control/token/holdings", &alice).await;
    let inputs: Vec<String> = before.iter().map(|(c, _)| c.clone()).collect();
    let (factory, command) =
        self_transfer_command(&sandbox, "SBX", &alice, "15", &inputs, "sbx-self").await;
    assert_eq!(factory["transferKind"], "self");
    let done = client.submit_and_wait(&command).await.ok();
    let after = holdings(&client, "/sandbox/control/token/holdings", &alice).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].1, amount("15"));

    let tx = client
        .transaction(
            &done["updateId"],
            &alice,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let root = &tx["update"]["Transaction"]["value"]["events"][0]["ExercisedEvent"];
    assert_eq!(root["choice"], "TransferFactory_Transfer");
    assert_eq!(
        root["exerciseResult"]["output"]["value"]["receiverHoldingCids"][0],
        after[0].0
    );
    assert_parsed_as_merge_split(&tx, &alice, "15", &inputs, "15");
}
