//! A second, offer-only token with its own admin and its own templates (package
//! `sandbox-token`): every transfer locks the amount and creates a `TransferInstruction` that the
//! receiver accepts or rejects, or the sender withdraws; accepting is refused from `executeBefore`
//! on (the offer has expired; reject and withdraw still return the funds).
//!
//! The trees follow the Canton Coin offer trees (`token-standard.md` §6.3) without Amulet's
//! rules and rounds: `TransferFactory_Transfer` (nonconsuming, via the interface, by the sender)
//! → archives of the inputs → the locked holding → the sender's change → the instruction, whose
//! only stakeholder-observer is the receiver, so the receiver's view is just that create. The
//! instruction's choices archive the locked holding and create the receiver's (accept) or the
//! sender's (reject, withdraw) unlocked holding. Every holding change is also reported as a
//! token standard V2 event, and the token can be a V2-only issuer ([`crate::token::offer_v2`]).

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{
    Create, Exercise, Identifier, Ledger, LedgerError, Node, SubmissionMeta, SyncIdx, TxContext,
};
use crate::token::TokenError;
use crate::token::amulet::MAX_INPUTS;
use crate::token::offer_v2::{SbxTransfer, TransferParts, memo_leg};
use crate::token::result;

pub const PACKAGE_ID: &str = "5a4d8b0a7c1e6f2d3b9a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";
pub const PACKAGE_NAME: &str = "sandbox-token";
/// The instrument id the token's admin issues.
pub const INSTRUMENT_ID: &str = "SBX";
const DAY_MICROS: i64 = 86_400_000_000;

fn template(entity: &str) -> Identifier {
    Identifier::new(PACKAGE_ID, PACKAGE_NAME, "Sandbox.Token", entity)
}

pub fn holding_template() -> Identifier {
    template("TokenHolding")
}

pub fn factory_template() -> Identifier {
    template("TokenTransferFactory")
}

pub fn instruction_template() -> Identifier {
    template("TokenTransferInstruction")
}

#[derive(Debug, Clone)]
pub struct OfferToken {
    pub admin: String,
    pub factory: String,
    /// Where the token's contracts live (and its transactions commit); it may be another
    /// synchronizer than Canton Coin's.
    pub synchronizer: SyncIdx,
    /// A V2-only issuer: V2 views, interfaces and events, no V1 signals (see
    /// [`crate::token::offer_v2`]).
    pub v2_only: bool,
}

/// An offer to make: `execute_before` defaults to a day after submission.
#[derive(Debug, Clone)]
pub struct OfferRequest {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    pub memo: Option<String>,
    pub execute_before: Option<Timestamp>,
    pub command_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferOutcome {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub transfer_instruction_cid: String,
    pub sender_change_cids: Vec<String>,
}

/// What the holder of an instruction does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionChoice {
    Accept,
    Reject,
    Withdraw,
}

impl InstructionChoice {
    pub(super) fn name(self) -> &'static str {
        match self {
            InstructionChoice::Accept => "TransferInstruction_Accept",
            InstructionChoice::Reject => "TransferInstruction_Reject",
            InstructionChoice::Withdraw => "TransferInstruction_Withdraw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionOutcome {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    /// The unlocked holding: the receiver's (accept) or the sender's (reject, withdraw).
    pub holding_cid: String,
}

/// A pending instruction as a wallet lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInstruction {
    pub contract_id: String,
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    pub execute_before: Timestamp,
    pub memo: Option<String>,
}

fn extra_args() -> Value {
    Value::record(vec![
        ("context", Value::metadata([])),
        ("meta", Value::metadata([])),
    ])
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Record(fields) => fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
        _ => None,
    }
}

