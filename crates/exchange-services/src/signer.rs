//! The embedded [`Signer`]: the treasury's Ed25519 key in a file only its owner can read.
//!
//! File format (`canton-exchange/ed25519-key/v1`), UTF-8 text, one `name=value` per line,
//! `#` comments:
//!
//! ```text
//! # canton-exchange Ed25519 signing key: secret, keep it mode 0600.
//! format=canton-exchange/ed25519-key/v1
//! public-key=<32 bytes, hex>
//! secret-key=<the 32-byte Ed25519 seed, hex>
//! ```
//!
//! Loading refuses a file that group or others may read or write (any of `0o077`), a format it
//! does not know, and a public key that is not the secret key's. Errors name the file and the
//! line, never its content; `Debug` shows the public key only; secrets are wiped from memory
//! when dropped. An HSM or KMS is another [`Signer`].

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey};
use exchange_core::signing::{
    PublicKey, SignError, Signature, Signer, Verified, VerifiedOnboarding,
};
use zeroize::Zeroizing;

pub const KEY_FILE_FORMAT: &str = "canton-exchange/ed25519-key/v1";

/// Why a key file could not be written or loaded. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already exists; not overwriting a key")]
    Exists { path: PathBuf },
    #[error("{path} has mode {mode:04o}: group or others may access it; run `chmod 600` on it")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path}, line {line}: {why}")]
    Malformed {
        path: PathBuf,
        line: usize,
        why: &'static str,
    },
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// A signer holding the treasury's key, loaded from (or just written to) a key file.
pub struct FileSigner {
    key: SigningKey,
}

impl std::fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileSigner({:?})", self.public_key())
    }
}

impl Signer for FileSigner {
    fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    fn sign(&self, verified: &Verified) -> Result<Signature, SignError> {
        Ok(Signature(self.key.sign(verified.hash()).to_bytes()))
    }

    fn sign_onboarding(&self, verified: &VerifiedOnboarding) -> Result<Signature, SignError> {
        Ok(Signature(self.key.sign(verified.multi_hash()).to_bytes()))
    }
}

impl FileSigner {
    /// A new random key written to `path` (created with mode 0600; an existing file is never
    /// overwritten).
    pub fn generate(path: &Path) -> Result<FileSigner, KeyFileError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyFileError::Random(e.to_string()))?;
        let signer = FileSigner {
            key: SigningKey::from_bytes(&seed),
        };
        let text = Zeroizing::new(format!(
            "# canton-exchange Ed25519 signing key: secret, keep it mode 0600.\n\
             format={KEY_FILE_FORMAT}\npublic-key={}\nsecret-key={}\n",
            signer.public_key().to_hex(),
            hex::encode(seed.as_ref()),
        ));
        write_key_file(path, &text)?;
        Ok(signer)
    }

    /// Hands over the key itself, for a holder that signs without the verifier: the sandbox's
    /// own scenario treasury (`canton-exchange sandbox --treasury-key`), which signs only the
    /// transactions its scenario builds. The exchange's treasury signs through [`Signer`] only.
    pub fn into_signing_key(self) -> SigningKey {
        self.key
    }

    /// Loads the key in `path`, refusing a file others may access.
    pub fn load(path: &Path) -> Result<FileSigner, KeyFileError> {
        parse(path, &read_key_file(path)?)
    }
}

/// The text of a key file, refusing one that group or others may read or write.
pub(crate) fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|_| KeyFileError::Malformed {
            path: path.to_owned(),
            line: 0,
            why: "not a UTF-8 text key file",
        })?;
    Ok(text)
}

/// Writes a new key file: created 0600, never over an existing file, synced.
pub(crate) fn write_key_file(path: &Path, text: &str) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => KeyFileError::Exists {
                path: path.to_owned(),
            },
            _ => io(e),
        })?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

fn parse(path: &Path, text: &str) -> Result<FileSigner, KeyFileError> {
    let malformed = |line, why| KeyFileError::Malformed {
        path: path.to_owned(),
        line,
        why,
    };
    let (mut format, mut public, mut secret) = (None, None, None);
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(malformed(index + 1, "expected name=value"));
        };
        let slot = match name.trim() {
            "format" => &mut format,
            "public-key" => &mut public,
            "secret-key" => &mut secret,
            _ => return Err(malformed(index + 1, "unknown name")),
        };
        if slot.replace((index + 1, value.trim())).is_some() {
            return Err(malformed(index + 1, "a name given twice"));
        }
    }
    match format {
        Some((_, KEY_FILE_FORMAT)) => {}
        Some((line, _)) => return Err(malformed(line, "unknown format")),
        None => return Err(malformed(0, "no format line")),
    }
    let (secret_line, secret) = secret.ok_or_else(|| malformed(0, "no secret-key line"))?;
    let seed = decode_32(secret)
        .ok_or_else(|| malformed(secret_line, "secret-key is not 32 bytes of hex"))?;
    let signer = FileSigner {
        key: SigningKey::from_bytes(&seed),
    };
    let (public_line, public) = public.ok_or_else(|| malformed(0, "no public-key line"))?;
    if decode_32(public).map(|k| *k) != Some(signer.public_key().0) {
        return Err(malformed(public_line, "public-key is not the secret key's"));
    }
    Ok(signer)
}

fn decode_32(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text, out.as_mut()).ok()?;
    Some(out)
}
