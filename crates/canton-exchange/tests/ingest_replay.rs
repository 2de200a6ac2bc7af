//! `canton-exchange ingest --ledger file:…`, `holdings` and `status` end to end: replaying the
//! real LocalNet recordings gives the Java blueprint's final state (active holdings and the
//! last ingested offset, record time, update id and synchronizer).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use common::{fixtures, run, succeeded};
use serde_json::Value;

/// Every line a JSON log event with its time, level, target and message; ingestion's start
/// among them with its offset as a field.
fn json_logs(stderr: &str) {
    let events: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        for key in ["timestamp", "level", "target"] {
            assert!(e[key].is_string(), "{key}: {e}");
        }
        assert!(e["fields"]["message"].is_string(), "{e}");
    }
    assert!(
        events.iter().any(|e| e["fields"]["from"] == 0
            && e["fields"]["message"]
                .as_str()
                .unwrap()
                .starts_with("ingesting after offset 0")),
        "{stderr}"
    );
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The number as the blueprint wrote it, as exact decimal text with 10 places.
fn exact(v: &Value) -> String {
    let s = v.to_string();
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    format!("{int}.{frac:0<10}")
}

/// The recordings' Canton Coin (both DSOs) onboarded, as an operator does before ingesting.
fn onboard_canton_coin(db: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = exchange_store::Store::open(db).await.unwrap();
        for dso in [
            "dso::normalized",
            "DSO::12209431d07c316412c8f76bb30f1c75bd0b6b05ff5b69fd7975b139a8e03ee18c36",
        ] {
            store
                .onboard_token(&exchange_core::tokens::OnboardedToken {
                    instrument: exchange_core::InstrumentId {
                        admin: exchange_core::PartyId::new(dso).unwrap(),
                        id: "Amulet".into(),
                    },
                    registry_url: "http://scan-proxy.invalid".into(),
                    transfer_kind: exchange_core::tokens::TokenTransferKind::OneStep,
                    package_names: ["splice-amulet".to_owned()].into(),
                })
                .await
                .unwrap();
        }
        store.close().await;
    });
}

fn replay(recording: &Path, expected: &Path) {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(expected).unwrap()).unwrap();
    let party = expected["treasuryParty"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("replay.db").display());
    onboard_canton_coin(&db);
    let ledger = format!("file:{}", recording.display());
    for format in ["json", "human"] {
        // The second run finds everything ingested and changes nothing.
        let out = succeeded(&[
            "ingest",
            "--once",
            "--party",
            party,
            "--ledger",
            &ledger,
            "--db",
            &db,
            "--log-format",
            format,
        ]);
        if format == "json" {
            json_logs(&String::from_utf8(out.stderr).unwrap());
        }
    }

    let holdings = json(&succeeded(&["holdings", "--db", &db, "--format", "json"]));
    // Amount and lock (the holding view's lock itself, or null) of each active holding.
    let got: BTreeMap<String, (String, Value)> = holdings
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert_eq!(h["owner"], party);
            (
                h["contractId"].as_str().unwrap().to_owned(),
                (h["amount"].as_str().unwrap().to_owned(), h["lock"].clone()),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, Value)> = expected["activeHoldings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(cid, h)| {
            let lock = h.get("lock").cloned().unwrap_or(Value::Null);
            (cid.clone(), (exact(&h["amount"]), lock))
        })
        .collect();
    assert_eq!(got, want);

    let status = json(&succeeded(&[
        "status", "--db", &db, "--format", "json", "--ledger", &ledger,
    ]));
    let checkpoint = &status["checkpoint"];
    assert_eq!(checkpoint["offset"], expected["lastIngestedOffset"]);
    assert_eq!(checkpoint["updateId"], expected["lastIngestedUpdateId"]);
    assert_eq!(checkpoint["recordTime"], expected["lastIngestedRecordTime"]);
    assert_eq!(
        checkpoint["synchronizerId"],
        expected["sourceSynchronizerId"]
    );
    assert_eq!(status["lag"], 0);
    let recorded: exchange_core::Timestamp =
        checkpoint["recordTime"].as_str().unwrap().parse().unwrap();
    let behind = (exchange_core::Timestamp::now().micros() - recorded.micros()) / 1_000_000;
    let reported = status["recordTimeLagSeconds"].as_i64().unwrap();
    assert!(
        (reported..=reported + 5).contains(&behind),
        "{reported} vs {behind}"
    );

    // The table forms are readable too.
    let table = String::from_utf8(succeeded(&["status", "--db", &db]).stdout).unwrap();
    assert!(table.contains("checkpoint offset"), "{table}");
    assert!(table.contains("behind wall clock"), "{table}");
    // The table counts the treasury's funds; holdings of tokens not onboarded (the splice
    // recording's own `DummyHolding`) are listed apart, never counted.
    let held_back = holdings
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| !h["heldBack"].is_null())
        .count();
    let table = String::from_utf8(succeeded(&["holdings", "--db", &db]).stdout).unwrap();
    assert!(
        table.contains(&format!("{} active holdings", want.len() - held_back)),
        "{table}"
    );
    assert_eq!(
        table.contains("held back, never counted or spent"),
        held_back > 0
    );
}

#[test]
fn the_localnet_deposit_and_withdrawal() {
    let Some(dir) = fixtures() else { return };
    let d = dir.join("localnet-treasury");
    replay(
        &d.join("one-step-deposit-and-withdraw.json"),
        &d.join("one-step-deposit-and-withdraw_treasury_expected.json"),
    );
}

#[test]
fn the_splice_test_cases() {
    let Some(dir) = fixtures() else { return };
    let d = dir.join("localnet-treasury");
    replay(
        &d.join("splice-test-cases.json"),
        &d.join("splice-test-cases_treasury_expected.json"),
    );
}

#[test]
fn strict_mode_stops_before_unexpected_data() {
    let Some(dir) = fixtures() else { return };
    let recording = dir.join("localnet-treasury/splice-test-cases.json");
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("strict.db").display());
    onboard_canton_coin(&db);
    let ledger = format!("file:{}", recording.display());
    let out = run(&[
        "ingest",
        "--once",
        "--strict",
        "--party",
        "treasury::normalized",
        "--ledger",
        &ledger,
        "--db",
        &db,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("update-21"), "{stderr}");
    // The checkpoint is just before the transaction that stopped it.
    let status = json(&succeeded(&["status", "--db", &db, "--format", "json"]));
    assert_eq!(status["checkpoint"]["offset"], 20);
}
