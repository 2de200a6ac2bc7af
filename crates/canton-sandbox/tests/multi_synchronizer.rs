//! A node connected to two synchronizers (the `multi-sync` scenario: SBX on a second
//! synchronizer whose clock runs behind the global one): per-synchronizer clocks and record
//! times, one node-wide offset sequence, checkpoints with one time per synchronizer, reads and
//! submissions naming the right synchronizer, routing errors, and a restore that re-delivers
//! each synchronizer's updates.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_sandbox::http::error::ApiError;
use canton_sandbox::model::tree::parties;
use canton_sandbox::model::{Fetch, LedgerError, Node as TxNode, SubmissionMeta};
use canton_sandbox::token::{InstructionChoice, OfferRequest, TransferRequest};
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use common::transfer::Transfer;
use common::*;
use exchange_core::{Amount, Timestamp};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn start_multi() -> (Sandbox, Client) {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::MultiSync,
        ..Default::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    (sandbox, client)
}

/// (global id, second id).
fn ids(sandbox: &Sandbox) -> (String, String) {
    let info = sandbox.info();
    assert_eq!(info.synchronizers.len(), 2);
    (
        info.synchronizers[0].synchronizer_id.clone(),
        info.synchronizers[1].synchronizer_id.clone(),
    )
}

fn is_synchronizer_id(id: &str, identifier: &str) -> bool {
    let Some((head, namespace)) = id.split_once("::") else {
        return false;
    };
    head == identifier
        && namespace.len() == 68
        && namespace.starts_with("1220")
        && namespace.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn time_of(client: &Client, synchronizer: &str) -> Timestamp {
    let v = client
        .get(&format!(
            "/sandbox/control/time?synchronizer={synchronizer}"
        ))
        .await
        .ok();
    v["recordTime"].as_str().unwrap().parse().unwrap()
}

/// Every update of the treasury's stream, as (offset, synchronizer id, record time, update id).
async fn stream(client: &Client, treasury: &str) -> Vec<(i64, String, Timestamp, String)> {
    let end = client.ledger_end().await;
    let mut out = Vec::new();
    let mut begin = 0;
    while begin < end {
        let page = client
            .post(
                "/v2/updates?limit=200",
                &updates_request(
                    treasury,
                    "TRANSACTION_SHAPE_LEDGER_EFFECTS",
                    begin,
                    Some(end),
                ),
            )
            .await
            .ok();
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        for element in page {
            let tx = &element["update"]["Transaction"]["value"];
            begin = tx["offset"].as_i64().unwrap();
            out.push((
                begin,
                tx["synchronizerId"].as_str().unwrap().to_owned(),
                tx["recordTime"].as_str().unwrap().parse().unwrap(),
                tx["updateId"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn the_default_node_has_one_synchronizer_and_multi_sync_has_two() {
    let single = start_empty().await;
    let info = single.info();
    assert_eq!(info.synchronizers.len(), 1);
    assert_eq!(info.synchronizers[0].synchronizer_id, info.synchronizer_id);
    let answer = Client::new(&single)
        .get("/v2/state/connected-synchronizers")
        .await
        .ok();
    assert_eq!(
        answer["connectedSynchronizers"].as_array().unwrap().len(),
        1
    );

    let (sandbox, client) = start_multi().await;
    let (global, second) = ids(&sandbox);
    let info = sandbox.info();
    // Compatibility: `synchronizerId` stays the global one.
    assert_eq!(info.synchronizer_id, global);
    assert!(is_synchronizer_id(&global, "global-domain"), "{global}");
    assert!(is_synchronizer_id(&second, "sbx-synchronizer"), "{second}");
    let token_sync: BTreeMap<_, _> = info
        .tokens
        .iter()
        .map(|t| (t.instrument_id.as_str(), t.synchronizer_id.as_str()))
        .collect();
    assert_eq!(token_sync["Amulet"], global);
    assert_eq!(token_sync["SBX"], second);
    let answer = client.get("/v2/state/connected-synchronizers").await.ok();
    assert_eq!(
        answer,
        json!({"connectedSynchronizers": [
            {"synchronizerAlias": "global", "synchronizerId": global,
             "permission": "PARTICIPANT_PERMISSION_UNSPECIFIED"},
            {"synchronizerAlias": "sbx", "synchronizerId": second,
             "permission": "PARTICIPANT_PERMISSION_UNSPECIFIED"},
        ]})
    );
    // Asked about a party: the synchronizers this participant hosts it on, with its
    // permission; nothing for a party it does not host or for another participant.
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let hosted = client
        .get(&format!(
            "/v2/state/connected-synchronizers?party={treasury}"
        ))
        .await
        .ok();
    let listed = hosted["connectedSynchronizers"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for (entry, id) in listed.iter().zip([&global, &second]) {
        assert_eq!(entry["synchronizerId"], id.as_str());
        assert_eq!(entry["permission"], "PARTICIPANT_PERMISSION_SUBMISSION");
    }
    for query in [
        "party=nobody::1220ab".to_owned(),
        format!("party={treasury}&participantId=PAR::other::1220ab"),
    ] {
        let none = client
            .get(&format!("/v2/state/connected-synchronizers?{query}"))
            .await
            .ok();
        assert_eq!(none, json!({"connectedSynchronizers": []}), "{query}");
    }
}

#[tokio::test]
async fn each_synchronizer_has_its_own_clock() {
    let (sandbox, client) = start_multi().await;
    let (global, second) = ids(&sandbox);
    let a = time_of(&client, "global").await;
    let b = time_of(&client, &second).await;
    assert!(b < a, "the second synchronizer runs behind: {b} vs {a}");
    // The default is the global synchronizer.
    let v = client.get("/sandbox/control/time").await.ok();
    assert_eq!(v["synchronizerId"], global.as_str());
    assert_eq!(v["recordTime"], a.to_string());

    // Advancing one (by alias or id) leaves the other alone.
    let v = client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 1_500_000, "synchronizer": "sbx"}),
        )
        .await
        .ok();
    assert_eq!(v["synchronizerId"], second.as_str());
    let b2 = time_of(&client, "sbx").await;
    assert_eq!(b2.micros(), b.micros() + 1_500_000);
    assert_eq!(time_of(&client, "global").await, a);
    let to = Timestamp::from_micros(b2.micros() + 7).unwrap();
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"to": to, "synchronizer": second}),
        )
        .await
        .ok();
    assert_eq!(time_of(&client, "sbx").await, to);
    // Backwards, or a synchronizer the node is not connected to: refused.
    let back = client
        .post(
            "/sandbox/control/advance-time",
            &json!({"to": b, "synchronizer": "sbx"}),
        )
        .await;
    assert_eq!(back.status, 400, "{}", back.text);
    let unknown = client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 1, "synchronizer": "nowhere"}),
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert_eq!(
        client
            .get("/sandbox/control/time?synchronizer=nowhere")
            .await
            .status,
        400
    );

    // A transaction takes the next record time of its own synchronizer only.
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let minted = client
        .post(
            "/sandbox/control/token/mint",
            &json!({"owner": treasury, "amount": "1"}),
        )
        .await
        .ok();
    let minted_at: Timestamp = minted["recordTime"].as_str().unwrap().parse().unwrap();
    assert!(minted_at > to && minted_at < a, "{minted_at}");
    assert_eq!(time_of(&client, "global").await, a);
}

