//! `canton-exchange run --api-listen` through the binary, on SQLite and PostgreSQL: the REST
//! API serves beside ingestion and the automation against a sandbox process, with its tokens
//! from the environment. A deposit shows in the balance, a withdrawal placed over HTTP is
//! executed by the automation and completes, reconciliation balances; SIGTERM stops it all.
//! Without tokens, `--api-listen` refuses to start.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::TestDb;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_canton-exchange");
const INTERNAL: &str = "run-api-internal-token";
const OPERATOR: &str = "run-api-operator-token";

conformance!(the_api_serves_beside_run);

fn ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A child process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sandbox(dir: &Path, key: &Path) -> (Running, Value) {
    let info = dir.join("info.json");
    let child = Command::new(BIN)
        .args(["sandbox", "--scenario", "basic", "--treasury-key"])
        .arg(key)
        .arg("--info-file")
        .arg(&info)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(&info) {
            return (running, serde_json::from_str(&text).unwrap());
        }
        assert!(Instant::now() < deadline, "no info file after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Waits until `check` returns `Some` (polling every 200 ms, for up to 60 s).
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let answer = http.get(url).bearer_auth(token).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn the_api_serves_beside_run(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("treasury.key");
    ok(&["keys", "generate", "--out", key.to_str().unwrap()]);
    let (_sandbox, info) = sandbox(dir.path(), &key);
    let url = info["ledgerApiUrl"].as_str().unwrap();
    let treasury = info["parties"]["treasury"].as_str().unwrap();
    let alice = info["parties"]["customers"]["alice"].as_str().unwrap();
    let token = info["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instrumentId"] == "Amulet")
        .unwrap();
    let (admin, registry) = (
        token["admin"].as_str().unwrap(),
        token["registryUrl"].as_str().unwrap(),
    );
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
    ok(&[
        "tokens",
        "add",
        "--db",
        db_url,
        "--ledger",
        url,
        "--admin",
        admin,
        "--instrument",
        "Amulet",
        "--registry-url",
        registry,
        "--package-name",
        "splice-amulet",
    ]);
    let registry_arg = format!("{admin}={registry}");
    let args = [
        "run",
        "--party",
        treasury,
        "--ledger",
        url,
        "--db",
        db_url,
        "--registry",
        &registry_arg,
        "--treasury-key",
        key.to_str().unwrap(),
        "--api-listen",
        "127.0.0.1:0",
    ];

    // No tokens: refused before anything runs.
    let refused = Command::new(BIN)
        .args(args)
        .env_remove("CANTON_EXCHANGE_API_TOKENS")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--api-listen needs API tokens"), "{stderr}");

    let tokens = format!("internal {}\noperator {}\n", hash(INTERNAL), hash(OPERATOR));
    let mut child = Command::new(BIN)
        .args(args)
        .env("CANTON_EXCHANGE_API_TOKENS", tokens)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id().to_string();
    let run = Running(child);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let base = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("run prints where the API listens");
        if let Some(addr) = line.strip_prefix("api: listening on ") {
            break addr.to_owned();
        }
    };
    let http = reqwest::Client::new();
    let balances = format!("{base}/v1/accounts/deposit-account-alice/balances");
    eventually("the deposit's credit", || async {
        let (status, body) = get(&http, &balances, OPERATOR).await;
        (status == 200 && body["balances"][0]["amount"] == "100.0000000000").then_some(())
    })
    .await;
    let placed = http
        .post(format!("{base}/v1/withdrawals"))
        .bearer_auth(INTERNAL)
        .header("Idempotency-Key", "api-k1")
        .json(&json!({
            "account": "deposit-account-alice",
            "receiver": alice,
            "amount": "30",
            "instrumentId": "Amulet",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status().as_u16(), 201);
    let placed: Value = placed.json().await.unwrap();
    let withdrawal = format!(
        "{base}/v1/withdrawals/{}",
        placed["withdrawalId"].as_str().unwrap()
    );
    eventually("the withdrawal's completion", || async {
        let (_, body) = get(&http, &withdrawal, INTERNAL).await;
        (body["state"] == "completed").then_some(())
    })
    .await;
    let (status, balance) = get(&http, &balances, INTERNAL).await;
    assert_eq!(status, 200);
    assert_eq!(balance["balances"][0]["amount"], "70.0000000000");
    let (_, totals) = get(&http, &format!("{base}/v1/treasury/totals"), OPERATOR).await;
    let amulet = totals["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instrument"]["id"] == "Amulet")
        .unwrap_or_else(|| panic!("{totals}"));
    assert_eq!(amulet["customerLiabilities"], "70.0000000000", "{totals}");
    assert_eq!(amulet["inFlightWithdrawals"], "0.0000000000", "{totals}");
    assert_eq!(amulet["shortfall"], false, "{totals}");

    // SIGTERM: the services and the API stop, and the process exits cleanly.
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let mut run = run;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = run.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "run did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
}
