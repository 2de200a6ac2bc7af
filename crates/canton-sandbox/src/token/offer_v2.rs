//! The SBX token as a token standard V2 issuer (CIP-0112). Always: its holdings implement
//! `HoldingV2`, its factory implements `EventLog` and every holding change is reported there
//! by the admin (`EventLog_HoldingsChange`, one per account, as Amulet groups them). With
//! `v2_only` the V1 signals go: holdings have no `HoldingV1` view, the factory and the
//! instruction are used through the `TransferInstructionV2` interfaces only (V2 arguments:
//! accounts, `actors`; the instruction's choices are non-consuming and archive it inside), so
//! nothing but the V2 events tells a reader about a transfer.

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Exercise, Identifier, Ledger, LedgerError, Node, SubmissionMeta};
use crate::token::TokenError;
use crate::token::events::{self, Account, HoldingsChange, TransferEvents};
use crate::token::offer::{
    INSTRUMENT_ID, InstructionChoice, InstructionOutcome, OfferRequest, OfferToken,
    PendingInstruction,
};
use crate::token::packages::{
    self, holding_interface, holding_v2_interface, transfer_factory_interface,
    transfer_factory_v2_interface, transfer_instruction_interface,
    transfer_instruction_v2_interface,
};
use crate::token::result;

/// The parts of a token standard `Transfer` (V1 or V2).
pub(super) struct TransferParts<'a> {
    pub(super) sender: &'a str,
    pub(super) receiver: &'a str,
    pub(super) amount: Amount,
    pub(super) times: (Timestamp, Timestamp),
    pub(super) inputs: Vec<String>,
    pub(super) memo: Option<&'a str>,
}

impl OfferToken {
    /// A holding's views: `HoldingV1` (unless V2-only) and `HoldingV2`, from the V1 view.
    pub(super) fn holding_views(&self, owner: &str, v1: Value) -> Vec<(Identifier, Value)> {
        let Value::Record(fields) = v1.clone() else {
            unreachable!("a HoldingV1 view is a record")
        };
        let mut v2 = vec![("account", Account::basic(owner).value())];
        v2.extend(fields.into_iter().filter(|(name, _)| *name != "owner"));
        let mut views = Vec::new();
        if !self.v2_only {
            views.push((holding_interface(), v1));
        }
        views.push((holding_v2_interface(), Value::record(v2)));
        views
    }

    /// The factory's interfaces: the transfer factory of each standard it speaks, and the
    /// event log.
    pub(super) fn factory_views(admin: &str, v2_only: bool) -> Vec<(Identifier, Value)> {
        let view = Value::record(vec![
            ("admin", Value::party(admin)),
            ("meta", Value::metadata([])),
        ]);
        let mut views = Vec::new();
        if !v2_only {
            views.push((transfer_factory_interface(), view.clone()));
        }
        views.push((transfer_factory_v2_interface(), view.clone()));
        views.push((packages::event_log_interface(), view));
        views
    }

    /// `TransferInstructionV2.Transfer`: accounts instead of parties.
    fn transfer_v2(&self, t: &TransferParts<'_>) -> Value {
        Value::record(vec![
            ("sender", Account::basic(t.sender).value()),
            ("receiver", Account::basic(t.receiver).value()),
            ("amount", Value::Numeric(t.amount)),
            ("instrumentId", self.instrument_id()),
            ("requestedAt", Value::Time(t.times.0)),
            ("executeBefore", Value::Time(t.times.1)),
            (
                "inputHoldingCids",
                Value::List(t.inputs.iter().map(Value::cid).collect()),
            ),
            ("meta", memo_meta(t.memo)),
        ])
    }

