//! `/sandbox/control/token/*` and `/sandbox/control/offers/*`: the offer-only token (`SBX`),
//! and the pending transfer instructions of both tokens (an SBX offer, or a Canton Coin
//! transfer to a receiver without a preapproval), as their sender and receiver see them.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use exchange_core::{Amount, Timestamp};
use serde::{Deserialize, Serialize};

use super::{CreatedResponse, HoldingEntry, HoldingsRequest, MintRequest, command_id};
use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::token::{InstructionChoice, OfferRequest};

pub fn router() -> Router<AppState> {
    // What each choice on an instruction does: the receiver accepts (refused from
    // `executeBefore` on) or rejects (the sender gets the amount back); the sender withdraws.
    let act = |choice: InstructionChoice| {
        move |State(s): State<AppState>, body: Bytes| act_on_offer(s, body, choice)
    };
    Router::new()
        .route("/token/mint", post(token_mint))
        .route("/token/holdings", post(token_holdings))
        .route("/offers", post(offer))
        .route("/offers/pending", post(pending_offers))
        .route("/offers/accept", post(act(InstructionChoice::Accept)))
        .route("/offers/reject", post(act(InstructionChoice::Reject)))
        .route("/offers/withdraw", post(act(InstructionChoice::Withdraw)))
}

/// Mints the offer-only token (`SBX`) to `owner`.
async fn token_mint(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<CreatedResponse>, ApiError> {
    let request: MintRequest = decode(&body)?;
    let (contract_id, offset) =
        s.change(|w| w.token.mint(&mut w.ledger, &request.owner, request.amount))?;
    Ok(Json(CreatedResponse::committed_at(&s, offset, contract_id)))
}

async fn token_holdings(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<HoldingEntry>>, ApiError> {
    let request: HoldingsRequest = decode(&body)?;
    let world = s.read();
    Ok(super::holding_entries(
        world.token.holdings(&world.ledger, &request.owner),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferBody {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    #[serde(default)]
    pub memo: Option<String>,
    /// Default: a day after submission.
    #[serde(default)]
    pub execute_before: Option<Timestamp>,
    #[serde(default)]
    pub command_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub transfer_instruction_cid: String,
    pub sender_change_cids: Vec<String>,
}

/// An offer of the offer-only token (`TransferFactory_Transfer` → pending instruction).
async fn offer(State(s): State<AppState>, body: Bytes) -> Result<Json<OfferResponse>, ApiError> {
    let body: OfferBody = decode(&body)?;
    let out = s.change(|w| {
        let request = OfferRequest {
            command_id: command_id(body.command_id, w, "offer"),
            sender: body.sender,
            receiver: body.receiver,
            amount: body.amount,
            memo: body.memo,
            execute_before: body.execute_before,
        };
        w.token.offer(&mut w.ledger, &request)
    })?;
    Ok(Json(OfferResponse {
        update_id: out.update_id,
        offset: out.offset,
        record_time: out.record_time,
        transfer_instruction_cid: out.transfer_instruction_cid,
        sender_change_cids: out.sender_change_cids,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartyRequest {
    pub party: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingOffer {
    pub transfer_instruction_cid: String,
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    pub execute_before: Timestamp,
    pub memo: Option<String>,
}

/// Pending instructions the party sends or receives.
async fn pending_offers(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<PendingOffer>>, ApiError> {
    let request: PartyRequest = decode(&body)?;
    let world = s.read();
    Ok(Json(
        world
            .amulet
            .pending(&world.ledger, &request.party)
            .into_iter()
            .chain(world.token.pending(&world.ledger, &request.party))
            .map(|p| PendingOffer {
                transfer_instruction_cid: p.contract_id,
                sender: p.sender,
                receiver: p.receiver,
                amount: p.amount,
                execute_before: p.execute_before,
                memo: p.memo,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructionBody {
    pub transfer_instruction_cid: String,
    #[serde(default)]
    pub command_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructionResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    /// The unlocked holding: the receiver's on accept, the sender's on reject or withdraw.
    pub holding_cid: String,
}

/// `choice` on a pending instruction of either token.
async fn act_on_offer(
    s: AppState,
    body: Bytes,
    choice: InstructionChoice,
) -> Result<Json<InstructionResponse>, ApiError> {
    let body: InstructionBody = decode(&body)?;
    let out = s.change(|w| {
        let command_id = command_id(body.command_id, w, "instruction");
        let cid = &body.transfer_instruction_cid;
        if w.amulet.pending_instruction(&w.ledger, cid).is_some() {
            w.amulet.act(&mut w.ledger, cid, choice, &command_id, None)
        } else {
            w.token.act(&mut w.ledger, cid, choice, &command_id)
        }
    })?;
    Ok(Json(InstructionResponse {
        update_id: out.update_id,
        offset: out.offset,
        record_time: out.record_time,
        holding_cid: out.holding_cid,
    }))
}
