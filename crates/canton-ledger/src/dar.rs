//! Reading a `.dar` before it is uploaded or recorded: what packages it brings, checked. Pure.
//!
//! A `.dar` is a zip whose `META-INF/MANIFEST.MF` names the main archive (`Main-Dalf`) and all
//! archives (`Dalfs`). Each `.dalf` is a Daml-LF `Archive` protobuf; its package id is the
//! SHA-256 (hex) of the archive's `payload` bytes, which the archive also states in its `hash`.
//! The payload (`ArchivePayload`) carries a Daml-LF 2 `Package` whose metadata names the package
//! and its version as indexes into the package's interned strings.
//!
//! The field numbers below were found by decoding the token-standard `.dar`s in
//! `shared/fixtures/dars` and `shared/reference/token-standard-v2/dars` and checking that the
//! id computed from the payload equals the stated hash and the `-<id>.dalf` file name, and that
//! the main package's name comes out as e.g. `splice-api-token-holding-v1`, version `1.0.0`.
//! Only the fields needed are declared; prost skips the rest (modules, types, …).
//!
//! A `.dar` comes from outside (an operator's file, a vendor's release): a corrupt zip, an
//! archive whose id does not match its hash, or a zip that inflates beyond [`DarLimits`] is
//! refused, never half-read.

use std::collections::BTreeMap;
use std::io::Read;

use prost::Message;
use sha2::{Digest, Sha256};

/// `Archive` (daml_lf.proto): the payload and its hash.
#[derive(Clone, PartialEq, Message)]
struct ArchiveMsg {
    /// 0 = SHA-256, the only hash function Daml-LF defines.
    #[prost(int32, tag = "1")]
    hash_function: i32,
    #[prost(bytes = "vec", tag = "3")]
    payload: Vec<u8>,
    #[prost(string, tag = "4")]
    hash: String,
}

/// `ArchivePayload`: the LF minor version and (LF 2) the package.
#[derive(Clone, PartialEq, Message)]
struct ArchivePayloadMsg {
    #[prost(string, tag = "3")]
    minor: String,
    #[prost(message, optional, tag = "4")]
    daml_lf_2: Option<PackageMsg>,
}

/// LF 2 `Package`: only its interned strings and metadata.
#[derive(Clone, PartialEq, Message)]
struct PackageMsg {
    #[prost(string, repeated, tag = "2")]
    interned_strings: Vec<String>,
    #[prost(message, optional, tag = "4")]
    metadata: Option<PackageMetadataMsg>,
}

/// LF 2 `PackageMetadata`: name and version as interned-string indexes.
#[derive(Clone, PartialEq, Message)]
struct PackageMetadataMsg {
    #[prost(int32, tag = "1")]
    name_interned_str: i32,
    #[prost(int32, tag = "2")]
    version_interned_str: i32,
}

/// Size bounds for reading a `.dar`: the zip's headers are not trusted, inflation is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DarLimits {
    /// The `.dar` file itself.
    pub max_file_bytes: u64,
    /// Entries in the zip.
    pub max_entries: usize,
    /// One inflated entry (manifest or `.dalf`).
    pub max_entry_bytes: u64,
    /// All inflated entries read together.
    pub max_total_bytes: u64,
}

impl Default for DarLimits {
    /// Real token `.dar`s are well under 1 MiB (10 MiB inflated); these bounds leave room for
    /// large applications while keeping a crafted zip from exhausting memory.
    fn default() -> DarLimits {
        DarLimits {
            max_file_bytes: 128 << 20,
            max_entries: 10_000,
            max_entry_bytes: 128 << 20,
            max_total_bytes: 512 << 20,
        }
    }
}

/// One `.dalf` of a `.dar`, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DarPackage {
    /// SHA-256 hex of the archive's payload (= the archive's stated hash).
    pub package_id: String,
    /// From the package metadata (LF 2 packages always have it).
    pub name: String,
    pub version: String,
    /// The `.dalf` path inside the zip.
    pub path: String,
}

/// What a `.dar` holds, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DarInfo {
    /// SHA-256 hex of the whole `.dar` file.
    pub content_hash: String,
    /// The main package (`Main-Dalf`).
    pub main: DarPackage,
    /// Every archive the manifest lists, main first, each once.
    pub packages: Vec<DarPackage>,
}

