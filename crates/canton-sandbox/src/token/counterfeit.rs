//! A COUNTERFEIT token, for testing that an exchange credits only real Canton Coin: the attack
//! its crediting rule (`exchange_core::tokens`) exists for.
//!
//! A party `forger` deploys its own package (`counterfeit-coin`, templates `Counterfeit.Coin:*`)
//! whose holdings' `HoldingV1` view claims to be Canton Coin (`instrumentId = {admin: <DSO>, id:
//! "Amulet"}`). Anyone may write such a view; what the forger cannot forge is the signatories:
//! its coins are signed by the forger alone, never by the DSO.
//!
//! The Daml the sandbox stands in for, and why each node is where it is:
//! - `Coin {forger, owner, amount}`: `signatory forger; observer owner`. The owner is no
//!   signatory: a transfer to a party that never authorized anything cannot make it one (Daml's
//!   authorization rule; a real node would refuse it), so the owner only observes.
//! - `CoinTransferFactory {forger}`: `signatory forger`, implementing the token standard's
//!   `TransferFactory` (view `admin = DSO`, the same lie). Its `TransferFactory_Transfer`
//!   (controller the sender, nonconsuming) has the forger's and the sender's authority, and calls
//!   the factory's own nonconsuming `CoinTransferFactory_Send`, declared with `observer
//!   receiver`. That choice observer is how the receiver comes to witness the transfer: the
//!   interface choice has no observers, so without it the receiver would see a bare create,
//!   which a parser does not take for a deposit. Real Canton Coin reaches the receiver through
//!   its preapproval (`TransferPreapproval_Send`, the receiver a signatory) instead.
//! - The send fetches and archives each input (archives act as the forger, the coins' only
//!   signatory), creates the receiver's coin and the sender's change, and answers a
//!   `TransferInstructionResult` (`TransferInstructionResult_Completed`) whose meta carries
//!   `tx-kind: transfer`, the sender and the reason, as Amulet's `TransferPreapproval_Send` does.
//!
//! The node has the package from the start (as if its `.dar` had been uploaded: a participant
//! must have vetted a package to host an informee of its contracts). The token is deployed on
//! first use through the control API, so a sandbox that never forges looks as before.

use std::collections::BTreeMap;

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{
    Create, Exercise, Fetch, Identifier, Ledger, LedgerError, Node, SubmissionMeta, SyncIdx,
};
use crate::token::TokenError;
use crate::token::amulet::{MAX_INPUTS, default_times, field};
use crate::token::packages::{holding_interface, meta, transfer_factory_interface};
use crate::token::result;
use crate::token::self_transfer::insufficient;

pub const PACKAGE_ID: &str = "c9e08b162e081ce64e045758400b4579ab138660c4ba7b6d4f6be4070d2b5bef";
pub const PACKAGE_NAME: &str = "counterfeit-coin";
/// The party hint of the counterfeit's admin.
pub const FORGER_HINT: &str = "forger";
/// The instrument id the counterfeit claims (Canton Coin's).
pub const CLAIMED_INSTRUMENT_ID: &str = "Amulet";
const SEND_CHOICE: &str = "CoinTransferFactory_Send";

fn template(entity: &str) -> Identifier {
    Identifier::new(PACKAGE_ID, PACKAGE_NAME, "Counterfeit.Coin", entity)
}

pub fn coin_template() -> Identifier {
    template("Coin")
}

pub fn factory_template() -> Identifier {
    template("CoinTransferFactory")
}

/// The deployed counterfeit: the forger, the DSO it impersonates and its factory.
#[derive(Debug, Clone)]
pub struct CounterfeitToken {
    pub forger: String,
    /// The real Canton Coin admin, whom the holdings' views name as their admin.
    pub claimed_admin: String,
    pub factory: String,
    pub synchronizer: SyncIdx,
}

