//! Party management (`ledger-api.md` §5): listing, looking up and allocating local parties.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::null_as_default;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartyDetails {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party: String,
    /// Whether the party is hosted on this participant.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_local: bool,
    #[serde(default)]
    pub local_metadata: Option<ObjectMeta>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub identity_provider_id: String,
}

/// Participant-local annotations; `resourceVersion` guards concurrent updates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// `GET /v2/parties`; page on with `nextPageToken` until it is `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListKnownPartiesResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_details: Vec<PartyDetails>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub next_page_token: String,
}

/// `GET /v2/parties/{party}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetPartiesResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_details: Vec<PartyDetails>,
}

/// Body of `POST /v2/parties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatePartyRequest {
    /// `""`: the node picks the name; the id is `hint::<namespace>` either way.
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_id_hint: String,
    #[serde(default)]
    pub local_metadata: Option<ObjectMeta>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub identity_provider_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    /// If set, the user is granted `CanActAs` for the new party.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatePartyResponse {
    #[serde(default)]
    pub party_details: Option<PartyDetails>,
}

/// `GET /v2/parties/participant-id` → `{"participantId": "PAR::…"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParticipantIdResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub participant_id: String,
}

/// An external party's public key in `generate-topology` (`format` e.g.
/// `CRYPTO_KEY_FORMAT_RAW`, `keySpec` e.g. `SIGNING_KEY_SPEC_EC_CURVE25519`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningPublicKey {
    #[serde(default, deserialize_with = "null_as_default")]
    pub format: String,
    /// Base64.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_data: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_spec: String,
}

/// Body of `POST /v2/parties/external/generate-topology`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateExternalPartyTopologyRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_hint: String,
    #[serde(default)]
    pub public_key: Option<SigningPublicKey>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub local_participant_observation_only: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub other_confirming_participant_uids: Vec<String>,
    /// 0: all confirmers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub confirmation_threshold: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub observing_participant_uids: Vec<String>,
}

/// The answer of `generate-topology`: what the party's key is to sign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateExternalPartyTopologyResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub public_key_fingerprint: String,
    /// Base64 of each serialized (versioned) topology transaction.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topology_transactions: Vec<String>,
    /// Base64 of the multi-hash one signature may cover instead of each transaction.
    #[serde(default, deserialize_with = "null_as_default")]
    pub multi_hash: String,
}

/// One onboarding transaction in `allocate`, with its own signatures (if any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedTransaction {
    /// Base64, as `generate-topology` returned it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub transaction: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub signatures: Vec<crate::interactive::Signature>,
}

/// Body of `POST /v2/parties/external/allocate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocateExternalPartyRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub onboarding_transactions: Vec<SignedTransaction>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub multi_hash_signatures: Vec<crate::interactive::Signature>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub identity_provider_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocateExternalPartyResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_id: String,
}
