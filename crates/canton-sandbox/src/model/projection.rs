//! What a reader sees of a committed transaction (`ledger-api.md` §2.5, §2.6).
//!
//! `LEDGER_EFFECTS`: every node one of the requesting parties witnesses (informee of the node or
//! of an ancestor) and whose template its filter matches, with node ids of the full tree (so
//! gaps) and `lastDescendantNodeId` in full-tree numbering; archives are consuming
//! `ExercisedEvent`s. `ACS_DELTA`: only non-transient creates and archives of contracts a
//! requesting party is a stakeholder of, archives as `ArchivedEvent`s. Fetch nodes are never
//! shown. Output is the 3.4 server's: every field written, `null` for absent optionals.

use std::collections::BTreeSet;

use canton_ledger::contract_events::{JsArchived, JsCreated, JsGetEventsByContractIdResponse};
use canton_ledger::events::{ArchivedEvent, CreatedEvent, ExercisedEvent, InterfaceView};
use canton_ledger::filters::{EventFormat, TransactionFormat, TransactionShape};
use canton_ledger::state::{JsActiveContract, JsContractEntry, JsGetActiveContractsResponse};
use canton_ledger::{Event, JsTransaction, TraceContext, ViewStatus};

use crate::daml::Rendering;
use crate::model::compact::{SymbolTable, to_raw};
use crate::model::filter::ResolvedFilter;
use crate::model::ledger::{CommittedTx, StoredContract, StoredCreate, TxNode, TxNodeKind};
use crate::model::template::Identifier;

/// The reader's view of `tx`, or `None` if it sees no event of it (a stream skips the
/// transaction; a point lookup answers `UPDATE_NOT_FOUND`). `table` is the ledger's
/// [`SymbolTable`] (`Ledger::symbols`).
pub fn project_transaction(
    tx: &CommittedTx,
    format: &TransactionFormat,
    synchronizer_id: &str,
    hosted: &[String],
    table: &SymbolTable,
) -> Option<JsTransaction> {
    let default_format = EventFormat::default();
    let event_format = format.event_format.as_ref().unwrap_or(&default_format);
    let filter = ResolvedFilter::new(event_format, hosted.iter().map(String::as_str));
    project_with(tx, format, synchronizer_id, &filter, table)
}

/// [`project_transaction`] with the filter resolved once (streams project many transactions
/// with one filter).
pub fn project_with(
    tx: &CommittedTx,
    format: &TransactionFormat,
    synchronizer_id: &str,
    filter: &ResolvedFilter,
    table: &SymbolTable,
) -> Option<JsTransaction> {
    let acs_delta = format.transaction_shape == TransactionShape::AcsDelta;
    let effective_at = tx.effective_at.to_string();
    let events: Vec<Event> = tx
        .nodes
        .iter()
        .filter_map(|node| {
            if acs_delta {
                acs_delta_event(tx, node, filter, table, &effective_at)
            } else {
                ledger_effects_event(tx, node, filter, table, &effective_at)
            }
        })
        .collect();
    if events.is_empty() {
        return None;
    }
    let command_id = if submitter_reads(tx, filter, table) {
        tx.command_id.clone()
    } else {
        String::new()
    };
    Some(JsTransaction {
        update_id: tx.update_id.clone(),
        command_id,
        workflow_id: String::new(),
        effective_at: Some(effective_at),
        events,
        offset: tx.offset,
        synchronizer_id: synchronizer_id.to_owned(),
        trace_context: Some(TraceContext {
            traceparent: Some(tx.traceparent.clone()),
            tracestate: None,
        }),
        record_time: tx.record_time.to_string(),
        external_transaction_hash: Some(tx.external_transaction_hash.as_deref().map(str::to_owned)),
        paid_traffic_cost: None,
    })
}

/// Whether a requesting party submitted `tx`: the command id is only shown to its submitters.
pub(super) fn submitter_reads(
    tx: &CommittedTx,
    filter: &ResolvedFilter,
    table: &SymbolTable,
) -> bool {
    table
        .parties(tx.act_as)
        .any(|p| filter.parties().any(|r| r == p))
}