impl OfferToken {
    /// Allocates the admin party `token-admin` and creates its transfer factory.
    pub fn bootstrap(
        ledger: &mut Ledger,
        synchronizer: SyncIdx,
        v2_only: bool,
    ) -> Result<OfferToken, TokenError> {
        let admin = ledger.allocate_party("token-admin")?;
        let mut factory = String::new();
        ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: "sandbox-token-bootstrap".into(),
                act_as: parties([admin.as_str()]),
                record_time: None,
                synchronizer,
            },
            |ctx| {
                factory = ctx.new_contract_id();
                Ok(vec![Node::Create(Create {
                    contract_id: factory.clone(),
                    template: factory_template(),
                    argument: Value::record(vec![("admin", Value::party(&admin))]),
                    signatories: parties([admin.as_str()]),
                    observers: Default::default(),
                    interfaces: OfferToken::factory_views(&admin, v2_only),
                })])
            },
        )?;
        Ok(OfferToken {
            admin,
            factory,
            synchronizer,
            v2_only,
        })
    }

    pub fn instrument_id(&self) -> Value {
        Value::record(vec![
            ("admin", Value::party(&self.admin)),
            ("id", Value::text(INSTRUMENT_ID)),
        ])
    }

    /// A holding; `lock` = (holders, expires at, context).
    fn holding(
        &self,
        ctx: &mut TxContext<'_>,
        owner: &str,
        amount: Amount,
        lock: Option<(Timestamp, String)>,
    ) -> Create {
        let lock_value = |view: bool| {
            Value::opt(lock.as_ref().map(|(expires, context)| {
                let mut fields = vec![
                    ("holders", Value::List(vec![Value::party(&self.admin)])),
                    ("expiresAt", Value::some(Value::Time(*expires))),
                ];
                if view {
                    fields.push(("expiresAfter", Value::none()));
                }
                fields.push(("context", Value::some(Value::text(context.clone()))));
                Value::record(fields)
            }))
        };
        Create {
            contract_id: ctx.new_contract_id(),
            template: holding_template(),
            argument: Value::record(vec![
                ("admin", Value::party(&self.admin)),
                ("owner", Value::party(owner)),
                ("amount", Value::Numeric(amount)),
                ("lock", lock_value(false)),
            ]),
            signatories: parties([self.admin.as_str(), owner]),
            observers: Default::default(),
            interfaces: self.holding_views(
                owner,
                Value::record(vec![
                    ("owner", Value::party(owner)),
                    ("instrumentId", self.instrument_id()),
                    ("amount", Value::Numeric(amount)),
                    ("lock", lock_value(true)),
                    ("meta", Value::metadata([])),
                ]),
            ),
        }
    }

    /// An unlocked holding of `owner`.
    pub(super) fn unlocked_holding(
        &self,
        ctx: &mut TxContext<'_>,
        owner: &str,
        amount: Amount,
    ) -> Create {
        self.holding(ctx, owner, amount, None)
    }

    /// The token-standard `Transfer` record.
    fn transfer_value<'a>(
        &self,
        sender: &str,
        receiver: &str,
        amount: Amount,
        (requested_at, execute_before): (Timestamp, Timestamp),
        inputs: impl Iterator<Item = &'a str>,
        memo: Option<&str>,
    ) -> Value {
        Value::record(vec![
            ("sender", Value::party(sender)),
            ("receiver", Value::party(receiver)),
            ("amount", Value::Numeric(amount)),
            ("instrumentId", self.instrument_id()),
            ("requestedAt", Value::Time(requested_at)),
            ("executeBefore", Value::Time(execute_before)),
            (
                "inputHoldingCids",
                Value::List(inputs.map(Value::cid).collect()),
            ),
            (
                "meta",
                Value::metadata(
                    memo.iter()
                        .map(|m| (super::packages::meta::REASON, (*m).to_owned())),
                ),
            ),
        ])
    }

    /// `TransferFactory_Transfer`'s argument (this factory needs no choice context).
    pub(super) fn factory_argument<'a>(
        &self,
        sender: &str,
        receiver: &str,
        amount: Amount,
        times: (Timestamp, Timestamp),
        inputs: impl Iterator<Item = &'a str>,
        memo: Option<&str>,
    ) -> Value {
        Value::record(vec![
            ("expectedAdmin", Value::party(&self.admin)),
            (
                "transfer",
                self.transfer_value(sender, receiver, amount, times, inputs, memo),
            ),
            ("extraArgs", extra_args()),
        ])
    }

    /// The admin issues a holding to `owner` (act as both: a registry's mint is its own flow).
    pub fn mint(
        &self,
        ledger: &mut Ledger,
        owner: &str,
        amount: Amount,
    ) -> Result<(String, i64), TokenError> {
        if !amount.is_positive() {
            return Err(TokenError::InvalidArgument(
                "amount must be positive".into(),
            ));
        }
        let mut cid = String::new();
        let command_id = format!("sandbox-token-mint-{}", ledger.ledger_end() + 1);
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id,
                act_as: parties([self.admin.as_str(), owner]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                let h = self.holding(ctx, owner, amount, None);
                cid = h.contract_id.clone();
                Ok(vec![Node::Create(h), self.mint_event(owner, amount, &cid)])
            },
        )?;
        Ok((cid, tx.offset))
    }

    /// Unlocked holdings of `owner`: (contract id, amount), largest first.
    pub fn holdings(&self, ledger: &Ledger, owner: &str) -> Vec<(String, Amount)> {
        let mut out: Vec<(String, Amount)> = ledger
            .active_of(&holding_template(), owner)
            .into_iter()
            .filter(|c| field(&c.create.argument, "owner") == Some(&Value::party(owner)))
            .filter(|c| field(&c.create.argument, "lock") == Some(&Value::none()))
            .filter_map(|c| match field(&c.create.argument, "amount") {
                Some(Value::Numeric(a)) => Some((c.create.contract_id.clone(), *a)),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The active instruction `instruction_cid`, if it is one of this token's.
    pub fn pending_instruction(
        &self,
        ledger: &Ledger,
        instruction_cid: &str,
    ) -> Option<PendingInstruction> {
        ledger
            .contract(instruction_cid)
            .filter(|c| c.is_active() && c.create.template == instruction_template())
            .and_then(|c| read_instruction(&c.create))
    }

    /// Pending instructions `party` sends or receives.
    pub fn pending(&self, ledger: &Ledger, party: &str) -> Vec<PendingInstruction> {
        ledger
            .active_of(&instruction_template(), party)
            .into_iter()
            .filter_map(|c| read_instruction(&c.create))
            .collect()
    }

    /// The sender's unlocked holdings, smallest count first, until they cover `amount`.
    pub(super) fn pick_inputs(
        &self,
        ledger: &Ledger,
        sender: &str,
        amount: Amount,
    ) -> (Vec<String>, Amount) {
        let mut inputs = Vec::new();
        let mut total = Amount::ZERO;
        for (cid, held) in self.holdings(ledger, sender) {
            if total >= amount || inputs.len() == MAX_INPUTS {
                break;
            }
            total = total.checked_add(held).unwrap_or(Amount::MAX);
            inputs.push(cid);
        }
        (inputs, total)
    }

    /// The submitted inputs, each an active unlocked holding of the sender, at most
    /// [`MAX_INPUTS`], none twice.
    fn given_inputs(
        &self,
        ledger: &Ledger,
        sender: &str,
        given: Vec<String>,
    ) -> Result<(Vec<String>, Amount), TokenError> {
        if given.len() > MAX_INPUTS {
            return Err(TokenError::InvalidArgument(format!(
                "transfer.inputHoldingCids: {} inputs; at most {MAX_INPUTS} are allowed",
                given.len()
            )));
        }
        let held: std::collections::BTreeMap<String, Amount> =
            self.holdings(ledger, sender).into_iter().collect();
        let mut total = Amount::ZERO;
        let mut seen = std::collections::BTreeSet::new();
        for cid in &given {
            let amount = held
                .get(cid)
                .ok_or_else(|| LedgerError::ContractNotFound(cid.clone()))?;
            if !seen.insert(cid) {
                return Err(TokenError::InvalidArgument(format!(
                    "transfer.inputHoldingCids names {cid} twice"
                )));
            }
            total = total.checked_add(*amount).unwrap_or(Amount::MAX);
        }
        Ok((given, total))
    }

    /// Offers `amount` to the receiver: `TransferFactory_Transfer` with result `Pending`, its
    /// inputs picked from the sender's holdings and `requestedAt` the ledger time (the control
    /// API's and the scenarios' way).
    pub fn offer(
        &self,
        ledger: &mut Ledger,
        request: &OfferRequest,
    ) -> Result<OfferOutcome, TokenError> {
        self.offer_as_submitted(ledger, request, None)
    }

    /// [`OfferToken::offer`] with the submitted command's own `(requestedAt, inputHoldingCids)`:
    /// the factory spends exactly those inputs (each an unlocked holding of the sender; none
    /// named: it picks them) and keeps the argument as given, `requestedAt` included, which
    /// must not be in the future.
    pub fn offer_as_submitted(
        &self,
        ledger: &mut Ledger,
        request: &OfferRequest,
        submitted: Option<(Timestamp, Vec<String>)>,
    ) -> Result<OfferOutcome, TokenError> {
        self.offer_through(ledger, request, submitted, self.v2_only)
    }

    /// [`OfferToken::offer_as_submitted`] through V2's factory interface if `via_v2` (a dual
    /// SBX's factory implements V1's and V2's; a V2-only SBX's is always used through V2's).
    pub fn offer_through(
        &self,
        ledger: &mut Ledger,
        request: &OfferRequest,
        submitted: Option<(Timestamp, Vec<String>)>,
        via_v2: bool,
    ) -> Result<OfferOutcome, TokenError> {
        let sender = request.sender.as_str();
        if !request.amount.is_positive() {
            return Err(TokenError::Interpretation(format!(
                "Amount must be positive: {}",
                request.amount
            )));
        }
        if request.sender == request.receiver {
            return Err(TokenError::InvalidArgument(
                "self transfers are not offers".into(),
            ));
        }
        if !ledger.is_known_party(&request.receiver) {
            return Err(LedgerError::UnknownParty(request.receiver.clone()).into());
        }
        let (submitted_at, inputs, total) = match submitted {
            // No inputs named: the factory picks them, as Canton Coin's does.
            Some((at, given)) if given.is_empty() => {
                let (inputs, total) = self.pick_inputs(ledger, sender, request.amount);
                (Some(at), inputs, total)
            }
            Some((at, given)) => {
                let (inputs, total) = self.given_inputs(ledger, sender, given)?;
                (Some(at), inputs, total)
            }
            None => {
                let (inputs, total) = self.pick_inputs(ledger, sender, request.amount);
                (None, inputs, total)
            }
        };
        if total < request.amount {
            return Err(TokenError::Interpretation(format!(
                "InsufficientFunds: {sender} holds {total} unlocked, needs {}",
                request.amount
            )));
        }
        let change = total.checked_sub(request.amount).unwrap_or(Amount::ZERO);
        let mut out = (String::new(), Vec::new());
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([sender]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                let requested_at = submitted_at.unwrap_or(ctx.let_time);
                if requested_at > ctx.let_time {
                    return Err(TokenError::Interpretation(format!(
                        "requestedAt {requested_at} is in the future (ledger time {})",
                        ctx.let_time
                    )));
                }
                let execute_before = request.execute_before.unwrap_or_else(|| {
                    requested_at
                        .checked_add_micros(DAY_MICROS)
                        .unwrap_or(requested_at)
                });
                if execute_before <= requested_at {
                    return Err(TokenError::Interpretation(format!(
                        "executeBefore {execute_before} is not in the future"
                    )));
                }
                let transfer = |input_cids: &[String]| {
                    self.transfer_value(
                        sender,
                        &request.receiver,
                        request.amount,
                        (requested_at, execute_before),
                        input_cids.iter().map(String::as_str),
                        request.memo.as_deref(),
                    )
                };
                let (mut children, locked_cid, change_cids) =
                    self.lock_nodes(ctx, request, &inputs, change, execute_before);
                let parts = |inputs: &[String]| TransferParts {
                    sender,
                    receiver: &request.receiver,
                    amount: request.amount,
                    times: (requested_at, execute_before),
                    inputs: inputs.to_vec(),
                    memo: request.memo.as_deref(),
                };
                let instruction_transfer = transfer(std::slice::from_ref(&locked_cid));
                let instruction = Create {
                    contract_id: ctx.new_contract_id(),
                    template: instruction_template(),
                    argument: Value::record(vec![
                        ("transfer", instruction_transfer.clone()),
                        ("lockedHolding", Value::cid(&locked_cid)),
                    ]),
                    signatories: parties([self.admin.as_str(), sender]),
                    observers: parties([request.receiver.as_str()]),
                    interfaces: self.instruction_views(
                        result::pending_instruction_view(instruction_transfer),
                        &parts(std::slice::from_ref(&locked_cid)),
                    ),
                };
                let instruction_cid = instruction.contract_id.clone();
                children.push(Node::Create(instruction));
                out = (instruction_cid.clone(), change_cids.clone());
                Ok(vec![Node::Exercise(self.factory_exercise(
                    Value::record(vec![
                        ("expectedAdmin", Value::party(&self.admin)),
                        ("transfer", transfer(&inputs)),
                        ("extraArgs", extra_args()),
                    ]),
                    &parts(&inputs),
                    (
                        result::instruction_result(
                            result::pending(&instruction_cid),
                            change_cids.iter().cloned(),
                        ),
                        via_v2,
                    ),
                    children,
                ))])
            },
        )?;
        Ok(OfferOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            transfer_instruction_cid: out.0,
            sender_change_cids: out.1,
        })
    }

    /// An offer's effects: the inputs archived, the amount locked for the receiver until
    /// `execute_before`, the change, and their V2 events (the lock is a transfer to the sender
    /// herself, as Amulet reports it); with the locked holding and the change.
    fn lock_nodes(
        &self,
        ctx: &mut TxContext<'_>,
        request: &OfferRequest,
        inputs: &[String],
        change: Amount,
        execute_before: Timestamp,
    ) -> (Vec<Node>, String, Vec<String>) {
        let sender = request.sender.as_str();
        let mut children: Vec<Node> = inputs
            .iter()
            .map(|cid| {
                Node::Exercise(Exercise::archive(
                    cid,
                    &parties([self.admin.as_str(), sender]),
                ))
            })
            .collect();
        let locked = self.holding(
            ctx,
            sender,
            request.amount,
            Some((
                execute_before,
                format!("transfer to '{}'", request.receiver),
            )),
        );
        let locked_cid = locked.contract_id.clone();
        children.push(Node::Create(locked));
        let mut change_cids = Vec::new();
        if change.is_positive() {
            let c = self.holding(ctx, sender, change, None);
            change_cids.push(c.contract_id.clone());
            children.push(Node::Create(c));
        }
        children.extend(self.transfer_events(SbxTransfer {
            sender,
            receiver: sender,
            amount: request.amount,
            inputs: inputs.to_vec(),
            change: change_cids.first().cloned(),
            output: locked_cid.clone(),
            leg_meta: vec![(
                super::packages::meta::REASON.to_owned(),
                format!("lock for transfer to '{}'", request.receiver),
            )],
        }));
        (children, locked_cid, change_cids)
    }

    /// Accept (receiver), reject (receiver) or withdraw (sender) a pending instruction, through
    /// the interface this token is used through (V2's when V2-only, V1's otherwise).
    pub fn act(
        &self,
        ledger: &mut Ledger,
        instruction_cid: &str,
        choice: InstructionChoice,
        command_id: &str,
    ) -> Result<InstructionOutcome, TokenError> {
        self.act_through(ledger, instruction_cid, choice, command_id, self.v2_only)
    }

    /// [`OfferToken::act`] through V2's `TransferInstruction` interface (`via_v2`: the
    /// nonconsuming choice with `actors = [actor]`, archiving the instruction inside) or V1's.
    pub fn act_through(
        &self,
        ledger: &mut Ledger,
        instruction_cid: &str,
        choice: InstructionChoice,
        command_id: &str,
        via_v2: bool,
    ) -> Result<InstructionOutcome, TokenError> {
        let pending = ledger
            .contract(instruction_cid)
            .filter(|c| c.is_active() && c.create.template == instruction_template())
            .and_then(|c| read_instruction(&c.create))
            .ok_or_else(|| LedgerError::ContractNotFound(instruction_cid.to_owned()))?;
        let locked_cid = match ledger
            .contract(instruction_cid)
            .and_then(|c| field(&c.create.argument, "lockedHolding").cloned())
        {
            Some(Value::ContractId(cid)) => cid,
            _ => return Err(LedgerError::ContractNotFound(instruction_cid.to_owned()).into()),
        };
        let actor = match choice {
            InstructionChoice::Accept | InstructionChoice::Reject => pending.receiver.clone(),
            InstructionChoice::Withdraw => pending.sender.clone(),
        };
        let mut holding_cid = String::new();
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: command_id.to_owned(),
                act_as: parties([actor.as_str()]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                if choice == InstructionChoice::Accept && ctx.let_time >= pending.execute_before {
                    return Err(TokenError::Interpretation(format!(
                        "TransferInstruction_Accept: the transfer expired at {}",
                        pending.execute_before
                    )));
                }
                let owner = if choice == InstructionChoice::Accept {
                    &pending.receiver
                } else {
                    &pending.sender
                };
                let unlocked = self.holding(ctx, owner, pending.amount, None);
                holding_cid = unlocked.contract_id.clone();
                let output = match choice {
                    InstructionChoice::Accept => result::completed([holding_cid.clone()]),
                    _ => result::failed(),
                };
                let sender_change = if choice == InstructionChoice::Accept {
                    vec![]
                } else {
                    vec![holding_cid.clone()]
                };
                let event = if choice == InstructionChoice::Accept {
                    self.transfer_events(SbxTransfer {
                        sender: &pending.sender,
                        receiver: &pending.receiver,
                        amount: pending.amount,
                        inputs: vec![locked_cid.clone()],
                        change: None,
                        output: holding_cid.clone(),
                        leg_meta: memo_leg(pending.memo.as_deref()),
                    })
                } else {
                    vec![self.unlock_event(&pending.sender, &locked_cid, &holding_cid)]
                };
                let mut children = vec![
                    Node::Exercise(Exercise::archive(
                        &locked_cid,
                        &parties([self.admin.as_str(), pending.sender.as_str()]),
                    )),
                    Node::Create(unlocked),
                ];
                children.extend(event);
                Ok(vec![Node::Exercise(self.instruction_exercise(
                    instruction_cid,
                    &pending,
                    (choice, via_v2),
                    &actor,
                    result::instruction_result(output, sender_change),
                    children,
                ))])
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

pub(super) fn read_instruction(create: &Create) -> Option<PendingInstruction> {
    let transfer = field(&create.argument, "transfer")?;
    let party = |name| match field(transfer, name) {
        Some(Value::Party(p)) => Some(p.clone()),
        _ => None,
    };
    let Some(Value::Numeric(amount)) = field(transfer, "amount") else {
        return None;
    };
    let Some(Value::Time(execute_before)) = field(transfer, "executeBefore") else {
        return None;
    };
    let memo = match field(transfer, "meta").and_then(|m| field(m, "values")) {
        Some(Value::TextMap(values)) => match values.get(super::packages::meta::REASON) {
            Some(Value::Text(t)) => Some(t.clone()),
            _ => None,
        },
        _ => None,
    };
    Some(PendingInstruction {
        contract_id: create.contract_id.clone(),
        sender: party("sender")?,
        receiver: party("receiver")?,
        amount: *amount,
        execute_before: *execute_before,
        memo,
    })
}
