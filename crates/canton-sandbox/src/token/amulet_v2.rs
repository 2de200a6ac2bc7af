//! Canton Coin's trees as Splice 0.6.11+ builds them
//! ([`SpliceRelease::V0_6_11`](crate::token::amulet::SpliceRelease::V0_6_11)), checked
//! node for node against `fixtures/splice-cli-0.6.11/txs.json`:
//!
//! - token standard operations no longer run `AmuletRules_Transfer` (0.5.16): the factory, the
//!   preapproval's `TransferPreapproval_SendV2` or the instruction executes the transfer
//!   itself (`executeExternalPartyTransfer`): a fetch of the `ExternalPartyConfigState`, each
//!   input fetched and archived, the outputs, the sender's change, then one
//!   `EventLog_HoldingsChange` per account on that `ExternalPartyConfigState`;
//! - unlocks are `LockedAmulet_UnlockV2` / `LockedAmulet_OwnerExpireLockV2`, which report the
//!   unlock on a temporary `AmuletEventLog` (created, exercised, archived in place).
//!
//! The V1 signals stay as they were: the factory and instruction choices with their results
//! and meta, the holdings with their `HoldingV1` views.

use std::collections::BTreeSet;

use exchange_core::Timestamp;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Exercise, Node, TxContext};
use crate::token::amulet::{
    AmuletToken, ExpiredLock, RulesTransfer, TransferPlan, TransferRequest, default_times,
    fetch_by, input_values,
};
use crate::token::events::{self, TransferEvents};
use crate::token::packages::{self, meta};
use crate::token::result;

/// Why 0.6.11 says an unlock happened, in the event (`logAmuletUnlock`) and in the choice's
/// result meta (which keeps the older wording for the owner's expiry).
pub(super) const HOLDERS_RELEASED: &str = "holders released lock";
const OWNER_RELEASED_EXPIRED: &str = "owner released expired lock";
const LOCK_EXPIRED: &str = "lock expired";

impl AmuletToken {
    /// `executeExternalPartyTransfer`'s nodes for `transfer` (see the module doc); `leg_meta`
    /// is the output's meta, which the events carry as the leg's meta.
    pub(super) fn external_transfer_nodes(
        &self,
        transfer: &RulesTransfer<'_>,
        leg_meta: Vec<(String, String)>,
    ) -> Vec<Node> {
        let plan = transfer.plan;
        let sender = transfer.sender;
        let mut nodes = vec![fetch_by(&self.external_party_config_state, sender)];
        for h in &plan.inputs {
            nodes.push(fetch_by(&h.contract_id, sender));
            nodes.push(Node::Exercise(Exercise::archive(
                &h.contract_id,
                &parties([self.dso.as_str(), sender]),
            )));
        }
        nodes.push(Node::Create(plan.receiver_amulet.clone()));
        if let Some(change) = &plan.change {
            nodes.push(Node::Create(change.clone()));
        }
        let events = TransferEvents {
            admin: &self.dso,
            instrument: "Amulet",
            sender,
            receiver: transfer.receiver,
            amount: transfer.amount,
            inputs: plan.inputs.iter().map(|h| h.contract_id.clone()).collect(),
            change: plan.change.as_ref().map(|c| c.contract_id.clone()),
            output: plan.receiver_amulet.contract_id.clone(),
            leg_meta,
        };
        nodes.extend(events.nodes(&self.external_party_config_state));
        nodes
    }

    /// The 1-step transfer of 0.6.11: `TransferFactory_Transfer` → fetches of the rules, the
    /// round and each input → `TransferPreapproval_SendV2` (by the sender, with the memo as
    /// `description` and in `meta`) → the transfer's own nodes and events.
    pub(super) fn transfer_tree_v2(
        &self,
        ctx: &TxContext<'_>,
        request: &TransferRequest,
        preapproval: &str,
        plan: TransferPlan,
        times: Option<(Timestamp, Timestamp)>,
    ) -> Exercise {
        let sender = request.sender.as_str();
        let transfer = RulesTransfer {
            plan: &plan,
            sender,
            provider: &self.provider,
            receiver: &request.receiver,
            amount: request.amount,
            lock: None,
        };
        let memo: Vec<(String, String)> = request
            .memo
            .iter()
            .map(|m| (meta::REASON.to_owned(), m.clone()))
            .collect();
        // The V1 history meta: the transfer's (sender, kind) and the description.
        let mut v1_meta = vec![
            (meta::SENDER.to_owned(), sender.to_owned()),
            (meta::TX_KIND.to_owned(), "transfer".to_owned()),
        ];
        v1_meta.extend(memo.iter().cloned());
        let send = Exercise {
            contract_id: preapproval.to_owned(),
            interface: None,
            choice: "TransferPreapproval_SendV2".into(),
            argument: Value::record(vec![
                (
                    "context",
                    Value::record(vec![(
                        "externalPartyConfigState",
                        Value::cid(&self.external_party_config_state),
                    )]),
                ),
                ("inputs", input_values(&plan.inputs)),
                ("amount", Value::Numeric(request.amount)),
                ("sender", Value::party(sender)),
                (
                    "description",
                    Value::opt(request.memo.clone().map(Value::Text)),
                ),
                ("meta", Value::some(events::metadata(&memo))),
            ]),
            acting_parties: parties([sender]),
            choice_observers: Default::default(),
            consuming: false,
            result: Value::record(vec![
                ("result", self.transfer_result(&transfer, Value::none())),
                ("meta", events::metadata(&v1_meta)),
            ]),
            children: self.external_transfer_nodes(&transfer, memo),
        };
        let times = times.unwrap_or_else(|| default_times(ctx.let_time));
        let mut root_children = vec![
            fetch_by(&self.amulet_rules, sender),
            fetch_by(&self.open_round, sender),
        ];
        root_children.extend(self.input_nodes(sender, &plan));
        root_children.push(Node::Exercise(send));
        result::factory_transfer(
            &self.external_party_rules,
            sender,
            self.factory_argument(request, &plan.submitted_inputs(), times, Some(preapproval)),
            result::instruction_result_with_meta(
                result::completed([plan.receiver_amulet.contract_id.clone()]),
                plan.change.iter().map(|c| c.contract_id.clone()),
                events::metadata(&v1_meta),
            ),
            root_children,
        )
    }

