//! The values the store tests are built from: parties, instruments, transactions `n` (offset
//! `n`, record time `n` ms), holdings, credited deposits and withdrawal orders. One place, so
//! that every test file means the same thing by "transaction 1" or "Amulet".

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use exchange_core::changeset::{
    AccountId, ChangeSet, Checkpoint, Deposit, DepositId, DepositState, Effect, Holding,
    IngestedUpdate, Origin,
};
use std::collections::BTreeSet;

use exchange_core::selection::{SelectionError, SelectionPolicy};
use exchange_core::token_standard::Lock;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalOrder};
use exchange_core::{
    Amount, ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};
use exchange_store::{Store, StoreError};

use super::TestDb;

pub const HOUR_MICROS: i64 = 3_600_000_000;

pub fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

pub fn party(hint: &str) -> PartyId {
    PartyId::new(&format!("{hint}::1220abcd")).unwrap()
}

pub fn amulet() -> InstrumentId {
    InstrumentId {
        admin: party("DSO"),
        id: "Amulet".into(),
    }
}

pub fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

pub fn account(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

pub fn wid(s: &str) -> WithdrawalId {
    WithdrawalId::new(s).unwrap()
}

pub fn sync() -> SynchronizerId {
    SynchronizerId::new("global::1220").unwrap()
}

/// The `n`th transaction: offset `n`, record time `n` ms.
pub fn update(n: i64) -> IngestedUpdate {
    IngestedUpdate {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        offset: Offset::new(n).unwrap(),
        record_time: Timestamp::from_micros(n * 1000).unwrap(),
        synchronizer_id: sync(),
    }
}

pub fn origin(n: i64) -> Origin {
    update(n).origin()
}

pub fn checkpoint(n: i64) -> Checkpoint {
    Checkpoint {
        offset: Offset::new(n).unwrap(),
        last_update: Some(update(n)),
    }
}

/// A change set ingesting transaction `n` with `effects`.
pub fn tx(n: i64, effects: Vec<Effect>) -> ChangeSet {
    let mut changes = ChangeSet::default();
    changes.ingest(update(n));
    changes.effects = effects;
    changes
}

/// Commits transaction `n` with `effects`, the checkpoint moving to it.
pub async fn commit(store: &Store, n: i64, effects: Vec<Effect>) -> Result<(), StoreError> {
    store.commit(&tx(n, effects), &checkpoint(n)).await
}

/// A recognized Amulet holding created in transaction `n`.
pub fn holding_with(c: &str, value: Amount, lock: Option<Lock>, n: i64) -> Effect {
    Effect::HoldingCreated(Holding {
        contract_id: cid(c),
        instrument: amulet(),
        amount: value,
        lock,
        created: origin(n),
        held_back: None,
    })
}

/// An unlocked [`holding_with`].
pub fn holding(c: &str, value: &str, n: i64) -> Effect {
    holding_with(c, amount(value), None, n)
}

/// A lock held by the DSO until `expires_at` (for ever: `None`).
pub fn dso_lock(expires_at: Option<Timestamp>) -> Option<Lock> {
    Some(Lock {
        holders: vec![party("DSO")],
        expires_at,
        expires_after_micros: None,
        context: Some("test".into()),
    })
}

/// A deposit of `value` Amulet from alice in transaction `n`.
pub fn deposit(id: &str, to: Option<&str>, value: &str, state: DepositState, n: i64) -> Deposit {
    Deposit {
        id: DepositId::new(id).unwrap(),
        account: to.map(account),
        instrument: amulet(),
        amount: amount(value),
        sender: party("alice"),
        state,
        transfer_instruction: None,
        origin: origin(n),
        held_back: None,
    }
}

/// A deposit recorded as core records it: a credited one comes with its credit (core books
/// it; the store applies exactly what the change set lists).
pub fn recorded(d: Deposit) -> Vec<Effect> {
    let credit = (d.state == DepositState::Credited)
        .then(|| d.credit(&d.origin))
        .flatten();
    let mut effects = vec![Effect::DepositRecorded(d)];
    effects.extend(credit.map(Effect::Journal));
    effects
}

/// Opens `accounts`, then commits transaction `n`: `effects`, and a deposit `{prefix}{i}`
/// crediting `funds` Amulet to the `i`th account.
pub async fn credit(
    store: &Store,
    n: i64,
    accounts: &[AccountId],
    funds: &str,
    prefix: &str,
    mut effects: Vec<Effect>,
) {
    for (i, to) in accounts.iter().enumerate() {
        store.create_account(to, "customer").await.unwrap();
        let deposit = Deposit {
            account: Some(to.clone()),
            ..deposit(
                &format!("{prefix}{i}"),
                None,
                funds,
                DepositState::Credited,
                n,
            )
        };
        effects.extend(recorded(deposit));
    }
    commit(store, n, effects).await.unwrap();
}

/// A fresh store whose `accounts` hold `funds` Amulet each (deposits `d0`, `d1`, …) and whose
/// treasury holds `holdings`, all from transaction 1.
pub async fn funded(
    db: &TestDb,
    accounts: &[AccountId],
    funds: &str,
    holdings: Vec<Effect>,
) -> Store {
    let store = db.open().await;
    credit(&store, 1, accounts, funds, "d", holdings).await;
    store
}

/// `from`'s order of `value` Amulet to bob: an hour to live, default selection, no key.
pub fn order(id: &str, from: &AccountId, value: Amount) -> WithdrawalOrder {
    WithdrawalOrder {
        id: wid(id),
        account: from.clone(),
        instrument: amulet(),
        amount: value,
        receiver: party("bob"),
        ttl_micros: HOUR_MICROS,
        synchronizer: None,
        idempotency_key: None,
        policy: SelectionPolicy::default(),
    }
}

/// The contract ids of the active holdings reserved by `withdrawal`, sorted.
pub async fn reserved_by(store: &Store, withdrawal: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .reserved_holdings(&wid(withdrawal))
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.holding.contract_id.to_string())
        .collect();
    ids.sort();
    ids
}

