//! Self transfers (`transferKind: "self"`, `token-standard.md` §6.3 item 2): a
//! `TransferFactory_Transfer` whose receiver is its sender executes at once as a merge/split of
//! the sender's holdings: the inputs are archived, `amount` comes back as one holding and the
//! rest as one change holding; the result is `TransferInstructionResult_Completed`. It is how a
//! wallet merges UTXOs (amount = the inputs' total gives one holding).
//!
//! Canton Coin since Splice 0.6.11 (the default): the factory runs the transfer itself (a fetch
//! of the config state, the inputs archived, output and change created) and reports one
//! `EventLog_HoldingsChange` for the sender's account with both sides of the self leg; its
//! result meta says `tx-kind: merge-split`. Before 0.5.16 ([`crate::token::SpliceRelease::Legacy`]),
//! as `amulet_transferFactory_transferImpl`'s self branch (splice
//! `ExternalPartyAmuletRules.daml`): `TransferFactory_Transfer` → fetches of the rules, the
//! round and each input → `AmuletRules_Transfer` with provider = sender and one unlocked output
//! to the sender, exercised with the DSO's authority as the offer's lock transfer is; its
//! result meta is `tx-kind: merge-split` without a `sender` (every output goes back to the
//! sender unlocked), while the factory's own result keeps only burn meta (none at zero fees).
//! Scan gives a self transfer no preapproval, so it takes this branch even when the sender
//! has one. Through V2's factory interface the factory takes the same branch for a transfer to
//! another party when the receiver is among the `actors`: it completes at once.
//!
//! The offer-only token does the same without rules and rounds: `TransferFactory_Transfer` →
//! archives of the inputs → the output holding → the change holding.

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Create, Exercise, Fetch, Ledger, LedgerError, Node, SubmissionMeta};
use crate::token::TokenError;
use crate::token::amulet::{
    AmuletToken, MAX_INPUTS, RulesTransfer, TransferOutcome, TransferRequest, default_times,
};
use crate::token::amulet_v2::v1_transfer_meta;
use crate::token::offer::OfferToken;
use crate::token::offer_v2::{SbxTransfer, TransferParts, memo_leg};
use crate::token::packages::meta;
use crate::token::result;

/// The checks every transfer factory makes before moving anything.
pub(super) fn check_transfer(
    amount: Amount,
    execute_before: Timestamp,
    let_time: Timestamp,
) -> Result<(), TokenError> {
    if execute_before <= let_time {
        return Err(TokenError::Interpretation(format!(
            "TransferFactory_Transfer: executeBefore {execute_before} is not after the ledger time {let_time}"
        )));
    }
    if !amount.is_positive() {
        return Err(TokenError::Interpretation(format!(
            "Amount must be positive: {amount}"
        )));
    }
    Ok(())
}

/// `ITR_InsufficientFunds`: the inputs fall `missing` short of the amount.
pub(super) fn insufficient(missing: Amount) -> TokenError {
    TokenError::Interpretation(format!(
        "InvalidTransfer: ITR_InsufficientFunds: missingAmount = {missing}"
    ))
}