/// A counterfeit transfer to make through the control API.
#[derive(Debug, Clone)]
pub struct CounterfeitTransfer {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    pub memo: Option<String>,
    pub command_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterfeitOutcome {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub receiver_holding_cids: Vec<String>,
    pub sender_change_cids: Vec<String>,
}

impl CounterfeitToken {
    /// Allocates the `forger` party and creates its transfer factory, on `synchronizer` (Canton
    /// Coin's, where a victim expects Canton Coin).
    pub fn deploy(
        ledger: &mut Ledger,
        claimed_admin: &str,
        synchronizer: SyncIdx,
    ) -> Result<CounterfeitToken, TokenError> {
        let forger = ledger.allocate_party(FORGER_HINT)?;
        let mut token = CounterfeitToken {
            forger,
            claimed_admin: claimed_admin.to_owned(),
            factory: String::new(),
            synchronizer,
        };
        let mut factory = String::new();
        ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: "sandbox-counterfeit-deploy".into(),
                act_as: parties([token.forger.as_str()]),
                record_time: None,
                synchronizer,
            },
            |ctx| {
                factory = ctx.new_contract_id();
                Ok(vec![Node::Create(Create {
                    contract_id: factory.clone(),
                    template: factory_template(),
                    argument: Value::record(vec![("forger", Value::party(&token.forger))]),
                    signatories: parties([token.forger.as_str()]),
                    observers: Default::default(),
                    interfaces: vec![(
                        transfer_factory_interface(),
                        Value::record(vec![
                            ("admin", Value::party(claimed_admin)),
                            ("meta", Value::metadata([])),
                        ]),
                    )],
                })])
            },
        )?;
        token.factory = factory;
        Ok(token)
    }

    /// What the views claim: Canton Coin's instrument.
    pub fn claimed_instrument(&self) -> Value {
        Value::record(vec![
            ("admin", Value::party(&self.claimed_admin)),
            ("id", Value::text(CLAIMED_INSTRUMENT_ID)),
        ])
    }

    /// A new coin of `owner`, signed by the forger alone, its view claiming Canton Coin.
    fn coin(&self, contract_id: String, owner: &str, amount: Amount) -> Create {
        let observers = if owner == self.forger {
            Default::default()
        } else {
            parties([owner])
        };
        Create {
            contract_id,
            template: coin_template(),
            argument: Value::record(vec![
                ("forger", Value::party(&self.forger)),
                ("owner", Value::party(owner)),
                ("amount", Value::Numeric(amount)),
            ]),
            signatories: parties([self.forger.as_str()]),
            observers,
            interfaces: vec![(
                holding_interface(),
                Value::record(vec![
                    ("owner", Value::party(owner)),
                    ("instrumentId", self.claimed_instrument()),
                    ("amount", Value::Numeric(amount)),
                    ("lock", Value::none()),
                    ("meta", Value::metadata([])),
                ]),
            )],
        }
    }

    /// The forger creates a coin for `owner` (its own authority suffices: the owner only
    /// observes). Returns the coin and the offset of its transaction.
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
        if !ledger.is_known_party(owner) {
            return Err(LedgerError::UnknownParty(owner.to_owned()).into());
        }
        let mut cid = String::new();
        let command_id = format!("sandbox-counterfeit-mint-{}", ledger.ledger_end() + 1);
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id,
                act_as: parties([self.forger.as_str()]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                let coin = self.coin(ctx.new_contract_id(), owner, amount);
                cid = coin.contract_id.clone();
                Ok(vec![Node::Create(coin)])
            },
        )?;
        Ok((cid, tx.offset))
    }

    /// Active coins of `owner`: (contract id, amount), largest first.
    pub fn holdings(&self, ledger: &Ledger, owner: &str) -> Vec<(String, Amount)> {
        let mut out: Vec<(String, Amount)> = ledger
            .active_of(&coin_template(), owner)
            .into_iter()
            .filter(|c| field(&c.create.argument, "owner") == Some(&Value::party(owner)))
            .filter_map(|c| match field(&c.create.argument, "amount") {
                Some(Value::Numeric(a)) => Some((c.create.contract_id.clone(), *a)),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// A 1-step transfer of the sender's coins to any party (see the module doc for the tree).
    pub fn transfer(
        &self,
        ledger: &mut Ledger,
        request: &CounterfeitTransfer,
    ) -> Result<CounterfeitOutcome, TokenError> {
        if !request.amount.is_positive() {
            return Err(TokenError::InvalidArgument(
                "amount must be positive".into(),
            ));
        }
        if !ledger.is_known_party(&request.receiver) {
            return Err(LedgerError::UnknownParty(request.receiver.clone()).into());
        }
        if request.sender == request.receiver {
            return Err(TokenError::InvalidArgument(
                "a counterfeit transfer needs a receiver other than the sender".into(),
            ));
        }
        let (inputs, total) = self.pick_inputs(ledger, &request.sender, request.amount);
        if total < request.amount {
            return Err(insufficient(
                request.amount.checked_sub(total).unwrap_or(request.amount),
            ));
        }
        let change = total.checked_sub(request.amount).unwrap_or(Amount::ZERO);
        let mut outcome = (Vec::new(), Vec::new());
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([request.sender.as_str()]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                let received = self.coin(ctx.new_contract_id(), &request.receiver, request.amount);
                let change = change
                    .is_positive()
                    .then(|| self.coin(ctx.new_contract_id(), &request.sender, change));
                outcome = (
                    vec![received.contract_id.clone()],
                    change.iter().map(|c| c.contract_id.clone()).collect(),
                );
                let times = default_times(ctx.let_time);
                Ok(vec![Node::Exercise(
                    self.transfer_tree(request, &inputs, times, received, change),
                )])
            },
        )?;
        Ok(CounterfeitOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            receiver_holding_cids: outcome.0,
            sender_change_cids: outcome.1,
        })
    }

    /// The sender's coins, largest first, until they cover `amount`.
    fn pick_inputs(&self, ledger: &Ledger, sender: &str, amount: Amount) -> (Vec<String>, Amount) {
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

    /// `TransferFactory_Transfer` → `CoinTransferFactory_Send` (observer: the receiver) → fetch
    /// and archive of each input → the receiver's coin → the sender's change.
    fn transfer_tree(
        &self,
        request: &CounterfeitTransfer,
        inputs: &[String],
        times: (Timestamp, Timestamp),
        received: Create,
        change: Option<Create>,
    ) -> Exercise {
        let sender = request.sender.as_str();
        let output = result::instruction_result(
            result::completed([received.contract_id.clone()]),
            change.iter().map(|c| c.contract_id.clone()),
        );
        let mut children = Vec::new();
        for cid in inputs {
            children.push(Node::Fetch(Fetch {
                contract_id: cid.clone(),
                acting_parties: parties([sender]),
            }));
            children.push(Node::Exercise(Exercise::archive(
                cid,
                &parties([self.forger.as_str()]),
            )));
        }
        children.push(Node::Create(received));
        children.extend(change.map(Node::Create));
        let send = Exercise {
            contract_id: self.factory.clone(),
            interface: None,
            choice: SEND_CHOICE.into(),
            argument: Value::record(vec![
                ("sender", Value::party(sender)),
                ("receiver", Value::party(&request.receiver)),
                ("amount", Value::Numeric(request.amount)),
                (
                    "inputs",
                    Value::List(inputs.iter().map(Value::cid).collect()),
                ),
                (
                    "description",
                    Value::opt(request.memo.clone().map(Value::Text)),
                ),
            ]),
            acting_parties: parties([sender]),
            choice_observers: parties([request.receiver.as_str()]),
            consuming: false,
            result: with_meta(&output, send_meta(sender, request.memo.as_deref())),
            children,
        };
        result::factory_transfer(
            &self.factory,
            sender,
            self.factory_argument(request, inputs, times),
            output,
            vec![Node::Exercise(send)],
        )
    }

    /// `TransferFactory_Transfer`'s argument, naming the DSO as the expected admin (the lie the
    /// factory's view tells too). The factory needs no choice context.
    fn factory_argument(
        &self,
        request: &CounterfeitTransfer,
        inputs: &[String],
        (requested_at, execute_before): (Timestamp, Timestamp),
    ) -> Value {
        let transfer_meta = request.memo.iter().map(|m| (meta::REASON, m.clone()));
        Value::record(vec![
            ("expectedAdmin", Value::party(&self.claimed_admin)),
            (
                "transfer",
                Value::record(vec![
                    ("sender", Value::party(&request.sender)),
                    ("receiver", Value::party(&request.receiver)),
                    ("amount", Value::Numeric(request.amount)),
                    ("instrumentId", self.claimed_instrument()),
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
                        Value::record(vec![("values", Value::TextMap(BTreeMap::new()))]),
                    ),
                    ("meta", Value::metadata([])),
                ]),
            ),
        ])
    }
}

/// The send's result meta, as Amulet's `TransferPreapproval_Send` writes it.
fn send_meta(sender: &str, reason: Option<&str>) -> Value {
    let mut entries = vec![
        (meta::SENDER, sender.to_owned()),
        (meta::TX_KIND, "transfer".to_owned()),
    ];
    entries.extend(reason.map(|r| (meta::REASON, r.to_owned())));
    Value::metadata(entries)
}

/// `result` (a `TransferInstructionResult` record) with its `meta` replaced.
fn with_meta(result: &Value, meta: Value) -> Value {
    match result {
        Value::Record(fields) => Value::Record(
            fields
                .iter()
                .map(|(name, v)| {
                    let v = if *name == "meta" {
                        meta.clone()
                    } else {
                        v.clone()
                    };
                    (*name, v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
