//! Sealed withdrawal memos: the withdrawal id that travels as a transfer's `reason` memo
//! carries the customer account and the request's time, encrypted and authenticated with a key
//! only the exchange holds (XChaCha20-Poly1305). After a DB restore loses a withdrawal request,
//! ingestion finds the transfer on the ledger and [`unseal`]s its memo to debit the right
//! account, without an operator and without showing the receiver or the token admin anything
//! (the guide's plain metadata option shows them the account).
//!
//! Format: `w1.` + base64url (no padding) of `nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`,
//! plaintext `requested_at (i64 µs, big endian) ‖ account id (UTF-8)`. The associated data
//! binds a memo to the treasury party, so a memo copied onto another party's transfer does not
//! open. The random 24-byte nonce makes every id unique without a counter. An account id of 20
//! characters gives a 95-character memo.
//!
//! Pure: the caller brings the nonce (from the OS) and the time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::changeset::AccountId;
use crate::withdrawal::WithdrawalId;
use crate::{PartyId, Timestamp};

const PREFIX: &str = "w1.";
const NONCE: usize = 24;
const TAG: usize = 16;
const AAD_LABEL: &[u8] = b"canton-exchange withdrawal memo v1\0";

/// The 32-byte memo key. `Debug` shows nothing of it; it is wiped when dropped.
#[derive(Clone)]
pub struct MemoKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MemoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoKey(***)")
    }
}

impl MemoKey {
    pub fn from_bytes(bytes: [u8; 32]) -> MemoKey {
        MemoKey(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.0).into())
    }
}

/// What a sealed memo says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub account: AccountId,
    pub requested_at: Timestamp,
}

fn aad(treasury: &PartyId) -> Vec<u8> {
    [AAD_LABEL, treasury.as_str().as_bytes()].concat()
}

/// The withdrawal id sealing `sealed` for `treasury`'s transfers, with a fresh `nonce`.
pub fn seal(
    key: &MemoKey,
    treasury: &PartyId,
    sealed: &Sealed,
    nonce: [u8; NONCE],
) -> WithdrawalId {
    let plain = Zeroizing::new(
        [
            &sealed.requested_at.micros().to_be_bytes()[..],
            sealed.account.as_str().as_bytes(),
        ]
        .concat(),
    );
    let aad = aad(treasury);
    let ciphertext = key
        .cipher()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
    let body = [&nonce[..], &ciphertext].concat();
    WithdrawalId::new(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(body)))
        .expect("a sealed memo is never empty")
}

/// What `id` seals, if it is a memo sealed with `key` for `treasury`: `None` for any other id
/// (a plain UUID, another key, another party, a memo altered in transit).
pub fn unseal(key: &MemoKey, treasury: &PartyId, id: &WithdrawalId) -> Option<Sealed> {
    let body = URL_SAFE_NO_PAD
        .decode(id.as_str().strip_prefix(PREFIX)?)
        .ok()?;
    if body.len() < NONCE + TAG + 8 {
        return None;
    }
    let (nonce, ciphertext) = body.split_at(NONCE);
    let aad = aad(treasury);
    let plain = Zeroizing::new(
        key.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()?,
    );
    let (time, account) = plain.split_at(8);
    let micros = i64::from_be_bytes(time.try_into().ok()?);
    Some(Sealed {
        account: AccountId::new(std::str::from_utf8(account).ok()?)?,
        requested_at: Timestamp::from_micros(micros)?,
    })
}

/// A new withdrawal id from 24 random bytes: sealed for the treasury party when the exchange
/// has a memo key, else a random UUID (version 4 layout) as before memo keys existed.
pub fn withdrawal_id(
    seal_with: Option<(&MemoKey, &PartyId)>,
    sealed: &Sealed,
    random: [u8; NONCE],
) -> WithdrawalId {
    if let Some((key, treasury)) = seal_with {
        return seal(key, treasury, sealed, random);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&random[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    WithdrawalId::new(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
    .expect("a UUID is never empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str) -> PartyId {
        PartyId::new(&format!("{name}::1220abcd")).unwrap()
    }

    fn sealed() -> Sealed {
        Sealed {
            account: AccountId::new("customer-00000000042").unwrap(),
            requested_at: Timestamp::from_micros(1_767_225_600_123_456).unwrap(),
        }
    }

    #[test]
    fn a_sealed_memo_opens_with_its_key_and_party_only() {
        let key = MemoKey::from_bytes([7; 32]);
        let treasury = party("treasury");
        let id = seal(&key, &treasury, &sealed(), [1; 24]);
        assert!(id.as_str().starts_with("w1."));
        assert!(id.as_str().len() <= 100, "{} chars", id.as_str().len());
        assert!(
            !id.as_str().contains("customer"),
            "the account must not show"
        );
        assert_eq!(unseal(&key, &treasury, &id), Some(sealed()));

        assert_eq!(unseal(&MemoKey::from_bytes([8; 32]), &treasury, &id), None);
        assert_eq!(unseal(&key, &party("other"), &id), None);
        // Any changed character is refused (the tag covers nonce and ciphertext).
        let text = id.as_str();
        for at in [3, text.len() / 2, text.len() - 1] {
            let mut changed = text.to_owned().into_bytes();
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            let changed = WithdrawalId::new(String::from_utf8(changed).unwrap()).unwrap();
            assert_eq!(unseal(&key, &treasury, &changed), None, "changed at {at}");
        }
    }

    #[test]
    fn other_ids_do_not_open() {
        let key = MemoKey::from_bytes([7; 32]);
        let treasury = party("treasury");
        for id in [
            "3f1c1d4e-8a6b-4c1e-9d2f-0a1b2c3d4e5f",
            "w1.",
            "w1.!!",
            "w1.AAAA",
        ] {
            assert_eq!(
                unseal(&key, &treasury, &WithdrawalId::new(id).unwrap()),
                None
            );
        }
    }

    #[test]
    fn ids_are_sealed_only_with_a_key_and_differ_per_nonce() {
        let key = MemoKey::from_bytes([7; 32]);
        let treasury = party("treasury");
        let plain = withdrawal_id(None, &sealed(), [9; 24]);
        assert_eq!(plain.as_str().len(), 36);
        assert_eq!(&plain.as_str()[14..15], "4", "a version-4 UUID");
        let a = withdrawal_id(Some((&key, &treasury)), &sealed(), [1; 24]);
        let b = withdrawal_id(Some((&key, &treasury)), &sealed(), [2; 24]);
        assert_ne!(a, b);
        assert_eq!(unseal(&key, &treasury, &a), unseal(&key, &treasury, &b));
    }
}
