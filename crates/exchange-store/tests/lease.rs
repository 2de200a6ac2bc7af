//! The ingestion lease, on SQLite files and PostgreSQL: one holder at a time per DB and party,
//! across separate handles (as separate processes would hold them), released on release or
//! drop, and free for another party.

mod harness;

use exchange_core::PartyId;
use exchange_store::Store;
use harness::TestDb;

conformance!(one_holder_at_a_time, a_dropped_lease_is_free_again,);

fn party(hint: &str) -> PartyId {
    PartyId::new(&format!("{hint}::1220abcd")).unwrap()
}

async fn one_holder_at_a_time(db: &TestDb) {
    let first = db.open().await;
    let second = db.open().await;
    let treasury = party("treasury");

    let mut lease = first
        .try_ingestion_lease(&treasury)
        .await
        .unwrap()
        .expect("a free lease is taken");
    lease.check().await.unwrap();
    assert!(
        second
            .try_ingestion_lease(&treasury)
            .await
            .unwrap()
            .is_none(),
        "a second handle must not get the lease while it is held"
    );
    // Asking again through the holder's own store is refused too: the lease is not reentrant,
    // so a process cannot run two ingestions by mistake.
    assert!(
        first
            .try_ingestion_lease(&treasury)
            .await
            .unwrap()
            .is_none()
    );
    let name = second.ingestion_lease_name(&treasury);
    match first.backend() {
        exchange_store::Backend::Sqlite => {
            assert!(name.contains("-ingest.lock"), "{name}");
            assert!(lease.lock_file().unwrap().exists());
        }
        exchange_store::Backend::Postgres => assert!(name.contains("advisory lock"), "{name}"),
    }

    lease.release().await;
    let taken = second
        .try_ingestion_lease(&treasury)
        .await
        .unwrap()
        .expect("released: the standby takes over");
    taken.release().await;
    first.close().await;
    second.close().await;
}

async fn a_dropped_lease_is_free_again(db: &TestDb) {
    let first = db.open().await;
    let second = db.open().await;
    let treasury = party("treasury");
    let lease = first.try_ingestion_lease(&treasury).await.unwrap().unwrap();
    drop(lease);
    // PostgreSQL ends the dropped connection's session (and its lock) a moment later: the
    // store's short wait for a just-ended holder covers that.
    let taken = second.try_ingestion_lease(&treasury).await.unwrap();
    assert!(taken.is_some(), "a dropped lease must become free");
    first.close().await;
    second.close().await;
}

/// A second name for the same SQLite file (a symlink) finds the same lock: otherwise two
/// ingestions would write one DB.
#[tokio::test]
async fn sqlite_a_symlink_to_the_db_finds_the_same_lease() {
    let db = TestDb::sqlite();
    let real = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let first = db.open().await;
    let link = std::path::Path::new(&real).with_file_name("link.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let second = Store::open(&format!("sqlite://{}", link.display()))
        .await
        .unwrap();
    let treasury = party("treasury");

    let lease = first.try_ingestion_lease(&treasury).await.unwrap().unwrap();
    assert!(
        second
            .try_ingestion_lease(&treasury)
            .await
            .unwrap()
            .is_none(),
        "the lease held through the real path must be held through the symlink too"
    );
    assert_eq!(
        first.ingestion_lease_name(&treasury),
        second.ingestion_lease_name(&treasury)
    );
    lease.release().await;
    first.close().await;
    second.close().await;
}
