//! The `PreparedTransaction` protobuf (`canton-interactive`) of a transaction the sandbox would
//! commit, as a Canton 3.4 participant's `prepare` builds it: every node of the tree (creates,
//! exercises and fetches, numbered in pre-order), LF version `2.1`, a seed for each create and
//! exercise, and the metadata (submitter, synchronizer, transaction uuid, preparation time,
//! ledger-time bounds, the input contracts with their create nodes and creation times).
//!
//! As on a real node, contracts created by the transaction carry their unsuffixed (local) id,
//! `00` + the 32-byte discriminator: the suffix is only known once the transaction is committed.
//! Pure.

use std::collections::{BTreeMap, BTreeSet};

use canton_interactive::proto::{self, v1, value::Sum};
use exchange_core::Timestamp;
use sha2::{Digest, Sha256};

use crate::daml::Value;
use crate::model::{ContractRecord, Create, Exercise, Fetch, Identifier, Ledger, Node};

/// The serialization (LF) version of every node the sandbox prepares (the one V2 covers).
pub const LF_VERSION: &str = "2.1";

/// A local contract id's length: `00` and 32 bytes of discriminator, in hex.
const LOCAL_CONTRACT_ID_LEN: usize = 66;

/// Who prepared what, where and when: the metadata besides the nodes.
#[derive(Debug, Clone)]
pub struct PreparedMeta {
    pub act_as: Vec<String>,
    pub command_id: String,
    pub synchronizer_id: String,
    pub transaction_uuid: String,
    pub preparation_time: Timestamp,
    pub min_ledger_effective_time: Option<Timestamp>,
    pub max_ledger_effective_time: Option<Timestamp>,
    pub max_record_time: Option<Timestamp>,
}

/// Builds the prepared transaction of `roots` (the full tree a submission produced), reading
/// input contracts from `ledger` as it was before the submission.
pub fn build(ledger: &Ledger, roots: &[Node], meta: &PreparedMeta) -> proto::PreparedTransaction {
    let mut builder = Builder {
        ledger,
        uuid: &meta.transaction_uuid,
        created: BTreeMap::new(),
        inputs: BTreeMap::new(),
        nodes: Vec::new(),
        seeds: Vec::new(),
    };
    collect_created(roots, &mut builder.created);
    let root_ids = roots.iter().map(|n| builder.visit(n)).collect();
    let Builder {
        nodes,
        seeds,
        inputs,
        ..
    } = builder;
    let micros = |t: Timestamp| t.micros().max(0) as u64;
    proto::PreparedTransaction {
        transaction: Some(proto::DamlTransaction {
            version: LF_VERSION.to_owned(),
            roots: root_ids,
            nodes,
            node_seeds: seeds,
        }),
        metadata: Some(proto::Metadata {
            submitter_info: Some(proto::SubmitterInfo {
                act_as: meta.act_as.clone(),
                command_id: meta.command_id.clone(),
            }),
            synchronizer_id: meta.synchronizer_id.clone(),
            mediator_group: 0,
            transaction_uuid: meta.transaction_uuid.clone(),
            preparation_time: micros(meta.preparation_time),
            input_contracts: inputs.into_values().map(input_contract).collect(),
            global_key_mapping: vec![],
            min_ledger_effective_time: meta.min_ledger_effective_time.map(micros),
            max_ledger_effective_time: meta.max_ledger_effective_time.map(micros),
            max_record_time: meta.max_record_time.map(micros),
        }),
    }
}

/// The contracts the tree creates, by full id, with the create that made them.
fn collect_created(nodes: &[Node], out: &mut BTreeMap<String, Create>) {
    for node in nodes {
        match node {
            Node::Create(c) => {
                out.insert(c.contract_id.clone(), c.clone());
            }
            Node::Exercise(e) => collect_created(&e.children, out),
            Node::Fetch(_) => {}
        }
    }
}

struct Builder<'a> {
    ledger: &'a Ledger,
    uuid: &'a str,
    /// Contracts created by this transaction (their ids are written unsuffixed).
    created: BTreeMap<String, Create>,
    /// Contracts used but not created here, by id.
    inputs: BTreeMap<String, ContractRecord>,
    nodes: Vec<proto::Node>,
    seeds: Vec<proto::NodeSeed>,
}

