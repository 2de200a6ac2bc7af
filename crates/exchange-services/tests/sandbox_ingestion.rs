//! Ingestion end to end against the sandbox node, on SQLite and PostgreSQL: deposits are
//! credited exactly once across kills, DB restores and transports; a different node is refused.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use exchange_core::changeset::DepositState;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalRequest, WithdrawalState};
use exchange_core::{Amount, Timestamp};
use exchange_services::identity::IdentityError;
use exchange_services::observe::Silent;
use exchange_services::{IngestError, Ingestor, Transport};
use exchange_store::Store;
use harness::TestDb;
use tokio::sync::watch;

const CUSTOMERS: usize = 4;

/// Random deposits to known accounts (and some to an unknown memo); returns what each known
/// account should be credited.
fn deposits(node: &mut Node, rng: &mut Rng, n: usize, expected: &mut Credits) {
    for _ in 0..n {
        let customer = rng.below(CUSTOMERS as u64) as usize;
        let value = Amount::from_whole(1 + rng.below(50) as i64);
        if rng.below(10) == 0 {
            node.deposit(customer, value, "no-such-account");
        } else {
            node.credited_deposit(customer, value, expected);
        }
    }
}

/// A node and a store, and `n` deposits drawn from `seed`, not yet ingested: the node, its
/// store, the generator for more deposits and what each account should be credited.
async fn with_deposits(db: &TestDb, seed: u64, n: usize) -> (Node, Store, Rng, Credits) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(seed);
    let mut expected = Credits::new();
    deposits(&mut node, &mut rng, n, &mut expected);
    (node, store, rng, expected)
}

async fn ingestion_after_kills_credits_exactly_once(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(7);
    let mut expected = Credits::new();
    for round in 0..6 {
        deposits(&mut node, &mut rng, 15, &mut expected);
        // Tail the ledger and kill the task at a random point (mid-batch, mid-commit, idle).
        let mut config = node.config(false, 1 + rng.below(9) as usize);
        config.batch_wait = Duration::from_millis(rng.below(5));
        let source = node.source(if round % 2 == 0 {
            Transport::Websocket
        } else {
            Transport::Http
        });
        // Each run is a process of its own (its own connection pool), killed at a random
        // point: mid-batch, mid-commit or idle. Its DB transaction dies with it.
        let process_store = db.open().await;
        let tailing = Tailing::spawn(&process_store, source, config, Arc::new(Silent));
        tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
        tailing.task.abort();
        let _ = tailing.task.await;
        drop(process_store);
    }
    let summary = node
        .ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    assert_eq!(summary.anomalies, 0);
    node.assert_credited(&store, &expected).await;
    let credited = store
        .deposits_in_state(DepositState::Credited)
        .await
        .unwrap();
    let unknown = store
        .deposits_in_state(DepositState::UnknownAccount)
        .await
        .unwrap();
    assert_eq!(credited.len() + unknown.len(), 90);
    assert!(
        unknown
            .iter()
            .all(|d| d.deposit.account.as_ref().unwrap().as_str() == "no-such-account")
    );
    // The checkpoint is at the ledger end and names the last transaction.
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    assert_eq!(checkpoint.offset.get(), node.ledger_end());
    // Holdings mirror the node: the treasury's active holdings and their sum.
    let mirrored = store.active_holdings(&node.instrument).await.unwrap();
    let on_node = node
        .sandbox
        .with_world(|w| w.amulet.holdings(&w.ledger, &node.treasury));
    assert_eq!(mirrored.len(), on_node.len());
    store.close().await;
}

async fn a_graceful_stop_leaves_whole_batches(db: &TestDb) {
    let (node, store, _, expected) = with_deposits(db, 11, 40).await;
    let tailing = Tailing::spawn(
        &store,
        node.source(Transport::Websocket),
        node.config(false, 3),
        Arc::new(Silent),
    );
    tokio::time::sleep(Duration::from_millis(15)).await;
    let summary = tailing.stop().await.unwrap();
    // Whatever was committed is whole: the journal holds exactly the credited deposits.
    node.assert_whole_deposits_booked(&store).await;
    assert_eq!(
        store
            .checkpoint()
            .await
            .unwrap()
            .map_or(0, |c| c.offset.get()),
        summary.offset
    );
    node.ingest_once(&store, Transport::Http, 50).await.unwrap();
    node.assert_credited(&store, &expected).await;
    store.close().await;
}

/// A target record time no test reaches.
const FAR_FUTURE: &str = "9000-01-01T00:00:00Z";

