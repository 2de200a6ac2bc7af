//! The pre-0.6.11 transaction tree of a direct transfer, and the pieces every release shares:
//! the factory's argument, `AmuletRules_Transfer` and its context, inputs and outputs.

use std::collections::BTreeSet;

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Exercise, Node, TxContext};
use crate::token::packages::meta;
use crate::token::result;

use super::{AmuletToken, Holding, TransferPlan, TransferRequest, default_times, fetch_by};

impl AmuletToken {
    pub(super) fn transfer_tree(
        &self,
        ctx: &TxContext<'_>,
        request: &TransferRequest,
        preapproval: &str,
        plan: TransferPlan,
        times: Option<(Timestamp, Timestamp)>,
    ) -> Exercise {
        let sender = request.sender.as_str();
        let receiver = request.receiver.as_str();
        let transfer = RulesTransfer {
            plan: &plan,
            sender,
            provider: &self.provider,
            receiver,
            amount: request.amount,
            lock: None,
        };
        let amulet_rules_transfer = self.rules_transfer(
            &transfer,
            parties([sender, self.provider.as_str(), receiver]),
            transfer_meta(sender),
        );

        let description = request.memo.clone();
        let mut send_meta = vec![
            (meta::SENDER, sender.to_owned()),
            (meta::TX_KIND, "transfer".to_owned()),
        ];
        if let Some(reason) = &description {
            send_meta.push((meta::REASON, reason.clone()));
        }
        let send = Exercise {
            contract_id: preapproval.to_owned(),
            interface: None,
            choice: "TransferPreapproval_Send".into(),
            argument: Value::record(vec![
                (
                    "context",
                    Value::record(vec![
                        ("amuletRules", Value::cid(&self.amulet_rules)),
                        ("context", self.transfer_context()),
                    ]),
                ),
                ("inputs", input_values(&plan.inputs)),
                ("amount", Value::Numeric(request.amount)),
                ("sender", Value::party(sender)),
                ("description", Value::opt(description.map(Value::Text))),
            ]),
            acting_parties: parties([sender]),
            choice_observers: Default::default(),
            consuming: false,
            result: Value::record(vec![
                ("result", self.transfer_result(&transfer, Value::none())),
                ("meta", Value::metadata(send_meta)),
            ]),
            children: vec![Node::Exercise(amulet_rules_transfer)],
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
            result::instruction_result(
                result::completed([plan.receiver_amulet.contract_id.clone()]),
                plan.change.iter().map(|c| c.contract_id.clone()),
            ),
            root_children,
        )
    }

    /// `TransferFactory_Transfer`'s argument as the wallet submits it: the transfer, and the
    /// registry's choice context (`transfer-preapproval` only for a direct transfer).
    pub(in crate::token) fn factory_argument(
        &self,
        request: &TransferRequest,
        inputs: &[String],
        (requested_at, execute_before): (Timestamp, Timestamp),
        preapproval: Option<&str>,
    ) -> Value {
        let transfer_meta: Vec<(&str, String)> = request
            .memo
            .iter()
            .map(|m| (meta::REASON, m.clone()))
            .collect();
        let context_cid = |cid: &str| Value::variant("AV_ContractId", Value::cid(cid));
        let mut context = vec![
            ("amulet-rules", context_cid(&self.amulet_rules)),
            ("open-round", context_cid(&self.open_round)),
        ];
        if self.has_v2_events() {
            context.push((
                "external-party-config-state",
                context_cid(&self.external_party_config_state),
            ));
        }
        if let Some(preapproval) = preapproval {
            context.push(("transfer-preapproval", context_cid(preapproval)));
        }
        Value::record(vec![
            ("expectedAdmin", Value::party(&self.dso)),
            (
                "transfer",
                Value::record(vec![
                    ("sender", Value::party(&request.sender)),
                    ("receiver", Value::party(&request.receiver)),
                    ("amount", Value::Numeric(request.amount)),
                    ("instrumentId", self.instrument_id()),
                    ("requestedAt", Value::Time(requested_at)),
                    ("executeBefore", Value::Time(execute_before)),
                    (
                        "inputHoldingCids",
                        Value::List(inputs.iter().map(Value::cid).collect()),
                    ),
                    ("meta", Value::metadata(transfer_meta)),
                ]),
            ),
            (
                "extraArgs",
                Value::record(vec![
                    (
                        "context",
                        Value::record(vec![(
                            "values",
                            Value::TextMap(
                                context
                                    .into_iter()
                                    .map(|(k, v)| (k.to_owned(), v))
                                    .collect(),
                            ),
                        )]),
                    ),
                    ("meta", Value::metadata([])),
                ]),
            ),
        ])
    }

