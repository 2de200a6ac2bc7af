//! Interactive submission by external parties: prepare → sign the hash with Ed25519 →
//! execute; the signed hash on the transaction, refused signatures, `maxRecordTime`, racing
//! submissions, and the completion stream.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::external::*;
use common::*;
use ed25519_dalek::SigningKey;
use serde_json::json;

#[tokio::test]
async fn prepare_sign_execute_and_wait_commits_a_transfer_carrying_the_signed_hash() {
    let setup = setup().await;
    let (client, treasury, alice) = (&setup.client, &setup.treasury, &setup.alice);
    let holding = client.mint(&treasury.party, "100").await;
    let begin = client.ledger_end().await;

    let prepared = setup
        .prepare_withdrawal("w-1", &[&holding], Some("2099-01-01T00:00:00Z"))
        .await;
    assert_eq!(
        prepared["hashingSchemeVersion"],
        "HASHING_SCHEME_VERSION_V2"
    );
    let hash = BASE64
        .decode(prepared["preparedTransactionHash"].as_str().unwrap())
        .unwrap();
    assert_eq!(hash.len(), 32);
    // Preparing commits nothing.
    assert_eq!(client.ledger_end().await, begin);

    let done = client.execute_and_wait(&setup.signed(&prepared)).await.ok();
    assert_eq!(done["completionOffset"], client.ledger_end().await);
    let tx = client
        .transaction(
            &done["updateId"],
            &treasury.party,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let tx = &tx["update"]["Transaction"]["value"];
    assert_eq!(tx["externalTransactionHash"], hex::encode(&hash));
    assert_eq!(tx["commandId"], "w-1");
    assert_eq!(
        tx["events"][0]["ExercisedEvent"]["choice"],
        "TransferFactory_Transfer"
    );

    let seen = completions(client, &treasury.party, begin).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["commandId"], "w-1");
    assert_eq!(seen[0]["status"]["code"], 0);
    assert_eq!(seen[0]["updateId"], done["updateId"]);
    assert_eq!(seen[0]["offset"], done["completionOffset"]);
    assert_eq!(seen[0]["submissionId"], "s-1");
    assert_eq!(seen[0]["synchronizerTime"]["recordTime"], tx["recordTime"]);
    // Other parties do not see it.
    assert!(completions(client, alice, begin).await.is_empty());
}

#[tokio::test]
async fn a_wrong_key_or_no_signature_is_refused_and_nothing_commits() {
    let setup = setup().await;
    let (client, treasury) = (&setup.client, &setup.treasury);
    let holding = client.mint(&treasury.party, "100").await;
    let prepared = setup.prepare_withdrawal("w-2", &[&holding], None).await;
    let end = client.ledger_end().await;

    let thief = SigningKey::from_bytes(&[9; 32]);
    let forged = execute_request(&prepared, &treasury.party, &treasury.fingerprint, &thief);
    let answer = client.execute_and_wait(&forged).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json()["errorCategory"], 8);

    let mut unsigned = forged.clone();
    unsigned["partySignatures"] = json!({"signatures": []});
    let answer = client
        .post("/v2/interactive-submission/execute", &unsigned)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);

    // A signature over another hash (the transaction was altered after signing).
    let mut altered = setup.signed(&prepared);
    let bytes = BASE64
        .decode(prepared["preparedTransaction"].as_str().unwrap())
        .unwrap();
    let mut tx = canton_interactive::decode_prepared_transaction(&bytes).unwrap();
    let submitter = tx
        .metadata
        .as_mut()
        .unwrap()
        .submitter_info
        .as_mut()
        .unwrap();
    submitter.command_id = "w-2-altered".into();
    altered["preparedTransaction"] =
        json!(BASE64.encode(canton_interactive::encode_prepared_transaction(&tx)));
    let answer = client.execute_and_wait(&altered).await;
    assert_eq!(answer.status, 400, "{}", answer.text);

    assert_eq!(client.ledger_end().await, end, "nothing was sequenced");
    assert!(completions(client, &treasury.party, 0).await.is_empty());
}

