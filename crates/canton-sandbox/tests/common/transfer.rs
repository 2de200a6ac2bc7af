//! The token standard's `TransferFactory_Transfer` as a wallet writes it: one builder for the
//! tests that submit, prepare or ask a registry about a transfer, so they differ only in what
//! they mean to vary.

use serde_json::{Value, json};

use super::FACTORY;

/// When every test transfer is requested, and the deadline it is valid until by default.
pub const REQUESTED_AT: &str = "2025-09-26T09:00:00Z";
pub const EXECUTE_BEFORE: &str = "2099-01-01T00:00:00Z";

/// A transfer of `amount` of `instrument` (administered by `admin`), requested at a fixed time;
/// by default from no named inputs, valid until 2099 and without a memo.
pub struct Transfer<'a> {
    pub admin: &'a str,
    pub instrument: &'a str,
    pub sender: &'a str,
    pub receiver: &'a str,
    pub amount: &'a str,
    pub inputs: &'a [&'a str],
    pub execute_before: &'a str,
    /// The `splice.lfdecentralizedtrust.org/reason` memo.
    pub reason: Option<&'a str>,
}

impl<'a> Transfer<'a> {
    pub fn new(
        admin: &'a str,
        instrument: &'a str,
        sender: &'a str,
        receiver: &'a str,
        amount: &'a str,
    ) -> Transfer<'a> {
        Transfer {
            admin,
            instrument,
            sender,
            receiver,
            amount,
            inputs: &[],
            execute_before: EXECUTE_BEFORE,
            reason: None,
        }
    }

    /// The choice argument, as a registry's `transfer-factory` endpoint is asked about it.
    pub fn choice_argument(&self) -> Value {
        let meta = match self.reason {
            Some(reason) => json!({"splice.lfdecentralizedtrust.org/reason": reason}),
            None => json!({}),
        };
        json!({
            "expectedAdmin": self.admin,
            "transfer": {
                "sender": self.sender, "receiver": self.receiver, "amount": self.amount,
                "instrumentId": {"admin": self.admin, "id": self.instrument},
                "requestedAt": REQUESTED_AT,
                "executeBefore": self.execute_before,
                "inputHoldingCids": self.inputs,
                "meta": {"values": meta},
            },
            "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}},
        })
    }

    /// The command: the choice exercised on `factory`.
    pub fn exercise(&self, factory: &str) -> Value {
        json!({"ExerciseCommand": {
            "templateId": FACTORY,
            "contractId": factory,
            "choice": "TransferFactory_Transfer",
            "choiceArgument": self.choice_argument(),
        }})
    }

    /// A `submit-and-wait` request of the command, by `act_as`.
    pub fn submission(&self, factory: &str, command_id: &str, act_as: &str) -> Value {
        json!({
            "commands": [self.exercise(factory)],
            "commandId": command_id,
            "actAs": [act_as],
            "userId": "exchange",
        })
    }

    /// A `submit-and-wait` request as a wallet writes it from the registry's `transfer-factory`
    /// answer `factory`: its factory, with its choice context and disclosed contracts.
    pub fn registry_submission(&self, factory: &Value, command_id: &str, act_as: &str) -> Value {
        let factory_id = factory["factoryId"].as_str().expect("factoryId");
        let mut request = self.submission(factory_id, command_id, act_as);
        let context = &factory["choiceContext"];
        request["commands"][0]["ExerciseCommand"]["choiceArgument"]["extraArgs"]["context"] =
            context["choiceContextData"].clone();
        request["disclosedContracts"] = context["disclosedContracts"].clone();
        request
    }
}
