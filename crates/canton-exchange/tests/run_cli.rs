//! `canton-exchange run --until-idle` through the binary, as an operator runs it, on SQLite and
//! PostgreSQL: a sandbox process whose treasury is the external party of a key file; deposits
//! ingested and credited; a withdrawal requested with `withdraw`; `run` signs and executes it
//! with that key and stops once nothing is left; the receiver's transfer shows as completed.
//! A key that is not the treasury's is refused before anything is signed.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use common::{Token, key_file, ok, onboard_alice, run, sandbox, withdraw_30_to, withdrawal};
use harness::TestDb;

conformance!(a_requested_withdrawal_is_signed_executed_and_completed_by_run);

async fn a_requested_withdrawal_is_signed_executed_and_completed_by_run(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = key_file(dir.path(), "treasury.key");
    let key = key.to_str().unwrap();
    let (_sandbox, info) = sandbox(dir.path(), &["--scenario", "basic", "--treasury-key", key]);
    let url = info["ledgerApiUrl"].as_str().unwrap();
    let treasury = info["parties"]["treasury"].as_str().unwrap();
    let alice = info["parties"]["customers"]["alice"].as_str().unwrap();
    let amulet = Token::of(&info, "Amulet");
    let db_url = db.url.as_str();
    onboard_alice(db_url, url, &amulet, &[], &[]);
    ok(&[
        "ingest", "--party", treasury, "--ledger", url, "--db", db_url, "--once",
    ]);
    withdraw_30_to(db_url, alice);
    let registry_arg = format!("{}={}", amulet.admin, amulet.registry);
    let base = [
        "run",
        "--party",
        treasury,
        "--ledger",
        url,
        "--db",
        db_url,
        "--registry",
        &registry_arg,
        "--until-idle",
    ];

    // Another key than the treasury's: refused before anything is prepared or signed.
    let (wrong, _) = key_file(dir.path(), "other.key");
    let mut args = base.to_vec();
    args.extend(["--treasury-key", wrong.to_str().unwrap()]);
    let refused = run(&args);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not the key of"), "{stderr}");

    let mut args = base.to_vec();
    args.extend(["--treasury-key", key]);
    let done = run(&args);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("idle"), "{stderr}");
    let ours = withdrawal(db_url, "k-1").expect("the withdrawal is listed");
    assert_eq!(ours["state"], "completed", "{ours}");
    let accounts = common::accounts(db_url);
    // The basic scenario's 100 deposited, 30 withdrawn.
    assert!(
        accounts.to_string().contains("\"70.0000000000\""),
        "{accounts}"
    );
}
