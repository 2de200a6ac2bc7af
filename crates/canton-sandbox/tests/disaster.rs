//! Disasters on command: backup/restore (new offsets, same update ids and record times, lost
//! local data), pruning (`PARTICIPANT_PRUNED_DATA_ACCESSED`), ACS imports at the minimum record
//! time, and streams ending when the node is restored under them.

mod common;

use std::collections::BTreeMap;

use canton_ledger::JsCantonError;
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use common::*;
use serde_json::{Value, json};

async fn basic() -> (Sandbox, Client, String, String) {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..Default::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let alice = sandbox.parties().customers["alice"].clone();
    (sandbox, client, treasury, alice)
}

/// The treasury's transactions after `begin`: update id → (offset, record time).
async fn treasury_history(
    client: &Client,
    party: &str,
    begin: i64,
) -> BTreeMap<String, (i64, String)> {
    let end = client.ledger_end().await;
    let list = client
        .post(
            "/v2/updates?limit=200",
            &updates_request(party, "TRANSACTION_SHAPE_LEDGER_EFFECTS", begin, Some(end)),
        )
        .await
        .ok();
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let tx = &u["update"]["Transaction"]["value"];
            (
                tx["updateId"].as_str().unwrap().to_owned(),
                (
                    tx["offset"].as_i64().unwrap(),
                    tx["recordTime"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

async fn withdraw(client: &Client, treasury: &str, to: &str, memo: &str) -> Value {
    client
        .transfer(json!({"sender": treasury, "receiver": to, "amount": "1", "memo": memo}))
        .await
        .ok()
}

#[tokio::test]
async fn restore_redelivers_under_new_offsets_with_the_same_ids_and_record_times() {
    let (sandbox, client, treasury, alice) = basic().await;
    let backup = client
        .post("/sandbox/control/backup", &json!({}))
        .await
        .ok();
    let backup_id = backup["backupId"].as_str().unwrap().to_owned();
    let at_backup = client.ledger_end().await;
    for i in 0..3 {
        withdraw(&client, &treasury, &alice, &format!("w-{i}")).await;
    }
    let before = treasury_history(&client, &treasury, 0).await;
    let end_before = client.ledger_end().await;

    let report = client
        .post("/sandbox/control/restore", &json!({"backupId": backup_id}))
        .await
        .ok();
    assert_eq!(report["redelivered"], 3);
    let after = treasury_history(&client, &treasury, 0).await;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same updates, none lost, none invented"
    );
    let mut moved = 0;
    for (id, (offset, record_time)) in &before {
        let (new_offset, new_record_time) = &after[id];
        assert_eq!(record_time, new_record_time, "record time of {id}");
        if *offset <= at_backup {
            assert_eq!(offset, new_offset, "offsets up to the backup stay");
        } else {
            assert!(new_offset > offset, "re-delivered under a new offset");
            // The old offset no longer names this update.
            let old = client
                .post(
                    "/v2/updates/update-by-offset",
                    &json!({"offset": offset, "updateFormat": {"includeTransactions": {
                        "eventFormat": guide_filter(&treasury),
                        "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}}}),
                )
                .await;
            if old.status == 200 {
                assert_ne!(
                    old.json()["update"]["Transaction"]["value"]["updateId"],
                    id.as_str()
                );
            }
            moved += 1;
        }
    }
    assert_eq!(moved, 3);
    let end_after = client.ledger_end().await;
    assert_eq!(end_after, report["ledgerEnd"].as_i64().unwrap());
    assert!(
        end_after > end_before,
        "the gap moves the end past the old one here"
    );
    // The node keeps working: the next transaction continues after the re-delivered ones.
    let next = withdraw(&client, &treasury, &alice, "w-after").await;
    assert_eq!(next["offset"].as_i64().unwrap(), end_after + 1);
    // An unknown backup is a 404 with a JsCantonError.
    let missing = client
        .post(
            "/sandbox/control/restore",
            &json!({"backupId": "backup-99"}),
        )
        .await;
    assert_eq!(missing.status, 404);
    serde_json::from_value::<JsCantonError>(missing.json()).unwrap();
    drop(sandbox);
}

#[tokio::test]
async fn restore_from_the_handle_and_a_second_restore() {
    let (sandbox, client, treasury, alice) = basic().await;
    let first = sandbox.backup();
    withdraw(&client, &treasury, &alice, "a").await;
    let second = sandbox.backup();
    withdraw(&client, &treasury, &alice, "b").await;
    let ids = treasury_history(&client, &treasury, 0).await;
    let r1 = sandbox.restore(&second);
    assert_eq!(r1.redelivered, 1);
    let r2 = sandbox.restore(&first);
    assert_eq!(r2.redelivered, 2);
    let after = treasury_history(&client, &treasury, 0).await;
    assert_eq!(
        ids.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    // Updates after the first backup have moved past everything the node had shown before.
    let old_max = ids.values().map(|(o, _)| *o).max().unwrap();
    for (id, (offset, _)) in &after {
        if ids[id].0 != *offset {
            assert!(*offset > old_max, "{id} moved to {offset}");
        }
    }
    assert!(
        sandbox
            .try_restore(&canton_sandbox::BackupId("nope".into()))
            .is_err()
    );
}

#[tokio::test]
async fn pruning_refuses_reads_that_start_before_it() {
    let (sandbox, client, treasury, _) = basic().await;
    let end = client.ledger_end().await;
    let prune_at = end - 2;
    let pruned = client
        .post("/sandbox/control/prune", &json!({"offset": prune_at}))
        .await
        .ok();
    assert_eq!(pruned["participantPrunedUpToInclusive"], prune_at);
    let offsets = client.get("/v2/state/latest-pruned-offsets").await.ok();
    assert_eq!(offsets["participantPrunedUpToInclusive"], prune_at);

    let refused = client
        .post(
            "/v2/updates",
            &updates_request(&treasury, "TRANSACTION_SHAPE_ACS_DELTA", 0, Some(end)),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let error: JsCantonError = serde_json::from_value(refused.json()).unwrap();
    assert_eq!(error.code, "PARTICIPANT_PRUNED_DATA_ACCESSED");
    assert_eq!(error.error_category, 9);
    assert_eq!(error.context["earliest_offset"], prune_at.to_string());
    // From the pruning offset on, reading works.
    client
        .post(
            "/v2/updates",
            &updates_request(
                &treasury,
                "TRANSACTION_SHAPE_ACS_DELTA",
                prune_at,
                Some(end),
            ),
        )
        .await
        .ok();
    // Beyond the ledger end is refused.
    let beyond = client
        .post("/sandbox/control/prune", &json!({"offset": end + 5}))
        .await;
    assert_eq!(beyond.status, 400);
    sandbox.prune(1); // below the current pruning offset: no-op
    assert_eq!(
        client.get("/v2/state/latest-pruned-offsets").await.ok()["participantPrunedUpToInclusive"],
        prune_at
    );
}

#[tokio::test]
async fn acs_imports_have_the_minimum_record_time_and_are_lost_on_restore() {
    let (sandbox, client, treasury, _) = basic().await;
    let backup = sandbox.backup();
    let a = client
        .post(
            "/sandbox/control/import-acs",
            &json!({"owner": treasury, "amounts": ["5", "6"]}),
        )
        .await
        .ok();
    let b = sandbox
        .import_acs_at_min_time(&treasury, &["7".parse().unwrap()])
        .unwrap();
    assert_eq!(a["recordTime"], "0001-01-01T00:00:00Z");
    assert_eq!(b.record_time.to_string(), "0001-01-01T00:00:00Z");
    assert_eq!(a["contractIds"].as_array().unwrap().len(), 2);
    let history = treasury_history(&client, &treasury, 0).await;
    let at_min: Vec<_> = history
        .values()
        .filter(|(_, rt)| rt == "0001-01-01T00:00:00Z")
        .collect();
    assert_eq!(at_min.len(), 2, "two updates share one record time");
    // Record times now go backwards in offset order.
    let mut by_offset: Vec<_> = history.values().cloned().collect();
    by_offset.sort();
    assert!(by_offset.windows(2).any(|w| w[1].1 < w[0].1));

    sandbox.restore(&backup);
    let after = treasury_history(&client, &treasury, 0).await;
    assert!(!after.contains_key(a["updateId"].as_str().unwrap()));
    assert!(!after.contains_key(&b.update_id));
    let holdings = client
        .post("/sandbox/control/holdings", &json!({"owner": treasury}))
        .await
        .ok();
    assert!(
        holdings
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["amount"] != "5.0000000000" && h["amount"] != "5")
    );
}
