//! The node-restore runbook (`disaster-recovery.rst`, "Restoring the Exchange Validator Node
//! from a Backup"), steps 2, 5 and 6: read `tRecovery` and `synchronizerId` of the last
//! ingested transaction, find `offRecovery` on the restored node, and re-point the checkpoint
//! there. Ingestion must be stopped while this runs.
//!
//! `offRecovery` is, by the guide, `GetHighestOffsetByTimestamp(synchronizerId, tRecovery)` on
//! the Admin API (gRPC): [`node_restore_via_admin`]. First, in every variant, the restored node
//! must have the last ingested update (`update-by-id`): until it has, it has not caught up and
//! nothing is changed. Without the Admin API, the Ledger API gives an offset that is at least as
//! good: the restored node's offset of the last ingested transaction itself, since the node
//! re-received every committed transaction ([`node_restore`] with no offset).
//!
//! The Admin call is made without `force` first. `force = true` is used only for a time at or
//! before a record time this node has been seen to hold (`tRecovery`, confirmed above), which is
//! `ledger-api.md` §6's practical rule: on 3.5 an exact-match miss (`NOT_FOUND`) or, with
//! non-unique record times, the lookup at `tRecovery - 1 µs`. `OUT_OF_RANGE` (3.4's "not caught
//! up", retryable) and 3.5's `UNPROCESSED_REQUESTED_TIMESTAMP` stop the command: the operator
//! retries once the node has caught up. The exception is 3.4's `OUT_OF_RANGE` for
//! `tRecovery - 1 µs`, which also means "no update at or before": asked again with force, a
//! second `OUT_OF_RANGE` means tRecovery is the synchronizer's first record time, and
//! ingestion resumes from the ledger's beginning.

use canton_ledger::admin_client::{AdminClient, AdminError, grpc_code};
use canton_ledger::client::ClientError;
use canton_ledger::filters::UpdateFormat;
use exchange_core::Offset;
use exchange_core::changeset::{Checkpoint, IngestedUpdate};
use exchange_store::{OperatorNote, Store, StoreError};

use crate::source::Source;

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("nothing to recover: the DB has not ingested any transaction yet")]
    NothingIngested,
    #[error(
        "ingestion is running against this DB (it holds the {0}): stop it first (the runbook's first step), then run this again"
    )]
    IngestionRunning(String),
    #[error(
        "the node does not have the last ingested update {update_id} (record time {record_time}) yet: wait until the restored node has caught up with the synchronizer, then run this again"
    )]
    NotYetOnNode {
        update_id: String,
        record_time: String,
    },
    #[error(
        "the Admin API says the node has not caught up to {timestamp} on {synchronizer_id} yet ({source}): wait until it has, then run this again"
    )]
    AdminNotCaughtUp {
        timestamp: String,
        synchronizer_id: String,
        source: AdminError,
    },
    #[error(
        "the Admin API's offRecovery {off_recovery} for tRecovery {record_time} is below the node's offset {update_offset} of the last ingested update {update_id}: refusing to re-ingest from there (is --admin-api the restored node's Admin API?)"
    )]
    AdminOffsetImplausible {
        off_recovery: i64,
        update_offset: i64,
        update_id: String,
        record_time: String,
    },
    #[error("the Admin API (GetHighestOffsetByTimestamp) failed: {0}")]
    Admin(AdminError),
    #[error(
        "--offset {given} is beyond the restored node's offset {highest} of the last ingested update {update_id}: ingestion would skip every transaction in between, crediting none of them. Use an offset of at most {highest} (or --admin-api), or, only if you are sure nothing between them concerns the treasury, add --skip-updates-after-last-ingested (recorded in the DB's operator log)"
    )]
    OffsetBeyondLastIngested {
        given: i64,
        highest: i64,
        update_id: String,
    },
    #[error("invalid offset {0}")]
    Offset(i64),
    #[error("record time {0} µs since the epoch is out of range")]
    RecordTime(i64),
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
    /// How the Admin API was asked, if it was.
    pub admin: Option<AdminLookup>,
}

