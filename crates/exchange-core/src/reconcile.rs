//! Reconciliation per instrument: what the treasury holds on the ledger against what the
//! exchange owes. Every customer balance, the suspense account and the withdrawals already
//! debited but not yet paid out are covered by holdings; the rest is the exchange's own funds.
//! Negative own funds is a shortfall an operator must explain.

use std::collections::BTreeMap;

use crate::changeset::{AccountId, Holding};
use crate::withdrawal::{WithdrawalPurpose, WithdrawalState};
use crate::{Amount, AmountError, InstrumentId};

/// One instrument's books. `own_funds = on_ledger - customer_liabilities - suspense -
/// in_flight_withdrawals`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Active treasury holdings the issuer stands behind (locked ones included).
    pub on_ledger: Amount,
    /// Active holdings held back (not the issuer's, or not onboarded): never counted.
    pub held_back: Amount,
    /// The sum of customer balances (every account but suspense).
    pub customer_liabilities: Amount,
    /// The suspense account's balance (negative: recovered withdrawals nobody bears yet).
    pub suspense: Amount,
    /// Customer withdrawals debited whose holdings have not left yet.
    pub in_flight_withdrawals: Amount,
    pub own_funds: Amount,
}

impl Totals {
    pub fn shortfall(&self) -> bool {
        self.own_funds.is_negative()
    }
}

/// A withdrawal as reconciliation sees it.
#[derive(Clone, Debug)]
pub struct WithdrawalLine {
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub state: WithdrawalState,
    pub purpose: WithdrawalPurpose,
    /// A recovered withdrawal re-created from a transfer offer (its `executeBefore` known):
    /// until the offer's fate moves it on, its holdings are still the treasury's, locked.
    pub recovered_offer: bool,
}

impl WithdrawalLine {
    /// Debited from its account while its holdings are still the treasury's: requested,
    /// submitted (the outcome not ingested yet) or offered to the receiver, the automation's
    /// offer or a recovered one. A pool self-transfer owes nobody.
    fn in_flight(&self) -> bool {
        self.purpose == WithdrawalPurpose::Customer
            && match self.state {
                WithdrawalState::Requested
                | WithdrawalState::Submitted
                | WithdrawalState::PendingAcceptance => true,
                WithdrawalState::Recovered => self.recovered_offer,
                _ => false,
            }
    }
}

fn add(slot: &mut Amount, amount: Amount) -> Result<(), AmountError> {
    *slot = slot.checked_add(amount)?;
    Ok(())
}

