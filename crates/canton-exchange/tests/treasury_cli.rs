//! `canton-exchange treasury setup` through the binary, against `canton-exchange sandbox`: the
//! first run allocates the treasury as an external party of the key file and creates its
//! TransferPreapproval, the second finds both and says so, and the key's secret is never
//! printed. A hint the node already has under another key is refused, naming both parties.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Token, key_file, run, sandbox, secret_of};
use exchange_core::signing::Signer;
use exchange_services::signer::FileSigner;
use serde_json::Value;

fn setup(info: &Value, key: &Path, hint: &str) -> Output {
    run(&[
        "treasury",
        "setup",
        "--ledger",
        info["ledgerApiUrl"].as_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--hint",
        hint,
        "--provider",
        info["parties"]["validator"].as_str().unwrap(),
        "--registry",
        &Token::of(info, "Amulet").registry,
        "--wait-secs",
        "20",
    ])
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn treasury_setup_allocates_and_preapproves_once_and_then_finds_both() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = key_file(dir.path(), "treasury.key");
    let secret = secret_of(&key);
    let fingerprint = FileSigner::load(&key).unwrap().public_key().fingerprint();
    let party = format!("exchange-treasury::{fingerprint}");
    let (_sandbox, info) = sandbox(dir.path(), &["--scenario", "basic"]);

    let first = setup(&info, &key, "exchange-treasury");
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("allocated treasury {party} as an external party")),
        "{stdout}"
    );
    assert!(stdout.contains("created TransferPreapproval "), "{stdout}");
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));

    let second = setup(&info, &key, "exchange-treasury");
    let (stdout2, stderr2) = text(&second);
    assert!(second.status.success(), "{stdout2}\n{stderr2}");
    assert!(
        stdout2.contains(&format!("found treasury {party} already allocated")),
        "{stdout2}"
    );
    let cid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("created TransferPreapproval "))
        .unwrap();
    assert!(
        stdout2.contains(&format!("found TransferPreapproval {cid} already active")),
        "{stdout2}"
    );

    // The scenario's own treasury holds the hint `treasury` under another namespace.
    let clash = setup(&info, &key, "treasury");
    let (stdout3, stderr3) = text(&clash);
    assert!(!clash.status.success(), "{stdout3}");
    let theirs = info["parties"]["treasury"].as_str().unwrap();
    assert!(
        stderr3.contains(theirs) && stderr3.contains(&format!("treasury::{fingerprint}")),
        "{stderr3}"
    );
    assert!(!stdout3.contains(&secret) && !stderr3.contains(&secret));
}
