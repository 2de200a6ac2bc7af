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
