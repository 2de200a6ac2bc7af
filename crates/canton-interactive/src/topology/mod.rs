//! Onboarding an external party (`POST /v2/parties/external/generate-topology`, then
//! `/allocate`), pure: the topology transactions a participant hands out, as Canton's versioned
//! protobuf ([`proto`]), their hashes, and the check that they onboard exactly the party asked
//! for ([`check_onboarding`]). The exchange decodes, checks and re-hashes before its key signs;
//! the sandbox builds the same bytes with [`onboarding_transactions`].
//!
//! Wire form: each transaction is an `UntypedVersionedMessage { data = TopologyTransaction,
//! version = 30 }`. Canton's hashes, which clients depend on: a transaction's hash is the
//! multihash (`0x12 0x20`, SHA-256) of the hash purpose `TopologyTransactionSignature` (11, 4
//! bytes big-endian) and the serialized transaction; the multi-hash one signature may cover
//! instead is the multihash of purpose `MultiTopologyTransaction` (55), the number of distinct
//! transaction hashes (4 bytes), then each hash in ascending byte order prefixed with its length
//! (4 bytes). The party's key signs the multi-hash's 34 bytes.

mod check;
pub mod proto;

use prost::Message;
use sha2::{Digest, Sha256};

pub use check::{CheckedOnboarding, ExpectedOnboarding, TopologyMismatch, check_onboarding};
use proto::{
    CryptoKeyFormat, HostingParticipant, Mapping, NamespaceDelegation, ParticipantPermission,
    PartyToKeyMapping, PartyToParticipant, SigningKeySpec, SigningPublicKey, TopologyChangeOp,
    TopologyMapping, TopologyTransaction, UntypedVersionedMessage, Wrapper,
};

use crate::public_key_fingerprint;

/// The proto version of `TopologyTransaction` in the versioned wrapper (Canton 3.x: `v30`).
pub const TOPOLOGY_TRANSACTION_PROTO_VERSION: i32 = 30;
const PURPOSE_TOPOLOGY_TRANSACTION_SIGNATURE: u32 = 11;
const PURPOSE_MULTI_TOPOLOGY_TRANSACTION: u32 = 55;
/// The DER `SubjectPublicKeyInfo` prefix of an Ed25519 key (RFC 8410): 12 bytes, then the key.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The bytes are not a versioned topology transaction this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyDecodeError {
    #[error("not a versioned topology transaction: {0}")]
    Protobuf(String),
    #[error("the versioned message carries no data")]
    NoData,
    #[error("topology transaction proto version {0}, not {TOPOLOGY_TRANSACTION_PROTO_VERSION}")]
    Version(i32),
}

/// Decodes one serialized transaction as `generate-topology` returns it. Hostile bytes give an
/// error, never a panic.
pub fn decode_transaction(bytes: &[u8]) -> Result<TopologyTransaction, TopologyDecodeError> {
    let protobuf = |e: prost::DecodeError| TopologyDecodeError::Protobuf(e.to_string());
    let versioned = UntypedVersionedMessage::decode(bytes).map_err(protobuf)?;
    if versioned.version != TOPOLOGY_TRANSACTION_PROTO_VERSION {
        return Err(TopologyDecodeError::Version(versioned.version));
    }
    let Some(Wrapper::Data(data)) = versioned.wrapper else {
        return Err(TopologyDecodeError::NoData);
    };
    TopologyTransaction::decode(data.as_slice()).map_err(protobuf)
}

/// Serializes a transaction in its versioned wrapper (fields in number order).
pub fn encode_transaction(transaction: &TopologyTransaction) -> Vec<u8> {
    UntypedVersionedMessage {
        wrapper: Some(Wrapper::Data(transaction.encode_to_vec())),
        version: TOPOLOGY_TRANSACTION_PROTO_VERSION,
    }
    .encode_to_vec()
}

fn multihash(purpose: u32, parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(purpose.to_be_bytes());
    for part in parts {
        h.update(part);
    }
    let mut out = vec![0x12, 0x20];
    out.extend_from_slice(&h.finalize());
    out
}

/// The hash a signature on one serialized topology transaction covers (34 bytes).
pub fn transaction_hash(serialized: &[u8]) -> Vec<u8> {
    multihash(PURPOSE_TOPOLOGY_TRANSACTION_SIGNATURE, &[serialized])
}

