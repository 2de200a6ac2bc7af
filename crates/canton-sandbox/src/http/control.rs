//! `/sandbox/control/*`: sandbox-only endpoints for tests and demos. A real participant has
//! nothing like them; everything they do shows up on the Ledger API as ordinary transactions.
//! Errors use the same `JsCantonError` form as the Ledger API.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use exchange_core::{Amount, Timestamp};
use serde::{Deserialize, Serialize};

use crate::disaster::BackupId;
use crate::http::error::{ApiError, decode};
use crate::http::{AppState, RestoreReport};
use crate::model::SyncIdx;
use crate::token::{ImportedAcs, InstructionChoice, OfferRequest, TransferRequest};
use crate::world::World;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parties", post(allocate_party))
        .route("/external-parties", post(allocate_external_party))
        .route("/mint", post(mint))
        .route("/preapprovals", post(create_preapproval))
        .route("/transfer", post(transfer))
        .route("/holdings", post(holdings))
        .route("/advance-time", post(advance_time))
        .route("/time", get(time))
        .route("/backup", post(backup))
        .route("/restore", post(restore))
        .route("/prune", post(prune))
        .route("/import-acs", post(import_acs))
        .route("/token/mint", post(token_mint))
        .route("/token/holdings", post(token_holdings))
        .route("/offers", post(offer))
        .route("/offers/pending", post(pending_offers))
        .route("/offers/accept", post(accept_offer))
        .route("/offers/reject", post(reject_offer))
        .route("/offers/withdraw", post(withdraw_offer))
        .route("/faults", post(set_faults))
        .route("/pending/release", post(release_pending))
        .nest("/counterfeit", crate::http::counterfeit::router())
}

/// Sequences the executions the `holdExecutions` fault kept back, oldest first.
async fn release_pending(State(s): State<AppState>) -> Json<crate::pending::ReleaseReport> {
    Json(s.change(crate::http::interactive::release_pending))
}

