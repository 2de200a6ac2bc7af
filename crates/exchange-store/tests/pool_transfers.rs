//! The holding pool in the DB: planned self-transfers placed as withdrawals to the treasury
//! without an account (`Store::place_pool_transfer`), refused when an input was taken since the
//! plan, and completed or expired by ingestion without touching any journal; on SQLite and
//! PostgreSQL alike.

mod harness;

use std::collections::BTreeMap;

use exchange_core::changeset::{AccountId, Checkpoint, Effect};
use exchange_core::ingest::{FoldConfig, Known, Needs, expire_due, fold};
use exchange_core::parser::{Direction, Transfer, TransferKind, TransferStatus};
use exchange_core::pool::{
    PoolAction, PoolOrder, PoolPolicy, PoolTransfer, plan, pool_transfer_id,
};
use exchange_core::token_standard as ts;
use exchange_core::withdrawal::{
    WithdrawalId, WithdrawalOrder, WithdrawalPurpose, WithdrawalState,
};
use exchange_core::{Amount, Offset, ParsedTransaction, PartyId, Timestamp};
use exchange_store::{Store, StoreError, Switch};
use harness::TestDb;
use harness::fixtures::{
    HOUR_MICROS, amount, amulet, checkpoint, cid, funded, holding, party, reserved_by, sync, update,
};

conformance!(
    a_pool_transfer_reserves_its_inputs_and_debits_nobody,
    an_input_taken_since_the_plan_is_refused_and_nothing_written,
    the_treasurys_self_transfer_completes_it_without_a_journal,
    an_expired_pool_transfer_releases_its_inputs_without_a_refund,
    a_pool_transfer_and_a_withdrawal_never_share_an_input,
);

fn treasury() -> PartyId {
    party("treasury")
}

fn account() -> AccountId {
    AccountId::new("acc").unwrap()
}

/// A pool of one big holding and three dust holdings; `acc` has 500 to withdraw.
async fn pool(db: &TestDb) -> Store {
    let holdings = [("big", "1000"), ("d1", "0.1"), ("d2", "0.2"), ("d3", "0.3")]
        .iter()
        .map(|(c, value)| holding(c, value, 1))
        .collect();
    funded(db, &[account()], "500", holdings).await
}

/// `acc`'s withdrawal of `value` Amulet.
fn customer(id: &str, value: &str) -> WithdrawalOrder {
    harness::fixtures::order(id, &account(), amount(value))
}

fn policy() -> PoolPolicy {
    PoolPolicy {
        k: 2,
        target: amount("100"),
        dust: amount("1"),
        max_inputs: 10,
    }
}

fn order(id: &str, transfer: PoolTransfer) -> PoolOrder {
    PoolOrder {
        id: pool_transfer_id(id),
        instrument: amulet(),
        treasury: treasury(),
        transfer,
        ttl_micros: HOUR_MICROS,
        synchronizer: Some(sync()),
    }
}

/// The store's candidates planned: the dust merge and the split of `big`.
async fn planned(store: &Store) -> (PoolTransfer, PoolTransfer) {
    let candidates = store.pool_candidates(&amulet()).await.unwrap();
    let mut p = plan(&candidates, &policy(), Timestamp::now()).into_iter();
    let (merge, split) = (p.next().unwrap(), p.next().unwrap());
    assert_eq!(p.next(), None);
    assert_eq!(
        (merge.action, split.action),
        (PoolAction::MergeDust, PoolAction::Split)
    );
    (merge, split)
}

async fn a_pool_transfer_reserves_its_inputs_and_debits_nobody(db: &TestDb) {
    let store = pool(db).await;
    let (merge, split) = planned(&store).await;
    let before = Timestamp::now();
    let placed = store
        .place_pool_transfer(&order("m1", merge.clone()))
        .await
        .unwrap();
    assert_eq!(placed.id.as_str(), "pool-m1");
    assert_eq!(placed.purpose, WithdrawalPurpose::Pool);
    assert_eq!(placed.state, WithdrawalState::Requested);
    assert_eq!((placed.account, &placed.receiver), (None, &treasury()));
    assert_eq!(placed.amount, amount("0.6"));
    assert_eq!(placed.synchronizer, Some(sync()));
    let trec_tgt = placed.trec_tgt.unwrap().micros();
    assert!(
        trec_tgt >= before.micros() + HOUR_MICROS,
        "trecTgt {trec_tgt}"
    );
    assert_eq!(reserved_by(&store, "pool-m1").await, ["d1", "d2", "d3"]);

    let split = store
        .place_pool_transfer(&order("s1", split))
        .await
        .unwrap();
    assert_eq!(split.amount, amount("100"));
    assert_eq!(reserved_by(&store, "pool-s1").await, ["big"]);
    // Nobody's balance moved; the candidates now show every holding reserved.
    assert_eq!(
        store.balance(&account(), &amulet()).await.unwrap(),
        amount("500")
    );
    assert_eq!(store.journal(&account()).await.unwrap().len(), 1);
    let candidates = store.pool_candidates(&amulet()).await.unwrap();
    assert_eq!(candidates.len(), 4);
    assert!(candidates.iter().all(|c| c.reserved), "{candidates:?}");
    assert_eq!(plan(&candidates, &policy(), Timestamp::now()), Vec::new());
    // A customer's withdrawal finds nothing free now.
    let err = store
        .place_withdrawal(&customer("w1", "10"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSpendableHoldings(_)), "{err:?}");
}

