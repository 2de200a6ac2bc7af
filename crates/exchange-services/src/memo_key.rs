//! The withdrawal memo key (see `exchange_core::memo`) in a file only its owner can read, and
//! the one place new withdrawal ids are made (requests from the CLI, an API, the drills).
//!
//! File format (`canton-exchange/memo-key/v1`), UTF-8 text like the signing key's:
//!
//! ```text
//! # canton-exchange withdrawal memo key: secret, keep it mode 0600, back it up apart from the DB.
//! format=canton-exchange/memo-key/v1
//! key=<32 bytes, hex>
//! ```
//!
//! Back it up apart from the Integration DB: it is what lets ingestion attribute withdrawals a
//! DB restore lost, and whoever holds it with the ledger's history can read which account made
//! each withdrawal.

use std::path::Path;

use exchange_core::changeset::AccountId;
use exchange_core::memo::{MemoKey, Sealed};
use exchange_core::withdrawal::WithdrawalId;
use exchange_core::{PartyId, Timestamp};
use zeroize::Zeroizing;

use crate::signer::{KeyFileError, read_key_file, write_key_file};

pub const MEMO_KEY_FORMAT: &str = "canton-exchange/memo-key/v1";

/// A new random memo key written to `path` (0600, never over an existing file).
pub fn generate(path: &Path) -> Result<MemoKey, KeyFileError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let text = Zeroizing::new(format!(
        "# canton-exchange withdrawal memo key: secret, keep it mode 0600, back it up apart from the DB.\n\
         format={MEMO_KEY_FORMAT}\nkey={}\n",
        hex::encode(bytes.as_ref())
    ));
    write_key_file(path, &text)?;
    Ok(MemoKey::from_bytes(*bytes))
}

/// Loads the memo key in `path`, refusing a file others may access. Errors name the file and
/// line, never the key.
pub fn load(path: &Path) -> Result<MemoKey, KeyFileError> {
    let text = read_key_file(path)?;
    let malformed = |line, why| KeyFileError::Malformed {
        path: path.to_owned(),
        line,
        why,
    };
    let (mut format, mut key) = (None, None);
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let slot = match line.split_once('=') {
            Some(("format", value)) => (&mut format, value),
            Some(("key", value)) => (&mut key, value),
            _ => return Err(malformed(index + 1, "expected format=… or key=…")),
        };
        if slot.0.replace((index + 1, slot.1.trim())).is_some() {
            return Err(malformed(index + 1, "a name given twice"));
        }
    }
    match format {
        Some((_, MEMO_KEY_FORMAT)) => {}
        Some((line, _)) => return Err(malformed(line, "unknown format")),
        None => return Err(malformed(0, "no format line")),
    }
    let (line, hex_key) = key.ok_or_else(|| malformed(0, "no key line"))?;
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_key, bytes.as_mut())
        .map_err(|_| malformed(line, "key is not 32 bytes of hex"))?;
    Ok(MemoKey::from_bytes(*bytes))
}

/// A new withdrawal id for `account`'s request now: sealed with the memo key for the treasury
/// party when the exchange has one, else a random UUID.
pub fn new_withdrawal_id(
    seal_with: Option<(&MemoKey, &PartyId)>,
    account: &AccountId,
) -> Result<WithdrawalId, KeyFileError> {
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let sealed = Sealed {
        account: account.clone(),
        requested_at: Timestamp::now(),
    };
    Ok(exchange_core::memo::withdrawal_id(
        seal_with, &sealed, random,
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_generated_key_loads_and_seals_what_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo.key");
        let key = generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(generate(&path), Err(KeyFileError::Exists { .. })));

        let loaded = load(&path).unwrap();
        let treasury = PartyId::new("treasury::1220ab").unwrap();
        let account = AccountId::new("alice").unwrap();
        let id = new_withdrawal_id(Some((&key, &treasury)), &account).unwrap();
        let opened = exchange_core::memo::unseal(&loaded, &treasury, &id).unwrap();
        assert_eq!(opened.account, account);
        assert!(format!("{loaded:?}").contains("***"));
    }

    #[test]
    fn a_key_file_others_can_read_or_a_malformed_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo.key");
        generate(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(load(&path), Err(KeyFileError::Permissions { .. })));

        let bad = dir.path().join("bad.key");
        write_key_file(&bad, &format!("format={MEMO_KEY_FORMAT}\nkey=00ff\n")).unwrap();
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("line 2") && !e.contains("00ff"), "{e}");
    }
}