impl AmuletToken {
    /// A Canton Coin self transfer (see the module doc), or the same branch of the factory
    /// taken through V2 with the receiver among the `actors` (`transfer.receiver \`elem\`
    /// actors`, splice `ExternalPartyAmuletRules.daml`): the transfer to the receiver completes
    /// at once with provider = sender, preapproval or not, and its result meta is a transfer's
    /// (`sender`, `tx-kind: transfer`). Committed with the actors' authority.
    pub(super) fn self_transfer_at(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
        inputs: &[String],
        times: Option<(Timestamp, Timestamp)>,
        v2_actors: Option<&[String]>,
    ) -> Result<TransferOutcome, TokenError> {
        let sender = request.sender.as_str();
        let receiver = request.receiver.as_str();
        if !ledger.is_known_party(receiver) {
            return Err(LedgerError::UnknownParty(receiver.to_owned()).into());
        }
        let dso = self.dso.as_str();
        let mut outcome = (Vec::new(), Vec::new());
        let act_as = match v2_actors {
            Some(actors) => actors.iter().cloned().collect(),
            None => parties([sender]),
        };
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as,
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let times = times.unwrap_or_else(|| default_times(ctx.let_time));
                check_transfer(request.amount, times.1, ctx.let_time)?;
                let plan = self.plan_sender_side(ctx, sender, inputs, request.amount, |ctx| {
                    self.new_amulet(ctx, receiver, request.amount)
                })?;
                let output_cid = plan.receiver_amulet.contract_id.clone();
                let change_cids: Vec<String> =
                    plan.change.iter().map(|c| c.contract_id.clone()).collect();
                outcome = (vec![output_cid.clone()], change_cids.clone());

                let fetch = |cid: &str| {
                    Node::Fetch(Fetch {
                        contract_id: cid.to_owned(),
                        acting_parties: parties([sender]),
                    })
                };
                let mut children = vec![fetch(&self.amulet_rules), fetch(&self.open_round)];
                children.extend(self.input_nodes(sender, &plan));
                let transfer = RulesTransfer {
                    plan: &plan,
                    sender,
                    provider: sender,
                    receiver,
                    amount: request.amount,
                    lock: None,
                };
                // Every output goes back to the sender unlocked: no `sender` in the meta.
                let merge_split = || Value::metadata([(meta::TX_KIND, "merge-split".to_owned())]);
                let mut result_meta = Value::metadata([]);
                if self.has_v2_events() {
                    // 0.6.11: the factory runs the transfer itself; its events carry the memo
                    // on both sides of the leg, and its result the V1 history meta.
                    let memo = request
                        .memo
                        .iter()
                        .map(|m| (meta::REASON.to_owned(), m.clone()))
                        .collect();
                    children.extend(self.external_transfer_nodes(&transfer, memo));
                    result_meta = if receiver == sender {
                        merge_split()
                    } else {
                        v1_transfer_meta(sender)
                    };
                } else {
                    let merge_split = self.rules_transfer(
                        &transfer,
                        parties([dso, sender]),
                        Value::some(merge_split()),
                    );
                    children.push(Node::Exercise(merge_split));
                }
                let root = result::factory_transfer(
                    &self.external_party_rules,
                    sender,
                    self.factory_argument(request, &plan.submitted_inputs(), times, None),
                    result::instruction_result_with_meta(
                        result::completed([output_cid]),
                        change_cids,
                        result_meta,
                    ),
                    children,
                );
                Ok(vec![Node::Exercise(
                    self.through_factory(root, request, v2_actors),
                )])
            },
        )?;
        Ok(TransferOutcome::completed(tx, outcome))
    }
}

/// A self transfer of the offer-only token, as submitted.
#[derive(Debug, Clone)]
pub struct TokenSelfTransfer {
    pub owner: String,
    pub amount: Amount,
    pub memo: Option<String>,
    /// Holdings to merge/split; empty selects the owner's largest ones.
    pub inputs: Vec<String>,
    pub requested_at: Timestamp,
    pub execute_before: Timestamp,
    pub command_id: String,
}

impl OfferToken {
    /// An SBX self transfer (see the module doc); answers the output and change holdings.
    pub fn self_transfer(
        &self,
        ledger: &mut Ledger,
        request: &TokenSelfTransfer,
    ) -> Result<TransferOutcome, TokenError> {
        self.self_transfer_through(ledger, request, self.v2_only)
    }