    /// `TransferContext` of `AmuletRules_Transfer` (and `_ComputeFees`): the one open round.
    pub(in crate::token) fn transfer_context(&self) -> Value {
        Value::record(vec![
            ("openMiningRound", Value::cid(&self.open_round)),
            ("issuingMiningRounds", Value::GenMap(vec![])),
            ("validatorRights", Value::GenMap(vec![])),
            ("featuredAppRight", Value::none()),
        ])
    }

    /// `AmuletRules_Transfer`'s children: the round fetch, each input fetched and archived,
    /// then the output and the sender's change (no reward coupons: fees are zero).
    pub(in crate::token) fn transfer_children(
        &self,
        sender: &str,
        plan: &TransferPlan,
    ) -> Vec<Node> {
        let mut children = vec![fetch_by(&self.open_round, sender)];
        for h in &plan.inputs {
            children.push(fetch_by(&h.contract_id, sender));
            children.push(Node::Exercise(Exercise::archive(
                &h.contract_id,
                &parties([self.dso.as_str(), sender]),
            )));
        }
        children.push(Node::Create(plan.receiver_amulet.clone()));
        if let Some(change) = &plan.change {
            children.push(Node::Create(change.clone()));
        }
        children
    }

    /// One `AmuletRules_Transfer` exercise of `transfer`, by `acting_parties`, with `meta` in
    /// its result; its children are [`Self::transfer_children`].
    pub(in crate::token) fn rules_transfer(
        &self,
        transfer: &RulesTransfer<'_>,
        acting_parties: BTreeSet<String>,
        meta: Value,
    ) -> Exercise {
        Exercise {
            contract_id: self.amulet_rules.clone(),
            interface: None,
            choice: "AmuletRules_Transfer".into(),
            argument: Value::record(vec![
                (
                    "transfer",
                    Value::record(vec![
                        ("sender", Value::party(transfer.sender)),
                        ("provider", Value::party(transfer.provider)),
                        ("inputs", input_values(&transfer.plan.inputs)),
                        (
                            "outputs",
                            Value::List(vec![transfer_output(
                                transfer.receiver,
                                transfer.amount,
                                transfer.lock.clone().map_or_else(Value::none, Value::some),
                            )]),
                        ),
                        ("beneficiaries", Value::none()),
                    ]),
                ),
                ("context", self.transfer_context()),
                ("expectedDso", Value::some(Value::party(&self.dso))),
            ]),
            acting_parties,
            choice_observers: Default::default(),
            consuming: false,
            result: self.transfer_result(transfer, meta),
            children: self.transfer_children(transfer.sender, transfer.plan),
        }
    }
}

/// What one `AmuletRules_Transfer` moves: `plan`'s inputs of `sender` into one output of
/// `amount` to `receiver` (locked by `lock`, a `TimeLock`, if any) and `sender`'s change.
pub(in crate::token) struct RulesTransfer<'a> {
    pub(in crate::token) plan: &'a TransferPlan,
    pub(in crate::token) sender: &'a str,
    pub(in crate::token) provider: &'a str,
    pub(in crate::token) receiver: &'a str,
    pub(in crate::token) amount: Amount,
    pub(in crate::token) lock: Option<Value>,
}

/// The `TransferResult` meta of a transfer to another party: `sender` and `tx-kind: transfer`.
pub(in crate::token) fn transfer_meta(sender: &str) -> Value {
    Value::some(Value::metadata([
        (meta::SENDER, sender.to_owned()),
        (meta::TX_KIND, "transfer".to_owned()),
    ]))
}

/// One `TransferOutput` (no receiver fee share).
pub(in crate::token) fn transfer_output(receiver: &str, amount: Amount, lock: Value) -> Value {
    Value::record(vec![
        ("receiver", Value::party(receiver)),
        ("receiverFeeRatio", Value::Numeric(Amount::ZERO)),
        ("amount", Value::Numeric(amount)),
        ("lock", lock),
    ])
}

/// `AmuletRules_Transfer`'s `inputs`: each holding as an `InputAmulet`.
pub(in crate::token) fn input_values(inputs: &[Holding]) -> Value {
    Value::List(
        inputs
            .iter()
            .map(|h| Value::variant("InputAmulet", Value::cid(&h.contract_id)))
            .collect(),
    )
}
