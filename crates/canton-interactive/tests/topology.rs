//! The onboarding check an external party's key relies on before it signs: the transactions the
//! node generated must onboard exactly the party asked for. Built with the same encoder the
//! sandbox's `generate-topology` uses, then tampered one way at a time.

use canton_interactive::public_key_fingerprint;
use canton_interactive::topology::proto::{
    self as pb, Mapping, ParticipantPermission, TopologyTransaction,
};
use canton_interactive::topology::{
    ExpectedOnboarding, TopologyDecodeError, check_onboarding, decode_transaction,
    ed25519_signing_key, encode_transaction, multi_hash, onboarding_transactions, transaction_hash,
};
use prost::Message;

const KEY: [u8; 32] = [42; 32];
const OTHER_KEY: [u8; 32] = [43; 32];
const PARTICIPANT: &str = "participant1::1220aa";

fn expected() -> ExpectedOnboarding {
    ExpectedOnboarding {
        hint: "treasury".into(),
        key: KEY,
        participant_uid: PARTICIPANT.into(),
        permission: ParticipantPermission::Confirmation,
    }
}

/// What an honest node answers: (partyId, fingerprint, transactions, multiHash).
fn honest() -> (String, String, Vec<Vec<u8>>, Vec<u8>) {
    let hosts = [(PARTICIPANT.to_owned(), ParticipantPermission::Confirmation)];
    let (party, txs) = onboarding_transactions("treasury", &KEY, &hosts, 1);
    let hash = multi_hash(&txs);
    (party, public_key_fingerprint(&KEY), txs, hash)
}

