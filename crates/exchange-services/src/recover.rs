//! The node-restore runbook (`disaster-recovery.rst`, "Restoring the Exchange Validator Node
//! from a Backup") as one guarded walk, [`validator_restore`]: each step says what it checks
//! and refuses what would lose or double a deposit.
//!
//! 1. Ingestion and automation are stopped: the runbook takes the ingestion lease (and holds
//!    it to the end, so nothing starts meanwhile) and refuses while any automation claim on
//!    withdrawals or deposit accepts is live.
//! 2. `tRecovery` and `synchronizerId` of the last ingested transaction, from the DB.
//! 3. (The operator restores the node.) The restored node must have the last ingested update,
//!    on the same synchronizer: until it has, it has not caught up and nothing is changed.
//! 4. Every `.dar` recorded at token onboarding that the node lacks is uploaded again.
//! 5. `offRecovery`: by the guide, `GetHighestOffsetByTimestamp(synchronizerId, tRecovery)`
//!    on the Admin API (gRPC). Without the Admin API, the Ledger API gives an offset that is
//!    at least as good: the restored node's offset of the last ingested transaction itself,
//!    since the node re-received every committed transaction; or the operator's `--offset`.
//! 6. The checkpoint is re-pointed and the recovery recorded, in one DB transaction.
//!
//! A dry run does steps 1 to 5 reading only and changes nothing, neither the DB nor the node.
//! Re-running converges: a second run finds the `.dar`s present and re-points to the same place.
//!
//! The Admin call is made without `force` first. `force = true` is used only for a time at or
//! before a record time this node has been seen to hold (`tRecovery`, confirmed in step 3),
//! which is `ledger-api.md` §6's practical rule: on 3.5 an exact-match miss (`NOT_FOUND`) or,
//! with non-unique record times, the lookup at `tRecovery - 1 µs`. `OUT_OF_RANGE` (3.4's "not
//! caught up", retryable) and 3.5's `UNPROCESSED_REQUESTED_TIMESTAMP` stop the command: the
//! operator retries once the node has caught up. The exception is 3.4's `OUT_OF_RANGE` for
//! `tRecovery - 1 µs`, which also means "no update at or before": asked again with force, a
//! second `OUT_OF_RANGE` means tRecovery is the synchronizer's first record time, and
//! ingestion resumes from the ledger's beginning. So it does, without asking, when tRecovery is
//! the minimum record time itself (the last ingested update an ACS import): `tRecovery - 1 µs`
//! lies before the ledger's first instant.

mod dars;
mod off_recovery;
mod repoint;

use canton_ledger::admin_client::{AdminClient, AdminError};
use canton_ledger::client::ClientError;
use canton_ledger::filters::UpdateFormat;
use exchange_core::changeset::{Checkpoint, IngestedUpdate};
use exchange_core::{Offset, Timestamp};
use exchange_store::{Store, StoreError};

use crate::source::Source;

pub use dars::DarCheck;

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("nothing to recover: the DB has not ingested any transaction yet")]
    NothingIngested,
    #[error(
        "ingestion is running against this DB (it holds the {0}): stop it first (the runbook's first step), then run this again"
    )]
    IngestionRunning(String),
    #[error(
        "automation is working on this DB: live claims on {0}. Stop `canton-exchange run` (every replica) first (the runbook's first step), or wait until the claims expire, then run this again"
    )]
    AutomationRunning(String),
    #[error(
        "the node does not have the last ingested update {update_id} (record time {record_time}) yet: wait until the restored node has caught up with the synchronizer, then run this again"
    )]
    NotYetOnNode {
        update_id: String,
        record_time: String,
    },
    #[error(
        "the node shows the last ingested update {update_id} on synchronizer {on_node}, the DB on {in_db}: this DB and this node do not belong together; nothing changed"
    )]
    WrongSynchronizer {
        update_id: String,
        on_node: String,
        in_db: String,
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
        "the Admin API at {address} does not know synchronizer {synchronizer_id}, which the restored node's Ledger API shows ({source}): is --admin-api the restored node's Admin API? Nothing changed"
    )]
    AdminOfAnotherNode {
        address: String,
        synchronizer_id: String,
        source: AdminError,
    },
    #[error(
        "the Admin API at {address} answers offRecovery {off_recovery} for tRecovery {record_time}, but the restored node has the last ingested update {update_id} at offset {update_offset} and its ledger end is {ledger_end}: refusing to re-ingest from there (is --admin-api the restored node's Admin API?)"
    )]
    AdminOffsetImplausible {
        address: String,
        off_recovery: i64,
        update_offset: i64,
        ledger_end: i64,
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
    #[error(
        "the .dar {file_name} (main package {main_package_id}) in the DB does not match the hash recorded at onboarding: not uploading it. Upload the original file with `canton-exchange tokens add`"
    )]
    DarAltered {
        main_package_id: String,
        file_name: String,
    },
    #[error("the node does not list the re-uploaded .dar main packages {0}")]
    DarNotListed(String),
    #[error("invalid offset {0}")]
    Offset(i64),
    #[error(transparent)]
    Ledger(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the runbook found and did.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub before: Checkpoint,
    /// The checkpoint re-pointed to (in a dry run: the one it would be re-pointed to).
    pub after: Checkpoint,
    /// How the Admin API was asked, if it was.
    pub admin: Option<AdminLookup>,
    /// Step 4.
    pub dars: DarCheck,
    /// The restored node's participant id.
    pub participant_id: Option<String>,
    /// Nothing was changed.
    pub dry_run: bool,
}

