//! The holding pool, pure: which self-transfers keep the treasury's holdings (UTXOs) fit for
//! withdrawals (the guide's "UTXO Selection and Management").
//!
//! Two things go wrong with a treasury's holdings over time: deposits leave many small ones
//! (dust), which make transfers large and eventually exceed the input limit, and a single big
//! holding funds only one withdrawal at a time, because a withdrawal reserves its inputs until
//! its outcome is known. The pool job fixes both with self-transfers (sender = receiver = the
//! treasury), which go through the same prepare / verify / sign / execute path as withdrawals
//! and are recorded as withdrawals without a customer ([`PoolOrder`]).
//!
//! [`plan`] decides them: merge the spendable dust, and while fewer than `k` spendable holdings
//! are worth `target` or more, make more of them (split a holding worth at least twice the
//! target, or merge smaller ones up to it). A healthy pool plans nothing, and applying a plan
//! and planning again reaches a healthy pool in a few rounds (every transfer either merges
//! holdings, so there are fewer, or adds a holding worth the target, of which at most `k` are
//! made). Reserved and locked holdings are never inputs, as in [`crate::selection`].
//!
//! The plan assumes no pool transfer is in flight: one whose outputs are not yet ingested
//! would be planned again. The job plans only once the previous plan's transfers are final.

use crate::selection::Candidate;
use crate::withdrawal::WithdrawalId;
use crate::{Amount, ContractId, InstrumentId, PartyId, SynchronizerId, Timestamp};

/// Ids of pool transfers start with this (the transfer's memo), so people reading the ledger
/// or the withdrawals table tell them from customers' withdrawals.
pub const POOL_ID_PREFIX: &str = "pool-";

/// What a healthy pool looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolPolicy {
    /// How many withdrawals of up to `target` should be able to start at once.
    pub k: usize,
    /// What a holding must be worth to fund a typical withdrawal on its own. Positive.
    pub target: Amount,
    /// Holdings worth less than this are dust, merged whenever there are two or more. At most
    /// `target`.
    pub dust: Amount,
    /// Inputs per transfer, at least 2 for merging (see [`crate::selection::DEFAULT_MAX_INPUTS`]).
    pub max_inputs: usize,
}

/// Why a pool policy cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolPolicyError {
    #[error("the pool's target must be positive, not {}", .0.to_plain_string())]
    NonPositiveTarget(Amount),
    #[error(
        "the dust threshold {} is above the target {}: a holding would be both",
        .dust.to_plain_string(), .target.to_plain_string()
    )]
    DustAboveTarget { dust: Amount, target: Amount },
    #[error("a pool transfer needs at least 2 inputs to merge holdings, not {0}")]
    TooFewInputs(usize),
}

impl PoolPolicy {
    /// Checks the policy, for the job's configuration. [`plan`] also copes with an unchecked
    /// one: it then plans only what the policy still allows.
    pub fn check(&self) -> Result<(), PoolPolicyError> {
        if !self.target.is_positive() {
            return Err(PoolPolicyError::NonPositiveTarget(self.target));
        }
        if self.dust > self.target {
            return Err(PoolPolicyError::DustAboveTarget {
                dust: self.dust,
                target: self.target,
            });
        }
        if self.max_inputs < 2 {
            return Err(PoolPolicyError::TooFewInputs(self.max_inputs));
        }
        Ok(())
    }
}

/// Why a pool transfer is planned, for the operator's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolAction {
    /// Dust holdings become one holding.
    MergeDust,
    /// A holding worth at least twice the target gives one of exactly the target and keeps the
    /// rest as change: one more holding worth the target.
    Split,
    /// Holdings below the target are merged into one worth at least the target.
    Combine,
}

/// One self-transfer: its inputs produce a holding of `amount` and, if `total` is more, the
/// change `total - amount` (the token standard's transfer to oneself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolTransfer {
    pub action: PoolAction,
    /// Smallest first, ties by contract id.
    pub inputs: Vec<ContractId>,
    /// Positive, at most `total`.
    pub amount: Amount,
    /// What the inputs add up to.
    pub total: Amount,
}

impl PoolTransfer {
    /// What comes back besides `amount` (zero for a merge).
    pub fn change(&self) -> Amount {
        Amount::from_units(self.total.units() - self.amount.units()).unwrap_or(Amount::ZERO)
    }
}