#[tokio::test]
async fn record_times_increase_per_synchronizer_and_interleave_in_offset_order() {
    let (sandbox, client) = start_multi().await;
    let (global, second) = ids(&sandbox);
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let updates = stream(&client, &treasury).await;
    // Which command made which update (the treasury sees command ids of its own commands only).
    let command_of: BTreeMap<String, String> = sandbox.with_world(|w| {
        w.ledger
            .log()
            .iter()
            .map(|tx| (tx.update_id.clone(), tx.command_id.clone()))
            .collect()
    });
    let mut last: BTreeMap<&str, Timestamp> = BTreeMap::new();
    let mut went_back = 0;
    for (i, (offset, sync, time, update_id)) in updates.iter().enumerate() {
        let command = &command_of[update_id];
        let expected = if command.contains("sbx") || command.starts_with("sandbox-token") {
            &second
        } else {
            &global
        };
        assert_eq!(sync, expected, "{command} at {offset}");
        if let Some(before) = last.insert(sync.as_str(), *time) {
            assert!(*time > before, "{sync}: {time} after {before}");
        }
        if i > 0 && *time < updates[i - 1].2 {
            went_back += 1;
        }
    }
    // Each of the multi-sync rounds goes from a Canton Coin deposit to an SBX offer whose
    // record time is lower, at a higher offset.
    assert!(went_back >= 4, "{went_back}");
    assert!(updates.iter().any(|u| u.1 == second));

    // Point reads and the ACS name the synchronizer of the update or contract.
    let (offset, sync, _, update_id) = updates.iter().find(|u| u.1 == second).unwrap().clone();
    let format = json!({"includeTransactions": {"eventFormat": guide_filter(&treasury),
        "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}});
    let by_id = client
        .post(
            "/v2/updates/update-by-id",
            &json!({"updateId": update_id, "updateFormat": format}),
        )
        .await
        .ok();
    assert_eq!(
        by_id["update"]["Transaction"]["value"]["synchronizerId"],
        sync
    );
    let by_offset = client
        .post(
            "/v2/updates/update-by-offset",
            &json!({"offset": offset, "updateFormat": format}),
        )
        .await
        .ok();
    assert_eq!(
        by_offset["update"]["Transaction"]["value"]["synchronizerId"],
        sync
    );
    let end = client.ledger_end().await;
    let acs = client
        .post(
            "/v2/state/active-contracts",
            &json!({"activeAtOffset": end, "eventFormat": guide_filter(&treasury)}),
        )
        .await
        .ok();
    let mut seen = BTreeMap::new();
    for entry in acs.as_array().unwrap() {
        let c = &entry["contractEntry"]["JsActiveContract"];
        let template = c["createdEvent"]["templateId"].as_str().unwrap();
        let expected = if template.contains("Splice.") {
            &global
        } else {
            &second
        };
        assert_eq!(c["synchronizerId"], expected.as_str(), "{template}");
        *seen
            .entry(c["synchronizerId"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
        let events = client
            .post(
                "/v2/events/events-by-contract-id",
                &json!({"contractId": c["createdEvent"]["contractId"],
                    "eventFormat": guide_filter(&treasury)}),
            )
            .await
            .ok();
        assert_eq!(events["created"]["synchronizerId"], expected.as_str());
    }
    assert_eq!(seen.len(), 2, "contracts on both synchronizers: {seen:?}");
}

#[tokio::test]
async fn checkpoints_carry_one_time_per_synchronizer() {
    let (sandbox, client) = start_multi().await;
    let (global, second) = ids(&sandbox);
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let end = client.ledger_end().await;
    let tail = |begin: i64| {
        let request = updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", begin, None);
        let client = &client;
        async move {
            client
                .post("/v2/updates?stream_idle_timeout_ms=200", &request)
                .await
                .ok()
        }
    };
    let page = tail(end).await;
    let checkpoint = &page[0]["update"]["OffsetCheckpoint"]["value"];
    assert_eq!(checkpoint["offset"], end);
    let expected = |a: Timestamp, b: Timestamp| {
        json!([
            {"synchronizerId": global, "recordTime": a.to_string()},
            {"synchronizerId": second, "recordTime": b.to_string()},
        ])
    };
    let a = time_of(&client, "global").await;
    let b = time_of(&client, "sbx").await;
    assert_eq!(checkpoint["synchronizerTimes"], expected(a, b));

    // Time passing on one synchronizer only moves its entry.
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 60_000_000, "synchronizer": "sbx"}),
        )
        .await
        .ok();
    let b2 = time_of(&client, "sbx").await;
    let page = tail(end).await;
    assert_eq!(
        page[0]["update"]["OffsetCheckpoint"]["value"]["synchronizerTimes"],
        expected(a, b2)
    );

    // The websocket tail: transactions, then a checkpoint with both times.
    let url = format!("{}/v2/updates", client.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let request = updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", end - 2, None);
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    let mut frames = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        let Message::Text(text) = frame else { continue };
        let v: Value = serde_json::from_str(&text).unwrap();
        let done = v["update"].get("OffsetCheckpoint").is_some();
        frames.push(v);
        if done {
            break;
        }
    }
    assert!(frames.len() >= 2, "{frames:?}");
    let last = frames.last().unwrap();
    assert_eq!(
        last["update"]["OffsetCheckpoint"]["value"]["synchronizerTimes"],
        expected(a, b2)
    );
    socket.close(None).await.ok();
}

/// SBX through the Ledger API: completions carry the SBX synchronizer and its record time; a
/// prescribed `synchronizerId` is honoured, checked and defaulted by prepare.
#[tokio::test]
async fn submissions_commit_where_their_inputs_live() {
    let (sandbox, client) = start_multi().await;
    let (global, second) = ids(&sandbox);
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let alice = sandbox.parties().customers["alice"].clone();
    let (factory, admin) = registry_factory(&sandbox, "SBX", &treasury).await;
    let command = |id: &str, synchronizer: Option<&str>| {
        let mut c = Transfer::new(&admin, "SBX", &treasury, &alice, "3")
            .submission(&factory, id, &treasury);
        if let Some(s) = synchronizer {
            c["synchronizerId"] = json!(s);
        }
        c
    };
    let begin = client.ledger_end().await;
    let done = client
        .submit_and_wait(&with_registry_disclosures(&sandbox, command("sbx-1", None)).await)
        .await
        .ok();
    let done2 = client
        .submit_and_wait(
            &with_registry_disclosures(&sandbox, command("sbx-2", Some(&second))).await,
        )
        .await
        .ok();
    let completions = client
        .post(
            "/v2/commands/completions?stream_idle_timeout_ms=200",
            &json!({"userId": "exchange", "parties": [treasury], "beginExclusive": begin}),
        )
        .await
        .ok();
    let completions = completions.as_array().unwrap();
    assert_eq!(completions.len(), 2);
    let b = time_of(&client, "sbx").await;
    for (c, done) in completions.iter().zip([&done, &done2]) {
        let c = &c["completionResponse"]["Completion"]["value"];
        assert_eq!(c["updateId"], done["updateId"]);
        assert_eq!(c["synchronizerTime"]["synchronizerId"], second.as_str());
        let t: Timestamp = c["synchronizerTime"]["recordTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(t <= b);
    }
    assert_eq!(
        completions[1]["completionResponse"]["Completion"]["value"]["synchronizerTime"]["recordTime"],
        b.to_string()
    );

    // The registries disclose each token's contracts with the synchronizer they live on.
    for token in sandbox.info().tokens {
        let arguments = json!({"expectedAdmin": token.admin, "transfer": {
                "sender": treasury, "receiver": alice, "amount": "1",
                "instrumentId": {"admin": token.admin, "id": token.instrument_id},
                "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
                "inputHoldingCids": [], "meta": {"values": {}}},
                "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}});
        let answer = transfer_factory(&token.registry_url, &arguments).await;
        let disclosed = answer["choiceContext"]["disclosedContracts"]
            .as_array()
            .unwrap();
        assert!(!disclosed.is_empty(), "{answer}");
        for d in disclosed {
            assert_eq!(d["synchronizerId"], token.synchronizer_id.as_str(), "{d}");
        }
    }

    // Deduplication reads the clock of the synchronizer the change was accepted on: five
    // minutes on the SBX synchronizer's clock (ten minutes behind the global one) still
    // cover the acceptance of sbx-1 above.
    let mut again = with_registry_disclosures(&sandbox, command("sbx-1", None)).await;
    again["deduplicationPeriod"] =
        json!({"DeduplicationDuration": {"value": {"seconds": 300, "nanos": 0}}});
    let duplicate = client.submit_and_wait(&again).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    assert_eq!(duplicate.json()["code"], "DUPLICATE_COMMAND");

    // Prescribing the other synchronizer: the inputs are not there.
    let wrong = client
        .submit_and_wait(
            &with_registry_disclosures(&sandbox, command("sbx-3", Some(&global))).await,
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    let e = wrong.json();
    assert_eq!(e["code"], "INVALID_PRESCRIBED_SYNCHRONIZER_ID");
    assert_eq!(
        e["cause"],
        format!("The needed input contracts are not on {global}, but on {second}")
    );
    // A synchronizer the node is not connected to.
    let unknown = client
        .submit_and_wait(
            &with_registry_disclosures(&sandbox, command("sbx-4", Some("other::1220ab"))).await,
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(unknown.json()["code"], "SUBMISSION_SYNCHRONIZER_NOT_READY");

    // Prepare without a synchronizer picks the inputs' one and records it in the prepared
    // transaction's metadata (Canton's protobuf), so execution commits there.
    let mut prepare = with_registry_disclosures(&sandbox, command("sbx-5", None)).await;
    prepare.as_object_mut().unwrap().remove("synchronizerId");
    let prepared = client
        .post("/v2/interactive-submission/prepare", &prepare)
        .await
        .ok();
    let bytes = BASE64
        .decode(prepared["preparedTransaction"].as_str().unwrap())
        .unwrap();
    let decoded = canton_interactive::decode_prepared_transaction(&bytes).unwrap();
    assert_eq!(decoded.metadata.unwrap().synchronizer_id, second);
    prepare["synchronizerId"] = json!(global);
    let wrong = client
        .post("/v2/interactive-submission/prepare", &prepare)
        .await;
    assert_eq!(wrong.json()["code"], "INVALID_PRESCRIBED_SYNCHRONIZER_ID");
}

#[tokio::test]
async fn a_transaction_using_contracts_of_two_synchronizers_is_refused() {
    let (sandbox, _client) = start_multi().await;
    let (global, second) = ids(&sandbox);
    let error = sandbox.with_world(|w| {
        let dso = w.amulet.dso.clone();
        let reads = vec![
            TxNode::Fetch(Fetch {
                contract_id: w.amulet.amulet_rules.clone(),
                acting_parties: parties([dso.as_str()]),
            }),
            TxNode::Fetch(Fetch {
                contract_id: w.token.factory.clone(),
                acting_parties: parties([dso.as_str()]),
            }),
        ];
        let end = w.ledger.ledger_end();
        let error = w
            .ledger
            .transact::<LedgerError>(
                SubmissionMeta {
                    command_id: "both".into(),
                    act_as: parties([dso.as_str()]),
                    ..Default::default()
                },
                |_| Ok(reads),
            )
            .map(|_| ())
            .unwrap_err();
        assert_eq!(w.ledger.ledger_end(), end, "nothing committed");
        error
    });
    assert_eq!(
        error,
        LedgerError::MultiSynchronizer(vec![global.clone(), second.clone()])
    );
    let ApiError::Canton(e) = ApiError::from(error) else {
        panic!("a Canton error")
    };
    assert_eq!(e.code, "MULTI_SYNCHRONIZER_SUPPORT_NOT_ENABLED");
    assert_eq!(e.error_category, 9);
    assert!(
        e.cause.contains(&format!("Set({global}, {second})")),
        "{}",
        e.cause
    );
}

/// A restore re-delivers each synchronizer's updates since the backup: same update ids,
/// synchronizers and record times, new offsets; both clocks carry on from where they were.
#[tokio::test]
async fn restore_redelivers_the_updates_of_both_synchronizers() {
    let (sandbox, client) = start_multi().await;
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let bob = sandbox.parties().customers["bob"].clone();
    let backup = sandbox.backup();
    let backup_end = sandbox.ledger_end();
    sandbox.with_world(|w| {
        for i in 0..3 {
            w.amulet
                .transfer(
                    &mut w.ledger,
                    &TransferRequest {
                        sender: bob.clone(),
                        receiver: treasury.clone(),
                        amount: Amount::from_whole(1),
                        memo: Some("deposit-account-bob".into()),
                        inputs: None,
                        command_id: format!("after-backup-cc-{i}"),
                    },
                )
                .unwrap();
            let offer = w
                .token
                .offer(
                    &mut w.ledger,
                    &OfferRequest {
                        sender: bob.clone(),
                        receiver: treasury.clone(),
                        amount: Amount::from_whole(1),
                        memo: Some("deposit-account-bob".into()),
                        execute_before: None,
                        command_id: format!("after-backup-sbx-{i}"),
                    },
                )
                .unwrap();
            w.token
                .act(
                    &mut w.ledger,
                    &offer.transfer_instruction_cid,
                    InstructionChoice::Accept,
                    &format!("after-backup-accept-{i}"),
                )
                .unwrap();
        }
    });
    let history = |sandbox: &Sandbox| -> Vec<(i64, String, usize, Timestamp)> {
        sandbox.with_world(|w| {
            w.ledger
                .log()
                .iter()
                .map(|tx| {
                    (
                        tx.offset,
                        tx.update_id.clone(),
                        tx.synchronizer,
                        tx.record_time,
                    )
                })
                .collect()
        })
    };
    let before: Vec<_> = history(&sandbox)
        .into_iter()
        .filter(|u| u.0 > backup_end)
        .collect();
    assert_eq!(before.len(), 9);
    let a = time_of(&client, "global").await;
    let b = time_of(&client, "sbx").await;

    let report = sandbox.restore(&backup);
    assert_eq!(report.redelivered, 9);
    let after: Vec<_> = history(&sandbox)
        .into_iter()
        .filter(|u| u.0 > backup_end)
        .collect();
    assert_eq!(after.len(), 9);
    for (old, new) in before.iter().zip(&after) {
        assert_eq!((&old.1, old.2, old.3), (&new.1, new.2, new.3));
        assert!(
            new.0 > old.0.max(backup_end + 10),
            "new offsets: {new:?} {old:?}"
        );
    }
    assert_eq!(time_of(&client, "global").await, a);
    assert_eq!(time_of(&client, "sbx").await, b);
    // The per-synchronizer order of record times holds across the whole history.
    let mut last: BTreeMap<usize, Timestamp> = BTreeMap::new();
    for (offset, _, sync, time) in history(&sandbox) {
        if let Some(before) = last.insert(sync, time) {
            assert!(time > before, "synchronizer {sync} at {offset}");
        }
    }
    // The stream over the Ledger API shows the re-delivered updates on their synchronizers.
    let updates = stream(&client, &treasury).await;
    for (_, id, sync, time) in &after {
        let u = updates.iter().find(|u| &u.3 == id).expect("streamed");
        assert_eq!(u.1, sandbox.info().synchronizers[*sync].synchronizer_id);
        assert_eq!(u.2, *time);
    }
}
