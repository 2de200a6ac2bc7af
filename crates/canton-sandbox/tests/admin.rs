//! The Admin API over gRPC (h2c): `GetHighestOffsetByTimestamp` per its 3.4 semantics, before
//! and after a restore, spoken to with the exchange's own tonic client.

mod common;

use canton_ledger::admin::{GetHighestOffsetByTimestampRequest, ProtoTimestamp};
use canton_ledger::admin_client::{AdminClient, AdminError};
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use common::*;
use serde_json::json;

/// A unary call: `Ok(offset)` or `Err((grpc-status, grpc-message))`.
async fn call(
    admin: &str,
    request: &GetHighestOffsetByTimestampRequest,
) -> Result<i64, (i32, String)> {
    let micros = request.timestamp.unwrap().to_micros().unwrap();
    AdminClient::new(admin, None)
        .highest_offset_by_timestamp(&request.synchronizer_id, micros, request.force)
        .await
        .map_err(|e| match e {
            AdminError::Status { code, message, .. } => (code, message),
            other => panic!("not a gRPC status: {other}"),
        })
}

fn at(sync: &str, micros: i64, force: bool) -> GetHighestOffsetByTimestampRequest {
    GetHighestOffsetByTimestampRequest {
        synchronizer_id: sync.to_owned(),
        timestamp: Some(ProtoTimestamp::from_micros(micros)),
        force,
    }
}

/// (offset, record time in µs) of every update the node holds.
fn history(sandbox: &Sandbox) -> Vec<(i64, i64)> {
    sandbox.with_world(|w| {
        w.ledger
            .log()
            .iter()
            .map(|tx| (tx.offset, tx.record_time.micros()))
            .collect()
    })
}

#[tokio::test]
async fn highest_offset_by_timestamp_before_and_after_a_restore() {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..Default::default()
    })
    .await
    .unwrap();
    let admin = sandbox.admin_api_url();
    let sync = sandbox.info().synchronizer_id;
    let log = history(&sandbox);
    let (first_offset, first_time) = log[0];
    // Exactly at each record time: that update's offset; 1 µs before: the previous one's.
    for window in log.windows(2) {
        let ((prev, _), (offset, time)) = (window[0], window[1]);
        assert_eq!(call(&admin, &at(&sync, time, false)).await, Ok(offset));
        assert_eq!(call(&admin, &at(&sync, time - 1, false)).await, Ok(prev));
    }
    assert_eq!(
        call(&admin, &at(&sync, first_time, false)).await,
        Ok(first_offset)
    );
    // Before the first update: nothing there (category 12 → OUT_OF_RANGE).
    let (code, message) = call(&admin, &at(&sync, first_time - 1, false))
        .await
        .unwrap_err();
    assert_eq!(code, 11);
    assert!(
        message.starts_with("INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR(12,"),
        "{message}"
    );
    // After the clean time: refused unless forced; forced gives the ledger end.
    let (last_offset, last_time) = *log.last().unwrap();
    let future = last_time + 60_000_000;
    assert_eq!(
        call(&admin, &at(&sync, future, false)).await.unwrap_err().0,
        11
    );
    assert_eq!(
        call(&admin, &at(&sync, future, true)).await,
        Ok(last_offset)
    );
    // Unknown synchronizer: INVALID_ARGUMENT.
    let (code, message) = call(&admin, &at("other::1220ab", last_time, false))
        .await
        .unwrap_err();
    assert_eq!(code, 3);
    assert!(message.starts_with("INVALID_ARGUMENT_PARTY_MANAGEMENT_ERROR"));

    // Restore to a backup taken before two more transfers: their record times now map to new
    // offsets; times up to the backup map to the same offsets as before.
    let client = Client::new(&sandbox);
    let backup = sandbox.backup();
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let alice = sandbox.parties().customers["alice"].clone();
    for memo in ["x", "y"] {
        client
            .transfer(json!({"sender": treasury, "receiver": alice, "amount": "1", "memo": memo}))
            .await
            .ok();
    }
    let before = history(&sandbox);
    sandbox.restore(&backup);
    let after = history(&sandbox);
    assert_eq!(before.len(), after.len());
    for ((old_offset, time), (new_offset, new_time)) in before.iter().zip(&after) {
        assert_eq!(time, new_time);
        assert_eq!(
            call(&admin, &at(&sync, *time, false)).await,
            Ok(*new_offset)
        );
        if *old_offset > last_offset {
            assert_ne!(old_offset, new_offset);
        }
    }
}

