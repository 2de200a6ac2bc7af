//! The node-restore runbook end to end, on SQLite and PostgreSQL: after the node is restored
//! from a backup (offsets change, everything committed since is re-received under new
//! offsets), ingestion refuses to resume until re-pointed, and once re-pointed at the recovery
//! offset every deposit is credited exactly once. Also: a pruned checkpoint is refused.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::collections::BTreeMap;

use canton_ledger::admin::{
    GetHighestOffsetByTimestampRequest, GetHighestOffsetByTimestampResponse, decode_frame,
    encode_frame,
};
use canton_ledger::admin_client::AdminClient;
use common::*;
use exchange_core::Amount;
use exchange_services::filter::treasury_format;
use exchange_services::identity::IdentityError;
use exchange_services::recover::{
    GivenOffset, RecordTimes, RecoverError, node_restore, node_restore_via_admin,
};
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
/// time at or before `tRecovery`), asked of the sandbox through its handle, as an operator's
/// own query passed with `--offset` (the Admin API over gRPC is tested below and in
/// `canton-exchange`'s process tests).
fn off_recovery(node: &Node, t_recovery: exchange_core::Timestamp) -> i64 {
    node.sandbox
        .with_world(|w| w.ledger.highest_offset_at_or_before(t_recovery))
        .expect("an offset at or before tRecovery")
}

async fn restore_then_repoint(db: &TestDb, by_admin_offset: bool) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
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
    let given = by_admin_offset.then(|| GivenOffset::at(off_recovery(&node, last.record_time)));
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let recovered = node_restore(&store, &source, &format, given).await.unwrap();
    assert_ne!(recovered.after.offset, checkpoint.offset, "offsets changed");

    // Step 7: ingestion resumes; only what is new is credited.
    let summary = node.ingest_once(&store, Transport::Http, 5).await.unwrap();
    assert_eq!(summary.ingested, 6, "{summary:?}");
    let expected = with_zeros(&expected, CUSTOMERS);
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
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
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

/// The guide's variant for non-unique record times, through the sandbox's Admin API (3.4): the
/// lookup at `tRecovery - 1 µs` answers the offset before the last ingested update, which is
/// read again and skipped; only what is new is credited.
async fn the_admin_api_with_non_unique_record_times(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(31);
    let mut expected = BTreeMap::new();
    deposit_round(&mut node, &mut rng, 8, &mut expected);
    let backup = node.sandbox.backup();
    deposit_round(&mut node, &mut rng, 8, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    node.sandbox.restore(&backup);
    deposit_round(&mut node, &mut rng, 4, &mut expected);

    let admin = AdminClient::new(&node.sandbox.admin_api_url(), None);
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let recovered =
        node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::NonUnique)
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
    let expected = with_zeros(&expected, CUSTOMERS);
    assert_eq!(
        balances(&store, CUSTOMERS, &node.instrument).await,
        expected
    );
    store.close().await;
}

/// A scripted Admin API: answers each GetHighestOffsetByTimestamp call with the next answer
/// (`Ok(offset)`, or `Err((grpc-status, grpc-message))` as a Trailers-Only response), and
/// records the requests.
async fn scripted_admin(
    answers: Vec<Result<i64, (i32, &'static str)>>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<GetHighestOffsetByTimestampRequest>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let requests = seen.clone();
    tokio::spawn(async move {
        for answer in answers {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::handshake(tcp).await.unwrap();
            let (request, mut respond) = conn.accept().await.unwrap().unwrap();
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut body = request.into_body();
                let mut data = Vec::new();
                while let Some(chunk) = body.data().await {
                    data.extend_from_slice(&chunk.unwrap());
                }
                requests
                    .lock()
                    .unwrap()
                    .push(decode_frame::<GetHighestOffsetByTimestampRequest>(&data).unwrap());
                let head = http::Response::builder().header("content-type", "application/grpc");
                match answer {
                    Ok(offset) => {
                        let mut send = respond
                            .send_response(head.body(()).unwrap(), false)
                            .unwrap();
                        let frame = encode_frame(&GetHighestOffsetByTimestampResponse {
                            ledger_offset: offset,
                        });
                        send.send_data(bytes::Bytes::from(frame), false).unwrap();
                        let mut trailers = http::HeaderMap::new();
                        trailers.insert("grpc-status", "0".parse().unwrap());
                        send.send_trailers(trailers).unwrap();
                    }
                    Err((code, message)) => {
                        let response = head
                            .header("grpc-status", code.to_string())
                            .header("grpc-message", message)
                            .body(())
                            .unwrap();
                        respond.send_response(response, true).unwrap();
                    }
                }
            });
            // Serve the connection until the client hangs up.
            tokio::spawn(async move { while let Some(Ok(_)) = conn.accept().await {} });
        }
    });
    (address, seen)
}

