//! Holdings and deposits held back because their issuer did not stand behind them when they
//! arrived, judged again once more tokens are onboarded. Pure: ingestion loads what is held back
//! (of instruments now onboarded), this decides, the store commits the change set.
//!
//! Judging again is idempotent: what is recognized leaves the held-back state, so a second run
//! finds nothing; a deposit is credited through its journal cause (once per deposit id), which
//! the store refuses to book twice.

use crate::changeset::{ChangeSet, Deposit, DepositState, Effect, Holding};
use crate::tokens::Onboarded;

/// A held-back deposit and what its new state depends on besides its issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldDeposit {
    pub deposit: Deposit,
    /// Its offer is still pending: recognized, it becomes an offer to accept, not a credit.
    pub pending_offer: bool,
    pub account_known: bool,
}

/// The effects of judging `holdings` and `deposits` (all held back) again by `onboarded`.
pub fn judge_again(
    onboarded: &Onboarded,
    holdings: &[Holding],
    deposits: &[HeldDeposit],
) -> ChangeSet {
    let mut changes = ChangeSet::default();
    for h in holdings {
        let Some(held) = &h.held_back else { continue };
        if onboarded
            .judge_all(&h.instrument, held.provenance.clone())
            .is_none()
        {
            changes.push(Effect::HoldingRecognized {
                contract_id: h.contract_id.clone(),
            });
        }
    }
    for d in deposits {
        let deposit = &d.deposit;
        let Some(held) = &deposit.held_back else {
            continue;
        };
        if deposit.state != DepositState::Unrecognized
            || onboarded
                .judge_all(&deposit.instrument, held.provenance.clone())
                .is_some()
        {
            continue;
        }
        let state = DepositState::recognized(d.account_known, !d.pending_offer);
        changes.push(Effect::DepositUpdated {
            id: deposit.id.clone(),
            state,
            origin: deposit.origin.clone(),
            held_back: None,
        });
        if state == DepositState::Credited {
            changes
                .effects
                .extend(deposit.credit(&deposit.origin).map(Effect::Journal));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::changeset::{AccountId, DepositId, JournalCause, Origin};
    use crate::tokens::{HeldBack, OnboardedToken, Provenance, TokenTransferKind};
    use crate::{Amount, ContractId, InstrumentId, PartyId, Timestamp, UpdateId};

    fn party(p: &str) -> PartyId {
        PartyId::new(p).unwrap()
    }

    fn sbx() -> InstrumentId {
        InstrumentId {
            admin: party("issuer::1220aa"),
            id: "SBX".into(),
        }
    }

    fn origin() -> Origin {
        Origin {
            update_id: UpdateId::new("u1").unwrap(),
            record_time: Timestamp::from_micros(5).unwrap(),
        }
    }

    fn provenance(signatory: &str) -> Provenance {
        Provenance {
            template_id: "pkg:Sbx.Token:Holding".into(),
            package_name: Some("sbx-token".into()),
            signatories: vec![party(signatory)],
        }
    }

    fn held(signatory: &str) -> Option<HeldBack> {
        Some(HeldBack {
            reason: "issuer/SBX is not onboarded".into(),
            provenance: vec![provenance(signatory)],
        })
    }

    fn onboarded() -> Onboarded {
        Onboarded::new([OnboardedToken {
            instrument: sbx(),
            registry_url: "http://registry".into(),
            transfer_kind: TokenTransferKind::MultiStep,
            package_names: BTreeSet::from(["sbx-token".to_owned()]),
        }])
    }

    fn deposit(id: &str, signatory: &str) -> Deposit {
        Deposit {
            id: DepositId::new(id).unwrap(),
            account: AccountId::new("acct-1"),
            instrument: sbx(),
            amount: "10".parse::<Amount>().unwrap(),
            sender: party("alice::1220bb"),
            state: DepositState::Unrecognized,
            transfer_instruction: None,
            origin: origin(),
            held_back: held(signatory),
        }
    }

    fn held_deposit(id: &str, signatory: &str, pending_offer: bool, known: bool) -> HeldDeposit {
        HeldDeposit {
            deposit: deposit(id, signatory),
            pending_offer,
            account_known: known,
        }
    }

    #[test]
    fn onboarding_credits_what_its_issuer_signed_once_and_nothing_else() {
        let holdings = [
            Holding {
                contract_id: ContractId::new("h-real").unwrap(),
                instrument: sbx(),
                amount: "10".parse::<Amount>().unwrap(),
                lock: None,
                created: origin(),
                held_back: held("issuer::1220aa"),
            },
            Holding {
                contract_id: ContractId::new("h-fake").unwrap(),
                instrument: sbx(),
                amount: "99".parse::<Amount>().unwrap(),
                lock: None,
                created: origin(),
                held_back: held("forger::1220cc"),
            },
        ];
        let deposits = [
            held_deposit("d-real", "issuer::1220aa", false, true),
            held_deposit("d-fake", "forger::1220cc", false, true),
            held_deposit("d-offer", "issuer::1220aa", true, true),
            held_deposit("d-stranger", "issuer::1220aa", false, false),
        ];
        let changes = judge_again(&onboarded(), &holdings, &deposits);
        let updated: Vec<(&str, DepositState)> = changes
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::DepositUpdated { id, state, .. } => Some((id.as_str(), *state)),
                _ => None,
            })
            .collect();
        assert_eq!(
            updated,
            [
                ("d-real", DepositState::Credited),
                ("d-offer", DepositState::Offered),
                ("d-stranger", DepositState::UnknownAccount),
            ]
        );
        let credits: Vec<_> = changes
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Journal(j) => Some((j.cause.clone(), j.amount)),
                _ => None,
            })
            .collect();
        assert_eq!(
            credits,
            [(
                JournalCause::Deposit(DepositId::new("d-real").unwrap()),
                "10".parse::<Amount>().unwrap()
            )]
        );
        assert!(changes.effects.contains(&Effect::HoldingRecognized {
            contract_id: ContractId::new("h-real").unwrap()
        }));
        assert!(!changes.effects.iter().any(|e| matches!(
            e,
            Effect::HoldingRecognized { contract_id } if contract_id.as_str() == "h-fake"
        )));
    }

    #[test]
    fn nothing_changes_while_the_token_is_not_onboarded_or_once_judged() {
        let deposits = [held_deposit("d", "issuer::1220aa", false, true)];
        assert!(judge_again(&Onboarded::default(), &[], &deposits).is_empty());
        let mut credited = deposits[0].clone();
        credited.deposit.state = DepositState::Credited;
        assert!(judge_again(&onboarded(), &[], &[credited]).is_empty());
    }
}
