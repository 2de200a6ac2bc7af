//! A withdrawal's inputs are read a page at a time, smallest free holdings first, instead of
//! all of the treasury's holdings: the choice must still be exactly the pure selection's over
//! all of them (`exchange_core::selection::select`), across page boundaries, amounts of every
//! width and locks; a holding one request reserved is never chosen by a concurrent one; and a
//! request the holdings cannot fund is refused with the same reason. SQLite and PostgreSQL.

mod harness;

use exchange_core::changeset::{AccountId, Effect};
use exchange_core::selection::{self, SelectionError, SelectionPolicy};
use exchange_core::token_standard::Lock;
use exchange_core::withdrawal::WithdrawalOrder;
use exchange_core::{Amount, Timestamp};
use exchange_store::{Store, StoreError};
use harness::TestDb;
use harness::fixtures::{
    HOUR_MICROS, amount, amulet, dso_lock, holding_with, race_orders, reserved_by,
};

conformance!(
    selections_match_the_pure_selection_over_all_holdings,
    concurrent_orders_across_pages_never_share_an_input,
);

fn account(i: usize) -> AccountId {
    AccountId::new(format!("acc{i}")).unwrap()
}

/// A recognized Amulet holding from transaction 1.
fn holding(c: &str, value: Amount, lock: Option<Lock>) -> Effect {
    holding_with(c, value, lock, 1)
}

/// A lock expiring an hour before or after now: binding or not whenever the test runs.
fn lock(binding: bool) -> Option<Lock> {
    let shift = if binding { HOUR_MICROS } else { -HOUR_MICROS };
    dso_lock(Timestamp::from_micros(Timestamp::now().micros() + shift))
}

/// `accounts` accounts credited with `funds` each, and the treasury holding `holdings`.
async fn funded(db: &TestDb, accounts: usize, funds: &str, holdings: Vec<Effect>) -> Store {
    let accounts: Vec<AccountId> = (0..accounts).map(account).collect();
    harness::fixtures::funded(db, &accounts, funds, holdings).await
}

fn order(id: &str, from: usize, value: Amount, max_inputs: usize) -> WithdrawalOrder {
    WithdrawalOrder {
        policy: SelectionPolicy { max_inputs },
        ..harness::fixtures::order(id, &account(from), value)
    }
}

/// What the pure selection chooses among all of the treasury's holdings now, sorted.
async fn expected(store: &Store, order: &WithdrawalOrder) -> Result<Vec<String>, SelectionError> {
    let all = store.pool_candidates(&amulet()).await.unwrap();
    let chosen = selection::select(&all, order.amount, Timestamp::now(), order.policy)?;
    let mut ids: Vec<String> = chosen.inputs.iter().map(|c| c.to_string()).collect();
    ids.sort();
    Ok(ids)
}

/// 400 holdings whose amounts differ in width (0.0000000001 to 123456789.5: text order is not
/// amount order), many equal (ties go by contract id), some locked, in an order unrelated to
/// their amounts.
fn treasury() -> Vec<Effect> {
    let amounts = [
        "0.0000000001",
        "0.5",
        "1",
        "9",
        "10",
        "10",
        "99.9999999999",
        "100",
        "2",
        "123456789.5",
        "3",
        "20",
    ];
    (0..400_usize)
        .map(|i| {
            let value = amount(amounts[(i * 7) % amounts.len()]);
            let locked = match i % 23 {
                0 => lock(true),
                1 => lock(false),
                _ => None,
            };
            // Ids not in amount order, and of different lengths.
            holding(&format!("h{}", (i * 389) % 1000), value, locked)
        })
        .collect()
}

async fn selections_match_the_pure_selection_over_all_holdings(db: &TestDb) {
    let store = funded(db, 1, "100000000000", treasury()).await;
    // (amount, max_inputs): within the first page; a prefix of more than the first page; the
    // many dust holdings first; a run of 3 found far past the first page; one holding; whatever
    // is left; more than is left.
    let cases = [
        ("1.5", 100),
        ("25", 100),
        ("90", 100),
        ("300", 3),
        ("150", 100),
        ("123456789.5", 1),
        ("2000", 100),
        ("500", 2),
        ("10000", 100),
        ("200000000", 100),
        ("1", 100),
    ];
    let mut placed = 0;
    for (n, (value, max_inputs)) in cases.into_iter().enumerate() {
        let order = order(&format!("w{n}"), 0, amount(value), max_inputs);
        let want = expected(&store, &order).await;
        match (store.place_withdrawal(&order).await, want) {
            (Ok(w), Ok(want)) => {
                assert_eq!(
                    reserved_by(&store, w.id.as_str()).await,
                    want,
                    "order {value}"
                );
                placed += 1;
            }
            (Err(StoreError::NoSpendableHoldings(got)), Err(want)) => {
                assert_eq!(*got, want, "order {value}")
            }
            (got, want) => panic!("order {value}: placed {got:?}, the pure selection {want:?}"),
        }
    }
    // Most orders were funded; the one for more than all free holdings was refused.
    assert!(placed >= 9, "only {placed} orders were placed");
    // The treasury holds about 4.1e9 in all.
    let too_much = order("w-too-much", 0, amount("10000000000"), 100);
    let err = store.place_withdrawal(&too_much).await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::NoSpendableHoldings(why) if matches!(**why, SelectionError::Insufficient { .. })
        ),
        "{err:?}"
    );
    store.close().await;
}

async fn concurrent_orders_across_pages_never_share_an_input(db: &TestDb) {
    // 200 holdings of 1; each order of 40 needs 40 of them (more than a first page), so five
    // orders can be funded and three cannot.
    let holdings = (0..200)
        .map(|i| holding(&format!("h{i:03}"), amount("1"), None))
        .collect();
    let store = funded(db, 8, "100", holdings).await;
    // One account per order, so the account lock does not serialize them: only the holdings'.
    let orders = (0..8)
        .map(|i| order(&format!("w{i}"), i, amount("40"), 100))
        .collect();
    race_orders(&store, orders, 5, 40).await;
    store.close().await;
}
