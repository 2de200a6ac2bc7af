//! Canton Coin offers (`token-standard.md` §6.3 item 3): a transfer to a receiver without a
//! `TransferPreapproval` locks the amount and leaves an `AmuletTransferInstruction` that the
//! receiver accepts or rejects, or the sender withdraws (those choices:
//! [`crate::token::amulet_instruction`]). Since Splice 0.6.11 (the default) the lock, the
//! accept's transfer and the unlocks run without `AmuletRules_Transfer` and report V2 events
//! (`LockedAmulet_UnlockV2`; see [`crate::token::amulet_v2`]); what follows describes the
//! [`crate::token::SpliceRelease::Legacy`] trees, which are the LocalNet recording's
//! (`splice-test-cases.json`, offsets 8–15) node for node, less the reward coupons, which only
//! non-zero fees create; with zero fees the lock is exactly the amount (`amount + 4 × fee`).
//!
//! - offer: `TransferFactory_Transfer` → `AmuletRules_ComputeFees` → `AmuletRules_Transfer`
//!   (a self-transfer to a `LockedAmulet`, holders `[dso]`, `expiresAt = executeBefore`, context
//!   `transfer to '<receiver>'`) → the instruction create; result `Pending`. The receiver is an
//!   observer of the instruction only, so its view is that create alone.
//! - accept: `TransferInstruction_Accept` → `LockedAmulet_Unlock` → `AmuletRules_Transfer`
//!   (provider = sender) of the unlocked Amulet to the receiver; result `Completed`.
//! - reject / withdraw with the context's `expire-lock = true` (the registry's answer while the
//!   LockedAmulet exists): `LockedAmulet_Unlock`, the Amulet back to the sender in
//!   `senderChangeCids`; result `Failed`. Once the lock has expired its owner may spend the
//!   LockedAmulet as a transfer input (`LockedAmulet_OwnerExpireLock`, see `AmuletToken::spend`);
//!   the registry then answers `expire-lock = false` only, and reject / withdraw just archive
//!   the instruction (allowed only after `executeBefore`), result `Failed`, no change.

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Create, Exercise, Fetch, Ledger, LedgerError, Node, SubmissionMeta};
use crate::token::TokenError;
use crate::token::amulet::{
    AmuletToken, DAY_MICROS, RulesTransfer, TransferOutcome, TransferPlan, TransferRequest,
    transfer_meta, transfer_output,
};
use crate::token::amulet_v2::v1_transfer_meta;
use crate::token::offer::{PendingInstruction, read_instruction};
use crate::token::packages::{amulet_transfer_instruction_template, locked_amulet_template, meta};
use crate::token::result;
use crate::token::self_transfer::check_transfer;

pub(super) fn context_value(entries: Vec<(&str, Value)>) -> Value {
    Value::record(vec![(
        "values",
        Value::TextMap(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ),
    )])
}

pub(super) fn av_cid(cid: &str) -> Value {
    Value::variant("AV_ContractId", Value::cid(cid))
}

impl AmuletToken {
    /// The choice context the registry hands out for an instruction's accept, reject and
    /// withdraw (and the submitted `extraArgs.context`).
    pub fn instruction_context_entries(&self) -> Vec<(&'static str, Value)> {
        let mut entries = vec![
            ("amulet-rules", av_cid(&self.amulet_rules)),
            ("expire-lock", Value::variant("AV_Bool", Value::Bool(true))),
            ("open-round", av_cid(&self.open_round)),
        ];
        if self.has_v2_events() {
            entries.push((
                "external-party-config-state",
                av_cid(&self.external_party_config_state),
            ));
        }
        entries
    }

    /// The active Canton Coin instruction `cid`, if it is one.
    pub fn pending_instruction(&self, ledger: &Ledger, cid: &str) -> Option<PendingInstruction> {
        ledger
            .contract(cid)
            .filter(|c| {
                c.is_active() && c.create.template == amulet_transfer_instruction_template()
            })
            .and_then(|c| read_instruction(&c.create))
    }

    /// Pending Canton Coin instructions `party` sends or receives.
    pub fn pending(&self, ledger: &Ledger, party: &str) -> Vec<PendingInstruction> {
        ledger
            .active_of(&amulet_transfer_instruction_template(), party)
            .into_iter()
            .filter_map(|c| read_instruction(&c.create))
            .collect()
    }

