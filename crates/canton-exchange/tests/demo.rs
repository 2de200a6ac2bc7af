//! `canton-exchange demo`, the README's main command: the whole story through the REST API,
//! on SQLite and on PostgreSQL; its report's facts, its exit status, and the DB it leaves
//! behind read back by other commands.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::process::Output;
use std::time::Duration;

use common::{Running, binary, run};
use harness::TestDb;
use serde_json::Value;

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The demo on `db`: it must exit 0 and report the story's facts.
fn demo_succeeds_on(db: &str) -> String {
    let out = run(&["demo", "--db", db]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let facts = [
        // Accounts opened through the API; deposits 1-step and by offer, credited.
        "alice  deposits to the treasury with reason \"acct-0\"",
        "the API shows 4 deposits credited",
        "acct-2        300 SBX    (offer accepted)",
        // The pool job, the three withdrawals, the idempotent retry, the counterfeit.
        "the pool job merged them",
        "carol  rejects the offer: failed (rejected by the receiver); her 100 SBX are back",
        "(retried with the same key: the same one)",
        "completed: a 1-step transfer to alice",
        "dave's offer expired: the withdrawal failed, his 30 SBX are back (80)",
        "recorded as unrecognized and held back, not credited; bob's balance stays 120",
        // Both restores and their runbooks.
        "then `recover validator`:",
        "then `recover db`:",
        // alice's withdrawal, paid after the DB backup, back as `recovered` (the runbook's own
        // count may miss it when ingestion resyncs it before the runbook records its start).
        "recovered  customer     50 Amulet w1.",
        // The report: balances, reconciliation, verdict.
        "alice  acct-0 204.8 Amulet",
        "bob    acct-1 125 Amulet",
        "carol  acct-2 300 SBX",
        "dave   acct-3 80 SBX",
        "Amulet  holdings 329.8 = liabilities 329.8 + suspense 0 + in flight 0 + own funds 0  ok",
        "SBX     holdings 380 = liabilities 380 + suspense 0 + in flight 0 + own funds 0  ok",
        "invariants (against the node): all held after each restore and at the end",
        "verdict: every invariant held and the books balance",
    ];
    for fact in facts {
        assert!(shown.contains(fact), "missing {fact:?} in\n{shown}");
    }
    assert_eq!(
        shown
            .matches("invariants checked against the node: all held")
            .count(),
        3,
        "{shown}"
    );
    assert!(
        !shown.contains("BROKEN") && !shown.contains("MISMATCH"),
        "{shown}"
    );
    shown
}

/// What `status` reads from the DB the demo left: the same story, told by another command.
fn status_of(db: &str) -> Value {
    let out = run(&["status", "--db", db, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn demo_tells_the_story_through_the_api_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    demo_succeeds_on(&db);

    let status = status_of(&db);
    assert_eq!(status["withdrawals"]["failed"], 2, "{status}");
    assert_eq!(status["withdrawals"]["recovered"], 1, "{status}");
    // The pool's merges (at least the story's; later dust may take another).
    assert!(
        status["withdrawals"]["completed"].as_i64() >= Some(1),
        "{status}"
    );
    assert_eq!(status["deposits"]["credited"], 9, "{status}");
    assert_eq!(status["deposits"]["unrecognized"], 1, "{status}");
    assert_eq!(status["unattributedWithdrawals"], 0, "{status}");
    assert!(status.get("withdrawalsDisabled").is_none(), "{status}");

    // The DB is another node's now: a second demo on it refuses, saying why, and exits non-zero.
    let again = run(&["demo", "--db", &db]);
    let shown = text(&again);
    assert!(!again.status.success(), "{shown}");
    assert!(
        shown.contains("error: the demo needs a new, empty Integration DB"),
        "{shown}"
    );
    assert!(shown.contains("already has 5 account(s)"), "{shown}");
    assert!(!shown.contains("verdict: every invariant held"), "{shown}");
}

#[tokio::test]
async fn demo_tells_the_story_on_postgres() {
    let Some(db) = TestDb::postgres("demo").await else {
        return;
    };
    let url = db.url.clone();
    // The demo blocks on its own runtime: off this one's threads.
    tokio::task::spawn_blocking(move || demo_succeeds_on(&url))
        .await
        .unwrap();
}

/// The line of `lines` that starts (after its indent) with `label`, its value after it.
fn value_after(lines: &[String], label: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {lines:#?}"));
    let rest = line.trim_start()[label.len()..].trim();
    rest.split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn keep_running_leaves_the_api_up_with_an_operator_token_until_sigterm() {
    use std::io::BufRead;

    let mut child = Running(
        binary()
            .args(["demo", "--keep-running"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Read on a thread of its own that drains stdout to its end (a closed pipe would fail the
    // demo's next line); the test takes the lines up to the token.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) {
            let last = line.contains("operator token");
            seen.push(line);
            if last {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("verdict: every invariant held")),
        "{lines:#?}"
    );
    let page = value_after(&lines, "status page");
    let token = value_after(&lines, "operator token");
    let base = page.trim_end_matches('/');
    assert!(base.starts_with("http://127.0.0.1:"), "{page}");

    // The printed token is an operator's: it reads the status, and may not open accounts.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let status = http
        .get(format!("{base}/v1/operator/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let status: serde_json::Value = status.json().await.unwrap();
    assert_eq!(status["withdrawals"]["recovered"], 1, "{status}");
    let open = http
        .post(format!("{base}/v1/accounts"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"customerRef": "eve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 403);
    let anonymous = http
        .get(format!("{base}/v1/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // SIGTERM: a clean stop, exit 0, the API gone.
    let exit = tokio::task::spawn_blocking(move || child.terminate(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
}
