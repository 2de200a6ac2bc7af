//! Canton Coin instructions' choices (`token-standard.md` §6.3 item 3): accept (receiver),
//! reject (receiver) or withdraw (sender) a pending `AmuletTransferInstruction` of an offer
//! ([`crate::token::amulet_offer`]), through V1's interface or since 0.6.11 V2's. The trees:
//!
//! - accept: `TransferInstruction_Accept` → the unlock of the LockedAmulet → the transfer of
//!   the unlocked Amulet to the receiver (0.6.11: `LockedAmulet_UnlockV2` and the transfer's own
//!   nodes and events; before 0.5.16: `LockedAmulet_Unlock` → `AmuletRules_Transfer`, provider =
//!   sender); result `Completed`.
//! - reject / withdraw with the context's `expire-lock = true` (the registry's answer while the
//!   LockedAmulet exists): the unlock, the Amulet back to the sender in `senderChangeCids`;
//!   result `Failed`. With `expire-lock = false` (once the LockedAmulet is gone) they just
//!   archive the instruction, allowed only after `executeBefore`; result `Failed`, no change.

use exchange_core::Amount;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Exercise, Fetch, Ledger, LedgerError, Node, SubmissionMeta, TxContext};
use crate::token::TokenError;
use crate::token::amulet::{
    AmuletToken, Holding, RulesTransfer, TransferPlan, field, round_value, transfer_meta,
};
use crate::token::amulet_offer::context_value;
use crate::token::amulet_v2::Settled;
use crate::token::offer::{InstructionChoice, InstructionOutcome, PendingInstruction};
use crate::token::packages::{
    amulet_transfer_instruction_template, meta, transfer_instruction_interface,
};
use crate::token::result;

impl AmuletToken {
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
