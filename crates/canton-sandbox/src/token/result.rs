//! Token-standard values both tokens build the same way: the `TransferInstructionResult` every
//! transfer choice returns, the view of a new pending instruction and the
//! `TransferFactory_Transfer` exercise. The result's `meta` is empty: Amulet copies only the `burned` key and the
//! sandbox charges no fees; the offer-only token has nothing to report.

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Exercise, Node};
use crate::token::packages::transfer_factory_interface;

/// The `TransferInstruction` view of a new instruction awaiting the receiver: both tokens'
/// instructions start this way (no lineage, empty meta).
pub fn pending_instruction_view(transfer: Value) -> Value {
    Value::record(vec![
        ("originalInstructionCid", Value::none()),
        ("transfer", transfer),
        (
            "status",
            Value::variant("TransferPendingReceiverAcceptance", Value::Unit),
        ),
        ("meta", Value::metadata([])),
    ])
}

/// `TransferInstructionResult_Completed { receiverHoldingCids }`.
pub fn completed<S: Into<String>>(receiver_holding_cids: impl IntoIterator<Item = S>) -> Value {
    Value::variant(
        "TransferInstructionResult_Completed",
        Value::record(vec![(
            "receiverHoldingCids",
            Value::List(receiver_holding_cids.into_iter().map(Value::cid).collect()),
        )]),
    )
}

/// `TransferInstructionResult_Pending { transferInstructionCid }`.
pub fn pending(instruction_cid: &str) -> Value {
    Value::variant(
        "TransferInstructionResult_Pending",
        Value::record(vec![(
            "transferInstructionCid",
            Value::cid(instruction_cid),
        )]),
    )
}

/// `TransferInstructionResult_Failed`: holdings returned to the sender.
pub fn failed() -> Value {
    Value::variant("TransferInstructionResult_Failed", Value::Unit)
}

/// The whole `TransferInstructionResult` record.
pub fn instruction_result<S: Into<String>>(
    output: Value,
    sender_change_cids: impl IntoIterator<Item = S>,
) -> Value {
    Value::record(vec![
        ("output", output),
        (
            "senderChangeCids",
            Value::List(sender_change_cids.into_iter().map(Value::cid).collect()),
        ),
        ("meta", Value::metadata([])),
    ])
}

/// [`instruction_result`] with the V1 history `meta` Splice 0.6.11 returns (sender, tx-kind).
pub fn instruction_result_with_meta<S: Into<String>>(
    output: Value,
    sender_change_cids: impl IntoIterator<Item = S>,
    meta: Value,
) -> Value {
    let mut result = instruction_result(output, sender_change_cids);
    if let Value::Record(fields) = &mut result {
        fields.retain(|(name, _)| *name != "meta");
        fields.push(("meta", meta));
    }
    result
}

/// The `TransferFactory_Transfer` exercise `sender` submits to `factory`, answering `result`.
pub fn factory_transfer(
    factory: &str,
    sender: &str,
    argument: Value,
    result: Value,
    children: Vec<Node>,
) -> Exercise {
    Exercise {
        contract_id: factory.to_owned(),
        interface: Some(transfer_factory_interface()),
        choice: "TransferFactory_Transfer".into(),
        argument,
        acting_parties: parties([sender]),
        choice_observers: Default::default(),
        consuming: false,
        result,
        children,
    }
}
