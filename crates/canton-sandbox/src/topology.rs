//! Onboarding an external party the Ledger API way (`ledger-api.md` §5): `generate-topology`
//! turns a party hint and an Ed25519 public key into the topology transactions that would
//! onboard it and the multi-hash covering them; the key's owner signs that hash off-node and
//! `allocate` checks the signature before the party is hosted. Pure: no IO.
//!
//! Canton's hashing, which clients depend on: a key's fingerprint is `1220` + hex SHA-256 of
//! the hash purpose `PublicKeyFingerprint` (12, 4 bytes big-endian) and the raw key; a topology
//! transaction's hash is the multihash (`0x12 0x20`, SHA-256) of purpose
//! `TopologyTransactionSignature` (11) and the serialized transaction; the multi-hash is the
//! multihash of purpose `MultiTopologyTransaction` (55), the number of transactions (4 bytes),
//! then each transaction hash in ascending byte order, each prefixed with its length (4
//! bytes). The client signs the multi-hash's bytes (34 bytes, as `multiHash` carries them).
//!
//! The transactions are Canton's own wire form (`UntypedVersionedMessage` of the v30
//! `TopologyTransaction` protobuf), built and hashed by `canton_interactive::topology`, the code
//! the exchange uses to check them before it signs.

use canton_interactive::topology::proto::{self as pb, ParticipantPermission};
use canton_interactive::topology::{
    ED25519_SPKI_PREFIX, decode_transaction, ed25519_key_bytes, onboarding_transactions,
};
pub use canton_interactive::topology::{multi_hash, transaction_hash};
use ed25519_dalek::{Signature as Ed25519Signature, Verifier, VerifyingKey};

use crate::interactive::fingerprint;

/// Why onboarding was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    #[error("{0}")]
    InvalidArgument(String),
    /// A signature by the party's key that does not verify.
    #[error("Transaction signature verification failed")]
    InvalidSignature,
    /// No signature by the party's namespace key covers the transactions.
    #[error("Topology transaction is not properly authorized: {0}")]
    Unauthorized(String),
}

/// What one onboarding transaction maps, as `authorize` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mapped {
    /// The namespace's root key (`None`: not an Ed25519 key).
    NamespaceDelegation {
        namespace: String,
        target_key: Option<[u8; 32]>,
    },
    PartyToKeyMapping {
        party: String,
        signing_keys: Vec<Option<[u8; 32]>>,
    },
    PartyToParticipant {
        party: String,
    },
}

impl Mapped {
    fn decode(bytes: &[u8]) -> Option<Mapped> {
        let tx = decode_transaction(bytes).ok()?;
        Some(match tx.mapping?.mapping? {
            pb::Mapping::NamespaceDelegation(d) => Mapped::NamespaceDelegation {
                namespace: d.namespace,
                target_key: d.target_key.as_ref().and_then(ed25519_key_bytes),
            },
            pb::Mapping::PartyToKeyMapping(m) => Mapped::PartyToKeyMapping {
                party: m.party,
                signing_keys: m.signing_keys.iter().map(ed25519_key_bytes).collect(),
            },
            pb::Mapping::PartyToParticipant(p) => Mapped::PartyToParticipant { party: p.party },
        })
    }
}

/// The raw 32-byte Ed25519 key of a `SigningPublicKey`.
pub fn raw_ed25519_key(
    format: &str,
    key_data: &[u8],
    key_spec: &str,
) -> Result<[u8; 32], TopologyError> {
    let bad = |m: String| TopologyError::InvalidArgument(m);
    if key_spec != "SIGNING_KEY_SPEC_EC_CURVE25519" {
        return Err(bad(format!(
            "the sandbox verifies Ed25519 keys only (SIGNING_KEY_SPEC_EC_CURVE25519), not {key_spec}"
        )));
    }
    let raw: &[u8] = match format {
        "CRYPTO_KEY_FORMAT_RAW" => key_data,
        "CRYPTO_KEY_FORMAT_DER_X509_SUBJECT_PUBLIC_KEY_INFO" => key_data
            .strip_prefix(&ED25519_SPKI_PREFIX[..])
            .ok_or_else(|| bad("not a DER SubjectPublicKeyInfo of an Ed25519 key".into()))?,
        other => return Err(bad(format!("unsupported public key format {other}"))),
    };
    let raw: [u8; 32] = raw.try_into().map_err(|_| {
        bad(format!(
            "an Ed25519 public key has 32 bytes, not {}",
            raw.len()
        ))
    })?;
    VerifyingKey::from_bytes(&raw).map_err(|e| bad(format!("not an Ed25519 public key: {e}")))?;
    Ok(raw)
}

/// What `generate-topology` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedTopology {
    pub party: String,
    pub fingerprint: String,
    pub transactions: Vec<Vec<u8>>,
    pub multi_hash: Vec<u8>,
}

