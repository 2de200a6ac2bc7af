//! The update stream (`POST /v2/updates`, websocket `GET /v2/updates`): `ledger-api.md` §2.3–2.8.

use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::filters::{TransactionFilter, UpdateFormat};
use crate::reassignments::JsReassignment;
use crate::serde_util::{Wrapped, int, int_or_default, null_as_default, opt_int, present};
use crate::topology::JsTopologyTransaction;

/// Body of `POST /v2/updates` and the first websocket frame (`ledger-api.md` §2.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUpdatesRequest {
    /// 0 = ledger begin.
    #[serde(default, deserialize_with = "int_or_default")]
    pub begin_exclusive: i64,
    /// Absent = tail forever (interleaving checkpoints).
    #[serde(default, deserialize_with = "opt_int")]
    pub end_inclusive: Option<i64>,
    /// Legacy; mutually exclusive with `updateFormat`, so it is left out when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<TransactionFilter>,
    /// Legacy companion of `filter`; `false` is "unset".
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbose: bool,
    #[serde(default)]
    pub update_format: Option<UpdateFormat>,
}

/// Body of `POST /v2/updates/update-by-offset`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUpdateByOffsetRequest {
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(default)]
    pub update_format: Option<UpdateFormat>,
}

/// Body of `POST /v2/updates/update-by-id`; works on any node that saw the transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUpdateByIdRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub update_id: String,
    #[serde(default)]
    pub update_format: Option<UpdateFormat>,
}

/// Answer of update-by-offset / update-by-id: `{"update": Update}`, the stream element's shape.
pub type JsGetUpdateResponse = JsGetUpdatesResponse;

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
    /// Only seen with several synchronizers; ingestion does not act on it.
    Reassignment(Wrapped<JsReassignment>),
    /// Party-to-participant changes, which ingestion does not act on.
    TopologyTransaction(Wrapped<JsTopologyTransaction>),
}

impl Update {
    /// The offset of this element, which a reader resumes after.
    // Kept an `Option` for callers written when reassignments were untyped.
    pub fn offset(&self) -> Option<i64> {
        Some(match self {
            Update::Transaction(t) => t.value.offset,
            Update::OffsetCheckpoint(c) => c.value.offset,
            Update::Reassignment(r) => r.value.offset,
            Update::TopologyTransaction(t) => t.value.offset,
        })
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
    #[serde(deserialize_with = "int")]
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
    #[serde(
        default,
        deserialize_with = "opt_int",
        skip_serializing_if = "Option::is_none"
    )]
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
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_times: Vec<SynchronizerTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizerTime {
    pub synchronizer_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub record_time: String,
}
