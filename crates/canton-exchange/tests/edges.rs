//! The binary at its edges (issue 8): no secret in any output, errors that say each part once
//! and quote a bounded part of their input, bounded reads of recordings, and no hang on a node
//! that accepts and never answers.

#[allow(dead_code)]
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use harness::TestDb;

const PASSWORD: &str = "S3cret-Pw-4711";

/// Runs the binary; fails the test if it runs past `limit` (it hung).
fn run_within(args: &[&str], envs: &[(&str, &str)], limit: Duration) -> Output {
    let mut command = common::binary();
    command
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    // Read both pipes while waiting: a child writing more than a pipe holds would block.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let drain = |pipe: &mut dyn std::io::Read| {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    };
    let stdout = std::thread::spawn(move || drain(&mut stdout));
    let stderr = std::thread::spawn(move || drain(&mut stderr));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("canton-exchange {args:?} still runs after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    run_within(args, envs, Duration::from_secs(120))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_password(out: &Output, what: &str) {
    let all = text(out);
    assert!(!all.contains(PASSWORD), "{what} shows the password:\n{all}");
}

#[test]
fn help_hides_the_db_url_from_the_environment() {
    let url = format!("postgres://exchange:{PASSWORD}@db.example:5432/exchange");
    for command in [
        &["status", "--help"][..],
        &["ingest", "--help"],
        &["holdings", "--help"],
        &["recover", "node-restore", "--help"],
    ] {
        let out = run(
            command,
            &[
                ("CANTON_EXCHANGE_DB", &url),
                ("CANTON_EXCHANGE_DB_PASSWORD", PASSWORD),
                ("CANTON_LEDGER_TOKEN", PASSWORD),
                ("CANTON_ADMIN_TOKEN", PASSWORD),
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("CANTON_EXCHANGE_DB"), "{}", text(&out));
        assert_no_password(&out, &format!("{command:?}"));
    }
}

#[test]
fn a_closed_port_error_hides_the_password() {
    let url = format!("postgres://exchange:{PASSWORD}@127.0.0.1:1/exchange");
    let out = run(&["status", "--db", &url], &[]);
    assert!(!out.status.success());
    assert_no_password(&out, "status against a closed port");
    assert!(
        text(&out).contains("postgres://exchange:***@127.0.0.1:1/exchange"),
        "{}",
        text(&out)
    );
    // An unsupported URL is quoted by the store: still no password.
    let out = run(
        &["status", "--db", &format!("mysql://u:{PASSWORD}@h/d")],
        &[],
    );
    assert!(!out.status.success());
    assert_no_password(&out, "an unsupported URL");
}

#[tokio::test]
async fn postgres_with_a_password_from_the_url_the_environment_or_a_file() {
    let Some(db) = TestDb::postgres("edges_password").await else {
        return;
    };
    // Trust authentication accepts any password; what matters is that none is shown.
    let with_password = db
        .url
        .replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1);
    assert_ne!(with_password, db.url);
    // Migrating (a writing command) shows no password either; `status` only reads.
    let out = run(&["migrate", "--db", &with_password], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_password(&out, "migrate with the password in the URL");
    let out = run(&["status", "--db", &with_password], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_password(&out, "status with the password in the URL");

    let out = run(
        &["status", "--db", &db.url],
        &[("CANTON_EXCHANGE_DB_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_no_password(&out, "status with the password in the environment");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{PASSWORD}").unwrap();
    let path = file.path().to_str().unwrap();
    let out = run(
        &["status", "--db", &db.url, "--db-password-file", path],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_no_password(&out, "status with --db-password-file");

    // A database that does not exist: PostgreSQL's error, no password.
    let missing = format!("{}_missing", with_password);
    let out = run(&["status", "--db", &missing], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
    assert_no_password(&out, "status of a missing database");

    // The demo prints where its DB stays.
    let out = run(&["demo", "--db", &with_password], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("The Integration DB stays at"),
        "{}",
        text(&out)
    );
    assert_no_password(&out, "the demo");
}

/// No part of an error message appears twice (`X: X`).
fn assert_each_part_once(stderr: &str) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{stderr}"));
    let parts: Vec<&str> = line.split(": ").filter(|p| p.len() > 8).collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].contains(part),
            "{part:?} is printed twice in:\n{line}"
        );
    }
}

#[test]
fn an_unreachable_ledger_is_reported_once() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let ledger = format!("http://{address}");
    let out = run(
        &[
            "ingest",
            "--party",
            "treasury::1220",
            "--ledger",
            &ledger,
            "--db",
            &db,
            "--once",
            "--max-retries",
            "0",
        ],
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ledger end"), "{stderr}");
    assert!(stderr.contains(&address.to_string()), "{stderr}");
    assert_each_part_once(&stderr);
}

/// A server that accepts connections and never answers; its `http://` URL.
fn silent_node() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming() {
            held.push(socket);
        }
    });
    url
}

