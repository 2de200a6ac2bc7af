//! `TransferInstructionResult`: what every token-standard transfer choice returns, built one way
//! for both tokens. The result's `meta` is empty: Amulet copies only the `burned` key and the
//! sandbox charges no fees; the offer-only token has nothing to report.

use crate::daml::Value;

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
