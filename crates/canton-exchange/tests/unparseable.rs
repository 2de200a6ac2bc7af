//! A transaction ingestion cannot parse is never dropped: by default `ingest` stops just before
//! it, naming it; with `--quarantine-unparseable` it is set aside (shown by `status` and
//! `quarantine list`) and `quarantine retry` applies it once the cause is fixed, crediting it
//! exactly once and mirroring its holdings as the later transactions left them. The LocalNet
//! recording (a 100 Amulet deposit, then a 20 Amulet withdrawal spending it) with the deposit's
//! amount made unparseable (11 decimals), on SQLite and PostgreSQL, through the real binary.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures, run, succeeded};
use exchange_core::changeset::AccountId;
use exchange_core::{Amount, InstrumentId};
use harness::TestDb;
use serde_json::Value;

const TREASURY: &str =
    "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8";
const DEPOSIT_MEMO: &str = "fd53f70c-5c3e-4324-b678-bc6ca90f7325";

fn recording() -> Option<PathBuf> {
    fixtures().map(|dir| dir.join("localnet-treasury/one-step-deposit-and-withdraw.json"))
}

fn status(db: &str) -> Value {
    serde_json::from_slice(&succeeded(&["status", "--db", db, "--format", "json"]).stdout).unwrap()
}

fn active_holdings(db: &str) -> Vec<String> {
    let out = succeeded(&["holdings", "--db", db, "--format", "json"]);
    let holdings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut amounts: Vec<String> = holdings
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["amount"].as_str().unwrap().to_owned())
        .collect();
    amounts.sort();
    amounts
}

async fn credited(db: &str) -> Amount {
    let store = exchange_store::Store::open(db).await.unwrap();
    let balances = store
        .balances(&AccountId::new(DEPOSIT_MEMO).unwrap())
        .await
        .unwrap();
    store.close().await;
    balances
        .into_iter()
        .find(|(i, _): &(InstrumentId, Amount)| i.id == "Amulet")
        .map_or(Amount::ZERO, |(_, a)| a)
}

