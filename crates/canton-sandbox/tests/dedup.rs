//! Command deduplication expires as on Canton: a change (user, `actAs`, command id) submitted
//! again is refused with `DUPLICATE_COMMAND` (409) only while its acceptance lies within the
//! submission's `deduplicationPeriod` (a duration back from the node's clock, or after an
//! offset; `Empty` or absent = the node's maximum of 7 days); after that it is accepted again.
//! Periods longer than the maximum or negative are refused.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::external::execute_request;
use common::transfer::Transfer;
use common::*;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

const SECOND: i64 = 1_000_000;

/// A 1 CC transfer from `sender` to `receiver`; inputs are picked at execution.
fn transfer(factory: &str, dso: &str, sender: &str, receiver: &str) -> Value {
    Transfer::new(dso, "Amulet", sender, receiver, "1").exercise(factory)
}

fn submission(command: &Value, command_id: &str, act_as: &str, period: Option<Value>) -> Value {
    let mut body = json!({
        "commands": [command], "commandId": command_id, "actAs": [act_as],
        "userId": "exchange", "submissionId": command_id,
    });
    if let Some(period) = period {
        body["deduplicationPeriod"] = period;
    }
    body
}

async fn advance(client: &Client, micros: i64) {
    client
        .post("/sandbox/control/advance-time", &json!({"micros": micros}))
        .await
        .ok();
}

fn duration(seconds: i64) -> Value {
    json!({"DeduplicationDuration": {"value": {"seconds": seconds, "nanos": 0}}})
}

#[tokio::test]
async fn a_resubmission_is_a_duplicate_within_the_period_and_accepted_after_it() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    client.mint(&treasury, "100").await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &treasury).await;
    let command = transfer(&factory, &dso, &treasury, &alice);
    let submit = |id: &str, period: Option<Value>| {
        let body = submission(&command, id, &treasury, period);
        let (client, sandbox) = (&client, &sandbox);
        async move {
            let body = with_registry_disclosures(sandbox, body).await;
            client.submit_and_wait(&body).await
        }
    };

    // A 10-minute period.
    let first = submit("w-1", Some(duration(600))).await.ok();
    let duplicate = submit("w-1", Some(duration(600))).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    let duplicate = duplicate.json();
    assert_eq!(duplicate["code"], "DUPLICATE_COMMAND");
    assert_eq!(
        duplicate["context"]["completion_offset"],
        first["completionOffset"].to_string()
    );
    // Still within it just before the end (the acceptance is at the period's start) …
    advance(&client, 600 * SECOND - 1).await;
    assert_eq!(submit("w-1", Some(duration(600))).await.status, 409);
    // … and past it: the same change is a new submission.
    advance(&client, 2).await;
    let again = submit("w-1", Some(duration(600))).await.ok();
    assert!(again["completionOffset"].as_i64() > first["completionOffset"].as_i64());
    // A shorter period asked for later counts from then: the new acceptance is in it.
    assert_eq!(submit("w-1", Some(duration(1))).await.status, 409);
    advance(&client, 2 * SECOND).await;
    submit("w-1", Some(duration(1))).await.ok();

    // Empty and absent mean the node's maximum, 7 days.
    let week = 7 * 24 * 3600;
    submit("w-2", Some(json!({"Empty": {}}))).await.ok();
    advance(&client, (week - 1) * SECOND).await;
    assert_eq!(submit("w-2", None).await.status, 409);
    assert_eq!(submit("w-2", Some(json!({"Empty": {}}))).await.status, 409);
    advance(&client, 2 * SECOND).await;
    submit("w-2", None).await.ok();

    // By offset: duplicates are acceptances after it.
    let accepted = submit("w-3", None).await.ok();
    let at = accepted["completionOffset"].as_i64().unwrap();
    let before = json!({"DeduplicationOffset": {"value": at - 1}});
    assert_eq!(submit("w-3", Some(before)).await.status, 409);
    let from_it = json!({"DeduplicationOffset": {"value": at}});
    submit("w-3", Some(from_it)).await.ok();

    // Longer than the maximum, or negative: refused before anything happens.
    let too_long = submit("w-4", Some(duration(week + 1))).await;
    assert_eq!(too_long.status, 400, "{}", too_long.text);
    let too_long = too_long.json();
    assert_eq!(too_long["code"], "INVALID_DEDUPLICATION_PERIOD");
    assert_eq!(too_long["errorCategory"], 9);
    assert_eq!(too_long["context"]["longest_duration"], "PT168H");
    // Java's `Duration.toString`, as Canton prints it.
    assert!(
        too_long["cause"].as_str().unwrap().ends_with(
            "The given deduplication duration of PT168H1S exceeds the maximum deduplication duration of PT168H"
        ),
        "{too_long}"
    );
    let negative = submit("w-4", Some(duration(-5))).await;
    assert_eq!(negative.status, 400);
    assert_eq!(negative.json()["code"], "INVALID_FIELD");
    // Neither counted as a submission: w-4 is still new.
    submit("w-4", None).await.ok();
}

#[tokio::test]
async fn an_interactive_execution_is_deduplicated_by_its_own_period() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let key = SigningKey::from_bytes(&[3; 32]);
    let external = client
        .post(
            "/sandbox/control/external-parties",
            &json!({"hint": "vault", "publicKey": BASE64.encode(key.verifying_key().as_bytes())}),
        )
        .await
        .ok();
    let party = external["party"].as_str().unwrap().to_owned();
    let fingerprint = external["publicKeyFingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    client.mint(&party, "50").await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &party).await;
    let prepared = client
        .prepare(
            &sandbox,
            json!({
                "userId": "exchange", "commandId": "x-1",
                "commands": [transfer(&factory, &dso, &party, &alice)],
                "actAs": [party], "readAs": [],
                "synchronizerId": "", "packageIdSelectionPreference": [],
                "verboseHashing": false, "prefetchContractKeys": [],
            }),
        )
        .await
        .ok();
    let mut execute = execute_request(&prepared, &party, &fingerprint, &key);
    execute["deduplicationPeriod"] = duration(10);
    let path = "/v2/interactive-submission/executeAndWait";
    client.post(path, &execute).await.ok();
    let duplicate = client.post(path, &execute).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    assert_eq!(duplicate.json()["code"], "DUPLICATE_COMMAND");
    // 11 s later (still within the 60 s ledger time tolerance) the period has passed.
    advance(&client, 11 * SECOND).await;
    client.post(path, &execute).await.ok();
}
