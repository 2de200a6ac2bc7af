//! Events of a transaction (`ledger-api.md` §2.5, §2.6).
//!
//! In `TRANSACTION_SHAPE_LEDGER_EFFECTS` a transaction is a pre-order list of created and
//! exercised events; an archive is an [`ExercisedEvent`] with `choice: "Archive"`. The tree is
//! encoded by `nodeId` and `lastDescendantNodeId` alone: E descends from exercise X iff
//! `X.nodeId < E.nodeId <= X.lastDescendantNodeId`. Node ids have gaps (nodes the reader does not
//! see still use up ids). [`ArchivedEvent`]s appear only in the `ACS_DELTA` shape.

use serde::{Deserialize, Serialize};

use crate::serde_util::{DamlValue, int, null_as_default};

/// One event: `{"CreatedEvent": {…}}`, `{"ExercisedEvent": {…}}` or `{"ArchivedEvent": {…}}`
/// (no `value` wrapper).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    CreatedEvent(CreatedEvent),
    ExercisedEvent(ExercisedEvent),
    ArchivedEvent(ArchivedEvent),
}

impl Event {
    pub fn node_id(&self) -> i32 {
        match self {
            Event::CreatedEvent(e) => e.node_id,
            Event::ExercisedEvent(e) => e.node_id,
            Event::ArchivedEvent(e) => e.node_id,
        }
    }

    pub fn contract_id(&self) -> &str {
        match self {
            Event::CreatedEvent(e) => &e.contract_id,
            Event::ExercisedEvent(e) => &e.contract_id,
            Event::ArchivedEvent(e) => &e.contract_id,
        }
    }

    pub fn template_id(&self) -> &str {
        match self {
            Event::CreatedEvent(e) => &e.template_id,
            Event::ExercisedEvent(e) => &e.template_id,
            Event::ArchivedEvent(e) => &e.template_id,
        }
    }
}

/// A contract creation. Field order is the 3.4 server's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedEvent {
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(deserialize_with = "int")]
    pub node_id: i32,
    pub contract_id: String,
    pub template_id: String,
    #[serde(default)]
    pub contract_key: Option<DamlValue>,
    /// 3.5+: base64 hash of the key, `""` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_key_hash: Option<String>,
    #[serde(default)]
    pub create_argument: Option<DamlValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_event_blob: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub interface_views: Vec<InterfaceView>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub witness_parties: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub signatories: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub observers: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_name: String,
    /// 3.4+; absent in 3.3 recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_package_id: Option<String>,
    /// 3.4+: whether the event belongs to the ACS delta of the requested parties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acs_delta: Option<bool>,
}

/// An interface view computed for an `InterfaceFilter` with `includeInterfaceView`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceView {
    pub interface_id: String,
    #[serde(default)]
    pub view_status: ViewStatus,
    #[serde(default)]
    pub view_value: Option<DamlValue>,
    /// 3.5+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_package_id: Option<String>,
}

/// A `google.rpc.Status`; code 0 means the view was computed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewStatus {
    #[serde(default, deserialize_with = "crate::serde_util::int_or_default")]
    pub code: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub details: Vec<serde_json::Value>,
}

/// A choice exercise (an archive in `LEDGER_EFFECTS` is one with `choice: "Archive"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExercisedEvent {
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(deserialize_with = "int")]
    pub node_id: i32,
    pub contract_id: String,
    pub template_id: String,
    /// Set when the choice was exercised through an interface (e.g. `…:TransferFactory`).
    #[serde(default)]
    pub interface_id: Option<String>,
    pub choice: String,
    #[serde(default)]
    pub choice_argument: Option<DamlValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub acting_parties: Vec<String>,
    pub consuming: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub witness_parties: Vec<String>,
    #[serde(deserialize_with = "int")]
    pub last_descendant_node_id: i32,
    #[serde(default)]
    pub exercise_result: Option<DamlValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub implemented_interfaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acs_delta: Option<bool>,
}

/// A contract archival, in the `ACS_DELTA` shape and in events-by-contract-id answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedEvent {
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(deserialize_with = "int")]
    pub node_id: i32,
    pub contract_id: String,
    pub template_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub witness_parties: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub implemented_interfaces: Vec<String>,
}
