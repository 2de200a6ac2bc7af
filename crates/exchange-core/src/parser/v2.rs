//! The V2 reading: the party's `EventLog_HoldingsChange` events, checked, turned into transfers.
//!
//! An event is only the admin's word if the admin gave it: the interface lets anyone implement
//! `EventLog` and log claims naming any admin, so an event counts only when
//! - it is exercised by its `admin` alone (the choice's controller is the `admin` argument, so
//!   the acting parties are exactly who authorised it),
//! - that admin is the admin of an onboarded instrument, and every (admin, instrument id) pair
//!   its legs and holdings name is onboarded,
//! - every holding it names is in the transaction (outputs created, inputs archived), of the
//!   admin's instrument, the account owner's, and signed by the admin where its create is seen,
//! - its holdings change by what its legs say.
//!
//! Events about other parties' accounts are none of the party's business and are skipped. Per
//! instrument, the trusted events must explain the party's whole holding change in the
//! transaction; if they do not, the instrument is read from V1 (and that is reported).

use std::collections::{BTreeMap, HashMap, HashSet};

use canton_ledger::{Event, ExercisedEvent};

use super::nodes::Node;
use super::{
    Direction, HoldingChange, NodeError, Standard, Transfer, TransferKind, TransferStatus,
    Untrusted, UntrustedEvent, V2Leg,
};
use crate::interfaces::EVENT_LOG_V2;
use crate::token_standard::{Holding, META_REASON};
use crate::token_standard_v2::{
    self as ts2, HoldingsChange, SpecialAccount, TransferLegSide, TransferSide,
};
use crate::tokens::Onboarded;
use crate::{Amount, ContractId, InstrumentId, PartyId};

/// What the trusted V2 events of a transaction say, per instrument.
#[derive(Debug, Default)]
pub(super) struct V2Reading {
    /// Instruments whose movements are read from V2.
    pub(super) instruments: Vec<InstrumentId>,
    /// Their transfers, in event order.
    pub(super) transfers: Vec<Transfer>,
    /// The holdings the trusted events name (they explain those holdings' creates and archives).
    pub(super) explained: HashSet<ContractId>,
    pub(super) untrusted: Vec<UntrustedEvent>,
}

/// The holdings of the transaction by contract id: created ones, and resolved archived ones.
struct Holdings<'n> {
    created: HashMap<&'n str, &'n Holding>,
    archived: HashMap<&'n str, &'n Holding>,
}

impl<'n> Holdings<'n> {
    fn of(nodes: &'n [Node<'_>]) -> Holdings<'n> {
        let mut h = Holdings {
            created: HashMap::new(),
            archived: HashMap::new(),
        };
        for n in nodes {
            if let Some(c) = &n.created_holding {
                h.created.insert(c.contract_id.as_str(), c);
            }
            if let Some(a) = &n.archived_holding {
                h.archived.insert(a.contract_id.as_str(), a);
            }
        }
        h
    }
}

/// A trusted event: its transfers and the party's net holding change per instrument.
struct Trusted {
    node_id: i32,
    transfers: Vec<Transfer>,
    net: Vec<(InstrumentId, Amount)>,
    named: Vec<ContractId>,
}

