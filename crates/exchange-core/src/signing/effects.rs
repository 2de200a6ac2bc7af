//! Everything below the root, as it touches the treasury: which of its contracts are archived,
//! which are created for it, and how much leaves it. Default deny: a create or archive involving
//! the treasury that this action does not explain is refused.

use std::collections::{BTreeMap, BTreeSet};

use canton_interactive::proto::{DamlTransaction, v1};

use super::intent::{Intent, TransferIntent};
use super::mismatch::Mismatch;
use super::templates::{self, Holding, INSTRUCTIONS, OBSERVER_ONLY_ALLOWED};
use super::values::{field, numeric, party, record};
use super::verify::index_nodes;
use crate::Amount;

/// What the nodes create for the treasury (and for the receiver, to see the transfer happen).
#[derive(Default)]
struct Tally {
    /// Treasury holdings created here and not archived here: contract id -> (node id, holding).
    kept: BTreeMap<String, (String, Holding)>,
    locked: usize,
    /// The node that made the (one) locked holding, to name it if no instruction goes with it.
    locked_node: Option<String>,
    instructions: usize,
    delivered: bool,
}

pub(crate) fn check_effects(
    intent: &Intent,
    transaction: &DamlTransaction,
    inputs: &BTreeMap<&str, &v1::Create>,
) -> Result<(), Mismatch> {
    let nodes = index_nodes(transaction)?;
    let mut tally = Tally::default();
    let mut created = BTreeSet::new();
    for (node_id, node) in &nodes {
        match node {
            v1::NodeType::Rollback(_) => {
                return Err(Mismatch::Rollback {
                    node_id: (*node_id).to_owned(),
                });
            }
            v1::NodeType::Create(c) => {
                created.insert(c.contract_id.as_str());
                check_create(intent, node_id, c, &mut tally)?;
            }
            _ => {}
        }
    }
    for (node_id, node) in &nodes {
        let contract = match node {
            v1::NodeType::Exercise(e) => &e.contract_id,
            v1::NodeType::Fetch(f) => &f.contract_id,
            _ => continue,
        };
        if !created.contains(contract.as_str()) && !inputs.contains_key(contract.as_str()) {
            return Err(Mismatch::UnknownContract {
                node_id: (*node_id).to_owned(),
                contract_id: contract.clone(),
            });
        }
        if let v1::NodeType::Exercise(e) = node {
            check_archive(intent, node_id, e, &mut tally)?;
        }
    }
    check_unlocked_count(intent, &tally)?;
    match intent {
        Intent::Transfer(t) => check_transfer_totals(t, inputs, &tally),
        _ => Ok(()),
    }
}

/// Canton Coin leaves at most one unlocked holding with the treasury (the change; for a
/// self-transfer also the amount; for an accept the one received). Counted after the archives,
/// so a holding made and spent in the same transaction (an expired lock undone on the fly) is
/// not counted.
fn check_unlocked_count(intent: &Intent, tally: &Tally) -> Result<(), Mismatch> {
    let most = match intent {
        Intent::Transfer(t) if t.receiver == t.common.treasury => 2,
        _ => 1,
    };
    let mut unlocked = tally.kept.values().filter(|(_, h)| !h.locked);
    match unlocked.nth(most) {
        Some((node_id, _)) => Err(Mismatch::CreatesForTreasury {
            node_id: node_id.clone(),
            template: "an unlocked holding".to_owned(),
            why: format!("more than {most} unlocked holding(s) for the treasury"),
        }),
        None => Ok(()),
    }
}

fn involves_treasury(treasury: &str, signatories: &[String], stakeholders: &[String]) -> bool {
    signatories
        .iter()
        .chain(stakeholders)
        .any(|p| p == treasury)
}

