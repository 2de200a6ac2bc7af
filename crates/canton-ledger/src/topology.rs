//! Topology transactions in the update stream: a party's hosting on a participant was added,
//! changed or revoked (`ledger-api.md` §2.3).

use serde::{Deserialize, Serialize};

use crate::serde_util::{Empty, Wrapped, int, null_as_default};
use crate::updates::TraceContext;

proto_enum! {
    /// What a participant may do for a party it hosts.
    pub enum ParticipantPermission {
        Unspecified = "PARTICIPANT_PERMISSION_UNSPECIFIED",
        Submission = "PARTICIPANT_PERMISSION_SUBMISSION",
        Confirmation = "PARTICIPANT_PERMISSION_CONFIRMATION",
        Observation = "PARTICIPANT_PERMISSION_OBSERVATION",
    }
}

/// The `TopologyTransaction` update. Field order is the 3.4 server's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsTopologyTransaction {
    pub update_id: String,
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    /// The topology change's effective time.
    #[serde(default)]
    pub record_time: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<TopologyEvent>,
    #[serde(default)]
    pub trace_context: Option<TraceContext>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopologyEvent {
    #[serde(default)]
    pub event: TopologyEventKind,
}

/// Every case carries the `{"value": …}` wrapper except `Empty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TopologyEventKind {
    Empty(Empty),
    ParticipantAuthorizationAdded(Wrapped<ParticipantAuthorization>),
    ParticipantAuthorizationChanged(Wrapped<ParticipantAuthorization>),
    /// Carries no permission.
    ParticipantAuthorizationRevoked(Wrapped<ParticipantAuthorization>),
    /// 3.5+: the party is being onboarded on the participant (not yet usable).
    ParticipantAuthorizationOnboarding(Wrapped<ParticipantAuthorization>),
}

impl Default for TopologyEventKind {
    fn default() -> Self {
        TopologyEventKind::Empty(Empty {})
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantAuthorization {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub participant_id: String,
    /// Absent on revocations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_permission: Option<ParticipantPermission>,
}
