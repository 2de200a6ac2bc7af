//! Interactive (external-party) submission, pure (`ledger-api.md` §4.3, §4.4): `prepare`
//! interprets a command for parties whose keys live off-node and hands out the transaction it
//! would commit as Canton's protobuf `PreparedTransaction` ([`crate::prepared`]) and its
//! `HASHING_SCHEME_VERSION_V2` hash (`canton-interactive`); `execute` decodes the bytes it is
//! handed, recomputes their hash, checks the parties' Ed25519 signatures over it, bounds the
//! record time by `maxRecordTime` and commits.
//!
//! What commits is what was prepared under that hash (the node keeps it, [`PreparedStore`]):
//! bytes changed after `prepare` have a hash no `prepare` handed out and are refused. The
//! command is interpreted again at execution, so what it spends is checked against the ledger
//! at commit time, as the confirming participants check a real one. V2 does not hash
//! `maxRecordTime` (V3, 3.5, does): it is read from the bytes, as a real node reads it.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_interactive::{
    HashError, HashingSchemeVersion, PreparedTransaction, decode_prepared_transaction,
    encode_prepared_transaction, hash_prepared_transaction, hashing_details,
};
use canton_ledger::commands::{Command, JsCommands};
use canton_ledger::interactive::{
    JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, SigningAlgorithmSpec,
};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use exchange_core::Timestamp;

use crate::faults::TamperKind;
use crate::model::{LedgerError, SyncIdx};
use crate::prepared::{self, PreparedMeta};
use crate::submit::{Submitted, TransferArgument, submit};
use crate::tamper;
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

pub use canton_interactive::public_key_fingerprint as fingerprint;

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

/// What this node prepared, by the V2 hash it handed out. Execution commits the command that
/// was prepared under the hash of the bytes it is handed, and nothing else: bytes changed after
/// `prepare` hash to a value no `prepare` answered with and are refused. Node-local.
#[derive(Debug, Clone, Default)]
pub struct PreparedStore {
    /// Shared, so a backup (a copy of the world) does not copy it.
    entries: Arc<BTreeMap<[u8; 32], Arc<PreparedEntry>>>,
    /// How many transactions were prepared (their uuids derive from it).
    count: u64,
}

/// One prepared transaction: the command as prepared and when.
#[derive(Debug)]
struct PreparedEntry {
    commands: JsCommands,
    preparation_time: Timestamp,
    /// Set when the `tamperPrepare` fault changed these bytes: never committed.
    tampered: Option<TamperKind>,
}

impl PreparedStore {
    fn insert(&mut self, hash: [u8; 32], entry: PreparedEntry) {
        Arc::make_mut(&mut self.entries).insert(hash, Arc::new(entry));
    }

    fn get(&self, hash: &[u8; 32]) -> Option<Arc<PreparedEntry>> {
        self.entries.get(hash).cloned()
    }
}

/// `prepare`'s answer, before base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSubmission {
    /// The `PreparedTransaction` protobuf.
    pub prepared_transaction: Vec<u8>,
    /// Its `HASHING_SCHEME_VERSION_V2` hash (unless the `hash` tamper fault changed it).
    pub hash: [u8; 32],
    /// With `verboseHashing`: what was hashed, step by step.
    pub hashing_details: Option<String>,
}

/// Interprets the command in a dry run on the node (so nothing is committed and errors are the
/// ones execution would give now), encodes the transaction it would commit as Canton's
/// `PreparedTransaction` and hashes it. `tamper` (the fault) changes the answer afterwards.
pub fn prepare(
    world: &mut World,
    request: &JsPrepareSubmissionRequest,
    tamper: Option<TamperKind>,
) -> Result<PreparedSubmission, InteractiveError> {
    let max_record_time = match &request.max_record_time {
        Some(t) if !t.is_empty() => Some(t.parse::<Timestamp>().map_err(|_| {
            TokenError::InvalidArgument(format!("maxRecordTime: not a timestamp: {t}"))
        })?),
        _ => None,
    };
    let mut commands = commands_of(request);
    let (roots, synchronizer) = interpret_dry(world, &commands)?;
    // The synchronizer the router chose, when the request named none (a real node puts it in
    // the prepared transaction's metadata); execution commits there.
    if commands.synchronizer_id.is_empty() {
        commands.synchronizer_id = world.ledger.synchronizer(synchronizer).id.clone();
    }
    world.prepared.count += 1;
    let (min_let, max_let) = ledger_time_bounds(&commands);
    let meta = PreparedMeta {
        act_as: commands.act_as.clone(),
        command_id: commands.command_id.clone(),
        synchronizer_id: commands.synchronizer_id.clone(),
        transaction_uuid: prepared::transaction_uuid(
            format!(
                "{}/prepare/{}",
                world.ledger.participant_id(),
                world.prepared.count
            )
            .as_bytes(),
        ),
        preparation_time: world.ledger.record_time_of(synchronizer),
        min_ledger_effective_time: min_let,
        max_ledger_effective_time: max_let,
        max_record_time,
    };
    let mut transaction = prepared::build(&world.ledger, &roots, &meta);
    let tampered = tamper.filter(|kind| tamper::tamper(&mut transaction, *kind));
    let (hash, hashing_details) = hash_of(&transaction, request.verbose_hashing)?;
    world.prepared.insert(
        hash,
        PreparedEntry {
            commands,
            preparation_time: meta.preparation_time,
            // The hash tamper leaves the bytes honest: they may be executed.
            tampered: tampered.filter(|k| *k != TamperKind::Hash),
        },
    );
    let mut handed_out = hash;
    if tampered == Some(TamperKind::Hash) {
        handed_out[0] ^= 0x01;
    }
    Ok(PreparedSubmission {
        prepared_transaction: encode_prepared_transaction(&transaction),
        hash: handed_out,
        hashing_details,
    })
}

