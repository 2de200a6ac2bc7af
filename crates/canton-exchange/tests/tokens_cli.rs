//! `tokens add` and `tokens list` through the binary against `canton-exchange sandbox`, on SQLite
//! and PostgreSQL: a registry that does not confirm the instrument is refused with nothing
//! uploaded or recorded; a real `.dar` is uploaded (the node then serves its archives), its bytes
//! and package ids are recorded; onboarding twice is harmless; `tokens list` shows it all.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::path::{Path, PathBuf};

use common::{Running, Token, http_status, ok, refused};
use exchange_core::{InstrumentId, PartyId};
use harness::TestDb;
use serde_json::Value;

const HOLDING_V1_ID: &str = "718a0f77e505a8de22f188bd4c87fe74101274e9d4cb1bfac7d09aec7158d35b";
/// A dependency in the holding `.dar` that the sandbox does not have built in.
const METADATA_V1_ID: &str = "4ded6b668cb3b64f7a88a30874cd41c75829f5e064b3fbbadf41ec7e8363354f";

conformance!(
    a_registry_that_does_not_confirm_the_instrument_is_refused,
    a_dar_is_uploaded_recorded_and_listed_and_onboarding_twice_is_harmless,
    canton_coin_is_onboarded_by_package_name,
);

fn holding_dar() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/dars/splice-api-token-holding-v1-1.0.0.dar")
}

struct Node {
    _running: Running,
    ledger: String,
    sbx: Token,
    amulet: Token,
}

fn sandbox(dir: &Path) -> Node {
    let (running, info) = common::sandbox(dir, &["--scenario", "empty"]);
    Node {
        sbx: Token::of(&info, "SBX"),
        amulet: Token::of(&info, "Amulet"),
        ledger: info["ledgerApiUrl"].as_str().unwrap().to_owned(),
        _running: running,
    }
}

/// `tokens add` arguments for `token` at `node`, then `extra`.
fn add<'a>(db: &'a TestDb, node: &'a Node, t: &'a Token, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "tokens",
        "add",
        "--db",
        db.url.as_str(),
        "--ledger",
        node.ledger.as_str(),
        "--admin",
        t.admin.as_str(),
        "--instrument",
        t.id.as_str(),
        "--registry-url",
        t.registry.as_str(),
    ];
    args.extend_from_slice(extra);
    args
}

fn list_json(db: &TestDb) -> Value {
    serde_json::from_str(&ok(&[
        "tokens", "list", "--db", &db.url, "--format", "json",
    ]))
    .unwrap()
}

async fn a_registry_that_does_not_confirm_the_instrument_is_refused(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let node = sandbox(dir.path());
    ok(&["migrate", "--db", &db.url]);
    let dar = holding_dar();
    let dar = dar.to_str().unwrap();
    // SBX's id and --dar, but the admin claimed is the DSO.
    let wrong_admin = Token {
        admin: node.amulet.admin.clone(),
        id: node.sbx.id.clone(),
        registry: node.sbx.registry.clone(),
    };
    let why = refused(&add(db, &node, &wrong_admin, &["--dar", dar]));
    assert!(
        why.contains("does not confirm") && why.contains("admin"),
        "{why}"
    );
    let unknown = Token {
        admin: node.sbx.admin.clone(),
        id: "NOPE".into(),
        registry: node.sbx.registry.clone(),
    };
    let why = refused(&add(db, &node, &unknown, &["--dar", dar]));
    assert!(
        why.contains("does not confirm") && why.contains("404"),
        "{why}"
    );
    let unreachable = Token {
        admin: node.sbx.admin.clone(),
        id: node.sbx.id.clone(),
        registry: "http://127.0.0.1:9".into(),
    };
    let why = refused(&add(db, &node, &unreachable, &["--dar", dar]));
    assert!(why.contains("does not confirm"), "{why}");
    // Without a package name nothing could ever be credited: refused before anything else.
    let why = refused(&add(db, &node, &node.sbx, &[]));
    assert!(why.contains("no package name"), "{why}");
    // A file that is not a .dar.
    let not_dar = dir.path().join("x.dar");
    std::fs::write(&not_dar, b"hello").unwrap();
    let why = refused(&add(
        db,
        &node,
        &node.sbx,
        &["--dar", not_dar.to_str().unwrap()],
    ));
    assert!(why.contains("not a valid .dar"), "{why}");
    // Nothing uploaded, nothing recorded.
    assert_eq!(
        http_status(&node.ledger, &format!("/v2/packages/{METADATA_V1_ID}")),
        404
    );
    assert_eq!(list_json(db), Value::Array(vec![]));
    let store = db.open().await;
    assert!(store.onboarded_tokens().await.unwrap().is_empty());
}

