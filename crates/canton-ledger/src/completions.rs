//! The command completion stream (`POST /v2/commands/completions`, websocket): how an async
//! submission learns its outcome (`ledger-api.md` §4.2).

use serde::{Deserialize, Serialize};

use crate::commands::DeduplicationPeriod;
use crate::serde_util::{Empty, Wrapped, int, int_or_default, null_as_default, opt_int};
use crate::updates::{OffsetCheckpoint, SynchronizerTime, TraceContext};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionStreamRequest {
    /// May be `""` with a user token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub parties: Vec<String>,
    #[serde(default, deserialize_with = "int_or_default")]
    pub begin_exclusive: i64,
}

/// One element of the completion stream: `{"completionResponse": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionStreamResponse {
    #[serde(default)]
    pub completion_response: CompletionResponse,
}

/// Every case but `Empty` carries the `{"value": …}` wrapper.
#[allow(clippy::large_enum_variant)] // completions are nearly every element
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CompletionResponse {
    Completion(Wrapped<Completion>),
    OffsetCheckpoint(Wrapped<OffsetCheckpoint>),
    Empty(Empty),
}

impl Default for CompletionResponse {
    fn default() -> Self {
        CompletionResponse::Empty(Empty {})
    }
}

/// The outcome of one submission. Field order is the 3.4 server's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    #[serde(default, deserialize_with = "null_as_default")]
    pub command_id: String,
    /// `code` 0 = committed; otherwise a gRPC code with the Canton error in `message`.
    #[serde(default)]
    pub status: Option<JsStatus>,
    /// Set on success only.
    #[serde(default, deserialize_with = "null_as_default")]
    pub update_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub act_as: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub submission_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub deduplication_period: DeduplicationPeriod,
    #[serde(default)]
    pub trace_context: Option<TraceContext>,
    #[serde(deserialize_with = "int")]
    pub offset: i64,
    #[serde(default)]
    pub synchronizer_time: Option<SynchronizerTime>,
    /// 3.4.12+.
    #[serde(
        default,
        deserialize_with = "opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub paid_traffic_cost: Option<i64>,
}

/// A `google.rpc.Status` whose details are protobuf `Any`s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JsStatus {
    #[serde(default, deserialize_with = "int_or_default")]
    pub code: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub details: Vec<ProtoAny>,
}

/// A protobuf `Any` (e.g. a base64 `google.rpc.ErrorInfo` or `RetryInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtoAny {
    #[serde(default, deserialize_with = "null_as_default")]
    pub type_url: String,
    /// Base64 of the encoded message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
    /// Kept as sent: protobuf bookkeeping nobody reads.
    #[serde(default)]
    pub unknown_fields: Option<serde_json::Value>,
    #[serde(default)]
    pub value_decoded: Option<String>,
}
