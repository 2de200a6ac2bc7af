//! The root node: the one choice (or create) the exchange commanded, with its arguments.

use std::collections::BTreeMap;

use canton_interactive::proto::{Record, Value, v1};

use super::intent::{
    AcceptIntent, Intent, PreapprovalIntent, REASON_KEY, Standard, TransferIntent,
};
use super::mismatch::Mismatch;
use super::templates::{self, TRANSFER_PREAPPROVAL_PROPOSAL};
use super::values::{
    contract_id, field, list, numeric, optional, party, record, text, text_pairs, timestamp,
};
use crate::interfaces::{
    TRANSFER_FACTORY_V1, TRANSFER_FACTORY_V2, TRANSFER_INSTRUCTION_V1, TRANSFER_INSTRUCTION_V2,
};

pub(crate) fn check_root(
    intent: &Intent,
    root: &v1::NodeType,
    node_count: usize,
) -> Result<(), Mismatch> {
    match intent {
        Intent::Transfer(t) => check_transfer(t, exercise(root, "TransferFactory_Transfer")?),
        Intent::AcceptInstruction(a) => {
            check_accept(a, exercise(root, "TransferInstruction_Accept")?)
        }
        Intent::Preapproval(p) => check_preapproval(p, root, node_count),
    }
}

fn exercise<'a>(root: &'a v1::NodeType, choice: &str) -> Result<&'a v1::Exercise, Mismatch> {
    match root {
        v1::NodeType::Exercise(e) => Ok(e),
        other => Err(Mismatch::field(
            "root",
            format!("an exercise of {choice}"),
            kind(other),
        )),
    }
}

pub(crate) fn kind(node: &v1::NodeType) -> &'static str {
    match node {
        v1::NodeType::Create(_) => "a create",
        v1::NodeType::Fetch(_) => "a fetch",
        v1::NodeType::Exercise(_) => "an exercise",
        v1::NodeType::Rollback(_) => "a rollback",
    }
}

/// The parts every exercising root shares: contract, choice, interface, actors.
fn check_exercise(
    e: &v1::Exercise,
    contract: &str,
    choice: &str,
    interface: templates::Name,
    treasury: &str,
) -> Result<(), Mismatch> {
    if e.contract_id != contract {
        return Err(Mismatch::field(
            "root.contract_id",
            contract,
            &e.contract_id,
        ));
    }
    if e.choice_id != choice {
        return Err(Mismatch::field("root.choice_id", choice, &e.choice_id));
    }
    // Exercised through the standard's interface when the node says so; a template choice of
    // the same name on the registry's own contract is the registry's implementation anyway.
    if e.interface_id.is_some() && !templates::is(e.interface_id.as_ref(), interface) {
        return Err(Mismatch::field(
            "root.interface_id",
            format!("{}:{}", interface.0, interface.1),
            templates::display(e.interface_id.as_ref()),
        ));
    }
    if e.acting_parties != [treasury] {
        return Err(Mismatch::field(
            "root.acting_parties",
            format!("[{treasury}]"),
            format!("{:?}", e.acting_parties),
        ));
    }
    Ok(())
}

fn check_transfer(t: &TransferIntent, e: &v1::Exercise) -> Result<(), Mismatch> {
    let treasury = t.common.treasury.as_str();
    let interface = match t.through {
        Standard::V1 => TRANSFER_FACTORY_V1.name(),
        Standard::V2 => TRANSFER_FACTORY_V2.name(),
    };
    check_exercise(
        e,
        t.factory.as_str(),
        "TransferFactory_Transfer",
        interface,
        treasury,
    )?;
    let arg = record("choice", e.chosen_value.as_ref())?;
    match t.through {
        Standard::V1 => same_party(
            "choice.expectedAdmin",
            t.expected_admin.as_str(),
            field("choice", arg, "expectedAdmin")?,
        )?,
        // V2's factory checks the instrument's admin itself (no `expectedAdmin`) and acts for
        // its `actors`: the node must say it is V2's choice, and the treasury alone acts.
        Standard::V2 => {
            require_interface(e, interface)?;
            check_actors(arg, treasury)?;
        }
    }
    let transfer = record("transfer", Some(field("choice", arg, "transfer")?))?;
    check_transfer_record(t, transfer)?;
    check_empty_extra_meta(arg)
}