fn commands_of(request: &JsPrepareSubmissionRequest) -> JsCommands {
    JsCommands {
        commands: request.commands.clone(),
        command_id: request.command_id.clone(),
        act_as: request.act_as.clone(),
        user_id: request.user_id.clone(),
        read_as: request.read_as.clone(),
        disclosed_contracts: request.disclosed_contracts.clone(),
        synchronizer_id: request.synchronizer_id.clone(),
        package_id_selection_preference: request.package_id_selection_preference.clone(),
        ..JsCommands::default()
    }
}

/// The full tree `commands` would commit now, and the synchronizer it would commit on: a dry
/// run on the node itself, so nothing is committed and errors are the ones execution would
/// give now. Only the submission's own transaction is interpreted; what this node's automation
/// would commit after it (the validator accepting a preapproval proposal) is not.
fn interpret_dry(
    world: &mut World,
    commands: &JsCommands,
) -> Result<(Vec<crate::model::Node>, SyncIdx), InteractiveError> {
    world.ledger.begin_dry_run();
    // The dry run ends even if interpretation panics: the node is used after a panic (its lock
    // is not poisoned for good), and later commits must not be dry.
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| submit(world, commands)));
    let interpreted = world.ledger.end_dry_run();
    let outcome = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    match (interpreted, outcome) {
        (Some((tx, roots)), Ok(_) | Err(TokenError::Ledger(LedgerError::DryRunComplete))) => {
            Ok((roots, tx.synchronizer))
        }
        (_, Err(e)) => Err(e.into()),
        (None, Ok(_)) => Err(InteractiveError::Malformed(
            "the command was interpreted to no transaction".into(),
        )),
    }
}

/// The ledger-time bounds the Daml code asserts: a token-standard transfer needs
/// `requestedAt <= now < executeBefore`. Other commands get none.
fn ledger_time_bounds(commands: &JsCommands) -> (Option<Timestamp>, Option<Timestamp>) {
    let [Command::ExerciseCommand(exercise)] = commands.commands.as_slice() else {
        return (None, None);
    };
    if exercise.choice != "TransferFactory_Transfer" {
        return (None, None);
    }
    serde_json::from_str(exercise.choice_argument.get())
        .ok()
        .and_then(|argument| TransferArgument::read(&argument).ok())
        .map_or((None, None), |t| {
            (
                Some(t.requested_at),
                t.execute_before.checked_add_micros(-1),
            )
        })
}

/// The V2 hash of `transaction`, and the details when asked for.
fn hash_of(
    transaction: &PreparedTransaction,
    verbose: bool,
) -> Result<([u8; 32], Option<String>), InteractiveError> {
    let unhashable = |e: HashError| {
        InteractiveError::Malformed(format!("the prepared transaction cannot be hashed: {e}"))
    };
    if verbose {
        let (hashes, details) =
            hashing_details(transaction, HashingSchemeVersion::V2).map_err(unhashable)?;
        Ok((hashes.prepared_transaction.0, Some(details)))
    } else {
        let hashes =
            hash_prepared_transaction(transaction, HashingSchemeVersion::V2).map_err(unhashable)?;
        Ok((hashes.prepared_transaction.0, None))
    }
}

