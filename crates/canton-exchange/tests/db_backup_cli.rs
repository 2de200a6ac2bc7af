//! `db backup` / `db restore` from the command line: a round trip on a SQLite file, the
//! refusal to overwrite a backup without --force, and PostgreSQL pointed at pg_dump.

mod common;

use common::{ok, run};

#[test]
fn a_backup_restored_brings_the_db_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let backup = dir.path().join("x.backup");
    let backup = backup.to_str().unwrap();
    ok(&[
        "accounts",
        "add",
        "--db",
        &db,
        "--id",
        "alice",
        "--customer",
        "c1",
    ]);
    let said = ok(&["db", "backup", "--db", &db, "--out", backup]);
    assert!(said.contains("backed up"), "{said}");
    ok(&[
        "accounts",
        "add",
        "--db",
        &db,
        "--id",
        "bob",
        "--customer",
        "c2",
    ]);

    let again = run(&["db", "backup", "--db", &db, "--out", backup]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("--force"), "{err}");

    let said = ok(&["db", "restore", "--db", &db, "--from", backup]);
    assert!(said.contains("recover db"), "{said}");
    let accounts = ok(&["accounts", "--db", &db]);
    assert!(accounts.contains("alice"), "{accounts}");
    assert!(!accounts.contains("bob"), "{accounts}");
}

#[test]
fn postgres_is_pointed_at_its_own_tools() {
    for command in [
        &[
            "db",
            "backup",
            "--db",
            "postgres://u@127.0.0.1:1/x",
            "--out",
            "/nonexistent/b",
        ][..],
        &[
            "db",
            "restore",
            "--db",
            "postgres://u@127.0.0.1:1/x",
            "--from",
            "/nonexistent/b",
        ][..],
    ] {
        let out = run(command);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("pg_dump") && err.contains("pg_restore"),
            "{err}"
        );
    }
}
