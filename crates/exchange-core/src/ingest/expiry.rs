//! What the passing of record time does on its own: withdrawals still waiting for their
//! transfer past `trecTgt`, and offers still pending past their `executeBefore`, expire
//! without the ledger saying so.
//!
//! # Invariants
//! - A deadline is judged only by the ingested record time of the synchronizer it is bounded
//!   by (never another synchronizer's clock); where that is not known, by the earliest of all,
//!   so never too early.

use super::ids::offer_deposit_id;
use super::known::{IngestState, Known};
use super::transition::transition_effects;
use crate::Timestamp;
use crate::changeset::{
    ChangeSet, DepositState, Direction as Way, Effect, InstructionState, TransferInstruction,
};
use crate::withdrawal::{WithdrawalId, WithdrawalState, WithdrawalTransition};

/// How far a transaction's record time may be after its ledger time (Canton's default
/// `ledgerTimeRecordTimeTolerance`). An instrument judges `executeBefore` by ledger time, so an
/// accept made just before it may be sequenced up to this much later: an offer has certainly
/// expired only once the record time passed `executeBefore` by this much.
pub const LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS: i64 = 60_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DueKind {
    NoTransfer,
    OfferExpired,
}

struct Due {
    id: WithdrawalId,
    kind: DueKind,
    bound: Timestamp,
    time: Timestamp,
}

impl Known {
    /// Withdrawals whose time is up at the ingested record time of their synchronizer (Canton
    /// bounds a transfer by the record time of the synchronizer it is sequenced on; other
    /// synchronizers' clocks are unrelated): still waiting for their transfer past `trecTgt`,
    /// or with an offer still pending past its `executeBefore`. Where the synchronizer is not
    /// known, judged by the earliest of all synchronizers' times: never too early, possibly
    /// later than needed. With the bound and the time compared against.
    fn due(&self) -> Vec<Due> {
        let earliest = self.record_times.values().min().copied();
        let mut due: Vec<Due> = self
            .withdrawals
            .iter()
            .filter_map(|(id, w)| {
                let (kind, bound) = match w.state {
                    WithdrawalState::Requested | WithdrawalState::Submitted => {
                        (DueKind::NoTransfer, w.trec_tgt?)
                    }
                    // A recovered withdrawal with an offer is a pending offer too (one
                    // recovered from a completed transfer has no `executeBefore`).
                    WithdrawalState::PendingAcceptance | WithdrawalState::Recovered => (
                        DueKind::OfferExpired,
                        w.offer_expires?
                            .checked_add_micros(LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS)?,
                    ),
                    _ => return None,
                };
                let time = match &w.synchronizer {
                    Some(s) => self.record_times.get(s).copied(),
                    None => earliest,
                }?;
                // An offer may still be accepted at a record time before that bound.
                let passed = match kind {
                    DueKind::NoTransfer => bound < time,
                    DueKind::OfferExpired => bound <= time,
                };
                passed.then(|| Due {
                    id: id.clone(),
                    kind,
                    bound,
                    time,
                })
            })
            .collect();
        due.sort_by(|a, b| a.id.cmp(&b.id));
        due
    }
}

/// Marks the withdrawals whose `trecTgt` passed without their transfer as expired, with their
/// refunds and releases (see [`transition_effects`]), by the ingested record times in `known`
/// (see `Known::due`).
pub fn expire_due(known: &Known) -> ChangeSet {
    let mut changes = ChangeSet::default();
    for due in known.due() {
        let Some(withdrawal) = known.withdrawals.get(&due.id) else {
            continue;
        };
        let (bound, time) = (due.bound, due.time);
        let (to, reason) = match due.kind {
            DueKind::NoTransfer => (
                WithdrawalState::Expired,
                format!(
                    "no transfer before its target record time {bound}; ingested record time is {time}"
                ),
            ),
            DueKind::OfferExpired => (
                WithdrawalState::Failed,
                format!(
                    "offer expired: not accepted in time (certain from record time {bound}); ingested record time is {time}"
                ),
            ),
        };
        let transition = WithdrawalTransition {
            id: due.id,
            to,
            reason: Some(reason),
            origin: None,
            transfer_instruction: None,
        };
        // `due` lists only states that lead there.
        if let Ok(effects) = transition_effects(withdrawal, transition) {
            changes.effects.extend(effects);
        }
    }
    expire_incoming_offers(known, &mut changes);
    changes
}

/// Incoming offers still pending once their synchronizer's ingested record time is past their
/// `executeBefore` (plus the tolerance): no accept can commit any more, and the ledger shows
/// nothing when an offer lapses, so they are marked expired here and their deposits cancelled.
fn expire_incoming_offers(known: &Known, changes: &mut ChangeSet) {
    let mut due: Vec<&TransferInstruction> = known
        .instructions
        .values()
        .filter(|i| i.direction == Way::Incoming && i.state == InstructionState::Pending)
        .filter(|i| {
            i.expiry.as_ref().is_some_and(|e| {
                let certain = e
                    .execute_before
                    .micros()
                    .saturating_add(LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS);
                known
                    .record_time(&e.synchronizer)
                    .is_some_and(|t| t.micros() >= certain)
            })
        })
        .collect();
    due.sort_by(|a, b| a.contract_id.cmp(&b.contract_id));
    for i in due {
        changes.push(Effect::TransferInstruction(TransferInstruction {
            state: InstructionState::Expired,
            ..i.clone()
        }));
        let id = offer_deposit_id(&i.contract_id);
        if let Some(d) = known.deposits.get(&id).filter(|d| {
            matches!(
                d.state,
                DepositState::Offered | DepositState::UnknownAccount | DepositState::Unrecognized
            )
        }) {
            changes.push(Effect::DepositUpdated {
                id,
                state: DepositState::Cancelled,
                origin: d.origin.clone(),
                held_back: None,
            });
        }
    }
}