/// A prepared transaction whose signatures checked out, ready to commit.
#[derive(Debug, Clone)]
pub struct Authorized {
    commands: JsCommands,
    preparation_time: Timestamp,
    max_record_time: Option<Timestamp>,
    pub hash: [u8; 32],
    pub command_id: String,
    pub act_as: Vec<String>,
}

impl Authorized {
    /// The synchronizer prepare chose (or the submitter prescribed).
    pub fn synchronizer_id(&self) -> &str {
        &self.commands.synchronizer_id
    }

    /// `maxSequencingTime = min(maxRecordTime, LET + tolerance)` (§4.4), inclusive; the
    /// preparation time stands in for the ledger effective time.
    fn max_sequencing_time(&self) -> Timestamp {
        let by_tolerance = self
            .preparation_time
            .checked_add_micros(LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS)
            .unwrap_or(self.preparation_time);
        self.max_record_time
            .map_or(by_tolerance, |m| m.min(by_tolerance))
    }
}

/// Decodes the prepared transaction, recomputes its V2 hash, finds what this node prepared
/// under that hash and checks that every `actAs` party is external and signed the hash with
/// its key. Failures here are synchronous: nothing reaches the synchronizer, so no completion
/// is written.
pub fn authorize(
    world: &World,
    request: &JsExecuteSubmissionRequest,
) -> Result<Authorized, InteractiveError> {
    let malformed = |what: String| InteractiveError::Malformed(what);
    let bytes = BASE64
        .decode(request.prepared_transaction.as_bytes())
        .map_err(|e| malformed(format!("preparedTransaction is not base64: {e}")))?;
    let transaction = decode_prepared_transaction(&bytes)
        .map_err(|e| malformed(format!("Failed to deserialize prepared transaction: {e}")))?;
    let hash = hash_prepared_transaction(&transaction, HashingSchemeVersion::V2)
        .map_err(|e| malformed(format!("preparedTransaction cannot be hashed: {e}")))?
        .prepared_transaction
        .0;
    let entry = world.prepared.get(&hash).ok_or_else(|| {
        malformed(format!(
            "preparedTransaction (hash {}) was not prepared by this node, or was changed after prepare",
            hex::encode(hash)
        ))
    })?;
    if let Some(kind) = entry.tampered {
        return Err(malformed(format!(
            "the sandbox's tamperPrepare fault ({kind:?}) changed this prepared transaction: signing it was a mistake, nothing is committed"
        )));
    }
    check_signatures(world, request, &entry.commands.act_as, &hash)?;
    let max_record_time = transaction
        .metadata
        .as_ref()
        .and_then(|m| m.max_record_time)
        .and_then(|t| Timestamp::from_micros(i64::try_from(t).ok()?));
    Ok(Authorized {
        commands: entry.commands.clone(),
        preparation_time: entry.preparation_time,
        max_record_time,
        hash,
        command_id: entry.commands.command_id.clone(),
        act_as: entry.commands.act_as.clone(),
    })
}

/// Every party of `act_as` is external and one of its signatures is its key's over `hash`.
fn check_signatures(
    world: &World,
    request: &JsExecuteSubmissionRequest,
    act_as: &[String],
    hash: &[u8; 32],
) -> Result<(), InteractiveError> {
    let signatures = request
        .party_signatures
        .as_ref()
        .map(|s| s.signatures.as_slice())
        .unwrap_or_default();
    for party in act_as {
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
                        .is_some_and(|sig| key.key.verify(hash, &sig).is_ok())
            })
            .count();
        if valid == 0 {
            return Err(InteractiveError::Signature(format!(
                "Received 0 valid signatures ({} invalid), but expected at least 1 valid for {party}",
                given.len()
            )));
        }
    }
    Ok(())
}

/// Sequences and commits an authorized submission: refused once the record time it would get
/// is past its max sequencing time; interpreted again against the current ledger (an input
/// spent since preparation → `CONTRACT_NOT_FOUND`). The update carries the signed hash.
pub fn commit(world: &mut World, authorized: &Authorized) -> Result<Submitted, InteractiveError> {
    let max_sequencing_time = authorized.max_sequencing_time();
    // The clock that matters is the one of the synchronizer prepare chose.
    let synchronizer = world
        .ledger
        .synchronizer_index(authorized.synchronizer_id())
        .unwrap_or(0);
    if world.ledger.next_record_time(synchronizer) > max_sequencing_time {
        return Err(InteractiveError::NotSequencedTimeout {
            max_sequencing_time,
        });
    }
    let done = submit(world, &authorized.commands)?;
    world
        .ledger
        .set_external_transaction_hash(done.offset, &hex::encode(authorized.hash));
    Ok(done)
}
