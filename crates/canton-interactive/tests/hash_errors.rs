//! Transactions a participant would not produce (or would refuse to hash) get a typed error, never
//! a hash and never a panic; V2 hashes exactly the fields it should.

mod common;

use canton_interactive::proto::value::Sum;
use canton_interactive::proto::{GlobalKeyMappingEntry, Optional, Value, v1};
use canton_interactive::proto::{Record, RecordField};
use canton_interactive::{
    HashError, HashingSchemeVersion, PreparedTransaction, PreparedTransactionHashes,
    hash_prepared_transaction, v2,
};
use common::*;

fn hash(prepared: &PreparedTransaction) -> Result<PreparedTransactionHashes, HashError> {
    hash_prepared_transaction(prepared, HashingSchemeVersion::V2)
}

fn exercise_node_mut(prepared: &mut PreparedTransaction) -> &mut v1::Exercise {
    let node = &mut tx_mut(prepared).nodes[0];
    let Some(canton_interactive::proto::VersionedNode::V1(v1::Node {
        node_type: Some(v1::NodeType::Exercise(exercise)),
    })) = &mut node.versioned_node
    else {
        panic!("node 0 of the sample is an exercise");
    };
    exercise
}

#[test]
fn the_sample_hashes() {
    hash(&sample()).unwrap();
}

#[test]
fn a_node_that_is_its_own_descendant_is_refused() {
    let mut prepared = sample();
    exercise_node_mut(&mut prepared).children = vec!["1".into(), "0".into()];
    assert_eq!(hash(&prepared), Err(HashError::NodeCycle("0".into())));
}

#[test]
fn a_child_that_is_not_in_the_transaction_is_refused() {
    let mut prepared = sample();
    exercise_node_mut(&mut prepared).children = vec!["7".into()];
    assert_eq!(hash(&prepared), Err(HashError::MissingNode("7".into())));
}

#[test]
fn a_node_no_root_reaches_is_refused_as_the_hash_would_not_cover_it() {
    let mut prepared = sample();
    tx_mut(&mut prepared)
        .nodes
        .push(node("9", v1::NodeType::Create(create(CID_B, "thief"))));
    assert_eq!(hash(&prepared), Err(HashError::UnreachableNode("9".into())));
}

#[test]
fn missing_duplicate_or_short_seeds_are_refused() {
    let mut no_exercise_seed = sample();
    tx_mut(&mut no_exercise_seed)
        .node_seeds
        .retain(|s| s.node_id != 0);
    assert_eq!(
        hash(&no_exercise_seed),
        Err(HashError::MissingNodeSeed("0".into()))
    );

    let mut no_create_seed = sample();
    tx_mut(&mut no_create_seed)
        .node_seeds
        .retain(|s| s.node_id != 1);
    assert_eq!(
        hash(&no_create_seed),
        Err(HashError::MissingNodeSeed("1".into()))
    );

    let mut twice = sample();
    tx_mut(&mut twice).node_seeds.push(seed(1));
    assert_eq!(hash(&twice), Err(HashError::DuplicateNodeSeed(1)));

    let mut short = sample();
    tx_mut(&mut short).node_seeds[0].seed.pop();
    assert_eq!(
        hash(&short),
        Err(HashError::InvalidNodeSeed {
            node_id: 0,
            len: 31
        })
    );
}

#[test]
fn a_duplicate_node_id_is_refused() {
    let mut prepared = sample();
    tx_mut(&mut prepared)
        .nodes
        .push(node("1", v1::NodeType::Create(create(CID_A, "x"))));
    assert_eq!(hash(&prepared), Err(HashError::DuplicateNode("1".into())));
}

#[test]
fn a_contract_id_that_is_not_hex_is_refused() {
    let mut prepared = sample();
    exercise_node_mut(&mut prepared).contract_id = "00zz".into();
    assert_eq!(
        hash(&prepared),
        Err(HashError::InvalidContractId("00zz".into()))
    );
}

#[test]
fn lf_versions_v2_does_not_cover_are_refused() {
    let mut tx_version = sample();
    tx_mut(&mut tx_version).version = "2.dev".into();
    assert_eq!(
        hash(&tx_version),
        Err(HashError::UnsupportedLfVersion("2.dev".into()))
    );

    let mut node_version = sample();
    exercise_node_mut(&mut node_version).lf_version = "2.2".into();
    assert_eq!(
        hash(&node_version),
        Err(HashError::UnsupportedLfVersion("2.2".into()))
    );
}

#[test]
fn missing_required_fields_are_named() {
    let mut no_metadata = sample();
    no_metadata.metadata = None;
    assert_eq!(
        hash(&no_metadata),
        Err(HashError::MissingField("PreparedTransaction.metadata"))
    );

    let mut no_submitter = sample();
    metadata_mut(&mut no_submitter).submitter_info = None;
    assert_eq!(
        hash(&no_submitter),
        Err(HashError::MissingField("Metadata.submitter_info"))
    );

    let mut no_value = sample();
    exercise_node_mut(&mut no_value).chosen_value = Some(Value { sum: None });
    assert_eq!(hash(&no_value), Err(HashError::MissingField("Value.sum")));

    let mut no_node_type = sample();
    tx_mut(&mut no_node_type).nodes[1].versioned_node =
        Some(canton_interactive::proto::VersionedNode::V1(v1::Node {
            node_type: None,
        }));
    assert_eq!(
        hash(&no_node_type),
        Err(HashError::MissingField("Node.node_type"))
    );
}

