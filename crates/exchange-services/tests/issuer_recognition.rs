//! Only what the issuer stands behind is credited, end to end against the sandbox on SQLite and
//! PostgreSQL: a counterfeit "Canton Coin" (its own admin, a view claiming the DSO's Amulet) is
//! recorded and never credited or spent; a real token's deposit before the token is onboarded
//! is held back and credited exactly once after onboarding.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::sync::Arc;

use canton_sandbox::token::counterfeit::CounterfeitTransfer;
use common::*;
use exchange_core::changeset::DepositState;
use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_services::observe::{Collect, IngestEvent};
use exchange_services::{Ingestor, Transport};
use harness::TestDb;
use tokio::sync::watch;

const CUSTOMERS: usize = 2;

fn amulet_token(node: &Node) -> OnboardedToken {
    OnboardedToken {
        instrument: node.instrument.clone(),
        registry_url: node
            .sandbox
            .info()
            .tokens
            .into_iter()
            .find(|t| t.instrument_id == "Amulet")
            .expect("Canton Coin")
            .registry_url,
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    }
}

/// The forger mints its coin to customer 0, who "deposits" it to the treasury with a valid memo.
fn counterfeit_deposit(node: &Node, value: &str) {
    let (customer, treasury) = (node.customers[0].clone(), node.treasury.clone());
    let memo = account_of(0).to_string();
    node.sandbox.with_world(|w| {
        let token = w.counterfeit().expect("deployed");
        token
            .mint(&mut w.ledger, &customer, amount(value))
            .expect("minted");
        let transfer = CounterfeitTransfer {
            sender: customer,
            receiver: treasury,
            amount: amount(value),
            memo: Some(memo),
            command_id: "counterfeit-deposit".into(),
        };
        token.transfer(&mut w.ledger, &transfer).expect("sent");
    });
}

async fn a_counterfeit_canton_coin_is_recorded_never_credited_or_spent(db: &TestDb) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    node.deposit(1, amount("10"), account_of(1).as_str());
    counterfeit_deposit(&node, "500");
    let events = Arc::new(Collect::default());
    let (_stop, stop) = watch::channel(false);
    Ingestor::new(
        store.clone(),
        node.source(Transport::Websocket),
        node.config(true, 50),
        events.clone(),
    )
    .run(stop)
    .await
    .expect("ingests");

    // The real deposit is credited; the counterfeit claiming the same instrument is not.
    let totals = node.balances(&store).await;
    assert_eq!((totals[&0], totals[&1]), (amount("0"), amount("10")));
    let unrecognized = store
        .deposits_in_state(DepositState::Unrecognized)
        .await
        .unwrap();
    assert_eq!(unrecognized.len(), 1, "recorded for support");
    let d = &unrecognized[0].deposit;
    assert_eq!((d.amount, &d.instrument), (amount("500"), &node.instrument));
    assert!(
        d.held_back
            .as_ref()
            .unwrap()
            .reason
            .contains("not a signatory"),
        "{:?}",
        d.held_back
    );
    // Mirrored (so its archive would match), never available to a withdrawal.
    let available = store.available_holdings(&node.instrument).await.unwrap();
    assert!(available.iter().all(|h| h.holding.amount == amount("10")));
    assert_eq!(store.held_back_holdings().await.unwrap().len(), 1);
    // Logged as held back, never an anomaly (strict ingestion would stop on one).
    {
        let events = events.0.lock().unwrap();
        assert!(events.iter().any(|e| matches!(e, IngestEvent::HeldBack(_))));
        assert!(!events.iter().any(|e| matches!(e, IngestEvent::Anomaly(_))));
    }

    // Onboarding Canton Coin again changes nothing for the counterfeit.
    store.onboard_token(&amulet_token(&node)).await.unwrap();
    node.ingest_once(&store, Transport::Websocket, 50)
        .await
        .unwrap();
    assert_eq!(node.balances(&store).await[&0], amount("0"));
    store.close().await;
}

async fn a_deposit_before_onboarding_is_credited_exactly_once_after(db: &TestDb) {
    let mut node = Node::start(CUSTOMERS).await;
    let store = db.open().await;
    create_accounts(&store, CUSTOMERS).await;
    node.deposit(0, amount("25"), account_of(0).as_str());
    node.ingest_once(&store, Transport::Http, 50).await.unwrap();
    assert_eq!(
        node.balances(&store).await[&0],
        amount("0"),
        "Canton Coin is not onboarded yet"
    );
    assert_eq!(
        store
            .deposits_in_state(DepositState::Unrecognized)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .available_holdings(&node.instrument)
            .await
            .unwrap()
            .is_empty()
    );

    store.onboard_token(&amulet_token(&node)).await.unwrap();
    // Ingestion judges again at start (nothing new on the ledger), then later deposits count
    // at once; running it again credits nothing twice.
    for _ in 0..2 {
        node.ingest_once(&store, Transport::Http, 50).await.unwrap();
        assert_eq!(node.balances(&store).await[&0], amount("25"));
    }
    node.deposit(0, amount("5"), account_of(0).as_str());
    node.ingest_once(&store, Transport::Websocket, 50)
        .await
        .unwrap();
    assert_eq!(node.balances(&store).await[&0], amount("30"));
    let available = store.available_holdings(&node.instrument).await.unwrap();
    assert_eq!(
        available.len(),
        2,
        "both deposits' holdings are spendable now"
    );
    assert!(
        store
            .deposits_in_state(DepositState::Unrecognized)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.check_balances().await.unwrap().is_empty());
    store.close().await;
}

conformance!(
    a_counterfeit_canton_coin_is_recorded_never_credited_or_spent,
    a_deposit_before_onboarding_is_credited_exactly_once_after,
);
