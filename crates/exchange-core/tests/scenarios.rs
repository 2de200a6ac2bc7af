//! Parser behaviour on hand-built transactions, for the cases the recordings do not cover: burns,
//! unlocks, expired dust, unknown `tx-kind`s, several deposits in one transaction, transfers the
//! party only witnesses, a registry other than Canton Coin, and malformed trees.

use canton_ledger::JsTransaction;
use exchange_core::parser::{Direction, NoLookup, TransferKind, TransferStatus};
use exchange_core::{Amount, HoldingBook, ParsedTransaction, PartyId, parse_transaction};
use serde_json::{Value, json};

const TREASURY: &str = "treasury::1220aa";
const ALICE: &str = "alice::1220bb";
const BOB: &str = "bob::1220cc";
const ADMIN: &str = "registry::1220dd";
const HOLDING: &str = "#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding";
const INSTRUCTION: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction";

fn holding_view(owner: &str, amount: &str, locked: bool) -> Value {
    json!({
        "owner": owner,
        "instrumentId": {"admin": ADMIN, "id": "GOLD"},
        "amount": amount,
        "lock": if locked { json!({"holders": [ADMIN], "expiresAt": null, "expiresAfter": null, "context": "offer"}) } else { Value::Null },
        "meta": {"values": {}}
    })
}

fn create_holding(node: i32, cid: &str, owner: &str, amount: &str) -> Value {
    json!({"CreatedEvent": {
        "offset": 7, "nodeId": node, "contractId": cid,
        "templateId": "abc:Gold.Token:GoldHolding",
        "createArgument": {}, "interfaceViews": [{
            "interfaceId": HOLDING, "viewStatus": {"code": 0, "message": "", "details": []},
            "viewValue": holding_view(owner, amount, false)}],
        "witnessParties": [TREASURY], "signatories": [ADMIN, owner], "observers": [],
        "createdAt": "2026-01-01T00:00:00Z", "packageName": "gold-token"}})
}

fn create_instruction(
    node: i32,
    cid: &str,
    sender: &str,
    receiver: &str,
    amount: &str,
    reason: &str,
) -> Value {
    json!({"CreatedEvent": {
        "offset": 7, "nodeId": node, "contractId": cid,
        "templateId": "abc:Gold.Token:GoldOffer",
        "createArgument": {}, "interfaceViews": [{
            "interfaceId": INSTRUCTION, "viewStatus": {"code": 0, "message": "", "details": []},
            "viewValue": {
                "originalInstructionCid": null,
                "transfer": {"sender": sender, "receiver": receiver, "amount": amount,
                    "instrumentId": {"admin": ADMIN, "id": "GOLD"},
                    "requestedAt": "2026-01-01T00:00:00Z", "executeBefore": "2026-01-02T00:00:00Z",
                    "inputHoldingCids": [], "meta": {"values": {"splice.lfdecentralizedtrust.org/reason": reason}}},
                "status": {"tag": "TransferPendingReceiverAcceptance", "value": {}},
                "meta": {"values": {}}}}],
        "witnessParties": [TREASURY], "signatories": [ADMIN, sender], "observers": [receiver],
        "createdAt": "2026-01-01T00:00:00Z", "packageName": "gold-token"}})
}

fn exercise(
    node: i32,
    last: i32,
    cid: &str,
    choice: &str,
    consuming: bool,
    result: Value,
    acting: &[&str],
) -> Value {
    json!({"ExercisedEvent": {
        "offset": 7, "nodeId": node, "contractId": cid, "templateId": "abc:Gold.Token:Rules",
        "interfaceId": null, "choice": choice, "choiceArgument": {}, "actingParties": acting,
        "consuming": consuming, "witnessParties": [TREASURY], "lastDescendantNodeId": last,
        "exerciseResult": result, "packageName": "gold-token",
        "implementedInterfaces": if consuming { json!([HOLDING]) } else { json!([]) }}})
}

fn tx_kind(kind: &str, extra: &[(&str, &str)]) -> Value {
    let mut values = serde_json::Map::new();
    values.insert(
        "splice.lfdecentralizedtrust.org/tx-kind".into(),
        json!(kind),
    );
    for (k, v) in extra {
        values.insert(format!("splice.lfdecentralizedtrust.org/{k}"), json!(v));
    }
    json!({"meta": {"values": values}})
}

fn archive(node: i32, cid: &str) -> Value {
    exercise(node, node, cid, "Archive", true, json!({}), &[TREASURY])
}