/// On a node connected to two synchronizers the lookup is per synchronizer: only that
/// synchronizer's updates count (another's record times are unrelated) and its clean time is
/// its own, before and after a restore.
#[tokio::test]
async fn highest_offset_by_timestamp_per_synchronizer() {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::MultiSync,
        ..Default::default()
    })
    .await
    .unwrap();
    let admin = sandbox.admin_api_url();
    let info = sandbox.info();
    let syncs: Vec<String> = info
        .synchronizers
        .iter()
        .map(|s| s.synchronizer_id.clone())
        .collect();
    // (offset, synchronizer index, record time) of every update.
    let log = |sandbox: &Sandbox| -> Vec<(i64, usize, i64)> {
        sandbox.with_world(|w| {
            w.ledger
                .log()
                .iter()
                .map(|tx| (tx.offset, tx.synchronizer, tx.record_time.micros()))
                .collect()
        })
    };
    let check = |log: Vec<(i64, usize, i64)>| {
        let admin = admin.clone();
        let syncs = syncs.clone();
        async move {
            for (i, sync) in syncs.iter().enumerate() {
                let own: Vec<_> = log.iter().filter(|u| u.1 == i).collect();
                assert!(own.len() > 3, "updates on {sync}");
                for w in own.windows(2) {
                    let (prev, next) = (w[0], w[1]);
                    // Another synchronizer's updates at offsets in between do not count, even
                    // with record times at or below the one asked for.
                    assert_eq!(call(&admin, &at(sync, next.2, false)).await, Ok(next.0));
                    assert_eq!(call(&admin, &at(sync, next.2 - 1, false)).await, Ok(prev.0));
                }
            }
        }
    };
    check(log(&sandbox)).await;
    let clean = |i: usize| sandbox.with_world(|w| w.ledger.record_time_of(i).micros());
    let (a, b) = (clean(0), clean(1));
    assert!(b < a);
    // Between the two clean times: the global synchronizer has caught up, the second has not.
    let between = a - 1;
    let expected_a = log(&sandbox)
        .iter()
        .filter(|u| u.1 == 0 && u.2 <= between)
        .map(|u| u.0)
        .max();
    assert_eq!(
        call(&admin, &at(&syncs[0], between, false)).await.ok(),
        expected_a
    );
    let (code, message) = call(&admin, &at(&syncs[1], between, false))
        .await
        .unwrap_err();
    assert_eq!(code, 11, "{message}");
    assert!(message.contains("clean synchronizer time"), "{message}");
    let last_b = log(&sandbox).iter().rev().find(|u| u.1 == 1).unwrap().0;
    assert_eq!(
        call(&admin, &at(&syncs[1], b, false)).await,
        Ok(last_b),
        "at its clean time: its last update"
    );
    // The second synchronizer's times lie before the global one's first update.
    let first_a = log(&sandbox).iter().find(|u| u.1 == 0).unwrap().2;
    assert!(b < first_a);
    assert_eq!(
        call(&admin, &at(&syncs[0], b, false)).await.unwrap_err().0,
        11
    );

    // After a restore (everything since the backup re-delivered at new offsets) the lookups
    // follow the new offsets, per synchronizer.
    let backup = sandbox.backup();
    sandbox.with_world(|w| {
        let alice = w
            .ledger
            .parties()
            .find(|p| p.party.starts_with("alice::"))
            .unwrap()
            .party
            .clone();
        let treasury = w
            .ledger
            .parties()
            .find(|p| p.party.starts_with("treasury::"))
            .unwrap()
            .party
            .clone();
        for _ in 0..2 {
            w.token
                .mint(&mut w.ledger, &alice, exchange_core::Amount::from_whole(1))
                .unwrap();
            w.amulet
                .mint(
                    &mut w.ledger,
                    &treasury,
                    exchange_core::Amount::from_whole(1),
                )
                .unwrap();
        }
    });
    sandbox.restore(&backup);
    check(log(&sandbox)).await;
}