    /// `LockedAmulet_OwnerExpireLockV2` on an expired LockedAmulet given as a transfer input:
    /// by its owner, the Amulet recreated, the unlock reported on a temporary log.
    pub(super) fn owner_expire_lock_v2(
        &self,
        owner: &str,
        e: &ExpiredLock,
        log_cid: &str,
    ) -> Exercise {
        let unlocked = e.unlocked.contract_id.as_str();
        let event = events::unlock_event(
            &self.dso,
            owner,
            &e.locked_cid,
            unlocked,
            OWNER_RELEASED_EXPIRED,
        );
        let mut children = vec![Node::Create(e.unlocked.clone())];
        children.extend(self.temp_log(log_cid, &[event]));
        Exercise {
            contract_id: e.locked_cid.clone(),
            interface: None,
            choice: "LockedAmulet_OwnerExpireLockV2".into(),
            argument: Value::record(vec![]),
            acting_parties: parties([owner]),
            choice_observers: Default::default(),
            consuming: true,
            result: unlock_result(unlocked, LOCK_EXPIRED),
            children,
        }
    }

    /// `LockedAmulet_UnlockV2` of `locked_cid` (owned by `owner`, held by the DSO) into
    /// `unlocked`: by the owner and the holders, the unlock reported on a temporary log.
    pub(super) fn unlock_v2(
        &self,
        owner: &str,
        locked_cid: &str,
        unlocked: crate::model::Create,
        log_cid: &str,
    ) -> Exercise {
        let unlocked_cid = unlocked.contract_id.clone();
        let event = events::unlock_event(
            &self.dso,
            owner,
            locked_cid,
            &unlocked_cid,
            HOLDERS_RELEASED,
        );
        let mut children = vec![Node::Create(unlocked)];
        children.extend(self.temp_log(log_cid, &[event]));
        Exercise {
            contract_id: locked_cid.to_owned(),
            interface: None,
            choice: "LockedAmulet_UnlockV2".into(),
            argument: Value::record(vec![]),
            acting_parties: parties([self.dso.as_str(), owner]),
            choice_observers: Default::default(),
            consuming: true,
            result: unlock_result(&unlocked_cid, HOLDERS_RELEASED),
            children,
        }
    }

    /// `withTempAmuletEventLog`: create an `AmuletEventLog` as `log_cid`, exercise the events
    /// on it, archive it.
    fn temp_log(&self, log_cid: &str, changes: &[events::HoldingsChange]) -> Vec<Node> {
        let admins: BTreeSet<String> = parties([self.dso.as_str()]);
        let log = crate::model::Create {
            contract_id: log_cid.to_owned(),
            template: packages::amulet_event_log_template(),
            argument: Value::record(vec![("dso", Value::party(&self.dso))]),
            signatories: admins.clone(),
            observers: BTreeSet::new(),
            interfaces: vec![(
                packages::event_log_interface(),
                Value::record(vec![
                    ("admin", Value::party(&self.dso)),
                    ("meta", Value::metadata([])),
                ]),
            )],
        };
        let mut nodes = vec![Node::Create(log)];
        nodes.extend(changes.iter().map(|c| Node::Exercise(c.exercise(log_cid))));
        nodes.push(Node::Exercise(Exercise::archive(log_cid, &admins)));
        nodes
    }
}

