//! The node-restore runbook end to end, on SQLite and PostgreSQL: after the node is restored
//! from a backup (offsets change, everything committed since is re-received under new
//! offsets), ingestion refuses to resume until re-pointed, and once re-pointed at the recovery
//! offset every deposit is credited exactly once. Also: a pruned checkpoint is refused. The
//! `recover validator` runbook around it is `validator_runbook.rs`.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use canton_ledger::admin::grpc::party_management_service_server::{
    PartyManagementService, PartyManagementServiceServer,
};
use canton_ledger::admin::{
    GetHighestOffsetByTimestampRequest, GetHighestOffsetByTimestampResponse,
};
use canton_ledger::admin_client::AdminClient;
use common::restore::*;
use common::*;
use exchange_core::Amount;
use exchange_services::filter::treasury_format;
use exchange_services::identity::IdentityError;
use exchange_services::recover::{
    GivenOffset, RecordTimes, RecoverError, Recovered, node_restore, node_restore_via_admin,
};
use exchange_services::{IngestError, Transport};
use exchange_store::Store;
use harness::TestDb;

/// `offRecovery` by `GetHighestOffsetByTimestamp` semantics (the highest offset with a record
/// time at or before `tRecovery`), asked of the sandbox through its handle, as an operator's
/// own query passed with `--offset` (the Admin API over gRPC is tested below and in
/// `canton-exchange`'s process tests).
fn off_recovery(node: &Node, t_recovery: exchange_core::Timestamp) -> i64 {
    node.sandbox
        .with_world(|w| w.ledger.highest_offset_at_or_before(t_recovery))
        .expect("an offset at or before tRecovery")
}

async fn restore_then_repoint(db: &TestDb, by_admin_offset: bool) {
    // Runbook step 1 and 3: ingestion is stopped, the node restored; deposits go on.
    let (node, store, expected, _) = restored(db, 17, [12, 12, 6], false).await;
    let before = node.balances(&store).await;

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
    assert!(err.to_string().contains("recover validator"), "{err}");
    assert_eq!(node.balances(&store).await, before);

    // Steps 2, 5, 6: tRecovery from the DB, offRecovery from the node, re-point.
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    let given = by_admin_offset.then(|| GivenOffset::at(off_recovery(&node, last.record_time)));
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let recovered = node_restore(&store, &source, &format, given).await.unwrap();
    assert_ne!(recovered.after.offset, checkpoint.offset, "offsets changed");

    // Step 7: ingestion resumes; only what is new is credited.
    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 6, "{summary:?}");
    node.assert_credited(&store, &expected).await;
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
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(23);
    let backup = node.sandbox.backup();
    node.random_deposits(&mut rng, 20, &mut Credits::new());
    node.ingest_once(&store, Transport::Websocket, 7)
        .await
        .unwrap();
    node.sandbox.restore(&backup);
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let first = checkpoint.last_update.unwrap();
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    node_restore(&store, &source, &format, Some(GivenOffset::at(1)))
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
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(29);
    node.random_deposits(&mut rng, 5, &mut Credits::new());
    node.ingest_once(&store, Transport::Websocket, 7)
        .await
        .unwrap();
    node.random_deposits(&mut rng, 5, &mut Credits::new());
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

/// The guide's variant for non-unique record times, through the sandbox's Admin API (3.4): the
/// lookup at `tRecovery - 1 µs` answers the offset before the last ingested update, which is
/// read again and skipped; only what is new is credited.
async fn the_admin_api_with_non_unique_record_times(db: &TestDb) {
    let (node, store, expected, _) = restored(db, 31, [8, 8, 4], false).await;

    let own = node.sandbox.admin_api_url();
    let recovered = repoint_via_admin(&node, &store, &own, RecordTimes::NonUnique)
        .await
        .unwrap();
    let last = recovered.after.last_update.clone().unwrap();
    let lookup = recovered.admin.clone().unwrap();
    assert_eq!(lookup.timestamp.micros(), last.record_time.micros() - 1);
    assert!(!lookup.forced);
    assert!(recovered.after.offset < last.offset, "{recovered:?}");

    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 4, "{summary:?}");
    assert!(summary.skipped >= 1, "{summary:?}");
    node.assert_credited(&store, &expected).await;
    store.close().await;
}

