//! `/sandbox/control/{mint,preapprovals,transfer,holdings,import-acs}`: Canton Coin as the DSO
//! and its holders would move it.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use exchange_core::{Amount, Timestamp};
use serde::{Deserialize, Serialize};

use super::{CreatedResponse, HoldingEntry, HoldingsRequest, MintRequest, command_id};
use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::token::amulet::Committed;
use crate::token::{ImportedAcs, TransferRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mint", post(mint))
        .route("/preapprovals", post(create_preapproval))
        .route("/transfer", post(transfer))
        .route("/holdings", post(holdings))
        .route("/import-acs", post(import_acs))
}

impl From<Committed> for CreatedResponse {
    fn from(c: Committed) -> Self {
        CreatedResponse {
            update_id: c.update_id,
            offset: c.offset,
            record_time: c.record_time,
            contract_id: c.contract_id,
        }
    }
}

async fn mint(State(s): State<AppState>, body: Bytes) -> Result<Json<CreatedResponse>, ApiError> {
    let request: MintRequest = decode(&body)?;
    let c = s.change(|w| w.amulet.mint(&mut w.ledger, &request.owner, request.amount))?;
    Ok(Json(c.into()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreapprovalRequest {
    pub receiver: String,
}

async fn create_preapproval(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<CreatedResponse>, ApiError> {
    let request: PreapprovalRequest = decode(&body)?;
    let c = s.change(|w| {
        w.amulet
            .create_preapproval(&mut w.ledger, &request.receiver)
    })?;
    Ok(Json(c.into()))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferBody {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    #[serde(default)]
    pub memo: Option<String>,
    /// Holdings to spend; absent → the sender's largest holdings.
    #[serde(default)]
    pub input_holding_cids: Option<Vec<String>>,
    #[serde(default)]
    pub command_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub receiver_holding_cids: Vec<String>,
    pub sender_change_cids: Vec<String>,
    /// An offer's pending instruction (the receiver has no preapproval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_instruction_cid: Option<String>,
}

/// A Canton Coin transfer as the sender's wallet would submit it (`TransferFactory_Transfer`):
/// 1-step through the receiver's preapproval, else an offer.
async fn transfer(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<TransferResponse>, ApiError> {
    let body: TransferBody = decode(&body)?;
    let out = s.change(|w| {
        let request = TransferRequest {
            command_id: command_id(body.command_id, w, "transfer"),
            sender: body.sender,
            receiver: body.receiver,
            amount: body.amount,
            memo: body.memo,
            inputs: body.input_holding_cids,
        };
        w.amulet.transfer(&mut w.ledger, &request)
    })?;
    Ok(Json(TransferResponse {
        update_id: out.update_id,
        offset: out.offset,
        record_time: out.record_time,
        receiver_holding_cids: out.receiver_holding_cids,
        sender_change_cids: out.sender_change_cids,
        transfer_instruction_cid: out.transfer_instruction_cid,
    }))
}

async fn holdings(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<HoldingEntry>>, ApiError> {
    let request: HoldingsRequest = decode(&body)?;
    let world = s.read();
    let holdings = world.amulet.holdings(&world.ledger, &request.owner);
    Ok(super::holding_entries(
        holdings.into_iter().map(|h| (h.contract_id, h.amount)),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportAcsRequest {
    pub owner: String,
    pub amounts: Vec<Amount>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportAcsResponse {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_ids: Vec<String>,
}

impl From<ImportedAcs> for ImportAcsResponse {
    fn from(i: ImportedAcs) -> Self {
        ImportAcsResponse {
            update_id: i.update_id,
            offset: i.offset,
            record_time: i.record_time,
            contract_ids: i.contract_ids,
        }
    }
}

/// A participant-local ACS import of Amulets at record time 0001-01-01T00:00:00Z.
async fn import_acs(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<ImportAcsResponse>, ApiError> {
    let request: ImportAcsRequest = decode(&body)?;
    let imported = s.change(|w| {
        w.amulet
            .import_at_min_time(&mut w.ledger, &request.owner, &request.amounts)
    })?;
    Ok(Json(imported.into()))
}
