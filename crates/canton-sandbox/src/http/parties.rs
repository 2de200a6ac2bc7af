//! External party onboarding over the Ledger API (`ledger-api.md` §5):
//! `POST /v2/parties/external/generate-topology` and `POST /v2/parties/external/allocate`,
//! request and response fields as the 3.4 OpenAPI spec has them. The pure part is
//! [`crate::topology`]; this module adds base64 and the node's state.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::ErrorCategory;
use canton_ledger::interactive::{Signature, SigningAlgorithmSpec};
use serde::{Deserialize, Serialize};

use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::topology::{self, GivenSignature, TopologyError};
use crate::world::World;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SigningPublicKey {
    pub format: String,
    /// Base64.
    pub key_data: String,
    pub key_spec: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateExternalPartyTopologyRequest {
    pub synchronizer: String,
    pub party_hint: String,
    pub public_key: Option<SigningPublicKey>,
    pub local_participant_observation_only: bool,
    pub other_confirming_participant_uids: Vec<String>,
    pub confirmation_threshold: i32,
    pub observing_participant_uids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateExternalPartyTopologyResponse {
    pub party_id: String,
    pub public_key_fingerprint: String,
    /// Base64 of each serialized transaction.
    pub topology_transactions: Vec<String>,
    /// Base64 of the multi-hash to sign.
    pub multi_hash: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SignedTransaction {
    /// Base64.
    pub transaction: String,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllocateExternalPartyRequest {
    pub synchronizer: String,
    pub onboarding_transactions: Vec<SignedTransaction>,
    pub multi_hash_signatures: Vec<Signature>,
    pub identity_provider_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocateExternalPartyResponse {
    pub party_id: String,
}

impl From<TopologyError> for ApiError {
    fn from(e: TopologyError) -> ApiError {
        let cause = e.to_string();
        match e {
            TopologyError::InvalidArgument(m) => ApiError::invalid_argument(m),
            // Both are alarms in Canton's topology manager (security-alert category).
            TopologyError::InvalidSignature => ApiError::canton(
                "TOPOLOGY_INVALID_TOPOLOGY_TX_SIGNATURE",
                ErrorCategory::SecurityAlert,
                cause,
                vec![],
            ),
            TopologyError::Unauthorized(_) => ApiError::canton(
                "TOPOLOGY_UNAUTHORIZED_TRANSACTION",
                ErrorCategory::SecurityAlert,
                cause,
                vec![],
            ),
        }
    }
}

/// The synchronizer must be one this node is connected to (the sandbox hosts every party on
/// all of them).
fn check_synchronizer(w: &World, given: &str) -> Result<(), ApiError> {
    if w.ledger.synchronizer_index(given).is_none() {
        return Err(ApiError::invalid_argument(format!(
            "synchronizer {given:?} is not a synchronizer this participant is connected to"
        )));
    }
    Ok(())
}

/// The participant's uid (its id without the `PAR::` prefix).
fn participant_uid(w: &World) -> String {
    let id = w.ledger.participant_id();
    id.strip_prefix("PAR::").unwrap_or(id).to_owned()
}

fn base64(field: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    BASE64
        .decode(s.as_bytes())
        .map_err(|e| ApiError::invalid_argument(format!("{field} is not base64: {e}")))
}

pub async fn generate_topology(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<GenerateExternalPartyTopologyResponse>, ApiError> {
    let request: GenerateExternalPartyTopologyRequest = decode(&body)?;
    let w = s.read();
    check_synchronizer(&w, &request.synchronizer)?;
    let key = request.public_key.as_ref().ok_or_else(|| {
        ApiError::invalid_argument("The submitted request is missing a mandatory field: public_key")
    })?;
    let raw = topology::raw_ed25519_key(
        &key.format,
        &base64("publicKey.keyData", &key.key_data)?,
        &key.key_spec,
    )?;
    let generated = topology::generate(
        &request.party_hint,
        &raw,
        &participant_uid(&w),
        request.local_participant_observation_only,
        &request.other_confirming_participant_uids,
        &request.observing_participant_uids,
        u32::try_from(request.confirmation_threshold).unwrap_or(0),
    )?;
    Ok(Json(GenerateExternalPartyTopologyResponse {
        party_id: generated.party,
        public_key_fingerprint: generated.fingerprint,
        topology_transactions: generated
            .transactions
            .iter()
            .map(|t| BASE64.encode(t))
            .collect(),
        multi_hash: BASE64.encode(&generated.multi_hash),
    }))
}

fn given(signature: &Signature) -> GivenSignature {
    GivenSignature {
        signed_by: signature.signed_by.clone(),
        ed25519: signature.signing_algorithm_spec == SigningAlgorithmSpec::Ed25519,
        bytes: BASE64.decode(signature.signature.as_bytes()).ok(),
    }
}

pub async fn allocate(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<AllocateExternalPartyResponse>, ApiError> {
    let request: AllocateExternalPartyRequest = decode(&body)?;
    let transactions = request
        .onboarding_transactions
        .iter()
        .map(|t| {
            Ok(topology::SignedTransaction {
                serialized: base64("onboardingTransactions.transaction", &t.transaction)?,
                signatures: t.signatures.iter().map(given).collect(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let multi: Vec<GivenSignature> = request.multi_hash_signatures.iter().map(given).collect();
    let party = s.change(|w| -> Result<String, ApiError> {
        check_synchronizer(w, &request.synchronizer)?;
        let onboarding = topology::authorize(&transactions, &multi)?;
        let (party, _) = w
            .external
            .allocate(&mut w.ledger, &onboarding.hint, &onboarding.key)?;
        debug_assert_eq!(party, onboarding.party);
        Ok(party)
    })?;
    Ok(Json(AllocateExternalPartyResponse { party_id: party }))
}
