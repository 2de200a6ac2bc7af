//! `HASHING_SCHEME_VERSION_V2` (Canton 3.3 / 3.4, protocol version 33), per
//! `specs/canton/hashing-scheme-v2.md` and its collector notes (Canton 3.4.11's implementation
//! wins where the prose is loose: length-prefixed contract ids, seeds required on creates).
//! The submodules are `pub(crate)` so a later scheme (V3) reuses the encodings that did not change.

pub(crate) mod encoder;
pub(crate) mod metadata;
pub(crate) mod node;
pub(crate) mod value;

pub use node::MAX_NODE_DEPTH;
pub use value::MAX_VALUE_DEPTH;

use encoder::{Encoder, with_purpose};
use node::NodeHasher;

use crate::error::HashError;
use crate::proto::{DamlTransaction, Metadata, PreparedTransaction, Value, v1};
use crate::{Hash, PreparedTransactionHashes};

/// The byte the final hash carries after the hash purpose.
const SCHEME_VERSION_BYTE: u8 = 0x02;

/// The LF versions Canton 3.4.11's V2 hasher accepts (for the transaction and every node).
pub const SUPPORTED_LF_VERSIONS: &[&str] = &["2.1"];

pub(crate) fn check_lf_version(version: &str) -> Result<(), HashError> {
    if SUPPORTED_LF_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(HashError::UnsupportedLfVersion(version.to_string()))
    }
}

/// The three V2 hashes of a prepared transaction.
pub fn hash(prepared: &PreparedTransaction) -> Result<PreparedTransactionHashes, HashError> {
    hash_traced(prepared, false).map(|(hashes, _)| hashes)
}

/// The hashes and a human-readable account of every byte hashed (nodes, transaction, metadata,
/// final), like the `hashingDetails` Canton returns for `verboseHashing`.
pub fn hash_with_details(
    prepared: &PreparedTransaction,
) -> Result<(PreparedTransactionHashes, String), HashError> {
    hash_traced(prepared, true).map(|(hashes, lines)| (hashes, lines.join("\n")))
}

fn hash_traced(
    prepared: &PreparedTransaction,
    traced: bool,
) -> Result<(PreparedTransactionHashes, Vec<String>), HashError> {
    let tx = prepared
        .transaction
        .as_ref()
        .ok_or(HashError::MissingField("PreparedTransaction.transaction"))?;
    let metadata = prepared
        .metadata
        .as_ref()
        .ok_or(HashError::MissingField("PreparedTransaction.metadata"))?;
    let (transaction, mut lines) = transaction_hash_traced(tx, traced)?;
    let (metadata, metadata_lines) = metadata::metadata_hash(metadata, traced)?;
    let mut enc = with_purpose(traced);
    enc.tag(SCHEME_VERSION_BYTE, "Hashing Scheme Version");
    enc.hash(&transaction, "Transaction Hash");
    enc.hash(&metadata, "Metadata Hash");
    let prepared_transaction = enc.sha256();
    if traced {
        lines.push("# Metadata".to_string());
        lines.extend(metadata_lines);
        lines.push(format!("'{metadata}' # Metadata Hash"));
        lines.push("# Prepared Transaction".to_string());
        lines.extend(enc.into_parts().1);
        lines.push(format!(
            "'{prepared_transaction}' # Prepared Transaction Hash"
        ));
    }
    let hashes = PreparedTransactionHashes {
        transaction,
        metadata,
        prepared_transaction,
    };
    Ok((hashes, lines))
}

/// `sha_256(0x00000030 || encode(transaction.version) || encode_node_ids(transaction.roots))`.
/// Refuses a transaction with nodes no root reaches: nothing the hash does not cover may ride
/// along in what gets signed.
pub fn transaction_hash(tx: &DamlTransaction) -> Result<Hash, HashError> {
    transaction_hash_traced(tx, false).map(|(hash, _)| hash)
}

fn transaction_hash_traced(
    tx: &DamlTransaction,
    traced: bool,
) -> Result<(Hash, Vec<String>), HashError> {
    check_lf_version(&tx.version)?;
    let mut nodes = NodeHasher::new(tx, traced)?;
    let mut enc = with_purpose(traced);
    enc.section("Serialization Version");
    enc.string(&tx.version)?;
    enc.section("Root Nodes");
    enc.len(tx.roots.len())?;
    for root in &tx.roots {
        let hash = nodes.node_hash(root)?;
        enc.hash(&hash, "(Hashed Inner Node)");
    }
    if let Some(orphan) = nodes.unreachable() {
        return Err(HashError::UnreachableNode(orphan.to_string()));
    }
    let hash = enc.sha256();
    let mut lines = std::mem::take(&mut nodes.details);
    if traced {
        lines.push("# Transaction".to_string());
        lines.extend(enc.into_parts().1);
        lines.push(format!("'{hash}' # Transaction Hash"));
    }
    Ok((hash, lines))
}

/// `sha_256(0x00000030 || encode(metadata))`.
pub fn metadata_hash(metadata: &Metadata) -> Result<Hash, HashError> {
    metadata::metadata_hash(metadata, false).map(|(hash, _)| hash)
}

/// `sha_256(encode_node(node))` of the node `node_id` of `tx` (no hash purpose).
pub fn node_hash(tx: &DamlTransaction, node_id: &str) -> Result<Hash, HashError> {
    NodeHasher::new(tx, false)?.node_hash(node_id)
}

/// The hash an input contract contributes to the metadata: `sha_256(encode_node(create))`,
/// without a seed.
pub fn input_contract_hash(create: &v1::Create) -> Result<Hash, HashError> {
    metadata::input_contract_create(create, false).map(|(hash, _)| hash)
}

/// `encode(value)`: the bytes a value contributes to a node's encoding.
pub fn encode_value(value: &Value) -> Result<Vec<u8>, HashError> {
    let mut enc = Encoder::new(false);
    value::encode_value(&mut enc, value, 0)?;
    Ok(enc.into_parts().0)
}
