//! `canton-exchange drill` from the command line: a report in text or JSON and exit 0 when
//! every invariant holds; a planted fault makes it exit non-zero naming the seed and the step;
//! without --seed it draws one and says which; DB-restore drills refuse PostgreSQL.

mod common;

use std::process::Output;

fn drill(args: &[&str]) -> Output {
    common::run(&[&["drill"], args].concat())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_drill_reports_json_and_passes() {
    let out = drill(&[
        "validator-restore",
        "--seed",
        "7",
        "--steps",
        "12",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["seed"], 7);
    assert_eq!(report["kind"], "validator-restore");
    assert_eq!(report["db"], "sqlite");
    assert_eq!(report["violations"], serde_json::json!([]));
    let disasters = report["disasters"].as_array().unwrap();
    assert_eq!(disasters.len(), 1, "{report}");
    assert!(
        disasters[0]["kind"]
            .as_str()
            .unwrap()
            .starts_with("validator-restore")
    );
    assert!(disasters[0]["recovery_ms"].as_u64().is_some());
}

#[test]
fn many_seeds_give_a_summary() {
    let out = drill(&["db-restore", "--seed", "40", "--count", "3", "--steps", "8"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("3 seed(s) of drill db-restore on sqlite"),
        "{stdout}"
    );
    assert!(
        stdout.contains("db-restore: 3 (recovery median"),
        "{stdout}"
    );
    assert!(stdout.contains("violations: none"), "{stdout}");
}

#[test]
fn a_planted_fault_exits_non_zero_with_seed_and_step() {
    let out = drill(&[
        "validator-restore",
        "--seed",
        "3",
        "--steps",
        "12",
        "--plant-corrupt-journal",
    ]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("VIOLATION seed 3 step 12 [balances-equal-journals]"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("seed 3 step 12"), "{stderr}");
}

#[test]
fn without_a_seed_one_is_drawn_and_printed() {
    let out = drill(&["random", "--steps", "6"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let seed = stderr
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no seed printed: {stderr}"));
    assert!(
        stderr.contains(&format!("--seed {seed} replays")),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains(&format!("seed {seed} on sqlite")));
}

/// (DB-restore drills on PostgreSQL are exchange-drill's tests: db_restore_on_postgres,
/// both_on_postgres.)
#[test]
fn a_db_that_is_neither_sqlite_nor_postgres_is_refused() {
    let bad = drill(&["random", "--seed", "1", "--db", "mysql://x"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("--db takes"),
        "{}",
        text(&bad.stderr)
    );
}
