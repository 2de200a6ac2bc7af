//! Interactive (external-party) submission, pure (`ledger-api.md` §4.3, §4.4): `prepare`
//! interprets a command for parties whose keys live off-node and hands out an opaque prepared
//! transaction and the hash to sign; `execute` checks the parties' Ed25519 signatures over that
//! hash, bounds the record time by `maxRecordTime` and commits.
//!
//! The prepared transaction is the sandbox's own encoding (base64 JSON of the commands and the
//! bounds), not Canton's protobuf `PreparedTransaction`: clients must treat it as opaque. It is
//! interpreted again at execution, so what it spends is checked against the ledger at commit
//! time, as the confirming participants check a real one. The hash covers every field but
//! `maxRecordTime`, as `HASHING_SCHEME_VERSION_V2` does in 3.4 (V3, 3.5, adds it).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::commands::JsCommands;
use canton_ledger::interactive::{
    JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, SigningAlgorithmSpec,
};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use exchange_core::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::LedgerError;
use crate::submit::{Submitted, submit};
use crate::token::TokenError;
use crate::world::World;

/// Canton's default `ledgerTimeRecordTimeTolerance`: without `maxRecordTime` a submission
/// still cannot be sequenced later than its ledger time plus this.
pub const LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS: i64 = 60_000_000;

/// Why an interactive submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractiveError {
    /// Interpretation (at prepare, or again at execution) failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The prepared transaction is not one this node handed out, or was altered.
    #[error("{0}")]
    Malformed(String),
    /// Signatures missing, from the wrong key, or not over the hash.
    #[error("{0}")]
    Signature(String),
    /// The record time the transaction would get is past its max sequencing time.
    #[error(
        "Transaction was not sequenced within the pre-defined max sequencing time ({max_sequencing_time}) and has therefore timed out"
    )]
    NotSequencedTimeout { max_sequencing_time: Timestamp },
}

impl From<LedgerError> for InteractiveError {
    fn from(e: LedgerError) -> Self {
        InteractiveError::Token(e.into())
    }
}

/// Ed25519 public keys of the external parties hosted here, by party. Topology: it lives on
/// the synchronizer, so a node restored from a backup still knows them.
#[derive(Debug, Clone, Default)]
pub struct ExternalParties {
    keys: BTreeMap<String, ExternalKey>,
}

#[derive(Debug, Clone)]
pub struct ExternalKey {
    pub key: VerifyingKey,
    pub fingerprint: String,
}

/// Canton's key fingerprint: the multihash (`0x12 0x20` = SHA-256, 32 bytes) of the hash with
/// purpose `PublicKeyFingerprint` (12, a 4-byte big-endian prefix) over the raw key bytes.
pub fn fingerprint(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(12u32.to_be_bytes());
    h.update(key);
    format!("1220{}", hex::encode(h.finalize()))
}

impl ExternalParties {
    /// Hosts `hint::<fingerprint>` with `public_key` (raw Ed25519, 32 bytes).
    pub fn allocate(
        &mut self,
        world_ledger: &mut crate::model::Ledger,
        hint: &str,
        public_key: &[u8],
    ) -> Result<(String, String), InteractiveError> {
        let raw: [u8; 32] = public_key.try_into().map_err(|_| {
            InteractiveError::Token(TokenError::InvalidArgument(format!(
                "an Ed25519 public key has 32 bytes, not {}",
                public_key.len()
            )))
        })?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| {
            InteractiveError::Token(TokenError::InvalidArgument(format!(
                "not an Ed25519 public key: {e}"
            )))
        })?;
        let fingerprint = fingerprint(&raw);
        let party = world_ledger.allocate_external_party(hint, &fingerprint)?;
        self.keys.insert(
            party.clone(),
            ExternalKey {
                key,
                fingerprint: fingerprint.clone(),
            },
        );
        Ok((party, fingerprint))
    }

    pub fn key_of(&self, party: &str) -> Option<&ExternalKey> {
        self.keys.get(party)
    }
}

/// What `prepare` hands out (base64 JSON): the command as submitted and the time bounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Prepared {
    /// Tells this encoding apart from anything else a client might send.
    format: String,
    commands: JsCommands,
    /// The ledger effective time chosen at preparation.
    ledger_effective_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_record_time: Option<Timestamp>,
}

const FORMAT: &str = "canton-sandbox/prepared-transaction/v1";

impl Prepared {
    /// SHA-256 over the encoding without `maxRecordTime` (V2 does not cover it), prefixed so
    /// it can never equal a hash of anything else.
    fn hash(&self) -> [u8; 32] {
        let unbounded = Prepared {
            max_record_time: None,
            ..self.clone()
        };
        let mut h = Sha256::new();
        h.update(b"canton-sandbox HASHING_SCHEME_VERSION_V2\0");
        h.update(serde_json::to_vec(&unbounded).expect("serializable"));
        h.finalize().into()
    }

    /// `maxSequencingTime = min(maxRecordTime, LET + tolerance)` (§4.4), inclusive.
    fn max_sequencing_time(&self) -> Timestamp {
        let by_tolerance = self
            .ledger_effective_time
            .checked_add_micros(LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS)
            .unwrap_or(self.ledger_effective_time);
        self.max_record_time
            .map_or(by_tolerance, |m| m.min(by_tolerance))
    }
}

/// `prepare`'s answer, before base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSubmission {
    pub prepared_transaction: Vec<u8>,
    pub hash: [u8; 32],
}