/// Requests withdrawal `(id, amount)` of `customer`'s funds to the customer, funded by `input`.
async fn request(
    store: &Store,
    node: &Node,
    customer: usize,
    (id, value): (&str, &str),
    trec_tgt: Timestamp,
    input: exchange_core::ContractId,
) -> WithdrawalId {
    let id = WithdrawalId::new(id).unwrap();
    store
        .request_withdrawal(&WithdrawalRequest {
            id: id.clone(),
            account: account_of(customer),
            instrument: node.instrument.clone(),
            amount: amount(value),
            receiver: exchange_core::PartyId::new(&node.customers[customer]).unwrap(),
            trec_tgt,
            synchronizer: None,
            holdings: vec![input],
        })
        .await
        .unwrap();
    id
}

/// The DB-restore runbook: the DB goes back to a backup taken before a withdrawal was
/// requested and executed. Replaying credits nothing twice, and the withdrawal comes back as
/// `recovered`, debited to the suspense account.
async fn a_db_restore_replays_without_double_credit(db: &TestDb) {
    let (mut node, store, mut rng, mut expected) = with_deposits(db, 3, 20).await;
    node.ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    store.close().await;
    let backup = backup(db).await;
    let store = db.open().await;

    // After the backup: more deposits, and a withdrawal requested, executed and ingested.
    deposits(&mut node, &mut rng, 20, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    let funded = store.available_holdings(&node.instrument).await.unwrap();
    let input = funded
        .iter()
        .find(|h| h.holding.amount >= amount("5"))
        .expect("a holding worth 5");
    let customer = expected.keys().next().copied().unwrap();
    let id = request(
        &store,
        &node,
        customer,
        ("w-lost-in-restore", "5"),
        FAR_FUTURE.parse().unwrap(),
        input.holding.contract_id.clone(),
    )
    .await;
    node.withdraw(
        customer,
        amount("5"),
        id.as_str(),
        vec![input.holding.contract_id.to_string()],
    );
    node.ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    assert_eq!(
        store.withdrawal(&id).await.unwrap().unwrap().state,
        WithdrawalState::Completed
    );
    let before_restore = node.balances(&store).await;
    store.close().await;

    // Restore: the DB is the backup now; ingestion replays from the backup's checkpoint.
    let store = backup.open().await;
    let summary = node.ingest_once(&store, Transport::Http, 6).await.unwrap();
    assert!(summary.ingested >= 21, "{summary:?}");
    let after = node.balances(&store).await;
    assert_eq!(
        after,
        with_zeros(&expected, CUSTOMERS),
        "every deposit credited once"
    );
    // The withdrawal's debit was lost with the request: the customer has it back, and the
    // suspense account carries it until an operator reconciles.
    assert_eq!(
        after[&customer],
        before_restore[&customer].checked_add(amount("5")).unwrap()
    );
    let w = store.withdrawal(&id).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Recovered);
    assert_eq!(w.amount, amount("5"));
    assert_eq!(
        store.balance(&suspense(), &node.instrument).await.unwrap(),
        amount("-5")
    );
    // A second replay (e.g. the checkpoint rewound again) changes nothing.
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let restored_checkpoint = exchange_core::changeset::Checkpoint {
        offset: exchange_core::Offset::new(1).unwrap(),
        last_update: None,
    };
    store
        .rewind_checkpoint(&restored_checkpoint, None)
        .await
        .unwrap();
    let again = node
        .ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    assert_eq!(again.ingested, 0, "{again:?}");
    assert_eq!(node.balances(&store).await, after);
    assert_eq!(
        store.checkpoint().await.unwrap().unwrap().offset,
        checkpoint.offset
    );
    store.close().await;
}

/// A node that is not the one the checkpoint came from is refused: one whose ledger end is
/// behind the checkpoint, and one that has another transaction at the checkpoint's offset.
async fn another_node_is_refused(db: &TestDb) {
    let (node, store, _, _) = with_deposits(db, 5, 10).await;
    node.ingest_once(&store, Transport::Websocket, 4)
        .await
        .unwrap();
    let checkpoint = store.checkpoint().await.unwrap().unwrap();

    // A fresh node with a shorter history.
    let other = Node::start_seeded(1, "another-node").await;
    let err = ingest(
        &store,
        other.source(Transport::Websocket),
        node.config(true, 4),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, IngestError::Identity(IdentityError::NodeBehind { .. })),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("canton-exchange recover validator"),
        "{err}"
    );

    // A node with a longer, different history: something else sits at the checkpoint's offset.
    let mut other = Node::start_seeded(CUSTOMERS, "yet-another-node").await;
    let mut rng = Rng::new(99);
    while other.ledger_end() < checkpoint.offset.get() + 5 {
        deposits(&mut other, &mut rng, 5, &mut Credits::new());
    }
    let err = ingest(&store, other.source(Transport::Http), node.config(true, 4))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::Identity(IdentityError::UpdateMissing { .. })
        ),
        "{err}"
    );
    // Nothing moved.
    assert_eq!(store.checkpoint().await.unwrap().unwrap(), checkpoint);
    store.close().await;
}

