//! One ingestion per DB at a time, on SQLite and PostgreSQL: a second instance is refused
//! (naming `--standby`), a standby waits and takes over when the first stops, and the
//! node-restore runbook refuses to move the checkpoint under a running ingestion. Every
//! deposit is credited exactly once throughout.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use exchange_core::Amount;
use exchange_services::filter::treasury_format;
use exchange_services::observe::Collect;
use exchange_services::recover::{RecoverError, node_restore};
use exchange_services::{Event, IngestError, Ingestor, Transport};
use harness::TestDb;
use tokio::sync::watch;

const CUSTOMERS: usize = 2;

conformance!(a_second_ingestion_is_refused_and_a_standby_takes_over);

fn node_party(node: &Node) -> exchange_core::PartyId {
    exchange_core::PartyId::new(&node.treasury).unwrap()
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn a_second_ingestion_is_refused_and_a_standby_takes_over(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut expected: BTreeMap<usize, Amount> = BTreeMap::new();
    let mut deposit = |node: &mut Node, c: usize, whole: i64| {
        let value = Amount::from_whole(whole);
        node.deposit(c, value, account_of(c).as_str());
        let e = expected.entry(c).or_insert(Amount::ZERO);
        *e = e.checked_add(value).unwrap();
    };
    deposit(&mut node, 0, 5);
    deposit(&mut node, 1, 7);

    // The first ingestion tails the ledger.
    let (stop_first, stop_rx) = watch::channel(false);
    let first = {
        let store = store.clone();
        let ingestor = Ingestor::new(
            store,
            node.source(Transport::Websocket),
            node.config(false, 5),
            Arc::new(Collect::default()),
        );
        tokio::spawn(async move { ingestor.run(stop_rx).await })
    };
    let end = node.ledger_end();
    wait_until("the first ingestion caught up", async || {
        store.checkpoint().await.unwrap().map(|c| c.offset.get()) >= Some(end)
    })
    .await;

    // A second instance (its own pool, as another process) is refused, and says how to wait.
    let other = db.open().await;
    let err = ingest(&other, node.source(Transport::Http), node.config(true, 5))
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Busy(_)), "{err}");
    assert!(err.to_string().contains("--standby"), "{err}");

    // Nor may the checkpoint be re-pointed under it.
    let format = treasury_format(&node.treasury);
    let err = node_restore(&other, &node.source(Transport::Http), &format, None)
        .await
        .unwrap_err();
    assert!(matches!(err, RecoverError::IngestionRunning(_)), "{err}");
    let checkpoint = store.checkpoint().await.unwrap();

    // A standby waits…
    let events = Arc::new(Collect::default());
    let (stop_standby, standby_rx) = watch::channel(false);
    let standby = {
        let mut config = node.config(false, 5);
        config.standby = true;
        config.standby_poll = Duration::from_millis(20);
        let ingestor = Ingestor::new(
            other.clone(),
            node.source(Transport::Http),
            config,
            events.clone(),
        );
        tokio::spawn(async move { ingestor.run(standby_rx).await })
    };
    wait_until("the standby announced itself", async || {
        events
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::Standby { .. }))
    })
    .await;
    assert_eq!(store.checkpoint().await.unwrap(), checkpoint);

    // …and takes over when the first stops; what arrives afterwards is credited once.
    stop_first.send(true).unwrap();
    first.await.unwrap().unwrap();
    deposit(&mut node, 0, 11);
    deposit(&mut node, 1, 13);
    let end = node.ledger_end();
    wait_until("the standby ingested the new deposits", async || {
        other.checkpoint().await.unwrap().map(|c| c.offset.get()) >= Some(end)
    })
    .await;
    assert!(
        events
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::TookOver)),
        "the standby says it took over"
    );
    let expected = with_zeros(&expected, CUSTOMERS);
    assert_eq!(
        balances(&other, CUSTOMERS, &node.instrument).await,
        expected
    );
    stop_standby.send(true).unwrap();
    standby.await.unwrap().unwrap();
    // Released: the next instance starts at once.
    assert!(
        other
            .try_ingestion_lease(&node_party(&node))
            .await
            .unwrap()
            .is_some()
    );
    other.close().await;
    store.close().await;
}