/// The Admin API lookup that gave `offRecovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminLookup {
    pub address: String,
    /// The time looked up: `tRecovery`, or `tRecovery - 1 µs` for non-unique record times.
    pub timestamp: Timestamp,
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

/// Where step 5 takes `offRecovery` from.
#[derive(Debug, Clone, Copy)]
pub enum OffRecoveryBy<'a> {
    /// The restored node's offset of the last ingested update (Ledger API only).
    LastIngested,
    /// The operator's offset.
    Given(GivenOffset),
    /// `GetHighestOffsetByTimestamp` on the restored node's Admin API.
    Admin(&'a AdminClient, RecordTimes),
}

/// One run of the runbook.
#[derive(Debug, Clone, Copy)]
pub struct Runbook<'a> {
    pub store: &'a Store,
    /// The restored node (its Ledger API).
    pub source: &'a Source,
    pub format: &'a UpdateFormat,
    pub off_recovery: OffRecoveryBy<'a>,
    pub dry_run: bool,
    /// Who runs it, for the record.
    pub operator: &'a str,
}

/// Walks the runbook; `say(step, text)` is told what each step checks, finds and does.
pub async fn validator_restore(
    runbook: &Runbook<'_>,
    say: &mut dyn FnMut(u8, String),
) -> Result<Recovered, RecoverError> {
    let store = runbook.store;
    say(
        1,
        "checking that ingestion and automation are stopped (the ingestion lease, automation claims)"
            .into(),
    );
    let party = store
        .treasury_party()
        .await?
        .ok_or(RecoverError::NothingIngested)?;
    // The checkpoint must not move under a running ingestion: hold its lease to the end.
    let lease = store
        .try_ingestion_lease(&party)
        .await?
        .ok_or_else(|| RecoverError::IngestionRunning(store.ingestion_lease_name(&party)))?;
    let result = steps_after_the_lease(runbook, say).await;
    lease.release().await;
    result
}

async fn steps_after_the_lease(
    runbook: &Runbook<'_>,
    say: &mut dyn FnMut(u8, String),
) -> Result<Recovered, RecoverError> {
    let Runbook { store, source, .. } = *runbook;
    refuse_live_claims(store).await?;
    say(1, "ingestion and automation are stopped".into());

    let before = store
        .checkpoint()
        .await?
        .ok_or(RecoverError::NothingIngested)?;
    let last = before
        .last_update
        .clone()
        .ok_or(RecoverError::NothingIngested)?;
    say(
        2,
        format!(
            "tRecovery {} on synchronizer {} (the last ingested update {}, at offset {} before the restore)",
            last.record_time, last.synchronizer_id, last.update_id, last.offset
        ),
    );

    say(
        3,
        format!(
            "the node is restored from its backup (yours to do); checking it has caught up to the last ingested update {}",
            last.update_id
        ),
    );
    let update_offset = caught_up(runbook, &last).await?;
    // A recording (audits, replays) stands for a node without packages or identity.
    let client = match source {
        Source::Ledger { client, .. } => Some(client),
        Source::File(_) => None,
    };
    let participant_id = match client {
        Some(c) => c.participant_id().await.ok(),
        None => None,
    };
    say(
        3,
        format!(
            "the restored node{} has it at offset {update_offset}, on the same synchronizer",
            participant_id
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default()
        ),
    );

    let dars = dars::step_4(store, client, runbook.dry_run, say).await?;

    let (resume, admin) = step_5(runbook, &last, update_offset, say).await?;
    let found = Found {
        before,
        last,
        update_offset,
        dars,
        participant_id,
    };
    repoint::step_6(runbook, found, resume, admin, say).await
}

/// Step 1's second half: automation has no lease, but a replica's claim that has not expired
/// says it is working on the DB.
async fn refuse_live_claims(store: &Store) -> Result<(), RecoverError> {
    let claims = store.live_claims(Timestamp::now()).await?;
    if claims.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = claims
        .iter()
        .map(|c| format!("{} {} by {} until {}", c.kind, c.id, c.claimed_by, c.until))
        .collect();
    Err(RecoverError::AutomationRunning(list.join("; ")))
}

