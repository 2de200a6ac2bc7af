//! Holding selection (the guide's "UTXO Selection and Management"): which treasury holdings fund
//! a transfer of a given amount.
//!
//! The rules: at most `max_inputs` inputs (a transfer with more is too large to prepare), never
//! a holding reserved by another withdrawal, never a locked one (a lock whose `expiresAt` has
//! passed no longer binds), and small holdings first, so every transfer also merges dust into
//! its change. Pure: the store feeds in what it has locked for the request and applies the
//! answer; the pool job can use the same function for its self-transfers.

use crate::token_standard::Lock;
use crate::{Amount, ContractId, Timestamp};

/// The transfer factory's practical limit on inputs (the guide recommends at most 100).
pub const DEFAULT_MAX_INPUTS: usize = 100;

/// A holding that might fund a transfer, as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub contract_id: ContractId,
    pub amount: Amount,
    pub lock: Option<Lock>,
    /// Already funding another withdrawal.
    pub reserved: bool,
}

impl Candidate {
    /// Whether a lock still binds this holding at `now`. A lock without `expiresAt` (or known
    /// only by a relative `expiresAfter`, whose start is unknown here) is taken as binding.
    pub fn is_locked_at(&self, now: Timestamp) -> bool {
        self.lock
            .as_ref()
            .is_some_and(|lock| lock.expires_at.is_none_or(|at| at >= now))
    }

    /// Whether it may be used as an input at `now`.
    pub fn is_spendable_at(&self, now: Timestamp) -> bool {
        !self.reserved && !self.is_locked_at(now)
    }
}

/// How many inputs a transfer may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectionPolicy {
    pub max_inputs: usize,
}

impl Default for SelectionPolicy {
    fn default() -> SelectionPolicy {
        SelectionPolicy {
            max_inputs: DEFAULT_MAX_INPUTS,
        }
    }
}

/// The chosen inputs, smallest first, and what they add up to (`total - amount` is the change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub inputs: Vec<ContractId>,
    pub total: Amount,
}

/// What the treasury holds of the instrument, by why it can or cannot be spent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub spendable: Amount,
    pub spendable_count: usize,
    pub reserved: Amount,
    pub locked: Amount,
}

/// Why no selection funds the amount. Every variant carries the numbers an operator needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("the amount to fund must be positive, not {}", .0.to_plain_string())]
    NonPositiveAmount(Amount),
    /// Even counting reserved and locked holdings, the treasury holds too little.
    #[error(
        "the treasury holds too little: {} needed, {} spendable, {} reserved, {} locked",
        .needed.to_plain_string(), .totals.spendable.to_plain_string(),
        .totals.reserved.to_plain_string(), .totals.locked.to_plain_string()
    )]
    Insufficient { needed: Amount, totals: Totals },
    /// Enough is held, but not enough of it is free: the rest is reserved or locked.
    #[error(
        "only reserved or locked holdings could fund it: {} needed, {} spendable, {} reserved by other withdrawals, {} locked",
        .needed.to_plain_string(), .totals.spendable.to_plain_string(),
        .totals.reserved.to_plain_string(), .totals.locked.to_plain_string()
    )]
    Unavailable { needed: Amount, totals: Totals },
    /// The spendable holdings cover the amount, but only with more than `max_inputs` of them:
    /// the holdings need merging first (the pool job's work).
    #[error(
        "too many small holdings: {} needs more than {max_inputs} inputs; the {max_inputs} largest spendable make {}, of {} spendable in {} holdings",
        .needed.to_plain_string(), .largest.to_plain_string(),
        .totals.spendable.to_plain_string(), .totals.spendable_count
    )]
    TooManyInputs {
        needed: Amount,
        max_inputs: usize,
        largest: Amount,
        totals: Totals,
    },
}