/// Reads the V2 events of `nodes` about `party`'s accounts. `changes` are the party's holding
/// changes as the ledger shows them, against which each instrument's events are checked.
pub(super) fn read(
    nodes: &[Node<'_>],
    party: &PartyId,
    onboarded: &Onboarded,
    changes: &[HoldingChange],
) -> Result<V2Reading, NodeError> {
    let holdings = Holdings::of(nodes);
    let mut reading = V2Reading::default();
    let mut trusted = Vec::new();
    for node in nodes {
        let Event::ExercisedEvent(x) = node.event else {
            continue;
        };
        if x.choice != ts2::HOLDINGS_CHANGE
            || !x
                .interface_id
                .as_deref()
                .is_some_and(|i| EVENT_LOG_V2.matches(i))
        {
            continue;
        }
        let untrusted = |admin: Option<String>, why| UntrustedEvent {
            node_id: x.node_id,
            admin,
            why,
        };
        let argument = x.choice_argument.as_deref().map_or("null", |a| a.get());
        // An event about the party's account names the party: the others (the sender's side
        // of a deposit) are skipped without decoding them.
        if !argument.contains(party.as_str()) {
            continue;
        }
        let change = match ts2::decode_holdings_change(argument) {
            Ok(c) => c,
            Err(e) => {
                let why = Untrusted::Malformed {
                    error: e.to_string(),
                };
                reading.untrusted.push(untrusted(None, why));
                continue;
            }
        };
        if change.account.owner.as_ref() != Some(party) {
            continue;
        }
        match check(x, &change, party, onboarded, &holdings) {
            Ok(net) => trusted.push(Trusted {
                node_id: x.node_id,
                transfers: transfers(x.node_id, &change, party, &holdings),
                net,
                named: named(&change),
            }),
            Err(why) => reading
                .untrusted
                .push(untrusted(Some(change.admin.to_string()), why)),
        }
    }
    per_instrument(trusted, changes, &mut reading).map_err(|e| (nodes[0].id, e))?;
    Ok(reading)
}

fn named(change: &HoldingsChange) -> Vec<ContractId> {
    let all = change.input_holding_cids.iter();
    all.chain(&change.output_holding_cids).cloned().collect()
}

/// Keeps the instruments whose trusted events explain the party's whole holding change.
fn per_instrument(
    trusted: Vec<Trusted>,
    changes: &[HoldingChange],
    reading: &mut V2Reading,
) -> Result<(), String> {
    let mut events_net: Vec<(InstrumentId, Amount, i32)> = Vec::new();
    for t in &trusted {
        for (i, a) in &t.net {
            match events_net.iter_mut().find(|(k, _, _)| k == i) {
                Some((_, sum, _)) => *sum = sum.checked_add(*a).map_err(|e| e.to_string())?,
                None => events_net.push((i.clone(), *a, t.node_id)),
            }
        }
    }
    for (instrument, events, node_id) in events_net {
        let holdings = changes
            .iter()
            .find(|c| c.instrument == instrument)
            .map_or(Amount::ZERO, |c| c.net);
        if holdings == events {
            reading.instruments.push(instrument);
        } else {
            reading.untrusted.push(UntrustedEvent {
                node_id,
                admin: Some(instrument.admin.to_string()),
                why: Untrusted::Incomplete {
                    instrument,
                    holdings_net: holdings,
                    events_net: events,
                },
            });
        }
    }
    for t in trusted {
        let mine = |i: &InstrumentId| reading.instruments.contains(i);
        // An event whose instruments are all read from V2 explains the holdings it names.
        if t.net.iter().all(|(i, _)| mine(i)) {
            reading.explained.extend(t.named);
        }
        let kept = t
            .transfers
            .into_iter()
            .filter(|tr| tr.instrument.as_ref().is_some_and(mine));
        reading.transfers.extend(kept);
    }
    Ok(())
}

/// The trust checks of one event about the party's account; on success, the party's net
/// holding change per instrument (legs' instruments included, at zero if no holding moved).
fn check(
    x: &ExercisedEvent,
    change: &HoldingsChange,
    party: &PartyId,
    onboarded: &Onboarded,
    holdings: &Holdings<'_>,
) -> Result<Vec<(InstrumentId, Amount)>, Untrusted> {
    let admin = &change.admin;
    if x.acting_parties.len() != 1 || x.acting_parties[0] != admin.as_str() {
        return Err(Untrusted::NotExercisedByAdmin {
            acting_parties: x.acting_parties.clone(),
        });
    }
    if !onboarded.iter().any(|t| &t.instrument.admin == admin) {
        return Err(Untrusted::AdminNotOnboarded);
    }
    let legs_net = legs_net(change, onboarded)?;
    let mut holdings_net = holdings_net(change, party, onboarded, holdings)?;
    for (id, _) in &legs_net {
        if !holdings_net.iter().any(|(k, _)| k == id) {
            holdings_net.push((id.clone(), Amount::ZERO));
        }
    }
    for (id, net) in &holdings_net {
        let legs = legs_net
            .iter()
            .find(|(k, _)| k == id)
            .map_or(Amount::ZERO, |(_, a)| *a);
        if legs != *net {
            return Err(Untrusted::Unbalanced {
                instrument_id: id.clone(),
                holdings_net: *net,
                legs_net: legs,
            });
        }
    }
    let instrument = |id: String| InstrumentId {
        admin: admin.clone(),
        id,
    };
    Ok(holdings_net
        .into_iter()
        .map(|(id, a)| (instrument(id), a))
        .collect())
}

fn overflow(_: String) -> Untrusted {
    Untrusted::Malformed {
        error: "amounts overflow".into(),
    }
}

/// What the legs say the account's holdings change by, per instrument id; every (admin,
/// instrument id) pair they name must be onboarded.
fn legs_net(
    change: &HoldingsChange,
    onboarded: &Onboarded,
) -> Result<Vec<(String, Amount)>, Untrusted> {
    let mut net = Vec::new();
    for leg in &change.transfer_leg_sides {
        let i = InstrumentId {
            admin: change.admin.clone(),
            id: leg.instrument_id.clone(),
        };
        if !onboarded.is_onboarded(&i) {
            return Err(Untrusted::InstrumentNotOnboarded { instrument: i });
        }
        let signed = match leg.side {
            TransferSide::ReceiverSide => leg.amount,
            TransferSide::SenderSide => -leg.amount,
        };
        add(&mut net, &leg.instrument_id, signed).map_err(overflow)?;
    }
    Ok(net)
}

/// What the holdings the event names change by, per instrument id; each must be in the
/// transaction, the account owner's, of an onboarded instrument of the admin, and signed by the
/// admin where its create is known.
fn holdings_net(
    change: &HoldingsChange,
    party: &PartyId,
    onboarded: &Onboarded,
    holdings: &Holdings<'_>,
) -> Result<Vec<(String, Amount)>, Untrusted> {
    let admin = &change.admin;
    let mut net = Vec::new();
    let sides = [
        (&change.input_holding_cids, &holdings.archived, true),
        (&change.output_holding_cids, &holdings.created, false),
    ];
    for (cids, known, is_input) in sides {
        for cid in cids {
            let Some(h) = known.get(cid.as_str()) else {
                return Err(Untrusted::UnknownHolding {
                    contract_id: cid.clone(),
                });
            };
            let signed_by_admin = h
                .provenance
                .as_ref()
                .is_none_or(|p| p.signatories.contains(admin));
            if &h.instrument.admin != admin || &h.owner != party || !signed_by_admin {
                return Err(Untrusted::ForeignHolding {
                    contract_id: cid.clone(),
                });
            }
            if !onboarded.is_onboarded(&h.instrument) {
                return Err(Untrusted::InstrumentNotOnboarded {
                    instrument: h.instrument.clone(),
                });
            }
            let signed = if is_input { -h.amount } else { h.amount };
            add(&mut net, &h.instrument.id, signed).map_err(overflow)?;
        }
    }
    Ok(net)
}

fn add(list: &mut Vec<(String, Amount)>, key: &str, amount: Amount) -> Result<(), String> {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, a)) => *a = a.checked_add(amount).map_err(|e| e.to_string())?,
        None => list.push((key.to_owned(), amount)),
    }
    Ok(())
}