impl Builder<'_> {
    /// Adds `node` and its descendants in pre-order; returns its node id.
    fn visit(&mut self, node: &Node) -> String {
        let id = self.nodes.len() as i32;
        // Reserve the slot so children number after their parent.
        self.nodes.push(proto::Node {
            node_id: id.to_string(),
            versioned_node: None,
        });
        let node_type = match node {
            Node::Create(c) => {
                self.seed(id);
                v1::NodeType::Create(self.create(c))
            }
            Node::Exercise(e) => {
                self.seed(id);
                v1::NodeType::Exercise(self.exercise(e))
            }
            Node::Fetch(f) => v1::NodeType::Fetch(self.fetch(f)),
        };
        self.nodes[id as usize].versioned_node = Some(proto::VersionedNode::V1(v1::Node {
            node_type: Some(node_type),
        }));
        id.to_string()
    }

    /// A deterministic 32-byte seed per transaction and node (a real node derives it from
    /// the submission seed; only uniqueness matters to the hash).
    fn seed(&mut self, node_id: i32) {
        let mut h = Sha256::new();
        h.update(b"canton-sandbox node seed\0");
        h.update(self.uuid.as_bytes());
        h.update(node_id.to_be_bytes());
        self.seeds.push(proto::NodeSeed {
            node_id,
            seed: h.finalize().to_vec(),
        });
    }

    fn create(&self, c: &Create) -> v1::Create {
        create_node(c, &|cid| self.cid(cid))
    }

    /// The contract a node acts on, recording it as an input when not created here.
    fn target(&mut self, contract_id: &str) -> Option<Create> {
        if let Some(c) = self.created.get(contract_id) {
            return Some(c.clone());
        }
        let record = self.ledger.contract(contract_id)?;
        let create = record.create.clone();
        self.inputs.insert(contract_id.to_owned(), record);
        Some(create)
    }

    fn exercise(&mut self, e: &Exercise) -> v1::Exercise {
        let contract = self.target(&e.contract_id);
        let children = e.children.iter().map(|c| self.visit(c)).collect();
        let (template, signatories, stakeholders) = contract_parties(contract.as_ref());
        let package_name = template
            .as_ref()
            .map_or(String::new(), |t| t.package_name.clone());
        // A choice's argument is the record named after it, in the module that declares it
        // (`Archive`'s lives in the standard library, which the sandbox does not name).
        let declaring = (e.choice != "Archive")
            .then(|| e.interface.as_ref().or(template.as_ref()))
            .flatten();
        let choice_record = declaring.map(|t| proto::Identifier {
            package_id: t.package_id.clone(),
            module_name: t.module.clone(),
            entity_name: e.choice.clone(),
        });
        let map = |cid: &str| self.cid(cid);
        v1::Exercise {
            lf_version: LF_VERSION.to_owned(),
            contract_id: self.cid(&e.contract_id),
            package_name,
            template_id: template.as_ref().map(identifier),
            signatories,
            stakeholders,
            acting_parties: e.acting_parties.iter().cloned().collect(),
            interface_id: e.interface.as_ref().map(identifier),
            choice_id: e.choice.clone(),
            chosen_value: Some(value(&e.argument, choice_record, &map)),
            consuming: e.consuming,
            children,
            exercise_result: Some(value(&e.result, None, &map)),
            choice_observers: e.choice_observers.iter().cloned().collect(),
        }
    }

    fn fetch(&mut self, f: &Fetch) -> v1::Fetch {
        let contract = self.target(&f.contract_id);
        let (template, signatories, stakeholders) = contract_parties(contract.as_ref());
        v1::Fetch {
            lf_version: LF_VERSION.to_owned(),
            contract_id: self.cid(&f.contract_id),
            package_name: template
                .as_ref()
                .map_or(String::new(), |t| t.package_name.clone()),
            template_id: template.as_ref().map(identifier),
            signatories,
            stakeholders,
            acting_parties: f.acting_parties.iter().cloned().collect(),
            interface_id: None,
        }
    }

    /// A contract id as the prepared transaction writes it: unsuffixed when created here.
    fn cid(&self, contract_id: &str) -> String {
        if self.created.contains_key(contract_id) {
            local_contract_id(contract_id).to_owned()
        } else {
            contract_id.to_owned()
        }
    }
}

/// The discriminator part of a contract id (`00` + 64 hex), what a prepared transaction names a
/// contract it creates by.
pub fn local_contract_id(contract_id: &str) -> &str {
    contract_id
        .get(..LOCAL_CONTRACT_ID_LEN)
        .unwrap_or(contract_id)
}