/// What steps 2 to 4 found.
pub(crate) struct Found {
    pub(crate) before: Checkpoint,
    pub(crate) last: IngestedUpdate,
    /// The last ingested update's offset on the restored node.
    pub(crate) update_offset: i64,
    pub(crate) dars: DarCheck,
    pub(crate) participant_id: Option<String>,
}

/// Step 3: the restored node's offset of the last ingested update, on the DB's synchronizer.
async fn caught_up(runbook: &Runbook<'_>, last: &IngestedUpdate) -> Result<i64, RecoverError> {
    let on_node = runbook
        .source
        .transaction(last.update_id.as_str(), runbook.format)
        .await?
        .ok_or_else(|| RecoverError::NotYetOnNode {
            update_id: last.update_id.to_string(),
            record_time: last.record_time.to_string(),
        })?;
    if on_node.synchronizer_id != last.synchronizer_id.as_str() {
        return Err(RecoverError::WrongSynchronizer {
            update_id: last.update_id.to_string(),
            on_node: on_node.synchronizer_id,
            in_db: last.synchronizer_id.to_string(),
        });
    }
    Ok(on_node.offset)
}

/// Step 5: the offset to resume after, and the Admin lookup that gave it.
async fn step_5(
    runbook: &Runbook<'_>,
    last: &IngestedUpdate,
    update_offset: i64,
    say: &mut dyn FnMut(u8, String),
) -> Result<(i64, Option<AdminLookup>), RecoverError> {
    match runbook.off_recovery {
        OffRecoveryBy::LastIngested => {
            say(
                5,
                format!(
                    "offRecovery {update_offset}: the restored node's offset of the last ingested update (no Admin API)"
                ),
            );
            Ok((update_offset, None))
        }
        OffRecoveryBy::Given(given) => {
            let off = off_recovery::given(given, last, update_offset)?;
            say(5, format!("offRecovery {off} (given)"));
            Ok((off, None))
        }
        OffRecoveryBy::Admin(admin, record_times) => {
            let timestamp = match off_recovery::lookup_at(record_times, last.record_time) {
                off_recovery::LookupAt::Time(t) => t,
                off_recovery::LookupAt::BeforeTheLedger => {
                    let off = Offset::BEGIN.get();
                    say(5, format!("offRecovery {off}: {BEFORE_THE_LEDGER}"));
                    return Ok((off, None));
                }
            };
            let t = match record_times {
                RecordTimes::Unique => "tRecovery",
                RecordTimes::NonUnique => "tRecovery - 1µs (non-unique record times)",
            };
            say(
                5,
                format!(
                    "asking the Admin API at {} for GetHighestOffsetByTimestamp({}, {t})",
                    admin.address(),
                    last.synchronizer_id
                ),
            );
            let ledger_end = runbook.source.ledger_end().await?;
            let lookup = off_recovery::via_admin(
                admin,
                record_times,
                timestamp,
                last,
                update_offset,
                ledger_end,
            )
            .await?;
            say(
                5,
                format!(
                    "offRecovery {} (GetHighestOffsetByTimestamp at {}{})",
                    lookup.off_recovery,
                    lookup.timestamp,
                    if lookup.forced { ", force=true" } else { "" }
                ),
            );
            Ok((lookup.off_recovery, Some(lookup)))
        }
    }
}

/// Why `offRecovery` is the ledger's beginning when tRecovery is the minimum record time (said
/// in step 5 and recorded in step 6).
pub(crate) const BEFORE_THE_LEDGER: &str = "the ledger's beginning: tRecovery is the minimum record time (an ACS import's), so nothing lies at or before tRecovery - 1µs (non-unique record times) and the Admin API was not asked; everything is read again and updates already ingested are skipped by update id";

/// The runbook without narration, re-pointing at the operator's `given` offset, else at the
/// node's offset of the last ingested transaction.
///
/// A given offset beyond that one would skip ledger updates nobody has ingested (deposits never
/// credited): refused unless explicitly overridden, and then recorded in the operator log.
pub async fn node_restore(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    given: Option<GivenOffset>,
) -> Result<Recovered, RecoverError> {
    let off_recovery = match given {
        Some(g) => OffRecoveryBy::Given(g),
        None => OffRecoveryBy::LastIngested,
    };
    quietly(store, source, format, off_recovery).await
}

/// The runbook without narration, with the Admin API for `offRecovery`.
pub async fn node_restore_via_admin(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    admin: &AdminClient,
    record_times: RecordTimes,
) -> Result<Recovered, RecoverError> {
    let by = OffRecoveryBy::Admin(admin, record_times);
    quietly(store, source, format, by).await
}

async fn quietly(
    store: &Store,
    source: &Source,
    format: &UpdateFormat,
    off_recovery: OffRecoveryBy<'_>,
) -> Result<Recovered, RecoverError> {
    let runbook = Runbook {
        store,
        source,
        format,
        off_recovery,
        dry_run: false,
        operator: "",
    };
    validator_restore(&runbook, &mut |_, _| {}).await
}
