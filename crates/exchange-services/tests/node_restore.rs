//! The node-restore runbook end to end, on SQLite and PostgreSQL: after the node is restored
//! from a backup (offsets change, everything committed since is re-received under new
//! offsets), ingestion refuses to resume until re-pointed, and once re-pointed at the recovery
//! offset every deposit is credited exactly once. Also: a pruned checkpoint is refused.

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
use common::*;
use exchange_core::Amount;
use exchange_services::filter::treasury_format;
use exchange_services::identity::IdentityError;
use exchange_services::recover::{
    GivenOffset, OffRecoveryBy, RecordTimes, RecoverError, Recovered, Runbook, node_restore,
    node_restore_via_admin, validator_restore,
};
use exchange_services::{IngestError, Transport};
use exchange_store::{Dar, Store};
use harness::TestDb;

const CUSTOMERS: usize = 3;

/// `n` deposits drawn from `seed` on a fresh node, all ingested: the node, its store, the
/// generator for more deposits and what each account should be credited.
async fn ingested(db: &TestDb, seed: u64, n: usize) -> (Node, Store, Rng, Credits) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(seed);
    let mut expected = Credits::new();
    node.random_deposits(&mut rng, n, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    (node, store, rng, expected)
}

/// The runbook's starting point: `before` deposits, a node backup, `after` more deposits, all
/// ingested; then the node restored from the backup and `since` deposits committed on it. With
/// `dar`, a token is onboarded with its `.dar` just after the backup (the restored node lacks
/// it). Returns the node, its store, what each account should be credited and the `.dar`.
async fn restored(
    db: &TestDb,
    seed: u64,
    [before, after, since]: [usize; 3],
    dar: bool,
) -> (Node, Store, Credits, Option<Dar>) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(seed);
    let mut expected = Credits::new();
    node.random_deposits(&mut rng, before, &mut expected);
    let backup = node.sandbox.backup();
    let dar = match dar {
        true => Some(onboard_with_dar(&node, &store).await),
        false => None,
    };
    node.random_deposits(&mut rng, after, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    node.sandbox.restore(&backup);
    node.random_deposits(&mut rng, since, &mut expected);
    (node, store, expected, dar)
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
    node.assert_credited(&store, &expected).await;
    store.close().await;
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
    let (node, store, _, expected) = ingested(db, 41, 4).await;
    let before = node.balances(&store).await;
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

    let admin = AdminClient::new(&node.sandbox.admin_api_url(), None);
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let recovered =
        node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::NonUnique)
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

/// The token standard's metadata `.dar`: its main package is not built into the sandbox, so a
/// node has it only once uploaded.
fn metadata_dar() -> Dar {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/dars/splice-api-token-metadata-v1-1.0.0.dar");
    let content = std::fs::read(&path).unwrap();
    let info = canton_ledger::dar::read_dar(&content, Default::default()).unwrap();
    Dar {
        main_package_id: info.main.package_id.clone(),
        file_name: "splice-api-token-metadata-v1-1.0.0.dar".into(),
        content_hash: info.content_hash.clone(),
        package_name: info.main.name.clone(),
        package_version: info.main.version.clone(),
        package_ids: info.package_ids().map(str::to_owned).collect(),
        content,
        uploaded_at: exchange_core::Timestamp::now(),
        listed_at: None,
        ledger_end_before: None,
        ledger_end_after: None,
    }
}

/// Token onboarding as `tokens add --dar` does it: the `.dar` uploaded to the node, then
/// recorded in the DB for the sandbox token SBX.
async fn onboard_with_dar(node: &Node, store: &Store) -> Dar {
    use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
    let dar = metadata_dar();
    let client = canton_ledger::client::LedgerClient::new(&node.sandbox.ledger_api_url(), None);
    client.upload_dar(dar.content.clone()).await.unwrap();
    assert!(node_packages(node).contains(&dar.main_package_id));
    let sbx = node
        .sandbox
        .info()
        .tokens
        .into_iter()
        .find(|t| t.instrument_id == "SBX")
        .unwrap();
    let token = OnboardedToken {
        instrument: exchange_core::InstrumentId {
            admin: exchange_core::PartyId::new(&sbx.admin).unwrap(),
            id: sbx.instrument_id.clone(),
        },
        registry_url: sbx.registry_url.clone(),
        transfer_kind: TokenTransferKind::MultiStep,
        package_names: ["sandbox-token".to_owned()].into(),
    };
    store
        .onboard_token_with_dars(&token, std::slice::from_ref(&dar))
        .await
        .unwrap();
    dar
}

fn node_packages(node: &Node) -> Vec<String> {
    node.sandbox.with_world(|w| w.packages.ids())
}

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
