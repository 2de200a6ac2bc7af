//! Multi-step deposits on the withdrawal tests' exchange: customers offer SBX to the treasury,
//! and the deposit automation and ingestion run in rounds until the offers settle.

use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_sandbox::token::OfferRequest;
use exchange_core::changeset::DepositState;
use exchange_core::signing::Signer;
use exchange_core::{ContractId, PartyId, Timestamp};
use exchange_services::deposits::{DepositAutomation, DepositConfig};

use super::amount;
use super::exchange::Exchange;

/// The deposit automation's settings for the tests: quick outcome timeouts and retries, and
/// few attempts, so that failures are reported within a test's rounds.
pub fn deposit_config(worker: &str) -> DepositConfig {
    let mut config = DepositConfig::new(worker);
    config.outcome_timeout = Duration::from_millis(300);
    config.retry_delay = Duration::from_millis(50);
    config.max_attempts = 3;
    config
}

pub fn deposit_automation(x: &Exchange, config: DepositConfig) -> DepositAutomation {
    let signer: Arc<dyn Signer + Send + Sync> = x.signer.clone();
    DepositAutomation::new(
        x.store.clone(),
        LedgerClient::new(&x.sandbox.ledger_api_url(), None),
        signer,
        PartyId::new(&x.treasury).unwrap(),
        config,
    )
}

/// `customer` mints `value` SBX and offers it to the treasury with `memo`; ingested.
pub async fn offer_sbx(
    x: &mut Exchange,
    customer: usize,
    memo: &str,
    value: &str,
    execute_before: Option<Timestamp>,
) -> ContractId {
    x.seq += 1;
    let (sender, treasury, seq) = (x.customers[customer].clone(), x.treasury.clone(), x.seq);
    let out = x.sandbox.with_world(|w| {
        w.token.mint(&mut w.ledger, &sender, amount(value)).unwrap();
        let request = OfferRequest {
            sender,
            receiver: treasury,
            amount: amount(value),
            memo: Some(memo.to_owned()),
            execute_before,
            command_id: format!("sbx-offer-{seq}"),
        };
        w.token.offer(&mut w.ledger, &request).unwrap()
    });
    x.ingest().await;
    ContractId::new(&out.transfer_instruction_cid).unwrap()
}

/// Automation rounds and ingestion until no open offer is left to act on (or `rounds`).
pub async fn settle_offers(x: &Exchange, automation: &DepositAutomation, rounds: usize) {
    for _ in 0..rounds {
        let round = automation.run_round().await.unwrap();
        x.ingest().await;
        if x.store.deposit_offers_in_progress().await.unwrap() == 0 {
            return;
        }
        if round.claimed == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The state of the one deposit recorded for `offer`.
pub async fn deposit_state(x: &Exchange, offer: &ContractId) -> DepositState {
    let mut found = Vec::new();
    for state in DepositState::ALL {
        for r in x.store.deposits_in_state(state).await.unwrap() {
            if r.deposit.transfer_instruction.as_ref() == Some(offer) {
                found.push(r.deposit.state);
            }
        }
    }
    assert_eq!(found.len(), 1, "one deposit per offer: {found:?}");
    found[0]
}
