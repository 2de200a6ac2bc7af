//! `canton-exchange run --until-idle` through the binary, as an operator runs it, on SQLite and
//! PostgreSQL: a sandbox process whose treasury is the external party of a key file; deposits
//! ingested and credited; a withdrawal requested with `withdraw`; `run` signs and executes it
//! with that key and stops once nothing is left; the receiver's transfer shows as completed.
//! A key that is not the treasury's is refused before anything is signed.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use common::{BasicNode, key_file, ok, onboard_alice, run, withdraw_30_to, withdrawal};
use harness::TestDb;

conformance!(a_requested_withdrawal_is_signed_executed_and_completed_by_run);

async fn a_requested_withdrawal_is_signed_executed_and_completed_by_run(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let node = BasicNode::start(dir.path());
    let db_url = db.url.as_str();
    onboard_alice(db_url, &node.url, &node.amulet, &[], &[]);
    ok(&[
        "ingest",
        "--party",
        &node.treasury,
        "--ledger",
        &node.url,
        "--db",
        db_url,
        "--once",
    ]);
    withdraw_30_to(db_url, &node.alice);
    let mut base = node.run_args(db_url);
    base.push("--until-idle");

    // Another key than the treasury's: refused before anything is prepared or signed.
    let (wrong, _) = key_file(dir.path(), "other.key");
    let mut args = base.clone();
    args.extend(["--treasury-key", wrong.to_str().unwrap()]);
    let refused = run(&args);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not the key of"), "{stderr}");

    let mut args = base.clone();
    args.extend(["--treasury-key", &node.key]);
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
