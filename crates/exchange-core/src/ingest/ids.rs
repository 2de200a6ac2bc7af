//! The ids the fold gives deposits and withdrawals, from ledger data only.
//!
//! # Invariants
//! - **Deterministic.** Replaying the same history (e.g. after a DB restore) yields the same
//!   ids, so the store can refuse a second credit of one id.

use std::collections::HashMap;

use crate::ContractId;
use crate::changeset::DepositId;
use crate::parser::{ParsedTransaction, Transfer};
use crate::withdrawal::WithdrawalId;

/// The withdrawal a self-transfer may complete: the one its memo names (a pool transfer, if
/// the DB knows one by that id).
pub(super) fn pool_transfer_id(t: &Transfer) -> Option<WithdrawalId> {
    t.reason.as_deref().and_then(WithdrawalId::new)
}

/// Counts transfers per node, so that one node moving several instruments gives distinct ids.
#[derive(Default)]
pub(super) struct NodeCounter(HashMap<i32, usize>);

impl NodeCounter {
    pub(super) fn next(&mut self, node: i32) -> usize {
        let n = self.0.entry(node).or_default();
        *n += 1;
        *n - 1
    }
}

/// `offer:<instruction cid>` for multi-step deposits, `<update id>:<node id>` for 1-step ones;
/// a further instrument of the same node gets `:<k>`.
pub(super) fn deposit_id(tx: &ParsedTransaction, t: &Transfer, k: usize) -> DepositId {
    let base = match &t.transfer_instruction_cid {
        Some(cid) => offer_deposit_id(cid).to_string(),
        None => format!("{}:{}", tx.update_id, t.node_id),
    };
    let id = if k == 0 { base } else { format!("{base}:{k}") };
    DepositId::new(id).expect("non-empty")
}

/// The id of the deposit an incoming offer carries.
pub fn offer_deposit_id(offer: &ContractId) -> DepositId {
    DepositId::new(format!("offer:{offer}")).expect("non-empty")
}

/// The memo, or for a transfer without one an id from the ledger (the offer's contract id, which
/// its fate names too, or `update id:node id`), so it can still be recorded.
pub(super) fn withdrawal_id(tx: &ParsedTransaction, t: &Transfer) -> WithdrawalId {
    t.reason
        .as_deref()
        .and_then(WithdrawalId::new)
        .unwrap_or_else(|| {
            let id = match &t.transfer_instruction_cid {
                Some(cid) => format!("unidentified:offer:{cid}"),
                None => format!("unidentified:{}:{}", tx.update_id, t.node_id),
            };
            WithdrawalId::new(id).expect("non-empty")
        })
}