/// A planned transfer as the store records it: a withdrawal with the treasury as receiver and
/// no account (no debit, no refund), reserving `transfer.inputs` until `trecTgt = now + ttl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolOrder {
    /// Starts with [`POOL_ID_PREFIX`]; it is the transfer's memo, by which ingestion knows it.
    pub id: WithdrawalId,
    pub instrument: InstrumentId,
    /// Sender and receiver.
    pub treasury: PartyId,
    pub transfer: PoolTransfer,
    /// How long the automation has to commit the transfer, in microseconds (positive).
    pub ttl_micros: i64,
    pub synchronizer: Option<SynchronizerId>,
}

/// `pool-<unique>`: the id (and memo) of a pool transfer.
pub fn pool_transfer_id(unique: &str) -> WithdrawalId {
    WithdrawalId::new(format!("{POOL_ID_PREFIX}{unique}")).expect("non-empty")
}

/// The self-transfers that bring the spendable holdings at `at` towards the policy: first the
/// dust merged (smallest first, `max_inputs` at a time), then, while fewer than `k` spendable
/// holdings are worth the target, splits of the largest holdings worth twice the target, then
/// merges of the largest remaining holdings below the target into one worth it. No holding is
/// an input twice; nothing is planned for a healthy pool.
pub fn plan(holdings: &[Candidate], policy: &PoolPolicy, at: Timestamp) -> Vec<PoolTransfer> {
    let target = policy.target.units();
    let dust = policy.dust.units().min(target);
    let mut free: Vec<&Candidate> = holdings.iter().filter(|c| c.is_spendable_at(at)).collect();
    // Ties by contract id, so the same holdings give the same plan.
    free.sort_by(|a, b| (a.amount, &a.contract_id).cmp(&(b.amount, &b.contract_id)));
    let mut planned = Vec::new();
    if policy.max_inputs >= 2 {
        let dusty: Vec<&Candidate> = free
            .iter()
            .copied()
            .filter(|c| c.amount.units() < dust)
            .collect();
        for chunk in dusty.chunks(policy.max_inputs).filter(|c| c.len() >= 2) {
            planned.push(merge(PoolAction::MergeDust, chunk));
        }
    }
    if target <= 0 {
        return planned;
    }
    let used = |planned: &[PoolTransfer], c: &Candidate| {
        planned.iter().any(|t| t.inputs.contains(&c.contract_id))
    };
    let large = free.iter().filter(|c| c.amount.units() >= target).count();
    let mut missing = policy.k.saturating_sub(large);
    // Only holdings worth twice the target: the change stays worth it too, so each split adds
    // one (splitting a smaller one would just trade one large holding for another).
    for c in free.iter().rev().filter(|c| c.amount.units() / 2 >= target) {
        if missing == 0 {
            break;
        }
        planned.push(PoolTransfer {
            action: PoolAction::Split,
            inputs: vec![c.contract_id.clone()],
            amount: policy.target,
            total: c.amount,
        });
        missing -= 1;
    }
    while missing > 0 && policy.max_inputs >= 2 {
        // Largest first, so the fewest inputs reach the target.
        let small: Vec<&Candidate> = free
            .iter()
            .rev()
            .copied()
            .filter(|c| c.amount.units() < target && !used(&planned, c))
            .collect();
        let Some(len) = covering(&small, target, policy.max_inputs) else {
            break;
        };
        let mut chosen = small[..len].to_vec();
        chosen.reverse();
        planned.push(merge(PoolAction::Combine, &chosen));
        missing -= 1;
    }
    planned
}

/// How many of `descending` (largest first) cover `target`, if at most `max` do.
fn covering(descending: &[&Candidate], target: i128, max: usize) -> Option<usize> {
    let mut sum = 0_i128;
    for (i, c) in descending.iter().take(max).enumerate() {
        sum = sum.saturating_add(c.amount.units());
        if sum >= target {
            return Some(i + 1);
        }
    }
    None
}

