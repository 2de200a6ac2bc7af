//! Every official V2 vector in `specs/canton/test-vectors/`, reproduced: Canton 3.4.11's unit
//! vectors (values, nodes, transaction, metadata, input contracts, final hash), the fixture as a
//! serialized PreparedTransaction, and the Wallet SDK's two real prepared transactions.

mod common;

use canton_interactive::proto::value::Sum;
use canton_interactive::proto::{
    Enum, GenMap, GenMapEntry, Identifier, InputContractVersion, List, Optional,
    PreparedTransaction, Record, RecordField, TextMap, TextMapEntry, Value, Variant,
};
use canton_interactive::{
    Hash, HashingSchemeVersion, decode_prepared_transaction, hash_prepared_transaction,
    hashing_details, v2,
};
use common::{FIXTURE, UNIT_VECTORS, WALLET_SDK, base64, load, str_field};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

fn fixture() -> Option<(Json, PreparedTransaction)> {
    let json = load(FIXTURE)?;
    let bytes = base64(str_field(&json, "prepared_transaction_base64"));
    let prepared = decode_prepared_transaction(&bytes).unwrap();
    Some((json, prepared))
}

fn text(s: &str) -> Value {
    Value::of(Sum::Text(s.to_string()))
}

fn int64(i: i64) -> Value {
    Value::of(Sum::Int64(i))
}

/// `defRef("module", "name")` of Canton's ValueHashTest.
fn def_ref() -> Option<Identifier> {
    Some(Identifier {
        package_id: "package".into(),
        module_name: "module".into(),
        entity_name: "name".into(),
    })
}

/// The Scala inputs of ValueHashTest, as Ledger API values.
fn unit_vector_value(name: &str) -> Option<Value> {
    let sum = match name {
        "value_unit" => Sum::Unit(()),
        "value_true" => Sum::Bool(true),
        "value_false" => Sum::Bool(false),
        "value_text" => Sum::Text("hello world!".into()),
        "value_numeric" => Sum::Numeric("125.1002".into()),
        "value_contract_id" => Sum::ContractId(
            "0059b59ad7a6b6066e77b91ced54b8282f0e24e7089944685cb8f22f32fcbc4e1b".into(),
        ),
        "value_enum" => Sum::Enum(Enum {
            enum_id: def_ref(),
            constructor: "ENUM".into(),
        }),
        "value_int64" => Sum::Int64(10),
        "value_variant" => Sum::Variant(Variant {
            variant_id: def_ref(),
            constructor: "ENUM".into(),
            value: Some(Box::new(Value::of(Sum::Bool(true)))),
        }),
        "value_list" => Sum::List(List {
            elements: vec![text("five"), int64(5), Value::of(Sum::Bool(true))],
        }),
        // SortedLookupList: entries in key order.
        "value_text_map" => Sum::TextMap(TextMap {
            entries: vec![
                TextMapEntry {
                    key: "bar".into(),
                    value: Some(text("1284")),
                },
                TextMapEntry {
                    key: "foo".into(),
                    value: Some(Value::of(Sum::Numeric("31380.0".into()))),
                },
            ],
        }),
        "value_gen_map" => Sum::GenMap(GenMap {
            entries: vec![
                GenMapEntry {
                    key: Some(int64(5)),
                    value: Some(text("five")),
                },
                GenMapEntry {
                    key: Some(int64(10)),
                    value: Some(text("ten")),
                },
            ],
        }),
        "value_optional_empty" => Sum::Optional(Optional { value: None }),
        "value_optional_defined" => Sum::Optional(Optional {
            value: Some(Box::new(text("hello"))),
        }),
        // Thursday, 24 October 2024 16:43:46 UTC, in microseconds.
        "value_timestamp" => Sum::Timestamp(1_729_788_226_000_000),
        "value_date" => Sum::Date(20020),
        "value_record" => Sum::Record(Record {
            record_id: def_ref(),
            fields: vec![
                RecordField {
                    label: "field1".into(),
                    value: Some(Value::of(Sum::Bool(true))),
                },
                RecordField {
                    label: "field2".into(),
                    value: Some(text("hello")),
                },
            ],
        }),
        _ => return None,
    };
    Some(Value::of(sum))
}

/// What this crate computes for the unit vector `name` of the Canton fixture `prepared`.
fn unit_vector_hash(name: &str, prepared: &PreparedTransaction) -> Hash {
    if let Some(value) = unit_vector_value(name) {
        return Hash(Sha256::digest(v2::encode_value(&value).unwrap()).into());
    }
    let tx = prepared.transaction.as_ref().unwrap();
    let metadata = prepared.metadata.as_ref().unwrap();
    let input_contract = |i: usize| {
        let Some(InputContractVersion::V1(create)) = &metadata.input_contracts[i].contract else {
            panic!("input contract {i} has no v1 create");
        };
        v2::input_contract_hash(create).unwrap()
    };
    let hashes = hash_prepared_transaction(prepared, HashingSchemeVersion::V2).unwrap();
    match name {
        "node_create" => v2::node_hash(tx, "0").unwrap(),
        "node_fetch" => v2::node_hash(tx, "2").unwrap(),
        "node_exercise" => v2::node_hash(tx, "4").unwrap(),
        "node_rollback" => v2::node_hash(tx, "5").unwrap(),
        "transaction" => hashes.transaction,
        "metadata" => hashes.metadata,
        "prepared_transaction_final" => hashes.prepared_transaction,
        "metadata_input_contract_1" => input_contract(0),
        "metadata_input_contract_2" => input_contract(1),
        other => panic!("unit vector {other:?} is not covered by this test"),
    }
}