/// The hash one signature covers for a set of transactions (Canton's
/// `MultiTransactionSignature.computeCombinedHash`), 34 bytes.
pub fn multi_hash(serialized: &[Vec<u8>]) -> Vec<u8> {
    let mut hashes: Vec<Vec<u8>> = serialized.iter().map(|t| transaction_hash(t)).collect();
    hashes.sort();
    hashes.dedup();
    // At most a handful of transactions: the length always fits.
    let count = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
    let mut parts: Vec<Vec<u8>> = vec![count.to_be_bytes().to_vec()];
    for h in hashes {
        parts.push(
            u32::try_from(h.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes()
                .to_vec(),
        );
        parts.push(h);
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    multihash(PURPOSE_MULTI_TOPOLOGY_TRANSACTION, &refs)
}

/// The raw 32 bytes of an Ed25519 `SigningPublicKey` given raw or as DER `SubjectPublicKeyInfo`;
/// `None` for anything else.
pub fn ed25519_key_bytes(key: &SigningPublicKey) -> Option<[u8; 32]> {
    let spec_ok = matches!(
        SigningKeySpec::try_from(key.key_spec),
        Ok(SigningKeySpec::EcCurve25519 | SigningKeySpec::Unspecified)
    );
    if !spec_ok {
        return None;
    }
    let raw: &[u8] = match CryptoKeyFormat::try_from(key.format).ok()? {
        CryptoKeyFormat::Raw => &key.public_key,
        CryptoKeyFormat::DerX509SubjectPublicKeyInfo => {
            key.public_key.strip_prefix(&ED25519_SPKI_PREFIX[..])?
        }
        _ => return None,
    };
    raw.try_into().ok()
}

/// An Ed25519 public key as Canton writes it into topology: DER `SubjectPublicKeyInfo`.
pub fn ed25519_signing_key(raw: &[u8; 32], usage: i32) -> SigningPublicKey {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    SigningPublicKey {
        format: CryptoKeyFormat::DerX509SubjectPublicKeyInfo as i32,
        public_key: der,
        scheme: 0,
        usage: vec![usage],
        key_spec: SigningKeySpec::EcCurve25519 as i32,
    }
}

fn add(mapping: Mapping) -> TopologyTransaction {
    TopologyTransaction {
        operation: TopologyChangeOp::AddReplace as i32,
        serial: 1,
        mapping: Some(TopologyMapping {
            mapping: Some(mapping),
        }),
    }
}

/// The three transactions that onboard `hint::<fingerprint of key>` hosted on `participants`
/// (uid, permission) with confirmation `threshold`: the key's root namespace delegation, the
/// party-to-key mapping, the party-to-participant mapping. Serialized, in that order.
pub fn onboarding_transactions(
    hint: &str,
    key: &[u8; 32],
    participants: &[(String, ParticipantPermission)],
    threshold: u32,
) -> (String, Vec<Vec<u8>>) {
    let namespace = public_key_fingerprint(key);
    let party = format!("{hint}::{namespace}");
    let transactions = [
        add(Mapping::NamespaceDelegation(NamespaceDelegation {
            namespace,
            target_key: Some(ed25519_signing_key(key, proto::SIGNING_KEY_USAGE_NAMESPACE)),
            is_root_delegation: true,
            restriction: Some(proto::DelegationRestriction::CanSignAllMappings(
                proto::Empty {},
            )),
        })),
        add(Mapping::PartyToKeyMapping(PartyToKeyMapping {
            party: party.clone(),
            threshold: 1,
            signing_keys: vec![ed25519_signing_key(key, proto::SIGNING_KEY_USAGE_PROTOCOL)],
        })),
        add(Mapping::PartyToParticipant(PartyToParticipant {
            party: party.clone(),
            threshold,
            participants: participants
                .iter()
                .map(|(uid, permission)| HostingParticipant {
                    participant_uid: uid.clone(),
                    permission: *permission as i32,
                    onboarding: None,
                })
                .collect(),
            party_signing_keys: None,
        })),
    ];
    (party, transactions.iter().map(encode_transaction).collect())
}
