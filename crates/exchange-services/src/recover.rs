//! The node-restore runbook (`disaster-recovery.rst`, "Restoring the Exchange Validator Node
//! from a Backup"), steps 2, 5 and 6: read `tRecovery` and `synchronizerId` of the last
//! ingested transaction, find `offRecovery` on the restored node, and re-point the checkpoint
//! there. Ingestion must be stopped while this runs.
//!
//! `offRecovery` is, by the guide, `GetHighestOffsetByTimestamp(synchronizerId, tRecovery)` on
//! the Admin API (gRPC). Without an Admin API client, the Ledger API gives an offset that is at
//! least as good: the restored node's offset of the last ingested transaction itself
//! (`update-by-id`), since the node re-received every committed transaction. Every transaction
//! after it is new to the DB; an operator may still pass the Admin API's answer explicitly.

use canton_ledger::client::ClientError;
use canton_ledger::filters::UpdateFormat;
use exchange_core::Offset;
use exchange_core::changeset::{Checkpoint, IngestedUpdate};
use exchange_store::{Store, StoreError};

use crate::source::Source;

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("nothing to recover: the DB has not ingested any transaction yet")]
    NothingIngested,
    #[error(
        "the node does not have the last ingested update {update_id} (record time {record_time}) yet: wait until the restored node has caught up with the synchronizer, then run this again"
    )]
    NotYetOnNode {
        update_id: String,
        record_time: String,
    },
    #[error("invalid offset {0}")]
    Offset(i64),
    #[error(transparent)]
    Ledger(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the runbook did.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub before: Checkpoint,
    pub after: Checkpoint,
}

/// Re-points the checkpoint to the restored node: at `off_recovery` if given (the Admin API's
/// answer), else at the node's offset of the last ingested transaction.
pub async fn node_restore(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    off_recovery: Option<i64>,
) -> Result<Recovered, RecoverError> {
    let before = store
        .checkpoint()
        .await?
        .ok_or(RecoverError::NothingIngested)?;
    let last = before
        .last_update
        .clone()
        .ok_or(RecoverError::NothingIngested)?;
    let new_offset = source
        .offset_of(last.update_id.as_str(), format)
        .await?
        .ok_or_else(|| RecoverError::NotYetOnNode {
            update_id: last.update_id.to_string(),
            record_time: last.record_time.to_string(),
        })?;
    let new_offset = Offset::new(new_offset).map_err(|_| RecoverError::Offset(new_offset))?;
    let resume = match off_recovery {
        Some(o) => Offset::new(o).map_err(|_| RecoverError::Offset(o))?,
        None => new_offset,
    };
    let after = Checkpoint {
        offset: resume,
        last_update: Some(IngestedUpdate {
            offset: new_offset,
            ..last
        }),
    };
    store.rewind_checkpoint(&after).await?;
    Ok(Recovered { before, after })
}
