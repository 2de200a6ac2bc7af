//! The verifier on a withdrawal of a V2-only token: the intent says the transfer goes through
//! `TransferInstructionV2.TransferFactory`, and then exactly V2's `TransferFactory_Transfer`
//! passes: on the registry's factory, accounts of the treasury and the receiver (basic
//! accounts: no provider, id ""), the amount, instrument, inputs, times and memo asked for,
//! `actors = [treasury]`, nothing beyond the offer's nodes. Anything else is refused before the
//! signer is reached, and the node's hash must be the transaction's.

mod signing_support;

use canton_interactive::encode_prepared_transaction;
use canton_interactive::proto::{PreparedTransaction, Value, v1};
use exchange_core::signing::{Intent, Mismatch, Refused, Standard, verify_and_sign};
use signing_support::*;

fn attempt_with_hash(
    intent: &Intent,
    prepared: &PreparedTransaction,
    hash: &[u8; 32],
) -> (Result<(), Mismatch>, usize) {
    let signer = CountingSigner::default();
    let bytes = encode_prepared_transaction(prepared);
    let result = verify_and_sign(&signer, intent, &bytes, hash);
    let calls = signer.calls.get();
    match result {
        Ok(_) => (Ok(()), calls),
        Err(Refused::Mismatch(m)) => (Err(m), calls),
        Err(Refused::Signer(e)) => panic!("signer error {e}"),
    }
}

fn attempt(intent: &Intent, prepared: &PreparedTransaction) -> (Result<(), Mismatch>, usize) {
    attempt_with_hash(intent, prepared, &node_hash(prepared))
}

fn assert_refused(intent: &Intent, prepared: &PreparedTransaction, what: &str) {
    let (result, calls) = attempt(intent, prepared);
    let mismatch = result.expect_err("must be refused");
    assert_eq!(mismatch.what(), what, "{mismatch}");
    assert_eq!(calls, 0, "the signer was reached");
}

/// `HoldingV2.Account {owner, provider, id}`.
fn account(owner: Option<&str>, provider: Option<&str>, id: &str) -> Value {
    let opt = |p: Option<&str>| match p {
        Some(p) => some(party(p)),
        None => v(canton_interactive::proto::value::Sum::Optional(
            canton_interactive::proto::Optional { value: None },
        )),
    };
    rec(&[
        ("owner", opt(owner)),
        ("provider", opt(provider)),
        ("id", text(id)),
    ])
}

/// An SBX offer withdrawal through V2's factory: the V1 offer's tree with V2's root (interface,
/// accounts instead of parties, no `expectedAdmin`, `actors`), and a V2 intent.
fn v2_offer(actors: &[&str]) -> (Intent, PreparedTransaction) {
    let t = Transfer::default();
    let (mut intent, mut prepared) = t.sbx_offer();
    let Intent::Transfer(i) = &mut intent else {
        unreachable!()
    };
    i.through = Standard::V2;
    let v1::NodeType::Exercise(e) = node_mut(&mut prepared, 0) else {
        unreachable!()
    };
    e.interface_id = Some(id(
        "Splice.Api.Token.TransferInstructionV2",
        "TransferFactory",
    ));
    let v1_argument = e.chosen_value.clone().unwrap();
    let mut transfer = v1_argument.clone();
    let mut transfer = field_mut(&mut transfer, "transfer").clone();
    *field_mut(&mut transfer, "sender") = account(Some(TREASURY), None, "");
    *field_mut(&mut transfer, "receiver") = account(Some(&t.receiver), None, "");
    let mut whole = v1_argument;
    let extra = field_mut(&mut whole, "extraArgs").clone();
    let actors = list(actors.iter().map(|p| party(p)).collect());
    e.chosen_value = Some(rec(&[
        ("transfer", transfer),
        ("actors", actors),
        ("extraArgs", extra),
    ]));
    (intent, prepared)
}

#[test]
fn v2_s_transfer_by_the_treasury_alone_passes() {
    let (i, p) = v2_offer(&[TREASURY]);
    assert_eq!(attempt(&i, &p), (Ok(()), 1));
}