type Parties = (Option<Identifier>, Vec<String>, Vec<String>);

/// Template, signatories and stakeholders (sorted) of a contract, if known.
fn contract_parties(contract: Option<&Create>) -> Parties {
    let Some(c) = contract else {
        return (None, vec![], vec![]);
    };
    let stakeholders: BTreeSet<&String> = c.signatories.iter().chain(&c.observers).collect();
    (
        Some(c.template.clone()),
        c.signatories.iter().cloned().collect(),
        stakeholders.into_iter().cloned().collect(),
    )
}

fn create_node(c: &Create, cid: &dyn Fn(&str) -> String) -> v1::Create {
    let stakeholders: BTreeSet<&String> = c.signatories.iter().chain(&c.observers).collect();
    v1::Create {
        lf_version: LF_VERSION.to_owned(),
        contract_id: cid(&c.contract_id),
        package_name: c.template.package_name.clone(),
        template_id: Some(identifier(&c.template)),
        argument: Some(value(&c.argument, Some(identifier(&c.template)), cid)),
        signatories: c.signatories.iter().cloned().collect(),
        stakeholders: stakeholders.into_iter().cloned().collect(),
    }
}

/// An input contract: its create node (full id) and the ledger time it was created at.
fn input_contract(record: ContractRecord) -> proto::InputContract {
    proto::InputContract {
        contract: Some(proto::InputContractVersion::V1(create_node(
            &record.create,
            &str::to_owned,
        ))),
        created_at: record.created_at.micros().max(0) as u64,
        event_blob: vec![],
    }
}

pub fn identifier(id: &Identifier) -> proto::Identifier {
    proto::Identifier {
        package_id: id.package_id.clone(),
        module_name: id.module.clone(),
        entity_name: id.entity.clone(),
    }
}

/// A Daml value as the proto writes it; `record_id` names the outermost record (the sandbox's
/// values carry no type names below it). Contract ids go through `cid`.
fn value(
    v: &Value,
    record_id: Option<proto::Identifier>,
    cid: &dyn Fn(&str) -> String,
) -> proto::Value {
    let of = |sum| proto::Value { sum: Some(sum) };
    let inner = |v: &Value| value(v, None, cid);
    of(match v {
        Value::Record(fields) => Sum::Record(proto::Record {
            record_id,
            fields: fields
                .iter()
                .map(|(label, v)| proto::RecordField {
                    label: (*label).to_owned(),
                    value: Some(inner(v)),
                })
                .collect(),
        }),
        Value::Variant(tag, payload) => Sum::Variant(proto::Variant {
            variant_id: None,
            constructor: (*tag).to_owned(),
            value: Some(Box::new(inner(payload))),
        }),
        Value::Enum(constructor) => Sum::Enum(proto::Enum {
            enum_id: None,
            constructor: (*constructor).to_owned(),
        }),
        Value::Text(s) => Sum::Text(s.clone()),
        Value::Party(s) => Sum::Party(s.clone()),
        Value::ContractId(s) => Sum::ContractId(cid(s)),
        Value::Numeric(a) => Sum::Numeric(a.to_string()),
        Value::Int64(i) => Sum::Int64(*i),
        Value::Bool(b) => Sum::Bool(*b),
        Value::Time(t) => Sum::Timestamp(t.micros()),
        Value::Unit => Sum::Unit(()),
        Value::Optional(o) => Sum::Optional(proto::Optional {
            value: o.as_ref().map(|v| Box::new(inner(v))),
        }),
        Value::List(items) => Sum::List(proto::List {
            elements: items.iter().map(inner).collect(),
        }),
        Value::TextMap(m) => Sum::TextMap(proto::TextMap {
            entries: m
                .iter()
                .map(|(k, v)| proto::TextMapEntry {
                    key: k.clone(),
                    value: Some(inner(v)),
                })
                .collect(),
        }),
        Value::GenMap(pairs) => Sum::GenMap(proto::GenMap {
            entries: pairs
                .iter()
                .map(|(k, v)| proto::GenMapEntry {
                    key: Some(inner(k)),
                    value: Some(inner(v)),
                })
                .collect(),
        }),
    })
}

/// A transaction uuid (RFC 4122 version 4 layout) derived from `seed`, so a sandbox run is
/// reproducible.
pub fn transaction_uuid(seed: &[u8]) -> String {
    let mut b: [u8; 32] = Sha256::digest(seed).into();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
