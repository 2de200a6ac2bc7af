//! Who signs: a `Signer` turns a [`Verified`] transaction into the treasury's Ed25519 signature.
//! The trait takes nothing but a `Verified`, which only the verifier makes, so an unverified
//! transaction cannot reach a key. Implementations hold the key (a 0600 file in
//! `exchange-services`; an HSM or KMS later) and live at the edge, where IO is.

use std::fmt;

use super::intent::Intent;
use super::mismatch::Mismatch;
use super::onboarding::VerifiedOnboarding;
use super::verify::{Verified, verify_bytes};

/// A raw Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Canton's fingerprint of the key, the namespace of the external party it signs for:
    /// `1220` (SHA-256 multihash) and the hex SHA-256 of the purpose (4 bytes, big-endian) and
    /// the raw key.
    pub fn fingerprint(&self) -> String {
        canton_interactive::public_key_fingerprint(&self.0)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

/// An Ed25519 signature (64 bytes) over a prepared transaction's hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// The signer could not sign (device unavailable, ...). Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signer failed: {0}")]
pub struct SignError(pub String);

/// Holds the treasury's key.
pub trait Signer {
    fn public_key(&self) -> PublicKey;

    /// Signs `verified.hash()`: the only way to have a transaction signed.
    fn sign(&self, verified: &Verified) -> Result<Signature, SignError>;

    /// Signs `verified.multi_hash()`: the treasury's own onboarding as an external party, the
    /// only other thing its key signs, again only after a check.
    fn sign_onboarding(&self, verified: &VerifiedOnboarding) -> Result<Signature, SignError>;
}

/// Why nothing was signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("refused to sign: {0}")]
    Mismatch(#[from] Mismatch),
    #[error(transparent)]
    Signer(#[from] SignError),
}

/// The whole path in one call: decode `bytes`, verify them against `intent` and `node_hash`, and
/// only then ask `signer`.
pub fn verify_and_sign(
    signer: &dyn Signer,
    intent: &Intent,
    bytes: &[u8],
    node_hash: &[u8],
) -> Result<Signature, Refused> {
    let verified = verify_bytes(intent, bytes, node_hash)?;
    Ok(signer.sign(&verified)?)
}
