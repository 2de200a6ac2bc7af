//! Interactive executions accepted but not yet sequenced (the `holdExecutions` fault). On a real
//! node `execute` answers once the submission is accepted and sequencing happens later; the
//! sandbox normally sequences at once, so there is nothing in between to lose. Holding makes
//! that window visible: what is held is node-local, so a restore loses it, and releasing
//! sequences it exactly as an immediate execution would have been (checked again then:
//! deduplication, max sequencing time, the inputs still active). Pure: the queue only.

use std::collections::BTreeSet;

use canton_ledger::commands::DeduplicationPeriod;
use serde::{Deserialize, Serialize};

use crate::interactive::Authorized;

/// One accepted execution: what was authorized (signatures checked) and what its completion
/// will report.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub authorized: Authorized,
    pub user_id: String,
    pub submission_id: String,
    /// Applied when it is sequenced, against the clock of that moment.
    pub deduplication_period: DeduplicationPeriod,
}

/// Accepted executions waiting to be sequenced, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PendingExecutions {
    queue: Vec<Accepted>,
}

impl PendingExecutions {
    pub fn hold(&mut self, accepted: Accepted) {
        self.queue.push(accepted);
    }

    /// Everything held, in acceptance order, leaving the queue empty.
    pub fn take_all(&mut self) -> Vec<Accepted> {
        std::mem::take(&mut self.queue)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The held execution of the same change (`userId`, `actAs` set, `commandId`), if any: a
    /// second one is refused at once, as Canton refuses a change already in flight.
    pub fn in_flight(
        &self,
        user_id: &str,
        act_as: &[String],
        command_id: &str,
    ) -> Option<&Accepted> {
        let set = |parties: &[String]| -> BTreeSet<String> { parties.iter().cloned().collect() };
        let wanted = set(act_as);
        self.queue.iter().find(|a| {
            a.user_id == user_id
                && a.authorized.command_id == command_id
                && set(&a.authorized.act_as) == wanted
        })
    }
}

/// What a release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseReport {
    /// Held executions sequenced now (each has a completion).
    pub released: usize,
    /// Of those, how many committed; the others' rejections are on the completion stream.
    pub committed: usize,
}
