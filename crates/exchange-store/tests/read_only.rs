//! `Store::open_read_only`, on SQLite files and PostgreSQL: it writes nothing (an older schema
//! is refused and left exactly as it was), refuses a schema it does not know, and needs no
//! more than a role that may connect and select.

mod harness;

use exchange_core::PartyId;
use exchange_store::{Store, StoreError};
use harness::TestDb;
use sqlx::Connection;

conformance!(
    an_older_schema_is_refused_and_left_as_it_was,
    a_newer_schema_is_refused,
    a_current_schema_is_read,
);

/// The DB's migrations table and, on SQLite, the DB file's bytes: everything a write changes.
async fn snapshot(db: &TestDb) -> (Vec<(i64, bool)>, Option<Vec<u8>>) {
    let sql = "SELECT version, success FROM _sqlx_migrations ORDER BY version";
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        (rows, Some(std::fs::read(path).unwrap()))
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        (rows, None)
    }
}

async fn an_older_schema_is_refused_and_left_as_it_was(db: &TestDb) {
    db.migrate_up_to(2).await;
    let before = snapshot(db).await;

    let err = Store::open_read_only(&db.url).await.unwrap_err();
    let StoreError::SchemaOlder { missing } = &err else {
        panic!("expected SchemaOlder, got {err:?}");
    };
    assert!(
        !missing.is_empty() && missing.iter().all(|v| *v > 2),
        "{missing:?}"
    );
    assert!(
        err.to_string().contains("older than this program's"),
        "{err}"
    );
    assert_eq!(
        snapshot(db).await,
        before,
        "a reading open must not migrate"
    );

    // Migrated by a writing open, it reads.
    db.open().await.close().await;
    let store = Store::open_read_only(&db.url).await.unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), None);
    store.close().await;
}

async fn a_newer_schema_is_refused(db: &TestDb) {
    let store = db.open().await;
    store.close().await;
    let insert = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES (9999, 'from the future', TRUE, X'00', 1)";
    let insert_pg = insert.replace("X'00'", "'\\x00'::bytea");
    if db.url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(insert).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(&insert_pg).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let err = Store::open_read_only(&db.url).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::SchemaNewer { unknown } if unknown == &[9999]),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("use a newer canton-exchange"),
        "{err}"
    );
}

async fn a_current_schema_is_read(db: &TestDb) {
    let writer = db.open().await;
    let treasury = PartyId::new("treasury::1220abcd").unwrap();
    writer.claim_treasury_party(&treasury).await.unwrap();
    writer.close().await;

    let reader = Store::open_read_only(&db.url).await.unwrap();
    assert_eq!(reader.treasury_party().await.unwrap(), Some(treasury));
    assert!(reader.all_active_holdings().await.unwrap().is_empty());
    reader.close().await;
}

#[tokio::test]
async fn sqlite_a_missing_file_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = Store::open_read_only(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no Integration DB at"), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn sqlite_a_read_only_file_is_read() {
    let db = TestDb::sqlite();
    db.open().await.close().await;
    let path = db.url.strip_prefix("sqlite://").unwrap();
    // sqlx finishes closing a SQLite connection on its worker thread after `close` returns: the
    // last one checkpoints the WAL into the file and deletes it. Wait for that, so that only
    // the read-only store could change the file from here on.
    let wal = format!("{path}-wal");
    for _ in 0..200 {
        if !std::path::Path::new(&wal).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !std::path::Path::new(&wal).exists(),
        "the writer's WAL is still there"
    );
    let bytes = std::fs::read(path).unwrap();
    let store = Store::open_read_only(&db.url).await.unwrap();
    assert!(
        store
            .claim_treasury_party(&PartyId::new("t::1220ab").unwrap())
            .await
            .is_err()
    );
    assert_eq!(store.treasury_party().await.unwrap(), None);
    store.close().await;
    assert_eq!(std::fs::read(path).unwrap(), bytes);
}

#[tokio::test]
async fn postgres_an_empty_database_is_refused() {
    let Some(db) = TestDb::postgres("empty_database_refused").await else {
        return;
    };
    let err = Store::open_read_only(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaMissing), "{err:?}");
    assert!(err.to_string().contains("never migrated"), "{err}");
}

#[tokio::test]
async fn postgres_a_select_only_role_reads() {
    let Some(db) = TestDb::postgres("select_only_role").await else {
        return;
    };
    let writer = db.open().await;
    let treasury = PartyId::new("treasury::1220abcd").unwrap();
    writer.claim_treasury_party(&treasury).await.unwrap();
    writer.close().await;
    let role = harness::ReadOnlyRole::create(&db).await;

    // What status and holdings read, through the role.
    let reader = Store::open_read_only(&role.url).await.unwrap();
    assert_eq!(reader.treasury_party().await.unwrap(), Some(treasury));
    assert_eq!(reader.checkpoint().await.unwrap(), None);
    assert!(reader.all_active_holdings().await.unwrap().is_empty());
    assert!(reader.withdrawal_counts().await.unwrap().is_empty());
    assert!(reader.deposit_counts().await.unwrap().is_empty());
    assert!(reader.record_times().await.unwrap().is_empty());
    reader.close().await;

    // The writing open is what such a role cannot do.
    let err = Store::open(&role.url).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn postgres_a_closed_port_fails_fast_with_the_cause() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let started = std::time::Instant::now();
    for open in [Store::open(&url).await, Store::open_read_only(&url).await] {
        let err = open.unwrap_err().to_string();
        assert!(err.to_lowercase().contains("connection refused"), "{err}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
