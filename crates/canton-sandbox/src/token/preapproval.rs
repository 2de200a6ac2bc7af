//! A receiver's own `TransferPreapprovalProposal` (`splice-wallet`), as an external treasury
//! creates it (`guide-peers-ops.md` §1.4: prepared, signed with the party's key, executed), and
//! its acceptance by the provider's validator automation, which here follows at once when the
//! provider is this node's validator operator.
//!
//! Simplified: the acceptance creates the `TransferPreapproval` directly under
//! `TransferPreapprovalProposal_Accept`, without the `AmuletRules_CreateTransferPreapproval` fee
//! burn a real Splice node adds below it.

use std::collections::BTreeSet;

use exchange_core::Timestamp;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Create, Exercise, Ledger, Node, SubmissionMeta};
use crate::token::amulet::{AmuletToken, Committed, DAY_MICROS, TokenError};
use crate::token::packages;

/// Preapprovals last 90 days, as Splice's default.
const PREAPPROVAL_DAYS: i64 = 90;

/// The proposal's create arguments: `{receiver, provider, expectedDso}`.
#[derive(Debug, Clone)]
pub struct PreapprovalProposal {
    pub receiver: String,
    pub provider: String,
    pub expected_dso: Option<String>,
    pub command_id: String,
}

impl AmuletToken {
    /// Creates the proposal (signed by the receiver, seen by the provider); if this node's
    /// validator operator is the provider, its automation accepts it in a transaction of its
    /// own. Answers the proposal's transaction.
    pub fn propose_preapproval(
        &self,
        ledger: &mut Ledger,
        proposal: &PreapprovalProposal,
    ) -> Result<Committed, TokenError> {
        if let Some(dso) = &proposal.expected_dso
            && *dso != self.dso
        {
            return Err(TokenError::Interpretation(format!(
                "expectedDso {dso} is not the DSO {}",
                self.dso
            )));
        }
        let mut created = String::new();
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: proposal.command_id.clone(),
                act_as: parties([proposal.receiver.as_str()]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let create = Create {
                    contract_id: ctx.new_contract_id(),
                    template: packages::transfer_preapproval_proposal_template(),
                    argument: Value::record(vec![
                        ("receiver", Value::party(&proposal.receiver)),
                        ("provider", Value::party(&proposal.provider)),
                        (
                            "expectedDso",
                            Value::opt(proposal.expected_dso.as_deref().map(Value::party)),
                        ),
                    ]),
                    signatories: parties([proposal.receiver.as_str()]),
                    observers: parties([proposal.provider.as_str()])
                        .into_iter()
                        .filter(|p| *p != proposal.receiver)
                        .collect(),
                    interfaces: vec![],
                };
                created = create.contract_id.clone();
                Ok(vec![Node::Create(create)])
            },
        )?;
        let committed = Committed {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            contract_id: created,
        };
        if proposal.provider == self.provider {
            self.accept_proposal(ledger, &committed.contract_id, &proposal.receiver)?;
        }
        Ok(committed)
    }

    /// `TransferPreapprovalProposal_Accept` by the provider: archives the proposal and creates
    /// the `TransferPreapproval`.
    fn accept_proposal(
        &self,
        ledger: &mut Ledger,
        proposal_cid: &str,
        receiver: &str,
    ) -> Result<Committed, TokenError> {
        let mut created = String::new();
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: format!("sandbox-preapproval-accept-{}", ledger.ledger_end() + 1),
                act_as: parties([self.provider.as_str()]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let preapproval =
                    self.preapproval_create(ctx.new_contract_id(), receiver, ctx.let_time);
                created = preapproval.contract_id.clone();
                Ok(vec![Node::Exercise(Exercise {
                    contract_id: proposal_cid.to_owned(),
                    interface: None,
                    choice: "TransferPreapprovalProposal_Accept".to_owned(),
                    argument: Value::record(vec![]),
                    acting_parties: parties([self.provider.as_str()]),
                    choice_observers: Default::default(),
                    consuming: true,
                    result: Value::record(vec![(
                        "transferPreapprovalCid",
                        Value::cid(&preapproval.contract_id),
                    )]),
                    children: vec![Node::Create(preapproval)],
                })])
            },
        )?;
        Ok(Committed {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            contract_id: created,
        })
    }

    /// A `TransferPreapproval` of `receiver` with this node's provider, valid from `now`.
    pub(crate) fn preapproval_create(
        &self,
        contract_id: String,
        receiver: &str,
        now: Timestamp,
    ) -> Create {
        let expires = now
            .checked_add_micros(PREAPPROVAL_DAYS * DAY_MICROS)
            .unwrap_or(now);
        Create {
            contract_id,
            template: packages::transfer_preapproval_template(),
            argument: Value::record(vec![
                ("dso", Value::party(&self.dso)),
                ("receiver", Value::party(receiver)),
                ("provider", Value::party(&self.provider)),
                ("validFrom", Value::Time(now)),
                ("lastRenewedAt", Value::Time(now)),
                ("expiresAt", Value::Time(expires)),
            ]),
            signatories: parties([receiver, self.provider.as_str(), self.dso.as_str()]),
            observers: BTreeSet::new(),
            interfaces: vec![],
        }
    }
}