#[test]
fn a_silent_node_times_out_within_the_configured_bound() {
    let node = silent_node();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    assert!(run(&["migrate", "--db", &db], &[]).status.success());
    let bound = ["--connect-timeout-secs", "1", "--request-timeout-secs", "1"];
    let mut status = vec!["status", "--db", &db, "--ledger", &node];
    status.extend(bound);
    let out = run_within(&status, &[], Duration::from_secs(30));
    assert!(!out.status.success());
    let expected = format!("no answer from {node}/v2/state/ledger-end within 1 s");
    assert!(text(&out).contains(&expected), "{}", text(&out));

    // Ingestion retries a timeout (a bounded number of times), then fails.
    let mut ingest = vec![
        "ingest",
        "--party",
        "treasury::1220",
        "--ledger",
        &node,
        "--db",
        &db,
        "--once",
        "--max-retries",
        "1",
        "--retry-delay-ms",
        "10",
    ];
    ingest.extend(bound);
    let out = run_within(&ingest, &[], Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(text(&out).contains("retry 1"), "{}", text(&out));
    assert!(text(&out).contains(&expected), "{}", text(&out));
}

#[test]
fn an_endless_recording_line_is_refused_with_a_short_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    for (file, args) in [
        ("/dev/zero", &["--max-message-mib", "1"][..]),
        ("/dev/zero", &[]),
    ] {
        let ledger = format!("file:{file}");
        let mut ingest = vec![
            "ingest",
            "--party",
            "treasury::1220",
            "--ledger",
            &ledger,
            "--db",
            &db,
            "--once",
        ];
        ingest.extend(args);
        let out = run(&ingest, &[]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("line 1 is longer than"), "{stderr}");
        assert!(stderr.len() < 2_000, "{} bytes", stderr.len());
    }
    let out = run(
        &[
            "explain",
            "--party",
            "treasury::1220",
            "/dev/zero",
            "--max-file-mib",
            "1",
        ],
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("longer than 1048576 bytes"), "{stderr}");
}

#[test]
fn a_huge_value_in_a_recording_gives_a_short_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    // serde_json quotes a string of the wrong type whole ("invalid type: string …").
    let huge = "x".repeat(50_000_000);
    let line = format!(
        r#"{{"updateId":"u1","offset":1,"synchronizerId":"s::1","recordTime":"1971-01-01T00:00:00Z","events":"{huge}"}}"#
    );
    let path = dir.path().join("huge.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let ledger = format!("file:{}", path.display());
    let out = run(
        &[
            "ingest",
            "--party",
            "treasury::1220",
            "--ledger",
            &ledger,
            "--db",
            &db,
            "--once",
        ],
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 4_000, "{} bytes on stderr", stderr.len());
    assert!(stderr.contains("(and 49999"), "{stderr}");
    let out = run(
        &[
            "explain",
            "--party",
            "treasury::1220",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 4_000, "{} bytes on stderr", stderr.len());
}

#[test]
fn recover_node_restore_against_a_silent_node_times_out() {
    let fixtures =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if !fixtures.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"));
        eprintln!("SKIPPED: missing {}", fixtures.display());
        return;
    }
    let d = fixtures.join("localnet-treasury");
    let expected =
        std::fs::read_to_string(d.join("one-step-deposit-and-withdraw_treasury_expected.json"))
            .unwrap();
    let expected: serde_json::Value = serde_json::from_str(&expected).unwrap();
    let party = expected["treasuryParty"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let recording = format!(
        "file:{}",
        d.join("one-step-deposit-and-withdraw.json").display()
    );
    let out = run(
        &[
            "ingest", "--once", "--party", party, "--ledger", &recording, "--db", &db,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));

    let node = silent_node();
    let bound = ["--connect-timeout-secs", "1", "--request-timeout-secs", "1"];
    let mut via_ledger = vec!["recover", "node-restore", "--ledger", &node, "--db", &db];
    via_ledger.extend(bound);
    let out = run_within(&via_ledger, &[], Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!(
            // The first call: the ledger end, before the update filter is asked about.
            "no answer from {node}/v2/state/ledger-end within 1 s"
        )),
        "{}",
        text(&out)
    );

    // The Admin API: the same silence, its own message.
    let admin = silent_node();
    let admin = admin.trim_start_matches("http://");
    let recorded_ledger = recording.as_str();
    let mut via_admin = vec![
        "recover",
        "node-restore",
        "--ledger",
        recorded_ledger,
        "--db",
        &db,
        "--admin-api",
        admin,
    ];
    via_admin.extend(bound);
    let out = run_within(&via_admin, &[], Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("GetHighestOffsetByTimestamp"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("{admin}: no answer within 1 s"))
            || text(&out).contains(&format!("no answer from {admin} within 1 s")),
        "{}",
        text(&out)
    );
}