#[test]
fn the_interface_must_be_the_intent_s() {
    // A V2 intent, the root exercised through V1's interface.
    let (i, mut p) = v2_offer(&[TREASURY]);
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.interface_id = Some(id(
            "Splice.Api.Token.TransferInstructionV1",
            "TransferFactory",
        ));
    }
    assert_refused(&i, &p, "root.interface_id");
    // A V2 intent, a template choice of the same name (its `actors` mean what it likes).
    let (i, mut p) = v2_offer(&[TREASURY]);
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.interface_id = None;
    }
    assert_refused(&i, &p, "root.interface_id");
    // A V1 intent, V2's transfer.
    let (mut i, p) = v2_offer(&[TREASURY]);
    if let Intent::Transfer(t) = &mut i {
        t.through = Standard::V1;
    }
    assert_refused(&i, &p, "root.interface_id");
    // Another choice on the factory.
    let (i, mut p) = v2_offer(&[TREASURY]);
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.choice_id = "TransferFactory_PublicFetch".into();
    }
    assert_refused(&i, &p, "root.choice_id");
}

#[test]
fn the_treasury_must_be_the_only_actor() {
    for actors in [&[TREASURY, ALICE][..], &[ALICE], &[]] {
        let (i, p) = v2_offer(actors);
        assert_refused(&i, &p, "choice.actors");
    }
    // Submitted by someone else.
    let (i, mut p) = v2_offer(&[TREASURY]);
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.acting_parties = vec![ALICE.to_owned()];
    }
    assert_refused(&i, &p, "root.acting_parties");
}

#[test]
fn the_receiver_must_be_the_receiver_s_basic_account() {
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "receiver") = account(Some(DSO), None, "");
    assert_refused(&i, &p, "transfer.receiver.owner");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "receiver") = account(None, None, "");
    assert_refused(&i, &p, "transfer.receiver.owner");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "receiver") = account(Some(ALICE), Some(DSO), "");
    assert_refused(&i, &p, "transfer.receiver.provider");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "receiver") = account(Some(ALICE), None, "savings");
    assert_refused(&i, &p, "transfer.receiver.id");
    // A party where V2 has an account.
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "receiver") = party(ALICE);
    assert_refused(&i, &p, "transfer.receiver");
    // The sender: the treasury's own basic account only.
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "sender") = account(Some(TREASURY), None, "other");
    assert_refused(&i, &p, "transfer.sender.id");
}

#[test]
fn amount_instrument_memo_and_inputs_must_be_the_intent_s() {
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "amount") = numeric("20.0000000001");
    assert_refused(&i, &p, "transfer.amount");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *field_mut(transfer_field(&mut p, "instrumentId"), "id") = text("Amulet");
    assert_refused(&i, &p, "transfer.instrumentId.id");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "meta") = meta(&[(exchange_core::signing::REASON_KEY, "other")]);
    assert_refused(&i, &p, "transfer.meta.values");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "inputHoldingCids") = list(vec![contract(&input_cid(0))]);
    assert_refused(&i, &p, "transfer.inputHoldingCids");
    let (i, mut p) = v2_offer(&[TREASURY]);
    *transfer_field(&mut p, "executeBefore") = time(EXECUTE_BEFORE + 1);
    assert_refused(&i, &p, "transfer.executeBefore");
}

#[test]
fn nodes_beyond_the_offer_s_are_refused() {
    // A further holding for the treasury's counterparty, paid from nowhere the intent names.
    let (i, mut p) = v2_offer(&[TREASURY]);
    add_child(
        &mut p,
        0,
        token_holding(&cid(110), TREASURY, "5.0000000000", false),
    );
    assert_refused(&i, &p, "create");
    // A rollback node.
    let (i, mut p) = v2_offer(&[TREASURY]);
    add_child(
        &mut p,
        0,
        v1::NodeType::Rollback(v1::Rollback { children: vec![] }),
    );
    assert_refused(&i, &p, "rollback");
}

#[test]
fn the_node_s_hash_must_be_the_transaction_s() {
    let (i, p) = v2_offer(&[TREASURY]);
    let (other_intent, other) = v2_offer(&[TREASURY, ALICE]);
    drop(other_intent);
    let (result, calls) = attempt_with_hash(&i, &p, &node_hash(&other));
    assert_eq!(result.expect_err("refused").what(), "hash");
    assert_eq!(calls, 0);
}
