//! The decision before an external party's key signs its onboarding: do the transactions the
//! node generated onboard exactly the party asked for, and nothing else? Default deny: every
//! transaction must be one of the expected mappings, each at most once, each exactly as asked.

use super::proto::{
    DelegationRestriction, Mapping, ParticipantPermission, SigningPublicKey, TopologyChangeOp,
};
use super::{decode_transaction, ed25519_key_bytes, multi_hash};
use crate::public_key_fingerprint;

/// What the exchange asked for: `hint::<fingerprint of key>`, hosted on this participant only,
/// with `permission`, its only key `key` (threshold 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedOnboarding {
    pub hint: String,
    /// Raw Ed25519.
    pub key: [u8; 32],
    /// The participant's uid (its id without `PAR::`).
    pub participant_uid: String,
    pub permission: ParticipantPermission,
}

impl ExpectedOnboarding {
    pub fn fingerprint(&self) -> String {
        public_key_fingerprint(&self.key)
    }

    pub fn party(&self) -> String {
        format!("{}::{}", self.hint, self.fingerprint())
    }
}

/// Onboarding transactions that passed [`check_onboarding`]: the party and the multi-hash
/// (34 bytes) its key may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOnboarding {
    pub party: String,
    pub fingerprint: String,
    pub multi_hash: Vec<u8>,
}

/// Why the node's answer is not signed; names the first difference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the node's onboarding topology is not the party asked for: {0}")]
pub struct TopologyMismatch(pub String);

fn differs(what: impl Into<String>) -> TopologyMismatch {
    TopologyMismatch(what.into())
}

/// Checks `generate-topology`'s answer (its `partyId`, `publicKeyFingerprint`, decoded
/// `topologyTransactions` and `multiHash`) against `expected`, recomputing the multi-hash.
pub fn check_onboarding(
    expected: &ExpectedOnboarding,
    party_id: &str,
    fingerprint: &str,
    transactions: &[Vec<u8>],
    node_multi_hash: &[u8],
) -> Result<CheckedOnboarding, TopologyMismatch> {
    let want_fingerprint = expected.fingerprint();
    let want_party = expected.party();
    if fingerprint != want_fingerprint {
        return Err(differs(format!(
            "publicKeyFingerprint {fingerprint}, not our key's {want_fingerprint}"
        )));
    }
    if party_id != want_party {
        return Err(differs(format!("partyId {party_id}, not {want_party}")));
    }
    let mut seen = Seen::default();
    for (i, bytes) in transactions.iter().enumerate() {
        let tx = decode_transaction(bytes).map_err(|e| differs(format!("transaction {i}: {e}")))?;
        if tx.operation != TopologyChangeOp::AddReplace as i32 || tx.serial != 1 {
            return Err(differs(format!(
                "transaction {i}: operation {} serial {}, not a first ADD_REPLACE",
                tx.operation, tx.serial
            )));
        }
        let mapping = tx.mapping.and_then(|m| m.mapping).ok_or_else(|| {
            differs(format!(
                "transaction {i}: a mapping other than onboarding's"
            ))
        })?;
        check_mapping(expected, &want_party, mapping, &mut seen)
            .map_err(|e| differs(format!("transaction {i}: {}", e.0)))?;
    }
    if !seen.party_to_participant {
        return Err(differs("no PartyToParticipant mapping"));
    }
    if !seen.party_key {
        return Err(differs("no mapping gives the party its signing key"));
    }
    let computed = multi_hash(transactions);
    if computed != node_multi_hash {
        return Err(differs(format!(
            "multiHash {}, but the transactions hash to {}",
            hex::encode(node_multi_hash),
            hex::encode(&computed)
        )));
    }
    Ok(CheckedOnboarding {
        party: want_party,
        fingerprint: want_fingerprint,
        multi_hash: computed,
    })
}

/// Which mappings were met (each may appear once).
#[derive(Default)]
struct Seen {
    namespace: bool,
    party_to_key: bool,
    party_to_participant: bool,
    /// The party's signing key is set (by a PartyToKeyMapping or the PartyToParticipant).
    party_key: bool,
}

fn once(flag: &mut bool, name: &str) -> Result<(), TopologyMismatch> {
    if std::mem::replace(flag, true) {
        return Err(differs(format!("a second {name}")));
    }
    Ok(())
}

fn check_mapping(
    expected: &ExpectedOnboarding,
    party: &str,
    mapping: Mapping,
    seen: &mut Seen,
) -> Result<(), TopologyMismatch> {
    match mapping {
        Mapping::NamespaceDelegation(d) => {
            once(&mut seen.namespace, "NamespaceDelegation")?;
            if d.namespace != expected.fingerprint() {
                return Err(differs(format!(
                    "a delegation of namespace {}",
                    d.namespace
                )));
            }
            only_our_key(
                expected,
                d.target_key.as_slice(),
                "NamespaceDelegation.target_key",
            )?;
            let root = matches!(
                d.restriction,
                Some(DelegationRestriction::CanSignAllMappings(_))
            ) || (d.is_root_delegation && d.restriction.is_none());
            if !root {
                return Err(differs("a NamespaceDelegation that is not the key's root"));
            }
        }
        Mapping::PartyToKeyMapping(m) => {
            once(&mut seen.party_to_key, "PartyToKeyMapping")?;
            same_party(&m.party, party, "PartyToKeyMapping")?;
            threshold_one(m.threshold, "PartyToKeyMapping")?;
            only_our_key(expected, &m.signing_keys, "PartyToKeyMapping.signing_keys")?;
            seen.party_key = true;
        }
        Mapping::PartyToParticipant(p) => {
            once(&mut seen.party_to_participant, "PartyToParticipant")?;
            same_party(&p.party, party, "PartyToParticipant")?;
            threshold_one(p.threshold, "PartyToParticipant")?;
            let hosts: Vec<(&str, i32)> = p
                .participants
                .iter()
                .map(|h| (h.participant_uid.as_str(), h.permission))
                .collect();
            let want = [(
                expected.participant_uid.as_str(),
                expected.permission as i32,
            )];
            if hosts != want {
                return Err(differs(format!(
                    "hosted on {hosts:?}, not only on {} with {:?}",
                    expected.participant_uid, expected.permission
                )));
            }
            if let Some(keys) = &p.party_signing_keys {
                threshold_one(keys.threshold, "PartyToParticipant.party_signing_keys")?;
                only_our_key(
                    expected,
                    &keys.keys,
                    "PartyToParticipant.party_signing_keys",
                )?;
                seen.party_key = true;
            }
        }
    }
    Ok(())
}

fn same_party(found: &str, party: &str, what: &str) -> Result<(), TopologyMismatch> {
    if found != party {
        return Err(differs(format!("a {what} for party {found}, not {party}")));
    }
    Ok(())
}

fn threshold_one(threshold: u32, what: &str) -> Result<(), TopologyMismatch> {
    if threshold != 1 {
        return Err(differs(format!("{what} threshold {threshold}, not 1")));
    }
    Ok(())
}

fn only_our_key(
    expected: &ExpectedOnboarding,
    keys: &[SigningPublicKey],
    what: &str,
) -> Result<(), TopologyMismatch> {
    let found: Vec<Option<[u8; 32]>> = keys.iter().map(ed25519_key_bytes).collect();
    if found != [Some(expected.key)] {
        let shown: Vec<String> = found
            .iter()
            .map(|k| k.map_or_else(|| "a non-Ed25519 key".to_owned(), hex::encode))
            .collect();
        return Err(differs(format!(
            "{what} {shown:?}, not only our key {}",
            hex::encode(expected.key)
        )));
    }
    Ok(())
}