/// Interprets the command on a scratch copy of the node (so nothing is committed and errors
/// are the ones execution would give now) and encodes it for signing.
pub fn prepare(
    world: &World,
    request: &JsPrepareSubmissionRequest,
) -> Result<PreparedSubmission, InteractiveError> {
    let max_record_time = match &request.max_record_time {
        Some(t) if !t.is_empty() => Some(t.parse::<Timestamp>().map_err(|_| {
            TokenError::InvalidArgument(format!("maxRecordTime: not a timestamp: {t}"))
        })?),
        _ => None,
    };
    let commands = JsCommands {
        commands: request.commands.clone(),
        command_id: request.command_id.clone(),
        act_as: request.act_as.clone(),
        user_id: request.user_id.clone(),
        read_as: request.read_as.clone(),
        disclosed_contracts: request.disclosed_contracts.clone(),
        synchronizer_id: request.synchronizer_id.clone(),
        package_id_selection_preference: request.package_id_selection_preference.clone(),
        ..JsCommands::default()
    };
    let mut scratch = world.clone();
    let done = submit(&mut scratch, &commands)?;
    // The synchronizer the router chose, when the request named none (a real node puts it in
    // the prepared transaction's metadata); execution commits there.
    let synchronizer = scratch
        .ledger
        .update_at(done.offset)
        .map_or(0, |tx| tx.synchronizer);
    let mut commands = commands;
    if commands.synchronizer_id.is_empty() {
        commands.synchronizer_id = world.ledger.synchronizer(synchronizer).id.clone();
    }
    let prepared = Prepared {
        format: FORMAT.to_owned(),
        commands,
        ledger_effective_time: world.ledger.record_time_of(synchronizer),
        max_record_time,
    };
    Ok(PreparedSubmission {
        hash: prepared.hash(),
        prepared_transaction: serde_json::to_vec(&prepared).expect("serializable"),
    })
}

/// A prepared transaction whose signatures checked out, ready to commit.
#[derive(Debug, Clone)]
pub struct Authorized {
    prepared: Prepared,
    pub hash: [u8; 32],
    pub command_id: String,
    pub act_as: Vec<String>,
}

impl Authorized {
    /// The synchronizer prepare chose (or the submitter prescribed).
    pub fn synchronizer_id(&self) -> &str {
        &self.prepared.commands.synchronizer_id
    }
}

/// Decodes the prepared transaction and checks that every `actAs` party is external and
/// signed the hash with its key. Failures here are synchronous: nothing reaches the
/// synchronizer, so no completion is written.
pub fn authorize(
    world: &World,
    request: &JsExecuteSubmissionRequest,
) -> Result<Authorized, InteractiveError> {
    let malformed = |what: String| InteractiveError::Malformed(what);
    let bytes = BASE64
        .decode(request.prepared_transaction.as_bytes())
        .map_err(|e| malformed(format!("preparedTransaction is not base64: {e}")))?;
    let prepared: Prepared = serde_json::from_slice(&bytes)
        .ok()
        .filter(|p: &Prepared| p.format == FORMAT)
        .ok_or_else(|| malformed("preparedTransaction was not prepared by this node".into()))?;
    let hash = prepared.hash();
    let signatures = request
        .party_signatures
        .as_ref()
        .map(|s| s.signatures.as_slice())
        .unwrap_or_default();
    for party in &prepared.commands.act_as {
        let Some(key) = world.external.key_of(party) else {
            return Err(InteractiveError::Signature(format!(
                "party {party} is not an external party: it has no signing keys to authorize an interactive submission"
            )));
        };
        let given: Vec<_> = signatures
            .iter()
            .filter(|s| &s.party == party)
            .flat_map(|s| &s.signatures)
            .collect();
        let valid = given
            .iter()
            .filter(|s| {
                s.signed_by == key.fingerprint
                    && s.signing_algorithm_spec == SigningAlgorithmSpec::Ed25519
                    && BASE64
                        .decode(s.signature.as_bytes())
                        .ok()
                        .and_then(|raw| Signature::from_slice(&raw).ok())
                        .is_some_and(|sig| key.key.verify(&hash, &sig).is_ok())
            })
            .count();
        if valid == 0 {
            return Err(InteractiveError::Signature(format!(
                "Received 0 valid signatures ({} invalid), but expected at least 1 valid for {party}",
                given.len()
            )));
        }
    }
    Ok(Authorized {
        hash,
        command_id: prepared.commands.command_id.clone(),
        act_as: prepared.commands.act_as.clone(),
        prepared,
    })
}

/// Sequences and commits an authorized submission: refused once the record time it would get
/// is past its max sequencing time; interpreted again against the current ledger (an input
/// spent since preparation → `CONTRACT_NOT_FOUND`). The update carries the signed hash.
pub fn commit(world: &mut World, authorized: &Authorized) -> Result<Submitted, InteractiveError> {
    let max_sequencing_time = authorized.prepared.max_sequencing_time();
    // The clock that matters is the one of the synchronizer prepare chose.
    let synchronizer = world
        .ledger
        .synchronizer_index(&authorized.prepared.commands.synchronizer_id)
        .unwrap_or(0);
    if world.ledger.next_record_time(synchronizer) > max_sequencing_time {
        return Err(InteractiveError::NotSequencedTimeout {
            max_sequencing_time,
        });
    }
    let done = submit(world, &authorized.prepared.commands)?;
    world
        .ledger
        .set_external_transaction_hash(done.offset, &hex::encode(authorized.hash));
    Ok(done)
}
