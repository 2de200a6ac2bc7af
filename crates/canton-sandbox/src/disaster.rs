//! Disasters on command: node backups (snapshots of the node's whole state) kept by id. What a
//! restore does to the node is [`crate::world::World::restore`]; this is only the shelf.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::world::World;

/// Names one backup: `backup-<n>`, unique within a sandbox's life.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackupId(pub String);

impl std::fmt::Display for BackupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no backup with id {0}")]
pub struct UnknownBackup(pub BackupId);

/// Snapshots taken so far. A snapshot is a clone of the world: cheap enough for a sandbox (the
/// world is a few hundred bytes per update) and exact by construction.
#[derive(Debug, Default)]
pub struct Backups {
    taken: BTreeMap<BackupId, World>,
}

impl Backups {
    pub fn take(&mut self, world: &World) -> BackupId {
        let id = BackupId(format!("backup-{}", self.taken.len() + 1));
        self.taken.insert(id.clone(), world.clone());
        id
    }

    pub fn get(&self, id: &BackupId) -> Result<&World, UnknownBackup> {
        self.taken.get(id).ok_or_else(|| UnknownBackup(id.clone()))
    }
}
