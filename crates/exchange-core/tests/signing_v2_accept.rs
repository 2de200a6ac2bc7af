//! The verifier on the accept of a V2-only token's offer: the intent says the accept goes
//! through `TransferInstructionV2`, and then exactly V2's `TransferInstruction_Accept` with the
//! treasury as its only actor passes; V1's accept, a template choice of that name, other
//! actors, another instruction or nodes beyond the accept's are refused (and a V1 intent
//! refuses V2's accept).

mod signing_support;

use canton_interactive::encode_prepared_transaction;
use canton_interactive::proto::{PreparedTransaction, v1};
use exchange_core::signing::{Intent, Mismatch, Refused, Standard, verify_and_sign};
use signing_support::*;

fn attempt(intent: &Intent, prepared: &PreparedTransaction) -> (Result<(), Mismatch>, usize) {
    let signer = CountingSigner::default();
    let bytes = encode_prepared_transaction(prepared);
    let result = verify_and_sign(&signer, intent, &bytes, &node_hash(prepared));
    let calls = signer.calls.get();
    match result {
        Ok(_) => (Ok(()), calls),
        Err(Refused::Mismatch(m)) => (Err(m), calls),
        Err(Refused::Signer(e)) => panic!("signer error {e}"),
    }
}

fn assert_refused(intent: &Intent, prepared: &PreparedTransaction, what: &str) {
    let (result, calls) = attempt(intent, prepared);
    let mismatch = result.expect_err("must be refused");
    assert_eq!(mismatch.what(), what, "{mismatch}");
    assert_eq!(calls, 0, "the signer was reached");
}

/// The accept intent, through `through`.
fn intent(through: Standard) -> (Intent, PreparedTransaction) {
    let (mut intent, prepared) = accept("12.5000000000");
    let Intent::AcceptInstruction(a) = &mut intent else {
        unreachable!()
    };
    a.through = through;
    (intent, prepared)
}

/// Makes the root V2's accept (nonconsuming, `actors`), on the same offer, same subtree.
fn v2_root(prepared: &mut PreparedTransaction, actors: &[&str]) {
    let v1::NodeType::Exercise(e) = node_mut(prepared, 0) else {
        unreachable!()
    };
    e.interface_id = Some(id(
        "Splice.Api.Token.TransferInstructionV2",
        "TransferInstruction",
    ));
    e.consuming = false;
    let extra = rec(&[
        ("context", rec(&[("values", text_map(&[]))])),
        ("meta", meta(&[])),
    ]);
    let actors = list(actors.iter().map(|p| party(p)).collect());
    e.chosen_value = Some(rec(&[("actors", actors), ("extraArgs", extra)]));
}

/// V2's accept as implementations make it: the nonconsuming choice archives the instruction
/// below it (`TransferInstructionV2`: "MUST ensure that the transfer instruction is archived").
fn v2_accept() -> (Intent, PreparedTransaction) {
    let (i, mut p) = intent(Standard::V2);
    v2_root(&mut p, &[TREASURY]);
    add_child(&mut p, 0, archive(&cid(INSTRUCTION)));
    (i, p)
}

fn archive(contract: &str) -> v1::NodeType {
    exercise(Ex {
        cid: contract.to_owned(),
        template: (
            "Splice.AmuletTransferInstruction",
            "AmuletTransferInstruction",
        ),
        interface: None,
        choice: "Archive",
        arg: rec(&[]),
        consuming: true,
        signatories: &[DSO, ALICE],
        observers: &[TREASURY],
        children: vec![],
    })
}

#[test]
fn v2_s_accept_archiving_the_instruction_below_it_passes() {
    let (i, p) = v2_accept();
    assert_eq!(attempt(&i, &p), (Ok(()), 1));
}

