//! Canton Coin offers (`token-standard.md` §6.3 item 3): a transfer to a receiver without a
//! `TransferPreapproval` locks the amount and leaves an `AmuletTransferInstruction` that the
//! receiver accepts or rejects, or the sender withdraws. Since Splice 0.6.11 (the default) the
//! lock, the accept's transfer and the unlocks run without `AmuletRules_Transfer` and report V2
//! events (`LockedAmulet_UnlockV2`; see [`crate::token::amulet_v2`]); what follows describes the
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
use crate::model::{Create, Exercise, Fetch, Ledger, LedgerError, Node, SubmissionMeta, TxContext};
use crate::token::TokenError;
use crate::token::amulet::{
    AmuletToken, DAY_MICROS, Holding, RulesTransfer, TransferOutcome, TransferPlan,
    TransferRequest, field, round_value, transfer_meta, transfer_output,
};
use crate::token::amulet_v2::{Settled, v1_transfer_meta};
use crate::token::offer::{
    InstructionChoice, InstructionOutcome, PendingInstruction, read_instruction,
};
use crate::token::packages::{
    amulet_transfer_instruction_template, locked_amulet_template, meta,
    transfer_instruction_interface,
};
use crate::token::result;
use crate::token::self_transfer::check_transfer;

fn context_value(entries: Vec<(&str, Value)>) -> Value {
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

fn av_cid(cid: &str) -> Value {
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

    /// Accept (receiver), reject (receiver) or withdraw (sender) a pending Canton Coin
    /// instruction (see the module doc).
    ///
    /// `expire_lock` is the choice context's `expire-lock` (`None`: what the registry would
    /// answer now, i.e. whether the lock is still there). Reject and withdraw with `true`
    /// unlock the LockedAmulet back to the sender; with `false` (the registry's answer once
    /// the LockedAmulet is gone, e.g. its owner unlocked it after expiry by spending it) they
    /// only archive the instruction, and only once `executeBefore` has passed (splice
    /// `abortTwoStepTransfer`: "After transferBefore").
    pub fn act(
        &self,
        ledger: &mut Ledger,
        instruction_cid: &str,
        choice: InstructionChoice,
        command_id: &str,
        expire_lock: Option<bool>,
    ) -> Result<InstructionOutcome, TokenError> {
        self.act_through(
            ledger,
            instruction_cid,
            choice,
            command_id,
            expire_lock,
            false,
        )
    }

    /// [`Self::act`] through V2's `TransferInstruction` interface if `via_v2` (Splice 0.6.11+;
    /// refused before, as the instruction implements no V2 interface): V1's choice under V2's
    /// (see `token::amulet::v2_api`).
    pub fn act_through(
        &self,
        ledger: &mut Ledger,
        instruction_cid: &str,
        choice: InstructionChoice,
        command_id: &str,
        expire_lock: Option<bool>,
        via_v2: bool,
    ) -> Result<InstructionOutcome, TokenError> {
        if via_v2 && !self.has_v2_events() {
            return Err(TokenError::Interpretation(format!(
                "Contract {instruction_cid} (template {}) does not implement interface {}",
                amulet_transfer_instruction_template(),
                crate::token::packages::transfer_instruction_v2_interface()
            )));
        }
        let not_found = || LedgerError::ContractNotFound(instruction_cid.to_owned());
        let pending = self
            .pending_instruction(ledger, instruction_cid)
            .ok_or_else(not_found)?;
        let locked_cid = match ledger
            .contract(instruction_cid)
            .and_then(|c| field(&c.create.argument, "lockedAmulet").cloned())
        {
            Some(Value::ContractId(cid)) => cid,
            _ => return Err(not_found().into()),
        };
        let live_lock = ledger
            .contract(&locked_cid)
            .filter(|c| c.is_active())
            .and_then(|c| {
                let amount = field(field(&c.create.argument, "amulet")?, "amount")?;
                match field(amount, "initialAmount") {
                    Some(Value::Numeric(a)) => Some(*a),
                    _ => None,
                }
            });
        let expire_lock = expire_lock.unwrap_or(live_lock.is_some());
        if choice != InstructionChoice::Accept && !expire_lock {
            return self.abort_without_unlock(
                ledger,
                instruction_cid,
                &pending,
                (choice, via_v2),
                command_id,
            );
        }
        let locked = live_lock.ok_or_else(|| LedgerError::ContractNotFound(locked_cid.clone()))?;
        let actor = match choice {
            InstructionChoice::Accept | InstructionChoice::Reject => pending.receiver.as_str(),
            InstructionChoice::Withdraw => pending.sender.as_str(),
        };
        let mut holding_cid = String::new();
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: command_id.to_owned(),
                act_as: parties([actor]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                if choice == InstructionChoice::Accept && ctx.let_time >= pending.execute_before {
                    return Err(TokenError::Interpretation(format!(
                        "TransferInstruction_Accept: the transfer expired at {}",
                        pending.execute_before
                    )));
                }
                let settled = if self.has_v2_events() {
                    let accept = choice == InstructionChoice::Accept;
                    self.settle_v2(ctx, accept, &pending, &locked_cid, locked)
                } else {
                    self.settle_legacy(ctx, choice, &pending, &locked_cid, locked)
                };
                holding_cid = settled.holding_cid;
                let v1 = Exercise {
                    contract_id: instruction_cid.to_owned(),
                    interface: Some(transfer_instruction_interface()),
                    choice: choice.name().into(),
                    argument: Value::record(vec![(
                        "extraArgs",
                        Value::record(vec![
                            ("context", context_value(self.instruction_context_entries())),
                            ("meta", Value::metadata([])),
                        ]),
                    )]),
                    acting_parties: parties([actor]),
                    choice_observers: Default::default(),
                    consuming: true,
                    result: result::instruction_result_with_meta(
                        settled.output,
                        settled.sender_change,
                        settled.meta,
                    ),
                    children: settled.children,
                };
                let root = self.through_instruction(v1, via_v2, &pending.receiver);
                Ok(vec![Node::Exercise(root)])
            },
        )?;
        Ok(InstructionOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            holding_cid,
        })
    }

    /// [`Self::act`] below the instruction's choice before 0.5.16: `LockedAmulet_Unlock`, then
    /// for an accept `AmuletRules_Transfer` of the unlocked Amulet to the receiver.
    fn settle_legacy(
        &self,
        ctx: &mut TxContext<'_>,
        choice: InstructionChoice,
        pending: &PendingInstruction,
        locked_cid: &str,
        locked: Amount,
    ) -> Settled {
        let sender = pending.sender.as_str();
        let receiver = pending.receiver.as_str();
        let dso = self.dso.as_str();
        let actor = match choice {
            InstructionChoice::Accept | InstructionChoice::Reject => receiver,
            InstructionChoice::Withdraw => sender,
        };
        let unlocked = self.new_amulet(ctx, sender, locked);
        let unlocked_cid = unlocked.contract_id.clone();
        let unlock = Exercise {
            contract_id: locked_cid.to_owned(),
            interface: None,
            choice: "LockedAmulet_Unlock".into(),
            argument: Value::record(vec![("openRoundCid", Value::cid(&self.open_round))]),
            acting_parties: parties([dso, sender]),
            choice_observers: Default::default(),
            consuming: true,
            result: Value::record(vec![
                (
                    "amuletSum",
                    Value::record(vec![
                        ("amulet", Value::cid(&unlocked_cid)),
                        ("amuletPrice", Value::Numeric(self.config.amulet_price)),
                        ("round", round_value(self.config.round)),
                    ]),
                ),
                (
                    "meta",
                    Value::some(Value::metadata([
                        (meta::REASON, "holders released lock".to_owned()),
                        (meta::TX_KIND, "unlock".to_owned()),
                    ])),
                ),
            ]),
            children: vec![
                Node::Fetch(Fetch {
                    contract_id: self.open_round.clone(),
                    acting_parties: parties([actor]),
                }),
                Node::Create(unlocked),
            ],
        };
        let mut children = vec![
            Node::Fetch(Fetch {
                contract_id: locked_cid.to_owned(),
                acting_parties: parties([actor]),
            }),
            Node::Exercise(unlock),
        ];
        let (output, sender_change, holding_cid) = if choice == InstructionChoice::Accept {
            let input = Holding {
                contract_id: unlocked_cid,
                owner: sender.to_owned(),
                amount: locked,
                created_in_round: self.config.round,
            };
            let change = locked.checked_sub(pending.amount).unwrap_or(Amount::ZERO);
            let plan = TransferPlan {
                inputs: vec![input],
                total: locked,
                receiver_amulet: self.new_amulet(ctx, receiver, pending.amount),
                change: change
                    .is_positive()
                    .then(|| self.new_amulet(ctx, sender, change)),
                expired_locks: vec![],
            };
            let holding_cid = plan.receiver_amulet.contract_id.clone();
            let change_cids: Vec<String> =
                plan.change.iter().map(|c| c.contract_id.clone()).collect();
            children.push(Node::Exercise(self.accept_transfer(
                sender,
                receiver,
                pending.amount,
                &plan,
            )));
            (
                result::completed([holding_cid.clone()]),
                change_cids,
                holding_cid,
            )
        } else {
            (
                result::failed(),
                vec![unlocked_cid.to_owned()],
                unlocked_cid,
            )
        };
        Settled {
            children,
            output,
            sender_change,
            holding_cid,
            meta: Value::metadata([]),
        }
    }

    /// Reject or withdraw with `expire-lock = false`: the instruction is archived, nothing is
    /// unlocked (the LockedAmulet is gone or left to expire), result `Failed` with no change.
    fn abort_without_unlock(
        &self,
        ledger: &mut Ledger,
        instruction_cid: &str,
        pending: &PendingInstruction,
        (choice, via_v2): (InstructionChoice, bool),
        command_id: &str,
    ) -> Result<InstructionOutcome, TokenError> {
        let actor = match choice {
            InstructionChoice::Withdraw => pending.sender.as_str(),
            _ => pending.receiver.as_str(),
        };
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: command_id.to_owned(),
                act_as: parties([actor]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                if ctx.let_time < pending.execute_before {
                    return Err(TokenError::Interpretation(format!(
                        "{}: expire-lock is false, which is only allowed after transferBefore ({}); the ledger time is {}",
                        choice.name(),
                        pending.execute_before,
                        ctx.let_time
                    )));
                }
                let v1 = Exercise {
                    contract_id: instruction_cid.to_owned(),
                    interface: Some(transfer_instruction_interface()),
                    choice: choice.name().into(),
                    argument: Value::record(vec![(
                        "extraArgs",
                        Value::record(vec![
                            (
                                "context",
                                context_value(vec![(
                                    "expire-lock",
                                    Value::variant("AV_Bool", Value::Bool(false)),
                                )]),
                            ),
                            ("meta", Value::metadata([])),
                        ]),
                    )]),
                    acting_parties: parties([actor]),
                    choice_observers: Default::default(),
                    consuming: true,
                    result: result::instruction_result(result::failed(), Vec::<String>::new()),
                    children: vec![],
                };
                let root = self.through_instruction(v1, via_v2, &pending.receiver);
                Ok(vec![Node::Exercise(root)])
            },
        )?;
        Ok(InstructionOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            holding_cid: String::new(),
        })
    }

    /// The LockedAmulet behind the Canton Coin instruction `cid`, as the instruction names it
    /// (it may be gone: its owner may have unlocked it after expiry).
    pub fn instruction_locked_amulet(&self, ledger: &Ledger, cid: &str) -> Option<String> {
        ledger
            .contract(cid)
            .and_then(|c| match field(&c.create.argument, "lockedAmulet") {
                Some(Value::ContractId(locked)) => Some(locked.clone()),
                _ => None,
            })
    }

    /// Whether the LockedAmulet behind the Canton Coin instruction `cid` is still there: what
    /// Scan's choice contexts answer as `expire-lock`.
    pub fn instruction_lock_is_live(&self, ledger: &Ledger, cid: &str) -> bool {
        self.instruction_locked_amulet(ledger, cid)
            .and_then(|locked| ledger.contract(&locked))
            .is_some_and(|c| c.is_active())
    }

    /// The accepted transfer of the unlocked Amulet: provider = sender, unfeatured.
    fn accept_transfer(
        &self,
        sender: &str,
        receiver: &str,
        amount: Amount,
        plan: &TransferPlan,
    ) -> Exercise {
        self.rules_transfer(
            &RulesTransfer {
                plan,
                sender,
                provider: sender,
                receiver,
                amount,
                lock: None,
            },
            parties([sender, receiver]),
            transfer_meta(sender),
        )
    }
}
