//! The reader's view of a committed transaction written straight to JSON, for the list endpoint
//! `POST /v2/updates`, whose pages run to a megabyte: building the wire structs of
//! [`crate::model::projection`] first and serializing them after cost an allocation per string,
//! a copy of every rendered Daml value and a parse of it (`RawValue` checks its input).
//!
//! Which events a reader sees, and with which witnesses and interface views, is decided by the
//! same [`ResolvedFilter`] calls as [`project_with`](crate::model::projection::project_with);
//! the output is byte for byte what serializing that projection as a `JsGetUpdatesResponse`
//! gives (field order, `null`s, escapes), which `tests/render.rs` checks on every transaction
//! of the scenarios under several formats.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use canton_ledger::filters::{TransactionFormat, TransactionShape};

use crate::daml::Rendering;
use crate::model::compact::{Sym, SymbolTable, write_json, write_json_str, write_sym};
use crate::model::filter::ResolvedFilter;
use crate::model::ledger::{CommittedTx, StoredCreate, TxNode, TxNodeKind};
use crate::model::projection::{acs_delta_readers, event_witnesses, submitter_reads};
use crate::model::template::Identifier;

/// Appends `{"update":{"Transaction":{"value":…}}}` for the reader's view of `tx` and returns
/// true, or appends nothing and returns false if the reader sees no event of it.
pub fn write_transaction_update(
    out: &mut String,
    tx: &CommittedTx,
    format: &TransactionFormat,
    synchronizer_id: &str,
    filter: &ResolvedFilter,
    table: &SymbolTable,
) -> bool {
    let start = out.len();
    let acs_delta = format.transaction_shape == TransactionShape::AcsDelta;
    let effective_at = tx.effective_at.to_string();
    out.push_str(r#"{"update":{"Transaction":{"value":{"updateId":"#);
    write_json_str(&tx.update_id, out);
    out.push_str(r#","commandId":"#);
    let command_id = if submitter_reads(tx, filter, table) {
        &tx.command_id
    } else {
        ""
    };
    write_json_str(command_id, out);
    out.push_str(r#","workflowId":"","effectiveAt":"#);
    write_json_str(&effective_at, out);
    out.push_str(r#","events":["#);
    let mut any = false;
    for node in tx.nodes.iter() {
        let mark = out.len();
        if any {
            out.push(',');
        }
        let wrote = if acs_delta {
            acs_delta_event(out, tx, node, filter, table, &effective_at)
        } else {
            ledger_effects_event(out, tx, node, filter, table, &effective_at)
        };
        if wrote {
            any = true;
        } else {
            out.truncate(mark);
        }
    }
    if !any {
        out.truncate(start);
        return false;
    }
    let _ = write!(out, r#"],"offset":{},"synchronizerId":"#, tx.offset);
    write_json_str(synchronizer_id, out);
    out.push_str(r#","traceContext":{"traceparent":"#);
    write_json_str(&tx.traceparent, out);
    out.push_str(r#","tracestate":null},"recordTime":"#);
    write_json_str(&tx.record_time.to_string(), out);
    out.push_str(r#","externalTransactionHash":"#);
    match &tx.external_transaction_hash {
        Some(hash) => write_json_str(hash, out),
        None => out.push_str("null"),
    }
    out.push_str("}}}}");
    true
}

fn ledger_effects_event(
    out: &mut String,
    tx: &CommittedTx,
    node: &TxNode,
    filter: &ResolvedFilter,
    table: &SymbolTable,
    effective_at: &str,
) -> bool {
    let Some((witnesses, stakeholder_reader)) = event_witnesses(node, filter, table) else {
        return false;
    };
    match &node.kind {
        TxNodeKind::Create(create) => {
            let acs_delta = !node.transient && stakeholder_reader;
            created_event(
                out,
                tx.offset,
                node.node_id,
                create,
                effective_at,
                &witnesses,
                filter,
                acs_delta,
                table,
            );
        }
        TxNodeKind::Exercise {
            contract_id,
            interface,
            choice,
            argument,
            acting_parties,
            consuming,
            result,
        } => {
            let _ = write!(
                out,
                r#"{{"ExercisedEvent":{{"offset":{},"nodeId":{},"contractId":"#,
                tx.offset, node.node_id
            );
            write_sym(table, *contract_id, out);
            out.push_str(r#","templateId":"#);
            identifier(out, &node.template);
            out.push_str(r#","interfaceId":"#);
            match interface {
                Some(i) => identifier(out, i),
                None => out.push_str("null"),
            }
            out.push_str(r#","choice":"#);
            write_sym(table, *choice, out);
            out.push_str(r#","choiceArgument":"#);
            write_json(argument, table, Rendering::Argument, out);
            out.push_str(r#","actingParties":"#);
            syms(out, table, table.party_syms(*acting_parties));
            let _ = write!(out, r#","consuming":{consuming},"witnessParties":"#);
            strings(out, witnesses.iter().map(String::as_str));
            let _ = write!(
                out,
                r#","lastDescendantNodeId":{},"exerciseResult":"#,
                node.last_descendant
            );
            write_json(result, table, Rendering::Argument, out);
            out.push_str(r#","packageName":"#);
            write_json_str(&node.template.package_name, out);
            out.push_str(r#","implementedInterfaces":"#);
            if *consuming {
                identifiers(
                    out,
                    filter.rendered_interfaces(&witnesses, &node.interfaces),
                );
            } else {
                out.push_str("[]");
            }
            let acs_delta = *consuming && !node.transient && stakeholder_reader;
            let _ = write!(out, r#","acsDelta":{acs_delta}}}}}"#);
        }
    }
    true
}

fn acs_delta_event(
    out: &mut String,
    tx: &CommittedTx,
    node: &TxNode,
    filter: &ResolvedFilter,
    table: &SymbolTable,
    effective_at: &str,
) -> bool {
    let Some(readers) = acs_delta_readers(node, filter, table) else {
        return false;
    };
    match &node.kind {
        TxNodeKind::Create(create) => created_event(
            out,
            tx.offset,
            node.node_id,
            create,
            effective_at,
            &readers,
            filter,
            true,
            table,
        ),
        TxNodeKind::Exercise {
            contract_id,
            consuming: true,
            ..
        } => {
            let _ = write!(
                out,
                r#"{{"ArchivedEvent":{{"offset":{},"nodeId":{},"contractId":"#,
                tx.offset, node.node_id
            );
            write_sym(table, *contract_id, out);
            out.push_str(r#","templateId":"#);
            identifier(out, &node.template);
            out.push_str(r#","witnessParties":"#);
            strings(out, readers.iter().map(String::as_str));
            out.push_str(r#","packageName":"#);
            write_json_str(&node.template.package_name, out);
            out.push_str(r#","implementedInterfaces":"#);
            identifiers(out, filter.rendered_interfaces(&readers, &node.interfaces));
            out.push_str("}}");
        }
        TxNodeKind::Exercise { .. } => return false,
    }
    true
}

#[allow(clippy::too_many_arguments)]
fn created_event(
    out: &mut String,
    offset: i64,
    node_id: i32,
    create: &StoredCreate,
    created_at: &str,
    witnesses: &BTreeSet<String>,
    filter: &ResolvedFilter,
    acs_delta: bool,
    table: &SymbolTable,
) {
    let _ = write!(
        out,
        r#"{{"CreatedEvent":{{"offset":{offset},"nodeId":{node_id},"contractId":"#
    );
    write_sym(table, create.contract_id, out);
    out.push_str(r#","templateId":"#);
    identifier(out, &create.template);
    out.push_str(r#","contractKey":null,"createArgument":"#);
    write_json(&create.argument, table, Rendering::Argument, out);
    // Blobs are not modelled: the sandbox has no Daml engine to accept them back.
    out.push_str(r#","createdEventBlob":"","interfaceViews":["#);
    let views = filter.rendered_interfaces(witnesses, &create.interface_ids);
    let mut first = true;
    for iface in views {
        let Some(i) = create.interface_ids.iter().position(|i| i == iface) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(r#"{"interfaceId":"#);
        identifier(out, iface);
        out.push_str(r#","viewStatus":{"code":0,"message":"","details":[]},"viewValue":"#);
        write_json(&create.views[i], table, Rendering::View, out);
        out.push('}');
    }
    out.push_str(r#"],"witnessParties":"#);
    strings(out, witnesses.iter().map(String::as_str));
    out.push_str(r#","signatories":"#);
    syms(out, table, table.party_syms(create.signatories));
    out.push_str(r#","observers":"#);
    syms(out, table, table.party_syms(create.observers));
    out.push_str(r#","createdAt":"#);
    write_json_str(created_at, out);
    out.push_str(r#","packageName":"#);
    write_json_str(&create.template.package_name, out);
    out.push_str(r#","representativePackageId":"#);
    write_json_str(&create.template.package_id, out);
    let _ = write!(out, r#","acsDelta":{acs_delta}}}}}"#);
}

fn syms(out: &mut String, table: &SymbolTable, items: &[Sym]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_sym(table, *s, out);
    }
    out.push(']');
}

fn strings<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    out.push('[');
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(s, out);
    }
    out.push(']');
}

/// The package-id form, as [`Identifier::wire`] prints it (built once per identifier).
fn identifier(out: &mut String, id: &Identifier) {
    out.push_str(&id.wire_json);
}

fn identifiers(out: &mut String, ids: Vec<&Identifier>) {
    out.push('[');
    for (i, id) in ids.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        identifier(out, id);
    }
    out.push(']');
}
