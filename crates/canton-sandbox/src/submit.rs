//! Commands submitted over the Ledger API, interpreted as the token-standard choices the
//! sandbox models (`ledger-api.md` §4.1, `token-standard.md` §5): there is no Daml engine, so a
//! command is recognised by the contract it exercises and its choice, its `choiceArgument` is
//! read like the Daml code would read it, and the token builds the real transaction tree.
//!
//! Supported: `TransferFactory_Transfer` on the Canton Coin factory (1-step through the
//! receiver's preapproval, an offer without one, a merge/split when sender = receiver; through
//! V1's interface, or since Splice 0.6.11 V2's with `actors = [sender]`, or `[sender, receiver]`
//! completing at once) and on the SBX factory (an offer, or a merge/split; through V1's or V2's
//! interface with `actors = [sender]`, a V2-only SBX's through V2's only), and
//! `TransferInstruction_Accept` / `_Reject` / `_Withdraw` on Canton Coin and SBX instructions
//! (through V1's interface, or V2's with `actors`; a V2-only SBX's only through V2's),
//! and a receiver's `TransferPreapprovalProposal` create (accepted at once when this node's
//! validator operator is the provider).
//! Pure: no IO.

use std::collections::BTreeSet;

use canton_ledger::commands::{Command, CreateCommand, JsCommands};
use exchange_core::{Amount, Timestamp};
use serde_json::Value as Json;

use crate::disclosure;
use crate::model::{LedgerError, SyncIdx};
use crate::token::packages::{self, meta};
use crate::token::preapproval::PreapprovalProposal;
use crate::token::self_transfer::TokenSelfTransfer;
use crate::token::{InstructionChoice, OfferRequest, TokenError, TransferRequest};
use crate::world::World;

/// What a committed command produced: its update and offset (`submit-and-wait`'s answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
}

/// Interprets and commits `commands`, or fails with the error a node would report. A given
/// `synchronizerId` must be a connected synchronizer and is where the transaction commits (its
/// inputs must live there); without one it commits where its inputs live.
pub fn submit(world: &mut World, commands: &JsCommands) -> Result<Submitted, TokenError> {
    let prescribed = match commands.synchronizer_id.as_str() {
        "" => None,
        id => Some(
            world
                .ledger
                .synchronizer_index(id)
                .ok_or_else(|| LedgerError::UnknownSynchronizer(id.to_owned()))?,
        ),
    };
    let before = world.ledger.prescribe(prescribed);
    let out = interpret(world, commands);
    world.ledger.prescribe(before);
    out
}

/// The synchronizer `commands` would be sequenced on: the prescribed one if connected, else the
/// one the exercised contract lives on, else the global one. Deduplication reads that
/// synchronizer's clock: a change accepted there is compared with time there.
pub fn routed_synchronizer(world: &World, commands: &JsCommands) -> SyncIdx {
    if let Some(i) = world.ledger.synchronizer_index(&commands.synchronizer_id) {
        return i;
    }
    match commands.commands.as_slice() {
        [Command::ExerciseCommand(exercise)] => world
            .ledger
            .contract_synchronizer(&exercise.contract_id)
            .unwrap_or(0),
        _ => 0,
    }
}