/// The requesting parties that witness `node` in a ledger-effects view (`None`: no event), and
/// whether one of them is a stakeholder (only then can its event change their ACS).
pub(super) fn event_witnesses(
    node: &TxNode,
    filter: &ResolvedFilter,
    table: &SymbolTable,
) -> Option<(BTreeSet<String>, bool)> {
    let witnesses = filter.matching(
        table.parties(node.witnesses),
        &node.template,
        &node.interfaces,
    );
    if witnesses.is_empty() {
        return None;
    }
    let stakeholder_reader = witnesses
        .iter()
        .any(|w| table.contains(node.stakeholders, w));
    Some((witnesses, stakeholder_reader))
}

/// The requesting stakeholders that see `node` in an ACS-delta view (`None`: no event; a
/// transient contract never shows there).
pub(super) fn acs_delta_readers(
    node: &TxNode,
    filter: &ResolvedFilter,
    table: &SymbolTable,
) -> Option<BTreeSet<String>> {
    if node.transient {
        return None;
    }
    let readers = filter.matching(
        table.parties(node.stakeholders),
        &node.template,
        &node.interfaces,
    );
    (!readers.is_empty()).then_some(readers)
}

fn ledger_effects_event(
    tx: &CommittedTx,
    node: &TxNode,
    filter: &ResolvedFilter,
    table: &SymbolTable,
    effective_at: &str,
) -> Option<Event> {
    let (witnesses, stakeholder_reader) = event_witnesses(node, filter, table)?;
    match &node.kind {
        TxNodeKind::Create(create) => {
            let acs_delta = !node.transient && stakeholder_reader;
            Some(Event::CreatedEvent(created_event(
                tx.offset,
                node.node_id,
                create,
                effective_at.to_owned(),
                &witnesses,
                filter,
                acs_delta,
                table,
            )))
        }
        TxNodeKind::Exercise {
            contract_id,
            interface,
            choice,
            argument,
            acting_parties,
            consuming,
            result,
        } => Some(Event::ExercisedEvent(ExercisedEvent {
            offset: tx.offset,
            node_id: node.node_id,
            contract_id: table.get(*contract_id).to_owned(),
            template_id: node.template.wire(),
            interface_id: interface.as_ref().map(Identifier::wire),
            choice: table.get(*choice).to_owned(),
            choice_argument: Some(to_raw(argument, table, Rendering::Argument)),
            acting_parties: table.parties(*acting_parties).map(str::to_owned).collect(),
            consuming: *consuming,
            witness_parties: witnesses.iter().cloned().collect(),
            last_descendant_node_id: node.last_descendant,
            exercise_result: Some(to_raw(result, table, Rendering::Argument)),
            package_name: node.template.package_name.clone(),
            implemented_interfaces: if *consuming {
                wires(filter.rendered_interfaces(&witnesses, &node.interfaces))
            } else {
                vec![]
            },
            acs_delta: Some(*consuming && !node.transient && stakeholder_reader),
        })),
    }
}