/// A consuming exercise on a treasury contract must spend a declared input, or a holding made
/// earlier in this same transaction (which then no longer counts as kept).
fn check_archive(
    intent: &Intent,
    node_id: &str,
    e: &v1::Exercise,
    tally: &mut Tally,
) -> Result<(), Mismatch> {
    let treasury = intent.common().treasury.as_str();
    if !e.consuming || !involves_treasury(treasury, &e.signatories, &e.stakeholders) {
        return Ok(());
    }
    if tally.kept.remove(&e.contract_id).is_some()
        || intent.consumable().contains(e.contract_id.as_str())
    {
        return Ok(());
    }
    Err(Mismatch::ArchivesTreasuryContract {
        node_id: node_id.to_owned(),
        contract_id: e.contract_id.clone(),
        template: templates::display(e.template_id.as_ref()),
    })
}

fn check_create(
    intent: &Intent,
    node_id: &str,
    c: &v1::Create,
    tally: &mut Tally,
) -> Result<(), Mismatch> {
    let treasury = intent.common().treasury.as_str();
    let refuse = |why: String| Mismatch::CreatesForTreasury {
        node_id: node_id.to_owned(),
        template: templates::display(c.template_id.as_ref()),
        why,
    };
    let holding = templates::holding("create", c.template_id.as_ref(), c.argument.as_ref());
    if !involves_treasury(treasury, &c.signatories, &c.stakeholders) {
        // Not the treasury's: only noted, to see the receiver paid.
        if let (Intent::Transfer(t), Some(Ok(h))) = (intent, holding) {
            tally.delivered |= h.owner == t.receiver.as_str() && h.amount == t.amount && !h.locked;
        }
        return Ok(());
    }
    match (intent, holding) {
        (Intent::Preapproval(_), _) => {
            if templates::is(
                c.template_id.as_ref(),
                templates::TRANSFER_PREAPPROVAL_PROPOSAL,
            ) {
                Ok(()) // the root, alone in the transaction (checked with the root)
            } else {
                Err(refuse("a preapproval creates only its proposal".to_owned()))
            }
        }
        (_, Some(h)) => {
            keep_holding(intent, node_id, &c.contract_id, h?, tally).map_err(refuse)?;
            if tally.locked == 1 && tally.locked_node.is_none() {
                tally.locked_node = Some(node_id.to_owned());
            }
            Ok(())
        }
        (Intent::Transfer(t), None)
            if INSTRUCTIONS
                .iter()
                .any(|n| templates::is(c.template_id.as_ref(), *n)) =>
        {
            tally.instructions += 1;
            check_instruction(t, c, tally.instructions).map_err(refuse)
        }
        (_, None)
            if OBSERVER_ONLY_ALLOWED
                .iter()
                .any(|n| templates::is(c.template_id.as_ref(), *n))
                && !c.signatories.iter().any(|p| p == treasury) =>
        {
            Ok(())
        }
        _ => Err(refuse(
            "not a holding, change or instruction this action produces".to_owned(),
        )),
    }
}

/// A treasury holding created by a transfer (change, or the one locked for an offer) or by an
/// accept (what is received): the treasury's, of the intent's instrument.
fn keep_holding(
    intent: &Intent,
    node_id: &str,
    contract_id: &str,
    h: Holding,
    tally: &mut Tally,
) -> Result<(), String> {
    let treasury = intent.common().treasury.as_str();
    let instrument = match intent {
        Intent::Transfer(t) => &t.instrument,
        Intent::AcceptInstruction(a) => &a.instrument,
        Intent::Preapproval(_) => return Err("a preapproval creates no holding".to_owned()),
    };
    if h.owner != treasury {
        return Err(format!("a holding owned by {}", h.owner));
    }
    if !h.is_of(instrument) {
        return Err(format!("a holding of {}, not {instrument}", h.describe()));
    }
    if h.locked {
        if !matches!(intent, Intent::Transfer(_)) || tally.locked > 0 {
            return Err("a locked holding this action does not make".to_owned());
        }
        tally.locked += 1;
    }
    tally
        .kept
        .insert(contract_id.to_owned(), (node_id.to_owned(), h));
    Ok(())
}

