//! Loading the official vectors from `../shared/specs/canton/test-vectors` (never copied into the
//! repository). Missing folder: the test says SKIPPED, except under CI=true, where it fails.

#![allow(dead_code)]

use std::path::PathBuf;

use base64::Engine;
use serde_json::Value as Json;

/// `../shared` of the checkout (`CARGO_MANIFEST_DIR/../../../shared`); from a git worktree nested
/// deeper, the nearest ancestor's `shared/` that has the vectors.
pub fn vectors_dir() -> Option<PathBuf> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sub = "shared/specs/canton/test-vectors";
    let canonical = crate_dir.join("../../..").join(sub);
    let found = std::iter::once(canonical.clone())
        .chain(crate_dir.ancestors().map(|dir| dir.join(sub)))
        .find(|dir| dir.is_dir());
    if found.is_some() {
        return found;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing {}",
        canonical.display()
    );
    eprintln!("SKIPPED: missing {}", canonical.display());
    None
}

/// The JSON vector file `name`, or `None` (SKIPPED) when the folder is missing.
pub fn load(name: &str) -> Option<Json> {
    let path = vectors_dir()?.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(serde_json::from_str(&text).unwrap())
}

pub fn base64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

pub fn str_field<'a>(json: &'a Json, field: &str) -> &'a str {
    json[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {json}"))
}

pub const UNIT_VECTORS: &str = "canton-3.4.11-hash-v2-unit-vectors.json";
pub const FIXTURE: &str = "canton-3.4.11-fixture-prepared-transaction.json";
pub const WALLET_SDK: &str = "wallet-sdk-prepared-transactions.json";

/// The prepared transaction bytes of every vector file that has some: (name, bytes).
pub fn real_prepared_transactions() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Some(fixture) = load(FIXTURE) {
        out.push((
            "fixture".to_string(),
            base64(str_field(&fixture, "prepared_transaction_base64")),
        ));
    }
    if let Some(wallet) = load(WALLET_SDK) {
        for vector in wallet["vectors"].as_array().unwrap() {
            let bytes = base64(str_field(vector, "prepared_transaction_base64"));
            out.push((str_field(vector, "name").to_string(), bytes));
        }
    }
    out
}

use canton_interactive::proto::value::Sum;
use canton_interactive::proto::{
    DamlTransaction, Identifier, InputContract, InputContractVersion, Metadata, Node, NodeSeed,
    PreparedTransaction, SubmitterInfo, Value, VersionedNode, v1,
};

pub const CID_A: &str = "00aa0000000000000000000000000000000000000000000000000000000000000001";
pub const CID_B: &str = "00bb0000000000000000000000000000000000000000000000000000000000000002";

fn template() -> Option<Identifier> {
    Some(Identifier {
        package_id: "pkg".into(),
        module_name: "Splice.Amulet".into(),
        entity_name: "Amulet".into(),
    })
}

pub fn create(contract_id: &str, owner: &str) -> v1::Create {
    v1::Create {
        lf_version: "2.1".into(),
        contract_id: contract_id.into(),
        package_name: "splice-amulet".into(),
        template_id: template(),
        argument: Some(Value::of(Sum::Party(owner.into()))),
        signatories: vec![owner.into()],
        stakeholders: vec![owner.into()],
    }
}

pub fn exercise(contract_id: &str, children: &[&str]) -> v1::Exercise {
    v1::Exercise {
        lf_version: "2.1".into(),
        contract_id: contract_id.into(),
        package_name: "splice-amulet".into(),
        template_id: template(),
        signatories: vec!["treasury".into()],
        stakeholders: vec!["treasury".into()],
        acting_parties: vec!["treasury".into()],
        interface_id: None,
        choice_id: "Transfer".into(),
        chosen_value: Some(Value::of(Sum::Numeric("10.0000000000".into()))),
        consuming: true,
        children: children.iter().map(|c| c.to_string()).collect(),
        exercise_result: None,
        choice_observers: vec![],
    }
}

pub fn node(id: &str, node_type: v1::NodeType) -> Node {
    Node {
        node_id: id.into(),
        versioned_node: Some(VersionedNode::V1(v1::Node {
            node_type: Some(node_type),
        })),
    }
}

pub fn seed(node_id: i32) -> NodeSeed {
    NodeSeed {
        node_id,
        seed: vec![node_id as u8; 32],
    }
}

/// A small transaction built in code: exercise 0 (archiving CID_A) creates node 1 for "receiver";
/// one input contract. Needs no vector file.
pub fn sample() -> PreparedTransaction {
    PreparedTransaction {
        transaction: Some(DamlTransaction {
            version: "2.1".into(),
            roots: vec!["0".into()],
            nodes: vec![
                node("0", v1::NodeType::Exercise(exercise(CID_A, &["1"]))),
                node("1", v1::NodeType::Create(create(CID_B, "receiver"))),
            ],
            node_seeds: vec![seed(0), seed(1)],
        }),
        metadata: Some(Metadata {
            submitter_info: Some(SubmitterInfo {
                act_as: vec!["treasury".into()],
                command_id: "cmd-1".into(),
            }),
            synchronizer_id: "global-domain::1220".into(),
            mediator_group: 0,
            transaction_uuid: "94bdbaf5-0b2c-40bc-96cd-c3c9a9d847d2".into(),
            preparation_time: 1_758_831_019_406_201,
            input_contracts: vec![InputContract {
                contract: Some(InputContractVersion::V1(create(CID_A, "treasury"))),
                created_at: 1_758_000_000_000_000,
                event_blob: vec![1, 2, 3],
            }],
            global_key_mapping: vec![],
            min_ledger_effective_time: None,
            max_ledger_effective_time: None,
            max_record_time: None,
        }),
    }
}

pub fn tx_mut(prepared: &mut PreparedTransaction) -> &mut DamlTransaction {
    prepared.transaction.as_mut().unwrap()
}

pub fn metadata_mut(prepared: &mut PreparedTransaction) -> &mut Metadata {
    prepared.metadata.as_mut().unwrap()
}
