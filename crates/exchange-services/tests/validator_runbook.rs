//! The `recover validator` runbook step by step against the sandbox, on SQLite and PostgreSQL:
//! it uploads the `.dar`s a restored node lost, changes nothing in a dry run, converges when run
//! again after an interruption, and refuses (changing nothing) while ingestion or automation
//! runs, while the node has not caught up, or when the DB, the node or the Admin API do not
//! belong together.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use canton_ledger::admin_client::AdminClient;
use common::restore::*;
use common::*;
use exchange_services::Transport;
use exchange_services::filter::treasury_format;
use exchange_services::recover::{
    OffRecoveryBy, RecordTimes, RecoverError, Recovered, Runbook, validator_restore,
};
use exchange_store::Store;
use harness::TestDb;

/// The runbook as `recover validator` walks it, with what each step said.
async fn walk(
    store: &Store,
    node: &Node,
    off_recovery: OffRecoveryBy<'_>,
    dry_run: bool,
) -> (Result<Recovered, RecoverError>, Vec<(u8, String)>) {
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Http);
    let runbook = Runbook {
        store,
        source: &source,
        format: &format,
        off_recovery,
        dry_run,
        operator: "alice",
    };
    let mut said = Vec::new();
    let result = validator_restore(&runbook, &mut |step, text| said.push((step, text))).await;
    (result, said)
}

/// What the DB holds that the runbook may change.
async fn db_state(store: &Store) -> impl PartialEq + std::fmt::Debug {
    (
        store.checkpoint().await.unwrap(),
        store.recoveries().await.unwrap(),
        store.operator_log().await.unwrap(),
    )
}

/// A node restored from a backup taken before a token's `.dar` was uploaded lacks it: the
/// runbook uploads it again from the DB's bytes (and says so), re-points, records the recovery
/// with the old and new identity; a second run finds the `.dar` present and converges.
async fn the_runbook_uploads_the_dars_the_restored_node_lost(db: &TestDb) {
    let (node, store, expected, dar) = restored(db, 53, [5, 5, 3], true).await;
    let dar = dar.unwrap();
    let before = store.checkpoint().await.unwrap().unwrap();
    assert!(
        !node_packages(&node).contains(&dar.main_package_id),
        "a restored node has its backup's packages"
    );

    let admin = AdminClient::new(&node.sandbox.admin_api_url(), None);
    let by = OffRecoveryBy::Admin(&admin, RecordTimes::Unique);
    let (result, said) = walk(&store, &node, by, false).await;
    let r = result.unwrap();
    assert_eq!(r.dars.missing, vec![dar.main_package_id.clone()]);
    assert!(r.dars.uploaded);
    assert!(node_packages(&node).contains(&dar.main_package_id));
    let steps: Vec<u8> = said.iter().map(|(n, _)| *n).collect();
    for n in [1, 2, 3, 4, 5, 6] {
        assert!(steps.contains(&n), "step {n} said nothing: {said:?}");
    }
    let step_4 = said.iter().rev().find(|(n, _)| *n == 4).unwrap();
    assert!(
        step_4.1.contains("uploaded again") && step_4.1.contains(&dar.file_name),
        "{said:?}"
    );
    let last = before.last_update.clone().unwrap();
    let recoveries = store.recoveries().await.unwrap();
    assert_eq!(recoveries.len(), 1);
    let rec = &recoveries[0].record;
    assert_eq!(rec.operator, "alice");
    assert_eq!(rec.t_recovery, last.record_time);
    assert_eq!(rec.synchronizer_id, last.synchronizer_id.as_str());
    assert_eq!(rec.last_offset_before, last.offset.get());
    assert_eq!(rec.checkpoint_before, before.offset.get());
    assert_eq!(rec.checkpoint_after, r.after.offset.get());
    assert_eq!(rec.dars_uploaded, vec![dar.main_package_id.clone()]);
    assert!(
        rec.off_recovery_source
            .contains("GetHighestOffsetByTimestamp")
    );
    assert!(rec.participant_id.is_some());
    assert_eq!(
        store.last_recovery().await.unwrap().as_ref(),
        recoveries.last()
    );

    // Again: the .dar is present, the checkpoint lands where it is.
    let (again, said) = walk(&store, &node, by, false).await;
    let again = again.unwrap();
    assert_eq!(again.dars.present, vec![dar.main_package_id.clone()]);
    assert!(again.dars.missing.is_empty(), "{said:?}");
    assert_eq!(again.after, r.after);

    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 3, "{summary:?}");
    node.assert_credited(&store, &expected).await;
    store.close().await;
}