/// Steps 5 and 6 through the Admin API at `address` (the node's own, or a scripted one):
/// offRecovery looked up, the checkpoint re-pointed for reading over the websocket.
async fn repoint_via_admin(
    node: &Node,
    store: &Store,
    address: &str,
    record_times: RecordTimes,
) -> Result<Recovered, RecoverError> {
    let admin = AdminClient::new(address, None);
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    node_restore_via_admin(store, &source, &format, &admin, record_times).await
}

type Seen = std::sync::Arc<std::sync::Mutex<Vec<GetHighestOffsetByTimestampRequest>>>;

/// Answers each call with the next scripted answer and records the requests.
struct Scripted {
    answers: std::sync::Mutex<std::collections::VecDeque<Result<i64, (i32, &'static str)>>>,
    seen: Seen,
}

#[tonic::async_trait]
impl PartyManagementService for Scripted {
    async fn get_highest_offset_by_timestamp(
        &self,
        request: tonic::Request<GetHighestOffsetByTimestampRequest>,
    ) -> Result<tonic::Response<GetHighestOffsetByTimestampResponse>, tonic::Status> {
        self.seen.lock().unwrap().push(request.into_inner());
        let answer = self.answers.lock().unwrap().pop_front();
        match answer.expect("a scripted answer for every call") {
            Ok(ledger_offset) => Ok(tonic::Response::new(GetHighestOffsetByTimestampResponse {
                ledger_offset,
            })),
            Err((code, message)) => Err(tonic::Status::new(tonic::Code::from_i32(code), message)),
        }
    }
}

/// A scripted Admin API (the generated tonic service over h2c): answers each
/// GetHighestOffsetByTimestamp call with the next answer (`Ok(offset)`, or
/// `Err((grpc-status, grpc-message))`), and records the requests.
async fn scripted_admin(answers: Vec<Result<i64, (i32, &'static str)>>) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Seen::default();
    let service = Scripted {
        answers: std::sync::Mutex::new(answers.into()),
        seen: seen.clone(),
    };
    let app = axum::Router::new().fallback_service(PartyManagementServiceServer::new(service));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, seen)
}

/// The Admin API answers the sandbox (3.4) does not give: 3.5's exact-match `NOT_FOUND` is
/// asked again with `force = true`; `OUT_OF_RANGE` (not caught up) stops with "retry later"
/// and changes nothing; an offRecovery below the last update's offset is refused.
async fn the_admin_api_answers_not_found_out_of_range_and_nonsense(db: &TestDb) {
    let (node, store, _, _) = ingested(db, 37, 5).await;
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();

    // OUT_OF_RANGE: retry later, nothing changed.
    let (address, seen) = scripted_admin(vec![Err((
        11,
        "INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR(12,00000000): not caught up",
    ))])
    .await;
    let err = repoint_via_admin(&node, &store, &address, RecordTimes::Unique)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RecoverError::AdminNotCaughtUp { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("run this again"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(!seen.lock().unwrap()[0].force);
    assert_eq!(store.checkpoint().await.unwrap().unwrap(), checkpoint);

    // Below the last update's offset: refused, nothing changed.
    let (address, _) = scripted_admin(vec![Ok(last.offset.get() - 1)]).await;
    let err = repoint_via_admin(&node, &store, &address, RecordTimes::Unique)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RecoverError::AdminOffsetImplausible { .. }),
        "{err}"
    );
    assert_eq!(store.checkpoint().await.unwrap().unwrap(), checkpoint);

    // NOT_FOUND (3.5, no exact match): asked again with force, at the same time.
    let (address, seen) = scripted_admin(vec![
        Err((
            5,
            "EXACT_RECORD_TIME_MATCH_NOT_FOUND(11,00000000): closest prior record time",
        )),
        Ok(last.offset.get()),
    ])
    .await;
    let recovered = repoint_via_admin(&node, &store, &address, RecordTimes::Unique)
        .await
        .unwrap();
    let lookup = recovered.admin.unwrap();
    assert!(lookup.forced);
    assert_eq!(lookup.off_recovery, last.offset.get());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|r| r.force).collect::<Vec<_>>(),
        vec![false, true]
    );
    assert_eq!(seen[0].timestamp, seen[1].timestamp);
    assert_eq!(
        seen[0].timestamp.unwrap().to_micros(),
        Some(last.record_time.micros())
    );
    assert_eq!(seen[0].synchronizer_id, last.synchronizer_id.as_str());
    assert_eq!(recovered.after.offset, last.offset);
    // Nothing new: ingestion finds nothing to credit.
    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 0, "{summary:?}");
    store.close().await;
}