/// The Admin API lookup that gave `offRecovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminLookup {
    /// The time looked up: `tRecovery`, or `tRecovery - 1 µs` for non-unique record times.
    pub timestamp: exchange_core::Timestamp,
    /// Whether `force = true` was needed (the unforced call answered `NOT_FOUND`).
    pub forced: bool,
    pub off_recovery: i64,
}

/// Which time to look up: the guide's plain runbook, or its variant for nodes with non-unique
/// record times (look up `tRecovery - 1 µs`, then the skip rule filters by known update id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordTimes {
    Unique,
    NonUnique,
}

/// An offset the operator gives instead of asking the Admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenOffset {
    pub offset: i64,
    /// Accept an offset beyond the node's offset of the last ingested update: the updates in
    /// between are never ingested. Logged in the DB.
    pub skip_updates_after_last_ingested: bool,
}

impl GivenOffset {
    /// An offset the runbook's checks apply to (no override).
    pub fn at(offset: i64) -> GivenOffset {
        GivenOffset {
            offset,
            skip_updates_after_last_ingested: false,
        }
    }
}

/// Re-points the checkpoint to the restored node: at the operator's `given` offset, else at
/// the node's offset of the last ingested transaction.
///
/// A given offset beyond that one would skip ledger updates nobody has ingested (deposits never
/// credited): refused unless explicitly overridden, and then recorded in the operator log.
pub async fn node_restore(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    given: Option<GivenOffset>,
) -> Result<Recovered, RecoverError> {
    repoint(store, source, format, |(last, update_offset)| async move {
        let Some(given) = given else {
            return Ok((None, None));
        };
        if given.offset > update_offset && !given.skip_updates_after_last_ingested {
            return Err(RecoverError::OffsetBeyondLastIngested {
                given: given.offset,
                highest: update_offset,
                update_id: last.update_id.to_string(),
            });
        }
        Ok((Some(given.offset), None))
    })
    .await
}

/// The runbook with the Admin API: confirms the restored node has the last ingested update,
/// then asks `GetHighestOffsetByTimestamp(synchronizerId, tRecovery)` for `offRecovery`
/// (unforced first; forced only per the rule in the module docs) and re-points there.
pub async fn node_restore_via_admin(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    admin: &AdminClient,
    record_times: RecordTimes,
) -> Result<Recovered, RecoverError> {
    repoint(store, source, format, |(last, update_offset)| async move {
        let t_recovery = last.record_time.micros();
        let micros = match record_times {
            RecordTimes::Unique => t_recovery,
            RecordTimes::NonUnique => t_recovery - 1,
        };
        let timestamp = exchange_core::Timestamp::from_micros(micros)
            .ok_or(RecoverError::RecordTime(micros))?;
        let sync = last.synchronizer_id.as_str();
        let not_caught_up = |source: AdminError| RecoverError::AdminNotCaughtUp {
            timestamp: timestamp.to_string(),
            synchronizer_id: sync.to_owned(),
            source,
        };
        let (off, forced) = match admin.highest_offset_by_timestamp(sync, micros, false).await {
            Ok(off) => (off, false),
            // 3.5: no update at exactly this time (always so for `tRecovery - 1 µs`). The time
            // is at or before tRecovery, which this node holds: force is safe.
            Err(e) if e.grpc_code() == Some(grpc_code::NOT_FOUND) => {
                match admin.highest_offset_by_timestamp(sync, micros, true).await {
                    Ok(off) => (off, true),
                    Err(e) if is_not_caught_up(&e) => return Err(not_caught_up(e)),
                    Err(e) => return Err(RecoverError::Admin(e)),
                }
            }
            // 3.4 answers OUT_OF_RANGE both for "not caught up" and for "no update at or
            // before the time". For `tRecovery - 1 µs` the node holds a later record time
            // (tRecovery, confirmed above), so force is safe and settles which it is.
            Err(e)
                if record_times == RecordTimes::NonUnique
                    && e.grpc_code() == Some(grpc_code::OUT_OF_RANGE) =>
            {
                match admin.highest_offset_by_timestamp(sync, micros, true).await {
                    Ok(off) => (off, true),
                    // Forced, only "nothing at or before" remains: tRecovery is the
                    // synchronizer's first record time on this node. Everything is read again
                    // from the start and the skip rule (by update id) drops what was ingested.
                    Err(e) if e.grpc_code() == Some(grpc_code::OUT_OF_RANGE) => {
                        (Offset::BEGIN.get(), true)
                    }
                    Err(e) if is_not_caught_up(&e) => return Err(not_caught_up(e)),
                    Err(e) => return Err(RecoverError::Admin(e)),
                }
            }
            Err(e) if is_not_caught_up(&e) => return Err(not_caught_up(e)),
            Err(e) => return Err(RecoverError::Admin(e)),
        };
        // The last ingested update has record time tRecovery, so the highest offset at or
        // before tRecovery cannot be below its offset (with unique record times).
        if record_times == RecordTimes::Unique && off < update_offset {
            return Err(RecoverError::AdminOffsetImplausible {
                off_recovery: off,
                update_offset,
                update_id: last.update_id.to_string(),
                record_time: last.record_time.to_string(),
            });
        }
        Ok((
            Some(off),
            Some(AdminLookup {
                timestamp,
                forced,
                off_recovery: off,
            }),
        ))
    })
    .await
}