    /// `request.amount` of the sender's Amulet, locked until `expires_at` for the receiver.
    fn locked_amulet(
        &self,
        ctx: &mut crate::model::TxContext<'_>,
        request: &TransferRequest,
        expires_at: Timestamp,
    ) -> Create {
        let context = format!("transfer to '{}'", request.receiver);
        // The Amulet it wraps, under the same contract id.
        let mut create = self.new_amulet(ctx, &request.sender, request.amount);
        create.template = locked_amulet_template();
        let amulet = std::mem::replace(&mut create.argument, Value::Unit);
        create.argument = Value::record(vec![
            ("amulet", amulet),
            (
                "lock",
                Value::record(vec![
                    ("holders", Value::List(vec![Value::party(&self.dso)])),
                    ("expiresAt", Value::Time(expires_at)),
                    ("optContext", Value::some(Value::text(&context))),
                ]),
            ),
        ]);
        let view_lock = Value::record(vec![
            ("holders", Value::List(vec![Value::party(&self.dso)])),
            ("expiresAt", Value::some(Value::Time(expires_at))),
            ("expiresAfter", Value::none()),
            ("context", Value::some(Value::text(&context))),
        ]);
        for (_, view) in &mut create.interfaces {
            if let Value::Record(fields) = view {
                for (name, value) in fields.iter_mut() {
                    if *name == "lock" {
                        *value = Value::some(view_lock.clone());
                    }
                }
            }
        }
        create
    }

