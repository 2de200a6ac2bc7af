//! The reading commands (`status`, `holdings`) write nothing: they run with a PostgreSQL role
//! that may only connect and select, and leave a DB at an older schema exactly as it was,
//! saying how to migrate it (`canton-exchange migrate`).

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::process::Output;

use common::run;
use exchange_core::PartyId;
use harness::TestDb;
use sqlx::Connection;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn applied_migrations(url: &str) -> Vec<i64> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let versions = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    versions
}

#[tokio::test]
async fn sqlite_status_and_holdings_leave_an_older_schema_as_it_was() {
    let db = TestDb::sqlite();
    db.migrate_up_to(2).await;
    let path = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let bytes = std::fs::read(&path).unwrap();
    let versions = applied_migrations(&db.url).await;
    assert_eq!(versions, [1, 2]);

    for command in ["status", "holdings"] {
        let out = run(&[command, "--db", &db.url]);
        assert!(
            !out.status.success(),
            "{command} must refuse an older schema"
        );
        let err = stderr(&out);
        assert!(err.contains("older than this program's"), "{err}");
        assert!(err.contains("canton-exchange migrate"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{command} wrote the DB"
        );
        assert_eq!(applied_migrations(&db.url).await, versions);
    }

    let out = run(&["migrate", "--db", &db.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(applied_migrations(&db.url).await.len() > 2);
    let out = run(&["status", "--db", &db.url]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn sqlite_status_does_not_create_a_missing_db() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let out = run(&["status", "--db", &format!("sqlite://{}", path.display())]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no Integration DB at"),
        "{}",
        stderr(&out)
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn postgres_a_select_only_role_runs_status_and_holdings() {
    let Some(db) = TestDb::postgres("cli_select_only_role").await else {
        return;
    };
    let store = db.open().await;
    let treasury = PartyId::new("treasury::1220abcd").unwrap();
    store.claim_treasury_party(&treasury).await.unwrap();
    store.close().await;
    let role = harness::ReadOnlyRole::create(&db).await;

    let out = run(&["status", "--db", &role.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("treasury::1220abcd"), "{text}");

    let out = run(&["holdings", "--db", &role.url, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
}

/// A suspense balance that cannot be read as Numeric 10 (an edited or damaged SQLite file;
/// every write path refuses to book one: `exchange-store/tests/balances.rs`). `status` says the
/// balance is unavailable and why, and still prints the rest. SQLite only: PostgreSQL's
/// NUMERIC(38, 10) column cannot hold such a value at all.
#[tokio::test]
async fn sqlite_status_survives_an_unreadable_suspense_balance() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let suspense = exchange_core::changeset::AccountId::new("suspense").unwrap();
    store
        .create_account(&suspense, "the exchange")
        .await
        .unwrap();
    store.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO account_balances (account_id, instrument_admin, instrument_id, balance)
         VALUES ('suspense', 'DSO::1220ab', 'Amulet', '-19999999999999999999999999998.0000000000')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let out = run(&["status", "--db", &db.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("suspense balance"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("unavailable"), "{line}");
    assert!(
        text.contains("checkpoint") && text.contains("withdrawals"),
        "{text}"
    );
    let out = run(&["status", "--db", &db.url, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = json["suspenseBalanceError"].as_str().unwrap_or_default();
    assert!(error.contains("balance"), "{json}");
}