/// `--dry-run` walks every step, finds the missing `.dar` and offRecovery, and changes nothing:
/// not the DB (checkpoint, recoveries, operator log), not the node (packages, ledger end).
async fn a_dry_run_changes_nothing(db: &TestDb) {
    let (node, store, _, dar) = restored(db, 59, [4, 4, 0], true).await;
    let dar = dar.unwrap();
    let db_before = db_state(&store).await;
    let packages = node_packages(&node);
    let end = node.ledger_end();

    let admin = AdminClient::new(&node.sandbox.admin_api_url(), None);
    let by = OffRecoveryBy::Admin(&admin, RecordTimes::Unique);
    let (result, said) = walk(&store, &node, by, true).await;
    let r = result.unwrap();
    assert!(r.dry_run);
    assert_eq!(r.dars.missing, vec![dar.main_package_id.clone()]);
    assert!(!r.dars.uploaded);
    assert!(r.admin.is_some());
    assert!(
        said.iter()
            .any(|(n, t)| *n == 4 && t.contains("would be uploaded")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|(n, t)| *n == 6 && t.contains("dry run")),
        "{said:?}"
    );
    assert_eq!(db_state(&store).await, db_before);
    assert_eq!(node_packages(&node), packages);
    assert_eq!(node.ledger_end(), end);

    // The real run then does what the dry run said.
    let (real, _) = walk(&store, &node, by, false).await;
    assert_eq!(real.unwrap().after, r.after);
    store.close().await;
}

/// Interrupted after step 4 (the Admin API unreachable): the `.dar` is uploaded, the checkpoint
/// untouched; run again, the runbook finds the `.dar` present and finishes.
async fn an_interrupted_runbook_converges_when_run_again(db: &TestDb) {
    let (node, store, expected, dar) = restored(db, 61, [4, 4, 2], true).await;
    let dar = dar.unwrap();
    let db_before = db_state(&store).await;

    // Nothing listens there.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = unused.local_addr().unwrap().to_string();
    drop(unused);
    let gone = AdminClient::new(&dead, None);
    let (result, _) = walk(
        &store,
        &node,
        OffRecoveryBy::Admin(&gone, RecordTimes::Unique),
        false,
    )
    .await;
    assert!(matches!(result, Err(RecoverError::Admin(_))), "{result:?}");
    assert!(node_packages(&node).contains(&dar.main_package_id));
    assert_eq!(db_state(&store).await, db_before);

    let admin = AdminClient::new(&node.sandbox.admin_api_url(), None);
    let by = OffRecoveryBy::Admin(&admin, RecordTimes::Unique);
    let (result, _) = walk(&store, &node, by, false).await;
    let r = result.unwrap();
    assert_eq!(r.dars.present, vec![dar.main_package_id.clone()]);
    assert!(r.dars.missing.is_empty());
    assert_eq!(store.recoveries().await.unwrap().len(), 1);
    node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    node.assert_credited(&store, &expected).await;
    store.close().await;
}

/// Step 1: a running ingestion (its lease) and live automation claims each stop the runbook,
/// naming what holds it; nothing changes. Once released, the runbook runs.
async fn a_held_lease_or_live_claims_are_refused(db: &TestDb) {
    use common::exchange::Exchange;
    let mut x = Exchange::start(db, 2).await;
    x.deposit(0, "100").await;
    let node_source = exchange_services::Source::Ledger {
        client: canton_ledger::client::LedgerClient::new(&x.sandbox.ledger_api_url(), None),
        transport: Transport::Http,
    };
    let format = treasury_format(&x.treasury);
    let runbook = Runbook {
        store: &x.store,
        source: &node_source,
        format: &format,
        off_recovery: OffRecoveryBy::LastIngested,
        dry_run: false,
        operator: "alice",
    };
    let db_before = db_state(&x.store).await;

    // Another handle of the DB, as another process's ingestion would hold it.
    let other = db.open().await;
    let party = exchange_core::PartyId::new(&x.treasury).unwrap();
    let lease = other.try_ingestion_lease(&party).await.unwrap().unwrap();
    let err = validator_restore(&runbook, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, RecoverError::IngestionRunning(_)), "{err}");
    lease.release().await;
    other.close().await;
    assert_eq!(db_state(&x.store).await, db_before);

    // A replica's live claim on a withdrawal.
    let receiver = common::exchange::preapproved(&x, "receiver");
    x.place("w-1", 0, &receiver, "10").await;
    let claimed = x
        .store
        .claim_withdrawals(&exchange_store::ClaimRequest {
            worker: "replica-a",
            now: exchange_core::Timestamp::now(),
            claim_micros: 600 * common::exchange::SECOND,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let err = validator_restore(&runbook, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, RecoverError::AutomationRunning(_)), "{err}");
    assert!(
        err.to_string().contains("withdrawal w-1 by replica-a"),
        "{err}"
    );
    assert_eq!(db_state(&x.store).await, db_before);

    // Released (the replica stopped): the runbook runs.
    let id = exchange_core::withdrawal::WithdrawalId::new("w-1").unwrap();
    let outcome = exchange_store::AttemptOutcome {
        executed: false,
        retry_at: exchange_core::Timestamp::now(),
        error: None,
        execute_before: None,
    };
    x.store
        .finish_attempt(&id, "replica-a", &outcome)
        .await
        .unwrap();
    validator_restore(&runbook, &mut |_, _| {}).await.unwrap();
    x.store.close().await;
}

