//! Submitting commands as a local party: `JsCommands`, the `Command` oneof and the
//! submit-and-wait answers (`ledger-api.md` §4.1, §4.2). External parties go through
//! [`crate::interactive`] instead, which reuses [`Command`] and [`DisclosedContract`].

use serde::{Deserialize, Serialize};

use crate::filters::TransactionFormat;
use crate::serde_util::{DamlValue, Duration, Empty, int, null_as_default, opt_int};
use crate::updates::JsTransaction;

/// Body of `submit-and-wait` and `async/submit`. The change id (userId, actAs set, commandId)
/// is what deduplication keys on. Field order is the 3.4 server's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsCommands {
    #[serde(default, deserialize_with = "null_as_default")]
    pub commands: Vec<Command>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub command_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub act_as: Vec<String>,
    /// May be `""` with a user token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub read_as: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub workflow_id: String,
    #[serde(default)]
    pub deduplication_period: Option<DeduplicationPeriod>,
    /// At most one of `minLedgerTimeAbs` / `minLedgerTimeRel`.
    #[serde(default)]
    pub min_ledger_time_abs: Option<String>,
    #[serde(default)]
    pub min_ledger_time_rel: Option<Duration>,
    /// New per retry; ties completions to this attempt.
    #[serde(default, deserialize_with = "null_as_default")]
    pub submission_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub disclosed_contracts: Vec<DisclosedContract>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_id_selection_preference: Vec<String>,
    /// 3.4+.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prefetch_contract_keys: Vec<PrefetchContractKey>,
    /// 3.4.12+ schema; left out when unset so that older nodes see the 3.4 shape.
    #[serde(
        default,
        deserialize_with = "opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub taps_max_passes: Option<i32>,
}

/// One command (no `value` wrapper). `templateId` may be a `#package-name` reference; for an
/// interface choice it is the interface id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Command {
    CreateCommand(CreateCommand),
    ExerciseCommand(ExerciseCommand),
    CreateAndExerciseCommand(CreateAndExerciseCommand),
    ExerciseByKeyCommand(ExerciseByKeyCommand),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCommand {
    pub template_id: String,
    /// Plural, unlike `CreatedEvent.createArgument`.
    pub create_arguments: DamlValue,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExerciseCommand {
    pub template_id: String,
    pub contract_id: String,
    pub choice: String,
    pub choice_argument: DamlValue,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAndExerciseCommand {
    pub template_id: String,
    pub create_arguments: DamlValue,
    pub choice: String,
    pub choice_argument: DamlValue,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExerciseByKeyCommand {
    pub template_id: String,
    pub contract_key: DamlValue,
    pub choice: String,
    pub choice_argument: DamlValue,
}

/// A contract the submitters cannot see, passed in with its created-event blob (e.g. the
/// registry's factory and context contracts). Only `createdEventBlob` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosedContract {
    // An Option, not "": the server parses a present template id as an identifier.
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub contract_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_event_blob: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrefetchContractKey {
    #[serde(default)]
    pub template_id: Option<String>,
    pub contract_key: DamlValue,
}

/// How long the change id stays deduplicated; `Empty` = the node's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeduplicationPeriod {
    DeduplicationDuration(DeduplicationDuration),
    DeduplicationOffset(DeduplicationOffset),
    Empty(Empty),
}

impl Default for DeduplicationPeriod {
    fn default() -> Self {
        DeduplicationPeriod::Empty(Empty {})
    }
}

impl DeduplicationPeriod {
    pub fn duration(duration: Duration) -> Self {
        DeduplicationPeriod::DeduplicationDuration(DeduplicationDuration { value: duration })
    }

    pub fn offset(offset: i64) -> Self {
        DeduplicationPeriod::DeduplicationOffset(DeduplicationOffset { value: offset })
    }
}

/// `{"value": Duration}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeduplicationDuration {
    #[serde(default)]
    pub value: Duration,
}

/// `{"value": offset}`: deduplicate against everything after this offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeduplicationOffset {
    #[serde(deserialize_with = "int")]
    pub value: i64,
}

/// Answer of `submit-and-wait` and `interactive-submission/executeAndWait`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitAndWaitResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub update_id: String,
    #[serde(deserialize_with = "int")]
    pub completion_offset: i64,
}

/// Body of `submit-and-wait-for-transaction`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsSubmitAndWaitForTransactionRequest {
    pub commands: JsCommands,
    /// Absent: `ACS_DELTA`, wildcard for actAs + readAs, verbose.
    #[serde(default)]
    pub transaction_format: Option<TransactionFormat>,
}

/// Answer of `submit-and-wait-for-transaction` and `executeAndWaitForTransaction`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsSubmitAndWaitForTransactionResponse {
    pub transaction: JsTransaction,
}
