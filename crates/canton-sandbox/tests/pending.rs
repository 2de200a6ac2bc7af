//! Executions accepted but not yet sequenced (`holdExecutions`): `execute` answers `{}` and
//! commits nothing until a release sequences them, with the checks of that moment; a restore
//! loses them, as a node restored from a backup loses what it never sent to the synchronizer.

mod common;

use common::external::*;
use common::*;
use exchange_core::Timestamp;
use serde_json::{Value, json};

async fn execute(client: &Client, signed: &Value) -> Answer {
    client
        .post("/v2/interactive-submission/execute", signed)
        .await
}

async fn hold(client: &Client, on: bool) {
    let answer = client
        .post("/sandbox/control/faults", &json!({"holdExecutions": on}))
        .await
        .ok();
    assert_eq!(answer["holdExecutions"].as_bool().unwrap_or(false), on);
}

async fn release(client: &Client) -> Value {
    client
        .post("/sandbox/control/pending/release", &json!({}))
        .await
        .ok()
}

async fn holdings(client: &Client, owner: &str) -> Vec<Value> {
    let answer = client
        .post("/sandbox/control/holdings", &json!({"owner": owner}))
        .await
        .ok();
    answer.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_held_execution_commits_nothing_until_released_then_commits_once() {
    let setup = setup().await;
    let (client, treasury) = (&setup.client, &setup.treasury);
    let holding = client.mint(&treasury.party, "100").await;
    let signed = setup.signed_withdrawal("w-held", &[&holding], None).await;
    hold(client, true).await;
    let begin = client.ledger_end().await;
    assert_eq!(execute(client, &signed).await.ok(), json!({}));
    // Accepted, not sequenced: no update, no completion, the input still active.
    assert_eq!(client.ledger_end().await, begin);
    assert_eq!(setup.sandbox.pending_executions(), 1);
    assert!(completions(client, &treasury.party, begin).await.is_empty());
    assert_eq!(
        holdings(client, &treasury.party).await[0]["contractId"],
        holding
    );
    assert!(holdings(client, &setup.alice).await.is_empty());
    // The same change again is refused at once while the first is in flight.
    let again = execute(client, &signed).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "SUBMISSION_ALREADY_IN_FLIGHT");
    assert_eq!(again.json()["context"]["existingSubmissionId"], "Some(s-1)");
    // A wrong signature is still answered at once, and nothing is held for it.
    let mut forged = signed.clone();
    forged["partySignatures"]["signatures"][0]["signatures"][0]["signedBy"] = json!("1220ff");
    assert_eq!(execute(client, &forged).await.status, 400);
    assert_eq!(setup.sandbox.pending_executions(), 1);

    // Releasing sequences it: committed once, with its completion.
    assert_eq!(
        release(client).await,
        json!({"released": 1, "committed": 1})
    );
    assert_eq!(setup.sandbox.pending_executions(), 0);
    let seen = completions(client, &treasury.party, begin).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["status"]["code"], 0, "{}", seen[0]);
    assert_eq!(seen[0]["commandId"], "w-held");
    let received = holdings(client, &setup.alice).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["amount"], "10.0000000000");
    // Nothing is left to release; executing it again is a duplicate, held or not.
    assert_eq!(release(client).await["released"], 0);
    let duplicate = execute(client, &signed).await;
    assert_eq!(
        duplicate.json()["code"],
        "DUPLICATE_COMMAND",
        "{}",
        duplicate.text
    );
    hold(client, false).await;
}

#[tokio::test]
async fn a_restore_loses_held_executions_and_their_inputs_stay_spendable() {
    let setup = setup().await;
    let (client, treasury, sandbox) = (&setup.client, &setup.treasury, &setup.sandbox);
    let holding = client.mint(&treasury.party, "100").await;
    let backup = sandbox.backup();
    let signed = setup.signed_withdrawal("w-lost", &[&holding], None).await;
    sandbox.hold_executions(true);
    assert_eq!(execute(client, &signed).await.ok(), json!({}));
    // A backup taken while it is held does not keep it either: it was only in memory.
    let while_held = sandbox.backup();
    let end = client.ledger_end().await;
    let report = sandbox.restore(&while_held);
    assert_eq!(report.redelivered, 0);
    assert_eq!(sandbox.pending_executions(), 0);
    assert_eq!(sandbox.release_pending().released, 0);
    assert_eq!(client.ledger_end().await, end);
    assert!(holdings(client, &setup.alice).await.is_empty());

    // Held again, then lost by a restore from before it was prepared.
    assert_eq!(execute(client, &signed).await.ok(), json!({}));
    assert_eq!(sandbox.pending_executions(), 1);
    sandbox.restore(&backup);
    assert_eq!(sandbox.pending_executions(), 0);
    sandbox.hold_executions(false);
    assert_eq!(sandbox.release_pending().released, 0);
    assert!(holdings(client, &setup.alice).await.is_empty());
    assert_eq!(
        holdings(client, &treasury.party).await[0]["contractId"],
        holding
    );
    // A retry (prepared again, as a client redoes every step) commits, once.
    let retry = setup.signed_withdrawal("w-lost", &[&holding], None).await;
    let done = client.execute_and_wait(&retry).await.ok();
    assert!(done["updateId"].is_string(), "{done}");
    assert_eq!(holdings(client, &setup.alice).await.len(), 1);
}

#[tokio::test]
async fn a_release_after_max_record_time_times_out_on_the_completion_stream() {
    let setup = setup().await;
    let (client, treasury) = (&setup.client, &setup.treasury);
    let holding = client.mint(&treasury.party, "100").await;
    let now: Timestamp = serde_json::from_value(
        client.get("/sandbox/control/time").await.ok()["recordTime"].clone(),
    )
    .unwrap();
    let max = now.checked_add_micros(10_000_000).unwrap();
    let max = serde_json::to_value(max).unwrap();
    let signed = setup
        .signed_withdrawal("w-late", &[&holding], max.as_str())
        .await;
    hold(client, true).await;
    let begin = client.ledger_end().await;
    // Accepted in time: maxRecordTime is a sequencing bound, checked when it is sequenced.
    assert_eq!(execute(client, &signed).await.ok(), json!({}));
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 20_000_000}),
        )
        .await
        .ok();
    assert_eq!(
        release(client).await,
        json!({"released": 1, "committed": 0})
    );
    let seen = completions(client, &treasury.party, begin).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0]["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("NOT_SEQUENCED_TIMEOUT(2,"),
        "{}",
        seen[0]
    );
    assert_eq!(
        holdings(client, &treasury.party).await[0]["contractId"],
        holding
    );
    assert!(holdings(client, &setup.alice).await.is_empty());
}