/// Mints the offer-only token (`SBX`) to `owner`.
async fn token_mint(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<CreatedResponse>, ApiError> {
    let request: MintRequest = decode(&body)?;
    let (contract_id, offset) =
        s.change(|w| w.token.mint(&mut w.ledger, &request.owner, request.amount))?;
    let world = s.read();
    let tx = world.ledger.update_at(offset).expect("just committed");
    Ok(Json(CreatedResponse {
        update_id: tx.update_id.clone(),
        offset,
        record_time: tx.record_time,
        contract_id,
    }))
}

async fn token_holdings(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<HoldingEntry>>, ApiError> {
    let request: HoldingsRequest = decode(&body)?;
    let world = s.read();
    Ok(Json(
        world
            .token
            .holdings(&world.ledger, &request.owner)
            .into_iter()
            .map(|(contract_id, amount)| HoldingEntry {
                contract_id,
                amount,
            })
            .collect(),
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
            command_id: body
                .command_id
                .clone()
                .unwrap_or_else(|| format!("sandbox-offer-{}", w.ledger.ledger_end() + 1)),
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

async fn act_on_offer(
    s: AppState,
    body: Bytes,
    choice: InstructionChoice,
) -> Result<Json<InstructionResponse>, ApiError> {
    let body: InstructionBody = decode(&body)?;
    let out = s.change(|w| {
        let command_id = body
            .command_id
            .clone()
            .unwrap_or_else(|| format!("sandbox-instruction-{}", w.ledger.ledger_end() + 1));
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

/// The receiver accepts (refused from `executeBefore` on).
async fn accept_offer(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<InstructionResponse>, ApiError> {
    act_on_offer(s, body, InstructionChoice::Accept).await
}

/// The receiver rejects: the sender gets the amount back.
async fn reject_offer(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<InstructionResponse>, ApiError> {
    act_on_offer(s, body, InstructionChoice::Reject).await
}

/// The sender withdraws: the amount comes back.
async fn withdraw_offer(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<InstructionResponse>, ApiError> {
    act_on_offer(s, body, InstructionChoice::Withdraw).await
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupResponse {
    pub backup_id: BackupId,
}

/// Snapshots the node's whole state (body ignored).
async fn backup(State(s): State<AppState>) -> Json<BackupResponse> {
    Json(BackupResponse {
        backup_id: s.backup(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    pub backup_id: BackupId,
}

async fn restore(State(s): State<AppState>, body: Bytes) -> Result<Json<RestoreReport>, ApiError> {
    let request: RestoreRequest = decode(&body)?;
    Ok(Json(s.restore(&request.backup_id)?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneRequest {
    pub offset: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneResponse {
    pub participant_pruned_up_to_inclusive: i64,
}

async fn prune(State(s): State<AppState>, body: Bytes) -> Result<Json<PruneResponse>, ApiError> {
    let request: PruneRequest = decode(&body)?;
    let pruned = s.change(|w| {
        w.ledger.prune(request.offset)?;
        Ok::<_, ApiError>(w.ledger.pruned_up_to())
    })?;
    Ok(Json(PruneResponse {
        participant_pruned_up_to_inclusive: pruned,
    }))
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatePartyRequest {
    pub hint: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PartyResponse {
    pub party: String,
}

async fn allocate_party(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<PartyResponse>, ApiError> {
    let request: AllocatePartyRequest = decode(&body)?;
    let party = s.change(|w| w.ledger.allocate_party(&request.hint))?;
    Ok(Json(PartyResponse { party }))
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

async fn mint(State(s): State<AppState>, body: Bytes) -> Result<Json<CreatedResponse>, ApiError> {
    let request: MintRequest = decode(&body)?;
    let c = s.change(|w| w.amulet.mint(&mut w.ledger, &request.owner, request.amount))?;
    Ok(Json(CreatedResponse {
        update_id: c.update_id,
        offset: c.offset,
        record_time: c.record_time,
        contract_id: c.contract_id,
    }))
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
    Ok(Json(CreatedResponse {
        update_id: c.update_id,
        offset: c.offset,
        record_time: c.record_time,
        contract_id: c.contract_id,
    }))
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
            command_id: body
                .command_id
                .clone()
                .unwrap_or_else(|| format!("sandbox-transfer-{}", w.ledger.ledger_end() + 1)),
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

async fn holdings(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<HoldingEntry>>, ApiError> {
    let request: HoldingsRequest = decode(&body)?;
    let world = s.read();
    Ok(Json(
        world
            .amulet
            .holdings(&world.ledger, &request.owner)
            .into_iter()
            .map(|h| HoldingEntry {
                contract_id: h.contract_id,
                amount: h.amount,
            })
            .collect(),
    ))
}

/// Either `micros` to move forward by, or `to` (a later instant).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceTimeRequest {
    #[serde(default)]
    pub micros: Option<i64>,
    #[serde(default)]
    pub to: Option<Timestamp>,
    /// Whose clock: a connected synchronizer's id or alias; the global one if absent. The
    /// others stand still.
    #[serde(default)]
    pub synchronizer: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeResponse {
    pub record_time: Timestamp,
    pub synchronizer_id: String,
}

#[derive(Debug, Deserialize)]
pub struct TimeQuery {
    /// A connected synchronizer's id or alias; the global one if absent.
    pub synchronizer: Option<String>,
}

/// The synchronizer a control request names (id or alias), the global one by default.
fn named_synchronizer(w: &World, name: Option<&str>) -> Result<SyncIdx, ApiError> {
    match name {
        None => Ok(0),
        Some(name) => w.ledger.synchronizer_by_name(name).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "synchronizer {name:?} is not a synchronizer this participant is connected to"
            ))
        }),
    }
}

async fn advance_time(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<TimeResponse>, ApiError> {
    let request: AdvanceTimeRequest = decode(&body)?;
    s.change(|w| {
        let sync = named_synchronizer(w, request.synchronizer.as_deref())?;
        let record_time = match (request.micros, request.to) {
            (Some(micros), None) if micros > 0 => w.ledger.advance_time_of(sync, micros)?,
            (None, Some(to)) => w.ledger.set_time_of(sync, to)?,
            _ => {
                return Err(ApiError::invalid_argument(
                    "give either a positive `micros` or a later `to`",
                ));
            }
        };
        Ok(Json(TimeResponse {
            record_time,
            synchronizer_id: w.ledger.synchronizer(sync).id.clone(),
        }))
    })
}

async fn time(
    State(s): State<AppState>,
    Query(query): Query<TimeQuery>,
) -> Result<Json<TimeResponse>, ApiError> {
    let w = s.read();
    let sync = named_synchronizer(&w, query.synchronizer.as_deref())?;
    Ok(Json(TimeResponse {
        record_time: w.ledger.record_time_of(sync),
        synchronizer_id: w.ledger.synchronizer(sync).id.clone(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalPartyRequest {
    pub hint: String,
    /// Base64 of the raw 32-byte Ed25519 public key.
    pub public_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalPartyResponse {
    pub party: String,
    /// What signatures name as `signedBy`.
    pub public_key_fingerprint: String,
}

/// Hosts an external party whose namespace is its Ed25519 key (what
/// `/v2/parties/external/generate-topology` + `allocate` achieve on a real node, without the
/// topology transactions to sign).
async fn allocate_external_party(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<ExternalPartyResponse>, ApiError> {
    use base64::Engine;
    let request: ExternalPartyRequest = decode(&body)?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(request.public_key.as_bytes())
        .map_err(|e| ApiError::invalid_argument(format!("publicKey is not base64: {e}")))?;
    let (party, public_key_fingerprint) =
        s.change(|w| w.external.allocate(&mut w.ledger, &request.hint, &key))?;
    Ok(Json(ExternalPartyResponse {
        party,
        public_key_fingerprint,
    }))
}

/// Replaces the injected Ledger API faults (`{}` clears them) and restarts their random stream
/// from the seed; answers the faults now in force.
async fn set_faults(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<crate::faults::FaultConfig>, ApiError> {
    let config: crate::faults::FaultConfig = decode(&body)?;
    let rates = [config.error_rate, config.slow_rate, config.tamper_rate];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return Err(ApiError::invalid_argument("rates must lie in [0, 1]"));
    }
    s.set_faults(config);
    Ok(Json(s.fault_config()))
}