/// The root names `interface` (a choice whose controllers are an argument must be the
/// standard's: a template choice of the same name could do anything with them).
fn require_interface(e: &v1::Exercise, interface: templates::Name) -> Result<(), Mismatch> {
    if templates::is(e.interface_id.as_ref(), interface) {
        return Ok(());
    }
    Err(Mismatch::field(
        "root.interface_id",
        format!("{}:{}", interface.0, interface.1),
        templates::display(e.interface_id.as_ref()),
    ))
}

/// V2's `actors`: exactly `[treasury]`.
fn check_actors(arg: &Record, treasury: &str) -> Result<(), Mismatch> {
    let actors = list("choice.actors", field("choice", arg, "actors")?)?;
    let found = actors
        .iter()
        .map(|p| party("choice.actors", p))
        .collect::<Result<Vec<_>, _>>()?;
    if found != [treasury] {
        return Err(Mismatch::field(
            "choice.actors",
            format!("[{treasury}]"),
            format!("{found:?}"),
        ));
    }
    Ok(())
}

/// A transfer's sender or receiver: V1's party, or V2's `Account` of that party, which the
/// exchange always means as the party's basic account (`owner = Some party`, no provider,
/// `id = ""`): a provider or another account id would move the holdings somewhere else.
fn same_holder(
    path: &str,
    through: Standard,
    expected: &str,
    value: &Value,
) -> Result<(), Mismatch> {
    if through == Standard::V1 {
        return same_party(path, expected, value);
    }
    let account = record(path, Some(value))?;
    let owner_path = format!("{path}.owner");
    let owner = optional(&owner_path, field(path, account, "owner")?)?
        .ok_or_else(|| Mismatch::field(&owner_path, expected, "None"))?;
    same_party(&owner_path, expected, owner)?;
    let provider_path = format!("{path}.provider");
    if let Some(provider) = optional(&provider_path, field(path, account, "provider")?)? {
        return Err(Mismatch::field(
            &provider_path,
            "None",
            party(&provider_path, provider)?,
        ));
    }
    let id_path = format!("{path}.id");
    let id = text(&id_path, field(path, account, "id")?)?;
    if !id.is_empty() {
        return Err(Mismatch::field(&id_path, "\"\"", id));
    }
    Ok(())
}

fn check_transfer_record(t: &TransferIntent, transfer: &Record) -> Result<(), Mismatch> {
    let get = |label: &str| field("transfer", transfer, label);
    same_holder(
        "transfer.sender",
        t.through,
        t.common.treasury.as_str(),
        get("sender")?,
    )?;
    same_holder(
        "transfer.receiver",
        t.through,
        t.receiver.as_str(),
        get("receiver")?,
    )?;
    let amount = numeric("transfer.amount", get("amount")?)?;
    if amount != t.amount {
        return Err(Mismatch::field("transfer.amount", t.amount, amount));
    }
    let instrument = record("transfer.instrumentId", Some(get("instrumentId")?))?;
    same_party(
        "transfer.instrumentId.admin",
        t.instrument.admin.as_str(),
        field("transfer.instrumentId", instrument, "admin")?,
    )?;
    let id = text(
        "transfer.instrumentId.id",
        field("transfer.instrumentId", instrument, "id")?,
    )?;
    if id != t.instrument.id {
        return Err(Mismatch::field(
            "transfer.instrumentId.id",
            &t.instrument.id,
            id,
        ));
    }
    same_time("transfer.requestedAt", t.requested_at, get("requestedAt")?)?;
    same_time(
        "transfer.executeBefore",
        t.execute_before,
        get("executeBefore")?,
    )?;
    check_input_cids(t, get("inputHoldingCids")?)?;
    let meta = record("transfer.meta", Some(get("meta")?))?;
    let values = text_pairs(
        "transfer.meta.values",
        field("transfer.meta", meta, "values")?,
    )?;
    let expected = BTreeMap::from([(REASON_KEY.to_owned(), t.memo.clone())]);
    if values != expected {
        return Err(Mismatch::field(
            "transfer.meta.values",
            format!("{expected:?}"),
            format!("{values:?}"),
        ));
    }
    Ok(())
}