/// The recording with the deposit's amount written with 11 decimals (as a hostile or broken
/// node might), and its update id.
fn broken_copy(original: &Path, dir: &Path) -> (PathBuf, String) {
    let text = std::fs::read_to_string(original).unwrap();
    let mut elements: Vec<Value> = serde_json::from_str(&text).unwrap();
    let deposit = serde_json::to_string(&elements[0]).unwrap();
    assert_eq!(deposit.matches("\"100.0000000000\"").count(), 4);
    elements[0] =
        serde_json::from_str(&deposit.replace("\"100.0000000000\"", "\"100.00000000001\""))
            .unwrap();
    let update_id = transaction(&elements[0])["updateId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = dir.join("broken.json");
    std::fs::write(&path, serde_json::to_string(&elements).unwrap()).unwrap();
    (path, update_id)
}

fn transaction(element: &Value) -> &Value {
    element
        .pointer("/update/Transaction/value")
        .or_else(|| element.get("transaction"))
        .unwrap_or(element)
}

async fn an_unparseable_deposit_is_never_lost(db: &TestDb) {
    let Some(original) = recording() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (broken, update_id) = broken_copy(&original, dir.path());
    let fixed = format!("file:{}", original.display());
    let broken = format!("file:{}", broken.display());
    let url = db.url.as_str();
    let store = exchange_store::Store::open(url).await.unwrap();
    store
        .create_account(&AccountId::new(DEPOSIT_MEMO).unwrap(), "customer-1")
        .await
        .unwrap();
    // The recording's Canton Coin, onboarded as an operator would.
    store
        .onboard_token(&exchange_core::tokens::OnboardedToken {
            instrument: InstrumentId {
                admin: exchange_core::PartyId::new(
                    "DSO::12209431d07c316412c8f76bb30f1c75bd0b6b05ff5b69fd7975b139a8e03ee18c36",
                )
                .unwrap(),
                id: "Amulet".into(),
            },
            registry_url: "http://scan-proxy.invalid".into(),
            transfer_kind: exchange_core::tokens::TokenTransferKind::OneStep,
            package_names: ["splice-amulet".to_owned()].into(),
        })
        .await
        .unwrap();
    store.close().await;
    let ingest = [
        "ingest", "--once", "--party", TREASURY, "--db", url, "--ledger",
    ];

    // The default: stop just before it, naming it and the way on; again on a second run.
    for _ in 0..2 {
        let out = run(&[&ingest[..], &[broken.as_str()]].concat());
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&update_id), "{stderr}");
        assert!(stderr.contains("cannot be parsed"), "{stderr}");
        assert!(stderr.contains("--quarantine-unparseable"), "{stderr}");
        assert!(
            status(url)["checkpoint"].is_null(),
            "nothing after it ingested"
        );
    }

    // Quarantined: ingestion goes on; the deposit is held, shown, not credited.
    let quarantine = [&ingest[..], &[broken.as_str(), "--quarantine-unparseable"]].concat();
    succeeded(&quarantine);
    let s = status(url);
    assert_eq!(s["quarantined"][0]["updateId"], update_id.as_str());
    assert!(
        s["quarantined"][0]["error"]
            .as_str()
            .unwrap()
            .contains("100.00000000001")
    );
    assert_eq!(credited(url).await, Amount::ZERO);
    let list = String::from_utf8(succeeded(&["quarantine", "list", "--db", url]).stdout).unwrap();
    assert!(list.contains("1 held, 0 released"), "{list}");

    // Retried from the kept copy, it still does not parse: held, and said so.
    let out = run(&["quarantine", "retry", "--db", url]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 released, 1 still held"));

    // The node's copy parses: released, credited once, the holding it created mirrored as spent
    // by the withdrawal that followed (the blueprint's final holdings: the change of 80).
    let retry = [
        "quarantine",
        "retry",
        "--db",
        url,
        "--ledger",
        fixed.as_str(),
    ];
    let out = succeeded(&retry);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 released, 0 still held"));
    assert_eq!(credited(url).await, Amount::from_whole(100));
    assert_eq!(active_holdings(url), ["80.0000000000"]);
    assert_eq!(status(url)["quarantined"], Value::Array(vec![]));

    // Exactly once: retried again, replayed again, nothing changes.
    succeeded(&retry);
    succeeded(&quarantine);
    succeeded(&[&ingest[..], &[fixed.as_str()]].concat());
    assert_eq!(credited(url).await, Amount::from_whole(100));
    assert_eq!(active_holdings(url), ["80.0000000000"]);
}

/// A deposit at offset -5 was sorted before the beginning of a recording and never delivered:
/// "0 anomalies", even with --strict. It is refused, naming the offset, in both recording forms.
async fn a_negative_offset_is_refused_not_dropped(db: &TestDb) {
    let Some(original) = recording() else { return };
    succeeded(&["migrate", "--db", &db.url]);
    let dir = tempfile::tempdir().unwrap();
    let mut elements: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&original).unwrap()).unwrap();
    let path = if elements[0].pointer("/update/Transaction/value").is_some() {
        "/update/Transaction/value/offset"
    } else {
        "/offset"
    };
    *elements[0].pointer_mut(path).unwrap() = Value::from(-5);
    let array = dir.path().join("array.json");
    std::fs::write(&array, serde_json::to_string(&elements).unwrap()).unwrap();
    let lines = dir.path().join("lines.jsonl");
    let text: Vec<String> = elements.iter().map(|e| e.to_string()).collect();
    std::fs::write(&lines, text.join("\n")).unwrap();
    for file in [array, lines] {
        for strict in [false, true] {
            let ledger = format!("file:{}", file.display());
            let mut args = vec![
                "ingest", "--once", "--party", TREASURY, "--db", &db.url, "--ledger", &ledger,
            ];
            if strict {
                args.push("--strict");
            }
            let out = run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{file:?}: {stderr}");
            assert!(stderr.contains("offset -5"), "{stderr}");
        }
    }
    assert!(status(&db.url)["checkpoint"].is_null(), "nothing ingested");
}

conformance!(
    an_unparseable_deposit_is_never_lost,
    a_negative_offset_is_refused_not_dropped
);