/// A node that is down: bounded retries, then the error.
async fn an_unreachable_node_fails_after_bounded_retries(db: &TestDb) {
    let node = Node::start(1).await;
    let store = db.open().await;
    let url = node.sandbox.ledger_api_url();
    node.sandbox.shutdown().await;
    let source = exchange_services::Source::Ledger {
        client: canton_ledger::client::LedgerClient::new(&url, None),
        transport: Transport::Websocket,
    };
    let mut config = Node::start(0).await.config(false, 4);
    config.fold.treasury = exchange_core::PartyId::new("treasury::1220aa").unwrap();
    let collect = Arc::new(exchange_services::observe::Collect::default());
    let (_stop, stop_rx) = watch::channel(false);
    let started = std::time::Instant::now();
    let err = Ingestor::new(store.clone(), source, config, collect.clone())
        .run(stop_rx)
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Ledger(_)), "{err}");
    let retries = collect
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, exchange_services::IngestEvent::Retrying { .. }))
        .count();
    assert_eq!(retries, 3);
    assert!(started.elapsed() < Duration::from_secs(5));
    store.close().await;
}

/// Runs one statement on the test DB (test-only DDL such as fault-injecting triggers).
async fn execute(db: &TestDb, sql: &str) {
    use sqlx::Connection;
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
}

/// Ingestion commits a batch while it prepares the next one. When that commit fails for good,
/// the batch prepared after it must not be committed: the checkpoint stays before the failed
/// batch, and a later run picks up from there and credits everything exactly once.
async fn a_failed_commit_stops_the_batches_after_it(db: &TestDb) {
    let mut node = Node::start(CUSTOMERS).await;
    let mut rng = Rng::new(5);
    let mut expected = Credits::new();
    deposits(&mut node, &mut rng, 30, &mut expected);

    // The treasury's transactions' offsets, from a run one transaction per batch elsewhere.
    let scratch = TestDb::sqlite();
    let scratch_store = scratch.open().await;
    let collect = Arc::new(exchange_services::observe::Collect::default());
    let (_stop, stop_rx) = watch::channel(false);
    Ingestor::new(
        scratch_store.clone(),
        node.source(Transport::Http),
        node.config(true, 1),
        collect.clone(),
    )
    .run(stop_rx)
    .await
    .unwrap();
    scratch_store.close().await;
    let offsets: Vec<i64> = collect
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            exchange_services::IngestEvent::Committed {
                offset,
                transactions: 1,
                ..
            } => Some(*offset),
            _ => None,
        })
        .collect();
    assert!(offsets.len() >= 20, "{offsets:?}");
    let failing = offsets[offsets.len() / 2];

    let store = store_for(db, &node.sandbox, CUSTOMERS).await;
    // Recording that one transaction fails, every time, in the DB itself.
    if db.url.starts_with("sqlite:") {
        execute(
            db,
            &format!(
                "CREATE TRIGGER injected BEFORE INSERT ON ingested_updates
                 WHEN NEW.ledger_offset = {failing}
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ),
        )
        .await;
    } else {
        execute(
            db,
            &format!(
                "CREATE FUNCTION injected() RETURNS trigger AS $$
                 BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER injected BEFORE INSERT ON ingested_updates FOR EACH ROW
                 WHEN (NEW.ledger_offset = {failing}) EXECUTE FUNCTION injected()"
            ),
        )
        .await;
    }
    let err = node
        .ingest_once(&store, Transport::Websocket, 3)
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Store(_)), "{err}");
    let stopped_at = store.checkpoint().await.unwrap().unwrap().offset.get();
    assert!(stopped_at < failing, "{stopped_at} >= {failing}");
    // What was committed is whole batches (had the batch after the failed one committed, the
    // checkpoint would be past the failing transaction).
    let credited = store
        .deposits_in_state(DepositState::Credited)
        .await
        .unwrap();
    assert!(!credited.is_empty());
    node.assert_whole_deposits_booked(&store).await;

    if db.url.starts_with("sqlite:") {
        execute(db, "DROP TRIGGER injected").await;
    } else {
        execute(db, "DROP TRIGGER injected ON ingested_updates").await;
    }
    node.ingest_once(&store, Transport::Websocket, 3)
        .await
        .unwrap();
    node.assert_credited(&store, &expected).await;
    store.close().await;
}

