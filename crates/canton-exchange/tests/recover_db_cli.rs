//! `recover db` from the command line: it switches withdrawals off and waits for ingestion;
//! interrupted, it leaves the run for the next to resume with the same tSafe (requests refused
//! meanwhile: see exchange-services' db_restore tests). `keys generate-memo-key` writes a 0600 key; `withdrawals attribute`
//! refuses what is not a recovered withdrawal in suspense.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;

use common::{binary, run, sigterm};

/// Starts `recover db`, waits for its first "waiting" line, stops it with SIGTERM; returns its
/// stderr.
fn recover_until_waiting(db: &str) -> String {
    let mut child = binary()
        .args(["recover", "db", "--db", db, "--poll-ms", "50"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "ended early: {seen}"
        );
        seen.push_str(&line);
        if line.contains("waiting for ingestion") {
            break;
        }
    }
    sigterm(&child);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted run is not a success: {seen}"
    );
    seen
}

fn t_safe(stderr: &str) -> String {
    let at = stderr.find("tSafe ").expect("tSafe shown") + "tSafe ".len();
    stderr[at..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn an_interrupted_recovery_resumes_with_its_t_safe() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let ok = run(&[
        "accounts",
        "add",
        "--db",
        &db,
        "--id",
        "alice",
        "--customer",
        "c",
    ]);
    assert!(ok.status.success());

    let first = recover_until_waiting(&db);
    assert!(
        first.contains("started") && first.contains("withdrawals disabled"),
        "{first}"
    );
    assert!(first.contains("run `recover db` again"), "{first}");
    let second = recover_until_waiting(&db);
    assert!(second.contains("resumed"), "{second}");
    assert_eq!(t_safe(&first), t_safe(&second));

    let status = run(&["status", "--db", &db]);
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains("withdrawals DISABLED"), "{shown}");
    assert!(shown.contains("recover db unfinished"), "{shown}");

    let attribute = run(&[
        "withdrawals",
        "attribute",
        "--db",
        &db,
        "w-1",
        "--account",
        "alice",
    ]);
    assert!(!attribute.status.success());
    let err = String::from_utf8_lossy(&attribute.stderr);
    assert!(err.contains("w-1"), "{err}");
}

#[test]
fn a_memo_key_is_written_0600_and_never_over_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("memo.key");
    let key = key.to_str().unwrap();
    let out = run(&["keys", "generate-memo-key", "--out", key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(key).unwrap();
    let secret = text.lines().find_map(|l| l.strip_prefix("key=")).unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    let again = run(&["keys", "generate-memo-key", "--out", key]);
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(key).unwrap(), text);
}
