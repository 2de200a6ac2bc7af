//! The decision: is this prepared transaction exactly the intent? Metadata first (who acts,
//! where), then the root node (which choice, on what, with which arguments), then every other
//! node's effect on the treasury, then the hash.

use std::collections::{BTreeMap, BTreeSet};

use canton_interactive::proto::{DamlTransaction, Metadata, Node, VersionedNode, v1};
use canton_interactive::{
    Hash, HashingSchemeVersion, PreparedTransaction, decode_prepared_transaction,
    hash_prepared_transaction,
};

use super::effects::check_effects;
use super::intent::Intent;
use super::mismatch::Mismatch;
use super::root::check_root;
use crate::PartyId;

/// A prepared transaction the verifier passed: the only thing a [`super::Signer`] signs.
/// It cannot be built outside this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    hash: Hash,
    treasury: PartyId,
}

impl Verified {
    /// The V2 hash to sign (equal to the node's).
    pub fn hash(&self) -> &[u8; 32] {
        self.hash.as_bytes()
    }

    /// The party whose key must sign.
    pub fn treasury(&self) -> &PartyId {
        &self.treasury
    }
}

/// Decodes `bytes` (as `prepare` returned them) and [`verify`]s them.
pub fn verify_bytes(intent: &Intent, bytes: &[u8], node_hash: &[u8]) -> Result<Verified, Mismatch> {
    verify(intent, &decode_prepared_transaction(bytes)?, node_hash)
}

/// Whether `prepared` is exactly `intent`, and `node_hash` (the participant's
/// `preparedTransactionHash`) its V2 hash. The first difference found is returned.
pub fn verify(
    intent: &Intent,
    prepared: &PreparedTransaction,
    node_hash: &[u8],
) -> Result<Verified, Mismatch> {
    let metadata = prepared
        .metadata
        .as_ref()
        .ok_or_else(|| Mismatch::field("metadata", "present", "absent"))?;
    let transaction = prepared
        .transaction
        .as_ref()
        .ok_or_else(|| Mismatch::field("transaction", "present", "absent"))?;
    check_metadata(intent, metadata)?;
    let nodes = index_nodes(transaction)?;
    let root = match transaction.roots.as_slice() {
        [root] => nodes.get(root.as_str()).ok_or_else(|| {
            Mismatch::field("transaction.roots", "a node of the transaction", root)
        })?,
        roots => {
            return Err(Mismatch::field(
                "transaction.roots",
                "one root",
                roots.len(),
            ));
        }
    };
    check_root(intent, root, transaction.nodes.len())?;
    let inputs = check_input_contracts(intent, metadata)?;
    check_effects(intent, transaction, &inputs)?;
    let hash = check_hash(prepared, node_hash)?;
    Ok(Verified {
        hash,
        treasury: intent.common().treasury.clone(),
    })
}

fn check_metadata(intent: &Intent, metadata: &Metadata) -> Result<(), Mismatch> {
    let common = intent.common();
    let act_as = metadata
        .submitter_info
        .as_ref()
        .map(|s| s.act_as.clone())
        .unwrap_or_default();
    if act_as != [common.treasury.as_str()] {
        return Err(Mismatch::field(
            "metadata.submitter_info.act_as",
            format!("[{}]", common.treasury),
            format!("{act_as:?}"),
        ));
    }
    if metadata.synchronizer_id != common.synchronizer.as_str() {
        return Err(Mismatch::field(
            "metadata.synchronizer_id",
            common.synchronizer.as_str(),
            &metadata.synchronizer_id,
        ));
    }
    Ok(())
}

/// The v1 nodes by id; an unknown node version or an empty node is refused (it cannot be read).
pub(crate) fn index_nodes(
    transaction: &DamlTransaction,
) -> Result<BTreeMap<&str, &v1::NodeType>, Mismatch> {
    let mut nodes = BTreeMap::new();
    for Node {
        node_id,
        versioned_node,
    } in &transaction.nodes
    {
        let node = match versioned_node {
            Some(VersionedNode::V1(v1::Node {
                node_type: Some(node),
            })) => node,
            _ => {
                return Err(Mismatch::field(
                    format!("node {node_id}"),
                    "a v1 node",
                    "none",
                ));
            }
        };
        if nodes.insert(node_id.as_str(), node).is_some() {
            return Err(Mismatch::field(
                format!("node {node_id}"),
                "a unique node id",
                "a duplicate",
            ));
        }
    }
    Ok(nodes)
}

/// Input contracts must be disclosed ones or the treasury's selected inputs, and every selected
/// input must be among them (its create node tells what is being spent).
fn check_input_contracts<'a>(
    intent: &Intent,
    metadata: &'a Metadata,
) -> Result<BTreeMap<&'a str, &'a v1::Create>, Mismatch> {
    let allowed = intent.allowed_inputs();
    let mut inputs = BTreeMap::new();
    for input in &metadata.input_contracts {
        let Some(canton_interactive::proto::InputContractVersion::V1(create)) = &input.contract
        else {
            return Err(Mismatch::field(
                "metadata.input_contracts",
                "a v1 create",
                "none",
            ));
        };
        if !allowed.contains(create.contract_id.as_str()) {
            return Err(Mismatch::UnexpectedInputContract {
                contract_id: create.contract_id.clone(),
            });
        }
        if inputs.insert(create.contract_id.as_str(), create).is_some() {
            return Err(Mismatch::field(
                "metadata.input_contracts",
                "each contract once",
                &create.contract_id,
            ));
        }
    }
    let missing: BTreeSet<&str> = intent
        .consumable()
        .into_iter()
        .filter(|cid| !inputs.contains_key(cid))
        .collect();
    if let Some(cid) = missing.first() {
        return Err(Mismatch::MissingInputContract {
            contract_id: (*cid).to_owned(),
        });
    }
    Ok(inputs)
}

fn check_hash(prepared: &PreparedTransaction, node_hash: &[u8]) -> Result<Hash, Mismatch> {
    let computed = hash_prepared_transaction(prepared, HashingSchemeVersion::V2)
        .map_err(Mismatch::Unhashable)?
        .prepared_transaction;
    if computed.as_bytes().as_slice() != node_hash {
        return Err(Mismatch::Hash {
            node: hex::encode(node_hash),
            computed: computed.to_hex(),
        });
    }
    Ok(computed)
}
