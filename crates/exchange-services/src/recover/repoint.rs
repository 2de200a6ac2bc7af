//! Step 6: re-points the checkpoint to `offRecovery` and records the recovery (who, when, the
//! old and new identity of the last ingested update, where `offRecovery` came from, the `.dar`s
//! uploaded again), in one DB transaction; a dry run only says what it would do.

use exchange_core::Offset;
use exchange_core::changeset::{Checkpoint, IngestedUpdate};
use exchange_store::{OperatorNote, RecoveryRecord};

use super::{AdminLookup, Found, OffRecoveryBy, RecoverError, Recovered, Runbook};

pub(super) async fn step_6(
    runbook: &Runbook<'_>,
    found: Found,
    resume: i64,
    admin: Option<AdminLookup>,
    say: &mut dyn FnMut(u8, String),
) -> Result<Recovered, RecoverError> {
    let offset = |o: i64| Offset::new(o).map_err(|_| RecoverError::Offset(o));
    let new_offset = offset(found.update_offset)?;
    let resume = offset(resume)?;
    let before = &found.before;
    let last = &found.last;
    let after = Checkpoint {
        offset: resume,
        last_update: Some(IngestedUpdate {
            offset: new_offset,
            ..last.clone()
        }),
    };
    if runbook.dry_run {
        say(
            6,
            format!(
                "dry run: would re-point the checkpoint {} -> {} and record the recovery; nothing changed",
                before.offset, after.offset
            ),
        );
    } else {
        let note = skip_note(before, last, new_offset, resume);
        let record = record(runbook, &found, &after, admin.as_ref());
        runbook
            .store
            .record_node_restore(&after, note.as_ref(), &record)
            .await?;
        say(
            6,
            format!(
                "checkpoint re-pointed {} -> {} (the last ingested update: offset {} -> {}); recovery recorded",
                before.offset, after.offset, last.offset, new_offset
            ),
        );
    }
    Ok(Recovered {
        before: found.before,
        after,
        admin,
        dars: found.dars,
        participant_id: found.participant_id,
        dry_run: runbook.dry_run,
    })
}

/// A resume point past the last ingested update skips what lies between: only ever on the
/// operator's explicit word, and then on the record.
fn skip_note(
    before: &Checkpoint,
    last: &IngestedUpdate,
    new_offset: Offset,
    resume: Offset,
) -> Option<OperatorNote> {
    (resume > new_offset).then(|| OperatorNote {
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
    })
}

fn record(
    runbook: &Runbook<'_>,
    found: &Found,
    after: &Checkpoint,
    admin: Option<&AdminLookup>,
) -> RecoveryRecord {
    let last = &found.last;
    let off_recovery_source = match admin {
        Some(a) => format!(
            "Admin API {} GetHighestOffsetByTimestamp at {}{}",
            a.address,
            a.timestamp,
            if a.forced { " force=true" } else { "" }
        ),
        None => match runbook.off_recovery {
            OffRecoveryBy::Given(_) => "given by the operator".to_owned(),
            // The Admin API is not asked only when there is nothing before tRecovery.
            OffRecoveryBy::Admin(..) => super::BEFORE_THE_LEDGER.to_owned(),
            OffRecoveryBy::LastIngested => {
                "the restored node's offset of the last ingested update".to_owned()
            }
        },
    };
    RecoveryRecord {
        runbook: "validator".to_owned(),
        operator: runbook.operator.to_owned(),
        t_recovery: last.record_time,
        synchronizer_id: last.synchronizer_id.to_string(),
        last_update_id: last.update_id.to_string(),
        last_offset_before: last.offset.get(),
        last_offset_after: found.update_offset,
        checkpoint_before: found.before.offset.get(),
        checkpoint_after: after.offset.get(),
        off_recovery_source,
        participant_id: found.participant_id.clone(),
        dars_uploaded: if found.dars.uploaded {
            found.dars.missing.clone()
        } else {
            Vec::new()
        },
    }
}