#[tokio::test]
async fn max_record_time_in_the_past_times_out_with_a_completion() {
    let setup = setup().await;
    let (client, treasury) = (&setup.client, &setup.treasury);
    let holding = client.mint(&treasury.party, "100").await;
    let begin = client.ledger_end().await;
    let prepared = setup
        .prepare_withdrawal("w-3", &[&holding], Some("2025-01-01T00:00:00Z"))
        .await;
    let signed = setup.signed(&prepared);
    let answer = client.execute_and_wait(&signed).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.json()["code"], "NOT_SEQUENCED_TIMEOUT");

    // The async path answers {} and reports the timeout on the completion stream.
    let answer = client
        .post("/v2/interactive-submission/execute", &signed)
        .await
        .ok();
    assert_eq!(answer, json!({}));
    let seen = completions(client, &treasury.party, begin).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    for c in &seen {
        assert_eq!(c["status"]["code"], 10, "ABORTED: {c}");
        assert!(
            c["status"]["message"]
                .as_str()
                .unwrap()
                .starts_with("NOT_SEQUENCED_TIMEOUT(2,")
        );
        assert_eq!(c["updateId"], "");
    }
    // Rejections take offsets of their own, so a reader from the ledger end sees them.
    let end = client.ledger_end().await;
    assert_eq!(seen[1]["offset"], end);
    // The update stream up to such an offset ends (no update there, nothing to wait for).
    let updates = client
        .post(
            "/v2/updates",
            &updates_request(
                &treasury.party,
                "TRANSACTION_SHAPE_ACS_DELTA",
                begin,
                Some(end),
            ),
        )
        .await
        .ok();
    assert_eq!(updates, json!([]));
    assert!(seen[0]["offset"].as_i64() < seen[1]["offset"].as_i64());
    // The holding was never spent.
    let holdings = client
        .post(
            "/sandbox/control/holdings",
            &json!({"owner": treasury.party}),
        )
        .await
        .ok();
    assert_eq!(holdings[0]["contractId"], holding);

    // The tolerance bounds it too: LET + 60 s.
    let prepared = setup.prepare_withdrawal("w-4", &[&holding], None).await;
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 61_000_000}),
        )
        .await
        .ok();
    let answer = client.execute_and_wait(&setup.signed(&prepared)).await;
    assert_eq!(
        answer.json()["code"],
        "NOT_SEQUENCED_TIMEOUT",
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn racing_submissions_on_the_same_input_let_one_through() {
    let setup = setup().await;
    let (client, treasury) = (&setup.client, &setup.treasury);
    let holding = client.mint(&treasury.party, "100").await;
    let begin = client.ledger_end().await;
    let mut signed = Vec::new();
    for id in ["race-1", "race-2"] {
        signed.push(setup.signed_withdrawal(id, &[&holding], None).await);
    }
    let (a, b) = tokio::join!(
        client.execute_and_wait(&signed[0]),
        client.execute_and_wait(&signed[1]),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 404], "{} / {}", a.text, b.text);
    let loser = if a.status == 404 { a } else { b };
    assert_eq!(loser.json()["code"], "CONTRACT_NOT_FOUND");
    let seen = completions(client, &treasury.party, begin).await;
    let codes: Vec<_> = seen.iter().map(|c| c["status"]["code"].clone()).collect();
    assert_eq!(codes, [json!(0), json!(5)], "{seen:?}");
}

