//! `status` (and `quarantine list`) show the token standard V2 events ingestion did not trust (forged or foreign
//! `EventLog_HoldingsChange`s are held back, not anomalies, so `--strict` cannot be stopped by
//! a stranger): their count and the latest reasons, in the table and in JSON.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

mod common;

use exchange_core::changeset::{ChangeSet, Checkpoint, Effect, IngestedUpdate, UntrustedEvent};
use exchange_core::{Offset, SynchronizerId, Timestamp, UpdateId};
use harness::TestDb;
use serde_json::Value;

conformance!(status_shows_untrusted_v2_events);

fn status(db: &str, format: &str) -> String {
    common::ok(&["status", "--db", db, "--format", format])
}

fn update(n: i64) -> IngestedUpdate {
    IngestedUpdate {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        offset: Offset::new(n).unwrap(),
        record_time: Timestamp::from_micros(1_700_000_000_000_000 + n).unwrap(),
        synchronizer_id: SynchronizerId::new("global::1220").unwrap(),
    }
}

async fn status_shows_untrusted_v2_events(db: &TestDb) {
    let url = db.url.as_str();
    let store = db.open().await;
    store.close().await;
    let json: Value = serde_json::from_str(&status(url, "json")).unwrap();
    assert_eq!(json["untrustedV2Events"]["count"], 0);
    assert!(status(url, "table").contains("untrusted V2 events       0"));

    let store = db.open().await;
    let reason = "V2 event of admin dso::1220 not credited: not exercised by its admin alone \
                  (acting: [\"mallory::1220\"])";
    let mut changes = ChangeSet::default();
    changes.ingest(update(1));
    changes.effects.push(Effect::UntrustedEvent(UntrustedEvent {
        origin: update(1).origin(),
        node_id: 4,
        reason: reason.to_owned(),
    }));
    let checkpoint = Checkpoint {
        offset: Offset::new(1).unwrap(),
        last_update: Some(update(1)),
    };
    store.commit(&changes, &checkpoint).await.unwrap();
    store.close().await;

    let json: Value = serde_json::from_str(&status(url, "json")).unwrap();
    let untrusted = &json["untrustedV2Events"];
    assert_eq!(untrusted["count"], 1);
    assert_eq!(untrusted["latest"][0]["updateId"], "u1");
    assert_eq!(untrusted["latest"][0]["nodeId"], 4);
    assert_eq!(untrusted["latest"][0]["reason"], reason);
    let table = status(url, "table");
    assert!(table.contains("untrusted V2 events       1"), "{table}");
    assert!(table.contains("u1 node 4 ("), "{table}");
    assert!(table.contains(reason), "{table}");
    let out = common::run(&["quarantine", "list", "--db", url]);
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(list.contains("1 untrusted V2 events held back"), "{list}");
}