impl DarInfo {
    pub fn package_ids(&self) -> impl Iterator<Item = &str> {
        self.packages.iter().map(|p| p.package_id.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid .dar: {0}")]
pub struct DarError(pub String);

fn bad(message: impl Into<String>) -> DarError {
    DarError(message.into())
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads and checks a `.dar`: every listed archive decodes, its package id matches its hash
/// (and the id in its file name), and the main package has a name and version.
pub fn read_dar(bytes: &[u8], limits: DarLimits) -> Result<DarInfo, DarError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(bad(format!(
            "the file is {} bytes, more than the {} allowed",
            bytes.len(),
            limits.max_file_bytes
        )));
    }
    let mut zip = Bounded::open(bytes, limits)?;
    let manifest_text = String::from_utf8(zip.read("META-INF/MANIFEST.MF")?)
        .map_err(|_| bad("META-INF/MANIFEST.MF is not UTF-8"))?;
    let attributes = manifest(&manifest_text);
    let main_path = attributes
        .get("Main-Dalf")
        .ok_or_else(|| bad("the manifest has no Main-Dalf"))?
        .clone();
    let mut paths = vec![main_path.clone()];
    if let Some(dalfs) = attributes.get("Dalfs") {
        for path in dalfs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if !paths.iter().any(|p| p == path) {
                paths.push(path.to_owned());
            }
        }
    }
    let mut packages = Vec::with_capacity(paths.len());
    for path in &paths {
        let dalf = zip.read(path)?;
        packages.push(read_dalf(path, &dalf).map_err(|e| bad(format!("{path}: {}", e.0)))?);
    }
    Ok(DarInfo {
        content_hash: sha256_hex(bytes),
        main: packages[0].clone(),
        packages,
    })
}

/// Decodes one `.dalf` and checks its id.
fn read_dalf(path: &str, bytes: &[u8]) -> Result<DarPackage, DarError> {
    let archive =
        ArchiveMsg::decode(bytes).map_err(|e| bad(format!("not a Daml-LF archive: {e}")))?;
    if archive.hash_function != 0 {
        return Err(bad(format!(
            "unknown hash function {}",
            archive.hash_function
        )));
    }
    let package_id = sha256_hex(&archive.payload);
    if archive.hash != package_id {
        return Err(bad(format!(
            "its payload hashes to {package_id}, but the archive says {:?}",
            archive.hash
        )));
    }
    if let Some(named) = id_in_file_name(path)
        && named != package_id
    {
        return Err(bad(format!(
            "its file name says package {named}, but its payload hashes to {package_id}"
        )));
    }
    let payload = ArchivePayloadMsg::decode(archive.payload.as_slice())
        .map_err(|e| bad(format!("undecodable archive payload: {e}")))?;
    let package = payload
        .daml_lf_2
        .ok_or_else(|| bad("not a Daml-LF 2 package (only LF 2 is supported)"))?;
    let metadata = package
        .metadata
        .as_ref()
        .ok_or_else(|| bad("the package has no metadata (name, version)"))?;
    let interned = |index: i32, what: &str| {
        usize::try_from(index)
            .ok()
            .and_then(|i| package.interned_strings.get(i))
            .filter(|s| !s.is_empty())
            .cloned()
            .ok_or_else(|| {
                bad(format!(
                    "the package {what} (interned string {index}) is missing"
                ))
            })
    };
    Ok(DarPackage {
        name: interned(metadata.name_interned_str, "name")?,
        version: interned(metadata.version_interned_str, "version")?,
        package_id,
        path: path.to_owned(),
    })
}

/// The 64 hex digits before `.dalf` in a damlc-named archive (`<name>-<package id>.dalf`).
fn id_in_file_name(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".dalf")?;
    let id = stem.get(stem.len().checked_sub(64)?..)?;
    let preceded_by_dash = stem.len() == 64 || stem[..stem.len() - 64].ends_with('-');
    (preceded_by_dash && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// The manifest's attributes; a continuation line (starting with one space) continues the
/// previous value.
fn manifest(text: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(' ') {
            if let Some(value) = last.as_ref().and_then(|k| out.get_mut(k)) {
                value.push_str(rest);
            }
        } else if let Some((key, value)) = line.split_once(": ") {
            out.insert(key.to_owned(), value.to_owned());
            last = Some(key.to_owned());
        } else {
            last = None;
        }
    }
    out
}

/// A zip read within [`DarLimits`]: sizes are counted while inflating, not taken from headers.
struct Bounded<'a> {
    zip: zip::ZipArchive<std::io::Cursor<&'a [u8]>>,
    limits: DarLimits,
    total: u64,
}

impl<'a> Bounded<'a> {
    fn open(bytes: &'a [u8], limits: DarLimits) -> Result<Bounded<'a>, DarError> {
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("not a zip archive: {e}")))?;
        if zip.len() > limits.max_entries {
            return Err(bad(format!(
                "{} entries, more than the {} allowed",
                zip.len(),
                limits.max_entries
            )));
        }
        Ok(Bounded {
            zip,
            limits,
            total: 0,
        })
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, DarError> {
        let entry = self
            .zip
            .by_name(name)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        let budget = self
            .limits
            .max_entry_bytes
            .min(self.limits.max_total_bytes - self.total);
        let mut out = Vec::new();
        // One byte past the budget tells "too large" from "exactly at the bound".
        entry
            .take(budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if out.len() as u64 > budget {
            return Err(bad(format!(
                "{name} inflates beyond the size bounds ({} bytes per entry, {} in all)",
                self.limits.max_entry_bytes, self.limits.max_total_bytes
            )));
        }
        self.total += out.len() as u64;
        Ok(out)
    }
}
