//! Which contracts a submission may use (`ledger-api.md` §4.1, token standard §5): Canton's
//! engine looks contracts up only among those a submitting party (`actAs` or `readAs`) is a
//! stakeholder of, plus the `disclosedContracts` passed with the command; anything else is
//! `CONTRACT_NOT_FOUND`, as if it did not exist. The token standard relies on this: the
//! registry's factory, its rules and rounds, a receiver's preapproval, an offer's lock are not
//! the wallet's contracts, so the registry hands them out to be disclosed.
//!
//! The sandbox has no engine, so it names, per interpreted choice, the contracts the real Daml
//! code fetches or exercises ([`referenced`]), and [`check`] requires each to be visible or
//! disclosed. A disclosed contract must carry the `createdEventBlob` the registry handed out
//! for it (the sandbox's stand-in, [`created_event_blob`]); a node refuses a blob it cannot
//! decode. Pure: no IO.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::commands::JsCommands;
use serde_json::Value as Json;

use crate::daml::Value;
use crate::model::LedgerError;
use crate::token::TokenError;
use crate::token::amulet::field;
use crate::world::World;

/// The stand-in `createdEventBlob` the registries hand out for `cid` (the sandbox does not
/// serialize contracts as Canton does).
pub fn created_event_blob(cid: &str) -> String {
    BASE64.encode(format!("canton-sandbox created event {cid}"))
}

/// The contracts the Daml implementation of `choice` on `cid` with `argument` reads besides
/// the holdings the submitter owns: the factory and the reference data of a transfer, the
/// instruction and its lock for an instruction choice. Unknown choices and contracts read
/// nothing (they fail on their own).
pub fn referenced(world: &World, cid: &str, choice: &str, argument: &Json) -> Vec<String> {
    let amulet = &world.amulet;
    let ledger = &world.ledger;
    match choice {
        "TransferFactory_Transfer" if cid == amulet.external_party_rules => {
            let mut out = vec![
                cid.to_owned(),
                amulet.amulet_rules.clone(),
                amulet.open_round.clone(),
            ];
            let transfer = &argument["transfer"];
            let (sender, receiver) = (transfer["sender"].as_str(), transfer["receiver"].as_str());
            if let (Some(sender), Some(receiver)) = (sender, receiver)
                && sender != receiver
            {
                out.extend(amulet.preapproval_of(ledger, receiver));
            }
            out
        }
        "TransferFactory_Transfer" if cid == world.token.factory => vec![cid.to_owned()],
        "TransferInstruction_Accept"
        | "TransferInstruction_Reject"
        | "TransferInstruction_Withdraw" => {
            if amulet.pending_instruction(ledger, cid).is_some() {
                let expire_lock = match &argument["extraArgs"]["context"]["values"]["expire-lock"] {
                    v if v["tag"] == "AV_Bool" => v["value"].as_bool(),
                    _ => None,
                };
                let locked = amulet.instruction_locked_amulet(ledger, cid);
                let live = amulet.instruction_lock_is_live(ledger, cid);
                let mut out = vec![cid.to_owned()];
                // splice executeTwoStepTransfer reads the rules, the round and the lock;
                // abortTwoStepTransfer the round and the lock, or (expire-lock false) nothing.
                if choice == "TransferInstruction_Accept" {
                    out.extend([amulet.amulet_rules.clone(), amulet.open_round.clone()]);
                    out.extend(locked);
                } else if expire_lock.unwrap_or(live) {
                    out.push(amulet.open_round.clone());
                    out.extend(locked);
                }
                out
            } else if world.token.pending_instruction(ledger, cid).is_some() {
                let mut out = vec![cid.to_owned()];
                out.extend(token_locked_holding(world, cid));
                out
            } else {
                vec![]
            }
        }
        _ => vec![],
    }
}

/// The locked holding behind an SBX instruction.
pub fn token_locked_holding(world: &World, instruction_cid: &str) -> Option<String> {
    let c = world.ledger.contract(instruction_cid)?;
    match field(&c.create.argument, "lockedHolding") {
        Some(Value::ContractId(cid)) => Some(cid.clone()),
        _ => None,
    }
}

/// Every contract in `needed` must be visible to a submitter or disclosed with the blob the
/// registry handed out.
pub fn check(world: &World, commands: &JsCommands, needed: &[String]) -> Result<(), TokenError> {
    let readers: BTreeSet<&str> = commands
        .act_as
        .iter()
        .chain(&commands.read_as)
        .map(String::as_str)
        .collect();
    for cid in needed {
        let Some(contract) = world.ledger.contract(cid) else {
            return Err(LedgerError::ContractNotFound(cid.clone()).into());
        };
        let create = &contract.create;
        let visible = create
            .signatories
            .iter()
            .chain(&create.observers)
            .any(|p| readers.contains(p.as_str()));
        if visible {
            continue;
        }
        let Some(disclosed) = commands
            .disclosed_contracts
            .iter()
            .find(|d| &d.contract_id == cid)
        else {
            // The engine cannot see it: as far as the submitter knows it does not exist.
            return Err(LedgerError::ContractNotFound(cid.clone()).into());
        };
        if disclosed.created_event_blob != created_event_blob(cid) {
            return Err(TokenError::InvalidArgument(format!(
                "disclosed contract {cid}: the createdEventBlob is not the contract's"
            )));
        }
        if let Some(template) = &disclosed.template_id
            && !create.template.matches(template)
        {
            return Err(TokenError::InvalidArgument(format!(
                "disclosed contract {cid}: templateId {template} is not the contract's ({})",
                create.template.wire()
            )));
        }
    }
    Ok(())
}
