//! The command completions this node wrote (`ledger-api.md` §4.2): one per submission that
//! reached the synchronizer, committed or rejected. Node-local data: a node restored from a
//! backup has only the backup's completions (its pending submissions are lost with them).
//! Pure: no IO.

use canton_ledger::commands::DeduplicationPeriod;
use exchange_core::Timestamp;

/// The node's maximum deduplication duration (Canton's `max-deduplication-duration` default,
/// 7 days): what `{"Empty": {}}` or an absent `deduplicationPeriod` means, and the longest
/// duration a submission may ask for.
pub const MAX_DEDUPLICATION_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

/// Which earlier acceptances of a change make a submission a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupWindow {
    /// Those published (record time) at or after this instant.
    Since(Timestamp),
    /// Those at an offset after this one.
    AfterOffset(i64),
}

/// Why a `deduplicationPeriod` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupPeriodError {
    /// A negative duration (Canton: `INVALID_FIELD`).
    Negative,
    /// Longer than the maximum (Canton: `INVALID_DEDUPLICATION_PERIOD`); the given duration and
    /// the maximum, both in microseconds.
    TooLong { given: i64, max: i64 },
}

/// The window a submission's `deduplicationPeriod` asks for, at ledger time `now` (the
/// participant's clock, Canton's baseline). `None`/`Empty` is the node's maximum duration.
pub fn dedup_window(
    period: Option<&DeduplicationPeriod>,
    now: Timestamp,
) -> Result<DedupWindow, DedupPeriodError> {
    let micros = match period {
        None | Some(DeduplicationPeriod::Empty(_)) => MAX_DEDUPLICATION_MICROS,
        Some(DeduplicationPeriod::DeduplicationOffset(o)) => {
            return Ok(DedupWindow::AfterOffset(o.value));
        }
        Some(DeduplicationPeriod::DeduplicationDuration(d)) => {
            let d = d.value;
            if d.seconds < 0 || d.nanos < 0 {
                return Err(DedupPeriodError::Negative);
            }
            // Record times have microsecond precision; a partial microsecond still counts.
            d.seconds
                .saturating_mul(1_000_000)
                .saturating_add((i64::from(d.nanos) + 999) / 1_000)
        }
    };
    if micros > MAX_DEDUPLICATION_MICROS {
        return Err(DedupPeriodError::TooLong {
            given: micros,
            max: MAX_DEDUPLICATION_MICROS,
        });
    }
    Ok(DedupWindow::Since(
        now.checked_add_micros(-micros).unwrap_or(Timestamp::MIN),
    ))
}

/// A duration as Java's `Duration.toString` prints it (`PT168H`, `PT10M`, `PT1.5S`), which
/// Canton's messages and `longest_duration` use.
pub fn iso_duration(micros: i64) -> String {
    if micros == 0 {
        return "PT0S".to_owned();
    }
    let hours = micros / 3_600_000_000;
    let minutes = micros % 3_600_000_000 / 60_000_000;
    let rest = micros % 60_000_000;
    let mut out = String::from("PT");
    if hours != 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes != 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if rest != 0 {
        let whole = rest / 1_000_000;
        let fraction = rest % 1_000_000;
        if fraction == 0 {
            out.push_str(&format!("{whole}S"));
        } else {
            let digits = format!("{fraction:06}");
            out.push_str(&format!("{whole}.{}S", digits.trim_end_matches('0')));
        }
    }
    out
}

/// One submission's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRecord {
    pub command_id: String,
    pub user_id: String,
    pub act_as: Vec<String>,
    pub submission_id: String,
    /// `None` = committed; otherwise the gRPC code and the Canton error text of the rejection.
    pub rejection: Option<(i32, String)>,
    /// The committed update's id and trace; empty for a rejection.
    pub update_id: String,
    pub traceparent: Option<String>,
    /// The update's offset, or the offset the rejection took.
    pub offset: i64,
    /// The synchronizer the submission was sequenced on, and its record time there.
    pub synchronizer_id: String,
    pub record_time: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct Completions {
    /// In offset order (offsets are handed out under the same lock that appends here).
    log: Vec<CompletionRecord>,
}

impl Completions {
    pub fn record(&mut self, completion: CompletionRecord) {
        debug_assert!(self.log.last().is_none_or(|c| c.offset < completion.offset));
        self.log.push(completion);
    }

    /// The change's latest acceptance, if it falls in the deduplication `window`: a second
    /// submission of the same change (user, `actAs` set, command id) is then a duplicate. As
    /// Canton's command deduplicator, only the latest acceptance counts (rejections never do).
    /// A restore forgets them, as a restored node does.
    pub fn duplicate_of(
        &self,
        user_id: &str,
        act_as: &[String],
        command_id: &str,
        window: DedupWindow,
    ) -> Option<&CompletionRecord> {
        let set = |parties: &[String]| -> std::collections::BTreeSet<String> {
            parties.iter().cloned().collect()
        };
        let wanted = set(act_as);
        let latest = self.log.iter().rev().find(|c| {
            c.rejection.is_none()
                && c.command_id == command_id
                && c.user_id == user_id
                && set(&c.act_as) == wanted
        })?;
        let within = match window {
            // Canton accepts iff the acceptance was published before the period's start.
            DedupWindow::Since(start) => latest.record_time >= start,
            DedupWindow::AfterOffset(offset) => latest.offset > offset,
        };
        within.then_some(latest)
    }

    /// Completions after `begin_exclusive` for submissions by any of `parties` (and by
    /// `user_id` unless it is empty), in offset order.
    pub fn after<'a>(
        &'a self,
        begin_exclusive: i64,
        user_id: &'a str,
        parties: &'a [String],
    ) -> impl Iterator<Item = &'a CompletionRecord> + 'a {
        let from = self.log.partition_point(|c| c.offset <= begin_exclusive);
        self.log[from..].iter().filter(move |c| {
            (user_id.is_empty() || c.user_id == user_id)
                && c.act_as.iter().any(|p| parties.contains(p))
        })
    }
}
