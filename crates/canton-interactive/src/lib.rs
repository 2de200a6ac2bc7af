//! Canton's interactive submission, pure (no IO, no async): the `PreparedTransaction` protobuf a
//! participant's `prepare` returns, as our own `prost` definitions of the official Canton 3.4.11
//! messages, and the hash an external party signs.
//!
//! An exchange never signs blind: it [`decode_prepared_transaction`]s the bytes, checks they are
//! what it asked for, recomputes the hash with [`hash_prepared_transaction`] and compares it with
//! the participant's before signing. The sandbox uses the same code to build and check what it
//! hands out.
//!
//! Hashing follows `HASHING_SCHEME_VERSION_V2` as `specs/canton/hashing-scheme-v2.md` specifies,
//! with its collector notes (where the prose and Canton's implementation differ, the
//! implementation and the official vectors win). Every vector in `specs/canton/test-vectors/` is
//! reproduced by this crate's tests.
//!
//! Versions: [`HashingSchemeVersion`] names the scheme; each scheme is a module (`v2`) behind the
//! one entry point. V3 (Canton 3.5, which also hashes `max_record_time`) is a new variant and a
//! new module reusing the same encoder; nothing here changes shape.
//!
//! A signer should refuse anything this crate cannot hash: the errors ([`HashError`]) name
//! transactions a participant would not produce (a missing node or seed, a cycle, nodes no root
//! reaches, an LF version the scheme does not cover).

mod error;
mod fingerprint;
pub mod proto;
pub mod topology;
pub mod v2;

use std::fmt;

pub use error::{DecodeError, HashError};
pub use fingerprint::{PUBLIC_KEY_FINGERPRINT_PURPOSE, public_key_fingerprint};
pub use proto::PreparedTransaction;

/// The hashing scheme of a prepared transaction (`HashingSchemeVersion` in the proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashingSchemeVersion {
    /// `HASHING_SCHEME_VERSION_V2`, the only scheme Canton 3.3 and 3.4 offer.
    V2,
}

impl HashingSchemeVersion {
    /// From the proto enum's number (`HASHING_SCHEME_VERSION_V2 = 2`); `0` (unspecified), the
    /// unsupported V1 and unknown numbers are errors.
    pub fn from_proto(value: i32) -> Result<Self, HashError> {
        match value {
            2 => Ok(HashingSchemeVersion::V2),
            other => Err(HashError::UnsupportedHashingScheme(other)),
        }
    }

    /// The proto enum's number.
    pub fn to_proto(self) -> i32 {
        match self {
            HashingSchemeVersion::V2 => 2,
        }
    }

    /// The proto enum's name, as the JSON Ledger API spells it.
    pub fn name(self) -> &'static str {
        match self {
            HashingSchemeVersion::V2 => "HASHING_SCHEME_VERSION_V2",
        }
    }
}

/// A SHA-256 hash. Displays as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// The hashes of a prepared transaction; `prepared_transaction` is the one the party signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreparedTransactionHashes {
    pub transaction: Hash,
    pub metadata: Hash,
    pub prepared_transaction: Hash,
}

/// Decodes `PreparedTransaction` protobuf bytes. Hostile bytes give an error, never a panic.
pub fn decode_prepared_transaction(bytes: &[u8]) -> Result<PreparedTransaction, DecodeError> {
    Ok(prost::Message::decode(bytes)?)
}

/// Encodes a `PreparedTransaction` as protobuf bytes (fields in number order).
pub fn encode_prepared_transaction(prepared: &PreparedTransaction) -> Vec<u8> {
    prost::Message::encode_to_vec(prepared)
}

/// The hashes of `prepared` under `version`.
pub fn hash_prepared_transaction(
    prepared: &PreparedTransaction,
    version: HashingSchemeVersion,
) -> Result<PreparedTransactionHashes, HashError> {
    match version {
        HashingSchemeVersion::V2 => v2::hash(prepared),
    }
}

/// The hashes and a human-readable account of what was hashed (Canton's `hashingDetails`).
pub fn hashing_details(
    prepared: &PreparedTransaction,
    version: HashingSchemeVersion,
) -> Result<(PreparedTransactionHashes, String), HashError> {
    match version {
        HashingSchemeVersion::V2 => v2::hash_with_details(prepared),
    }
}
