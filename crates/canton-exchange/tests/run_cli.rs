//! `canton-exchange run --until-idle` through the binary, as an operator runs it, on SQLite and
//! PostgreSQL: a sandbox process whose treasury is the external party of a key file; deposits
//! ingested and credited; a withdrawal requested with `withdraw`; `run` signs and executes it
//! with that key and stops once nothing is left; the receiver's transfer shows as completed.
//! A key that is not the treasury's is refused before anything is signed.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use harness::TestDb;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_canton-exchange");

conformance!(a_requested_withdrawal_is_signed_executed_and_completed_by_run);

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn key_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    ok(&["keys", "generate", "--out", path.to_str().unwrap()]);
    path
}

/// The sandbox process; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sandbox(dir: &Path, key: &Path) -> (Running, Value) {
    let info = dir.join("info.json");
    let mut child = Command::new(BIN)
        .args(["sandbox", "--scenario", "basic", "--treasury-key"])
        .arg(key)
        .arg("--info-file")
        .arg(&info)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(&info) {
            return (Running(child), serde_json::from_str(&text).unwrap());
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sandbox exited ({status}) before writing its info file");
        }
        assert!(Instant::now() < deadline, "no info file after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn amulet(info: &Value) -> (String, String) {
    let token = info["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instrumentId"] == "Amulet")
        .unwrap();
    (
        token["admin"].as_str().unwrap().to_owned(),
        token["registryUrl"].as_str().unwrap().to_owned(),
    )
}

async fn a_requested_withdrawal_is_signed_executed_and_completed_by_run(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "treasury.key");
    let (_sandbox, info) = sandbox(dir.path(), &key);
    let url = info["ledgerApiUrl"].as_str().unwrap();
    let treasury = info["parties"]["treasury"].as_str().unwrap();
    let alice = info["parties"]["customers"]["alice"].as_str().unwrap();
    let (admin, registry) = amulet(&info);
    let db_url = db.url.as_str();
    ok(&[
        "accounts",
        "add",
        "--db",
        db_url,
        "--id",
        "deposit-account-alice",
        "--customer",
        "alice",
    ]);
    // Canton Coin onboarded as an operator does it: the registry confirms admin and instrument.
    ok(&[
        "tokens",
        "add",
        "--db",
        db_url,
        "--ledger",
        url,
        "--admin",
        &admin,
        "--instrument",
        "Amulet",
        "--registry-url",
        &registry,
        "--package-name",
        "splice-amulet",
    ]);
    ok(&[
        "ingest", "--party", treasury, "--ledger", url, "--db", db_url, "--once",
    ]);
    ok(&[
        "withdraw",
        "--db",
        db_url,
        "--account",
        "deposit-account-alice",
        "--to",
        alice,
        "--amount",
        "30",
        "--instrument",
        "Amulet",
        "--idempotency-key",
        "k-1",
    ]);
    let registry_arg = format!("{admin}={registry}");
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
    let wrong = key_file(dir.path(), "other.key");
    let mut args = base.to_vec();
    args.extend(["--treasury-key", wrong.to_str().unwrap()]);
    let refused = run(&args);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not the key of"), "{stderr}");

    let mut args = base.to_vec();
    args.extend(["--treasury-key", key.to_str().unwrap()]);
    let done = run(&args);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("idle"), "{stderr}");
    let listed: Value =
        serde_json::from_str(&ok(&["withdrawals", "--db", db_url, "--format", "json"])).unwrap();
    let ours = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["idempotencyKey"] == "k-1")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(ours["state"], "completed", "{ours}");
    let accounts: Value =
        serde_json::from_str(&ok(&["accounts", "--db", db_url, "--format", "json"])).unwrap();
    // The basic scenario's 100 deposited, 30 withdrawn.
    assert!(
        accounts.to_string().contains("\"70.0000000000\""),
        "{accounts}"
    );
}