/// 3.4's `INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR` (OUT_OF_RANGE, retryable) and 3.5's
/// `UNPROCESSED_REQUESTED_TIMESTAMP`: the node has not processed that far yet.
fn is_not_caught_up(e: &AdminError) -> bool {
    e.grpc_code() == Some(grpc_code::OUT_OF_RANGE)
        || e.canton_code() == Some("UNPROCESSED_REQUESTED_TIMESTAMP")
}

/// Confirms the node has the last ingested update, asks `resume` for the offset to resume
/// after (None: that update's own offset), and rewinds the checkpoint there.
async fn repoint<F, Fut>(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    resume: F,
) -> Result<Recovered, RecoverError>
where
    F: FnOnce((IngestedUpdate, i64)) -> Fut,
    Fut: std::future::Future<Output = Result<(Option<i64>, Option<AdminLookup>), RecoverError>>,
{
    // The checkpoint must not move under a running ingestion: hold its lease meanwhile.
    let party = store
        .treasury_party()
        .await?
        .ok_or(RecoverError::NothingIngested)?;
    let lease = store
        .try_ingestion_lease(&party)
        .await?
        .ok_or_else(|| RecoverError::IngestionRunning(store.ingestion_lease_name(&party)))?;
    let result = async {
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
        let (off_recovery, admin) = resume((last.clone(), new_offset)).await?;
        let new_offset = Offset::new(new_offset).map_err(|_| RecoverError::Offset(new_offset))?;
        let resume = match off_recovery {
            Some(o) => Offset::new(o).map_err(|_| RecoverError::Offset(o))?,
            None => new_offset,
        };
        // A resume point past the last ingested update skips what lies between: only ever on
        // the operator's explicit word, and on the record.
        let note = (resume > new_offset).then(|| OperatorNote {
            action: "node-restore: skip updates after the last ingested one".to_owned(),
            detail: format!(
                "checkpoint {} -> {}; the last ingested update {} is at offset {} on this node; offsets {}..={} are never ingested",
                before.offset,
                resume,
                last.update_id,
                new_offset,
                new_offset.get() + 1,
                resume
            ),
        });
        let after = Checkpoint {
            offset: resume,
            last_update: Some(IngestedUpdate {
                offset: new_offset,
                ..last
            }),
        };
        store.rewind_checkpoint(&after, note.as_ref()).await?;
        Ok(Recovered {
            before,
            after,
            admin,
        })
    }
    .await;
    lease.release().await;
    result
}