/// The totals of every instrument that appears in any input.
pub fn totals<'a>(
    holdings: impl IntoIterator<Item = &'a Holding>,
    balances: &BTreeMap<(AccountId, InstrumentId), Amount>,
    suspense_account: &AccountId,
    withdrawals: impl IntoIterator<Item = &'a WithdrawalLine>,
) -> Result<BTreeMap<InstrumentId, Totals>, AmountError> {
    let mut out: BTreeMap<InstrumentId, Totals> = BTreeMap::new();
    for h in holdings {
        let t = out.entry(h.instrument.clone()).or_default();
        match h.held_back {
            None => add(&mut t.on_ledger, h.amount)?,
            Some(_) => add(&mut t.held_back, h.amount)?,
        }
    }
    for ((account, instrument), amount) in balances {
        let t = out.entry(instrument.clone()).or_default();
        if account == suspense_account {
            add(&mut t.suspense, *amount)?;
        } else {
            add(&mut t.customer_liabilities, *amount)?;
        }
    }
    for w in withdrawals.into_iter().filter(|w| w.in_flight()) {
        add(
            &mut out
                .entry(w.instrument.clone())
                .or_default()
                .in_flight_withdrawals,
            w.amount,
        )?;
    }
    for t in out.values_mut() {
        t.own_funds = t
            .on_ledger
            .checked_sub(t.customer_liabilities)?
            .checked_sub(t.suspense)?
            .checked_sub(t.in_flight_withdrawals)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changeset::Origin;
    use crate::tokens::HeldBack;
    use crate::{ContractId, PartyId, Timestamp, UpdateId};

    fn amount(s: &str) -> Amount {
        s.parse().unwrap()
    }

    fn instrument(admin: &str) -> InstrumentId {
        InstrumentId {
            admin: PartyId::new(&format!("{admin}::1220ab")).unwrap(),
            id: "Amulet".into(),
        }
    }

    fn holding(c: &str, value: &str, admin: &str, held_back: bool) -> Holding {
        Holding {
            contract_id: ContractId::new(c).unwrap(),
            instrument: instrument(admin),
            amount: amount(value),
            lock: None,
            created: Origin {
                update_id: UpdateId::new("u1").unwrap(),
                record_time: Timestamp::from_micros(1).unwrap(),
            },
            held_back: held_back.then(|| HeldBack {
                reason: "not onboarded".into(),
                provenance: Vec::new(),
            }),
        }
    }

    fn line(value: &str, state: WithdrawalState, purpose: WithdrawalPurpose) -> WithdrawalLine {
        WithdrawalLine {
            instrument: instrument("dso"),
            amount: amount(value),
            state,
            purpose,
            recovered_offer: false,
        }
    }

    #[test]
    fn own_funds_are_what_holdings_cover_beyond_what_is_owed() {
        let holdings = [
            holding("c1", "100", "dso", false),
            holding("c2", "20.5", "dso", false),
            holding("c3", "7", "fake", true),
        ];
        let suspense = AccountId::new("suspense").unwrap();
        let balances = BTreeMap::from([
            (
                (AccountId::new("alice").unwrap(), instrument("dso")),
                amount("60"),
            ),
            (
                (AccountId::new("bob").unwrap(), instrument("dso")),
                amount("30"),
            ),
            ((suspense.clone(), instrument("dso")), amount("-4")),
        ]);
        let withdrawals = [
            line(
                "10",
                WithdrawalState::Submitted,
                WithdrawalPurpose::Customer,
            ),
            line("5", WithdrawalState::Completed, WithdrawalPurpose::Customer),
            line("50", WithdrawalState::Requested, WithdrawalPurpose::Pool),
            // Recovered from a paid transfer: gone. Recovered from an offer still pending:
            // its holdings are locked in the treasury, owed to whoever was debited for it.
            line("3", WithdrawalState::Recovered, WithdrawalPurpose::Customer),
            WithdrawalLine {
                recovered_offer: true,
                ..line("8", WithdrawalState::Recovered, WithdrawalPurpose::Customer)
            },
            WithdrawalLine {
                recovered_offer: true,
                ..line("9", WithdrawalState::Failed, WithdrawalPurpose::Customer)
            },
        ];
        let totals = totals(&holdings, &balances, &suspense, &withdrawals).unwrap();
        let dso = &totals[&instrument("dso")];
        assert_eq!(dso.on_ledger, amount("120.5"));
        assert_eq!(dso.customer_liabilities, amount("90"));
        assert_eq!(dso.suspense, amount("-4"));
        assert_eq!(dso.in_flight_withdrawals, amount("18"));
        assert_eq!(dso.own_funds, amount("16.5"));
        assert!(!dso.shortfall());
        let fake = &totals[&instrument("fake")];
        assert_eq!(fake.held_back, amount("7"));
        assert_eq!(fake.on_ledger, Amount::ZERO);
        assert_eq!(fake.own_funds, Amount::ZERO);
    }

    #[test]
    fn owing_more_than_is_held_is_a_shortfall() {
        let suspense = AccountId::new("suspense").unwrap();
        let balances = BTreeMap::from([(
            (AccountId::new("alice").unwrap(), instrument("dso")),
            amount("10"),
        )]);
        let holdings = [holding("c1", "9.9999999999", "dso", false)];
        let totals = totals(&holdings, &balances, &suspense, &[]).unwrap();
        let dso = &totals[&instrument("dso")];
        assert_eq!(dso.own_funds, amount("-0.0000000001"));
        assert!(dso.shortfall());
    }
}
