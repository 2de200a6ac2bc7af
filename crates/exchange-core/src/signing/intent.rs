//! What the exchange asked for, before any node answered: the only description of an action the
//! verifier trusts.

use std::collections::BTreeSet;

pub use crate::parser::Standard;
use crate::{Amount, ContractId, InstrumentId, PartyId, SynchronizerId, Timestamp};

/// The metadata key the token standard reads the memo from (`transfer.meta`).
pub const REASON_KEY: &str = "splice.lfdecentralizedtrust.org/reason";

/// One action of the treasury on the ledger, as the exchange decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// `TransferFactory_Transfer` on the registry's factory (a withdrawal or a pool
    /// self-transfer), through V1's or V2's factory interface.
    Transfer(TransferIntent),
    /// `TransferInstruction_Accept` on an offer made to the treasury (a deposit accept).
    AcceptInstruction(AcceptIntent),
    /// The create of a Canton Coin `TransferPreapprovalProposal` for the treasury (which the
    /// provider then accepts), so deposits arrive in one step.
    Preapproval(PreapprovalIntent),
}

/// Fields the verifier checks on every action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// The treasury: the only party that may act, and whose holdings are guarded.
    pub treasury: PartyId,
    pub synchronizer: SynchronizerId,
    /// Contracts the registry disclosed for this action (factory, rules, rounds, preapproval):
    /// with the treasury's own inputs, the only contracts the transaction may use as inputs.
    pub disclosed: BTreeSet<ContractId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferIntent {
    pub common: Common,
    /// The factory contract the registry named (`factoryId`).
    pub factory: ContractId,
    /// The registry admin the exchange onboarded (V1's `expectedAdmin`; V2's argument has no
    /// such field, its factory checks the instrument's admin, which is this one).
    pub expected_admin: PartyId,
    pub receiver: PartyId,
    pub amount: Amount,
    pub instrument: InstrumentId,
    /// Written as `transfer.meta.values[REASON_KEY]`; the only key the exchange writes there.
    pub memo: String,
    /// The treasury holdings the exchange selected; exactly these may be spent.
    pub inputs: BTreeSet<ContractId>,
    pub requested_at: Timestamp,
    pub execute_before: Timestamp,
    /// At most this much beyond `amount` may leave the treasury (fees; zero since CIP-0078).
    pub max_fee: Amount,
    /// The factory interface the transfer goes through: V1's `{expectedAdmin, transfer,
    /// extraArgs}` with parties, or, for a V2-only token, V2's `{transfer, actors = [treasury],
    /// extraArgs}` with accounts (`TransferInstructionV2.TransferFactory`).
    pub through: Standard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptIntent {
    pub common: Common,
    /// The `TransferInstruction` the treasury accepts.
    pub instruction: ContractId,
    /// The instrument the offer is in: the only holdings the treasury may receive.
    pub instrument: InstrumentId,
    /// The interface the accept goes through: V1's `TransferInstruction_Accept {extraArgs}`,
    /// or, for an offer of a V2-only token, V2's `{actors = [treasury], extraArgs}`.
    pub through: Standard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreapprovalIntent {
    pub common: Common,
    /// The validator party that will accept the proposal and run the preapproval.
    pub provider: PartyId,
    /// The DSO party (Canton Coin's admin).
    pub dso: PartyId,
}

impl Intent {
    pub fn common(&self) -> &Common {
        match self {
            Intent::Transfer(t) => &t.common,
            Intent::AcceptInstruction(a) => &a.common,
            Intent::Preapproval(p) => &p.common,
        }
    }

    /// The treasury's own contracts this action may consume.
    pub(crate) fn consumable(&self) -> BTreeSet<&str> {
        match self {
            Intent::Transfer(t) => t.inputs.iter().map(ContractId::as_str).collect(),
            Intent::AcceptInstruction(a) => BTreeSet::from([a.instruction.as_str()]),
            Intent::Preapproval(_) => BTreeSet::new(),
        }
    }

    /// Contracts the transaction may read or exercise that it did not create.
    pub(crate) fn allowed_inputs(&self) -> BTreeSet<&str> {
        let mut allowed: BTreeSet<&str> = self
            .common()
            .disclosed
            .iter()
            .map(ContractId::as_str)
            .collect();
        allowed.extend(self.consumable());
        if let Intent::Transfer(t) = self {
            allowed.insert(t.factory.as_str());
        }
        allowed
    }
}