#[tokio::test]
async fn local_submissions_complete_and_a_waiting_completions_call_sees_them() {
    let setup = setup().await;
    let (sandbox, client) = (&setup.sandbox, &setup.client);
    let bob = client.party("bob").await;
    let holding = client.mint(&bob, "100").await;
    let begin = client.ledger_end().await;
    let prepared = with_registry_disclosures(
        sandbox,
        setup.withdrawal_from(&bob, "local-1", &[&holding], None),
    )
    .await;
    let commands = json!({
        "commands": prepared["commands"], "commandId": "local-1", "actAs": [bob],
        "userId": "exchange", "submissionId": "sub-9",
        "disclosedContracts": prepared["disclosedContracts"],
    });
    // The completions call is open (idle 5 s, limit 1) when the submission commits.
    let request = completions_request(&bob, begin);
    let (waiting, submitted) = tokio::join!(
        client.post(
            "/v2/commands/completions?stream_idle_timeout_ms=5000&limit=1",
            &request,
        ),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            client.submit_and_wait(&commands).await.ok()
        }
    );
    let waiting = waiting.ok();
    let c = &waiting[0]["completionResponse"]["Completion"]["value"];
    assert_eq!(c["commandId"], "local-1");
    assert_eq!(c["submissionId"], "sub-9");
    assert_eq!(c["updateId"], submitted["updateId"]);
    assert_eq!(c["offset"], submitted["completionOffset"]);
    assert_eq!(c["actAs"], json!([bob]));

    // A local party cannot use the interactive path: it has no external keys.
    let prepared = client
        .prepare(sandbox, setup.withdrawal_from(&bob, "local-2", &[], None))
        .await
        .ok();
    let key = SigningKey::from_bytes(&[1; 32]);
    let answer = client
        .execute_and_wait(&execute_request(&prepared, &bob, "1220ff", &key))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);

    let missing = client
        .post(
            "/v2/commands/completions",
            &json!({"parties": [], "beginExclusive": 0}),
        )
        .await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    let beyond = client
        .post(
            "/v2/commands/completions",
            &completions_request(&bob, client.ledger_end().await + 5),
        )
        .await;
    assert_eq!(beyond.json()["code"], "OFFSET_AFTER_LEDGER_END");
}

#[tokio::test]
async fn a_restore_loses_the_completions_written_after_the_backup() {
    let setup = setup().await;
    let (sandbox, client, treasury) = (&setup.sandbox, &setup.client, &setup.treasury);
    let holding = client.mint(&treasury.party, "100").await;
    let begin = client.ledger_end().await;
    let backup = sandbox.backup();
    let signed = setup.signed_withdrawal("w-r", &[&holding], None).await;
    let done = client.execute_and_wait(&signed).await.ok();
    assert_eq!(completions(client, &treasury.party, begin).await.len(), 1);

    sandbox.restore(&backup);
    // The transaction comes back from the synchronizer (same update id, new offset, still
    // carrying its hash); its completion was node-local and is gone.
    assert!(completions(client, &treasury.party, begin).await.is_empty());
    let tx = client
        .transaction(
            &done["updateId"],
            &treasury.party,
            "TRANSACTION_SHAPE_ACS_DELTA",
        )
        .await;
    let tx = &tx["update"]["Transaction"]["value"];
    assert_ne!(tx["offset"], done["completionOffset"]);
    assert!(tx["externalTransactionHash"].is_string());
    // The external party's key survived (topology): it can submit again, and the input is spent.
    let again = client.execute_and_wait(&signed).await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.json()["code"], "CONTRACT_NOT_FOUND");
}

#[tokio::test]
async fn executing_a_committed_change_again_is_a_duplicate_command() {
    let setup = setup().await;
    let (sandbox, client, treasury) = (&setup.sandbox, &setup.client, &setup.treasury);
    client.mint(&treasury.party, "100").await;
    // No inputs named: the sandbox selects them at execution, so without deduplication a
    // retry would pay twice.
    let signed = setup.signed_withdrawal("w-d", &[], None).await;
    let done = client.execute_and_wait(&signed).await.ok();
    let end = client.ledger_end().await;
    let again = client.execute_and_wait(&signed).await;
    assert_eq!(again.status, 409, "{}", again.text);
    let again = again.json();
    assert_eq!(again["code"], "DUPLICATE_COMMAND");
    assert_eq!(
        again["context"]["completion_offset"],
        done["completionOffset"].to_string()
    );
    assert_eq!(client.ledger_end().await, end, "nothing more was committed");

    // The same for local submissions.
    let bob = client.party("bob").await;
    client.mint(&bob, "50").await;
    let commands =
        with_registry_disclosures(sandbox, setup.withdrawal_from(&bob, "l-d", &[], None)).await;
    let local = json!({"commands": commands["commands"], "commandId": "l-d",
        "actAs": [bob], "userId": "exchange", "disclosedContracts": commands["disclosedContracts"]});
    client.submit_and_wait(&local).await.ok();
    let again = client.submit_and_wait(&local).await;
    assert_eq!(again.json()["code"], "DUPLICATE_COMMAND", "{}", again.text);
}