/// Chooses inputs that cover `amount` at `now`: the smallest spendable holdings whose sum
/// covers it; if that takes more than `max_inputs`, the run of `max_inputs` consecutive holdings
/// (in ascending order) that starts lowest and still covers it. Both cover the amount whenever
/// any selection within the limit does, since the largest `max_inputs` are the last such run.
pub fn select(
    candidates: &[Candidate],
    amount: Amount,
    now: Timestamp,
    policy: SelectionPolicy,
) -> Result<Selected, SelectionError> {
    if !amount.is_positive() {
        return Err(SelectionError::NonPositiveAmount(amount));
    }
    let mut spendable: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.is_spendable_at(now))
        .collect();
    // Ties by contract id, so the same holdings give the same answer.
    spendable.sort_by(|a, b| (a.amount, &a.contract_id).cmp(&(b.amount, &b.contract_id)));
    let units: Vec<i128> = spendable.iter().map(|c| c.amount.units()).collect();
    let needed = amount.units();
    let window = match covering_prefix(&units, needed) {
        Some(len) if len <= policy.max_inputs => 0..len,
        Some(_) => match covering_window(&units, needed, policy.max_inputs) {
            Some(range) => range,
            None => return Err(too_many(candidates, amount, now, policy, &units)),
        },
        None => return Err(short(candidates, amount, now)),
    };
    let chosen = &spendable[window];
    Ok(Selected {
        inputs: chosen.iter().map(|c| c.contract_id.clone()).collect(),
        total: clamp(chosen.iter().map(|c| c.amount.units()).sum()),
    })
}

/// The length of the shortest prefix summing to at least `needed`.
fn covering_prefix(units: &[i128], needed: i128) -> Option<usize> {
    let mut sum = 0_i128;
    for (i, u) in units.iter().enumerate() {
        sum = sum.saturating_add(*u);
        if sum >= needed {
            return Some(i + 1);
        }
    }
    None
}

/// The first run of `size` consecutive entries summing to at least `needed`. Runs further right
/// never sum less (the entries ascend), so the first is the one with the smallest holdings.
fn covering_window(units: &[i128], needed: i128, size: usize) -> Option<std::ops::Range<usize>> {
    if size == 0 || units.len() < size {
        return None;
    }
    let mut sum: i128 = units[..size].iter().fold(0, |s, u| s.saturating_add(*u));
    for start in 0..=units.len() - size {
        if start > 0 {
            sum = sum - units[start - 1] + units[start + size - 1];
        }
        if sum >= needed {
            return Some(start..start + size);
        }
    }
    None
}

fn totals(candidates: &[Candidate], now: Timestamp) -> Totals {
    let (mut spendable, mut reserved, mut locked, mut count) = (0_i128, 0_i128, 0_i128, 0);
    for c in candidates {
        let u = c.amount.units();
        if c.reserved {
            reserved = reserved.saturating_add(u);
        } else if c.is_locked_at(now) {
            locked = locked.saturating_add(u);
        } else {
            spendable = spendable.saturating_add(u);
            count += 1;
        }
    }
    Totals {
        spendable: clamp(spendable),
        spendable_count: count,
        reserved: clamp(reserved),
        locked: clamp(locked),
    }
}

/// The spendable holdings fall short: say whether the reserved and locked ones would have done.
fn short(candidates: &[Candidate], amount: Amount, now: Timestamp) -> SelectionError {
    let totals = totals(candidates, now);
    let all = totals
        .spendable
        .units()
        .saturating_add(totals.reserved.units())
        .saturating_add(totals.locked.units());
    if all >= amount.units() {
        SelectionError::Unavailable {
            needed: amount,
            totals,
        }
    } else {
        SelectionError::Insufficient {
            needed: amount,
            totals,
        }
    }
}

fn too_many(
    candidates: &[Candidate],
    amount: Amount,
    now: Timestamp,
    policy: SelectionPolicy,
    ascending: &[i128],
) -> SelectionError {
    let largest = ascending
        .iter()
        .rev()
        .take(policy.max_inputs)
        .fold(0_i128, |s, u| s.saturating_add(*u));
    SelectionError::TooManyInputs {
        needed: amount,
        max_inputs: policy.max_inputs,
        largest: clamp(largest),
        totals: totals(candidates, now),
    }
}