    /// The instruction's views: V1's pending view (unless V2-only) and V2's.
    pub(super) fn instruction_views(
        &self,
        v1_view: Value,
        t: &TransferParts<'_>,
    ) -> Vec<(Identifier, Value)> {
        let actions = |action: &'static str, by: &str| {
            (
                Value::variant(action, Value::Unit),
                Value::List(vec![Value::List(vec![Value::party(by)])]),
            )
        };
        let v2 = Value::record(vec![
            ("originalInstructionCid", Value::none()),
            ("transfer", self.transfer_v2(t)),
            ("expiresAt", Value::some(Value::Time(t.times.1))),
            (
                "availableActions",
                Value::GenMap(vec![
                    actions("TIA_Accept", t.receiver),
                    actions("TIA_Reject", t.receiver),
                    actions("TIA_Withdraw", t.sender),
                ]),
            ),
            ("meta", Value::metadata([])),
        ]);
        let mut views = Vec::new();
        if !self.v2_only {
            views.push((transfer_instruction_interface(), v1_view));
        }
        views.push((transfer_instruction_v2_interface(), v2));
        views
    }

    /// `TransferFactory_Transfer` by the sender: V1's argument, or `via_v2` (always for a
    /// V2-only SBX; a dual SBX's factory implements both) V2's (no `expectedAdmin`; accounts;
    /// `actors`).
    pub(super) fn factory_exercise(
        &self,
        v1_argument: Value,
        t: &TransferParts<'_>,
        (result, via_v2): (Value, bool),
        children: Vec<Node>,
    ) -> Exercise {
        let mut exercise = crate::token::result::factory_transfer(
            &self.factory,
            t.sender,
            v1_argument,
            result,
            children,
        );
        if self.v2_only || via_v2 {
            exercise.interface = Some(transfer_factory_v2_interface());
            exercise.argument = Value::record(vec![
                ("transfer", self.transfer_v2(t)),
                ("actors", Value::List(vec![Value::party(t.sender)])),
                ("extraArgs", extra_args()),
            ]);
        }
        exercise
    }

    /// The instruction's choice by `actor`. V1: consuming, through the V1 interface. Via V2:
    /// non-consuming through the V2 interface with `actors`, the instruction archived inside.
    pub(super) fn instruction_exercise(
        &self,
        instruction_cid: &str,
        pending: &PendingInstruction,
        (choice, via_v2): (InstructionChoice, bool),
        actor: &str,
        result: Value,
        mut children: Vec<Node>,
    ) -> Exercise {
        let mut argument = vec![("extraArgs", extra_args())];
        let interface = if via_v2 {
            argument.insert(0, ("actors", Value::List(vec![Value::party(actor)])));
            children.insert(
                0,
                Node::Exercise(Exercise::archive(
                    instruction_cid,
                    &parties([self.admin.as_str(), pending.sender.as_str()]),
                )),
            );
            transfer_instruction_v2_interface()
        } else {
            transfer_instruction_interface()
        };
        Exercise {
            contract_id: instruction_cid.to_owned(),
            interface: Some(interface),
            choice: choice.name().into(),
            argument: Value::record(argument),
            acting_parties: parties([actor]),
            choice_observers: Default::default(),
            consuming: !via_v2,
            result,
            children,
        }
    }

    /// The events as exercises on the factory, by the admin.
    pub(super) fn event_nodes(&self, changes: Vec<HoldingsChange>) -> Vec<Node> {
        events::merge_by_account(changes)
            .iter()
            .map(|e| Node::Exercise(e.exercise(&self.factory)))
            .collect()
    }

    /// The events of a transfer by this token's admin (see [`TransferEvents`]).
    pub(super) fn transfer_events(&self, t: SbxTransfer<'_>) -> Vec<Node> {
        let events = TransferEvents {
            admin: &self.admin,
            instrument: INSTRUMENT_ID,
            sender: t.sender,
            receiver: t.receiver,
            amount: t.amount,
            inputs: t.inputs,
            change: t.change,
            output: t.output,
            leg_meta: t.leg_meta,
        };
        self.event_nodes(events.events())
    }

    pub(super) fn mint_event(&self, owner: &str, amount: Amount, output: &str) -> Node {
        let e = events::mint_event(&self.admin, INSTRUMENT_ID, owner, amount, output, "mint");
        Node::Exercise(e.exercise(&self.factory))
    }

    pub(super) fn unlock_event(&self, owner: &str, locked: &str, unlocked: &str) -> Node {
        let e = events::unlock_event(
            &self.admin,
            owner,
            locked,
            unlocked,
            "holders released lock",
        );
        Node::Exercise(e.exercise(&self.factory))
    }
}