/// The inputs as a set (the order is the registry's business), each at most once.
fn check_input_cids(t: &TransferIntent, value: &Value) -> Result<(), Mismatch> {
    let mut found = Vec::new();
    for (i, cid) in list("transfer.inputHoldingCids", value)?.iter().enumerate() {
        found.push(contract_id(&format!("transfer.inputHoldingCids[{i}]"), cid)?.to_owned());
    }
    let expected: Vec<String> = t.inputs.iter().map(|c| c.as_str().to_owned()).collect();
    let mut sorted = found.clone();
    sorted.sort();
    if sorted != expected {
        return Err(Mismatch::field(
            "transfer.inputHoldingCids",
            format!("{expected:?}"),
            format!("{found:?}"),
        ));
    }
    Ok(())
}

/// `extraArgs.meta` is the caller's and the exchange writes nothing there.
fn check_empty_extra_meta(arg: &Record) -> Result<(), Mismatch> {
    let extra = record("extraArgs", Some(field("choice", arg, "extraArgs")?))?;
    let meta = record("extraArgs.meta", Some(field("extraArgs", extra, "meta")?))?;
    let values = text_pairs(
        "extraArgs.meta.values",
        field("extraArgs.meta", meta, "values")?,
    )?;
    if !values.is_empty() {
        return Err(Mismatch::field(
            "extraArgs.meta.values",
            "{}",
            format!("{values:?}"),
        ));
    }
    Ok(())
}

fn check_accept(a: &AcceptIntent, e: &v1::Exercise) -> Result<(), Mismatch> {
    let treasury = a.common.treasury.as_str();
    let interface = match a.through {
        Standard::V1 => TRANSFER_INSTRUCTION_V1.name(),
        Standard::V2 => TRANSFER_INSTRUCTION_V2.name(),
    };
    check_exercise(
        e,
        a.instruction.as_str(),
        "TransferInstruction_Accept",
        interface,
        treasury,
    )?;
    let arg = record("choice", e.chosen_value.as_ref())?;
    if a.through == Standard::V2 {
        // V2's choice takes its controllers as an argument: the node must say it is V2's, and
        // the treasury alone acts.
        require_interface(e, interface)?;
        check_actors(arg, treasury)?;
    }
    check_empty_extra_meta(arg)
}

/// A lone create of `TransferPreapprovalProposal {receiver = treasury, provider, expectedDso}`.
fn check_preapproval(
    p: &PreapprovalIntent,
    root: &v1::NodeType,
    node_count: usize,
) -> Result<(), Mismatch> {
    let v1::NodeType::Create(c) = root else {
        return Err(Mismatch::field(
            "root",
            "a create of TransferPreapprovalProposal",
            kind(root),
        ));
    };
    if !templates::is(c.template_id.as_ref(), TRANSFER_PREAPPROVAL_PROPOSAL) {
        return Err(Mismatch::field(
            "root.template_id",
            "Splice.Wallet.TransferPreapproval:TransferPreapprovalProposal",
            templates::display(c.template_id.as_ref()),
        ));
    }
    if node_count != 1 {
        return Err(Mismatch::field("transaction.nodes", 1, node_count));
    }
    let treasury = p.common.treasury.as_str();
    if c.signatories != [treasury] {
        return Err(Mismatch::field(
            "root.signatories",
            format!("[{treasury}]"),
            format!("{:?}", c.signatories),
        ));
    }
    let arg = record("proposal", c.argument.as_ref())?;
    same_party(
        "proposal.receiver",
        treasury,
        field("proposal", arg, "receiver")?,
    )?;
    same_party(
        "proposal.provider",
        p.provider.as_str(),
        field("proposal", arg, "provider")?,
    )?;
    let dso = optional(
        "proposal.expectedDso",
        field("proposal", arg, "expectedDso")?,
    )?
    .ok_or_else(|| Mismatch::field("proposal.expectedDso", p.dso.as_str(), "None"))?;
    same_party("proposal.expectedDso", p.dso.as_str(), dso)
}

fn same_party(path: &str, expected: &str, value: &Value) -> Result<(), Mismatch> {
    let found = party(path, value)?;
    if found != expected {
        return Err(Mismatch::field(path, expected, found));
    }
    Ok(())
}

fn same_time(path: &str, expected: crate::Timestamp, value: &Value) -> Result<(), Mismatch> {
    let found = timestamp(path, value)?;
    if found != expected {
        return Err(Mismatch::field(path, expected, found));
    }
    Ok(())
}
