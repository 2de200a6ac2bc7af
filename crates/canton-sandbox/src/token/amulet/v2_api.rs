//! Canton Coin's factory and transfer instructions exercised through V2's interfaces (CIP-0112,
//! `TransferInstructionV2`), as Splice 0.6.11+ implements them on `ExternalPartyAmuletRules` and
//! `AmuletTransferInstruction`. Everything below the V2 root is V1's tree; the reference does not
//! show a recorded V2 exercise of Amulet, so the layout follows from the Daml and the recorded V1
//! trees.
//!
//! The factory: `transferFactoryV2_transferDefaultImplUsingV1` calls V1's body
//! (`amulet_transferFactoryV1_transferImpl`) as a function, not as an exercise, so only the root
//! differs from V1's (the fixture's `TransferPreapproval_SendV2` deposit, its offers and self
//! transfers, with their V2 events):
//!
//! - the interface is V2's, and the argument V2's `{transfer, actors, extraArgs}`: the transfer
//!   with basic accounts for sender and receiver, no `expectedAdmin` (the instrument's admin is
//!   the expected one), the same choice context;
//! - its controllers are the `actors`, and its choice observers the account parties of sender
//!   and receiver (`transferFactoryV2_publicAsset_transferExtraObserversDefaultImpl`: Amulet is a
//!   public asset), so the receiver witnesses the whole transfer, offers included;
//! - the result is V1's upcast, its `meta` with `tx-kind` (and `sender` unless a self transfer)
//!   inserted: 0.6.11's V1 results already carry exactly those keys, so it is V1's.
//!
//! The instruction: V2's `TransferInstruction_Accept` / `_Reject` / `_Withdraw` are
//! non-consuming, controlled by `actors`, observed by the instruction's observer (the receiver),
//! and *exercise* V1's choice on the same contract (`…DefaultImplUsingV1`), which consumes it and
//! does the work: a V2 root with V1's whole exercise as its one child, and V1's result. Its
//! `TransferInstructionV2` view names accounts, `expiresAt = executeBefore` and who may act.

use exchange_core::Timestamp;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Exercise, Identifier, Node};
use crate::token::events::Account;
use crate::token::packages;
use crate::token::result;

use super::{AmuletToken, TransferRequest};

impl AmuletToken {
    /// `root` (V1's `TransferFactory_Transfer` as built) as the submitter exercised it: V1's
    /// unchanged, or with `v2_actors` V2's (see the module doc).
    pub(in crate::token) fn through_factory(
        &self,
        root: Exercise,
        request: &TransferRequest,
        v2_actors: Option<&[String]>,
    ) -> Exercise {
        match v2_actors {
            None => root,
            Some(actors) => v2_factory_root(root, request, actors),
        }
    }

    /// `v1` (an instruction's V1 choice as built) as the actor exercised it: V1's unchanged, or
    /// `via_v2` under V2's choice (see the module doc).
    pub(in crate::token) fn through_instruction(
        &self,
        v1: Exercise,
        via_v2: bool,
        receiver: &str,
    ) -> Exercise {
        if !via_v2 {
            return v1;
        }
        let extra_args = super::field(&v1.argument, "extraArgs")
            .cloned()
            .expect("V1's argument has extraArgs");
        let actors = v1.acting_parties.iter().map(Value::party).collect();
        Exercise {
            contract_id: v1.contract_id.clone(),
            interface: Some(packages::transfer_instruction_v2_interface()),
            choice: v1.choice.clone(),
            argument: Value::record(vec![
                ("actors", Value::List(actors)),
                ("extraArgs", extra_args),
            ]),
            acting_parties: v1.acting_parties.clone(),
            choice_observers: parties([receiver]),
            consuming: false,
            result: v1.result.clone(),
            children: vec![Node::Exercise(v1)],
        }
    }

    /// A new instruction's views: V1's pending view, and since 0.6.11 V2's.
    pub(in crate::token) fn instruction_views(
        &self,
        transfer: Value,
        (sender, receiver): (&str, &str),
        execute_before: Timestamp,
    ) -> Vec<(Identifier, Value)> {
        let mut views = vec![(
            packages::transfer_instruction_interface(),
            result::pending_instruction_view(transfer.clone()),
        )];
        if !self.has_v2_events() {
            return views;
        }
        let may = |action: &'static str, party: &str| {
            (
                Value::variant(action, Value::Unit),
                Value::List(vec![Value::List(vec![Value::party(party)])]),
            )
        };
        let v2 = Value::record(vec![
            ("originalInstructionCid", Value::none()),
            ("transfer", with_accounts(transfer, sender, receiver)),
            ("expiresAt", Value::some(Value::Time(execute_before))),
            (
                // `Map.fromList`: in key order, which is the constructors' order.
                "availableActions",
                Value::GenMap(vec![
                    may("TIA_Accept", receiver),
                    may("TIA_Reject", receiver),
                    may("TIA_Withdraw", sender),
                ]),
            ),
            ("meta", Value::metadata([])),
        ]);
        views.push((packages::transfer_instruction_v2_interface(), v2));
        views
    }
}

/// V1's `Transfer` upcast to V2's: the sender and receiver as basic accounts (Amulet's meta
/// has no account keys to move).
fn with_accounts(mut transfer: Value, sender: &str, receiver: &str) -> Value {
    if let Value::Record(fields) = &mut transfer {
        for (name, value) in fields.iter_mut() {
            match *name {
                "sender" => *value = Account::basic(sender).value(),
                "receiver" => *value = Account::basic(receiver).value(),
                _ => {}
            }
        }
    }
    transfer
}

fn v2_factory_root(mut root: Exercise, request: &TransferRequest, actors: &[String]) -> Exercise {
    let (sender, receiver) = (request.sender.as_str(), request.receiver.as_str());
    let take = |name: &str| super::field(&root.argument, name).cloned();
    let transfer = take("transfer").expect("V1's argument has a transfer");
    let extra_args = take("extraArgs").expect("V1's argument has extraArgs");
    root.interface = Some(packages::transfer_factory_v2_interface());
    root.argument = Value::record(vec![
        ("transfer", with_accounts(transfer, sender, receiver)),
        (
            "actors",
            Value::List(actors.iter().map(Value::party).collect()),
        ),
        ("extraArgs", extra_args),
    ]);
    root.acting_parties = actors.iter().cloned().collect();
    root.choice_observers = parties([sender, receiver]);
    root
}
