//! Withdrawals ingestion recovered from a pending offer before it kept the offer's
//! `executeBefore` get it from the offer's own record (migration 0024), and then expire like
//! any offer; rows the offer's record cannot vouch for are left as they were. SQLite and
//! PostgreSQL.

mod harness;

use exchange_core::changeset::Effect;
use exchange_core::ingest::{Known, LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS, Needs, expire_due};
use exchange_core::withdrawal::WithdrawalState;
use exchange_core::{SynchronizerId, Timestamp};
use harness::TestDb;
use harness::fixtures::{sync, wid};

conformance!(recovered_offers_get_their_deadline_from_the_offer);

/// The offers' `executeBefore` (µs).
const DEADLINE: i64 = 9_000_000;

/// Outgoing offer `offer`, created by update `created` in `state`, with the deadline when
/// `dated`.
fn offer(offer: &str, state: &str, created: &str, dated: bool) -> String {
    let (before, sync) = if dated {
        (DEADLINE.to_string(), "'global::1220'".to_owned())
    } else {
        ("NULL".to_owned(), "NULL".to_owned())
    };
    format!(
        "INSERT INTO transfer_instructions (contract_id, direction, state, sender, receiver,
             instrument_admin, instrument_id, amount, created_update_id, created_record_time_us,
             updated_update_id, updated_record_time_us, execute_before_us, synchronizer_id)
         VALUES ('{offer}', 'outgoing', '{state}', 'treasury::1220abcd', 'bob::1220abcd',
                 'DSO::1220abcd', 'Amulet', '25.0000000000', '{created}', 1000, '{created}',
                 1000, {before}, {sync})"
    )
}

/// Withdrawal `id` in `state`, last moved by update `last`, naming `offer` (if any), with
/// `execute_before_us` (SQL).
fn withdrawal(id: &str, state: &str, offer: Option<&str>, last: &str, before: &str) -> String {
    let offer = offer.map_or("NULL".to_owned(), |o| format!("'{o}'"));
    format!(
        "INSERT INTO withdrawals (withdrawal_id, state, instrument_admin, instrument_id, amount,
             receiver, transfer_instruction_id, last_update_id, last_record_time_us,
             created_at_us, updated_at_us, execute_before_us)
         VALUES ('{id}', '{state}', 'DSO::1220abcd', 'Amulet', '25.0000000000', 'bob::1220abcd',
                 {offer}, '{last}', 1000, 1, 1, {before})"
    )
}

async fn recovered_offers_get_their_deadline_from_the_offer(db: &TestDb) {
    db.migrate_up_to(23).await;
    db.raw(&[
        // Recovered in the transaction that created its offer: the backfill's case.
        &offer("o1", "pending", "u5", true),
        &withdrawal("w1", "recovered", Some("o1"), "u5", "NULL"),
        // Its offer recorded before offers kept their deadline (migration 0016).
        &offer("o2", "pending", "u6", false),
        &withdrawal("w2", "recovered", Some("o2"), "u6", "NULL"),
        // No longer recovered: its offer's fate is known.
        &offer("o3", "accepted", "u7", true),
        &withdrawal("w3", "completed", Some("o3"), "u8", "NULL"),
        // Recovered by another transaction than the one that created the offer.
        &offer("o4", "pending", "u9", true),
        &withdrawal("w4", "recovered", Some("o4"), "u10", "NULL"),
        // No offer at all (a completed transfer).
        &withdrawal("w5", "recovered", None, "u11", "NULL"),
        // The automation's own offer, dated by its execution.
        &offer("o6", "pending", "u12", true),
        &withdrawal("w6", "pending_acceptance", Some("o6"), "u12", "NULL"),
        // Recovered with its deadline already.
        &offer("o7", "pending", "u13", true),
        &withdrawal("w7", "recovered", Some("o7"), "u13", "1234"),
    ])
    .await;

    let store = db.open().await;
    let mut dated = Vec::new();
    for id in ["w1", "w2", "w3", "w4", "w5", "w6", "w7"] {
        let w = store.withdrawal(&wid(id)).await.unwrap().unwrap();
        let before = w.execute_before.map(Timestamp::micros);
        dated.push((id, before, w.synchronizer.map(|s| s.to_string())));
    }
    let global = Some(sync().to_string());
    assert_eq!(
        dated,
        [
            ("w1", Some(DEADLINE), global),
            ("w2", None, None),
            ("w3", None, None),
            ("w4", None, None),
            ("w5", None, None),
            ("w6", None, None),
            ("w7", Some(1234), None),
        ]
    );

    // Ingestion now loads w1 as due once its synchronizer's record time passes the deadline
    // (with the tolerance), and expires its offer.
    let late = Timestamp::from_micros(DEADLINE + LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS).unwrap();
    let needs = Needs {
        due_before: Some(late),
        ..Needs::default()
    };
    let mut known = Known::default();
    store.load_known(&needs, &mut known).await.unwrap();
    known
        .record_times
        .insert(SynchronizerId::new("global::1220").unwrap(), late);
    let mut moved: Vec<(String, WithdrawalState)> = expire_due(&known)
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Withdrawal(t) => Some((t.id.to_string(), t.to)),
            _ => None,
        })
        .collect();
    moved.sort_by(|a, b| a.0.cmp(&b.0));
    // An expired offer fails its withdrawal (refunded); w7 by its own, earlier, deadline as
    // before; nothing else is due.
    assert_eq!(
        moved,
        [
            ("w1".to_owned(), WithdrawalState::Failed),
            ("w7".to_owned(), WithdrawalState::Failed),
        ]
    );
    store.close().await;
}
