//! The check at start: is the node the one whose history the checkpoint belongs to?
//!
//! The checkpoint names its last ingested transaction (update id at an offset). A node restored
//! from a backup re-receives the same transactions under new offsets, and another node never had
//! ours: in both cases streaming from the stored offset would ingest a different stream. So
//! ingestion only resumes if the node still has that update at that offset, its ledger end is
//! not behind the checkpoint, and the checkpoint's offset is not pruned.

use canton_ledger::client::ClientError;
use canton_ledger::filters::UpdateFormat;
use exchange_core::changeset::Checkpoint;

use crate::observe::Observer;
use crate::retry::{RetryPolicy, retry_call};
use crate::source::Source;

/// The command of our node-restore runbook.
pub const RECOVER_COMMAND: &str = "canton-exchange recover validator";

/// Why ingestion refuses to resume from its checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "the node's ledger end {ledger_end} is behind the checkpoint offset {checkpoint}: the node was restored from a backup, or this is another node. {}",
        advice()
    )]
    NodeBehind { ledger_end: i64, checkpoint: i64 },
    #[error(
        "the node has {} at offset {offset}, but the checkpoint's last ingested update there is {expected}: the node was restored from a backup (offsets changed), or this is another node. {}",
        found.as_deref().map_or("no transaction of the treasury".to_owned(), |f| format!("update {f}")),
        advice()
    )]
    UpdateMissing {
        offset: i64,
        expected: String,
        found: Option<String>,
    },
    #[error(
        "the node pruned its history up to offset {pruned}, past the checkpoint offset {checkpoint} (or the checkpoint's last update at offset {last_update}): ingestion cannot read from there or verify the node. If the node was restored, {}; otherwise the updates between are gone from this node and must come from another source (a recording: `canton-exchange ingest --ledger file:…`)",
        advice_short()
    )]
    Pruned {
        pruned: i64,
        checkpoint: i64,
        last_update: i64,
    },
    #[error("checking the node failed: {0}")]
    Ledger(#[from] ClientError),
}

fn advice_short() -> String {
    format!(
        "follow the node-restore runbook (disaster-recovery.rst, \"Restoring the Exchange Validator Node from a Backup\"): run `{RECOVER_COMMAND}`"
    )
}

fn advice() -> String {
    format!(
        "Do not ingest from here. If the node was restored, {} with the same --db and --ledger: it finds offRecovery for the checkpoint's record time and re-points the checkpoint; then start ingestion again",
        advice_short()
    )
}

/// Checks the node against the checkpoint; `Ok` means resuming after `checkpoint.offset` reads
/// the stream the checkpoint came from. Each call to the node is retried on its own with
/// `retry` (see [`retry_call`]).
pub async fn check(
    source: &Source,
    checkpoint: &Checkpoint,
    format: &UpdateFormat,
    retry: &RetryPolicy,
    observer: &dyn Observer,
) -> Result<(), IdentityError> {
    let offset = checkpoint.offset.get();
    if offset == 0 {
        return Ok(());
    }
    let ledger_end = retry_call(retry, observer, "ledger end", || source.ledger_end()).await?;
    if ledger_end < offset {
        return Err(IdentityError::NodeBehind {
            ledger_end,
            checkpoint: offset,
        });
    }
    let pruned = retry_call(retry, observer, "pruned offset", || source.pruned_offset()).await?;
    let last_offset = checkpoint.last_update.as_ref().map(|u| u.offset.get());
    if pruned > offset || last_offset.is_some_and(|o| o <= pruned) {
        return Err(IdentityError::Pruned {
            pruned,
            checkpoint: offset,
            last_update: last_offset.unwrap_or(0),
        });
    }
    if let Some(last) = &checkpoint.last_update {
        let at = last.offset.get();
        let found = retry_call(retry, observer, "the update at the checkpoint", || {
            source.update_id_at(at, format)
        })
        .await?;
        if found.as_deref() != Some(last.update_id.as_str()) {
            return Err(IdentityError::UpdateMissing {
                offset: last.offset.get(),
                expected: last.update_id.to_string(),
                found,
            });
        }
    }
    Ok(())
}
