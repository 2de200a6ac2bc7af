//! Token standard V2 transfer events (CIP-0112 §4.1.5): `EventLog_HoldingsChange`, the
//! non-consuming choice an instrument admin exercises, alone, on one of its `EventLog`
//! contracts to tell an account's owner which of its holdings a transaction consumed and
//! created and which transfer legs explain the change. Pure: builds values and nodes only.
//!
//! The shapes are Splice's (`TransferEventsV2.daml`, `HoldingV2.daml`); how Amulet groups them
//! (one event per account, accounts in Daml's `Ord` order) is `mergeHoldingsChangeEventsByAccount`
//! of `AmuletRules.daml`, reproduced by [`merge_by_account`].

use std::collections::{BTreeMap, BTreeSet};

use exchange_core::Amount;

use crate::daml::Value;
use crate::model::{Exercise, Node};
use crate::token::packages::{self, meta};

/// The special account mints come from (`Events.daml`, `cip-112/` namespace).
pub const MINT_ACCOUNT_ID: &str = "cip-112/mint";

/// An account: `owner` is `None` only for the admin's special accounts (mint, burn). The
/// sandbox's tokens have no account providers, so `provider` is always `None`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Account {
    pub owner: Option<String>,
    pub id: String,
}

impl Account {
    /// A basic account: the party's default account (`id = ""`).
    pub fn basic(owner: &str) -> Account {
        Account {
            owner: Some(owner.to_owned()),
            id: String::new(),
        }
    }

    pub fn mint() -> Account {
        Account {
            owner: None,
            id: MINT_ACCOUNT_ID.to_owned(),
        }
    }

    /// `HoldingV2.Account`, fields in declaration order.
    pub fn value(&self) -> Value {
        Value::record(vec![
            ("owner", Value::opt(self.owner.as_deref().map(Value::party))),
            ("provider", Value::none()),
            ("id", Value::text(&self.id)),
        ])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Sender,
    Receiver,
}

/// One side of a transfer leg as the account on that side sees it.
#[derive(Debug, Clone)]
pub struct LegSide {
    pub leg_id: String,
    pub side: Side,
    pub otherside: Account,
    pub amount: Amount,
    /// The instrument id's `id` (the admin is the event's).
    pub instrument: String,
    /// The leg's metadata: where a transfer's memo (`…/reason`) travels in V2.
    pub meta: Vec<(String, String)>,
}

impl LegSide {
    fn value(&self) -> Value {
        let side = match self.side {
            Side::Sender => "SenderSide",
            Side::Receiver => "ReceiverSide",
        };
        Value::record(vec![
            ("transferLegId", Value::text(&self.leg_id)),
            ("side", Value::Enum(side)),
            ("otherside", self.otherside.value()),
            ("amount", Value::Numeric(self.amount)),
            ("instrumentId", Value::text(&self.instrument)),
            ("meta", metadata(&self.meta)),
        ])
    }
}

/// The argument of one `EventLog_HoldingsChange`.
#[derive(Debug, Clone)]
pub struct HoldingsChange {
    pub admin: String,
    pub account: Account,
    pub inputs: Vec<String>,
    pub legs: Vec<LegSide>,
    pub outputs: Vec<String>,
    /// Notified parties (choice observers): at least the account's owner.
    pub observers: BTreeSet<String>,
    /// `extraArgs.meta`: the reason for the change as a whole (e.g. an unlock's).
    pub meta: Vec<(String, String)>,
}

impl HoldingsChange {
    /// An event about `owner`'s basic account, observed by `owner`.
    pub fn basic(admin: &str, owner: &str) -> HoldingsChange {
        HoldingsChange {
            admin: admin.to_owned(),
            account: Account::basic(owner),
            inputs: vec![],
            legs: vec![],
            outputs: vec![],
            observers: [owner.to_owned()].into(),
            meta: vec![],
        }
    }

    pub fn argument(&self) -> Value {
        let cids = |cids: &[String]| Value::List(cids.iter().map(Value::cid).collect());
        Value::record(vec![
            ("admin", Value::party(&self.admin)),
            ("account", self.account.value()),
            ("inputHoldingCids", cids(&self.inputs)),
            (
                "transferLegSides",
                Value::List(self.legs.iter().map(LegSide::value).collect()),
            ),
            ("outputHoldingCids", cids(&self.outputs)),
            (
                "observers",
                Value::List(self.observers.iter().map(Value::party).collect()),
            ),
            (
                "extraArgs",
                Value::record(vec![
                    ("context", Value::metadata([])),
                    ("meta", metadata(&self.meta)),
                ]),
            ),
        ])
    }