/// Non-unique record times with tRecovery at the synchronizer's first record time: 3.4 answers
/// the lookup at `tRecovery - 1 µs` with OUT_OF_RANGE, unforced and forced alike (nothing at or
/// before). The checkpoint goes back to the ledger's beginning; replaying from there credits
/// nothing twice. A forced answer is taken as it is; an unforced OUT_OF_RANGE in the plain
/// runbook still means "retry later" (tested above).
async fn non_unique_record_times_at_the_synchronizers_first_update(db: &TestDb) {
    let (node, store, _, expected) = ingested(db, 41, 4).await;
    let before = node.balances(&store).await;
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    let out_of_range = (
        11,
        "INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR(12,00000000): no offset at or before",
    );

    // Forced lookup finds an offset: taken as offRecovery.
    let (address, seen) = scripted_admin(vec![Err(out_of_range), Ok(2)]).await;
    let recovered = repoint_via_admin(&node, &store, &address, RecordTimes::NonUnique)
        .await
        .unwrap();
    assert_eq!(recovered.after.offset.get(), 2);
    assert!(recovered.admin.unwrap().forced);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|r| r.force).collect::<Vec<_>>(),
        vec![false, true]
    );
    for request in &seen {
        assert_eq!(
            request.timestamp.unwrap().to_micros(),
            Some(last.record_time.micros() - 1)
        );
    }

    // Nothing at or before, even forced: back to the beginning.
    let (address, seen) = scripted_admin(vec![Err(out_of_range), Err(out_of_range)]).await;
    let recovered = repoint_via_admin(&node, &store, &address, RecordTimes::NonUnique)
        .await
        .unwrap();
    assert_eq!(recovered.after.offset, exchange_core::Offset::BEGIN);
    assert_eq!(recovered.admin.unwrap().off_recovery, 0);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(recovered.after.last_update, Some(last));

    // The whole ledger is read again; every transaction is skipped, nothing credited twice.
    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 0, "{summary:?}");
    assert!(summary.skipped >= 4, "{summary:?}");
    assert_eq!(node.balances(&store).await, before);
    node.assert_credited(&store, &expected).await;
    store.close().await;
}