    /// [`OfferToken::self_transfer`] through V2's factory interface if `via_v2` (see
    /// [`OfferToken::offer_through`]).
    pub fn self_transfer_through(
        &self,
        ledger: &mut Ledger,
        request: &TokenSelfTransfer,
        via_v2: bool,
    ) -> Result<TransferOutcome, TokenError> {
        let owner = request.owner.as_str();
        let admin = self.admin.as_str();
        let inputs: Vec<(String, Amount)> = if request.inputs.is_empty() {
            let mut picked = Vec::new();
            let mut total = Amount::ZERO;
            for (cid, amount) in self.holdings(ledger, owner) {
                if total >= request.amount || picked.len() == MAX_INPUTS {
                    break;
                }
                total = total.checked_add(amount).unwrap_or(Amount::MAX);
                picked.push((cid, amount));
            }
            picked
        } else {
            if request.inputs.len() > MAX_INPUTS {
                return Err(TokenError::Interpretation(
                    "More than the maximum number of inputs".into(),
                ));
            }
            let unlocked = self.holdings(ledger, owner);
            request
                .inputs
                .iter()
                .map(|cid| {
                    unlocked
                        .iter()
                        .find(|(c, _)| c == cid)
                        .cloned()
                        .ok_or_else(|| match ledger.contract(cid) {
                            Some(c) if c.is_active() => TokenError::Interpretation(format!(
                                "{cid} is not an unlocked SBX holding of {owner}"
                            )),
                            _ => LedgerError::ContractNotFound(cid.clone()).into(),
                        })
                })
                .collect::<Result<_, _>>()?
        };
        let total = Amount::checked_sum(inputs.iter().map(|(_, a)| *a))
            .map_err(|e| TokenError::InvalidArgument(e.to_string()))?;
        let mut outcome = (Vec::new(), Vec::new());
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([owner]),
                record_time: None,
                synchronizer: self.synchronizer,
            },
            |ctx| {
                check_transfer(request.amount, request.execute_before, ctx.let_time)?;
                if inputs.is_empty() {
                    return Err(TokenError::Interpretation(
                        "At least one holding must be provided".into(),
                    ));
                }
                let change = total.checked_sub(request.amount).unwrap_or(Amount::MIN);
                if change.is_negative() {
                    return Err(insufficient(-change));
                }
                let mut children: Vec<Node> = inputs
                    .iter()
                    .map(|(cid, _)| {
                        Node::Exercise(Exercise::archive(cid, &parties([admin, owner])))
                    })
                    .collect();
                let output: Create = self.unlocked_holding(ctx, owner, request.amount);
                let output_cid = output.contract_id.clone();
                children.push(Node::Create(output));
                let mut change_cids = Vec::new();
                if change.is_positive() {
                    let c = self.unlocked_holding(ctx, owner, change);
                    change_cids.push(c.contract_id.clone());
                    children.push(Node::Create(c));
                }
                outcome = (vec![output_cid.clone()], change_cids.clone());
                let input_cids: Vec<String> = inputs.iter().map(|(cid, _)| cid.clone()).collect();
                children.extend(self.transfer_events(SbxTransfer {
                    sender: owner,
                    receiver: owner,
                    amount: request.amount,
                    inputs: input_cids.clone(),
                    change: change_cids.first().cloned(),
                    output: output_cid.clone(),
                    leg_meta: memo_leg(request.memo.as_deref()),
                }));
                let times = (request.requested_at, request.execute_before);
                let argument = self.factory_argument(
                    owner,
                    owner,
                    request.amount,
                    times,
                    input_cids.iter().map(String::as_str),
                    request.memo.as_deref(),
                );
                let parts = TransferParts {
                    sender: owner,
                    receiver: owner,
                    amount: request.amount,
                    times,
                    inputs: input_cids,
                    memo: request.memo.as_deref(),
                };
                Ok(vec![Node::Exercise(self.factory_exercise(
                    argument,
                    &parts,
                    (
                        result::instruction_result(result::completed([output_cid]), change_cids),
                        via_v2,
                    ),
                    children,
                ))])
            },
        )?;
        Ok(TransferOutcome::completed(tx, outcome))
    }
}
