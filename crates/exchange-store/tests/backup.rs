//! `db backup` / `db restore` of a SQLite Integration DB: a consistent copy taken while a writer
//! writes, written 0600 and never over an existing file unless asked, and a restore that
//! refuses while the DB is open, refuses what it could not run, and keeps the file it replaces
//! (each of several restores within a second under a name of its own).
//! PostgreSQL refuses both with the tools to use instead.

mod harness;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use exchange_core::changeset::AccountId;
use exchange_store::{Store, StoreError, restore_sqlite};
use harness::TestDb;

conformance!(postgres_points_at_its_own_tools,);

fn account(n: usize) -> AccountId {
    AccountId::new(format!("acc-{n:05}")).unwrap()
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn account_ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id.to_string())
        .collect();
    ids.sort();
    ids
}

async fn postgres_points_at_its_own_tools(db: &TestDb) {
    let store = db.open().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.db");
    match store.backend() {
        exchange_store::Backend::Postgres => {
            let e = store.backup_to(&out, false).await.unwrap_err();
            assert!(matches!(e, StoreError::Unsupported(_)), "{e}");
            assert!(e.to_string().contains("pg_dump"), "{e}");
            assert!(!out.exists());
            let e = restore_sqlite(&db.url, &out).await.unwrap_err();
            assert!(e.to_string().contains("pg_restore"), "{e}");
        }
        exchange_store::Backend::Sqlite => {
            store.backup_to(&out, false).await.unwrap();
            assert!(out.exists());
        }
    }
    store.close().await;
}

/// Accounts are created one after another by a writer while two backups are taken: each copy
/// holds exactly a prefix of them (a snapshot between two commits), passes SQLite's integrity
/// check and opens as an Integration DB of this schema.
#[tokio::test]
async fn a_backup_taken_under_a_writer_is_one_snapshot() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    const N: usize = 400;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..N {
                store.create_account(&account(n), "c").await.unwrap();
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for i in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let out = dir.path().join(format!("backup-{i}.db"));
        store.backup_to(&out, false).await.unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds customers' accounts");
        copies.push(out);
    }
    writer.await.unwrap();
    store.close().await;

    let mut sizes = Vec::new();
    for out in &copies {
        let copy = Store::open_read_only(&url_of(out)).await.unwrap();
        let ids = account_ids(&copy).await;
        let prefix: Vec<String> = (0..ids.len()).map(|n| account(n).to_string()).collect();
        assert_eq!(
            ids, prefix,
            "a snapshot holds every earlier commit and no later one"
        );
        copy.close().await;
        sizes.push(ids.len());
    }
    assert!(sizes[0] <= sizes[1]);
    // No temporary file is left beside the backups.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-users.lock"))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test]
async fn a_backup_replaces_a_file_only_when_asked() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.db");
    std::fs::write(&out, b"an older backup").unwrap();
    let e = store.backup_to(&out, false).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"an older backup");

    store.create_account(&account(1), "c").await.unwrap();
    store.backup_to(&out, true).await.unwrap();
    store.close().await;
    let copy = Store::open_read_only(&url_of(&out)).await.unwrap();
    assert_eq!(account_ids(&copy).await, vec![account(1).to_string()]);
    copy.close().await;
}

/// A SQLite store with account 1, backed up to `backup.db` in a directory of its own (kept
/// while the returned handle lives), then account 2 written after the backup.
async fn backed_up() -> (TestDb, Store, tempfile::TempDir, PathBuf) {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store.create_account(&account(1), "c").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    store.backup_to(&backup, false).await.unwrap();
    store.create_account(&account(2), "c").await.unwrap();
    (db, store, dir, backup)
}

