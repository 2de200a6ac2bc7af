//! The node-restore runbook end to end, on SQLite and PostgreSQL: after the node is restored
//! from a backup (offsets change, everything committed since is re-received under new
//! offsets), ingestion refuses to resume until re-pointed, and once re-pointed at the recovery
//! offset every deposit is credited exactly once. Also: a pruned checkpoint is refused.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::collections::BTreeMap;

use common::*;
use exchange_core::Amount;
use exchange_services::filter::treasury_format;
use exchange_services::identity::IdentityError;
use exchange_services::recover::node_restore;
use exchange_services::{IngestError, Transport};
use harness::TestDb;

const CUSTOMERS: usize = 3;

fn deposit_round(node: &mut Node, rng: &mut Rng, n: usize, expected: &mut BTreeMap<usize, Amount>) {
    for _ in 0..n {
        let c = rng.below(CUSTOMERS as u64) as usize;
        let value = Amount::from_whole(1 + rng.below(20) as i64);
        node.deposit(c, value, account_of(c).as_str());
        let e = expected.entry(c).or_insert(Amount::ZERO);
        *e = e.checked_add(value).unwrap();
    }
}

/// `offRecovery` by `GetHighestOffsetByTimestamp` semantics (the highest offset with a record
/// time at or before `tRecovery`), asked of the sandbox through its handle: our client does not
/// speak the Admin API's gRPC yet.
fn off_recovery(node: &Node, t_recovery: exchange_core::Timestamp) -> i64 {
    node.sandbox
        .with_world(|w| w.ledger.highest_offset_at_or_before(t_recovery))
        .expect("an offset at or before tRecovery")
}

async fn restore_then_repoint(db: &TestDb, by_admin_offset: bool) {
    let mut node = Node::start(CUSTOMERS).await;
    let store = db.open().await;
    create_accounts(&store, CUSTOMERS).await;
    let mut rng = Rng::new(17);
    let mut expected = BTreeMap::new();
    deposit_round(&mut node, &mut rng, 12, &mut expected);
    let backup = node.sandbox.backup();
    deposit_round(&mut node, &mut rng, 12, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    let before = balances(&store, CUSTOMERS, &node.instrument).await;

    // Runbook step 1 and 3: ingestion is stopped, the node restored.
    let report = node.sandbox.restore(&backup);
    let _ = report;
    deposit_round(&mut node, &mut rng, 6, &mut expected);

    // Not re-pointed: refused, and the error names the runbook command.
    let err = node
        .ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::Identity(
                IdentityError::UpdateMissing { .. } | IdentityError::NodeBehind { .. }
            )
        ),
        "{err}"
    );
    assert!(err.to_string().contains("recover node-restore"), "{err}");
    assert_eq!(balances(&store, CUSTOMERS, &node.instrument).await, before);

    // Steps 2, 5, 6: tRecovery from the DB, offRecovery from the node, re-point.
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    let given = by_admin_offset.then(|| off_recovery(&node, last.record_time));
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let recovered = node_restore(&store, &source, &format, given).await.unwrap();
    assert_ne!(recovered.after.offset, checkpoint.offset, "offsets changed");

    // Step 7: ingestion resumes; only what is new is credited.
    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 6, "{summary:?}");
    let expected: BTreeMap<usize, Amount> = (0..CUSTOMERS)
        .map(|i| (i, expected.get(&i).copied().unwrap_or(Amount::ZERO)))
        .collect();
    assert_eq!(
        balances(&store, CUSTOMERS, &node.instrument).await,
        expected
    );
    store.close().await;
}

async fn a_restored_node_is_refused_then_resumed_at_off_recovery(db: &TestDb) {
    restore_then_repoint(db, true).await;
}

async fn a_restored_node_is_resumed_at_the_last_updates_new_offset(db: &TestDb) {
    restore_then_repoint(db, false).await;
}

/// Pointing at an older offset of the restored node (say, offRecovery of an earlier time): the
/// skip rule passes over everything already ingested.
async fn the_skip_rule_after_a_restore(db: &TestDb) {
    let mut node = Node::start(CUSTOMERS).await;
    let store = db.open().await;
    create_accounts(&store, CUSTOMERS).await;
    let mut rng = Rng::new(23);
    let mut expected = BTreeMap::new();
    let backup = node.sandbox.backup();
    deposit_round(&mut node, &mut rng, 20, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 7)
        .await
        .unwrap();
    node.sandbox.restore(&backup);
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let first = checkpoint.last_update.unwrap();
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    node_restore(&store, &source, &format, Some(1))
        .await
        .unwrap();
    let summary = node
        .ingest_once(&store, Transport::Websocket, 7)
        .await
        .unwrap();
    assert_eq!(summary.ingested, 0, "{summary:?}");
    // The 20 deposits, and the treasury's own setup (its preapproval) before them.
    assert!(summary.skipped >= 20, "{summary:?}");
    let after = store.checkpoint().await.unwrap().unwrap();
    assert_eq!(after.last_update.unwrap().update_id, first.update_id);
    assert_eq!(after.offset.get(), node.ledger_end());
    store.close().await;
}

async fn a_pruned_checkpoint_is_refused(db: &TestDb) {
    let mut node = Node::start(CUSTOMERS).await;
    let store = db.open().await;
    create_accounts(&store, CUSTOMERS).await;
    let mut rng = Rng::new(29);
    deposit_round(&mut node, &mut rng, 5, &mut BTreeMap::new());
    node.ingest_once(&store, Transport::Websocket, 7)
        .await
        .unwrap();
    deposit_round(&mut node, &mut rng, 5, &mut BTreeMap::new());
    node.sandbox.prune(node.ledger_end() - 1);
    let err = node
        .ingest_once(&store, Transport::Websocket, 7)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IngestError::Identity(IdentityError::Pruned { .. })),
        "{err}"
    );
    store.close().await;
}

conformance!(
    a_restored_node_is_refused_then_resumed_at_off_recovery,
    a_restored_node_is_resumed_at_the_last_updates_new_offset,
    the_skip_rule_after_a_restore,
    a_pruned_checkpoint_is_refused,
);