fn interpret(world: &mut World, commands: &JsCommands) -> Result<Submitted, TokenError> {
    if commands.act_as.is_empty() {
        return Err(TokenError::InvalidArgument(
            "The submitted command is missing a mandatory field: act_as".into(),
        ));
    }
    if commands.command_id.is_empty() {
        return Err(TokenError::InvalidArgument(
            "The submitted command is missing a mandatory field: command_id".into(),
        ));
    }
    for party in &commands.act_as {
        if !world.ledger.is_known_party(party) {
            return Err(LedgerError::UnknownParty(party.clone()).into());
        }
    }
    if let [Command::CreateCommand(create)] = commands.commands.as_slice() {
        return interpret_create(world, commands, create);
    }
    let [Command::ExerciseCommand(exercise)] = commands.commands.as_slice() else {
        return Err(TokenError::InvalidArgument(
            "the sandbox interprets exactly one ExerciseCommand (or a TransferPreapprovalProposal CreateCommand) per submission".into(),
        ));
    };
    let act_as: BTreeSet<&str> = commands.act_as.iter().map(String::as_str).collect();
    let argument: Json = serde_json::from_str(exercise.choice_argument.get())
        .map_err(|e| TokenError::InvalidArgument(e.to_string()))?;
    let cid = exercise.contract_id.as_str();
    // The engine sees only the submitters' contracts and the disclosed ones.
    let needed = disclosure::referenced(world, cid, &exercise.choice, &argument);
    disclosure::check(world, commands, &needed)?;
    let command_id = commands.command_id.clone();
    if let choice @ ("TransferInstruction_Accept"
    | "TransferInstruction_Reject"
    | "TransferInstruction_Withdraw") = exercise.choice.as_str()
    {
        let call = InstructionCall {
            interface: &exercise.template_id,
            cid,
            choice,
            argument: &argument,
            act_as: &act_as,
            command_id: &command_id,
        };
        return interpret_instruction_choice(world, call);
    }
    let World {
        ledger,
        amulet,
        token,
        ..
    } = world;
    match exercise.choice.as_str() {
        "TransferFactory_Transfer" => {
            let t = TransferArgument::read(&argument)?;
            t.authorize(&act_as)?;
            let via_v2 = packages::transfer_factory_v2_interface().matches(&exercise.template_id);
            if via_v2 != t.actors.is_some() {
                return Err(TokenError::InvalidArgument(format!(
                    "choiceArgument is not {}'s TransferFactory_Transfer argument",
                    exercise.template_id
                )));
            }
            check_factory_standard(cid, via_v2, token, &t)?;
            if cid == amulet.external_party_rules {
                t.check_admin(&amulet.dso, "Amulet")?;
                t.check_no_account_meta()?;
                let request = TransferRequest {
                    sender: t.sender.clone(),
                    receiver: t.receiver.clone(),
                    amount: t.amount,
                    memo: t.memo.clone(),
                    inputs: (!t.inputs.is_empty()).then(|| t.inputs.clone()),
                    command_id,
                };
                let times = Some((t.requested_at, t.execute_before));
                let out = match &t.actors {
                    Some(actors) => amulet.transfer_v2_at(ledger, &request, times, actors)?,
                    None => amulet.transfer_at(ledger, &request, times)?,
                };
                Ok(Submitted {
                    update_id: out.update_id,
                    offset: out.offset,
                    record_time: out.record_time,
                })
            } else if cid == token.factory {
                t.check_admin(&token.admin, crate::token::offer::INSTRUMENT_ID)?;
                if t.sender == t.receiver {
                    let out = token.self_transfer_through(
                        ledger,
                        &TokenSelfTransfer {
                            owner: t.sender,
                            amount: t.amount,
                            memo: t.memo,
                            inputs: t.inputs,
                            requested_at: t.requested_at,
                            execute_before: t.execute_before,
                            command_id,
                        },
                        via_v2,
                    )?;
                    return Ok(Submitted {
                        update_id: out.update_id,
                        offset: out.offset,
                        record_time: out.record_time,
                    });
                }
                if t.execute_before <= ledger.record_time_of(token.synchronizer) {
                    return Err(TokenError::Interpretation(format!(
                        "TransferFactory_Transfer: executeBefore {} is not in the future",
                        t.execute_before
                    )));
                }
                let out = token.offer_through(
                    ledger,
                    &OfferRequest {
                        sender: t.sender,
                        receiver: t.receiver,
                        amount: t.amount,
                        memo: t.memo,
                        execute_before: Some(t.execute_before),
                        command_id,
                    },
                    Some((t.requested_at, t.inputs)),
                    via_v2,
                )?;
                Ok(Submitted {
                    update_id: out.update_id,
                    offset: out.offset,
                    record_time: out.record_time,
                })
            } else {
                Err(LedgerError::ContractNotFound(cid.to_owned()).into())
            }
        }
        other => match ledger.contract(cid) {
            Some(c) if c.is_active() => Err(TokenError::InvalidArgument(format!(
                "the sandbox does not interpret choice {other} on {}",
                c.create.template
            ))),
            _ => Err(LedgerError::ContractNotFound(cid.to_owned()).into()),
        },
    }
}

