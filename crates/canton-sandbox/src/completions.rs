//! The command completions this node wrote (`ledger-api.md` §4.2): one per submission that
//! reached the synchronizer, committed or rejected. Node-local data: a node restored from a
//! backup has only the backup's completions (its pending submissions are lost with them).
//! Pure: no IO.

use exchange_core::Timestamp;

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

    /// The committed completion with this change id (user, `actAs` set, command id), if any:
    /// deduplication refuses a second submission of the same change. The window is unbounded
    /// here (a node's default is days); a restore forgets it, as a restored node does.
    pub fn committed_change(
        &self,
        user_id: &str,
        act_as: &[String],
        command_id: &str,
    ) -> Option<&CompletionRecord> {
        let set = |parties: &[String]| -> std::collections::BTreeSet<String> {
            parties.iter().cloned().collect()
        };
        let wanted = set(act_as);
        self.log.iter().rev().find(|c| {
            c.rejection.is_none()
                && c.command_id == command_id
                && c.user_id == user_id
                && set(&c.act_as) == wanted
        })
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