/// The drills' case: the last ingested update is an ACS import (record time 0001-01-01, the
/// minimum). With non-unique record times the runbook looks up `tRecovery - 1 µs`, which lies
/// before the ledger's first instant: nothing can be at or before it, so offRecovery is the
/// ledger's beginning (the Admin API is not asked). Ingestion then reads everything again,
/// skips what it knows by update id (the import included) and credits only what is new: the
/// deposits committed after the backup (re-delivered by the restore) and after the restore.
async fn non_unique_record_times_after_an_acs_import(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(43);
    let mut expected = Credits::new();
    // Non-unique record times: the skip rule by update id, as `--non-unique-record-times` sets.
    let ingest = |node: &Node| {
        let mut config = node.config(true, 5);
        config.fold.skip_rule = exchange_core::ingest::SkipRule::KnownUpdateId;
        common::ingest(&store, node.source(Transport::Websocket), config)
    };
    node.random_deposits(&mut rng, 5, &mut expected);
    let imported = node
        .sandbox
        .import_acs_at_min_time(&node.treasury, &[amount("7"), amount("11")])
        .unwrap();
    assert_eq!(imported.record_time, exchange_core::Timestamp::MIN);
    ingest(&node).await.unwrap();
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    assert_eq!(last.update_id.as_str(), imported.update_id);
    assert_eq!(last.record_time, exchange_core::Timestamp::MIN);

    // Ingestion stops; deposits commit; the node is restored from a backup taken before them.
    let backup = node.sandbox.backup();
    node.random_deposits(&mut rng, 3, &mut expected);
    let report = node.sandbox.restore(&backup);
    assert_eq!(report.redelivered, 3, "{report:?}");
    node.random_deposits(&mut rng, 2, &mut expected);

    let own = node.sandbox.admin_api_url();
    let recovered = repoint_via_admin(&node, &store, &own, RecordTimes::NonUnique)
        .await
        .unwrap();
    assert_eq!(recovered.after.offset, exchange_core::Offset::BEGIN);
    assert_eq!(recovered.admin, None, "nothing to ask the Admin API");
    assert_eq!(
        recovered.after.last_update.as_ref().unwrap().update_id,
        last.update_id
    );
    let record = store.last_recovery().await.unwrap().unwrap().record;
    assert_eq!(record.checkpoint_after, 0);
    assert!(
        record.off_recovery_source.contains("minimum record time"),
        "{record:?}"
    );

    // The whole ledger again: the 5 deposits, the import and the setup skipped, the 5 new
    // deposits credited once.
    let summary = ingest(&node).await.unwrap();
    assert_eq!(summary.ingested, 5, "{summary:?}");
    assert!(summary.skipped >= 6, "{summary:?}");
    node.assert_credited(&store, &expected).await;
    // The treasury's holdings mirror the node's exactly: the imported ones once, none lost.
    let mut in_db: Vec<(String, Amount)> = store
        .active_holdings(&node.instrument)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.holding.contract_id.to_string(), h.holding.amount))
        .collect();
    in_db.sort();
    let mut on_node: Vec<(String, Amount)> = node
        .sandbox
        .with_world(|w| w.amulet.holdings(&w.ledger, &node.treasury))
        .into_iter()
        .map(|h| (h.contract_id, h.amount))
        .collect();
    on_node.sort();
    assert_eq!(in_db, on_node);
    for id in &imported.contract_ids {
        assert_eq!(in_db.iter().filter(|(c, _)| c == id).count(), 1, "{id}");
    }
    store.close().await;
}

/// An operator's `--offset` past the restored node's offset of the last ingested update would
/// skip the deposits in between for good: refused, naming the highest acceptable offset; only
/// the explicit override accepts it, and the DB's operator log records it.
async fn an_offset_past_the_last_ingested_update_is_refused(db: &TestDb) {
    // The 4 deposits after the restore: what a too-late offset would skip.
    let (node, store, expected, _) = restored(db, 31, [6, 6, 4], false).await;
    let before = store.checkpoint().await.unwrap().unwrap();
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let last = before.last_update.clone().unwrap();
    let highest = source
        .offset_of(last.update_id.as_str(), &format)
        .await
        .unwrap()
        .unwrap();
    for beyond in [highest + 1, node.ledger_end(), 99_999_999] {
        let err = node_restore(&store, &source, &format, Some(GivenOffset::at(beyond)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RecoverError::OffsetBeyondLastIngested { given, highest: h, .. } if given == beyond && h == highest),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("at most {highest}")),
            "{err}"
        );
        assert_eq!(store.checkpoint().await.unwrap().unwrap(), before);
    }
    assert!(store.operator_log().await.unwrap().is_empty());

    // The highest acceptable offset itself is fine, and the new deposits are credited.
    node_restore(&store, &source, &format, Some(GivenOffset::at(highest)))
        .await
        .unwrap();
    node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    node.assert_credited(&store, &expected).await;
    assert!(store.operator_log().await.unwrap().is_empty());

    // The override: accepted, and on the record.
    let end = node.ledger_end();
    let skip = GivenOffset {
        offset: end + 5,
        skip_updates_after_last_ingested: true,
    };
    let r = node_restore(&store, &source, &format, Some(skip))
        .await
        .unwrap();
    assert_eq!(r.after.offset.get(), end + 5);
    let log = store.operator_log().await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].note.detail.contains(&format!("-> {}", end + 5)),
        "{log:?}"
    );
    store.close().await;
}

conformance!(
    an_offset_past_the_last_ingested_update_is_refused,
    non_unique_record_times_at_the_synchronizers_first_update,
    non_unique_record_times_after_an_acs_import,
    the_admin_api_with_non_unique_record_times,
    the_admin_api_answers_not_found_out_of_range_and_nonsense,
    a_restored_node_is_refused_then_resumed_at_off_recovery,
    a_restored_node_is_resumed_at_the_last_updates_new_offset,
    the_skip_rule_after_a_restore,
    a_pruned_checkpoint_is_refused,
);