fn tx(events: Vec<Value>) -> JsTransaction {
    serde_json::from_value(json!({
        "updateId": "1220ff", "commandId": "", "workflowId": "", "effectiveAt": "2026-01-01T00:00:00Z",
        "events": events, "offset": 7, "synchronizerId": "global-domain::1220ee", "traceContext": null,
        "recordTime": "2026-01-01T00:00:00.000001Z"
    }))
    .unwrap()
}

fn treasury() -> PartyId {
    PartyId::new(TREASURY).unwrap()
}

fn a(s: &str) -> Amount {
    s.parse().unwrap()
}

/// A book holding one treasury holding `h1` of 10 GOLD, for archives to resolve.
fn book_with_h1() -> HoldingBook {
    let mut book = HoldingBook::default();
    let p = parse_transaction(
        &tx(vec![create_holding(0, "h1", TREASURY, "10.0")]),
        &treasury(),
        &NoLookup,
    )
    .unwrap();
    book.apply(&p);
    book
}

fn only_transfer(p: &ParsedTransaction) -> &exchange_core::parser::Transfer {
    assert_eq!(p.transfers.len(), 1, "{:#?}", p.transfers);
    &p.transfers[0]
}

#[test]
fn burn_unlock_and_expired_dust_of_our_holdings() {
    let book = book_with_h1();
    // Burn: 10 in, 7 back: 3 burned.
    let p = parse_transaction(
        &tx(vec![
            exercise(
                0,
                2,
                "rules",
                "Rules_Burn",
                false,
                tx_kind("burn", &[("burned", "3.0")]),
                &[TREASURY],
            ),
            archive(1, "h1"),
            create_holding(2, "h2", TREASURY, "7.0"),
        ]),
        &treasury(),
        &book,
    )
    .unwrap();
    let t = only_transfer(&p);
    assert_eq!(
        (t.kind, t.direction, t.amount),
        (TransferKind::Burn, Direction::Out, Some(a("3")))
    );
    assert_eq!(t.receiver.as_ref().unwrap().as_str(), ADMIN);
    assert!(p.unexplained.is_empty());

    // Unlock: the locked holding is archived (consumed by the choice itself), an unlocked one created.
    let p = parse_transaction(
        &tx(vec![
            exercise(
                0,
                1,
                "h1",
                "Gold_Unlock",
                true,
                tx_kind("unlock", &[("reason", "lock expired")]),
                &[TREASURY],
            ),
            create_holding(1, "h2", TREASURY, "10.0"),
        ]),
        &treasury(),
        &book,
    )
    .unwrap();
    let t = only_transfer(&p);
    assert_eq!(
        (t.kind, t.direction, t.amount),
        (TransferKind::Unlock, Direction::SelfTransfer, Some(a("10")))
    );
    assert_eq!(t.reason.as_deref(), Some("lock expired"));
    assert_eq!(p.holdings_archived.len(), 1);

    // Expired dust: the registry archives our holding.
    let p = parse_transaction(
        &tx(vec![exercise(
            0,
            0,
            "h1",
            "Gold_Expire",
            true,
            tx_kind("expire-dust", &[]),
            &[ADMIN],
        )]),
        &treasury(),
        &book,
    )
    .unwrap();
    let t = only_transfer(&p);
    assert_eq!(
        (t.kind, t.status, t.amount),
        (
            TransferKind::ExpireDust,
            TransferStatus::Expired,
            Some(a("10"))
        )
    );
}

#[test]
fn unknown_tx_kind_leaves_changes_unexplained() {
    let p = parse_transaction(
        &tx(vec![
            exercise(
                0,
                1,
                "rules",
                "Rules_Airdrop",
                false,
                tx_kind("airdrop", &[]),
                &[ADMIN],
            ),
            create_holding(1, "h9", TREASURY, "5.0"),
        ]),
        &treasury(),
        &NoLookup,
    )
    .unwrap();
    assert!(p.transfers.is_empty());
    assert_eq!(p.unexplained.len(), 1);
    assert_eq!(p.unexplained[0].context, "Rules_Airdrop");
    assert_eq!(p.holding_changes[0].net, a("5"));
}

