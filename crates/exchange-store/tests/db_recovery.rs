//! The DB-restore run's state on both databases: a new run switches withdrawals off and takes
//! tSafe from its floor or the latest trecTgt; an unfinished run is resumed as it is (and the
//! switch turned off again); `restart` replaces it, never with an earlier tSafe; finishing
//! switches withdrawals on and lets the next run start afresh.

mod harness;

use exchange_core::Timestamp;
use exchange_store::Switch;
use harness::TestDb;

conformance!(a_run_resumes_restarts_and_finishes,);

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_micros(1_800_000_000_000_000 + seconds * 1_000_000).unwrap()
}

async fn a_run_resumes_restarts_and_finishes(db: &TestDb) {
    let store = db.open().await;
    assert!(store.db_recovery().await.unwrap().is_none());

    let first = store
        .begin_db_recovery(at(10), "restored", false)
        .await
        .unwrap();
    assert_eq!(first.t_safe, at(10));
    assert_eq!(first.phase, "waiting");
    let switch = store.switch(Switch::Withdrawals).await.unwrap();
    assert!(!switch.enabled);
    assert_eq!(switch.reason, "restored");

    // A later call resumes it: same tSafe whatever its own floor, switch off again.
    store
        .set_switch(Switch::Withdrawals, true, "by hand")
        .await
        .unwrap();
    let resumed = store
        .begin_db_recovery(at(99), "again", false)
        .await
        .unwrap();
    assert_eq!(resumed, first);
    assert!(!store.switch(Switch::Withdrawals).await.unwrap().enabled);

    // A restart never moves tSafe back.
    let restarted = store
        .begin_db_recovery(at(5), "restart", true)
        .await
        .unwrap();
    assert_eq!(restarted.t_safe, at(10));
    store.set_db_recovery_phase("resynced").await.unwrap();
    assert_eq!(
        store.db_recovery().await.unwrap().unwrap().phase,
        "resynced"
    );

    store.finish_db_recovery(false).await.unwrap();
    assert!(store.switch(Switch::Withdrawals).await.unwrap().enabled);
    let done = store.db_recovery().await.unwrap().unwrap();
    assert_eq!(done.phase, "done");
    assert!(done.finished_at.is_some());
    assert!(
        store.finish_db_recovery(false).await.is_err(),
        "nothing left to finish"
    );

    // After a finished run, the next starts afresh with its own floor.
    let next = store
        .begin_db_recovery(at(20), "next", false)
        .await
        .unwrap();
    assert_eq!(next.t_safe, at(20));
    assert!(next.finished_at.is_none());
    let log = store.operator_log().await.unwrap();
    assert!(log.iter().any(|e| e.note.action == "recover db: finished"));
    store.close().await;
}
