//! The `tamperPrepare` fault, pure: how a dishonest node would change a prepared transaction
//! after interpreting it (see [`TamperKind`]). The changed transaction stays well-formed, so its
//! V2 hash can be recomputed: only a client that decodes and checks what it signs notices.

use canton_interactive::proto::{self, v1, value::Sum};
use exchange_core::Amount;
use sha2::{Digest, Sha256};

use crate::faults::TamperKind;
use crate::prepared::LF_VERSION;
use crate::token::packages::meta;

/// Applies `kind` to `prepared`; `false` when the transaction has nothing of that kind to change
/// (it is then left as it was). [`TamperKind::Hash`] changes no bytes: the caller changes the hash.
pub fn tamper(prepared: &mut proto::PreparedTransaction, kind: TamperKind) -> bool {
    match kind {
        TamperKind::Receiver => with_transfer(prepared, |transfer| {
            let admin = party_of(field(transfer, "instrumentId").and_then(|i| field(i, "admin")));
            let sender = party_of(field(transfer, "sender"));
            let receiver = field_mut(transfer, "receiver")?;
            let other = if party_of(Some(receiver)) != admin {
                admin
            } else {
                sender
            };
            *receiver = party(other?);
            Some(())
        }),
        TamperKind::Amount => with_transfer(prepared, |transfer| {
            let amount = field_mut(transfer, "amount")?;
            let Some(Sum::Numeric(n)) = &amount.sum else {
                return None;
            };
            let asked: Amount = n.parse().ok()?;
            let more = asked.checked_add(Amount::from_whole(1)).ok()?;
            amount.sum = Some(Sum::Numeric(more.to_string()));
            Some(())
        }),
        TamperKind::Input => with_transfer(prepared, |transfer| {
            let Some(Sum::List(inputs)) = &mut field_mut(transfer, "inputHoldingCids")?.sum else {
                return None;
            };
            let first = inputs.elements.first_mut()?;
            let Some(Sum::ContractId(cid)) = &first.sum else {
                return None;
            };
            first.sum = Some(Sum::ContractId(other_contract_id(cid)));
            Some(())
        }),
        TamperKind::Memo => with_transfer(prepared, |transfer| {
            let values = field_mut(field_mut(transfer, "meta")?, "values")?;
            let Some(Sum::TextMap(map)) = &mut values.sum else {
                return None;
            };
            match map.entries.iter_mut().find(|e| e.key == meta::REASON) {
                Some(entry) => {
                    entry.value = Some(text(&format!("{}-tampered", text_of(entry.value.as_ref()))))
                }
                None => map.entries.push(proto::TextMapEntry {
                    key: meta::REASON.to_owned(),
                    value: Some(text("tampered")),
                }),
            }
            Some(())
        }),
        TamperKind::ExtraNode => add_moving_node(prepared).is_some(),
        TamperKind::Hash => true,
    }
}

/// Runs `change` on the root `TransferFactory_Transfer`'s `transfer` record.
fn with_transfer(
    prepared: &mut proto::PreparedTransaction,
    change: impl FnOnce(&mut proto::Value) -> Option<()>,
) -> bool {
    let Some(tx) = prepared.transaction.as_mut() else {
        return false;
    };
    let Some(root) = tx.roots.first().cloned() else {
        return false;
    };
    let exercise = tx
        .nodes
        .iter_mut()
        .find(|n| n.node_id == root)
        .and_then(|n| match &mut n.versioned_node {
            Some(proto::VersionedNode::V1(v1::Node {
                node_type: Some(v1::NodeType::Exercise(e)),
            })) if e.choice_id == "TransferFactory_Transfer" => Some(e),
            _ => None,
        });
    exercise
        .and_then(|e| e.chosen_value.as_mut())
        .and_then(|argument| field_mut(argument, "transfer"))
        .and_then(change)
        .is_some()
}