async fn an_input_taken_since_the_plan_is_refused_and_nothing_written(db: &TestDb) {
    let store = pool(db).await;
    let (merge, split) = planned(&store).await;
    // A customer's withdrawal takes the dust (smallest first) after the plan was made.
    let w = store
        .place_withdrawal(&customer("w1", "0.5"))
        .await
        .unwrap();
    assert_eq!(w.purpose, WithdrawalPurpose::Customer);
    let err = store
        .place_pool_transfer(&order("m1", merge.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(why) if why.contains("reserved by a withdrawal")),
        "{err:?}"
    );
    assert_eq!(
        store.withdrawal(&pool_transfer_id("m1")).await.unwrap(),
        None
    );
    assert!(reserved_by(&store, "pool-m1").await.is_empty());

    // A total that is not what the inputs hold, a customer-like id, an input of no holding:
    // refused before anything is written.
    let wrong_total = PoolTransfer {
        total: amount("999"),
        amount: amount("100"),
        ..split.clone()
    };
    let err = store
        .place_pool_transfer(&order("s1", wrong_total))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let customer_id = PoolOrder {
        id: WithdrawalId::new("s1").unwrap(),
        ..order("s1", split.clone())
    };
    let err = store.place_pool_transfer(&customer_id).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let ghost = PoolTransfer {
        inputs: vec![cid("gone")],
        ..split.clone()
    };
    let err = store
        .place_pool_transfer(&order("s1", ghost))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(reserved_by(&store, "pool-s1").await.is_empty());

    // Switched off, no pool transfer either; on again, the split goes through once.
    store
        .set_switch(Switch::Withdrawals, false, "drill")
        .await
        .unwrap();
    let err = store
        .place_pool_transfer(&order("s1", split.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::WithdrawalsDisabled { .. }),
        "{err:?}"
    );
    store
        .set_switch(Switch::Withdrawals, true, "drill over")
        .await
        .unwrap();
    store
        .place_pool_transfer(&order("s1", split.clone()))
        .await
        .unwrap();
    let err = store
        .place_pool_transfer(&order("s1", split))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The listing tells the pool transfer from the customer's withdrawal.
    let listed: BTreeMap<String, WithdrawalPurpose> = store
        .withdrawals(None)
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.id.to_string(), w.purpose))
        .collect();
    let expected = [
        ("pool-s1".to_owned(), WithdrawalPurpose::Pool),
        ("w1".to_owned(), WithdrawalPurpose::Customer),
    ];
    assert_eq!(listed, BTreeMap::from(expected));
}

fn ts_holding(c: &str, value: &str) -> ts::Holding {
    ts::Holding {
        contract_id: cid(c),
        owner: treasury(),
        instrument: amulet(),
        amount: amount(value),
        lock: None,
        meta: BTreeMap::new(),
        provenance: None,
    }
}

/// Transaction `n`: the treasury's `TransferFactory_Transfer` to itself with memo `reason`,
/// consuming `inputs` and creating `outputs`.
fn self_transfer(
    n: i64,
    reason: &str,
    inputs: &[(&str, &str)],
    outputs: &[(&str, &str)],
) -> ParsedTransaction {
    let created: Vec<ts::Holding> = outputs.iter().map(|(c, v)| ts_holding(c, v)).collect();
    ParsedTransaction {
        update_id: update(n).update_id,
        offset: update(n).offset,
        record_time: update(n).record_time,
        synchronizer_id: sync(),
        holdings_created: created,
        holdings_archived: inputs.iter().map(|(c, v)| ts_holding(c, v)).collect(),
        holding_changes: Vec::new(),
        instructions_created: Vec::new(),
        instructions_consumed: Vec::new(),
        transfers: vec![Transfer {
            node_id: 0,
            choice: "TransferFactory_Transfer".into(),
            kind: TransferKind::MergeSplit,
            direction: Direction::SelfTransfer,
            sender: Some(treasury()),
            receiver: Some(treasury()),
            instrument: Some(amulet()),
            amount: Some(amount("100")),
            reason: Some(reason.into()),
            status: TransferStatus::Completed,
            transfer_instruction_cid: None,
            meta: BTreeMap::new(),
            read_from: exchange_core::parser::Standard::V1,
            v2_leg: None,
        }],
        unexplained: Vec::new(),
        unresolved_archives: Vec::new(),
        possibly_own_archives: Vec::new(),
        untrusted_events: Vec::new(),
        read_from_v2: Vec::new(),
    }
}