/// Which factory interface a transfer may go through here. A V2-only SBX's factory implements
/// V2's only (a V1 exercise fails as a node's would); a dual SBX's both. The sandbox models V2's
/// SBX transfer with the sender as the only actor (an offer, or a self-transfer); one-step V2
/// SBX transfers with the receiver among the actors are refused as not modelled rather than run
/// another way. Canton Coin's factory checks V2's actors itself
/// ([`crate::token::AmuletToken::transfer_v2_at`]).
fn check_factory_standard(
    cid: &str,
    via_v2: bool,
    token: &crate::token::OfferToken,
    t: &TransferArgument,
) -> Result<(), TokenError> {
    let is_token = cid == token.factory;
    if is_token && token.v2_only && !via_v2 {
        return Err(TokenError::Interpretation(format!(
            "Contract {cid} does not implement interface {}",
            packages::transfer_factory_interface()
        )));
    }
    if !via_v2 || !is_token {
        return Ok(());
    }
    if t.actors.as_deref() != Some(std::slice::from_ref(&t.sender)) {
        return Err(TokenError::InvalidArgument(
            "the sandbox models V2 SBX transfers with actors = [sender] only".into(),
        ));
    }
    Ok(())
}

/// A submitted choice on a transfer instruction.
struct InstructionCall<'a> {
    /// The command's `templateId`: the interface it exercises the choice through.
    interface: &'a str,
    cid: &'a str,
    choice: &'a str,
    argument: &'a Json,
    act_as: &'a BTreeSet<&'a str>,
    command_id: &'a str,
}

/// Accept, reject or withdraw on a Canton Coin or SBX instruction, by its controller: through
/// V1's interface, or V2's with `actors` (a V2-only SBX's only through V2's, as its instructions
/// implement no other).
fn interpret_instruction_choice(
    world: &mut World,
    call: InstructionCall<'_>,
) -> Result<Submitted, TokenError> {
    let World {
        ledger,
        amulet,
        token,
        ..
    } = world;
    let cid = call.cid;
    let amulet_instruction = amulet.pending_instruction(ledger, cid);
    let is_amulet = amulet_instruction.is_some();
    let pending = amulet_instruction
        .or_else(|| token.pending_instruction(ledger, cid))
        .ok_or_else(|| LedgerError::ContractNotFound(cid.to_owned()))?;
    let (choice, actor) = match call.choice {
        "TransferInstruction_Accept" => (InstructionChoice::Accept, &pending.receiver),
        "TransferInstruction_Reject" => (InstructionChoice::Reject, &pending.receiver),
        _ => (InstructionChoice::Withdraw, &pending.sender),
    };
    // V2's choices are controlled by their `actors`, which the implementation checks.
    let via_v2 = packages::transfer_instruction_v2_interface().matches(call.interface);
    if via_v2 {
        check_actors(call.argument, call.act_as, actor)?;
    } else {
        authorize(call.act_as, actor)?;
    }
    if !is_amulet && token.v2_only && !via_v2 {
        return Err(TokenError::Interpretation(format!(
            "Contract {cid} (template {}) does not implement interface {}",
            crate::token::offer::instruction_template(),
            call.interface
        )));
    }
    let out = if is_amulet {
        let expire_lock = context_bool(call.argument, "expire-lock");
        amulet.act_through(ledger, cid, choice, call.command_id, expire_lock, via_v2)?
    } else {
        token.act_through(ledger, cid, choice, call.command_id, via_v2)?
    };
    Ok(Submitted {
        update_id: out.update_id,
        offset: out.offset,
        record_time: out.record_time,
    })
}

/// A create command: the sandbox interprets a receiver's `TransferPreapprovalProposal` only
/// (the treasury's preapproval, `guide-peers-ops.md` §1.4).
fn interpret_create(
    world: &mut World,
    commands: &JsCommands,
    create: &CreateCommand,
) -> Result<Submitted, TokenError> {
    let template = packages::transfer_preapproval_proposal_template();
    if !template.matches(&create.template_id) {
        return Err(TokenError::InvalidArgument(format!(
            "the sandbox interprets creates of {template} only, not of {}",
            create.template_id
        )));
    }
    let argument: Json = serde_json::from_str(create.create_arguments.get())
        .map_err(|e| TokenError::InvalidArgument(e.to_string()))?;
    let party = |key: &str| {
        argument[key].as_str().map(str::to_owned).ok_or_else(|| {
            TokenError::InvalidArgument(format!("createArguments.{key} must be a party"))
        })
    };
    let proposal = PreapprovalProposal {
        receiver: party("receiver")?,
        provider: party("provider")?,
        expected_dso: argument["expectedDso"].as_str().map(str::to_owned),
        command_id: commands.command_id.clone(),
    };
    // The receiver is the proposal's signatory.
    let act_as: BTreeSet<&str> = commands.act_as.iter().map(String::as_str).collect();
    authorize(&act_as, &proposal.receiver)?;
    let out = world
        .amulet
        .propose_preapproval(&mut world.ledger, &proposal)?;
    Ok(Submitted {
        update_id: out.update_id,
        offset: out.offset,
        record_time: out.record_time,
    })
}

