//! One ingestion per DB at a time, on SQLite and PostgreSQL: a second instance is refused
//! (naming `--standby`), a standby waits and takes over when the first stops, and the
//! node-restore runbook refuses to move the checkpoint under a running ingestion. Every
//! deposit is credited exactly once throughout.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use exchange_core::Amount;
use exchange_services::filter::treasury_format;
use exchange_services::observe::Collect;
use exchange_services::recover::{RecoverError, node_restore};
use exchange_services::{IngestError, IngestEvent, Transport};
use harness::TestDb;

const CUSTOMERS: usize = 2;

conformance!(a_second_ingestion_is_refused_and_a_standby_takes_over);

fn node_party(node: &Node) -> exchange_core::PartyId {
    exchange_core::PartyId::new(&node.treasury).unwrap()
}

async fn a_second_ingestion_is_refused_and_a_standby_takes_over(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut expected = Credits::new();
    node.credited_deposit(0, Amount::from_whole(5), &mut expected);
    node.credited_deposit(1, Amount::from_whole(7), &mut expected);

    // The first ingestion tails the ledger.
    let first = Tailing::spawn(
        &store,
        node.source(Transport::Websocket),
        node.config(false, 5),
        Arc::new(Collect::default()),
    );
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
    let standby = {
        let mut config = node.config(false, 5);
        config.standby = true;
        config.standby_poll = Duration::from_millis(20);
        Tailing::spawn(&other, node.source(Transport::Http), config, events.clone())
    };
    wait_until("the standby announced itself", async || {
        events
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, IngestEvent::Standby { .. }))
    })
    .await;
    assert_eq!(store.checkpoint().await.unwrap(), checkpoint);

    // …and takes over when the first stops; what arrives afterwards is credited once.
    first.stop().await.unwrap();
    node.credited_deposit(0, Amount::from_whole(11), &mut expected);
    node.credited_deposit(1, Amount::from_whole(13), &mut expected);
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
            .any(|e| matches!(e, IngestEvent::TookOver)),
        "the standby says it took over"
    );
    node.assert_credited(&other, &expected).await;
    standby.stop().await.unwrap();
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