async fn a_dar_is_uploaded_recorded_and_listed_and_onboarding_twice_is_harmless(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let node = sandbox(dir.path());
    let path = holding_dar();
    let dar = path.to_str().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        http_status(&node.ledger, &format!("/v2/packages/{METADATA_V1_ID}")),
        404,
        "the sandbox does not have it before"
    );
    let args = add(
        db,
        &node,
        &node.sbx,
        &["--dar", dar, "--transfer-kind", "multi-step"],
    );
    let first = ok(&args);
    assert!(
        first.contains(&format!("onboarded {}/SBX", node.sbx.admin)),
        "{first}"
    );
    assert!(first.contains("the node lists it"), "{first}");
    assert!(first.contains("ingestion will now credit"), "{first}");
    // The node has the archives now.
    for id in [HOLDING_V1_ID, METADATA_V1_ID] {
        assert_eq!(
            http_status(&node.ledger, &format!("/v2/packages/{id}")),
            200
        );
    }
    // Recorded: the bytes, every package id, the token with the dar's package name.
    let store = db.open().await;
    let sbx = InstrumentId {
        admin: PartyId::new(&node.sbx.admin).unwrap(),
        id: "SBX".into(),
    };
    let dars = store.token_dars(&sbx).await.unwrap();
    assert_eq!(dars.len(), 1);
    let recorded = &dars[0];
    assert_eq!(recorded.main_package_id, HOLDING_V1_ID);
    assert_eq!(recorded.content, bytes);
    assert_eq!(recorded.file_name, "splice-api-token-holding-v1-1.0.0.dar");
    assert_eq!(recorded.package_name, "splice-api-token-holding-v1");
    assert_eq!(recorded.package_version, "1.0.0");
    assert_eq!(recorded.package_ids.len(), 31);
    assert!(recorded.package_ids.iter().any(|id| id == METADATA_V1_ID));
    assert_eq!(recorded.content_hash.len(), 64);
    assert!(
        recorded
            .listed_at
            .is_some_and(|t| t >= recorded.uploaded_at)
    );
    assert!(recorded.ledger_end_before <= recorded.ledger_end_after);
    let tokens = store.onboarded_tokens().await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].package_names.iter().collect::<Vec<_>>(),
        ["splice-api-token-holding-v1"]
    );
    store.close().await;

    // Twice: harmless, and it says what it found.
    let second = ok(&args);
    assert!(second.contains("was onboarded already"), "{second}");
    assert!(second.contains("recorded before"), "{second}");
    let store = db.open().await;
    assert_eq!(store.token_dars(&sbx).await.unwrap(), dars);
    assert_eq!(store.onboarded_tokens().await.unwrap(), tokens);
    store.close().await;

    let listed = list_json(db);
    let entry = &listed[0];
    assert_eq!(entry["instrumentId"], "SBX");
    assert_eq!(entry["transferKind"], "multi-step");
    assert_eq!(entry["dars"][0]["mainPackageId"], HOLDING_V1_ID);
    assert_eq!(entry["dars"][0]["sha256"], recorded.content_hash.as_str());
    let table = ok(&["tokens", "list", "--db", &db.url]);
    assert!(
        table.contains("splice-api-token-holding-v1 1.0.0"),
        "{table}"
    );
    assert!(table.contains(&recorded.content_hash[..16]), "{table}");
    assert!(table.contains(&node.sbx.registry), "{table}");
}

async fn canton_coin_is_onboarded_by_package_name(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let node = sandbox(dir.path());
    let out = ok(&add(
        db,
        &node,
        &node.amulet,
        &["--package-name", "splice-amulet"],
    ));
    assert!(
        out.contains("package name splice-amulet: recorded"),
        "{out}"
    );
    let listed = list_json(db);
    assert_eq!(listed[0]["instrumentId"], "Amulet");
    assert_eq!(listed[0]["transferKind"], "one-step");
    assert_eq!(
        listed[0]["packageNames"],
        serde_json::json!(["splice-amulet"])
    );
    assert_eq!(listed[0]["dars"], serde_json::json!([]));
}