/// A boolean of the submitted choice context (`extraArgs.context.values[key]`, an `AV_Bool`).
fn context_bool(argument: &Json, key: &str) -> Option<bool> {
    let value = &argument["extraArgs"]["context"]["values"][key];
    (value["tag"] == "AV_Bool")
        .then(|| value["value"].as_bool())
        .flatten()
}

/// V2's `actors`: every one must be among `actAs` (they are the choice's controllers), and the
/// party the instruction waits for must be one of them (the implementation's check).
fn check_actors(
    argument: &Json,
    act_as: &BTreeSet<&str>,
    expected: &str,
) -> Result<(), TokenError> {
    let Some(actors) = argument["actors"].as_array() else {
        return Err(TokenError::InvalidArgument(
            "choiceArgument: actors must be a list of parties".into(),
        ));
    };
    let actors = actors
        .iter()
        .map(|a| {
            a.as_str().ok_or_else(|| {
                TokenError::InvalidArgument("choiceArgument: actors[] must be a party".into())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for actor in &actors {
        authorize(act_as, actor)?;
    }
    if !actors.contains(&expected) {
        return Err(TokenError::Interpretation(format!(
            "actors {actors:?} do not include {expected}, who must authorize this choice"
        )));
    }
    Ok(())
}

/// The choice's controller must be among `actAs` (Canton: `DAML_AUTHORIZATION_ERROR`, which
/// the sandbox reports as an interpretation error).
fn authorize(act_as: &BTreeSet<&str>, controller: &str) -> Result<(), TokenError> {
    if act_as.contains(controller) {
        Ok(())
    } else {
        Err(TokenError::Interpretation(format!(
            "failed to authorize: the choice's controller {controller} is not among actAs"
        )))
    }
}

/// `TransferFactory_Transfer`'s argument, as the factory reads it: V1's `{expectedAdmin,
/// transfer, extraArgs}` with parties, or V2's `{transfer, actors, extraArgs}` with accounts
/// (`TransferInstructionV2`; the sandbox's tokens have basic accounts only: the owner's, no
/// provider, id "").
pub(crate) struct TransferArgument {
    /// V1's; V2's factory checks the instrument's admin instead.
    pub(crate) expected_admin: Option<String>,
    pub(crate) sender: String,
    pub(crate) receiver: String,
    pub(crate) amount: Amount,
    pub(crate) admin: String,
    pub(crate) instrument: String,
    pub(crate) requested_at: Timestamp,
    pub(crate) execute_before: Timestamp,
    pub(crate) inputs: Vec<String>,
    pub(crate) memo: Option<String>,
    /// The keys of `transfer.meta`.
    pub(crate) meta_keys: Vec<String>,
    /// V2's controllers; `None` for V1's argument.
    pub(crate) actors: Option<Vec<String>>,
}

fn bad(what: &str) -> TokenError {
    TokenError::InvalidArgument(format!("choiceArgument: {what}"))
}

fn text_of(v: &Json, what: &str) -> Result<String, TokenError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(&format!("{what} must be a string")))
}

/// A V1 party, or the owner of a V2 basic account.
fn holder(v: &Json, what: &str) -> Result<String, TokenError> {
    if !v.is_object() {
        return text_of(v, what);
    }
    if !v["provider"].is_null() || v["id"].as_str() != Some("") {
        return Err(bad(&format!(
            "{what}: the sandbox's tokens have basic accounts only (no provider, id \"\")"
        )));
    }
    text_of(&v["owner"], &format!("{what}.owner"))
}

impl TransferArgument {
    pub(crate) fn read(arg: &Json) -> Result<TransferArgument, TokenError> {
        let time = |v: &Json, what: &str| -> Result<Timestamp, TokenError> {
            text_of(v, what)?
                .parse()
                .map_err(|_| bad(&format!("{what} is not a timestamp")))
        };
        let transfer = &arg["transfer"];
        let amount = match &transfer["amount"] {
            Json::String(s) => s.parse().ok(),
            Json::Number(n) => n.to_string().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| bad("transfer.amount must be a Numeric 10"))?;
        let inputs = match &transfer["inputHoldingCids"] {
            Json::Array(items) => items
                .iter()
                .map(|i| text_of(i, "transfer.inputHoldingCids[]"))
                .collect::<Result<_, _>>()?,
            Json::Null => vec![],
            _ => return Err(bad("transfer.inputHoldingCids must be a list")),
        };
        let memo = transfer["meta"]["values"][meta::REASON]
            .as_str()
            .map(str::to_owned);
        let meta_keys = transfer["meta"]["values"]
            .as_object()
            .map(|values| values.keys().cloned().collect())
            .unwrap_or_default();
        let (expected_admin, actors) = match &arg["actors"] {
            Json::Null => (Some(text_of(&arg["expectedAdmin"], "expectedAdmin")?), None),
            Json::Array(items) => {
                let actors = items
                    .iter()
                    .map(|a| text_of(a, "actors[]"))
                    .collect::<Result<_, _>>()?;
                (None, Some(actors))
            }
            _ => return Err(bad("actors must be a list of parties")),
        };
        Ok(TransferArgument {
            expected_admin,
            sender: holder(&transfer["sender"], "transfer.sender")?,
            receiver: holder(&transfer["receiver"], "transfer.receiver")?,
            amount,
            admin: text_of(
                &transfer["instrumentId"]["admin"],
                "transfer.instrumentId.admin",
            )?,
            instrument: text_of(&transfer["instrumentId"]["id"], "transfer.instrumentId.id")?,
            requested_at: time(&transfer["requestedAt"], "transfer.requestedAt")?,
            execute_before: time(&transfer["executeBefore"], "transfer.executeBefore")?,
            inputs,
            memo,
            meta_keys,
            actors,
        })
    }

    /// `ensureNoAccountMeta` (splice `Conversions.daml`), which Amulet's factory runs through
    /// either interface: account information belongs in V2's accounts, never in the meta.
    fn check_no_account_meta(&self) -> Result<(), TokenError> {
        for key in [
            "sender.provider",
            "sender.id",
            "receiver.provider",
            "receiver.id",
        ] {
            let key = format!("cip-112/{key}");
            if self.meta_keys.contains(&key) {
                return Err(TokenError::Interpretation(format!(
                    "Unexpected account information in metadata of 'transfer' in metadata key '{key}'"
                )));
            }
        }
        Ok(())
    }

    /// The factory's checks on whom it serves (splice `TransferFactory` implementations): V1's
    /// `expectedAdmin`, and the instrument's admin (all V2 checks).
    fn check_admin(&self, admin: &str, instrument: &str) -> Result<(), TokenError> {
        if let Some(expected) = self.expected_admin.as_deref().filter(|e| *e != admin) {
            return Err(TokenError::Interpretation(format!(
                "expectedAdmin {expected} does not match the factory's admin {admin}"
            )));
        }
        if self.admin != admin || self.instrument != instrument {
            return Err(TokenError::Interpretation(format!(
                "instrument {}/{} is not {admin}/{instrument}",
                self.admin, self.instrument
            )));
        }
        Ok(())
    }

    /// Who may submit it: V1's controller is the sender; V2's are its `actors`, which must all
    /// submit and, for the sandbox's tokens (no delegations), include the sender.
    fn authorize(&self, act_as: &BTreeSet<&str>) -> Result<(), TokenError> {
        let Some(actors) = &self.actors else {
            return authorize(act_as, &self.sender);
        };
        for actor in actors {
            authorize(act_as, actor)?;
        }
        if !actors.contains(&self.sender) {
            return Err(TokenError::Interpretation(format!(
                "actors {actors:?} do not include the sender {}, who must authorize the transfer",
                self.sender
            )));
        }
        Ok(())
    }
}
