//! `/sandbox/control/counterfeit/*`: the counterfeit Canton Coin ([`crate::token::counterfeit`]),
//! deployed on first use. Sandbox-only, like the rest of the control API: what they do shows up
//! on the Ledger API as ordinary transactions of the `forger` party.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use exchange_core::{Amount, Timestamp};
use serde::{Deserialize, Serialize};

use super::{CreatedResponse, HoldingEntry, HoldingsRequest, MintRequest, command_id};
use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::token::counterfeit::CounterfeitTransfer;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mint", post(mint))
        .route("/transfer", post(transfer))
        .route("/holdings", post(holdings))
}

/// A minted counterfeit coin, and who forged it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterfeitMintResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_id: String,
    pub forger: String,
}

/// The forger creates a coin for `owner` (deploying the counterfeit first if needed).
async fn mint(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<CounterfeitMintResponse>, ApiError> {
    let request: MintRequest = decode(&body)?;
    let (forger, contract_id, offset) = s.change(|w| {
        let token = w.counterfeit()?;
        let (cid, offset) = token.mint(&mut w.ledger, &request.owner, request.amount)?;
        Ok::<_, ApiError>((token.forger, cid, offset))
    })?;
    let CreatedResponse {
        update_id,
        offset,
        record_time,
        contract_id,
    } = CreatedResponse::committed_at(&s, offset, contract_id);
    Ok(Json(CounterfeitMintResponse {
        update_id,
        offset,
        record_time,
        contract_id,
        forger,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterfeitTransferBody {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub command_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterfeitTransferResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub receiver_holding_cids: Vec<String>,
    pub sender_change_cids: Vec<String>,
    pub forger: String,
}

/// A 1-step counterfeit transfer of the sender's coins to any party, with a reason memo.
async fn transfer(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<CounterfeitTransferResponse>, ApiError> {
    let body: CounterfeitTransferBody = decode(&body)?;
    let (forger, out) = s.change(|w| {
        let token = w.counterfeit()?;
        let request = CounterfeitTransfer {
            command_id: command_id(body.command_id, w, "counterfeit-transfer"),
            sender: body.sender,
            receiver: body.receiver,
            amount: body.amount,
            memo: body.memo,
        };
        let out = token.transfer(&mut w.ledger, &request)?;
        Ok::<_, ApiError>((token.forger, out))
    })?;
    Ok(Json(CounterfeitTransferResponse {
        update_id: out.update_id,
        offset: out.offset,
        record_time: out.record_time,
        receiver_holding_cids: out.receiver_holding_cids,
        sender_change_cids: out.sender_change_cids,
        forger,
    }))
}

/// The owner's counterfeit coins (none before the counterfeit is deployed).
async fn holdings(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<HoldingEntry>>, ApiError> {
    let request: HoldingsRequest = decode(&body)?;
    let world = s.read();
    let coins = world
        .counterfeit
        .as_ref()
        .map(|t| t.holdings(&world.ledger, &request.owner))
        .unwrap_or_default();
    Ok(super::holding_entries(coins))
}
