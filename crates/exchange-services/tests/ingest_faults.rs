//! Ingestion against a node that misbehaves, on SQLite and PostgreSQL: websockets that drop or
//! close mid-way (a close looks like a complete range), half the Ledger API requests refused,
//! and a clean stop while there is nothing to ingest.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use canton_sandbox::{FaultConfig, SandboxConfig};
use common::*;
use exchange_core::Amount;
use exchange_core::changeset::DepositState;
use exchange_services::observe::{Collect, Observer, Silent};
use exchange_services::retry::RetryPolicy;
use exchange_services::{IngestEvent, Transport};
use exchange_store::Store;
use harness::TestDb;

const CUSTOMERS: usize = 3;

/// A node with `faults` and `n` deposits to known accounts; what each account should get.
async fn node_with_deposits(
    db: &TestDb,
    faults: FaultConfig,
    n: usize,
    seed: u64,
) -> (Node, Store, Credits) {
    let config = SandboxConfig {
        faults,
        ..SandboxConfig::default()
    };
    let mut node = Node::start_with(CUSTOMERS, config).await;
    let store = store_for(db, &node.sandbox, CUSTOMERS).await;
    let mut expected = Credits::new();
    node.random_deposits(&mut Rng::new(seed), n, &mut expected);
    (node, store, expected)
}

/// The checkpoint is at the node's ledger end, and every deposit is credited exactly once.
async fn assert_all_credited_once(
    node: &Node,
    store: &Store,
    expected: &Credits,
    deposits: usize,
    context: &str,
) {
    let checkpoint = store.checkpoint().await.unwrap().expect("a checkpoint");
    assert_eq!(checkpoint.offset.get(), node.ledger_end(), "{context}");
    let credited = store
        .deposits_in_state(DepositState::Credited)
        .await
        .unwrap();
    assert_eq!(credited.len(), deposits, "{context}");
    assert_eq!(
        node.balances(store).await,
        with_zeros(expected, CUSTOMERS),
        "{context}"
    );
}

/// Issue 8, item 6: a websocket stream that ends mid-way with a normal close (as a node shutting
/// down closes it), which looks like a completed stream; `--once` still reads to the ledger end
/// it saw at start.
async fn a_closed_websocket_is_resumed_to_the_ledger_end(db: &TestDb) {
    let faults = FaultConfig {
        close_websocket_after: Some(3),
        ..FaultConfig::default()
    };
    let (node, store, expected) = node_with_deposits(db, faults, 25, 3).await;
    let summary = node
        .ingest_once(&store, Transport::Websocket, 4)
        .await
        .expect("--once reaches the ledger end");
    assert_eq!(summary.offset, node.ledger_end());
    assert_all_credited_once(&node, &store, &expected, 25, "closed websockets").await;
    store.close().await;
}

/// Issue 8, item 7: stopping a tailing ingestion that has nothing to do ends it cleanly (it
/// used to fail with "checkpoint regression: the stored offset is N, the commit's is N").
async fn a_clean_stop_of_an_idle_ingestion_is_ok(db: &TestDb) {
    let (node, store, expected) = node_with_deposits(db, FaultConfig::default(), 5, 7).await;
    node.ingest_once(&store, Transport::Websocket, 10)
        .await
        .unwrap();
    for transport in [Transport::Websocket, Transport::Http] {
        let tailing = Tailing::spawn(
            &store,
            node.source(transport),
            node.config(false, 10),
            Arc::new(Silent),
        );
        // Idle for a while: several batch windows, and the node's caught-up checkpoints.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let summary = tailing
            .stop()
            .await
            .unwrap_or_else(|e| panic!("{transport:?}: a clean stop is not an error: {e}"));
        assert_eq!(summary.offset, node.ledger_end(), "{transport:?}");
    }
    assert_all_credited_once(&node, &store, &expected, 5, "idle stop").await;
    a_standby_that_took_over_stops_cleanly(db, &node, &store).await;
    store.close().await;
}

