//! Interactive (external-party) submission: prepare, sign the hash off-node, execute
//! (`ledger-api.md` §4.3, §4.4). The exchange's withdrawals go this way because only `prepare`
//! can bound the record time (`maxRecordTime`).

use serde::{Deserialize, Serialize};

use crate::commands::{
    Command, DeduplicationPeriod, DisclosedContract, JsSubmitAndWaitForTransactionResponse,
    PrefetchContractKey, SubmitAndWaitResponse,
};
use crate::filters::TransactionFormat;
use crate::serde_util::{Duration, Empty, Wrapped, int_or_default, null_as_default, opt_int};

proto_enum! {
    pub enum HashingSchemeVersion {
        Unspecified = "HASHING_SCHEME_VERSION_UNSPECIFIED",
        V2 = "HASHING_SCHEME_VERSION_V2",
        /// 3.5+: also covers `maxRecordTime`.
        V3 = "HASHING_SCHEME_VERSION_V3",
    }
}

proto_enum! {
    pub enum SignatureFormat {
        Unspecified = "SIGNATURE_FORMAT_UNSPECIFIED",
        /// Raw bytes as the algorithm produces them (Ed25519: 64 bytes).
        Raw = "SIGNATURE_FORMAT_RAW",
        Der = "SIGNATURE_FORMAT_DER",
        /// r‖s concatenation; what Canton's own examples send for Ed25519.
        Concat = "SIGNATURE_FORMAT_CONCAT",
    }
}

proto_enum! {
    pub enum SigningAlgorithmSpec {
        Unspecified = "SIGNING_ALGORITHM_SPEC_UNSPECIFIED",
        Ed25519 = "SIGNING_ALGORITHM_SPEC_ED25519",
        EcDsaSha256 = "SIGNING_ALGORITHM_SPEC_EC_DSA_SHA_256",
        EcDsaSha384 = "SIGNING_ALGORITHM_SPEC_EC_DSA_SHA_384",
    }
}

/// Body of `POST /v2/interactive-submission/prepare`. Field order is the 3.4 server's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsPrepareSubmissionRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub command_id: String,
    /// A single command is supported.
    #[serde(default, deserialize_with = "null_as_default")]
    pub commands: Vec<Command>,
    #[serde(default)]
    pub min_ledger_time: Option<MinLedgerTime>,
    /// Read rights suffice to prepare.
    #[serde(default, deserialize_with = "null_as_default")]
    pub act_as: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub read_as: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub disclosed_contracts: Vec<DisclosedContract>,
    /// `""`: the node picks one.
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_id_selection_preference: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbose_hashing: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub prefetch_contract_keys: Vec<PrefetchContractKey>,
    /// Inclusive bound on the record time the transaction may commit at; the exchange sends
    /// `trecTgt - 1µs` for the guide's exclusive bound.
    #[serde(default)]
    pub max_record_time: Option<String>,
    #[serde(default)]
    pub estimate_traffic_cost: Option<CostEstimationHints>,
    /// 3.4.12+ schema; left out when unset.
    #[serde(
        default,
        deserialize_with = "opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub taps_max_passes: Option<i32>,
    /// 3.5+ (default V2); left out when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashing_scheme_version: Option<HashingSchemeVersion>,
}

/// `{"time": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinLedgerTime {
    #[serde(default)]
    pub time: MinLedgerTimeBound,
}

/// Every case but `Empty` carries the `{"value": …}` wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinLedgerTimeBound {
    Empty(Empty),
    /// A timestamp.
    MinLedgerTimeAbs(Wrapped<String>),
    /// Relative to the time of submission.
    MinLedgerTimeRel(Wrapped<Duration>),
}

impl Default for MinLedgerTimeBound {
    fn default() -> Self {
        MinLedgerTimeBound::Empty(Empty {})
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimationHints {
    #[serde(default, deserialize_with = "null_as_default")]
    pub disabled: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub expected_signatures: Vec<SigningAlgorithmSpec>,
}

/// Answer of `prepare`. Sign `preparedTransactionHash`, not a hash of your own: the node's is
/// the one it will check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsPrepareSubmissionResponse {
    /// Base64 protobuf `PreparedTransaction`, to be sent back verbatim.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prepared_transaction: String,
    /// Base64 of 32 bytes; `JsTransaction.externalTransactionHash` is the same hash in hex.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prepared_transaction_hash: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub hashing_scheme_version: HashingSchemeVersion,
    /// Only with `verboseHashing`.
    #[serde(default)]
    pub hashing_details: Option<String>,
    #[serde(default)]
    pub cost_estimation: Option<CostEstimation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimation {
    #[serde(default)]
    pub estimation_timestamp: Option<String>,
    #[serde(default, deserialize_with = "int_or_default")]
    pub confirmation_request_traffic_cost_estimation: i64,
    #[serde(default, deserialize_with = "int_or_default")]
    pub confirmation_response_traffic_cost_estimation: i64,
    #[serde(default, deserialize_with = "int_or_default")]
    pub total_traffic_cost_estimation: i64,
}

/// Body of `execute` and `executeAndWait`. Field order is the 3.4 server's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsExecuteSubmissionRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub prepared_transaction: String,
    #[serde(default)]
    pub party_signatures: Option<PartySignatures>,
    /// Always sent: the server's case class has no default for it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub deduplication_period: DeduplicationPeriod,
    #[serde(default, deserialize_with = "null_as_default")]
    pub submission_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub hashing_scheme_version: HashingSchemeVersion,
    #[serde(default)]
    pub min_ledger_time: Option<MinLedgerTime>,
}

/// `executeAndWait` takes the same body as `execute`.
pub type JsExecuteSubmissionAndWaitRequest = JsExecuteSubmissionRequest;

/// Body of `executeAndWaitForTransaction`: the execute body plus a transaction format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsExecuteSubmissionAndWaitForTransactionRequest {
    // Flattened fields are written first, which is the server's order.
    #[serde(flatten)]
    pub request: JsExecuteSubmissionRequest,
    #[serde(default)]
    pub transaction_format: Option<TransactionFormat>,
}

/// Answer of `execute` (asynchronous; track the outcome via completions or the update stream).
pub type ExecuteSubmissionResponse = Empty;
/// Answer of `executeAndWait`.
pub type ExecuteSubmissionAndWaitResponse = SubmitAndWaitResponse;
/// Answer of `executeAndWaitForTransaction`.
pub type JsExecuteSubmissionAndWaitForTransactionResponse = JsSubmitAndWaitForTransactionResponse;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySignatures {
    #[serde(default, deserialize_with = "null_as_default")]
    pub signatures: Vec<SinglePartySignatures>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinglePartySignatures {
    #[serde(default, deserialize_with = "null_as_default")]
    pub party: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signature {
    #[serde(default, deserialize_with = "null_as_default")]
    pub format: SignatureFormat,
    /// Base64.
    #[serde(default, deserialize_with = "null_as_default")]
    pub signature: String,
    /// Fingerprint of the signing key (for a party whose namespace is its key: the part after
    /// `::`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub signed_by: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub signing_algorithm_spec: SigningAlgorithmSpec,
}
