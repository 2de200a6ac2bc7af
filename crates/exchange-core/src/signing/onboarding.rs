//! The treasury's own onboarding as an external party: the one other thing its key signs. The
//! node's `generate-topology` answer is decoded and checked to onboard exactly the party asked
//! for (`canton_interactive::topology::check_onboarding`: our key's namespace, `hint::<its
//! fingerprint>`, our key alone, hosted on this participant alone with the expected
//! permission, nothing else) and its multi-hash recomputed; only then is there a
//! [`VerifiedOnboarding`] for a [`super::Signer`] to sign.

use canton_interactive::topology::{
    ExpectedOnboarding, TopologyMismatch, check_onboarding, proto::ParticipantPermission,
};

use super::PublicKey;

/// What `generate-topology` answered, its transactions already base64-decoded.
#[derive(Debug, Clone, Copy)]
pub struct GeneratedTopology<'a> {
    pub party_id: &'a str,
    pub public_key_fingerprint: &'a str,
    pub transactions: &'a [Vec<u8>],
    pub multi_hash: &'a [u8],
}

/// Onboarding transactions the check passed: the only onboarding a signer signs. It cannot be
/// built outside this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedOnboarding {
    party: String,
    fingerprint: String,
    multi_hash: Vec<u8>,
}

impl VerifiedOnboarding {
    /// The multi-hash (34 bytes, equal to the node's) to sign.
    pub fn multi_hash(&self) -> &[u8] {
        &self.multi_hash
    }

    /// `hint::<fingerprint>`.
    pub fn party(&self) -> &str {
        &self.party
    }

    /// The key's fingerprint: the signature's `signedBy`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Whether `generated` onboards `hint::<fingerprint of key>` with `key` alone, hosted on
/// `participant_uid` alone as a confirming participant (an external party's submissions are
/// signed off-node, so its participant only confirms).
pub fn verify_onboarding(
    key: PublicKey,
    hint: &str,
    participant_uid: &str,
    generated: GeneratedTopology<'_>,
) -> Result<VerifiedOnboarding, TopologyMismatch> {
    let expected = ExpectedOnboarding {
        hint: hint.to_owned(),
        key: key.0,
        participant_uid: participant_uid.to_owned(),
        permission: ParticipantPermission::Confirmation,
    };
    let checked = check_onboarding(
        &expected,
        generated.party_id,
        generated.public_key_fingerprint,
        generated.transactions,
        generated.multi_hash,
    )?;
    Ok(VerifiedOnboarding {
        party: checked.party,
        fingerprint: checked.fingerprint,
        multi_hash: checked.multi_hash,
    })
}