/// Ingests `tx` as the service does: loads what it needs, folds, commits.
async fn ingest(store: &Store, tx: &ParsedTransaction) {
    let config = FoldConfig::new(treasury());
    let mut needs = Needs::default();
    needs.contracts.extend(
        tx.holdings_archived
            .iter()
            .map(|h| h.contract_id.to_string()),
    );
    needs.update_ids.insert(tx.update_id.to_string());
    needs.add_parsed(tx, &config);
    let mut known = Known::default();
    store.load_known(&needs, &mut known).await.unwrap();
    let folded = fold(tx, &known, &config);
    assert!(folded.anomalies.is_empty(), "{:?}", folded.anomalies);
    let n = tx.offset.get();
    store.commit(&folded.changes, &checkpoint(n)).await.unwrap();
}

async fn the_treasurys_self_transfer_completes_it_without_a_journal(db: &TestDb) {
    let store = pool(db).await;
    let (_, split) = planned(&store).await;
    store
        .place_pool_transfer(&order("s1", split))
        .await
        .unwrap();
    // A self-transfer with another memo (e.g. by hand) moves holdings but no withdrawal.
    let other = self_transfer(2, "rebalance", &[("d1", "0.1")], &[("d1b", "0.1")]);
    ingest(&store, &other).await;
    let w = store
        .withdrawal(&pool_transfer_id("s1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.state, WithdrawalState::Requested);

    let tx = self_transfer(
        3,
        "pool-s1",
        &[("big", "1000")],
        &[("t100", "100"), ("c900", "900")],
    );
    ingest(&store, &tx).await;
    let w = store
        .withdrawal(&pool_transfer_id("s1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.state, WithdrawalState::Completed);
    assert_eq!(w.last_origin, Some(update(3).origin()));
    let mut active: Vec<(String, Amount, bool)> = store
        .active_holdings(&amulet())
        .await
        .unwrap()
        .into_iter()
        .map(|h| {
            (
                h.holding.contract_id.to_string(),
                h.holding.amount,
                h.reserved_by.is_some(),
            )
        })
        .collect();
    active.sort();
    assert_eq!(
        active,
        [
            ("c900".to_owned(), amount("900"), false),
            ("d1b".to_owned(), amount("0.1"), false),
            ("d2".to_owned(), amount("0.2"), false),
            ("d3".to_owned(), amount("0.3"), false),
            ("t100".to_owned(), amount("100"), false),
        ]
    );
    assert_eq!(store.journal(&account()).await.unwrap().len(), 1);
    assert_eq!(
        store.balance(&account(), &amulet()).await.unwrap(),
        amount("500")
    );
}

async fn an_expired_pool_transfer_releases_its_inputs_without_a_refund(db: &TestDb) {
    let store = pool(db).await;
    let (merge, _) = planned(&store).await;
    let placed = store
        .place_pool_transfer(&order("m1", merge))
        .await
        .unwrap();
    // Ingested record time passes trecTgt on its synchronizer without the transfer.
    let late = Timestamp::from_micros(placed.trec_tgt.unwrap().micros() + 1).unwrap();
    let needs = Needs {
        due_before: Some(late),
        ..Needs::default()
    };
    let mut known = Known::default();
    store.load_known(&needs, &mut known).await.unwrap();
    // As if a transaction at `late` had just been ingested on its synchronizer.
    known.record_times.insert(sync(), late);
    let changes = expire_due(&known);
    assert!(
        !changes
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Journal(_))),
        "{changes:?}"
    );
    let checkpoint = Checkpoint {
        offset: Offset::new(1).unwrap(),
        last_update: None,
    };
    store.commit(&changes, &checkpoint).await.unwrap();
    let w = store.withdrawal(&placed.id).await.unwrap().unwrap();
    assert_eq!(w.state, WithdrawalState::Expired);
    assert!(reserved_by(&store, "pool-m1").await.is_empty());
    assert_eq!(store.journal(&account()).await.unwrap().len(), 1);
}

async fn a_pool_transfer_and_a_withdrawal_never_share_an_input(db: &TestDb) {
    // Only `big` can fund 500, and the split plans to spend it: they race for it.
    let store = pool(db).await;
    let (_, split) = planned(&store).await;
    let pooled = {
        let store = store.clone();
        tokio::spawn(async move { store.place_pool_transfer(&order("s1", split)).await })
    };
    let paid = {
        let store = store.clone();
        tokio::spawn(async move { store.place_withdrawal(&customer("w1", "500")).await })
    };
    let (pooled, paid) = (pooled.await.unwrap(), paid.await.unwrap());
    match (&pooled, &paid) {
        (Ok(_), Err(StoreError::NoSpendableHoldings(_))) => {
            assert_eq!(reserved_by(&store, "pool-s1").await, ["big"]);
            assert_eq!(
                store.balance(&account(), &amulet()).await.unwrap(),
                amount("500")
            );
        }
        (Err(StoreError::Conflict(_)), Ok(_)) => {
            assert_eq!(reserved_by(&store, "w1").await, ["big", "d1", "d2", "d3"]);
            assert_eq!(
                store.withdrawal(&pool_transfer_id("s1")).await.unwrap(),
                None
            );
        }
        other => panic!("exactly one must get the holding: {other:?}"),
    }
}
