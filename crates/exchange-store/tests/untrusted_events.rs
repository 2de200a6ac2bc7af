//! Untrusted token standard V2 events (`Effect::UntrustedEvent`) are recorded once per event
//! node, replays included, and counted and listed newest first for operators.

mod harness;

use exchange_core::changeset::{ChangeSet, Checkpoint, Effect, IngestedUpdate, UntrustedEvent};
use exchange_core::{Offset, SynchronizerId, Timestamp, UpdateId};
use harness::TestDb;

conformance!(untrusted_events_are_recorded_once_and_listed);

fn update(n: i64) -> IngestedUpdate {
    IngestedUpdate {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        offset: Offset::new(n).unwrap(),
        record_time: Timestamp::from_micros(n * 1000).unwrap(),
        synchronizer_id: SynchronizerId::new("global::1220").unwrap(),
    }
}

fn event(n: i64, node_id: i32, reason: &str) -> Effect {
    Effect::UntrustedEvent(UntrustedEvent {
        origin: update(n).origin(),
        node_id,
        reason: reason.to_owned(),
    })
}

fn commit_of(n: i64, effects: Vec<Effect>) -> (ChangeSet, Checkpoint) {
    let mut changes = ChangeSet::default();
    changes.ingest(update(n));
    changes.effects = effects;
    let checkpoint = Checkpoint {
        offset: Offset::new(n).unwrap(),
        last_update: Some(update(n)),
    };
    (changes, checkpoint)
}

async fn untrusted_events_are_recorded_once_and_listed(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.untrusted_events(10).await.unwrap(), (0, vec![]));
    let forged = "V2 event of admin dso::1 not credited: not exercised by its admin alone";
    let (c, k) = commit_of(1, vec![event(1, 3, forged), event(1, 7, "foreign")]);
    store.commit(&c, &k).await.unwrap();
    let (c, k) = commit_of(2, vec![event(2, 0, "not onboarded")]);
    store.commit(&c, &k).await.unwrap();
    // The same event again (as a quarantine release re-folds a transaction): recorded once.
    let again = ChangeSet {
        effects: vec![event(1, 3, forged)],
        ..ChangeSet::default()
    };
    store.commit_released(&again).await.unwrap();

    let (count, latest) = store.untrusted_events(2).await.unwrap();
    assert_eq!(count, 3);
    let got: Vec<_> = latest
        .iter()
        .map(|e| (e.origin.update_id.as_str(), e.node_id, e.reason.as_str()))
        .collect();
    assert_eq!(got, vec![("u2", 0, "not onboarded"), ("u1", 3, forged)]);
    assert_eq!(latest[0].origin.record_time, update(2).record_time);
    store.close().await;
}