    /// The exercise on the `EventLog` contract `log_cid`, through the interface, by the admin
    /// alone; its observers are informees (and so see it, whatever else they see).
    pub fn exercise(&self, log_cid: &str) -> Exercise {
        Exercise {
            contract_id: log_cid.to_owned(),
            interface: Some(packages::event_log_interface()),
            choice: "EventLog_HoldingsChange".into(),
            argument: self.argument(),
            acting_parties: [self.admin.clone()].into(),
            choice_observers: self.observers.clone(),
            consuming: false,
            result: Value::record(vec![]),
            children: vec![],
        }
    }
}

/// Merges events about the same account (inputs, legs and outputs concatenated in order,
/// observers united, metas joined) and orders them by account, as Amulet does before
/// exercising them.
pub fn merge_by_account(events: Vec<HoldingsChange>) -> Vec<HoldingsChange> {
    let mut by_account: BTreeMap<Account, HoldingsChange> = BTreeMap::new();
    for e in events {
        match by_account.get_mut(&e.account) {
            None => {
                by_account.insert(e.account.clone(), e);
            }
            Some(first) => {
                first.inputs.extend(e.inputs);
                first.legs.extend(e.legs);
                first.outputs.extend(e.outputs);
                first.observers.extend(e.observers);
                for (k, v) in e.meta {
                    if let Some(slot) = first.meta.iter_mut().find(|(key, _)| *key == k) {
                        slot.1 = v;
                    } else {
                        first.meta.push((k, v));
                    }
                }
            }
        }
    }
    by_account.into_values().collect()
}

/// The events of a transfer of `amount` from `sender` to `receiver` (leg `leg0`): the sender
/// spends `inputs` and keeps `change`, the receiver gets `output`; merged per account (a
/// transfer to oneself, such as an offer's lock, is one event with both sides).
pub struct TransferEvents<'a> {
    pub admin: &'a str,
    pub instrument: &'a str,
    pub sender: &'a str,
    pub receiver: &'a str,
    pub amount: Amount,
    pub inputs: Vec<String>,
    pub change: Option<String>,
    pub output: String,
    pub leg_meta: Vec<(String, String)>,
}

impl TransferEvents<'_> {
    pub fn events(self) -> Vec<HoldingsChange> {
        let leg = |side, otherside: &str| LegSide {
            leg_id: "leg0".to_owned(),
            side,
            otherside: Account::basic(otherside),
            amount: self.amount,
            instrument: self.instrument.to_owned(),
            meta: self.leg_meta.clone(),
        };
        let spent = HoldingsChange {
            inputs: self.inputs.clone(),
            outputs: self.change.iter().cloned().collect(),
            ..HoldingsChange::basic(self.admin, self.sender)
        };
        let sent = HoldingsChange {
            legs: vec![leg(Side::Sender, self.receiver)],
            ..HoldingsChange::basic(self.admin, self.sender)
        };
        let received = HoldingsChange {
            legs: vec![leg(Side::Receiver, self.sender)],
            outputs: vec![self.output.clone()],
            ..HoldingsChange::basic(self.admin, self.receiver)
        };
        merge_by_account(vec![spent, sent, received])
    }

    /// The events as exercise nodes on `log_cid`.
    pub fn nodes(self, log_cid: &str) -> Vec<Node> {
        self.events()
            .iter()
            .map(|e| Node::Exercise(e.exercise(log_cid)))
            .collect()
    }
}

/// A mint of `amount` into `owner`'s new holding `output` (leg `mint` from the mint account).
pub fn mint_event(
    admin: &str,
    instrument: &str,
    owner: &str,
    amount: Amount,
    output: &str,
    reason: &str,
) -> HoldingsChange {
    HoldingsChange {
        legs: vec![LegSide {
            leg_id: "mint".to_owned(),
            side: Side::Receiver,
            otherside: Account::mint(),
            amount,
            instrument: instrument.to_owned(),
            meta: vec![(meta::REASON.to_owned(), reason.to_owned())],
        }],
        outputs: vec![output.to_owned()],
        ..HoldingsChange::basic(admin, owner)
    }
}

/// An unlock: `owner`'s locked holding `locked` became `unlocked`, no transfer; `reason`
/// explains it in the event's meta.
pub fn unlock_event(
    admin: &str,
    owner: &str,
    locked: &str,
    unlocked: &str,
    reason: &str,
) -> HoldingsChange {
    HoldingsChange {
        inputs: vec![locked.to_owned()],
        outputs: vec![unlocked.to_owned()],
        meta: vec![(meta::REASON.to_owned(), reason.to_owned())],
        ..HoldingsChange::basic(admin, owner)
    }
}

/// A metadata value from owned pairs.
pub fn metadata(entries: &[(String, String)]) -> Value {
    Value::metadata(entries.iter().map(|(k, v)| (k.as_str(), v.clone())))
}