/// The transfers a trusted event reports for the party: one per leg side (a self-transfer once,
/// from its sender side), or for an event without legs, a merge-split or unlock per instrument.
fn transfers(
    node_id: i32,
    change: &HoldingsChange,
    party: &PartyId,
    holdings: &Holdings<'_>,
) -> Vec<Transfer> {
    let event_reason = change.meta.get(META_REASON).filter(|r| !r.is_empty());
    let base = |leg: Option<&TransferLegSide>| Transfer {
        node_id,
        choice: ts2::HOLDINGS_CHANGE.to_owned(),
        kind: TransferKind::Transfer,
        direction: Direction::SelfTransfer,
        sender: Some(party.clone()),
        receiver: Some(party.clone()),
        instrument: None,
        amount: None,
        reason: leg
            .and_then(TransferLegSide::reason)
            .filter(|r| !r.is_empty())
            .or(event_reason)
            .map(str::to_owned),
        status: TransferStatus::Completed,
        transfer_instruction_cid: None,
        meta: leg.map_or_else(|| change.meta.values.0.clone(), |l| l.meta.clone()),
        read_from: Standard::V2,
        v2_leg: Some(V2Leg {
            event_node_id: node_id,
            account: change.account.clone(),
            leg: leg.cloned(),
        }),
    };
    if change.transfer_leg_sides.is_empty() {
        return legless(change, holdings, base(None));
    }
    let admin = &change.admin;
    let mut out = Vec::new();
    for leg in &change.transfer_leg_sides {
        let Some(Roles {
            kind,
            direction,
            sender,
            receiver,
        }) = roles(leg, party, admin)
        else {
            continue;
        };
        out.push(Transfer {
            kind,
            direction,
            sender,
            receiver,
            instrument: Some(InstrumentId {
                admin: admin.clone(),
                id: leg.instrument_id.clone(),
            }),
            amount: Some(leg.amount),
            ..base(Some(leg))
        });
    }
    out
}

