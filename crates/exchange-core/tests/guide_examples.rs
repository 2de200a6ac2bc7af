//! The integration guide's own example transactions (`txingestion.rst`), read as the treasury.

mod common;

use common::*;
use exchange_core::parser::{Direction, NoLookup, TransferStatus};
use exchange_core::{HoldingBook, parse_transaction};

/// The guide's examples come from two runs with different treasury parties.
const TREASURY_1_STEP: &str =
    "treasury-party::1220278a4a0eb2c244b425dff62853ef1cd04ca1095bffcea465c0de766faf9ab8cd";
const TREASURY: &str =
    "treasury-party::12207bd11907b9b3c11ade702d30b556bfe635314d3d0f708f9677e09a4ff096ef87";
const SENDER_1_STEP: &str =
    "sender::1220278a4a0eb2c244b425dff62853ef1cd04ca1095bffcea465c0de766faf9ab8cd";
const SENDER_OFFER: &str =
    "sender::1220f37942af4f4d062006155d504f1adfa1565260cd499e62325b011c06db635d8c";

#[test]
fn one_step_deposit_is_credited_with_its_memo() {
    let Some(shared) = shared_dir() else { return };
    let txs =
        transactions(&shared.join("reference/exchange-integration-guide/1-step-transfer.json"));
    let p = parse_transaction(&txs[0], &party(TREASURY_1_STEP), &NoLookup).unwrap();
    assert_eq!(p.transfers.len(), 1);
    let t = &p.transfers[0];
    assert_eq!(
        (t.direction, t.status),
        (Direction::In, TransferStatus::Completed)
    );
    assert_eq!(t.sender.as_ref().unwrap().as_str(), SENDER_1_STEP);
    assert_eq!(t.reason.as_deref(), Some("deposit-account-id"));
    assert_eq!(t.amount.unwrap().to_string(), "200.0000000000");
    // The guide's step 6: the archived input at node 8 is the sender's, not the treasury's.
    assert_eq!(p.unresolved_archives.len(), 1);
    assert_eq!(p.holdings_created.len(), 1);
}

#[test]
fn multi_step_deposit_offer_then_accept() {
    let Some(shared) = shared_dir() else { return };
    let guide = shared.join("reference/exchange-integration-guide");
    let treasury = party(TREASURY);
    let mut book = HoldingBook::default();

    let create = parse_transaction(
        &transactions(&guide.join("transfer-instruction-create.json"))[0],
        &treasury,
        &book,
    )
    .unwrap();
    book.apply(&create);
    assert_eq!(create.transfers.len(), 1);
    let offer = &create.transfers[0];
    assert_eq!(
        (offer.direction, offer.status),
        (Direction::In, TransferStatus::Pending)
    );
    assert_eq!(offer.sender.as_ref().unwrap().as_str(), SENDER_OFFER);
    let instruction = offer.transfer_instruction_cid.clone().unwrap();
    assert!(book.instructions.contains_key(&instruction));
    assert!(create.holdings_created.is_empty());

    let accept = parse_transaction(
        &transactions(&guide.join("transfer-instruction-accept.json"))[0],
        &treasury,
        &book,
    )
    .unwrap();
    book.apply(&accept);
    assert_eq!(accept.transfers.len(), 1);
    let t = &accept.transfers[0];
    assert_eq!(
        (t.direction, t.status),
        (Direction::In, TransferStatus::Accepted)
    );
    assert_eq!(t.transfer_instruction_cid.as_ref(), Some(&instruction));
    assert_eq!(t.sender.as_ref().unwrap().as_str(), SENDER_OFFER);
    assert_eq!(t.amount.unwrap().to_string(), "1000.0000000000");
    assert_eq!(accept.instructions_consumed, vec![instruction]);
    assert!(book.instructions.is_empty());
    assert_eq!(book.holdings.len(), 1);
}
