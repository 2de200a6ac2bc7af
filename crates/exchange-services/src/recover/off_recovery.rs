//! Step 5: `offRecovery` from the Admin API's `GetHighestOffsetByTimestamp`, with the rule for
//! `force` in the parent module's docs, or an operator's `--offset`, each checked against what
//! the restored node showed in step 3.

use canton_ledger::admin_client::{AdminClient, AdminError, grpc_code};
use exchange_core::changeset::IngestedUpdate;
use exchange_core::{Offset, Timestamp};

use super::{AdminLookup, GivenOffset, RecordTimes, RecoverError};

/// Which time step 5 looks up, decided before anything is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LookupAt {
    /// `GetHighestOffsetByTimestamp` at this time.
    Time(Timestamp),
    /// `tRecovery - 1 µs` with tRecovery at the minimum record time (0001-01-01, where ACS
    /// imports put their updates): no update can lie at or before a time before the ledger's
    /// first instant, so `offRecovery` is the ledger's beginning. Everything is read again and
    /// the skip rule (by update id, which non-unique record times call for) drops what was
    /// ingested. There is nothing to ask the Admin API: any answer but "nothing" would be
    /// nonsense, and the time is not even representable.
    BeforeTheLedger,
}

/// The guide's step 5: `tRecovery`, or `tRecovery - 1 µs` for non-unique record times.
pub(super) fn lookup_at(record_times: RecordTimes, t_recovery: Timestamp) -> LookupAt {
    match record_times {
        RecordTimes::Unique => LookupAt::Time(t_recovery),
        RecordTimes::NonUnique => match Timestamp::from_micros(t_recovery.micros() - 1) {
            Some(t) => LookupAt::Time(t),
            None => LookupAt::BeforeTheLedger,
        },
    }
}

/// The Admin API lookup at `timestamp` (from [`lookup_at`]) for `last` (at `update_offset`
/// on the restored node, whose ledger end is `ledger_end`).
pub(super) async fn via_admin(
    admin: &AdminClient,
    record_times: RecordTimes,
    timestamp: Timestamp,
    last: &IngestedUpdate,
    update_offset: i64,
    ledger_end: i64,
) -> Result<AdminLookup, RecoverError> {
    let micros = timestamp.micros();
    let sync = last.synchronizer_id.as_str();
    let failed = |e: AdminError| classify(e, admin, sync, &timestamp);
    let (off, forced) = match admin.highest_offset_by_timestamp(sync, micros, false).await {
        Ok(off) => (off, false),
        // 3.5: no update at exactly this time (always so for `tRecovery - 1 µs`). The time
        // is at or before tRecovery, which this node holds: force is safe.
        Err(e) if e.grpc_code() == Some(grpc_code::NOT_FOUND) => {
            match admin.highest_offset_by_timestamp(sync, micros, true).await {
                Ok(off) => (off, true),
                Err(e) => return Err(failed(e)),
            }
        }
        // 3.4 answers OUT_OF_RANGE both for "not caught up" and for "no update at or
        // before the time". For `tRecovery - 1 µs` the node holds a later record time
        // (tRecovery, confirmed in step 3), so force is safe and settles which it is.
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
                Err(e) => return Err(failed(e)),
            }
        }
        Err(e) => return Err(failed(e)),
    };
    // The last ingested update has record time tRecovery, so the highest offset at or before
    // tRecovery cannot be below its offset (with unique record times); and no node answers an
    // offset beyond its own ledger end. Either means another node's Admin API.
    let below = record_times == RecordTimes::Unique && off < update_offset;
    if below || off > ledger_end {
        return Err(RecoverError::AdminOffsetImplausible {
            address: admin.address().to_owned(),
            off_recovery: off,
            update_offset,
            ledger_end,
            update_id: last.update_id.to_string(),
            record_time: last.record_time.to_string(),
        });
    }
    Ok(AdminLookup {
        address: admin.address().to_owned(),
        timestamp,
        forced,
        off_recovery: off,
    })
}

/// An Admin API failure as the runbook reports it.
fn classify(
    e: AdminError,
    admin: &AdminClient,
    synchronizer_id: &str,
    timestamp: &Timestamp,
) -> RecoverError {
    if is_not_caught_up(&e) {
        return RecoverError::AdminNotCaughtUp {
            timestamp: timestamp.to_string(),
            synchronizer_id: synchronizer_id.to_owned(),
            source: e,
        };
    }
    // The synchronizer id is the one the restored node itself showed in step 3: a node that
    // calls it invalid is not that node.
    if e.grpc_code() == Some(grpc_code::INVALID_ARGUMENT) {
        return RecoverError::AdminOfAnotherNode {
            address: admin.address().to_owned(),
            synchronizer_id: synchronizer_id.to_owned(),
            source: e,
        };
    }
    RecoverError::Admin(e)
}

/// 3.4's `INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR` (OUT_OF_RANGE, retryable) and 3.5's
/// `UNPROCESSED_REQUESTED_TIMESTAMP`: the node has not processed that far yet.
fn is_not_caught_up(e: &AdminError) -> bool {
    e.grpc_code() == Some(grpc_code::OUT_OF_RANGE)
        || e.canton_code() == Some("UNPROCESSED_REQUESTED_TIMESTAMP")
}

/// An operator's offset: at most the restored node's offset of the last ingested update,
/// unless explicitly overridden.
pub(super) fn given(
    given: GivenOffset,
    last: &IngestedUpdate,
    update_offset: i64,
) -> Result<i64, RecoverError> {
    if given.offset > update_offset && !given.skip_updates_after_last_ingested {
        return Err(RecoverError::OffsetBeyondLastIngested {
            given: given.offset,
            highest: update_offset,
            update_id: last.update_id.to_string(),
        });
    }
    Ok(given.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn unique_record_times_look_up_t_recovery_itself() {
        for at in [Timestamp::MIN, t("2026-01-02T03:04:05.000006Z")] {
            assert_eq!(lookup_at(RecordTimes::Unique, at), LookupAt::Time(at));
        }
    }

    #[test]
    fn non_unique_record_times_look_up_one_microsecond_earlier() {
        assert_eq!(
            lookup_at(RecordTimes::NonUnique, t("2026-01-02T03:04:05.000006Z")),
            LookupAt::Time(t("2026-01-02T03:04:05.000005Z"))
        );
        // One above the minimum: the minimum itself is still a time to ask about.
        let next = Timestamp::from_micros(Timestamp::MIN.micros() + 1).unwrap();
        assert_eq!(
            lookup_at(RecordTimes::NonUnique, next),
            LookupAt::Time(Timestamp::MIN)
        );
    }

    /// The ACS import's record time: nothing lies before it, so the ledger's beginning.
    #[test]
    fn non_unique_record_times_at_the_minimum_record_time_start_from_the_beginning() {
        assert_eq!(
            lookup_at(RecordTimes::NonUnique, t("0001-01-01T00:00:00Z")),
            LookupAt::BeforeTheLedger
        );
    }
}