#[test]
fn another_instruction_is_refused() {
    // The node accepts another offer than the one the exchange asked for.
    let (i, mut p) = v2_accept();
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.contract_id = cid(SENDER_LOCKED);
    }
    assert_refused(&i, &p, "root.contract_id");
    // The exchange asked for another offer than the one prepared.
    let (mut i, p) = v2_accept();
    let Intent::AcceptInstruction(a) = &mut i else {
        unreachable!()
    };
    a.instruction = exchange_core::ContractId::new(&cid(77)).unwrap();
    assert_refused(&i, &p, "root.contract_id");
}

#[test]
fn nodes_beyond_the_accept_are_refused() {
    // A second holding for the treasury, beyond the one received.
    let (i, mut p) = v2_accept();
    add_child(&mut p, 0, amulet(&cid(105), TREASURY, "12.5000000000"));
    assert_refused(&i, &p, "create");
    // A second instruction accepted (archived) on the way: not one the transaction may use.
    let (i, mut p) = v2_accept();
    add_child(&mut p, 0, archive(&cid(77)));
    assert_refused(&i, &p, "unknown_contract");
    // A treasury holding spent on the way, declared as an input or not.
    let (i, mut p) = v2_accept();
    add_child(&mut p, 0, archive_holding(&cid(79)));
    assert_refused(&i, &p, "unknown_contract");
    let (i, mut p) = v2_accept();
    add_child(&mut p, 0, archive_holding(&cid(79)));
    p.metadata
        .as_mut()
        .unwrap()
        .input_contracts
        .push(input(amulet(&cid(79), TREASURY, "3.0000000000")));
    assert_refused(&i, &p, "input_contracts");
    // A rollback node: what it hides is not what was asked for.
    let (i, mut p) = v2_accept();
    add_child(
        &mut p,
        0,
        v1::NodeType::Rollback(v1::Rollback { children: vec![] }),
    );
    assert_refused(&i, &p, "rollback");
    // A second root beside the accept.
    let (i, mut p) = v2_accept();
    let extra = nodes_mut(&mut p).len();
    add_child(&mut p, 0, archive(&cid(77)));
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.children.retain(|c| *c != extra.to_string());
    }
    let tx = p.transaction.as_mut().unwrap();
    tx.roots.push(extra.to_string());
    assert_refused(&i, &p, "transaction.roots");
}

fn archive_holding(contract: &str) -> v1::NodeType {
    exercise(Ex {
        cid: contract.to_owned(),
        template: ("Splice.Amulet", "Amulet"),
        interface: None,
        choice: "Archive",
        arg: rec(&[]),
        consuming: true,
        signatories: &[DSO, TREASURY],
        observers: &[],
        children: vec![],
    })
}

#[test]
fn v2_s_accept_by_the_treasury_alone_passes_a_v2_intent() {
    let (i, mut p) = intent(Standard::V2);
    v2_root(&mut p, &[TREASURY]);
    assert_eq!(attempt(&i, &p), (Ok(()), 1));
}

#[test]
fn the_interface_must_be_the_intent_s() {
    // A V2 intent, V1's accept (as the registry's V1 view would have it).
    let (i, p) = intent(Standard::V2);
    assert_refused(&i, &p, "root.interface_id");
    // A V2 intent, a template choice of the same name (its arguments are the template's).
    let (i, mut p) = intent(Standard::V2);
    v2_root(&mut p, &[TREASURY]);
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.interface_id = None;
    }
    assert_refused(&i, &p, "root.interface_id");
    // A V1 intent, V2's accept.
    let (i, mut p) = intent(Standard::V1);
    v2_root(&mut p, &[TREASURY]);
    assert_refused(&i, &p, "root.interface_id");
}

#[test]
fn the_treasury_must_be_the_only_actor() {
    for actors in [&[TREASURY, ALICE][..], &[ALICE], &[]] {
        let (i, mut p) = intent(Standard::V2);
        v2_root(&mut p, actors);
        assert_refused(&i, &p, "choice.actors");
    }
    // Without the field at all.
    let (i, mut p) = intent(Standard::V2);
    v2_root(&mut p, &[TREASURY]);
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.chosen_value = Some(rec(&[]));
    }
    let (result, calls) = attempt(&i, &p);
    assert!(result.is_err());
    assert_eq!(calls, 0);
}
