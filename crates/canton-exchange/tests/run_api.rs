//! `canton-exchange run --api-listen` through the binary, on SQLite and PostgreSQL: the REST
//! API serves beside ingestion and the automation against a sandbox process, with its tokens
//! from the environment. A deposit shows in the balance, a withdrawal placed over HTTP is
//! executed by the automation and completes, reconciliation balances; SIGTERM stops it all.
//! Without tokens, `--api-listen` refuses to start. With `--log-format json` every stderr line
//! is a JSON log event, and `/metrics` shows the ingestion, the withdrawal's attempt, the
//! ledger and registry calls; the operator status reports both lags.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BasicNode, Running, binary, onboard_alice};
use harness::TestDb;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const INTERNAL: &str = "run-api-internal-token";
const OPERATOR: &str = "run-api-operator-token";

conformance!(the_api_serves_beside_run);

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
    let node = BasicNode::start(dir.path());
    let db_url = db.url.as_str();
    onboard_alice(db_url, &node.url, &node.amulet, &[], &[]);
    let mut args = node.run_args(db_url);
    args.extend([
        "--treasury-key",
        &node.key,
        "--api-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ]);

    // No tokens: refused before anything runs.
    let refused = binary()
        .args(&args)
        .env_remove("CANTON_EXCHANGE_API_TOKENS")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--api-listen needs API tokens"), "{stderr}");

    let tokens = format!("internal {}\noperator {}\n", hash(INTERNAL), hash(OPERATOR));
    let mut child = binary()
        .args(&args)
        .env("CANTON_EXCHANGE_API_TOKENS", tokens)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut run = Running(child);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut logged = Vec::new();
    // Where the API and `/metrics` alone listen.
    let (mut base, mut scrapes) = (None, None);
    while base.is_none() || scrapes.is_none() {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("run logs where the API and the metrics listen");
        let event = json_event(&line);
        logged.push(line);
        let message = event["fields"]["message"].as_str().unwrap_or("");
        if let Some(addr) = message.strip_prefix("api: listening on ") {
            base = Some(addr.to_owned());
        }
        if let Some(addr) = message.strip_prefix("metrics: listening on ") {
            scrapes = Some(addr.to_owned());
        }
    }
    let (base, scrapes) = (base.unwrap(), scrapes.unwrap());
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
            "receiver": node.alice,
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
    // `withdrawals --format json` prints the API's view: a script reads the same from either.
    let (_, answered) = get(&http, &withdrawal, INTERNAL).await;
    let listed = common::withdrawal(db_url, "api-k1").expect("the CLI lists it");
    assert_eq!(listed, answered);
    let (status, balance) = get(&http, &balances, INTERNAL).await;
    assert_eq!(status, 200);
    assert_eq!(balance["balances"][0]["amount"], "70.0000000000");
    // `accounts --format json` is the API's accounts, each with its balances.
    let (_, page) = get(&http, &format!("{base}/v1/accounts"), INTERNAL).await;
    let mut listed = common::accounts(db_url);
    let alices = listed[0]["balances"].take();
    assert_eq!(alices, balance["balances"]);
    for account in listed.as_array_mut().unwrap() {
        account.as_object_mut().unwrap().remove("balances");
    }
    assert_eq!(listed, page["items"]);
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
    // `holdings --format json` is the API's holdings with the owner and the lock besides. The
    // pool job may merge holdings meanwhile: the two reads agree once nothing moved between.
    let holdings = format!("{base}/v1/treasury/holdings");
    eventually("the CLI and the API to list the same holdings", || async {
        let (_, answered) = get(&http, &holdings, OPERATOR).await;
        let mut listed = common::holdings(db_url);
        for holding in listed.as_array_mut().unwrap() {
            let extras = holding.as_object_mut().unwrap();
            assert_eq!(extras.remove("owner"), Some(json!(node.treasury)));
            extras.remove("lock").expect("the lock, or null");
        }
        (listed == answered["holdings"]).then_some(())
    })
    .await;
    check_metrics(&http, &base).await;
    // `/metrics` alone on its own listener: the same process's series, and no API there.
    let alone = scrape(&http, &scrapes).await;
    let placed = r#"canton_exchange_api_requests_total{route="/v1/withdrawals",status="201"}"#;
    assert_eq!(alone.get(placed), Some(&1.0), "{alone:#?}");
    let (status, _) = get(&http, &format!("{scrapes}/v1/withdrawals"), INTERNAL).await;
    assert_eq!(status, 404);

    // SIGTERM: the services and the API stop, and the process exits cleanly.
    let status = run.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
    logged.extend(lines.iter());
    check_logs(&logged);
}

/// A JSON log line: timestamp, level, target and a message among its fields.
#[track_caller]
fn json_event(line: &str) -> Value {
    let event: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    for key in ["timestamp", "level", "target"] {
        assert!(event[key].is_string(), "{key} missing: {line}");
    }
    assert!(event["fields"]["message"].is_string(), "{line}");
    event
}

/// Every line is a JSON event; the withdrawal's execution and ingestion's start are among them
/// with their fields; no token appears.
fn check_logs(lines: &[String]) {
    let events: Vec<Value> = lines.iter().map(|l| json_event(l)).collect();
    let message = |e: &Value| e["fields"]["message"].as_str().unwrap_or("").to_owned();
    assert!(
        events
            .iter()
            .any(|e| message(e) == "executed" && e["fields"]["withdrawal"].is_string()),
        "{lines:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| message(e).starts_with("ingesting after offset")
                && e["fields"]["from"].is_i64()),
        "{lines:#?}"
    );
    assert!(
        events.iter().any(|e| message(e) == "stopping"),
        "{lines:#?}"
    );
    for line in lines {
        for token in [INTERNAL, OPERATOR] {
            assert!(!line.contains(token), "a token in the logs: {line}");
        }
    }
}