#[test]
fn every_canton_unit_vector_is_reproduced() {
    let (Some(unit), Some((_, prepared))) = (load(UNIT_VECTORS), fixture()) else {
        return;
    };
    let vectors = unit["vectors"].as_array().unwrap();
    for vector in vectors {
        let name = str_field(vector, "name");
        let expected = str_field(vector, "expected_sha256");
        assert_eq!(
            unit_vector_hash(name, &prepared).to_hex(),
            expected,
            "{name}"
        );
        // Values: the exact bytes too, not only their hash.
        if let Some(value) = unit_vector_value(name) {
            let encoding = hex::encode(v2::encode_value(&value).unwrap());
            assert_eq!(encoding, str_field(vector, "encoding_hex"), "{name}");
        }
    }
    assert_eq!(
        vectors.len(),
        26,
        "the unit vector file changed: review this test"
    );
    eprintln!(
        "{UNIT_VECTORS}: {}/{} vectors reproduced",
        vectors.len(),
        vectors.len()
    );
}

#[test]
fn canton_fixture_prepared_transaction_hashes_as_canton_does() {
    let Some((json, prepared)) = fixture() else {
        return;
    };
    let hashes = hash_prepared_transaction(&prepared, HashingSchemeVersion::V2).unwrap();
    assert_eq!(
        hashes.transaction.to_hex(),
        str_field(&json, "expected_transaction_hash_hex")
    );
    assert_eq!(
        hashes.metadata.to_hex(),
        str_field(&json, "expected_metadata_hash_hex")
    );
    assert_eq!(
        hashes.prepared_transaction.to_hex(),
        str_field(&json, "expected_prepared_transaction_hash_hex")
    );
    assert_eq!(
        str_field(&json, "hashing_scheme_version"),
        HashingSchemeVersion::V2.name()
    );
    eprintln!("{FIXTURE}: 3/3 hashes reproduced");
}

#[test]
fn canton_fixture_decodes_to_its_documented_view() {
    let Some((json, prepared)) = fixture() else {
        return;
    };
    let decoded = &json["decoded"];
    let tx = prepared.transaction.as_ref().unwrap();
    let metadata = prepared.metadata.as_ref().unwrap();
    assert_eq!(tx.version, str_field(&decoded["transaction"], "version"));
    let roots: Vec<&str> = decoded["transaction"]["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(tx.roots, roots);
    let node_ids: Vec<&str> = decoded["transaction"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| str_field(n, "node_id"))
        .collect();
    assert_eq!(
        tx.nodes
            .iter()
            .map(|n| n.node_id.as_str())
            .collect::<Vec<_>>(),
        node_ids
    );
    assert_eq!(
        metadata.synchronizer_id,
        str_field(&decoded["metadata"], "synchronizer_id")
    );
    assert_eq!(metadata.min_ledger_effective_time, Some(43690));
    assert_eq!(metadata.max_ledger_effective_time, Some(48059));
    assert_eq!(metadata.input_contracts.len(), 2);
    assert_eq!(metadata.input_contracts[1].created_at, 1_728_000_000_000);
}

#[test]
fn wallet_sdk_real_prepared_transactions_hash_as_the_participant_did() {
    let Some(wallet) = load(WALLET_SDK) else {
        return;
    };
    let vectors = wallet["vectors"].as_array().unwrap();
    for vector in vectors {
        let name = str_field(vector, "name");
        let bytes = base64(str_field(vector, "prepared_transaction_base64"));
        let prepared = decode_prepared_transaction(&bytes).unwrap();
        let hashes = hash_prepared_transaction(&prepared, HashingSchemeVersion::V2).unwrap();
        let expected = base64(str_field(
            vector,
            "expected_prepared_transaction_hash_base64",
        ));
        assert_eq!(
            hashes.prepared_transaction.as_bytes().as_slice(),
            expected,
            "{name}"
        );
        assert_eq!(
            hashes.prepared_transaction.to_hex(),
            str_field(vector, "expected_prepared_transaction_hash_hex"),
            "{name}"
        );
        let intermediates = &vector["collector_computed_intermediates"];
        assert_eq!(
            hashes.transaction.to_hex(),
            str_field(intermediates, "transaction_hash_hex"),
            "{name}"
        );
        assert_eq!(
            hashes.metadata.to_hex(),
            str_field(intermediates, "metadata_hash_hex"),
            "{name}"
        );
    }
    assert_eq!(vectors.len(), 2);
    eprintln!(
        "{WALLET_SDK}: {}/{} prepared transactions reproduced",
        vectors.len(),
        vectors.len()
    );
}

/// The hashing details list the bytes Canton's own trace lists, in the same order.
#[test]
fn hashing_details_show_the_bytes_canton_traces() {
    let (Some(unit), Some((_, prepared))) = (load(UNIT_VECTORS), fixture()) else {
        return;
    };
    let (hashes, details) = hashing_details(&prepared, HashingSchemeVersion::V2).unwrap();
    assert!(details.ends_with(&format!(
        "'{}' # Prepared Transaction Hash",
        hashes.prepared_transaction
    )));
    for vector in unit["vectors"].as_array().unwrap() {
        let name = str_field(vector, "name");
        if !matches!(
            name,
            "node_exercise" | "transaction" | "metadata" | "prepared_transaction_final"
        ) {
            continue;
        }
        let mut rest = details.as_str();
        for line in vector["trace"].as_array().unwrap() {
            let line = line.as_str().unwrap().trim();
            let Some(bytes) = line.strip_prefix('\'').and_then(|l| l.split('\'').next()) else {
                continue;
            };
            let at = rest
                .find(&format!("'{bytes}'"))
                .unwrap_or_else(|| panic!("{name}: {line} missing or out of order"));
            rest = &rest[at + bytes.len() + 2..];
        }
    }
}