/// A chain of exercises deeper than MAX_NODE_DEPTH: an error, not a stack overflow.
#[test]
fn a_node_chain_deeper_than_the_bound_is_refused_without_overflowing() {
    let chain = |depth: usize| {
        let mut prepared = sample();
        let tx = tx_mut(&mut prepared);
        tx.nodes.clear();
        tx.node_seeds.clear();
        for i in 0..depth {
            let next = (i + 1).to_string();
            let children: Vec<&str> = if i + 1 < depth {
                vec![next.as_str()]
            } else {
                vec![]
            };
            tx.nodes.push(node(
                &i.to_string(),
                v1::NodeType::Exercise(exercise(CID_A, &children)),
            ));
            tx.node_seeds.push(seed(i as i32));
        }
        prepared
    };
    hash(&chain(v2::MAX_NODE_DEPTH)).unwrap();
    assert_eq!(
        hash(&chain(v2::MAX_NODE_DEPTH + 1)),
        Err(HashError::NodeTreeTooDeep(v2::MAX_NODE_DEPTH))
    );
}

#[test]
fn a_value_nested_deeper_than_daml_allows_is_refused() {
    let nested = |depth: usize| {
        (0..depth).fold(Value::of(Sum::Unit(())), |inner, _| {
            Value::of(Sum::Optional(Optional {
                value: Some(Box::new(inner)),
            }))
        })
    };
    v2::encode_value(&nested(v2::MAX_VALUE_DEPTH)).unwrap();
    assert_eq!(
        v2::encode_value(&nested(v2::MAX_VALUE_DEPTH + 1)),
        Err(HashError::ValueTooDeep(v2::MAX_VALUE_DEPTH))
    );
}

#[test]
fn only_v2_is_offered() {
    assert_eq!(
        HashingSchemeVersion::from_proto(2),
        Ok(HashingSchemeVersion::V2)
    );
    for unsupported in [0, 1, 3, -1] {
        assert_eq!(
            HashingSchemeVersion::from_proto(unsupported),
            Err(HashError::UnsupportedHashingScheme(unsupported))
        );
    }
    assert_eq!(HashingSchemeVersion::V2.to_proto(), 2);
}

/// Collector note 4: max_record_time, global_key_mapping and event_blob are not hashed by V2.
#[test]
fn fields_v2_does_not_hash_leave_the_hash_alone() {
    let before = hash(&sample()).unwrap();
    let mut prepared = sample();
    let metadata = metadata_mut(&mut prepared);
    metadata.max_record_time = Some(1);
    metadata.global_key_mapping.push(GlobalKeyMappingEntry {
        key: None,
        value: None,
    });
    metadata.input_contracts[0].event_blob = vec![9; 64];
    assert_eq!(hash(&prepared).unwrap(), before);
}

type Edit = fn(&mut PreparedTransaction);

/// Every signed metadata field moves the metadata hash (and the final one), and nothing else.
#[test]
fn every_signed_metadata_field_changes_the_hash() {
    let before = hash(&sample()).unwrap();
    let edits: Vec<(&str, Edit)> = vec![
        ("act_as", |p| {
            metadata_mut(p)
                .submitter_info
                .as_mut()
                .unwrap()
                .act_as
                .push("other".into())
        }),
        ("command_id", |p| {
            metadata_mut(p)
                .submitter_info
                .as_mut()
                .unwrap()
                .command_id
                .push('x')
        }),
        ("synchronizer_id", |p| {
            metadata_mut(p).synchronizer_id.push('x')
        }),
        ("mediator_group", |p| metadata_mut(p).mediator_group = 1),
        ("transaction_uuid", |p| {
            metadata_mut(p).transaction_uuid.push('x')
        }),
        ("preparation_time", |p| {
            metadata_mut(p).preparation_time += 1
        }),
        ("min_ledger_effective_time", |p| {
            metadata_mut(p).min_ledger_effective_time = Some(0)
        }),
        ("max_ledger_effective_time", |p| {
            metadata_mut(p).max_ledger_effective_time = Some(0)
        }),
        ("input created_at", |p| {
            metadata_mut(p).input_contracts[0].created_at += 1
        }),
        ("input contract", |p| {
            metadata_mut(p).input_contracts.clear()
        }),
    ];
    for (field, edit) in edits {
        let mut prepared = sample();
        edit(&mut prepared);
        let after = hash(&prepared).unwrap();
        assert_eq!(after.transaction, before.transaction, "{field}");
        assert_ne!(after.metadata, before.metadata, "{field}");
        assert_ne!(
            after.prepared_transaction, before.prepared_transaction,
            "{field}"
        );
    }
}

/// A tampered child (another receiver) changes the transaction hash through the parent.
#[test]
fn a_changed_child_node_changes_the_transaction_hash() {
    let before = hash(&sample()).unwrap();
    let mut prepared = sample();
    tx_mut(&mut prepared).nodes[1] = node("1", v1::NodeType::Create(create(CID_B, "thief")));
    let after = hash(&prepared).unwrap();
    assert_ne!(after.transaction, before.transaction);
    assert_eq!(after.metadata, before.metadata);
}

/// A Daml label is never empty: the empty proto label is the absent one (`0x00`), a present one
/// is `0x01 || string`.
#[test]
fn an_empty_record_label_is_hashed_as_absent() {
    let record = |label: &str| {
        Value::of(Sum::Record(Record {
            record_id: None,
            fields: vec![RecordField {
                label: label.into(),
                value: Some(Value::of(Sum::Unit(()))),
            }],
        }))
    };
    assert_eq!(
        hex::encode(v2::encode_value(&record("")).unwrap()),
        "0c00000000010000"
    );
    assert_eq!(
        hex::encode(v2::encode_value(&record("a")).unwrap()),
        "0c000000000101000000016100"
    );
}
