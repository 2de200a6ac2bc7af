//! A withdrawal's transition and what comes with it: the one place the refund and release
//! rules live (ingestion, expiry and the automation all use it).

use super::known::KnownWithdrawal;
use crate::changeset::{Effect, JournalCause, JournalEntry};
use crate::withdrawal::{WithdrawalState, WithdrawalTransition};

/// A withdrawal asked to move where its state machine does not lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTransition {
    pub from: WithdrawalState,
    pub to: WithdrawalState,
}

impl std::fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a withdrawal cannot move from {} to {}",
            self.from, self.to
        )
    }
}

impl std::error::Error for InvalidTransition {}

/// The effects of moving `withdrawal` by `t`: the transition; on entering `failed` or `expired`
/// the refund of its amount to the account that was debited for it (a recovered withdrawal
/// nobody was debited for refunds nothing); on entering a terminal state the release of its
/// reserved holdings. Nothing if it is already in `t.to` (redoing a step is safe). The one
/// place the refund and release rules live: ingestion, expiry and the automation all use it.
pub fn transition_effects(
    withdrawal: &KnownWithdrawal,
    t: WithdrawalTransition,
) -> Result<Vec<Effect>, InvalidTransition> {
    let (from, to) = (withdrawal.state, t.to);
    if from == to {
        return Ok(Vec::new());
    }
    if !from.can_transition(to) {
        return Err(InvalidTransition { from, to });
    }
    let id = t.id.clone();
    let origin = t.origin.clone();
    let mut effects = vec![Effect::Withdrawal(t)];
    if let (true, Some(account)) = (to.refunds(), &withdrawal.debited) {
        effects.push(Effect::Journal(JournalEntry {
            account: account.clone(),
            instrument: withdrawal.instrument.clone(),
            amount: withdrawal.amount,
            cause: JournalCause::WithdrawalRefund(id.clone()),
            origin,
        }));
    }
    if to.is_terminal() {
        effects.push(Effect::HoldingsReleased { withdrawal: id });
    }
    Ok(effects)
}
