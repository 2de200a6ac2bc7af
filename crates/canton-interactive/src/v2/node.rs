//! V2 node hashes (spec "Transaction" / "Node"): each node is encoded with its seed and its
//! children's hashes, then `sha_256`'d with no hash purpose. A node is found by its id, hashed once
//! (a node may be referenced twice, as in Canton's own fixture) and never inside itself.

use std::collections::{HashMap, HashSet};

use super::check_lf_version;
use super::encoder::Encoder;
use super::value::{encode_value, required};
use crate::Hash;
use crate::error::HashError;
use crate::proto::v1::{self, NodeType};
use crate::proto::{DamlTransaction, VersionedNode};

/// How deep exercise/rollback nodes may nest. Real transactions stay far below; the bound keeps a
/// hostile chain of nodes from overflowing the stack.
pub const MAX_NODE_DEPTH: usize = 250;

/// The node encoding version that starts every V2 node.
const NODE_ENCODING_VERSION: u8 = 0x01;

/// Hashes the nodes of one transaction, looking them up by id.
pub(crate) struct NodeHasher<'a> {
    nodes: HashMap<&'a str, &'a v1::Node>,
    seeds: HashMap<String, &'a [u8]>,
    seed_ids: HashMap<String, i32>,
    memo: HashMap<&'a str, Hash>,
    in_progress: HashSet<&'a str>,
    traced: bool,
    /// When traced: one block per node hashed, children first.
    pub(crate) details: Vec<String>,
}

impl<'a> NodeHasher<'a> {
    pub(crate) fn new(tx: &'a DamlTransaction, traced: bool) -> Result<Self, HashError> {
        let mut nodes = HashMap::new();
        for node in &tx.nodes {
            let VersionedNode::V1(v1) = node.versioned_node.as_ref().ok_or(
                HashError::MissingField("DamlTransaction.Node.versioned_node"),
            )?;
            if nodes.insert(node.node_id.as_str(), v1).is_some() {
                return Err(HashError::DuplicateNode(node.node_id.clone()));
            }
        }
        let mut seeds = HashMap::new();
        let mut seed_ids = HashMap::new();
        for seed in &tx.node_seeds {
            let key = seed.node_id.to_string();
            if seeds.insert(key.clone(), seed.seed.as_slice()).is_some() {
                return Err(HashError::DuplicateNodeSeed(seed.node_id));
            }
            seed_ids.insert(key, seed.node_id);
        }
        Ok(NodeHasher {
            nodes,
            seeds,
            seed_ids,
            memo: HashMap::new(),
            in_progress: HashSet::new(),
            traced,
            details: Vec::new(),
        })
    }

    /// Node ids that no root reaches. Their content is not covered by the hash, so a signer must
    /// not accept them (call after hashing the roots).
    pub(crate) fn unreachable(&self) -> Option<&'a str> {
        let mut ids: Vec<&'a str> = self.nodes.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().find(|id| !self.memo.contains_key(id))
    }

    /// `sha_256(encode_node(node))` of the node with this id.
    pub(crate) fn node_hash(&mut self, node_id: &'a str) -> Result<Hash, HashError> {
        if let Some(hash) = self.memo.get(node_id) {
            return Ok(*hash);
        }
        let node = *self
            .nodes
            .get(node_id)
            .ok_or_else(|| HashError::MissingNode(node_id.to_string()))?;
        if self.in_progress.len() >= MAX_NODE_DEPTH {
            return Err(HashError::NodeTreeTooDeep(MAX_NODE_DEPTH));
        }
        if !self.in_progress.insert(node_id) {
            return Err(HashError::NodeCycle(node_id.to_string()));
        }
        let enc = self.encode_node(node_id, node)?;
        self.in_progress.remove(node_id);
        let hash = enc.sha256();
        if self.traced {
            let (_, lines) = enc.into_parts();
            self.details.push(format!("# Node {node_id}"));
            self.details
                .extend(lines.into_iter().map(|line| format!("  {line}")));
            self.details
                .push(format!("'{hash}' # sha256 of node {node_id}"));
        }
        self.memo.insert(node_id, hash);
        Ok(hash)
    }

    fn encode_node(&mut self, node_id: &str, node: &'a v1::Node) -> Result<Encoder, HashError> {
        let mut enc = Encoder::new(self.traced);
        match node
            .node_type
            .as_ref()
            .ok_or(HashError::MissingField("Node.node_type"))?
        {
            NodeType::Create(create) => {
                let seed = self.seed(node_id)?;
                encode_create(&mut enc, create, Some(seed))?;
            }
            NodeType::Exercise(exercise) => self.encode_exercise(&mut enc, node_id, exercise)?,
            NodeType::Fetch(fetch) => encode_fetch(&mut enc, fetch)?,
            NodeType::Rollback(rollback) => {
                enc.tag(NODE_ENCODING_VERSION, "Node Encoding Version");
                enc.section("Rollback Node");
                enc.tag(0x03, "Rollback Node Tag");
                self.children(&mut enc, &rollback.children)?;
            }
        }
        Ok(enc)
    }

    /// The seed of a create or exercise node: required, 32 bytes.
    fn seed(&self, node_id: &str) -> Result<&'a [u8], HashError> {
        let seed = *self
            .seeds
            .get(node_id)
            .ok_or_else(|| HashError::MissingNodeSeed(node_id.to_string()))?;
        if seed.len() != 32 {
            let node_id = self.seed_ids[node_id];
            return Err(HashError::InvalidNodeSeed {
                node_id,
                len: seed.len(),
            });
        }
        Ok(seed)
    }

    fn encode_exercise(
        &mut self,
        enc: &mut Encoder,
        node_id: &str,
        exercise: &'a v1::Exercise,
    ) -> Result<(), HashError> {
        node_header(enc, &exercise.lf_version, "Exercise", 0x01)?;
        enc.section("Node Seed");
        enc.raw(self.seed(node_id)?, || "seed".to_string());
        contract_header(
            enc,
            &exercise.contract_id,
            &exercise.package_name,
            &exercise.template_id,
        )?;
        parties(enc, "Signatories", &exercise.signatories)?;
        parties(enc, "Stakeholders", &exercise.stakeholders)?;
        parties(enc, "Acting Parties", &exercise.acting_parties)?;
        enc.section("Interface Id");
        enc.optional(exercise.interface_id.as_ref(), |enc, id| enc.identifier(id))?;
        enc.section("Choice Id");
        enc.string(&exercise.choice_id)?;
        enc.section("Chosen Value");
        encode_value(
            enc,
            required(&exercise.chosen_value, "Exercise.chosen_value")?,
            0,
        )?;
        enc.section("Consuming");
        enc.bool(exercise.consuming);
        enc.section("Exercise Result");
        enc.optional(exercise.exercise_result.as_ref(), |enc, v| {
            encode_value(enc, v, 0)
        })?;
        parties(enc, "Choice Observers", &exercise.choice_observers)?;
        self.children(enc, &exercise.children)
    }

    /// `repeated node_id`, each encoded as the hash of the node it names.
    fn children(&mut self, enc: &mut Encoder, children: &'a [String]) -> Result<(), HashError> {
        enc.section("Children");
        enc.len(children.len())?;
        for child in children {
            let hash = self.node_hash(child)?;
            enc.hash(&hash, "(Hashed Inner Node)");
        }
        Ok(())
    }
}

