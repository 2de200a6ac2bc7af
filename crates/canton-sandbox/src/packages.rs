//! Daml packages on the node (`ledger-api.md` §5): the ones its tokens use, and `.dar` uploads.
//! A `.dar` is a zip of `.dalf` archives listed by `META-INF/MANIFEST.MF` (`Main-Dalf`,
//! `Dalfs`); each archive's package id is the hash suffix of its file name (damlc names them
//! `<name>-<package id>.dalf`). Archives are kept but never interpreted: there is no Daml
//! engine. Uploads are node-local data: a node restored from a backup has the backup's. Pure.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use crate::token::counterfeit::PACKAGE_ID as COUNTERFEIT_PACKAGE_ID;
use crate::token::offer::PACKAGE_ID as SANDBOX_TOKEN_PACKAGE_ID;
use crate::token::packages::{
    ALLOCATION_V2_PACKAGE_ID, HOLDING_V1_PACKAGE_ID, HOLDING_V2_PACKAGE_ID,
    SPLICE_AMULET_PACKAGE_ID, TRANSFER_EVENTS_V2_PACKAGE_ID, TRANSFER_INSTRUCTION_V1_PACKAGE_ID,
    TRANSFER_INSTRUCTION_V2_PACKAGE_ID,
};

/// What a `.dar` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dar {
    /// The manifest's `Name`.
    pub name: String,
    pub main_package_id: String,
    /// Every listed archive: package id and `.dalf` bytes, in manifest order.
    pub packages: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dar file is corrupt: {0}")]
pub struct InvalidDar(pub String);

/// The manifest's attributes; continuation lines (starting with a space) are joined.
fn manifest(text: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(' ') {
            if let Some(v) = last.as_ref().and_then(|k| out.get_mut(k)) {
                v.push_str(rest);
            }
        } else if let Some((k, v)) = line.split_once(": ") {
            out.insert(k.to_owned(), v.to_owned());
            last = Some(k.to_owned());
        }
    }
    out
}

/// The package id in a `.dalf` path: the 64 hex digits before `.dalf`.
fn package_id_of(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".dalf")?;
    let id = stem.get(stem.len().checked_sub(64)?..)?;
    id.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| id.to_ascii_lowercase())
}

pub fn read_dar(bytes: &[u8]) -> Result<Dar, InvalidDar> {
    let bad = |m: String| InvalidDar(m);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a zip archive: {e}")))?;
    let mut read = |name: &str| -> Result<Vec<u8>, InvalidDar> {
        let mut entry = zip.by_name(name).map_err(|e| bad(format!("{name}: {e}")))?;
        let mut out = Vec::new();
        entry
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        Ok(out)
    };
    let text = String::from_utf8(read("META-INF/MANIFEST.MF")?)
        .map_err(|_| bad("the manifest is not UTF-8".into()))?;
    let attributes = manifest(&text);
    let main = attributes
        .get("Main-Dalf")
        .ok_or_else(|| bad("the manifest has no Main-Dalf".into()))?;
    let main_package_id =
        package_id_of(main).ok_or_else(|| bad(format!("no package id in {main}")))?;
    let mut packages = Vec::new();
    for path in attributes
        .get("Dalfs")
        .map_or(vec![main.as_str()], |d| d.split(", ").collect())
    {
        let id = package_id_of(path).ok_or_else(|| bad(format!("no package id in {path}")))?;
        packages.push((id, read(path)?));
    }
    Ok(Dar {
        name: attributes.get("Name").cloned().unwrap_or_default(),
        main_package_id,
        packages,
    })
}

#[derive(Debug, Clone, Default)]
pub struct Packages {
    /// Uploaded archives by package id (shared with backups).
    uploaded: BTreeMap<String, Arc<[u8]>>,
}

/// The packages of the templates and interfaces the sandbox's tokens use; the node has them
/// from the start but no archives to hand out. The counterfeit's is among them as if its `.dar`
/// had been uploaded: a participant hosts informees only of contracts whose package it vetted.
/// The token standard V2 interfaces are there as on a Splice 0.6.11+ node (Amulet implements
/// them; the V2-only SBX mode uses nothing else).
pub const BUILT_IN: [&str; 9] = [
    SPLICE_AMULET_PACKAGE_ID,
    HOLDING_V1_PACKAGE_ID,
    TRANSFER_INSTRUCTION_V1_PACKAGE_ID,
    HOLDING_V2_PACKAGE_ID,
    TRANSFER_EVENTS_V2_PACKAGE_ID,
    TRANSFER_INSTRUCTION_V2_PACKAGE_ID,
    ALLOCATION_V2_PACKAGE_ID,
    SANDBOX_TOKEN_PACKAGE_ID,
    COUNTERFEIT_PACKAGE_ID,
];

/// The token standard V2 interface packages (CIP-0112, Splice 0.6.11+).
pub const V2_INTERFACE_PACKAGES: [&str; 4] = [
    HOLDING_V2_PACKAGE_ID,
    TRANSFER_EVENTS_V2_PACKAGE_ID,
    TRANSFER_INSTRUCTION_V2_PACKAGE_ID,
    ALLOCATION_V2_PACKAGE_ID,
];

impl Packages {
    /// Adds the `.dar`'s archives (re-uploading the same packages is a no-op, as on a node).
    pub fn upload(&mut self, dar: Dar) -> String {
        for (id, bytes) in dar.packages {
            self.uploaded.entry(id).or_insert_with(|| bytes.into());
        }
        dar.main_package_id
    }

    /// Every known package id, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = BUILT_IN.iter().map(|s| (*s).to_owned()).collect();
        ids.extend(self.uploaded.keys().cloned());
        ids.sort();
        ids.dedup();
        ids
    }

    pub fn is_known(&self, id: &str) -> bool {
        BUILT_IN.contains(&id) || self.uploaded.contains_key(id)
    }

    /// The archive of an uploaded package.
    pub fn archive(&self, id: &str) -> Option<Arc<[u8]>> {
        self.uploaded.get(id).cloned()
    }
}