/// Step 3: a restored node that has not caught up (it lacks the last ingested update) is
/// refused, nothing changed; once it has caught up, the runbook runs. A node with the same
/// seed replays the same history, so a second node fed part of it is the restored node still
/// catching up.
async fn a_node_not_caught_up_is_refused_until_it_is(db: &TestDb) {
    let (_node, store, _, _) = ingested(db, 67, 6).await;
    let db_before = db_state(&store).await;

    let mut behind = Node::start(CUSTOMERS).await;
    let mut rng = Rng::new(67);
    behind.random_deposits(&mut rng, 4, &mut Credits::new());
    let (result, said) = walk(&store, &behind, OffRecoveryBy::LastIngested, false).await;
    let err = result.unwrap_err();
    assert!(matches!(err, RecoverError::NotYetOnNode { .. }), "{err}");
    assert!(said.iter().any(|(n, _)| *n == 3), "{said:?}");
    assert_eq!(db_state(&store).await, db_before);

    // The rest of the history arrives.
    behind.random_deposits(&mut rng, 2, &mut Credits::new());
    let (result, _) = walk(&store, &behind, OffRecoveryBy::LastIngested, false).await;
    result.unwrap();
    store.close().await;
}

/// Step 3: the node shows the last ingested update on another synchronizer than the DB
/// recorded (a DB and a node that do not belong together): refused, nothing changed.
async fn a_wrong_synchronizer_is_refused(db: &TestDb) {
    let (node, store, _, _) = ingested(db, 71, 3).await;
    let mut checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.as_mut().unwrap();
    last.synchronizer_id = exchange_core::SynchronizerId::new("other-domain::1220aaaa").unwrap();
    store.rewind_checkpoint(&checkpoint, None).await.unwrap();
    let db_before = db_state(&store).await;
    let (result, _) = walk(&store, &node, OffRecoveryBy::LastIngested, false).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, RecoverError::WrongSynchronizer { ref in_db, .. } if in_db == "other-domain::1220aaaa"),
        "{err}"
    );
    assert_eq!(db_state(&store).await, db_before);
    store.close().await;
}

/// Step 5: `--admin-api` of another node (a second sandbox with its own history): it does not
/// know the synchronizer, or answers an offset the restored node cannot have. Refused,
/// nothing changed.
async fn the_admin_api_of_another_node_is_refused(db: &TestDb) {
    let (node, store, mut rng, _) = ingested(db, 73, 3).await;
    let db_before = db_state(&store).await;
    let mut other = Node::start_seeded(CUSTOMERS, "another-node").await;
    other.random_deposits(&mut rng, 30, &mut Credits::new());
    let admin = AdminClient::new(&other.sandbox.admin_api_url(), None);
    let by = OffRecoveryBy::Admin(&admin, RecordTimes::Unique);
    let (result, _) = walk(&store, &node, by, false).await;
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            RecoverError::AdminOfAnotherNode { .. } | RecoverError::AdminOffsetImplausible { .. }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("is --admin-api the restored node's Admin API"),
        "{err}"
    );
    assert_eq!(db_state(&store).await, db_before);
    store.close().await;
}

conformance!(
    the_runbook_uploads_the_dars_the_restored_node_lost,
    a_dry_run_changes_nothing,
    an_interrupted_runbook_converges_when_run_again,
    a_held_lease_or_live_claims_are_refused,
    a_node_not_caught_up_is_refused_until_it_is,
    a_wrong_synchronizer_is_refused,
    the_admin_api_of_another_node_is_refused,
);