/// All of `inputs` (ascending) into one holding.
fn merge(action: PoolAction, inputs: &[&Candidate]) -> PoolTransfer {
    let units = inputs
        .iter()
        .fold(0_i128, |s, c| s.saturating_add(c.amount.units()));
    // Holdings of one instrument cannot add up beyond what the ledger represents.
    let total = Amount::from_units(units).unwrap_or(Amount::MAX);
    PoolTransfer {
        action,
        inputs: inputs.iter().map(|c| c.contract_id.clone()).collect(),
        amount: total,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_standard::Lock;

    fn holding(id: &str, amount: i64) -> Candidate {
        Candidate {
            contract_id: ContractId::new(&format!("00{id}")).unwrap(),
            amount: Amount::from_whole(amount),
            lock: None,
            reserved: false,
        }
    }

    fn policy(k: usize) -> PoolPolicy {
        PoolPolicy {
            k,
            target: Amount::from_whole(100),
            dust: Amount::from_whole(1),
            max_inputs: 3,
        }
    }

    fn at() -> Timestamp {
        Timestamp::from_micros(1_000).unwrap()
    }

    fn ids(t: &PoolTransfer) -> Vec<&str> {
        t.inputs.iter().map(|c| &c.as_str()[2..]).collect()
    }

    #[test]
    fn a_healthy_pool_plans_nothing() {
        let c = [holding("a", 100), holding("b", 150), holding("c", 5)];
        assert_eq!(plan(&c, &policy(2), at()), Vec::new());
    }

    #[test]
    fn dust_is_merged_in_chunks_of_max_inputs() {
        let mut c: Vec<Candidate> = (0..7).map(|i| holding(&format!("d{i}"), 0)).collect();
        for (i, d) in c.iter_mut().enumerate() {
            d.amount = Amount::from_units(1_000 + i as i128).unwrap();
        }
        c.push(holding("big", 100));
        let p = plan(&c, &policy(1), at());
        // 7 dust holdings, 3 per transfer: 3 + 3, and the seventh has nothing to merge with.
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(ids(&p[0]), ["d0", "d1", "d2"]);
        assert_eq!(ids(&p[1]), ["d3", "d4", "d5"]);
        assert_eq!(p[0].action, PoolAction::MergeDust);
        assert_eq!(p[0].amount, Amount::from_units(3_003).unwrap());
        assert_eq!(p[0].change(), Amount::ZERO);
    }

    #[test]
    fn splits_the_largest_and_then_combines_the_rest() {
        let c = [
            holding("huge", 1_000),
            holding("pair", 250),
            holding("m1", 60),
            holding("m2", 50),
            holding("m3", 10),
        ];
        let p = plan(&c, &policy(5), at());
        let actions: Vec<_> = p.iter().map(|t| (t.action, ids(t))).collect();
        assert_eq!(
            actions,
            [
                (PoolAction::Split, vec!["huge"]),
                (PoolAction::Split, vec!["pair"]),
                (PoolAction::Combine, vec!["m2", "m1"]),
            ]
        );
        assert_eq!(p[0].amount, Amount::from_whole(100));
        assert_eq!(p[0].change(), Amount::from_whole(900));
        assert_eq!(p[2].amount, Amount::from_whole(110));
    }

    #[test]
    fn reserved_and_locked_holdings_are_left_alone() {
        let mut reserved = holding("r", 1_000);
        reserved.reserved = true;
        let mut locked = holding("l", 1_000);
        locked.lock = Some(Lock {
            holders: Vec::new(),
            expires_at: None,
            expires_after_micros: None,
            context: None,
        });
        let mut expired = holding("e", 1_000);
        expired.lock = Some(Lock {
            expires_at: Some(Timestamp::from_micros(999).unwrap()),
            ..locked.lock.clone().unwrap()
        });
        let p = plan(&[reserved, locked, expired], &policy(3), at());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(ids(&p[0]), ["e"]);
    }

    #[test]
    fn a_bad_policy_is_named() {
        let mut p = policy(1);
        assert_eq!(p.check(), Ok(()));
        p.dust = Amount::from_whole(101);
        assert!(matches!(
            p.check(),
            Err(PoolPolicyError::DustAboveTarget { .. })
        ));
        p.dust = Amount::ZERO;
        p.max_inputs = 1;
        assert_eq!(p.check(), Err(PoolPolicyError::TooFewInputs(1)));
        p.target = Amount::ZERO;
        assert_eq!(
            p.check(),
            Err(PoolPolicyError::NonPositiveTarget(Amount::ZERO))
        );
    }
}
