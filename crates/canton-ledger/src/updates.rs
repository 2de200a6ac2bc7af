//! The update stream (`POST /v2/updates`, websocket `GET /v2/updates`): `ledger-api.md` §2.3–2.8.

use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::serde_util::{Wrapped, null_as_default, present};

/// One element of the update stream: `{"update": Update}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsGetUpdatesResponse {
    pub update: Update,
}

/// An update; every case carries the `{"value": …}` wrapper on the wire.
// Transactions are nearly every element of the stream: boxing them would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Update {
    Transaction(Wrapped<JsTransaction>),
    OffsetCheckpoint(Wrapped<OffsetCheckpoint>),
    /// Kept as raw JSON: only seen with several synchronizers; the exchange does not act on it.
    Reassignment(Wrapped<serde_json::Value>),
    /// Kept as raw JSON: party-to-participant changes, which ingestion does not act on.
    TopologyTransaction(Wrapped<serde_json::Value>),
}

impl Update {
    /// The offset of this element, which a reader resumes after.
    pub fn offset(&self) -> Option<i64> {
        match self {
            Update::Transaction(t) => Some(t.value.offset),
            Update::OffsetCheckpoint(c) => Some(c.value.offset),
            Update::Reassignment(r) | Update::TopologyTransaction(r) => {
                r.value.get("offset").and_then(serde_json::Value::as_i64)
            }
        }
    }
}

/// A transaction as the 3.4 server writes it (field order included).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsTransaction {
    pub update_id: String,
    /// `""` unless the reader submitted it on this node.
    #[serde(default, deserialize_with = "null_as_default")]
    pub command_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub workflow_id: String,
    #[serde(default)]
    pub effective_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
    pub offset: i64,
    pub synchronizer_id: String,
    #[serde(default)]
    pub trace_context: Option<TraceContext>,
    pub record_time: String,
    /// Hex hash of an externally signed submission.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_transaction_hash: Option<Option<String>>,
    /// 3.4.12+; only on the submitting node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_traffic_cost: Option<i64>,
}

/// W3C trace context of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceContext {
    #[serde(default)]
    pub traceparent: Option<String>,
    #[serde(default)]
    pub tracestate: Option<String>,
}

/// The node's progress: every update up to `offset` has been delivered, and per synchronizer the
/// latest record time it processed. Only sent in open-ended streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetCheckpoint {
    pub offset: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_times: Vec<SynchronizerTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizerTime {
    pub synchronizer_id: String,
    pub record_time: String,
}