/// An offer's instruction: one, to the intent's receiver, for the intent's amount.
fn check_instruction(t: &TransferIntent, c: &v1::Create, count: usize) -> Result<(), String> {
    if count > 1 {
        return Err("a second transfer instruction".to_owned());
    }
    let read = || -> Result<(String, Amount), Mismatch> {
        let arg = record("instruction", c.argument.as_ref())?;
        let transfer = record(
            "instruction.transfer",
            Some(field("instruction", arg, "transfer")?),
        )?;
        let receiver = party(
            "instruction.transfer.receiver",
            field("instruction.transfer", transfer, "receiver")?,
        )?;
        let amount = numeric(
            "instruction.transfer.amount",
            field("instruction.transfer", transfer, "amount")?,
        )?;
        Ok((receiver.to_owned(), amount))
    };
    match read() {
        Ok((receiver, amount)) if receiver == t.receiver.as_str() && amount == t.amount => Ok(()),
        Ok((receiver, amount)) => Err(format!(
            "an instruction of {amount} to {receiver}, not {} to {}",
            t.amount, t.receiver
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// What the treasury spends (its inputs minus the unlocked holdings it keeps) stays within the
/// amount (nothing for a self-transfer) plus the fee allowance, and the receiver is paid or
/// offered the amount.
fn check_transfer_totals(
    t: &TransferIntent,
    inputs: &BTreeMap<&str, &v1::Create>,
    tally: &Tally,
) -> Result<(), Mismatch> {
    let mut spent = inputs_total(t, inputs)?;
    for (_, kept) in tally.kept.values().filter(|(_, h)| !h.locked) {
        spent = spent
            .checked_sub(kept.amount)
            .map_err(|_| Mismatch::field("spend", "a representable amount", "an overflow"))?;
    }
    // An offer locks exactly one holding for exactly one instruction; a lock alone only
    // immobilises the treasury's coin.
    if let (Some(node_id), 0) = (&tally.locked_node, tally.instructions) {
        return Err(Mismatch::CreatesForTreasury {
            node_id: node_id.clone(),
            template: "a locked holding".to_owned(),
            why: "a locked holding without a transfer instruction".to_owned(),
        });
    }
    let self_transfer = t.receiver == t.common.treasury;
    let limit = if self_transfer {
        t.max_fee
    } else {
        add(t.amount, t.max_fee)?
    };
    if spent > limit {
        return Err(Mismatch::Overspend {
            limit,
            found: spent,
        });
    }
    let offered = tally.instructions == 1 && tally.locked == 1;
    if !(self_transfer || tally.delivered || offered) {
        return Err(Mismatch::field(
            "delivery",
            format!(
                "a holding of {} for {} or an instruction to them",
                t.amount, t.receiver
            ),
            "neither",
        ));
    }
    Ok(())
}

/// What the selected inputs hold: each must be a holding of the treasury in the instrument.
fn inputs_total(
    t: &TransferIntent,
    inputs: &BTreeMap<&str, &v1::Create>,
) -> Result<Amount, Mismatch> {
    let treasury = t.common.treasury.as_str();
    let mut total = Amount::from_units(0).expect("zero");
    for cid in &t.inputs {
        let create = inputs
            .get(cid.as_str())
            .ok_or_else(|| Mismatch::MissingInputContract {
                contract_id: cid.as_str().to_owned(),
            })?;
        let path = format!("input {cid}");
        let template = create.template_id.as_ref();
        let h =
            templates::holding(&path, template, create.argument.as_ref()).ok_or_else(|| {
                Mismatch::field(
                    &path,
                    "a known holding template",
                    templates::display(template),
                )
            })??;
        if h.owner != treasury || !h.is_of(&t.instrument) {
            return Err(Mismatch::field(
                &path,
                format!("a {} holding of {treasury}", t.instrument),
                format!("{} of {}", h.describe(), h.owner),
            ));
        }
        total = add(total, h.amount)?;
    }
    Ok(total)
}

fn add(a: Amount, b: Amount) -> Result<Amount, Mismatch> {
    a.checked_add(b)
        .map_err(|_| Mismatch::field("spend", "a representable amount", "an overflow"))
}
