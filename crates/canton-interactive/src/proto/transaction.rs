//! `PreparedTransaction` and everything under it, from
//! `interactive/interactive_submission_service.proto`, `interactive_submission_common_data.proto`
//! and `interactive/transaction/v1/interactive_submission_data.proto` (Canton 3.4.11): the subset
//! a client needs to decode, check and hash what `prepare` returns. Field numbers are the official
//! ones; unknown fields (from a newer node) are skipped by prost on decode, as protobuf requires.

use super::daml_value::{Identifier, Value};

#[derive(Clone, PartialEq, prost::Message)]
pub struct PreparedTransaction {
    #[prost(message, optional, tag = "1")]
    pub transaction: Option<DamlTransaction>,
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<Metadata>,
}

/// The ledger effect: a forest of nodes referenced by id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DamlTransaction {
    /// Serialization (LF) version, e.g. `"2.1"`.
    #[prost(string, tag = "1")]
    pub version: String,
    #[prost(string, repeated, tag = "2")]
    pub roots: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub nodes: Vec<Node>,
    #[prost(message, repeated, tag = "4")]
    pub node_seeds: Vec<NodeSeed>,
}

/// `DamlTransaction.NodeSeed`: the 32-byte seed of a create or exercise node.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeSeed {
    #[prost(int32, tag = "1")]
    pub node_id: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub seed: Vec<u8>,
}

/// `DamlTransaction.Node`: an id and a versioned node.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Node {
    #[prost(string, tag = "1")]
    pub node_id: String,
    #[prost(oneof = "VersionedNode", tags = "1000")]
    pub versioned_node: Option<VersionedNode>,
}

/// `DamlTransaction.Node.versioned_node`; new node versions will be new variants.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum VersionedNode {
    #[prost(message, tag = "1000")]
    V1(v1::Node),
}

/// `interactive.transaction.v1`: the node messages.
pub mod v1 {
    use super::{Identifier, Value};

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Node {
        #[prost(oneof = "NodeType", tags = "1, 2, 3, 4")]
        pub node_type: Option<NodeType>,
    }

    // Unboxed so callers can match on nodes directly; nodes live in a Vec anyway.
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum NodeType {
        #[prost(message, tag = "1")]
        Create(Create),
        #[prost(message, tag = "2")]
        Fetch(Fetch),
        #[prost(message, tag = "3")]
        Exercise(Exercise),
        #[prost(message, tag = "4")]
        Rollback(Rollback),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Create {
        #[prost(string, tag = "1")]
        pub lf_version: String,
        #[prost(string, tag = "2")]
        pub contract_id: String,
        #[prost(string, tag = "3")]
        pub package_name: String,
        #[prost(message, optional, tag = "4")]
        pub template_id: Option<Identifier>,
        #[prost(message, optional, tag = "5")]
        pub argument: Option<Value>,
        #[prost(string, repeated, tag = "6")]
        pub signatories: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub stakeholders: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Fetch {
        #[prost(string, tag = "1")]
        pub lf_version: String,
        #[prost(string, tag = "2")]
        pub contract_id: String,
        #[prost(string, tag = "3")]
        pub package_name: String,
        #[prost(message, optional, tag = "4")]
        pub template_id: Option<Identifier>,
        #[prost(string, repeated, tag = "5")]
        pub signatories: Vec<String>,
        #[prost(string, repeated, tag = "6")]
        pub stakeholders: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub acting_parties: Vec<String>,
        #[prost(message, optional, tag = "8")]
        pub interface_id: Option<Identifier>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exercise {
        #[prost(string, tag = "1")]
        pub lf_version: String,
        #[prost(string, tag = "2")]
        pub contract_id: String,
        #[prost(string, tag = "3")]
        pub package_name: String,
        #[prost(message, optional, tag = "4")]
        pub template_id: Option<Identifier>,
        #[prost(string, repeated, tag = "5")]
        pub signatories: Vec<String>,
        #[prost(string, repeated, tag = "6")]
        pub stakeholders: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub acting_parties: Vec<String>,
        #[prost(message, optional, tag = "8")]
        pub interface_id: Option<Identifier>,
        #[prost(string, tag = "9")]
        pub choice_id: String,
        #[prost(message, optional, tag = "10")]
        pub chosen_value: Option<Value>,
        #[prost(bool, tag = "11")]
        pub consuming: bool,
        #[prost(string, repeated, tag = "12")]
        pub children: Vec<String>,
        #[prost(message, optional, tag = "13")]
        pub exercise_result: Option<Value>,
        #[prost(string, repeated, tag = "14")]
        pub choice_observers: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Rollback {
        #[prost(string, repeated, tag = "1")]
        pub children: Vec<String>,
    }
}

/// Transaction metadata. Field 1 is reserved (the old ledger effective time).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metadata {
    #[prost(message, optional, tag = "2")]
    pub submitter_info: Option<SubmitterInfo>,
    #[prost(string, tag = "3")]
    pub synchronizer_id: String,
    #[prost(uint32, tag = "4")]
    pub mediator_group: u32,
    #[prost(string, tag = "5")]
    pub transaction_uuid: String,
    /// Microseconds since the Unix epoch.
    #[prost(uint64, tag = "6")]
    pub preparation_time: u64,
    #[prost(message, repeated, tag = "7")]
    pub input_contracts: Vec<InputContract>,
    /// Not hashed by V2.
    #[prost(message, repeated, tag = "8")]
    pub global_key_mapping: Vec<GlobalKeyMappingEntry>,
    #[prost(uint64, optional, tag = "9")]
    pub min_ledger_effective_time: Option<u64>,
    #[prost(uint64, optional, tag = "10")]
    pub max_ledger_effective_time: Option<u64>,
    /// Not hashed by V2 (hashed from V3, Canton 3.5).
    #[prost(uint64, optional, tag = "11")]
    pub max_record_time: Option<u64>,
}

/// `Metadata.SubmitterInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubmitterInfo {
    #[prost(string, repeated, tag = "1")]
    pub act_as: Vec<String>,
    #[prost(string, tag = "2")]
    pub command_id: String,
}

/// `Metadata.InputContract`: a contract the transaction uses, as its create node.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InputContract {
    #[prost(oneof = "InputContractVersion", tags = "1")]
    pub contract: Option<InputContractVersion>,
    /// Microseconds since the Unix epoch.
    #[prost(uint64, tag = "1000")]
    pub created_at: u64,
    /// Opaque to clients; not hashed.
    #[prost(bytes = "vec", tag = "1002")]
    pub event_blob: Vec<u8>,
}

/// `Metadata.InputContract.contract`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum InputContractVersion {
    #[prost(message, tag = "1")]
    V1(v1::Create),
}

/// `Metadata.GlobalKeyMappingEntry`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GlobalKeyMappingEntry {
    #[prost(message, optional, tag = "1")]
    pub key: Option<GlobalKey>,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Value>,
}

/// `interactive.GlobalKey` (`interactive_submission_common_data.proto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GlobalKey {
    #[prost(message, optional, tag = "1")]
    pub template_id: Option<Identifier>,
    #[prost(string, tag = "2")]
    pub package_name: String,
    #[prost(message, optional, tag = "3")]
    pub key: Option<Value>,
    #[prost(bytes = "vec", tag = "4")]
    pub hash: Vec<u8>,
}
