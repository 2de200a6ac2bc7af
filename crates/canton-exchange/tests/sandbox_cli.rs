//! `canton-exchange sandbox --treasury-key FILE`, through the binary as an operator runs it: with
//! a 0600 key file it serves and its info file names the external treasury of that key; a key
//! file others may read is refused, naming the file and its mode and never the key.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{http_get, run, sandbox, secret_of};
use exchange_core::signing::Signer;
use exchange_services::signer::FileSigner;
use serde_json::Value;

/// A key file written by `keys generate`, and its secret.
fn key_file(dir: &Path) -> (PathBuf, String) {
    let (path, _) = common::key_file(dir, "treasury.key");
    let secret = secret_of(&path);
    (path, secret)
}

#[test]
fn sandbox_with_a_treasury_key_serves_an_external_treasury() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = key_file(dir.path());
    let fingerprint = FileSigner::load(&key).unwrap().public_key().fingerprint();
    let key = key.to_str().unwrap();
    let (running, info) = sandbox(dir.path(), &["--scenario", "basic", "--treasury-key", key]);
    assert_eq!(
        info["parties"]["treasury"],
        Value::String(format!("treasury::{fingerprint}"))
    );
    assert_eq!(
        info["parties"]["treasuryPublicKeyFingerprint"],
        Value::String(fingerprint.clone())
    );
    // It serves, with the basic story committed.
    let base = info["ledgerApiUrl"].as_str().unwrap();
    let (status, body) = http_get(base, "/v2/state/ledger-end");
    assert!(status.contains(" 200 "), "{status}");
    let end: Value = serde_json::from_str(&body).unwrap();
    assert!(end["offset"].as_i64().unwrap() > 20, "{body}");
    drop(running);
    let info_text = std::fs::read_to_string(dir.path().join("info.json")).unwrap();
    assert!(!info_text.contains(&secret));
}

#[test]
fn sandbox_refuses_a_treasury_key_file_others_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = key_file(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let info_path = dir.path().join("info.json");
    let out = run(&[
        "sandbox",
        "--scenario",
        "basic",
        "--treasury-key",
        key.to_str().unwrap(),
        "--info-file",
        info_path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stderr.contains(&key.display().to_string()), "{stderr}");
    assert!(stderr.contains("mode 0644"), "{stderr}");
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains(&secret), "the secret was shown: {shown}");
    }
    assert!(!info_path.exists(), "no node, no info file");
}
