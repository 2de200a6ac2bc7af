//! Puts the V2 reading in place of the V1 reading, instrument by instrument, so that no
//! transfer is counted twice.
//!
//! For an instrument read from V2, the V1 transfers that moved holdings (completed or accepted
//! ones) are replaced by the V2 transfers. A V2 transfer that is the same movement as a V1 one
//! (same direction, kind and counterparty; the same amount first) takes over the V1 transfer's
//! node, choice, status and instruction, so that what ingestion derives from them (deposit ids,
//! the fate of an offer) is the same whichever standard the transaction was read from. V1
//! transfers that record an instruction's life without moving holdings (pending, rejected,
//! withdrawn, failed, expired) stay: V2 events report holdings, not instructions.

use super::v2::V2Reading;
use super::{ParsedTransaction, Transfer, TransferStatus};

pub(super) fn apply(out: &mut ParsedTransaction, reading: V2Reading) {
    out.untrusted_events.extend(reading.untrusted);
    if reading.instruments.is_empty() {
        return;
    }
    let by_v2 = |t: &Transfer| {
        t.instrument
            .as_ref()
            .is_some_and(|i| reading.instruments.contains(i))
    };
    let mut kept = Vec::new();
    let mut v1_moves: Vec<Option<Transfer>> = Vec::new();
    for t in std::mem::take(&mut out.transfers) {
        if by_v2(&t) && moved_holdings(t.status) {
            v1_moves.push(Some(t));
        } else {
            kept.push(t);
        }
    }
    for mut t in reading.transfers {
        if let Some(v1) = counterpart(&t, &mut v1_moves) {
            t.node_id = v1.node_id;
            t.choice = v1.choice;
            t.status = v1.status;
            t.transfer_instruction_cid = v1.transfer_instruction_cid;
            t.reason = t.reason.or(v1.reason);
            let mut meta = v1.meta;
            meta.extend(std::mem::take(&mut t.meta));
            t.meta = meta;
        }
        kept.push(t);
    }
    // Node order, as the V1 reading lists them (stable: a node's transfers keep their order).
    kept.sort_by_key(|t| t.node_id);
    out.transfers = kept;
    out.unexplained.retain(|u| {
        !(reading.instruments.contains(&u.holding.instrument)
            && reading.explained.contains(&u.holding.contract_id))
    });
    out.read_from_v2 = reading.instruments;
}

fn moved_holdings(status: TransferStatus) -> bool {
    matches!(status, TransferStatus::Completed | TransferStatus::Accepted)
}

/// Takes the V1 transfer that is the same movement as `t`, if any.
fn counterpart(t: &Transfer, v1: &mut [Option<Transfer>]) -> Option<Transfer> {
    // A party the V1 reading could not name (an instruction unknown to the lookup) does not
    // tell the movements apart.
    let party = |v1: &Option<_>, v2: &Option<_>| v1.is_none() || v1 == v2;
    let same = |o: &Transfer| {
        o.instrument == t.instrument
            && o.direction == t.direction
            && o.kind == t.kind
            && party(&o.sender, &t.sender)
            && party(&o.receiver, &t.receiver)
    };
    let exact = v1
        .iter()
        .position(|o| o.as_ref().is_some_and(|o| same(o) && o.amount == t.amount));
    let loose = || v1.iter().position(|o| o.as_ref().is_some_and(same));
    exact.or_else(loose).and_then(|i| v1[i].take())
}