/// Adds a root exercise archiving one of the submitter's input holdings, with a create giving
/// the same holding to another party.
fn add_moving_node(prepared: &mut proto::PreparedTransaction) -> Option<()> {
    let meta = prepared.metadata.as_ref()?;
    let party = meta.submitter_info.as_ref()?.act_as.first()?.clone();
    let holding = meta
        .input_contracts
        .iter()
        .find_map(|i| match &i.contract {
            Some(proto::InputContractVersion::V1(c)) if owner(c) == Some(&party) => Some(c.clone()),
            _ => None,
        })?;
    let thief = holding
        .stakeholders
        .iter()
        .find(|p| **p != party)
        .cloned()
        .unwrap_or_else(|| {
            format!(
                "thief::1220{}",
                hex::encode(Sha256::digest(party.as_bytes()))
            )
        });
    let tx = prepared.transaction.as_mut()?;
    let archive_id = tx.nodes.len() as i32;
    let create_id = archive_id + 1;
    let moved = moved_holding(&holding, &party, &thief);
    let archive = v1::Exercise {
        lf_version: LF_VERSION.to_owned(),
        contract_id: holding.contract_id.clone(),
        package_name: holding.package_name.clone(),
        template_id: holding.template_id.clone(),
        signatories: holding.signatories.clone(),
        stakeholders: holding.stakeholders.clone(),
        acting_parties: vec![party],
        interface_id: None,
        choice_id: "Archive".to_owned(),
        chosen_value: Some(proto::Value::of(Sum::Record(proto::Record::default()))),
        consuming: true,
        children: vec![create_id.to_string()],
        exercise_result: Some(proto::Value::of(Sum::Unit(()))),
        choice_observers: vec![],
    };
    for (id, node) in [
        (archive_id, v1::NodeType::Exercise(archive)),
        (create_id, v1::NodeType::Create(moved)),
    ] {
        tx.nodes.push(proto::Node {
            node_id: id.to_string(),
            versioned_node: Some(proto::VersionedNode::V1(v1::Node {
                node_type: Some(node),
            })),
        });
        tx.node_seeds.push(proto::NodeSeed {
            node_id: id,
            seed: Sha256::digest(format!("tampered node {id}")).to_vec(),
        });
    }
    tx.roots.push(archive_id.to_string());
    Some(())
}

/// The holding `from` owned, now owned by `to`, under a fresh local contract id.
fn moved_holding(holding: &v1::Create, from: &str, to: &str) -> v1::Create {
    let swap = |parties: &[String]| -> Vec<String> {
        let mut out: Vec<String> = parties
            .iter()
            .map(|p| if p == from { to.to_owned() } else { p.clone() })
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let mut moved = holding.clone();
    moved.contract_id = format!(
        "00{}",
        hex::encode(Sha256::digest(holding.contract_id.as_bytes()))
    );
    moved.signatories = swap(&holding.signatories);
    moved.stakeholders = swap(&holding.stakeholders);
    if let Some(owner) = moved.argument.as_mut().and_then(|a| field_mut(a, "owner")) {
        *owner = party(to.to_owned());
    }
    moved
}

/// The `owner` of a holding's create argument.
fn owner(create: &v1::Create) -> Option<&String> {
    match &field(create.argument.as_ref()?, "owner")?.sum {
        Some(Sum::Party(p)) => Some(p),
        _ => None,
    }
}

/// Another well-formed contract id (same shape, other discriminator).
fn other_contract_id(cid: &str) -> String {
    let discriminator = hex::encode(Sha256::digest(cid.as_bytes()));
    format!("00{discriminator}{}", cid.get(66..).unwrap_or(""))
}

fn field<'a>(record: &'a proto::Value, label: &str) -> Option<&'a proto::Value> {
    match &record.sum {
        Some(Sum::Record(r)) => r.fields.iter().find(|f| f.label == label)?.value.as_ref(),
        _ => None,
    }
}

fn field_mut<'a>(record: &'a mut proto::Value, label: &str) -> Option<&'a mut proto::Value> {
    match &mut record.sum {
        Some(Sum::Record(r)) => r
            .fields
            .iter_mut()
            .find(|f| f.label == label)?
            .value
            .as_mut(),
        _ => None,
    }
}

fn party_of(value: Option<&proto::Value>) -> Option<String> {
    match value?.sum.as_ref()? {
        Sum::Party(p) | Sum::Text(p) => Some(p.clone()),
        _ => None,
    }
}

fn text_of(value: Option<&proto::Value>) -> String {
    party_of(value).unwrap_or_default()
}

fn party(p: String) -> proto::Value {
    proto::Value::of(Sum::Party(p))
}

fn text(t: &str) -> proto::Value {
    proto::Value::of(Sum::Text(t.to_owned()))
}