/// The series of one scrape, `name{labels}` to value.
async fn scrape(http: &reqwest::Client, base: &str) -> BTreeMap<String, f64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// After a deposit and a completed withdrawal: what `/metrics` and the status report.
async fn check_metrics(http: &reqwest::Client, base: &str) {
    let status_url = format!("{base}/v1/operator/status");
    let agree = |status: &Value, m: &BTreeMap<String, f64>| {
        let states = [
            "requested",
            "submitted",
            "pending_acceptance",
            "completed",
            "failed",
            "expired",
            "recovered",
        ];
        states.iter().all(|state| {
            let series = format!(r#"canton_exchange_withdrawals{{state="{state}"}}"#);
            let counted = status["withdrawals"][state].as_i64().unwrap_or(0);
            m.get(&series) == Some(&(counted as f64))
        })
    };
    // The status and a scrape agree on the withdrawals per state (the pool's merges are
    // withdrawals to self, which may still settle meanwhile), once the ledger end is known.
    let (status, m) = eventually("the status and /metrics to agree", || async {
        let (_, status) = get(http, &status_url, OPERATOR).await;
        let m = scrape(http, base).await;
        (status["ledgerEnd"].is_i64() && agree(&status, &m)).then_some((status, m))
    })
    .await;
    assert!(status["lag"].as_i64().unwrap() >= 0, "{status}");
    assert!(
        status["recordTimeLagSeconds"].as_i64().unwrap() >= 0,
        "{status}"
    );
    let get = |series: &str| {
        *m.get(series)
            .unwrap_or_else(|| panic!("no {series}: {m:#?}"))
    };
    assert!(get(r#"canton_exchange_withdrawals{state="completed"}"#) >= 1.0);
    assert!(get(r#"canton_exchange_withdrawal_attempts_total{outcome="executed"}"#) >= 1.0);
    // The deposit and the withdrawal at least, in one batch or more.
    assert!(get("canton_exchange_ingestion_updates_total") >= 2.0);
    assert!(get("canton_exchange_ingestion_batch_transactions_count") >= 1.0);
    assert!(get("canton_exchange_ingestion_batch_commit_seconds_count") >= 1.0);
    assert!(
        get("canton_exchange_ingestion_checkpoint_offset{}")
            >= status["checkpoint"]["offset"].as_i64().unwrap() as f64
    );
    assert!(get("canton_exchange_ledger_end_offset{}") >= 1.0);
    assert!(get("canton_exchange_ingestion_record_time_seconds{}") > 1.0e9);
    for operation in ["prepare", "execute"] {
        let series = format!(
            r#"canton_exchange_ledger_call_seconds_count{{operation="{operation}",outcome="ok"}}"#
        );
        assert!(get(&series) >= 1.0, "{series}");
    }
    let factory =
        r#"canton_exchange_registry_call_seconds_count{operation="transfer_factory",outcome="ok"}"#;
    assert!(get(factory) >= 1.0);
    let placed = r#"canton_exchange_api_requests_total{route="/v1/withdrawals",status="201"}"#;
    assert_eq!(get(placed), 1.0);
}