/// `LockedAmulet_UnlockV2Result` / `_OwnerExpireLockV2Result`: the new Amulet and the V1
/// history meta (tx-kind `unlock`).
fn unlock_result(amulet_cid: &str, reason: &str) -> Value {
    Value::record(vec![
        ("amuletCid", Value::cid(amulet_cid)),
        (
            "meta",
            Value::metadata([
                (meta::REASON, reason.to_owned()),
                (meta::TX_KIND, "unlock".to_owned()),
            ]),
        ),
    ])
}

/// What settling (accepting) or aborting (rejecting, withdrawing) an instruction does below
/// the instruction's choice, and what the choice answers.
pub(super) struct Settled {
    pub(super) children: Vec<Node>,
    pub(super) output: Value,
    pub(super) sender_change: Vec<String>,
    /// The receiver's new holding (accept) or the sender's unlocked one.
    pub(super) holding_cid: String,
    pub(super) meta: Value,
}

impl AmuletToken {
    /// An offer's nodes below `TransferFactory_Transfer` in 0.6.11: fetches of the rules, the
    /// config state and the round (and the on-the-fly unlock of expired inputs), then the
    /// transfer of the amount to the sender's own `LockedAmulet` with its events (the leg's
    /// reason is the lock's), then the instruction.
    pub(super) fn offer_children_v2(
        &self,
        request: &TransferRequest,
        plan: &TransferPlan,
        instruction: crate::model::Create,
    ) -> Vec<Node> {
        let sender = request.sender.as_str();
        let mut children = vec![
            fetch_by(&self.amulet_rules, sender),
            fetch_by(&self.external_party_config_state, sender),
            fetch_by(&self.open_round, sender),
        ];
        for e in &plan.expired_locks {
            if let Some(log_cid) = &e.event_log {
                children.push(fetch_by(&e.locked_cid, sender));
                children.push(Node::Exercise(
                    self.owner_expire_lock_v2(sender, e, log_cid),
                ));
            }
        }
        let lock_transfer = RulesTransfer {
            plan,
            sender,
            provider: sender,
            receiver: sender,
            amount: request.amount,
            lock: None,
        };
        let reason = format!("lock for transfer to '{}'", request.receiver);
        children.extend(
            self.external_transfer_nodes(&lock_transfer, vec![(meta::REASON.to_owned(), reason)]),
        );
        children.push(Node::Create(instruction));
        children
    }

    /// Accept (`accept`) or reject / withdraw an instruction whose lock is live, in 0.6.11:
    /// `LockedAmulet_UnlockV2`, then for an accept (after a fetch of the LockedAmulet) the
    /// transfer of the unlocked Amulet to the receiver with its events; the leg carries the
    /// instruction's memo.
    pub(super) fn settle_v2(
        &self,
        ctx: &mut TxContext<'_>,
        accept: bool,
        pending: &crate::token::offer::PendingInstruction,
        locked_cid: &str,
        locked: exchange_core::Amount,
    ) -> Settled {
        let sender = pending.sender.as_str();
        let receiver = pending.receiver.as_str();
        let unlocked = self.new_amulet(ctx, sender, locked);
        let unlocked_cid = unlocked.contract_id.clone();
        let log_cid = ctx.new_contract_id();
        let unlock = Node::Exercise(self.unlock_v2(sender, locked_cid, unlocked, &log_cid));
        if !accept {
            return Settled {
                children: vec![unlock],
                output: result::failed(),
                sender_change: vec![unlocked_cid.clone()],
                holding_cid: unlocked_cid,
                meta: Value::metadata([]),
            };
        }
        let change = locked
            .checked_sub(pending.amount)
            .unwrap_or(exchange_core::Amount::ZERO);
        let plan = TransferPlan {
            inputs: vec![crate::token::Holding {
                contract_id: unlocked_cid,
                owner: sender.to_owned(),
                amount: locked,
                created_in_round: self.config.round,
            }],
            total: locked,
            receiver_amulet: self.new_amulet(ctx, receiver, pending.amount),
            change: change
                .is_positive()
                .then(|| self.new_amulet(ctx, sender, change)),
            expired_locks: vec![],
        };
        let transfer = RulesTransfer {
            plan: &plan,
            sender,
            provider: sender,
            receiver,
            amount: pending.amount,
            lock: None,
        };
        let memo = pending
            .memo
            .iter()
            .map(|m| (meta::REASON.to_owned(), m.clone()))
            .collect();
        let mut children = vec![fetch_by(locked_cid, receiver), unlock];
        children.extend(self.external_transfer_nodes(&transfer, memo));
        Settled {
            children,
            output: result::completed([plan.receiver_amulet.contract_id.clone()]),
            sender_change: plan.change.iter().map(|c| c.contract_id.clone()).collect(),
            holding_cid: plan.receiver_amulet.contract_id.clone(),
            meta: v1_transfer_meta(sender),
        }
    }
}

/// The V1 history meta of a transfer to another party, as a plain `Metadata`.
pub(super) fn v1_transfer_meta(sender: &str) -> Value {
    Value::metadata([
        (meta::SENDER, sender.to_owned()),
        (meta::TX_KIND, "transfer".to_owned()),
    ])
}