    /// An offer: the transfer when the receiver has no preapproval (see the module doc).
    pub(super) fn offer_at(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
        inputs: &[String],
        times: Option<(Timestamp, Timestamp)>,
        v2_actors: Option<&[String]>,
    ) -> Result<TransferOutcome, TokenError> {
        if !ledger.is_known_party(&request.receiver) {
            return Err(LedgerError::UnknownParty(request.receiver.clone()).into());
        }
        let sender = request.sender.as_str();
        let receiver = request.receiver.as_str();
        let dso = self.dso.as_str();
        let mut outcome = (String::new(), Vec::new());
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([sender]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let (requested_at, execute_before) = times.unwrap_or_else(|| {
                    let requested_at = ctx
                        .let_time
                        .checked_add_micros(-114_871)
                        .unwrap_or(ctx.let_time);
                    let execute_before = requested_at
                        .checked_add_micros(DAY_MICROS)
                        .unwrap_or(requested_at);
                    (requested_at, execute_before)
                });
                check_transfer(request.amount, execute_before, ctx.let_time)?;
                // Self transfers never get here: `transfer_at` takes the self branch first.
                debug_assert_ne!(request.sender, request.receiver);
                let plan = self.plan_sender_side(ctx, sender, inputs, request.amount, |ctx| {
                    self.locked_amulet(ctx, request, execute_before)
                })?;
                let locked_cid = plan.receiver_amulet.contract_id.clone();
                let change_cids: Vec<String> =
                    plan.change.iter().map(|c| c.contract_id.clone()).collect();

                let transfer = |input_cids: Vec<Value>| {
                    Value::record(vec![
                        ("sender", Value::party(sender)),
                        ("receiver", Value::party(receiver)),
                        ("amount", Value::Numeric(request.amount)),
                        ("instrumentId", self.instrument_id()),
                        ("requestedAt", Value::Time(requested_at)),
                        ("executeBefore", Value::Time(execute_before)),
                        ("inputHoldingCids", Value::List(input_cids)),
                        (
                            "meta",
                            Value::metadata(request.memo.iter().map(|m| (meta::REASON, m.clone()))),
                        ),
                    ])
                };
                let instruction_transfer = transfer(vec![Value::cid(&locked_cid)]);
                let instruction = Create {
                    contract_id: ctx.new_contract_id(),
                    template: amulet_transfer_instruction_template(),
                    argument: Value::record(vec![
                        ("lockedAmulet", Value::cid(&locked_cid)),
                        ("transfer", instruction_transfer.clone()),
                    ]),
                    signatories: parties([dso, sender]),
                    observers: parties([receiver]),
                    interfaces: self.instruction_views(
                        instruction_transfer,
                        (sender, receiver),
                        execute_before,
                    ),
                };
                let instruction_cid = instruction.contract_id.clone();
                outcome = (instruction_cid.clone(), change_cids.clone());

                let v2 = self.has_v2_events();
                let children = if v2 {
                    self.offer_children_v2(request, &plan, instruction)
                } else {
                    self.offer_children_legacy(request, &plan, execute_before, instruction)
                };
                let input_cids = plan
                    .submitted_inputs()
                    .into_iter()
                    .map(Value::cid)
                    .collect();
                let mut context = vec![
                    ("amulet-rules", av_cid(&self.amulet_rules)),
                    ("open-round", av_cid(&self.open_round)),
                ];
                let mut result_meta = Value::metadata([]);
                if v2 {
                    context.push((
                        "external-party-config-state",
                        av_cid(&self.external_party_config_state),
                    ));
                    result_meta = v1_transfer_meta(sender);
                }
                let root = result::factory_transfer(
                    &self.external_party_rules,
                    sender,
                    Value::record(vec![
                        ("expectedAdmin", Value::party(dso)),
                        ("transfer", transfer(input_cids)),
                        (
                            "extraArgs",
                            Value::record(vec![
                                ("context", context_value(context)),
                                ("meta", Value::metadata([])),
                            ]),
                        ),
                    ]),
                    result::instruction_result_with_meta(
                        result::pending(&instruction_cid),
                        change_cids.iter().cloned(),
                        result_meta,
                    ),
                    children,
                );
                Ok(vec![Node::Exercise(
                    self.through_factory(root, request, v2_actors),
                )])
            },
        )?;
        Ok(TransferOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            receiver_holding_cids: vec![],
            sender_change_cids: outcome.1,
            transfer_instruction_cid: Some(outcome.0),
        })
    }

    /// An offer's nodes below `TransferFactory_Transfer` before 0.5.16: the fees computed, the
    /// lock made by `AmuletRules_Transfer`, the instruction.
    fn offer_children_legacy(
        &self,
        request: &TransferRequest,
        plan: &TransferPlan,
        execute_before: Timestamp,
        instruction: Create,
    ) -> Vec<Node> {
        let sender = request.sender.as_str();
        let receiver = request.receiver.as_str();
        let dso = self.dso.as_str();
        let compute_fees = Exercise {
            contract_id: self.amulet_rules.clone(),
            interface: None,
            choice: "AmuletRules_ComputeFees".into(),
            argument: Value::record(vec![
                ("context", self.transfer_context()),
                ("sender", Value::party(sender)),
                (
                    "outputs",
                    Value::List(vec![transfer_output(
                        receiver,
                        request.amount,
                        Value::none(),
                    )]),
                ),
                ("expectedDso", Value::some(Value::party(dso))),
            ]),
            acting_parties: parties([sender]),
            choice_observers: Default::default(),
            consuming: false,
            result: Value::record(vec![(
                "fees",
                Value::List(vec![Value::Numeric(Amount::ZERO)]),
            )]),
            children: vec![Node::Fetch(Fetch {
                contract_id: self.open_round.clone(),
                acting_parties: parties([sender]),
            })],
        };
        let lock = Value::record(vec![
            ("holders", Value::List(vec![Value::party(dso)])),
            ("expiresAt", Value::Time(execute_before)),
            (
                "optContext",
                Value::some(Value::text(format!("transfer to '{receiver}'"))),
            ),
        ]);
        let lock_transfer = self.rules_transfer(
            &RulesTransfer {
                plan,
                sender,
                provider: sender,
                receiver: sender,
                // Zero fees: the lock is the amount itself.
                amount: request.amount,
                lock: Some(lock),
            },
            parties([dso, sender]),
            transfer_meta(sender),
        );

        // Fetches where the engine fetches: the rules, then (after computing the fees)
        // the round and each input.
        let fetch = |cid: &str| {
            Node::Fetch(Fetch {
                contract_id: cid.to_owned(),
                acting_parties: parties([sender]),
            })
        };
        let mut children = vec![
            fetch(&self.amulet_rules),
            Node::Exercise(compute_fees),
            fetch(&self.open_round),
        ];
        children.extend(self.input_nodes(sender, plan));
        children.push(Node::Exercise(lock_transfer));
        children.push(Node::Create(instruction));
        children
    }
}