/// What a leg side makes of the party and its counterparty.
struct Roles {
    kind: TransferKind,
    direction: Direction,
    sender: Option<PartyId>,
    receiver: Option<PartyId>,
}

/// The roles of a leg side on the party's account; `None` for the receiver side of a
/// self-transfer (its sender side reports it, once).
fn roles(leg: &TransferLegSide, party: &PartyId, admin: &PartyId) -> Option<Roles> {
    let other = leg.otherside.owner.clone();
    let me = || Some(party.clone());
    let (kind, direction, sender, receiver) = match (
        leg.side,
        leg.otherside.special(),
        other.as_ref() == Some(party),
    ) {
        (TransferSide::SenderSide, _, true) => (
            TransferKind::MergeSplit,
            Direction::SelfTransfer,
            me(),
            me(),
        ),
        (TransferSide::ReceiverSide, _, true) => return None,
        (TransferSide::ReceiverSide, Some(SpecialAccount::Mint), _) => {
            (TransferKind::Mint, Direction::In, Some(admin.clone()), me())
        }
        (TransferSide::SenderSide, Some(SpecialAccount::Burn), _) => (
            TransferKind::Burn,
            Direction::Out,
            me(),
            Some(admin.clone()),
        ),
        (TransferSide::ReceiverSide, _, _) => (TransferKind::Transfer, Direction::In, other, me()),
        (TransferSide::SenderSide, _, _) => (TransferKind::Transfer, Direction::Out, me(), other),
    };
    Some(Roles {
        kind,
        direction,
        sender,
        receiver,
    })
}

/// An event without legs moves holdings within the account: an unlock when locked inputs
/// became unlocked outputs, a merge or split otherwise; one per instrument, for what it created.
fn legless(change: &HoldingsChange, holdings: &Holdings<'_>, base: Transfer) -> Vec<Transfer> {
    let inputs: Vec<&Holding> = change
        .input_holding_cids
        .iter()
        .filter_map(|c| holdings.archived.get(c.as_str()).copied())
        .collect();
    let mut created: BTreeMap<&InstrumentId, (Amount, bool)> = BTreeMap::new();
    for h in change
        .output_holding_cids
        .iter()
        .filter_map(|c| holdings.created.get(c.as_str()))
    {
        let e = created
            .entry(&h.instrument)
            .or_insert((Amount::ZERO, false));
        // Checked already: the event balanced, so its outputs' sum does not overflow.
        e.0 = e.0.checked_add(h.amount).unwrap_or(e.0);
        e.1 |= h.lock.is_some();
    }
    created
        .into_iter()
        .filter(|(_, (a, _))| a.is_positive())
        .map(|(instrument, (amount, locked_out))| {
            let locked_in = inputs
                .iter()
                .any(|h| &h.instrument == instrument && h.lock.is_some());
            Transfer {
                kind: if locked_in && !locked_out {
                    TransferKind::Unlock
                } else {
                    TransferKind::MergeSplit
                },
                instrument: Some(instrument.clone()),
                amount: Some(amount),
                ..base.clone()
            }
        })
        .collect()
}