/// A create node; `seed` is `None` for an input contract (metadata), `Some` in the transaction.
pub(crate) fn encode_create(
    enc: &mut Encoder,
    create: &v1::Create,
    seed: Option<&[u8]>,
) -> Result<(), HashError> {
    node_header(enc, &create.lf_version, "Create", 0x00)?;
    enc.section("Node Seed");
    enc.optional(seed, |enc, seed| {
        enc.raw(seed, || "node seed".to_string());
        Ok(())
    })?;
    contract_header(
        enc,
        &create.contract_id,
        &create.package_name,
        &create.template_id,
    )?;
    enc.section("Arg");
    encode_value(enc, required(&create.argument, "Create.argument")?, 0)?;
    parties(enc, "Signatories", &create.signatories)?;
    parties(enc, "Stakeholders", &create.stakeholders)
}

fn encode_fetch(enc: &mut Encoder, fetch: &v1::Fetch) -> Result<(), HashError> {
    node_header(enc, &fetch.lf_version, "Fetch", 0x02)?;
    contract_header(
        enc,
        &fetch.contract_id,
        &fetch.package_name,
        &fetch.template_id,
    )?;
    parties(enc, "Signatories", &fetch.signatories)?;
    parties(enc, "Stakeholders", &fetch.stakeholders)?;
    enc.section("Interface Id");
    enc.optional(fetch.interface_id.as_ref(), |enc, id| enc.identifier(id))?;
    parties(enc, "Acting Parties", &fetch.acting_parties)
}

/// Node encoding version, LF version and node tag.
fn node_header(enc: &mut Encoder, lf_version: &str, kind: &str, tag: u8) -> Result<(), HashError> {
    check_lf_version(lf_version)?;
    enc.tag(NODE_ENCODING_VERSION, "Node Encoding Version");
    enc.section(&format!("{kind} Node"));
    enc.section("Node Version");
    enc.string(lf_version)?;
    enc.tag(tag, &format!("{kind} Node Tag"));
    Ok(())
}

/// Contract id, package name and template id, common to create, exercise and fetch.
fn contract_header(
    enc: &mut Encoder,
    contract_id: &str,
    package_name: &str,
    template_id: &Option<crate::proto::Identifier>,
) -> Result<(), HashError> {
    enc.section("Contract Id");
    enc.contract_id(contract_id)?;
    enc.section("Package Name");
    enc.string(package_name)?;
    enc.section("Template Id");
    enc.identifier(required(template_id, "template_id")?)
}

fn parties(enc: &mut Encoder, name: &str, parties: &[String]) -> Result<(), HashError> {
    enc.section(name);
    enc.strings(parties)
}