/// What the treasury holds minus what it owes (customer balances and the suspense account).
async fn unreconciled(store: &Store, node: &Node) -> Amount {
    let held = store
        .active_holdings(&node.instrument)
        .await
        .unwrap()
        .iter()
        .map(|h| h.holding.amount)
        .fold(Amount::ZERO, |a, b| a.checked_add(b).unwrap());
    let owed = node
        .balances(store)
        .await
        .into_values()
        .chain([store.balance(&suspense(), &node.instrument).await.unwrap()])
        .fold(Amount::ZERO, |a, b| a.checked_add(b).unwrap());
    held.checked_sub(owed).unwrap()
}

/// A withdrawal's transfer executed twice (a replayed command): both outflows are booked, the
/// second against suspense, never the customer again; holdings still reconcile with what is
/// owed, and the second payment is an anomaly that `status` counts.
async fn a_withdrawal_paid_twice_is_booked_twice(db: &TestDb) {
    let (mut node, store, _, expected) = with_deposits(db, 5, 12).await;
    node.ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    let gap = unreconciled(&store, &node).await;
    let funded = store.available_holdings(&node.instrument).await.unwrap();
    let inputs: Vec<_> = funded
        .iter()
        .filter(|h| h.holding.amount >= amount("5"))
        .map(|h| h.holding.contract_id.clone())
        .take(2)
        .collect();
    assert_eq!(inputs.len(), 2, "two holdings worth 5");
    let customer = expected.keys().next().copied().unwrap();
    let id = request(
        &store,
        &node,
        customer,
        ("w-paid-twice", "5"),
        FAR_FUTURE.parse().unwrap(),
        inputs[0].clone(),
    )
    .await;
    for input in &inputs {
        node.withdraw(customer, amount("5"), id.as_str(), vec![input.to_string()]);
    }
    let summary = node
        .ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    assert_eq!(summary.anomalies, 1, "{summary:?}");
    assert_eq!(
        store.withdrawal(&id).await.unwrap().unwrap().state,
        WithdrawalState::Completed
    );
    let paid: Amount = expected[&customer].checked_sub(amount("5")).unwrap();
    assert_eq!(
        node.balances(&store).await[&customer],
        paid,
        "the customer is debited once"
    );
    assert_eq!(
        store.balance(&suspense(), &node.instrument).await.unwrap(),
        amount("-5")
    );
    assert_eq!(store.overpaid_withdrawal_count().await.unwrap(), 1);
    assert_eq!(unreconciled(&store, &node).await, gap, "holdings reconcile");
    store.close().await;
}

/// While the ledger is idle only the synchronizer's clock moves: the node's offset checkpoints
/// come at the same offset with a later time, and tailing ingestion commits them, so a
/// withdrawal whose target record time passes expires (refunded) without waiting for a new
/// transaction. A stop afterwards is clean.
async fn an_idle_ledgers_clock_expires_withdrawals(db: &TestDb) {
    let (node, store, _, expected) = with_deposits(db, 9, 6).await;
    node.ingest_once(&store, Transport::Websocket, 6)
        .await
        .unwrap();
    let customer = expected.keys().next().copied().unwrap();
    let input = store.available_holdings(&node.instrument).await.unwrap()[0]
        .holding
        .contract_id
        .clone();
    let now = node.sandbox.with_world(|w| w.ledger.record_time());
    let target = Timestamp::from_micros(now.micros() + 5_000_000).unwrap();
    let id = request(
        &store,
        &node,
        customer,
        ("w-expires-while-idle", "1"),
        target,
        input,
    )
    .await;
    let tailing = Tailing::spawn(
        &store,
        node.source(Transport::Websocket),
        node.config(false, 6),
        Arc::new(Silent),
    );
    let end = node.ledger_end();
    node.sandbox
        .with_world(|w| w.ledger.advance_time(10_000_000))
        .unwrap();
    let mut state = WithdrawalState::Requested;
    for _ in 0..200 {
        state = store.withdrawal(&id).await.unwrap().unwrap().state;
        if state == WithdrawalState::Expired {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state, WithdrawalState::Expired);
    assert_eq!(node.ledger_end(), end, "no transaction was needed");
    tailing.stop().await.expect("a clean stop");
    assert_eq!(
        node.balances(&store).await[&customer],
        expected[&customer],
        "refunded"
    );
    store.close().await;
}

conformance!(
    an_idle_ledgers_clock_expires_withdrawals,
    a_withdrawal_paid_twice_is_booked_twice,
    a_failed_commit_stops_the_batches_after_it,
    ingestion_after_kills_credits_exactly_once,
    a_graceful_stop_leaves_whole_batches,
    a_db_restore_replays_without_double_credit,
    another_node_is_refused,
    an_unreachable_node_fails_after_bounded_retries,
);