#[test]
fn several_deposits_in_one_transaction_including_an_accepted_offer() {
    let mut book = HoldingBook::default();
    let offer = parse_transaction(
        &tx(vec![create_instruction(
            0, "ti1", BOB, TREASURY, "4.0", "acct-bob",
        )]),
        &treasury(),
        &book,
    )
    .unwrap();
    assert_eq!(only_transfer(&offer).status, TransferStatus::Pending);
    book.apply(&offer);

    let completed = json!({"output": {"tag": "TransferInstructionResult_Completed", "value": {"receiverHoldingCids": ["h4"]}},
                           "senderChangeCids": [], "meta": {"values": {}}});
    let p = parse_transaction(
        &tx(vec![
            exercise(
                0,
                1,
                "pre1",
                "Gold_Send",
                false,
                tx_kind("transfer", &[("sender", ALICE), ("reason", "acct-alice")]),
                &[ALICE],
            ),
            create_holding(1, "h3", TREASURY, "2.5"),
            exercise(
                2,
                3,
                "ti1",
                "TransferInstruction_Accept",
                true,
                completed,
                &[TREASURY],
            ),
            create_holding(3, "h4", TREASURY, "4.0"),
            exercise(
                4,
                5,
                "pre2",
                "Gold_Send",
                false,
                tx_kind("transfer", &[("sender", BOB), ("reason", "acct-bob-2")]),
                &[BOB],
            ),
            create_holding(5, "h5", TREASURY, "1.0"),
        ]),
        &treasury(),
        &book,
    )
    .unwrap();
    let got: Vec<_> = p
        .transfers
        .iter()
        .map(|t| {
            (
                t.sender.as_ref().unwrap().as_str(),
                t.amount.unwrap(),
                t.reason.as_deref(),
                t.status,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ALICE,
                a("2.5"),
                Some("acct-alice"),
                TransferStatus::Completed
            ),
            (BOB, a("4"), Some("acct-bob"), TransferStatus::Accepted),
            (BOB, a("1"), Some("acct-bob-2"), TransferStatus::Completed),
        ]
    );
    assert!(p.transfers.iter().all(|t| t.direction == Direction::In));
    assert_eq!(p.instructions_consumed.len(), 1);
    assert_eq!(p.holding_changes[0].net, a("7.5"));
}

#[test]
fn transfers_between_others_are_not_ours() {
    let p = parse_transaction(
        &tx(vec![
            exercise(
                0,
                2,
                "pre",
                "Gold_Send",
                false,
                tx_kind("transfer", &[("sender", ALICE)]),
                &[ALICE],
            ),
            create_holding(1, "x1", BOB, "3.0"),
            create_holding(2, "x2", ALICE, "1.0"),
        ]),
        &treasury(),
        &NoLookup,
    )
    .unwrap();
    assert!(p.transfers.is_empty() && p.unexplained.is_empty() && p.holding_changes.is_empty());
}

#[test]
fn outgoing_offer_fate_without_knowing_the_instruction() {
    // The treasury withdraws an offer the lookup does not know (e.g. created before a replay
    // started): the fate is still reported, with the instruction id, amount unknown.
    let failed = json!({"output": {"tag": "TransferInstructionResult_Failed", "value": {}}, "senderChangeCids": [], "meta": {"values": {}}});
    let p = parse_transaction(
        &tx(vec![exercise(
            0,
            0,
            "ti7",
            "TransferInstruction_Withdraw",
            true,
            failed,
            &[TREASURY],
        )]),
        &treasury(),
        &NoLookup,
    )
    .unwrap();
    let t = only_transfer(&p);
    assert_eq!(
        (t.direction, t.status),
        (Direction::Out, TransferStatus::Withdrawn)
    );
    assert_eq!(t.transfer_instruction_cid.as_ref().unwrap().as_str(), "ti7");
    assert_eq!(t.amount, None);
}

#[test]
fn malformed_trees_and_values_are_typed_errors() {
    let descending = tx(vec![
        create_holding(3, "a", TREASURY, "1.0"),
        create_holding(2, "b", TREASURY, "1.0"),
    ]);
    let err = parse_transaction(&descending, &treasury(), &NoLookup).unwrap_err();
    assert_eq!(err.node_id, Some(2));
    assert_eq!(err.update_id, "1220ff");

    let inverted = tx(vec![exercise(
        5,
        4,
        "c",
        "X",
        false,
        json!({}),
        &[TREASURY],
    )]);
    assert!(parse_transaction(&inverted, &treasury(), &NoLookup).is_err());

    let bad_amount = tx(vec![create_holding(0, "a", TREASURY, "1.00000000001")]);
    let err = parse_transaction(&bad_amount, &treasury(), &NoLookup).unwrap_err();
    assert!(
        err.to_string().contains("10 significant decimal places"),
        "{err}"
    );

    let factory_without_output = tx(vec![exercise(
        0,
        0,
        "f",
        "TransferFactory_Transfer",
        false,
        json!({}),
        &[TREASURY],
    )]);
    assert!(parse_transaction(&factory_without_output, &treasury(), &NoLookup).is_err());
}
