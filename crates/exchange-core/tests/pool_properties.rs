//! Properties of the pool job's plan: what a plan may spend, that it moves value exactly, and
//! that carrying plans out and planning again settles on a healthy pool instead of churning.

use std::collections::BTreeSet;

use exchange_core::pool::{PoolAction, PoolPolicy, PoolTransfer, plan};
use exchange_core::selection::Candidate;
use exchange_core::token_standard::Lock;
use exchange_core::{Amount, ContractId, Timestamp};
use proptest::prelude::*;

const NOW: i64 = 1_000_000;
/// One token, in units of 10⁻¹⁰.
const ONE: i128 = 10_000_000_000;

fn now() -> Timestamp {
    Timestamp::from_micros(NOW).unwrap()
}

/// None, a lock without expiry, one expired (before NOW), one exactly at NOW, one later.
fn lock() -> impl Strategy<Value = Option<Lock>> {
    prop_oneof![
        6 => Just(None),
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

/// Dust, middling and large holdings alike, against a target of about 100 tokens.
fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    let units = prop_oneof![1_i128..=2 * ONE, 1_i128..=150 * ONE, 1_i128..=1_000 * ONE];
    prop::collection::vec((units, lock(), prop::bool::weighted(0.15)), 0..14).prop_map(|rows| {
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

fn policy() -> impl Strategy<Value = PoolPolicy> {
    (
        0_usize..6,
        50 * ONE..=150 * ONE,
        0_i128..=3 * ONE,
        1_usize..5,
    )
        .prop_map(|(k, target, dust, max_inputs)| PoolPolicy {
            k,
            target: Amount::from_units(target).unwrap(),
            dust: Amount::from_units(dust).unwrap(),
            max_inputs,
        })
}

fn find<'a>(holdings: &'a [Candidate], id: &ContractId) -> Option<&'a Candidate> {
    holdings.iter().find(|c| &c.contract_id == id)
}

/// What the ledger would hold after the plan's transfers: inputs consumed, each transfer's
/// holding of `amount` and its change created (free, with fresh ids).
fn apply(holdings: &[Candidate], planned: &[PoolTransfer], round: usize) -> Vec<Candidate> {
    let spent: BTreeSet<&ContractId> = planned.iter().flat_map(|t| &t.inputs).collect();
    let mut after: Vec<Candidate> = holdings
        .iter()
        .filter(|c| !spent.contains(&c.contract_id))
        .cloned()
        .collect();
    for (i, t) in planned.iter().enumerate() {
        for (j, amount) in [t.amount, t.change()].into_iter().enumerate() {
            if amount.is_positive() {
                after.push(Candidate {
                    contract_id: ContractId::new(&format!("00r{round}t{i}o{j}")).unwrap(),
                    amount,
                    lock: None,
                    reserved: false,
                });
            }
        }
    }
    after
}

fn spendable(holdings: &[Candidate]) -> Vec<&Candidate> {
    holdings
        .iter()
        .filter(|c| c.is_spendable_at(now()))
        .collect()
}

fn large(holdings: &[Candidate], policy: &PoolPolicy) -> usize {
    spendable(holdings)
        .iter()
        .filter(|c| c.amount >= policy.target)
        .count()
}

fn sum(holdings: &[&Candidate]) -> i128 {
    holdings.iter().map(|c| c.amount.units()).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_plan_spends_only_free_holdings_each_once_and_moves_value_exactly(
        holdings in candidates(),
        policy in policy(),
    ) {
        let planned = plan(&holdings, &policy, now());
        let mut seen = BTreeSet::new();
        for t in &planned {
            prop_assert!(!t.inputs.is_empty() && t.inputs.len() <= policy.max_inputs, "{:?}", t);
            let mut total = 0_i128;
            for id in &t.inputs {
                prop_assert!(seen.insert(id.clone()), "input {} twice", id);
                let c = find(&holdings, id).unwrap();
                prop_assert!(!c.reserved, "reserved input {}", id);
                prop_assert!(!c.is_locked_at(now()), "locked input {}", id);
                total += c.amount.units();
            }
            prop_assert_eq!(t.total.units(), total);
            prop_assert!(t.amount.is_positive() && t.amount <= t.total, "{:?}", t);
            prop_assert_eq!(t.amount.units() + t.change().units(), total);
            match t.action {
                PoolAction::MergeDust => {
                    prop_assert!(t.inputs.len() >= 2);
                    prop_assert_eq!(t.amount, t.total);
                    for id in &t.inputs {
                        prop_assert!(find(&holdings, id).unwrap().amount < policy.dust);
                    }
                }
                PoolAction::Split => {
                    prop_assert_eq!(t.amount, policy.target);
                    prop_assert!(t.change() >= policy.target, "{:?}", t);
                }
                PoolAction::Combine => {
                    prop_assert_eq!(t.amount, t.total);
                    prop_assert!(t.amount >= policy.target);
                }
            }
        }
        // More holdings worth the target only while fewer than k are.
        let made = planned.iter().filter(|t| t.action != PoolAction::MergeDust).count();
        prop_assert!(large(&holdings, &policy) + made <= policy.k.max(large(&holdings, &policy)));
    }

    #[test]
    fn carrying_out_plans_settles_on_a_healthy_pool(
        holdings in candidates(),
        policy in policy(),
    ) {
        let bound = holdings.len() + policy.k + 1;
        let mut pool = holdings.clone();
        let mut rounds = 0;
        loop {
            let planned = plan(&pool, &policy, now());
            if planned.is_empty() {
                break;
            }
            prop_assert!(rounds < bound, "still planning after {} rounds: {:?}", rounds, planned);
            let after = apply(&pool, &planned, rounds);
            // Value is conserved, and reserved or locked holdings are never touched.
            prop_assert_eq!(sum(&spendable(&after)), sum(&spendable(&pool)));
            for c in pool.iter().filter(|c| !c.is_spendable_at(now())) {
                prop_assert!(after.contains(c));
            }
            // A plan never takes away a holding worth the target.
            prop_assert!(large(&after, &policy) >= large(&pool, &policy));
            pool = after;
            rounds += 1;
        }
        // Settled: at most one dust holding is left (merging needs two), and fewer than k
        // holdings worth the target only when no split or merge could make another.
        let free = spendable(&pool);
        if policy.max_inputs >= 2 {
            prop_assert!(free.iter().filter(|c| c.amount < policy.dust).count() <= 1);
        }
        if large(&pool, &policy) < policy.k {
            prop_assert!(free.iter().all(|c| c.amount.units() < 2 * policy.target.units()));
            let mut small: Vec<i128> = free
                .iter()
                .map(|c| c.amount.units())
                .filter(|u| *u < policy.target.units())
                .collect();
            small.sort_unstable_by(|a, b| b.cmp(a));
            let best: i128 = small.iter().take(policy.max_inputs).sum();
            prop_assert!(policy.max_inputs < 2 || best < policy.target.units());
        }
    }
}