/// The Admin API answers the sandbox (3.4) does not give: 3.5's exact-match `NOT_FOUND` is
/// asked again with `force = true`; `OUT_OF_RANGE` (not caught up) stops with "retry later"
/// and changes nothing; an offRecovery below the last update's offset is refused.
async fn the_admin_api_answers_not_found_out_of_range_and_nonsense(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(37);
    deposit_round(&mut node, &mut rng, 5, &mut BTreeMap::new());
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);

    // OUT_OF_RANGE: retry later, nothing changed.
    let (address, seen) = scripted_admin(vec![Err((
        11,
        "INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR(12,00000000): not caught up",
    ))])
    .await;
    let admin = AdminClient::new(&address, None);
    let err = node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::Unique)
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
    let admin = AdminClient::new(&address, None);
    let err = node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::Unique)
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
    let admin = AdminClient::new(&address, None);
    let recovered = node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::Unique)
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
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(41);
    let mut expected = BTreeMap::new();
    deposit_round(&mut node, &mut rng, 4, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    let before = balances(&store, CUSTOMERS, &node.instrument).await;
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let out_of_range = (
        11,
        "INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR(12,00000000): no offset at or before",
    );

    // Forced lookup finds an offset: taken as offRecovery.
    let (address, seen) = scripted_admin(vec![Err(out_of_range), Ok(2)]).await;
    let admin = AdminClient::new(&address, None);
    let recovered =
        node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::NonUnique)
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
    let admin = AdminClient::new(&address, None);
    let recovered =
        node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::NonUnique)
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
    assert_eq!(balances(&store, CUSTOMERS, &node.instrument).await, before);
    let expected = with_zeros(&expected, CUSTOMERS);
    assert_eq!(before, expected);
    store.close().await;
}

/// An operator's `--offset` past the restored node's offset of the last ingested update would
/// skip the deposits in between for good: refused, naming the highest acceptable offset; only
/// the explicit override accepts it, and the DB's operator log records it.
async fn an_offset_past_the_last_ingested_update_is_refused(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(31);
    let mut expected = BTreeMap::new();
    deposit_round(&mut node, &mut rng, 6, &mut expected);
    let backup = node.sandbox.backup();
    deposit_round(&mut node, &mut rng, 6, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    node.sandbox.restore(&backup);
    // Deposits after the restore: what a too-late offset would skip.
    deposit_round(&mut node, &mut rng, 4, &mut expected);
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
    let expected = with_zeros(&expected, CUSTOMERS);
    assert_eq!(
        balances(&store, CUSTOMERS, &node.instrument).await,
        expected
    );
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
    the_admin_api_with_non_unique_record_times,
    the_admin_api_answers_not_found_out_of_range_and_nonsense,
    a_restored_node_is_refused_then_resumed_at_off_recovery,
    a_restored_node_is_resumed_at_the_last_updates_new_offset,
    the_skip_rule_after_a_restore,
    a_pruned_checkpoint_is_refused,
);
