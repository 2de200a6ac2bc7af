//! The participant itself: its parties (local and external), backups, restores and pruning,
//! and the faults injected into its Ledger API.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::disaster::BackupId;
use crate::http::error::{ApiError, decode};
use crate::http::{AppState, RestoreReport};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parties", post(allocate_party))
        .route("/external-parties", post(allocate_external_party))
        .route("/backup", post(backup))
        .route("/restore", post(restore))
        .route("/prune", post(prune))
        .route("/faults", post(set_faults))
        .route("/pending/release", post(release_pending))
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

/// Sequences the executions the `holdExecutions` fault kept back, oldest first.
async fn release_pending(State(s): State<AppState>) -> Json<crate::pending::ReleaseReport> {
    Json(s.change(crate::http::interactive::release_pending))
}
