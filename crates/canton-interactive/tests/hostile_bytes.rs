//! Hostile bytes (truncated, wrong wire types, huge lengths, random mutations of real prepared
//! transactions) give typed errors, never a panic; good bytes survive decode -> encode unchanged.

mod common;

use std::sync::OnceLock;

use canton_interactive::{
    HashingSchemeVersion, decode_prepared_transaction, encode_prepared_transaction,
    hash_prepared_transaction,
};
use common::{real_prepared_transactions, sample};
use proptest::prelude::*;

/// The real prepared transactions (when the vectors are there) and the in-code sample.
fn corpus() -> &'static [(String, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut corpus = real_prepared_transactions();
        corpus.push(("sample".into(), encode_prepared_transaction(&sample())));
        corpus
    })
}

/// Decoding, re-encoding and hashing whatever decodes: any outcome but a panic.
fn decode_and_hash(bytes: &[u8]) {
    if let Ok(prepared) = decode_prepared_transaction(bytes) {
        let again = decode_prepared_transaction(&encode_prepared_transaction(&prepared)).unwrap();
        assert_eq!(again, prepared);
        let _ = hash_prepared_transaction(&prepared, HashingSchemeVersion::V2);
    }
}

/// Participants' bytes (Java protobuf, defaults omitted) re-encode byte for byte; the collector's
/// fixture spells some zero defaults out, so it re-encodes to the same message, not the same bytes.
#[test]
fn real_prepared_transactions_round_trip() {
    for (name, bytes) in corpus() {
        let prepared = decode_prepared_transaction(bytes).unwrap();
        let encoded = encode_prepared_transaction(&prepared);
        assert_eq!(
            decode_prepared_transaction(&encoded).unwrap(),
            prepared,
            "{name}"
        );
        if name != "fixture" {
            assert_eq!(&encoded, bytes, "{name}");
        }
    }
}

#[test]
fn every_truncation_is_an_error_or_a_shorter_message_never_a_panic() {
    for (name, bytes) in corpus() {
        // Cut inside the last field: that field is incomplete.
        assert!(
            decode_prepared_transaction(&bytes[..bytes.len() - 1]).is_err(),
            "{name}"
        );
        for len in 0..bytes.len() {
            decode_and_hash(&bytes[..len]);
        }
    }
}

#[test]
fn a_wrong_wire_type_is_a_typed_error() {
    for (name, bytes) in corpus() {
        let mut wrong = bytes.clone();
        assert_eq!(wrong[0], 0x0a, "{name}: field 1, length-delimited");
        wrong[0] = 0x0d; // field 1 as fixed32
        let err = decode_prepared_transaction(&wrong).unwrap_err();
        assert!(err.to_string().contains("wire type"), "{name}: {err}");
    }
}

#[test]
fn huge_lengths_are_typed_errors() {
    let cases: [&[u8]; 4] = [
        // transaction of 2^31 - 1 bytes, none present
        &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x07],
        // a length varint longer than 10 bytes
        &[
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        // u64::MAX as a length
        &[
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        // a nested node list claiming 2^28 bytes inside a 6-byte transaction
        &[0x0a, 0x06, 0x1a, 0x80, 0x80, 0x80, 0x80, 0x01],
    ];
    for bytes in cases {
        assert!(decode_prepared_transaction(bytes).is_err(), "{bytes:02x?}");
    }
}

/// Nesting past prost's limit of 100 messages (Java's parser has the same) is refused.
#[test]
fn nesting_past_the_recursion_limit_is_a_typed_error() {
    // Value.optional(10) -> Optional.value(1) -> Value ... wrapped in a create argument.
    let mut value: Vec<u8> = vec![0x0a, 0x00]; // Value { unit: Empty }
    for _ in 0..80 {
        let optional = [vec![0x0a], varint(value.len()), value].concat();
        value = [vec![0x52], varint(optional.len()), optional].concat();
    }
    let create = [vec![0x2a], varint(value.len()), value].concat(); // Create.argument = 5
    let v1_node = [vec![0x0a], varint(create.len()), create].concat(); // Node.create = 1
    let node = [vec![0xc2, 0x3e], varint(v1_node.len()), v1_node].concat(); // v1 = 1000
    let tx = [vec![0x1a], varint(node.len()), node].concat(); // nodes = 3
    let prepared = [vec![0x0a], varint(tx.len()), tx].concat();
    let err = decode_prepared_transaction(&prepared).unwrap_err();
    assert!(err.to_string().contains("recursion"), "{err}");
}

fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
        (
            any::<usize>(),
            prop_oneof![Just(0xffu8), Just(0x80), Just(0x00), any::<u8>()]
        )
            .prop_map(|(at, b)| Mutation::Set(at, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let at = |i: &usize| i % bytes.len();
    match mutation {
        Mutation::Flip(i, bits) => {
            let i = at(i);
            bytes[i] ^= bits;
        }
        Mutation::Set(i, b) => {
            let i = at(i);
            bytes[i] = *b;
        }
        Mutation::Insert(i, b) => {
            let i = at(i);
            bytes.insert(i, *b);
        }
        Mutation::Delete(i) => {
            let i = at(i);
            bytes.remove(i);
        }
        Mutation::Truncate(i) => {
            let i = at(i);
            bytes.truncate(i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_prepared_transactions_never_panic(
        pick in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let mut bytes = corpus[pick % corpus.len()].1.clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        decode_and_hash(&bytes);
    }
}