/// The same for a standby once it has taken over from an ingestion that stopped.
async fn a_standby_that_took_over_stops_cleanly(db: &TestDb, node: &Node, store: &Store) {
    let tailing = |store: &Store, standby: bool, observer: Arc<dyn Observer>| {
        let mut config = node.config(false, 10);
        config.standby = standby;
        config.standby_poll = Duration::from_millis(20);
        Tailing::spawn(store, node.source(Transport::Websocket), config, observer)
    };
    let first = tailing(store, false, Arc::new(Silent));
    // Let the first take the lease before the standby asks.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = db.open().await;
    let events = Arc::new(Collect::default());
    let standby = tailing(&other, true, events.clone());
    let saw = |event: fn(&IngestEvent) -> bool| events.0.lock().unwrap().iter().any(event);
    wait_until("the standby waits", async || {
        saw(|e| matches!(e, IngestEvent::Standby { .. }))
    })
    .await;
    first.stop().await.expect("the first stops cleanly");
    wait_until("the standby took over", async || {
        saw(|e| matches!(e, IngestEvent::TookOver))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let summary = standby
        .stop()
        .await
        .unwrap_or_else(|e| panic!("a clean stop of the standby is not an error: {e}"));
    assert_eq!(summary.offset, node.ledger_end());
    other.close().await;
}

/// The faults run of issue 8: half the Ledger API requests refused and websockets cut after 3
/// frames (dropped, or for every other seed closed); `--once` completes to the ledger end,
/// every deposit credited once. Twice: the second run starts with the identity check of its
/// checkpoint (several calls).
async fn faults_run(db: &TestDb, seed: u64) {
    let closed = seed % 4 >= 2;
    let faults = FaultConfig {
        seed,
        error_rate: 0.5,
        drop_websocket_after: (!closed).then_some(3),
        close_websocket_after: closed.then_some(3),
        ..FaultConfig::default()
    };
    let (mut node, store, mut expected) = node_with_deposits(db, faults, 10, seed + 1).await;
    once_with_faults(&node, &store, seed).await;
    assert_all_credited_once(&node, &store, &expected, 10, &format!("seed {seed}, run 1")).await;
    for i in 0..10 {
        let customer = i % CUSTOMERS;
        node.credited_deposit(customer, Amount::from_whole(1 + i as i64), &mut expected);
    }
    once_with_faults(&node, &store, seed).await;
    assert_all_credited_once(&node, &store, &expected, 20, &format!("seed {seed}, run 2")).await;
    store.close().await;
}

/// `--once` over the websocket (even seeds) or HTTP (odd ones), with quick, plenty retries.
async fn once_with_faults(node: &Node, store: &Store, seed: u64) {
    let transport = if seed.is_multiple_of(2) {
        Transport::Websocket
    } else {
        Transport::Http
    };
    let mut config = node.config(true, 4);
    // Enough retries that a call refused at random 50% of the time gets through (2^-13 per
    // call to fail for good), quickly.
    config.retry = RetryPolicy {
        max_retries: 12,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    };
    let context = format!("seed {seed}, {transport:?}");
    let summary = ingest(store, node.source(transport), config)
        .await
        .unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!(summary.offset, node.ledger_end(), "{context}");
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn a_closed_websocket_is_resumed_to_the_ledger_end() {
        super::a_closed_websocket_is_resumed_to_the_ledger_end(&TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn a_clean_stop_of_an_idle_ingestion_is_ok() {
        super::a_clean_stop_of_an_idle_ingestion_is_ok(&TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn the_faults_run_completes_for_20_seeds() {
        for seed in 1..=20 {
            faults_run(&TestDb::sqlite(), seed).await;
        }
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn a_closed_websocket_is_resumed_to_the_ledger_end() {
        if let Some(db) = TestDb::postgres("closed_websocket").await {
            super::a_closed_websocket_is_resumed_to_the_ledger_end(&db).await;
        }
    }

    #[tokio::test]
    async fn a_clean_stop_of_an_idle_ingestion_is_ok() {
        if let Some(db) = TestDb::postgres("idle_stop").await {
            super::a_clean_stop_of_an_idle_ingestion_is_ok(&db).await;
        }
    }

    /// A few seeds: the DB is not what faults exercise.
    #[tokio::test]
    async fn the_faults_run_completes_for_some_seeds() {
        for seed in [1, 2, 3] {
            if let Some(db) = TestDb::postgres("faults_run").await {
                faults_run(&db, seed).await;
            }
        }
    }
}
