//! Who signed: Canton names a signing key by its fingerprint, which is also the namespace of an
//! external party's id (`hint::<fingerprint>`) and the `signedBy` of its signatures.

use sha2::{Digest, Sha256};

/// Canton's hash purpose for public-key fingerprints (`HashPurpose.PublicKeyFingerprint`).
pub const PUBLIC_KEY_FINGERPRINT_PURPOSE: u32 = 12;

/// The fingerprint of a raw Ed25519 public key: the multihash (`12 20` = SHA-256, 32 bytes), in
/// hex, of the SHA-256 of the purpose (4 bytes, big-endian) followed by the key.
pub fn public_key_fingerprint(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(PUBLIC_KEY_FINGERPRINT_PURPOSE.to_be_bytes());
    h.update(key);
    format!("1220{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    /// Pinned: computed once outside Rust (Python's hashlib) for the key of 32 bytes `07`.
    #[test]
    fn a_known_key_has_its_known_fingerprint() {
        assert_eq!(
            super::public_key_fingerprint(&[7; 32]),
            "1220fe79a2f13493de49cb3ddc5305622888e64ad656a20dd304dd325cb70dfe8722"
        );
    }
}