fn acs_delta_event(
    tx: &CommittedTx,
    node: &TxNode,
    filter: &ResolvedFilter,
    table: &SymbolTable,
    effective_at: &str,
) -> Option<Event> {
    let readers = acs_delta_readers(node, filter, table)?;
    match &node.kind {
        TxNodeKind::Create(create) => Some(Event::CreatedEvent(created_event(
            tx.offset,
            node.node_id,
            create,
            effective_at.to_owned(),
            &readers,
            filter,
            true,
            table,
        ))),
        TxNodeKind::Exercise {
            contract_id,
            consuming: true,
            ..
        } => Some(Event::ArchivedEvent(archived_event(
            tx.offset,
            node.node_id,
            table.get(*contract_id),
            &node.template,
            &node.interfaces,
            &readers,
            filter,
        ))),
        TxNodeKind::Exercise { .. } => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn created_event(
    offset: i64,
    node_id: i32,
    create: &StoredCreate,
    created_at: String,
    witnesses: &BTreeSet<String>,
    filter: &ResolvedFilter,
    acs_delta: bool,
    table: &SymbolTable,
) -> CreatedEvent {
    let interface_views = filter
        .rendered_interfaces(witnesses, &create.interface_ids)
        .into_iter()
        .filter_map(|iface| {
            let i = create.interface_ids.iter().position(|i| i == iface)?;
            Some((iface, &create.views[i]))
        })
        .map(|(iface, view)| InterfaceView {
            interface_id: iface.wire(),
            view_status: ViewStatus::default(),
            view_value: Some(to_raw(view, table, Rendering::View)),
            implementation_package_id: None,
        })
        .collect();
    let parties = |set| table.parties(set).map(str::to_owned).collect();
    CreatedEvent {
        offset,
        node_id,
        contract_id: table.get(create.contract_id).to_owned(),
        template_id: create.template.wire(),
        contract_key: None,
        contract_key_hash: None,
        create_argument: Some(to_raw(&create.argument, table, Rendering::Argument)),
        // Blobs are not modelled: the sandbox has no Daml engine to accept them back.
        created_event_blob: String::new(),
        interface_views,
        witness_parties: witnesses.iter().cloned().collect(),
        signatories: parties(create.signatories),
        observers: parties(create.observers),
        created_at: Some(created_at),
        package_name: create.template.package_name.clone(),
        representative_package_id: Some(create.template.package_id.clone()),
        acs_delta: Some(acs_delta),
    }
}

fn archived_event(
    offset: i64,
    node_id: i32,
    contract_id: &str,
    template: &Identifier,
    interfaces: &[Identifier],
    readers: &BTreeSet<String>,
    filter: &ResolvedFilter,
) -> ArchivedEvent {
    ArchivedEvent {
        offset,
        node_id,
        contract_id: contract_id.to_owned(),
        template_id: template.wire(),
        witness_parties: readers.iter().cloned().collect(),
        package_name: template.package_name.clone(),
        implemented_interfaces: wires(filter.rendered_interfaces(readers, interfaces)),
    }
}

fn wires(ids: Vec<&Identifier>) -> Vec<String> {
    ids.into_iter().map(Identifier::wire).collect()
}

/// `events-by-contract-id`: the create and (if any) archive in the `ACS_DELTA` shape, for
/// requesting stakeholders; `None` if none of them is a stakeholder (→ 404).
pub fn events_by_contract_id(
    contract: &StoredContract,
    format: &EventFormat,
    synchronizer_id: &str,
    hosted: &[String],
    table: &SymbolTable,
) -> Option<JsGetEventsByContractIdResponse> {
    let filter = ResolvedFilter::new(format, hosted.iter().map(String::as_str));
    let create = &contract.create;
    let readers = filter.matching(
        table.parties(create.stakeholders),
        &create.template,
        &create.interface_ids,
    );
    if readers.is_empty() {
        return None;
    }
    let created = created_event(
        contract.created.offset,
        contract.created.node_id,
        create,
        contract.created_at.to_string(),
        &readers,
        &filter,
        true,
        table,
    );
    let archived = contract.archived.map(|at| JsArchived {
        archived_event: archived_event(
            at.offset,
            at.node_id,
            table.get(create.contract_id),
            &create.template,
            &create.interface_ids,
            &readers,
            &filter,
        ),
        synchronizer_id: synchronizer_id.to_owned(),
    });
    Some(JsGetEventsByContractIdResponse {
        created: Some(JsCreated {
            created_event: created,
            synchronizer_id: synchronizer_id.to_owned(),
        }),
        archived,
    })
}

/// One entry of the active contract set for the requesting parties (stakeholders whose filter
/// matches), or `None` if none of them reads it.
pub fn active_contract(
    contract: &StoredContract,
    filter: &ResolvedFilter,
    synchronizer_id: &str,
    table: &SymbolTable,
) -> Option<JsGetActiveContractsResponse> {
    let create = &contract.create;
    let readers = filter.matching(
        table.parties(create.stakeholders),
        &create.template,
        &create.interface_ids,
    );
    if readers.is_empty() {
        return None;
    }
    Some(JsGetActiveContractsResponse {
        workflow_id: String::new(),
        contract_entry: JsContractEntry::JsActiveContract(JsActiveContract {
            created_event: created_event(
                contract.created.offset,
                contract.created.node_id,
                create,
                contract.created_at.to_string(),
                &readers,
                filter,
                true,
                table,
            ),
            synchronizer_id: synchronizer_id.to_owned(),
            reassignment_counter: 0,
        }),
    })
}
