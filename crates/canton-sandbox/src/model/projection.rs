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
use canton_ledger::{Event, JsTransaction, TraceContext, ViewStatus};

use crate::daml::Rendering;
use crate::model::filter::ResolvedFilter;
use crate::model::ledger::{CommittedTx, ContractRecord, TxNode, TxNodeKind};
use crate::model::template::Identifier;
use crate::model::tree::Create;

/// The reader's view of `tx`, or `None` if it sees no event of it (a stream skips the
/// transaction; a point lookup answers `UPDATE_NOT_FOUND`).
pub fn project_transaction(
    tx: &CommittedTx,
    format: &TransactionFormat,
    synchronizer_id: &str,
    hosted: &[String],
) -> Option<JsTransaction> {
    let default_format = EventFormat::default();
    let event_format = format.event_format.as_ref().unwrap_or(&default_format);
    let filter = ResolvedFilter::new(event_format, hosted.iter().map(String::as_str));
    let acs_delta = format.transaction_shape == TransactionShape::AcsDelta;
    let events: Vec<Event> = tx
        .nodes
        .iter()
        .filter_map(|node| {
            if acs_delta {
                acs_delta_event(tx, node, &filter)
            } else {
                ledger_effects_event(tx, node, &filter)
            }
        })
        .collect();
    if events.is_empty() {
        return None;
    }
    let requesting: BTreeSet<&str> = filter.parties().collect();
    // The command id is only shown to its submitters.
    let command_id = if tx.act_as.iter().any(|p| requesting.contains(p.as_str())) {
        tx.command_id.clone()
    } else {
        String::new()
    };
    Some(JsTransaction {
        update_id: tx.update_id.clone(),
        command_id,
        workflow_id: String::new(),
        effective_at: Some(tx.effective_at.to_string()),
        events,
        offset: tx.offset,
        synchronizer_id: synchronizer_id.to_owned(),
        trace_context: Some(TraceContext {
            traceparent: Some(tx.traceparent.clone()),
            tracestate: None,
        }),
        record_time: tx.record_time.to_string(),
        external_transaction_hash: Some(None),
        paid_traffic_cost: None,
    })
}

fn ledger_effects_event(tx: &CommittedTx, node: &TxNode, filter: &ResolvedFilter) -> Option<Event> {
    let witnesses = filter.matching(&node.witnesses, &node.template, &node.interfaces);
    if witnesses.is_empty() {
        return None;
    }
    let stakeholder_readers: BTreeSet<String> = witnesses
        .intersection(&node.stakeholders)
        .cloned()
        .collect();
    match &node.kind {
        TxNodeKind::Fetch { .. } => None,
        TxNodeKind::Create(create) => {
            let acs_delta = !node.transient && !stakeholder_readers.is_empty();
            Some(Event::CreatedEvent(created_event(
                tx.offset,
                node.node_id,
                create,
                tx.effective_at.to_string(),
                &witnesses,
                filter,
                acs_delta,
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
            contract_id: contract_id.clone(),
            template_id: node.template.wire(),
            interface_id: interface.as_ref().map(Identifier::wire),
            choice: choice.clone(),
            choice_argument: Some(argument.to_raw(Rendering::Argument)),
            acting_parties: acting_parties.iter().cloned().collect(),
            consuming: *consuming,
            witness_parties: witnesses.iter().cloned().collect(),
            last_descendant_node_id: node.last_descendant,
            exercise_result: Some(result.to_raw(Rendering::Argument)),
            package_name: node.template.package_name.clone(),
            implemented_interfaces: if *consuming {
                wires(filter.rendered_interfaces(&witnesses, &node.interfaces))
            } else {
                vec![]
            },
            acs_delta: Some(*consuming && !node.transient && !stakeholder_readers.is_empty()),
        })),
    }
}

fn acs_delta_event(tx: &CommittedTx, node: &TxNode, filter: &ResolvedFilter) -> Option<Event> {
    if node.transient {
        return None;
    }
    let readers = filter.matching(&node.stakeholders, &node.template, &node.interfaces);
    if readers.is_empty() {
        return None;
    }
    match &node.kind {
        TxNodeKind::Create(create) => Some(Event::CreatedEvent(created_event(
            tx.offset,
            node.node_id,
            create,
            tx.effective_at.to_string(),
            &readers,
            filter,
            true,
        ))),
        TxNodeKind::Exercise {
            contract_id,
            consuming: true,
            ..
        } => Some(Event::ArchivedEvent(archived_event(
            tx.offset,
            node.node_id,
            contract_id,
            &node.template,
            &node.interfaces,
            &readers,
            filter,
        ))),
        _ => None,
    }
}

fn created_event(
    offset: i64,
    node_id: i32,
    create: &Create,
    created_at: String,
    witnesses: &BTreeSet<String>,
    filter: &ResolvedFilter,
    acs_delta: bool,
) -> CreatedEvent {
    let implemented: Vec<Identifier> = create.interfaces.iter().map(|(i, _)| i.clone()).collect();
    let interface_views = filter
        .rendered_interfaces(witnesses, &implemented)
        .into_iter()
        .filter_map(|iface| create.interfaces.iter().find(|(i, _)| i == iface))
        .map(|(iface, view)| InterfaceView {
            interface_id: iface.wire(),
            view_status: ViewStatus::default(),
            view_value: Some(view.to_raw(Rendering::View)),
            implementation_package_id: None,
        })
        .collect();
    CreatedEvent {
        offset,
        node_id,
        contract_id: create.contract_id.clone(),
        template_id: create.template.wire(),
        contract_key: None,
        contract_key_hash: None,
        create_argument: Some(create.argument.to_raw(Rendering::Argument)),
        // Blobs are not modelled: the sandbox has no Daml engine to accept them back.
        created_event_blob: String::new(),
        interface_views,
        witness_parties: witnesses.iter().cloned().collect(),
        signatories: create.signatories.iter().cloned().collect(),
        observers: create.observers.iter().cloned().collect(),
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
    contract: &ContractRecord,
    format: &EventFormat,
    synchronizer_id: &str,
    hosted: &[String],
) -> Option<JsGetEventsByContractIdResponse> {
    let filter = ResolvedFilter::new(format, hosted.iter().map(String::as_str));
    let implemented: Vec<Identifier> = contract
        .create
        .interfaces
        .iter()
        .map(|(i, _)| i.clone())
        .collect();
    let readers = filter.matching(
        &contract.stakeholders(),
        &contract.create.template,
        &implemented,
    );
    if readers.is_empty() {
        return None;
    }
    let created = created_event(
        contract.created.offset,
        contract.created.node_id,
        &contract.create,
        contract.created_at.to_string(),
        &readers,
        &filter,
        true,
    );
    let archived = contract.archived.map(|at| JsArchived {
        archived_event: archived_event(
            at.offset,
            at.node_id,
            &contract.create.contract_id,
            &contract.create.template,
            &implemented,
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