/// A sum as an amount; a sum beyond Numeric(38, 10) is shown as the largest amount (it only
/// appears in messages, and it covers any amount).
fn clamp(units: i128) -> Amount {
    Amount::from_units(units.min(Amount::MAX.units())).unwrap_or(Amount::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(id: &str, amount: i64) -> Candidate {
        Candidate {
            contract_id: ContractId::new(&format!("00{id}")).unwrap(),
            amount: Amount::from_whole(amount),
            lock: None,
            reserved: false,
        }
    }

    fn lock(expires_at: Option<i64>) -> Option<Lock> {
        Some(Lock {
            holders: Vec::new(),
            expires_at: expires_at.map(|m| Timestamp::from_micros(m).unwrap()),
            expires_after_micros: None,
            context: None,
        })
    }

    fn at(micros: i64) -> Timestamp {
        Timestamp::from_micros(micros).unwrap()
    }

    fn policy(max_inputs: usize) -> SelectionPolicy {
        SelectionPolicy { max_inputs }
    }

    #[test]
    fn takes_the_smallest_first() {
        let c = [
            holding("a", 50),
            holding("b", 1),
            holding("c", 2),
            holding("d", 3),
        ];
        let s = select(&c, Amount::from_whole(4), at(0), policy(100)).unwrap();
        assert_eq!(
            s.inputs,
            vec![
                c[1].contract_id.clone(),
                c[2].contract_id.clone(),
                c[3].contract_id.clone()
            ]
        );
        assert_eq!(s.total, Amount::from_whole(6));
    }

    #[test]
    fn slides_to_larger_holdings_when_the_small_ones_are_too_many() {
        let c = [
            holding("a", 1),
            holding("b", 1),
            holding("c", 1),
            holding("d", 5),
        ];
        let s = select(&c, Amount::from_whole(6), at(0), policy(2)).unwrap();
        assert_eq!(
            s.inputs,
            vec![c[2].contract_id.clone(), c[3].contract_id.clone()]
        );
    }

    #[test]
    fn an_expired_lock_no_longer_binds() {
        let mut c = holding("a", 10);
        c.lock = lock(Some(100));
        assert!(c.is_locked_at(at(100)));
        assert!(!c.is_locked_at(at(101)));
        c.lock = lock(None);
        assert!(c.is_locked_at(at(4_000_000_000_000_000)));
        let s = select(
            &[holding("b", 1), {
                let mut d = holding("d", 9);
                d.lock = lock(Some(5));
                d
            }],
            Amount::from_whole(10),
            at(6),
            policy(100),
        );
        assert_eq!(s.unwrap().total, Amount::from_whole(10));
    }

    #[test]
    fn errors_say_why() {
        let mut reserved = holding("r", 10);
        reserved.reserved = true;
        let mut locked = holding("l", 10);
        locked.lock = lock(None);
        let c = [holding("a", 1), reserved, locked];
        let e = select(&c, Amount::from_whole(15), at(0), policy(100)).unwrap_err();
        assert!(matches!(e, SelectionError::Unavailable { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("1 spendable, 10 reserved by other withdrawals, 10 locked"),
            "{e}"
        );
        let e = select(&c, Amount::from_whole(22), at(0), policy(100)).unwrap_err();
        assert!(matches!(e, SelectionError::Insufficient { .. }), "{e}");
        let small = [holding("a", 1), holding("b", 1), holding("c", 1)];
        let e = select(&small, Amount::from_whole(3), at(0), policy(2)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "too many small holdings: 3 needs more than 2 inputs; the 2 largest spendable make 2, of 3 spendable in 3 holdings"
        );
        let e = select(&small, Amount::ZERO, at(0), policy(2)).unwrap_err();
        assert_eq!(e, SelectionError::NonPositiveAmount(Amount::ZERO));
    }
}