impl OfferToken {
    /// A V2-only SBX transfer completed in one step: V2's `TransferFactory_Transfer` with the
    /// sender and the receiver as its `actors` (V2 completes a transfer "in a single-step if the
    /// actors include all" whose authorization it needs, `TransferInstructionV2.daml`), as a
    /// wallet acting for both, or a receiver's standing authorization, submits it. Committed
    /// with both parties' authority (the control API's way); `requestedAt` is the ledger time.
    /// The answer's `holding_cid` is the receiver's new holding.
    pub fn transfer_in_one_step(
        &self,
        ledger: &mut Ledger,
        request: &OfferRequest,
    ) -> Result<InstructionOutcome, TokenError> {
        if !self.v2_only {
            return Err(TokenError::InvalidArgument(
                "a one-step SBX transfer is V2's (actors = sender and receiver): V2-only SBX only"
                    .into(),
            ));
        }
        let (sender, receiver) = (request.sender.as_str(), request.receiver.as_str());
        if !request.amount.is_positive() || sender == receiver {
            return Err(TokenError::InvalidArgument(
                "a positive amount to another party".into(),
            ));
        }
        if !ledger.is_known_party(receiver) {
            return Err(LedgerError::UnknownParty(receiver.to_owned()).into());
        }
        let (inputs, total) = self.pick_inputs(ledger, sender, request.amount);
        if total < request.amount {
            return Err(TokenError::Interpretation(format!(
                "InsufficientFunds: {sender} holds {total} unlocked, needs {}",
                request.amount
            )));
        }
        let change = total.checked_sub(request.amount).unwrap_or(Amount::ZERO);
        let mut holding_cid = String::new();
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([sender, receiver]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                let execute_before = request.execute_before.unwrap_or(
                    ctx.let_time
                        .checked_add_micros(3_600_000_000)
                        .unwrap_or(ctx.let_time),
                );
                let parts = TransferParts {
                    sender,
                    receiver,
                    amount: request.amount,
                    times: (ctx.let_time, execute_before),
                    inputs: inputs.clone(),
                    memo: request.memo.as_deref(),
                };
                let mut children: Vec<Node> = inputs
                    .iter()
                    .map(|cid| {
                        Node::Exercise(Exercise::archive(
                            cid,
                            &parties([self.admin.as_str(), sender]),
                        ))
                    })
                    .collect();
                let received = self.unlocked_holding(ctx, receiver, request.amount);
                holding_cid = received.contract_id.clone();
                children.push(Node::Create(received));
                let mut change_cids = Vec::new();
                if change.is_positive() {
                    let c = self.unlocked_holding(ctx, sender, change);
                    change_cids.push(c.contract_id.clone());
                    children.push(Node::Create(c));
                }
                children.extend(self.transfer_events(SbxTransfer {
                    sender,
                    receiver,
                    amount: request.amount,
                    inputs: inputs.clone(),
                    change: change_cids.first().cloned(),
                    output: holding_cid.clone(),
                    leg_meta: memo_leg(request.memo.as_deref()),
                }));
                let mut exercise = self.factory_exercise(
                    Value::Unit,
                    &parts,
                    (
                        result::instruction_result(
                            result::completed([holding_cid.clone()]),
                            change_cids,
                        ),
                        true,
                    ),
                    children,
                );
                exercise.argument = Value::record(vec![
                    ("transfer", self.transfer_v2(&parts)),
                    (
                        "actors",
                        Value::List(vec![Value::party(sender), Value::party(receiver)]),
                    ),
                    ("extraArgs", extra_args()),
                ]);
                exercise.acting_parties = parties([sender, receiver]);
                Ok(vec![Node::Exercise(exercise)])
            },
        )?;
        Ok(InstructionOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            holding_cid,
        })
    }
}

/// A transfer of `amount` from `sender` (spending `inputs`, keeping `change`) to `receiver`'s
/// new `output`, with `leg_meta` (the memo) on the leg.
pub(super) struct SbxTransfer<'a> {
    pub(super) sender: &'a str,
    pub(super) receiver: &'a str,
    pub(super) amount: Amount,
    pub(super) inputs: Vec<String>,
    pub(super) change: Option<String>,
    pub(super) output: String,
    pub(super) leg_meta: Vec<(String, String)>,
}

/// `{"values": {reason: memo}}`, or empty.
pub(super) fn memo_meta(memo: Option<&str>) -> Value {
    Value::metadata(
        memo.iter()
            .map(|m| (packages::meta::REASON, (*m).to_owned())),
    )
}

/// The memo as leg metadata.
pub(super) fn memo_leg(memo: Option<&str>) -> Vec<(String, String)> {
    memo.iter()
        .map(|m| (packages::meta::REASON.to_owned(), (*m).to_owned()))
        .collect()
}

fn extra_args() -> Value {
    Value::record(vec![
        ("context", Value::metadata([])),
        ("meta", Value::metadata([])),
    ])
}
