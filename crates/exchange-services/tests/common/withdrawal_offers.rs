//! Multi-step withdrawals (offers) and the holding pool on the withdrawal tests' exchange.

use std::collections::BTreeMap;

use canton_sandbox::token::InstructionChoice;
use exchange_core::withdrawal::WithdrawalState;
use exchange_services::pool::PoolJob;
use exchange_services::withdraw::Automation;

use super::exchange::{Exchange, notes};

/// Withdrawals `ids`, each offered to its receiver and waiting for the answer: their offers
/// (transfer instruction contract ids) by withdrawal id.
pub async fn pending_offers(x: &Exchange, ids: &[&str]) -> BTreeMap<String, String> {
    let mut offers = BTreeMap::new();
    for id in ids {
        let w = x.withdrawal(id).await;
        assert_eq!(
            w.state,
            WithdrawalState::PendingAcceptance,
            "{id}: {:?}",
            notes(x, id).await
        );
        let offer = w.transfer_instruction.expect("the offer's id");
        offers.insert(id.to_string(), offer.to_string());
    }
    offers
}

/// Each receiver answers its withdrawal's offer (from [`pending_offers`]) with its choice.
pub fn answer_offers(
    x: &Exchange,
    offers: &BTreeMap<String, String>,
    answers: &[(&str, InstructionChoice)],
) {
    x.sandbox.with_world(|w| {
        for (id, choice) in answers {
            w.token
                .act(
                    &mut w.ledger,
                    &offers[*id],
                    *choice,
                    &format!("answer-{id}"),
                )
                .unwrap();
        }
    });
}

/// The pool job run again and again, each run's transfers settled by `automation`, until it
/// plans nothing more (at most 10 runs): how many transfers it placed.
pub async fn run_pool(x: &Exchange, pool: &PoolJob, automation: &Automation) -> usize {
    let mut placed = 0;
    for _ in 0..10 {
        let now = pool.run_once().await.unwrap();
        placed += now;
        x.settle(automation, 20).await;
        if now == 0 {
            break;
        }
    }
    placed
}