/// Backup, more writes, restore: the DB is the backup again, and the replaced file (with the
/// writes after the backup) is kept beside it, still readable.
#[tokio::test]
async fn a_restore_puts_the_backup_back_and_keeps_the_replaced_file() {
    let (db, store, _dir, backup) = backed_up().await;
    store.close().await;
    drop(store);

    let restored = restore_sqlite(&db.url, &backup).await.unwrap();
    let store = db.open().await;
    assert_eq!(account_ids(&store).await, vec![account(1).to_string()]);
    store.create_account(&account(3), "c").await.unwrap();
    store.close().await;

    let replaced = restored.replaced.expect("the old DB is kept");
    let old = Store::open_read_only(&url_of(&replaced)).await.unwrap();
    assert_eq!(
        account_ids(&old).await,
        vec![account(1).to_string(), account(2).to_string()],
        "the replaced DB keeps its last commits (its WAL moved with it)"
    );
    old.close().await;
}

/// Restores in quick succession (the drills restore twice within a second): each keeps the
/// file it replaced under a name of its own, none refused, none overwritten.
#[tokio::test]
async fn restores_within_one_second_each_keep_their_replaced_file() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let store = db.open().await;
    store.backup_to(&backup, false).await.unwrap();
    store.close().await;
    let mut kept = Vec::new();
    for n in 1..=3 {
        let store = db.open().await;
        store.create_account(&account(n), "c").await.unwrap();
        store.close().await;
        drop(store);
        let restored = restore_sqlite(&db.url, &backup).await.unwrap();
        kept.push(restored.replaced.expect("the old DB is kept"));
    }
    let distinct: std::collections::BTreeSet<_> = kept.iter().collect();
    assert_eq!(distinct.len(), 3, "{kept:?}");
    for (n, replaced) in (1..=3).zip(&kept) {
        let old = Store::open_read_only(&url_of(replaced)).await.unwrap();
        assert_eq!(account_ids(&old).await, vec![account(n).to_string()]);
        old.close().await;
    }
}

#[tokio::test]
async fn a_restore_refuses_while_the_db_is_open() {
    let (db, store, _dir, backup) = backed_up().await;

    let e = restore_sqlite(&db.url, &backup).await.unwrap_err();
    assert!(matches!(e, StoreError::Lease(_)), "{e}");
    assert!(e.to_string().contains("stop it"), "{e}");
    // A reader counts too: it would read a file swapped under it.
    store.close().await;
    let reader = Store::open_read_only(&db.url).await.unwrap();
    assert!(restore_sqlite(&db.url, &backup).await.is_err());
    reader.close().await;

    // Nothing was replaced; once everyone is gone the restore goes through.
    let store = db.open().await;
    assert_eq!(account_ids(&store).await.len(), 2);
    store.close().await;
    restore_sqlite(&db.url, &backup).await.unwrap();
    let store = db.open().await;
    assert_eq!(account_ids(&store).await.len(), 1);
    store.close().await;
}

/// What the restore could not run is refused before the DB is touched: a file that is not a
/// SQLite DB, a SQLite DB without the schema, one migrated by a newer build, a missing file.
#[tokio::test]
async fn a_restore_refuses_what_it_cannot_run() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store.create_account(&account(1), "c").await.unwrap();
    store.close().await;
    let dir = tempfile::tempdir().unwrap();

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    let e = restore_sqlite(&db.url, &garbage).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");

    let empty = dir.path().join("other.db");
    let other = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", url_of(&empty)))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&other)
        .await
        .unwrap();
    other.close().await;
    let e = restore_sqlite(&db.url, &empty).await.unwrap_err();
    assert!(matches!(e, StoreError::SchemaMissing), "{e}");

    let newer = dir.path().join("newer.db");
    let store = db.open().await;
    store.backup_to(&newer, false).await.unwrap();
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&url_of(&newer)).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let e = restore_sqlite(&db.url, &newer).await.unwrap_err();
    assert!(matches!(e, StoreError::SchemaNewer { .. }), "{e}");

    let e = restore_sqlite(&db.url, &dir.path().join("absent.db"))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");

    let store = db.open().await;
    assert_eq!(account_ids(&store).await, vec![account(1).to_string()]);
    store.close().await;
    let leftovers: Vec<_> =
        std::fs::read_dir(Path::new(&db.url["sqlite://".len()..]).parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-") || n.contains(".replaced-"))
            .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