/// The onboarding transactions of `hint::<fingerprint>` hosted on `participant_uid` (confirming,
/// unless observation only) and the other participants given.
pub fn generate(
    hint: &str,
    key: &[u8; 32],
    participant_uid: &str,
    observation_only: bool,
    other_confirming: &[String],
    observing: &[String],
    confirmation_threshold: u32,
) -> Result<GeneratedTopology, TopologyError> {
    if hint.is_empty() || hint.contains("::") {
        return Err(TopologyError::InvalidArgument(format!(
            "partyHint {hint:?} is not a valid party id hint"
        )));
    }
    let fingerprint = fingerprint(key);
    let local = if observation_only {
        ParticipantPermission::Observation
    } else {
        ParticipantPermission::Confirmation
    };
    let mut participants = vec![(participant_uid.to_owned(), local)];
    participants.extend(
        other_confirming
            .iter()
            .map(|p| (p.clone(), ParticipantPermission::Confirmation)),
    );
    participants.extend(
        observing
            .iter()
            .map(|p| (p.clone(), ParticipantPermission::Observation)),
    );
    let confirmers = participants
        .iter()
        .filter(|(_, p)| *p == ParticipantPermission::Confirmation)
        .count();
    // 0 (or absent) means all confirmers.
    let threshold = match confirmation_threshold {
        0 => u32::try_from(confirmers).unwrap_or(1).max(1),
        t => t,
    };
    let (party, transactions) = onboarding_transactions(hint, key, &participants, threshold);
    Ok(GeneratedTopology {
        multi_hash: multi_hash(&transactions),
        party,
        fingerprint,
        transactions,
    })
}

/// A signature as `allocate` receives it: who signed, and the raw Ed25519 signature bytes (or
/// `None` if they do not decode).
#[derive(Debug, Clone)]
pub struct GivenSignature {
    pub signed_by: String,
    pub ed25519: bool,
    pub bytes: Option<Vec<u8>>,
}

/// An onboarding transaction with its own signatures.
#[derive(Debug, Clone)]
pub struct SignedTransaction {
    pub serialized: Vec<u8>,
    pub signatures: Vec<GivenSignature>,
}

/// The party `allocate` may host, with its hint and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onboarding {
    pub party: String,
    pub hint: String,
    pub key: [u8; 32],
}

/// Checks that the transactions onboard one party whose namespace is its key, and that the key
/// signed them: one signature over the multi-hash of all of them, or one on each.
pub fn authorize(
    transactions: &[SignedTransaction],
    multi_hash_signatures: &[GivenSignature],
) -> Result<Onboarding, TopologyError> {
    let bad = |m: &str| TopologyError::InvalidArgument(m.to_owned());
    let mappings = transactions
        .iter()
        .map(|t| Mapped::decode(&t.serialized))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            bad("onboardingTransactions: not a topology transaction generated by this node")
        })?;
    let party = mappings
        .iter()
        .find_map(|m| match m {
            Mapped::PartyToParticipant { party, .. } => Some(party.clone()),
            _ => None,
        })
        .ok_or_else(|| bad("onboardingTransactions: a PartyToParticipant mapping is required"))?;
    let (hint, namespace) = party
        .split_once("::")
        .ok_or_else(|| bad("the party id has no namespace"))?;
    let key: [u8; 32] = mappings
        .iter()
        .find_map(|m| match m {
            Mapped::NamespaceDelegation {
                namespace: n,
                target_key,
            } if n == namespace => Some(*target_key),
            Mapped::PartyToKeyMapping {
                party: p,
                signing_keys,
            } if *p == party => signing_keys.first().copied(),
            _ => None,
        })
        .ok_or_else(|| bad("onboardingTransactions: no key of the party's namespace"))?
        .ok_or_else(|| bad("onboardingTransactions: the party's key is not an Ed25519 key"))?;
    if fingerprint(&key) != namespace {
        return Err(TopologyError::Unauthorized(format!(
            "the namespace {namespace} is not the fingerprint of the party's key"
        )));
    }
    for m in &mappings {
        let names_other_party = match m {
            Mapped::NamespaceDelegation { namespace: n, .. } => n != namespace,
            Mapped::PartyToKeyMapping { party: p, .. }
            | Mapped::PartyToParticipant { party: p, .. } => *p != party,
        };
        if names_other_party {
            return Err(bad(
                "onboardingTransactions: the transactions name different parties",
            ));
        }
    }
    let verifying = VerifyingKey::from_bytes(&key).map_err(|_| bad("malformed key"))?;
    // Every signature by the namespace key must verify; a bad one is an alarm, not a miss.
    let check = |s: &GivenSignature, message: &[u8]| -> Result<bool, TopologyError> {
        if s.signed_by != namespace {
            return Ok(false);
        }
        let valid = s.ed25519
            && s.bytes
                .as_deref()
                .and_then(|b| Ed25519Signature::from_slice(b).ok())
                .is_some_and(|sig| verifying.verify(message, &sig).is_ok());
        if valid {
            Ok(true)
        } else {
            Err(TopologyError::InvalidSignature)
        }
    };
    let serialized: Vec<Vec<u8>> = transactions.iter().map(|t| t.serialized.clone()).collect();
    let combined = multi_hash(&serialized);
    let mut by_multi_hash = false;
    for s in multi_hash_signatures {
        by_multi_hash |= check(s, &combined)?;
    }
    let mut each_signed = true;
    for t in transactions {
        let hash = transaction_hash(&t.serialized);
        let mut signed = false;
        for s in &t.signatures {
            signed |= check(s, &hash)?;
        }
        each_signed &= signed;
    }
    if !by_multi_hash && !each_signed {
        return Err(TopologyError::Unauthorized(format!(
            "no signature of the namespace key {namespace}"
        )));
    }
    Ok(Onboarding {
        hint: hint.to_owned(),
        party,
        key,
    })
}
