//! Properties of holding selection, checked against a brute force over every subset.

use exchange_core::selection::{Candidate, SelectionError, SelectionPolicy, select};
use exchange_core::token_standard::Lock;
use exchange_core::{Amount, ContractId, Timestamp};
use proptest::prelude::*;

const NOW: i64 = 1_000_000;

/// None, a lock without expiry, one expired (before NOW), one exactly at NOW, one later.
fn lock() -> impl Strategy<Value = Option<Lock>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(None)),
        1 => Just(Some(Some(NOW - 1))),
        1 => Just(Some(Some(NOW))),
        1 => Just(Some(Some(NOW + 1))),
    ]
    .prop_map(|expiry: Option<Option<i64>>| {
        expiry.map(|at| Lock {
            holders: Vec::new(),
            expires_at: at.map(|m| Timestamp::from_micros(m).unwrap()),
            expires_after_micros: None,
            context: None,
        })
    })
}

fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec(
        (1_i128..=50_000_000_000, lock(), prop::bool::weighted(0.2)),
        0..10,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (units, lock, reserved))| Candidate {
                contract_id: ContractId::new(&format!("00c{i:02}")).unwrap(),
                amount: Amount::from_units(units).unwrap(),
                lock,
                reserved,
            })
            .collect()
    })
}

fn now() -> Timestamp {
    Timestamp::from_micros(NOW).unwrap()
}

/// Whether some subset of at most `max` spendable holdings covers `needed`, by trying them all.
fn any_valid(candidates: &[Candidate], needed: i128, max: usize) -> bool {
    let spendable: Vec<i128> = candidates
        .iter()
        .filter(|c| c.is_spendable_at(now()))
        .map(|c| c.amount.units())
        .collect();
    (0_u32..1 << spendable.len()).any(|mask| {
        let chosen: Vec<i128> = (0..spendable.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| spendable[i])
            .collect();
        chosen.len() <= max && chosen.iter().sum::<i128>() >= needed
    })
}

fn sum_where(candidates: &[Candidate], keep: impl Fn(&Candidate) -> bool) -> i128 {
    candidates
        .iter()
        .filter(|c| keep(c))
        .map(|c| c.amount.units())
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_selection_is_valid_and_found_whenever_one_exists(
        candidates in candidates(),
        needed in 1_i128..=200_000_000_000,
        max_inputs in 0_usize..6,
    ) {
        let amount = Amount::from_units(needed).unwrap();
        let policy = SelectionPolicy { max_inputs };
        let result = select(&candidates, amount, now(), policy);
        prop_assert_eq!(result.is_ok(), any_valid(&candidates, needed, max_inputs));
        if let Ok(selected) = result {
            prop_assert!(selected.inputs.len() <= max_inputs);
            let mut seen = std::collections::BTreeSet::new();
            let mut total = 0_i128;
            for id in &selected.inputs {
                prop_assert!(seen.insert(id.clone()), "input {} twice", id);
                let c = candidates.iter().find(|c| &c.contract_id == id).unwrap();
                prop_assert!(!c.reserved, "reserved input {}", id);
                prop_assert!(!c.is_locked_at(now()), "locked input {}", id);
                total += c.amount.units();
            }
            prop_assert_eq!(selected.total.units(), total);
            prop_assert!(total >= needed);
        }
    }

    #[test]
    fn small_holdings_go_first_unless_the_limit_forbids(
        candidates in candidates(),
        needed in 1_i128..=200_000_000_000,
        max_inputs in 1_usize..6,
    ) {
        let amount = Amount::from_units(needed).unwrap();
        if let Ok(selected) = select(&candidates, amount, now(), SelectionPolicy { max_inputs }) {
            let chosen = |c: &Candidate| selected.inputs.contains(&c.contract_id);
            let largest_chosen = candidates.iter().filter(|c| chosen(c)).map(|c| c.amount).max().unwrap();
            let smaller_left_out = candidates
                .iter()
                .any(|c| c.is_spendable_at(now()) && !chosen(c) && c.amount < largest_chosen);
            // Leaving a smaller one out is only right when taking it too would break the limit.
            prop_assert!(!smaller_left_out || selected.inputs.len() == max_inputs);
        }
    }

    #[test]
    fn the_error_names_the_right_reason(
        candidates in candidates(),
        needed in 1_i128..=200_000_000_000,
        max_inputs in 0_usize..6,
    ) {
        let amount = Amount::from_units(needed).unwrap();
        let Err(error) = select(&candidates, amount, now(), SelectionPolicy { max_inputs }) else {
            return Ok(());
        };
        let spendable = sum_where(&candidates, |c| c.is_spendable_at(now()));
        let held = sum_where(&candidates, |_| true);
        match error {
            SelectionError::Insufficient { totals, .. } => {
                prop_assert!(held < needed);
                prop_assert_eq!(totals.spendable.units(), spendable);
            }
            SelectionError::Unavailable { totals, .. } => {
                prop_assert!(spendable < needed && needed <= held);
                prop_assert_eq!(totals.reserved.units(), sum_where(&candidates, |c| c.reserved));
                prop_assert_eq!(
                    totals.locked.units(),
                    sum_where(&candidates, |c| !c.reserved && c.is_locked_at(now()))
                );
            }
            SelectionError::TooManyInputs { max_inputs: limit, largest, .. } => {
                prop_assert!(spendable >= needed);
                prop_assert_eq!(limit, max_inputs);
                prop_assert!(largest.units() < needed);
            }
            SelectionError::NonPositiveAmount(_) => prop_assert!(false, "amount was positive"),
        }
    }
}
