//! `/sandbox/control/*`: sandbox-only endpoints for tests and demos. A real participant has
//! nothing like them; everything they do shows up on the Ledger API as ordinary transactions.
//! Errors use the same `JsCantonError` form as the Ledger API.
//!
//! One module per thing controlled: `node` the participant (parties, backups, pruning,
//! faults), `clock` the synchronizers' clocks, `amulet` Canton Coin, `offers` the offer-only
//! token and the pending instructions of both, `counterfeit` the forger's coin. What several
//! of them answer in the same form lives here.

mod amulet;
mod clock;
mod counterfeit;
mod node;
mod offers;

use axum::{Json, Router};
use exchange_core::{Amount, Timestamp};
use serde::{Deserialize, Serialize};

use crate::http::AppState;
use crate::world::World;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(node::router())
        .merge(clock::router())
        .merge(amulet::router())
        .merge(offers::router())
        .nest("/counterfeit", counterfeit::router())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MintRequest {
    pub owner: String,
    pub amount: Amount,
}

/// The outcome of a submission that created one contract.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_id: String,
}

impl CreatedResponse {
    /// `contract_id`, created by the update just committed at `offset` (the tokens' mints
    /// answer only the offset; the update id and time are the ledger's).
    fn committed_at(s: &AppState, offset: i64, contract_id: String) -> CreatedResponse {
        let world = s.read();
        let tx = world.ledger.update_at(offset).expect("just committed");
        CreatedResponse {
            update_id: tx.update_id.clone(),
            offset,
            record_time: tx.record_time,
            contract_id,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldingsRequest {
    pub owner: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldingEntry {
    pub contract_id: String,
    pub amount: Amount,
}

/// A holdings answer from `(contract id, amount)` pairs.
fn holding_entries(
    holdings: impl IntoIterator<Item = (String, Amount)>,
) -> Json<Vec<HoldingEntry>> {
    Json(
        holdings
            .into_iter()
            .map(|(contract_id, amount)| HoldingEntry {
                contract_id,
                amount,
            })
            .collect(),
    )
}

/// The command id a request gave, else `sandbox-<kind>-<the offset it will commit at>` (unique
/// per submission, so deduplication never mistakes one control call for another).
fn command_id(given: Option<String>, w: &World, kind: &str) -> String {
    given.unwrap_or_else(|| format!("sandbox-{kind}-{}", w.ledger.ledger_end() + 1))
}
