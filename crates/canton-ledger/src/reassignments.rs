//! Reassignments: a contract moving between synchronizers (`ledger-api.md` §2.3). Only seen on
//! nodes connected to several synchronizers; always in the `ACS_DELTA` shape.

use serde::{Deserialize, Serialize};

use crate::events::CreatedEvent;
use crate::serde_util::{Wrapped, int, null_as_default};
use crate::updates::TraceContext;

/// The `Reassignment` update. Field order is the 3.4 server's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsReassignment {
    pub update_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub command_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub workflow_id: String,
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<JsReassignmentEvent>,
    #[serde(default)]
    pub trace_context: Option<TraceContext>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub record_time: String,
    /// 3.4+: the synchronizer the reassignment happened on (target for assignments).
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
}

/// Assignments are unwrapped, unassignments carry `{"value": …}` (`ledger-api.md` §1.1).
// Assignments (with a whole created event) are the common case; boxing would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum JsReassignmentEvent {
    JsAssignmentEvent(JsAssignedEvent),
    JsUnassignedEvent(Wrapped<UnassignedEvent>),
}

/// A contract arriving on `target`, with the full created event as seen by the reader.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsAssignedEvent {
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub target: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub reassignment_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub submitter: String,
    #[serde(default, deserialize_with = "crate::serde_util::int_or_default")]
    pub reassignment_counter: i64,
    pub created_event: CreatedEvent,
}

/// A contract leaving `source`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnassignedEvent {
    #[serde(default, deserialize_with = "null_as_default")]
    pub reassignment_id: String,
    pub contract_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub template_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub target: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub submitter: String,
    #[serde(default, deserialize_with = "crate::serde_util::int_or_default")]
    pub reassignment_counter: i64,
    /// Until when only the submitter may assign it.
    #[serde(default)]
    pub assignment_exclusivity: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub witness_parties: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_name: String,
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(deserialize_with = "int")]
    pub node_id: i32,
}