fn check(party: &str, fp: &str, txs: &[Vec<u8>], hash: &[u8]) -> Result<(), String> {
    check_onboarding(&expected(), party, fp, txs, hash)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Decodes transaction `i`, changes its mapping, re-encodes it; the node re-hashes honestly,
/// so only the content check can catch it.
fn tampered(
    i: usize,
    change: impl FnOnce(&mut Mapping),
) -> (String, String, Vec<Vec<u8>>, Vec<u8>) {
    let (party, fp, mut txs, _) = honest();
    let mut tx = decode_transaction(&txs[i]).unwrap();
    change(tx.mapping.as_mut().unwrap().mapping.as_mut().unwrap());
    txs[i] = encode_transaction(&tx);
    let hash = multi_hash(&txs);
    (party, fp, txs, hash)
}

fn refused_because(answer: (String, String, Vec<Vec<u8>>, Vec<u8>), why: &str) {
    let (party, fp, txs, hash) = answer;
    let err = check(&party, &fp, &txs, &hash).unwrap_err();
    assert!(err.contains(why), "{err:?} should mention {why:?}");
}

#[test]
fn the_sandboxes_onboarding_is_accepted_with_its_multi_hash() {
    let (party, fp, txs, hash) = honest();
    let checked = check_onboarding(&expected(), &party, &fp, &txs, &hash).unwrap();
    assert_eq!(checked.party, format!("treasury::{fp}"));
    assert_eq!(checked.multi_hash, hash);
    assert_eq!(hash.len(), 34);
    // The wire form: UntypedVersionedMessage{data, version 30}.
    let versioned = pb::UntypedVersionedMessage::decode(txs[0].as_slice()).unwrap();
    assert_eq!(versioned.version, 30);
}

#[test]
fn the_multi_hash_is_recomputed_from_canton_rules() {
    let (_, _, txs, hash) = honest();
    // Independently: purpose 55, count, then each 34-byte transaction hash (purpose 11) sorted,
    // each with its 4-byte length.
    let mut hashes: Vec<Vec<u8>> = txs
        .iter()
        .map(|t| {
            let mut h = sha2_of(&[&11u32.to_be_bytes(), t.as_slice()]);
            h.splice(0..0, [0x12, 0x20]);
            h
        })
        .collect();
    hashes.sort();
    let mut parts: Vec<Vec<u8>> = vec![55u32.to_be_bytes().to_vec(), 3u32.to_be_bytes().to_vec()];
    for h in &hashes {
        parts.push(34u32.to_be_bytes().to_vec());
        parts.push(h.clone());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let mut expected = sha2_of(&refs);
    expected.splice(0..0, [0x12, 0x20]);
    assert_eq!(hash, expected);
    assert!(hashes.contains(&transaction_hash(&txs[0])));
    // The order of the transactions does not change it; a changed byte does.
    let mut reversed = txs.clone();
    reversed.reverse();
    assert_eq!(multi_hash(&reversed), hash);
    let mut flipped = txs.clone();
    *flipped[1].last_mut().unwrap() ^= 1;
    assert_ne!(multi_hash(&flipped), hash);
}

fn sha2_of(parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

#[test]
fn a_node_multi_hash_that_is_not_the_transactions_is_refused() {
    let (party, fp, txs, mut hash) = honest();
    hash[5] ^= 1;
    let err = check(&party, &fp, &txs, &hash).unwrap_err();
    assert!(err.contains("multiHash"), "{err}");
}

#[test]
fn another_key_in_the_party_to_key_mapping_is_refused() {
    refused_because(
        tampered(1, |m| {
            let Mapping::PartyToKeyMapping(k) = m else {
                panic!()
            };
            k.signing_keys = vec![ed25519_signing_key(
                &OTHER_KEY,
                pb::SIGNING_KEY_USAGE_PROTOCOL,
            )];
        }),
        "PartyToKeyMapping.signing_keys",
    );
    // A second key beside ours is refused too.
    refused_because(
        tampered(1, |m| {
            let Mapping::PartyToKeyMapping(k) = m else {
                panic!()
            };
            k.signing_keys.push(ed25519_signing_key(
                &OTHER_KEY,
                pb::SIGNING_KEY_USAGE_PROTOCOL,
            ));
        }),
        "not only our key",
    );
}

#[test]
fn another_namespace_key_is_refused() {
    refused_because(
        tampered(0, |m| {
            let Mapping::NamespaceDelegation(d) = m else {
                panic!()
            };
            d.target_key = Some(ed25519_signing_key(
                &OTHER_KEY,
                pb::SIGNING_KEY_USAGE_NAMESPACE,
            ));
        }),
        "NamespaceDelegation.target_key",
    );
}

#[test]
fn another_party_is_refused() {
    let other = format!("treasury::{}", public_key_fingerprint(&OTHER_KEY));
    let o = other.clone();
    refused_because(
        tampered(2, move |m| {
            let Mapping::PartyToParticipant(p) = m else {
                panic!()
            };
            p.party = o;
        }),
        "for party",
    );
    // The answer naming another party id or fingerprint is refused before any decoding.
    let (_, fp, txs, hash) = honest();
    assert!(
        check(&other, &fp, &txs, &hash)
            .unwrap_err()
            .contains("partyId")
    );
    let (party, _, txs, hash) = honest();
    let other_fp = public_key_fingerprint(&OTHER_KEY);
    assert!(
        check(&party, &other_fp, &txs, &hash)
            .unwrap_err()
            .contains("publicKeyFingerprint")
    );
}

#[test]
fn other_hosting_is_refused() {
    refused_because(
        tampered(2, |m| {
            let Mapping::PartyToParticipant(p) = m else {
                panic!()
            };
            p.participants.push(pb::HostingParticipant {
                participant_uid: "intruder::1220bb".into(),
                permission: ParticipantPermission::Confirmation as i32,
                onboarding: None,
            });
        }),
        "hosted on",
    );
    refused_because(
        tampered(2, |m| {
            let Mapping::PartyToParticipant(p) = m else {
                panic!()
            };
            p.participants[0].permission = ParticipantPermission::Submission as i32;
        }),
        "hosted on",
    );
    refused_because(
        tampered(2, |m| {
            let Mapping::PartyToParticipant(p) = m else {
                panic!()
            };
            p.threshold = 2;
        }),
        "threshold 2",
    );
}

#[test]
fn an_extra_or_missing_transaction_is_refused() {
    // A second PartyToKeyMapping (say, a later key rotation smuggled in).
    let (party, fp, mut txs, _) = honest();
    txs.push(txs[1].clone());
    let hash = multi_hash(&txs);
    assert!(
        check(&party, &fp, &txs, &hash)
            .unwrap_err()
            .contains("a second PartyToKeyMapping")
    );
    // A mapping onboarding never needs (here: OwnerToKeyMapping, tag 4) decodes as none.
    let (party, fp, mut txs, _) = honest();
    let mut foreign = TopologyTransaction {
        operation: 1,
        serial: 1,
        mapping: None,
    }
    .encode_to_vec();
    // Field 3 (mapping) holding field 4 (owner_to_key_mapping), an empty message.
    foreign.extend_from_slice(&[0x1a, 0x02, 0x22, 0x00]);
    txs.push(
        pb::UntypedVersionedMessage {
            wrapper: Some(pb::Wrapper::Data(foreign)),
            version: 30,
        }
        .encode_to_vec(),
    );
    let hash = multi_hash(&txs);
    assert!(
        check(&party, &fp, &txs, &hash)
            .unwrap_err()
            .contains("a mapping other than")
    );
    // Without the PartyToParticipant nothing is hosted: refused.
    let (party, fp, mut txs, _) = honest();
    txs.pop();
    let hash = multi_hash(&txs);
    assert!(
        check(&party, &fp, &txs, &hash)
            .unwrap_err()
            .contains("no PartyToParticipant")
    );
    // A removal rather than an addition.
    let (party, fp, mut txs, _) = honest();
    let mut tx = decode_transaction(&txs[2]).unwrap();
    tx.operation = pb::TopologyChangeOp::Remove as i32;
    txs[2] = encode_transaction(&tx);
    let hash = multi_hash(&txs);
    assert!(
        check(&party, &fp, &txs, &hash)
            .unwrap_err()
            .contains("ADD_REPLACE")
    );
}

#[test]
fn bytes_that_are_not_a_versioned_transaction_are_refused() {
    assert!(matches!(
        decode_transaction(&[0xff, 0xff]),
        Err(TopologyDecodeError::Protobuf(_))
    ));
    let v29 = pb::UntypedVersionedMessage {
        wrapper: Some(pb::Wrapper::Data(vec![])),
        version: 29,
    };
    assert_eq!(
        decode_transaction(&v29.encode_to_vec()),
        Err(TopologyDecodeError::Version(29))
    );
    let (party, fp, mut txs, _) = honest();
    txs[0] = b"{\"mapping\":\"NamespaceDelegation\"}".to_vec();
    let hash = multi_hash(&txs);
    assert!(
        check(&party, &fp, &txs, &hash)
            .unwrap_err()
            .contains("transaction 0")
    );
}