/// Places `orders` at once (each from its own account, so that only the holdings' locks
/// serialize them) and checks that exactly `funded` of them went through, each reserving
/// `inputs` holdings no other one reserved and debiting its account by its amount, while the
/// others were refused for lack of available holdings and debited nothing.
pub async fn race_orders(
    store: &Store,
    orders: Vec<WithdrawalOrder>,
    funded: usize,
    inputs: usize,
) {
    let mut before = Vec::new();
    for order in &orders {
        before.push(
            store
                .balance(&order.account, &order.instrument)
                .await
                .unwrap(),
        );
    }
    let tasks: Vec<_> = orders
        .iter()
        .cloned()
        .map(|order| {
            let store = store.clone();
            tokio::spawn(async move { store.place_withdrawal(&order).await })
        })
        .collect();
    let mut granted = BTreeSet::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(w) => {
                granted.insert(w.id);
            }
            Err(StoreError::NoSpendableHoldings(why))
                if matches!(*why, SelectionError::Unavailable { .. }) => {}
            Err(other) => {
                panic!("an order failed for another reason than lack of holdings: {other:?}")
            }
        }
    }
    assert_eq!(granted.len(), funded, "granted {granted:?}");
    let mut seen = BTreeSet::new();
    for w in &granted {
        let reserved = reserved_by(store, w.as_str()).await;
        assert_eq!(reserved.len(), inputs, "{w} reserved {reserved:?}");
        for input in reserved {
            assert!(seen.insert(input.clone()), "{input} funds two withdrawals");
        }
    }
    for (order, before) in orders.iter().zip(before) {
        let debit = if granted.contains(&order.id) {
            order.amount
        } else {
            Amount::ZERO
        };
        let after = store
            .balance(&order.account, &order.instrument)
            .await
            .unwrap();
        assert_eq!(after, before.checked_sub(debit).unwrap(), "{}", order.id);
    }
}
