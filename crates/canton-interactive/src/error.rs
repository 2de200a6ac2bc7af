//! Typed errors: decoding bytes, and hashing a decoded transaction.

/// The bytes are not a `PreparedTransaction` (truncated, wrong wire type, a length past the end,
/// too deeply nested, invalid UTF-8 ...). Carries prost's description, which names the field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a PreparedTransaction protobuf: {0}")]
pub struct DecodeError(pub String);

impl From<prost::DecodeError> for DecodeError {
    fn from(err: prost::DecodeError) -> Self {
        DecodeError(err.to_string())
    }
}

/// Why a decoded transaction cannot be hashed. Each of these is a transaction a participant would
/// not produce (or would refuse to hash), so a signer must refuse it too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// A required field (a message or a oneof) is absent; names the field.
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("unsupported hashing scheme version {0}")]
    UnsupportedHashingScheme(i32),
    /// This hashing scheme does not support the LF version of the transaction or of a node.
    #[error("unsupported LF version {0:?}")]
    UnsupportedLfVersion(String),
    #[error("node {0:?} is referenced but not in the transaction")]
    MissingNode(String),
    /// A node no root reaches: the hash would not cover it.
    #[error("node {0:?} is not reachable from the roots")]
    UnreachableNode(String),
    #[error("node id {0:?} appears more than once")]
    DuplicateNode(String),
    #[error("node {0:?} has no seed (create and exercise nodes need one)")]
    MissingNodeSeed(String),
    #[error("node id {0} has more than one seed")]
    DuplicateNodeSeed(i32),
    #[error("the seed of node id {node_id} has {len} bytes, not 32")]
    InvalidNodeSeed { node_id: i32, len: usize },
    /// A node is (transitively) its own child: the tree would never end.
    #[error("node {0:?} is its own descendant")]
    NodeCycle(String),
    #[error("the node tree is deeper than {0}")]
    NodeTreeTooDeep(usize),
    /// Deeper than Daml allows values to nest.
    #[error("a value nests deeper than {0}")]
    ValueTooDeep(usize),
    #[error("contract id {0:?} is not hexadecimal")]
    InvalidContractId(String),
    #[error("a collection of {0} elements does not fit the 4-byte length prefix")]
    TooLong(usize),
}
