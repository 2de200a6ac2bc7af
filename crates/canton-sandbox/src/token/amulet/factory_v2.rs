//! Canton Coin's transfer factory exercised through V2's interface (CIP-0112,
//! `TransferInstructionV2.TransferFactory`), as Splice 0.6.11+ implements it on
//! `ExternalPartyAmuletRules`: `transferFactoryV2_transferDefaultImplUsingV1` calls V1's body
//! (`amulet_transferFactoryV1_transferImpl`) as a function, not as an exercise, so everything
//! below the root is exactly V1's tree (the fixture's `TransferPreapproval_SendV2` deposit, its
//! offers and self transfers, with their V2 events). Only the root differs:
//!
//! - the interface is V2's, and the argument V2's `{transfer, actors, extraArgs}`: the transfer
//!   with basic accounts for sender and receiver, no `expectedAdmin` (the instrument's admin
//!   is the expected one), the same choice context;
//! - its controllers are the `actors`, and its choice observers the account parties of sender
//!   and receiver (`transferFactoryV2_publicAsset_transferExtraObserversDefaultImpl`: Amulet is
//!   a public asset), so the receiver witnesses the whole transfer, offers included;
//! - the result is V1's upcast, its `meta` with `tx-kind` (and `sender` unless a self
//!   transfer) inserted: 0.6.11's V1 results already carry exactly those keys, so it is V1's.
//!
//! The reference does not show a recorded V2 factory transfer of Amulet; the layout follows from
//! the Daml above and the recorded V1 trees.

use crate::daml::Value;
use crate::model::Exercise;
use crate::model::tree::parties;
use crate::token::events::Account;
use crate::token::packages;

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
}

fn v2_factory_root(mut root: Exercise, request: &TransferRequest, actors: &[String]) -> Exercise {
    let (sender, receiver) = (request.sender.as_str(), request.receiver.as_str());
    let take = |name: &str| super::field(&root.argument, name).cloned();
    let mut transfer = take("transfer").expect("V1's argument has a transfer");
    if let Value::Record(fields) = &mut transfer {
        for (name, value) in fields.iter_mut() {
            match *name {
                "sender" => *value = Account::basic(sender).value(),
                "receiver" => *value = Account::basic(receiver).value(),
                _ => {}
            }
        }
    }
    let extra_args = take("extraArgs").expect("V1's argument has extraArgs");
    root.interface = Some(packages::transfer_factory_v2_interface());
    root.argument = Value::record(vec![
        ("transfer", transfer),
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
