//! Loading the official vectors from `../shared/specs/canton/test-vectors` (never copied into the
//! repository). Missing folder: the test says SKIPPED, except under CI=true, where it fails.

#![allow(dead_code)]

use std::path::PathBuf;

use base64::Engine;
use serde_json::Value as Json;

/// `../shared` of the checkout (`CARGO_MANIFEST_DIR/../../../shared`); from a git worktree nested
/// deeper, the nearest ancestor's `shared/` that has the vectors.
pub fn vectors_dir() -> Option<PathBuf> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sub = "shared/specs/canton/test-vectors";
    let canonical = crate_dir.join("../../..").join(sub);
    let found = std::iter::once(canonical.clone())
        .chain(crate_dir.ancestors().map(|dir| dir.join(sub)))
        .find(|dir| dir.is_dir());
    if found.is_some() {
        return found;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing {}",
        canonical.display()
    );
    eprintln!("SKIPPED: missing {}", canonical.display());
    None
}

/// The JSON vector file `name`, or `None` (SKIPPED) when the folder is missing.
pub fn load(name: &str) -> Option<Json> {
    let path = vectors_dir()?.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(serde_json::from_str(&text).unwrap())
}

pub fn base64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

pub fn str_field<'a>(json: &'a Json, field: &str) -> &'a str {
    json[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {json}"))
}

pub const UNIT_VECTORS: &str = "canton-3.4.11-hash-v2-unit-vectors.json";
pub const FIXTURE: &str = "canton-3.4.11-fixture-prepared-transaction.json";
pub const WALLET_SDK: &str = "wallet-sdk-prepared-transactions.json";

/// The prepared transaction bytes of every vector file that has some: (name, bytes).
pub fn real_prepared_transactions() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Some(fixture) = load(FIXTURE) {
        out.push((
            "fixture".to_string(),
            base64(str_field(&fixture, "prepared_transaction_base64")),
        ));
    }
    if let Some(wallet) = load(WALLET_SDK) {
        for vector in wallet["vectors"].as_array().unwrap() {
            let bytes = base64(str_field(vector, "prepared_transaction_base64"));
            out.push((str_field(vector, "name").to_string(), bytes));
        }
    }
    out
}
