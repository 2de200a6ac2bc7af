//! Builders of token standard V2 transactions in the shapes of the splice-cli 0.6.11 recording.
#![allow(dead_code)]

use canton_ledger::JsTransaction;
use exchange_core::book::WithOnboarded;
use exchange_core::parser::{
    ContractLookup, Direction, Standard, Transfer, TransferKind, Untrusted,
};
use exchange_core::tokens::{Onboarded, OnboardedToken, TokenTransferKind};
use exchange_core::{
    Amount, ContractId, HoldingBook, InstrumentId, ParsedTransaction, PartyId, parse_transaction,
};
use serde_json::{Value, json};

pub const TREASURY: &str = "treasury::1220aa";
pub const ALICE: &str = "alice::1220bb";
pub const ADMIN: &str = "registry::1220dd";
pub const OTHER_ADMIN: &str = "silverworks::1220ee";
pub const ISSUER: &str = "v2issuer::1220ff";
pub const HOLDING_V1: &str = "#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding";
pub const HOLDING_V2: &str = "#splice-api-token-holding-v2:Splice.Api.Token.HoldingV2:Holding";
pub const EVENT_LOG: &str =
    "#splice-api-token-transfer-events-v2:Splice.Api.Token.TransferEventsV2:EventLog";

pub fn party(s: &str) -> PartyId {
    PartyId::new(s).unwrap()
}

pub fn a(s: &str) -> Amount {
    s.parse().unwrap()
}

pub fn instrument(admin: &str, id: &str) -> InstrumentId {
    InstrumentId {
        admin: party(admin),
        id: id.into(),
    }
}

/// GOLD of ADMIN, SILVER of OTHER_ADMIN and the V2-only V2TOK of ISSUER.
pub fn onboarded() -> Onboarded {
    let token = |admin, id| OnboardedToken {
        instrument: instrument(admin, id),
        registry_url: "http://registry".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["gold-token".to_owned()].into(),
    };
    Onboarded::new([
        token(ADMIN, "GOLD"),
        token(OTHER_ADMIN, "SILVER"),
        token(ISSUER, "V2TOK"),
    ])
}

#[derive(Clone, Copy)]
pub struct H<'a> {
    pub cid: &'a str,
    pub owner: &'a str,
    pub admin: &'a str,
    pub id: &'a str,
    pub amount: &'a str,
    pub locked: bool,
}

pub fn gold<'a>(cid: &'a str, amount: &'a str) -> H<'a> {
    H {
        cid,
        owner: TREASURY,
        admin: ADMIN,
        id: "GOLD",
        amount,
        locked: false,
    }
}

/// A holding's create, with its V1 view unless `v2_only`, and its V2 view; signed by `signer`.
pub fn create(node: i32, h: H<'_>, signer: &str, v2_only: bool) -> Value {
    let lock = if h.locked {
        json!({"holders": [h.admin], "expiresAt": null, "expiresAfter": null, "context": "offer"})
    } else {
        Value::Null
    };
    let instrument = json!({"admin": h.admin, "id": h.id});
    let status = json!({"code": 0, "message": "", "details": []});
    let mut views = vec![json!({"interfaceId": HOLDING_V2, "viewStatus": status,
        "viewValue": {"account": {"owner": h.owner, "provider": null, "id": ""},
            "instrumentId": instrument, "amount": h.amount, "lock": lock, "meta": {"values": {}}}})];
    if !v2_only {
        views.insert(
            0,
            json!({"interfaceId": HOLDING_V1, "viewStatus": status,
            "viewValue": {"owner": h.owner, "instrumentId": instrument, "amount": h.amount,
                "lock": lock, "meta": {"values": {}}}}),
        );
    }
    json!({"CreatedEvent": {
        "offset": 7, "nodeId": node, "contractId": h.cid, "templateId": "abc:Gold.Token:Holding",
        "createArgument": {}, "interfaceViews": views, "witnessParties": [TREASURY],
        "signatories": [signer, h.owner], "observers": [], "createdAt": "2026-01-01T00:00:00Z",
        "packageName": "gold-token"}})
}

pub fn exercise(node: i32, last: i32, choice: &str, result: Value, acting: &[&str]) -> Value {
    json!({"ExercisedEvent": {
        "offset": 7, "nodeId": node, "contractId": "rules", "templateId": "abc:Gold.Token:Rules",
        "interfaceId": null, "choice": choice, "choiceArgument": {}, "actingParties": acting,
        "consuming": false, "witnessParties": [TREASURY], "lastDescendantNodeId": last,
        "exerciseResult": result, "packageName": "gold-token", "implementedInterfaces": []}})
}

pub fn archive(node: i32, cid: &str) -> Value {
    json!({"ExercisedEvent": {
        "offset": 7, "nodeId": node, "contractId": cid, "templateId": "abc:Gold.Token:Holding",
        "interfaceId": null, "choice": "Archive", "choiceArgument": {},
        "actingParties": [TREASURY], "consuming": true, "witnessParties": [TREASURY],
        "lastDescendantNodeId": node, "exerciseResult": {}, "packageName": "gold-token",
        "implementedInterfaces": [HOLDING_V1, HOLDING_V2]}})
}

/// The result of a registry choice with a V1 `tx-kind: transfer` label.
pub fn v1_transfer(sender: &str, reason: Option<&str>) -> Value {
    let mut values = json!({"splice.lfdecentralizedtrust.org/tx-kind": "transfer",
        "splice.lfdecentralizedtrust.org/sender": sender});
    if let Some(r) = reason {
        values["splice.lfdecentralizedtrust.org/reason"] = json!(r);
    }
    json!({"meta": {"values": values}})
}

pub fn account(owner: Option<&str>, id: &str) -> Value {
    json!({"owner": owner, "provider": null, "id": id})
}

pub fn leg(side: &str, otherside: Value, amount: &str, id: &str, reason: Option<&str>) -> Value {
    let meta = match reason {
        Some(r) => json!({"values": {"splice.lfdecentralizedtrust.org/reason": r}}),
        None => json!({"values": {}}),
    };
    json!({"transferLegId": "leg0", "side": side, "otherside": otherside, "amount": amount,
        "instrumentId": id, "meta": meta})
}

pub struct Change<'a> {
    pub node: i32,
    pub acting: &'a [&'a str],
    pub admin: &'a str,
    pub owner: &'a str,
    pub inputs: &'a [&'a str],
    pub outputs: &'a [&'a str],
    pub legs: Vec<Value>,
    pub reason: Option<&'a str>,
}

pub fn holdings_change(c: Change<'_>) -> Value {
    let meta = match c.reason {
        Some(r) => json!({"values": {"splice.lfdecentralizedtrust.org/reason": r}}),
        None => json!({"values": {}}),
    };
    json!({"ExercisedEvent": {
        "offset": 7, "nodeId": c.node, "contractId": "log", "templateId": "abc:Gold.Token:Rules",
        "interfaceId": EVENT_LOG, "choice": "EventLog_HoldingsChange",
        "choiceArgument": {"admin": c.admin, "account": account(Some(c.owner), ""),
            "inputHoldingCids": c.inputs, "outputHoldingCids": c.outputs,
            "transferLegSides": c.legs, "observers": [c.owner],
            "extraArgs": {"context": {"values": {}}, "meta": meta}},
        "actingParties": c.acting, "consuming": false, "witnessParties": [TREASURY],
        "lastDescendantNodeId": c.node, "exerciseResult": {}, "packageName": "gold-token",
        "implementedInterfaces": []}})
}

/// `amount` GOLD received by the treasury from alice, reported by `acting`.
pub fn gold_in(
    node: i32,
    acting: &'static [&'static str],
    outputs: &'static [&'static str],
) -> Change<'static> {
    Change {
        node,
        acting,
        admin: ADMIN,
        owner: TREASURY,
        inputs: &[],
        outputs,
        legs: Vec::new(),
        reason: None,
    }
}

pub fn tx(events: Vec<Value>) -> JsTransaction {
    serde_json::from_value(json!({
        "updateId": "1220ff", "commandId": "", "workflowId": "", "effectiveAt": "2026-01-01T00:00:00Z",
        "events": events, "offset": 7, "synchronizerId": "global-domain::1220ee", "traceContext": null,
        "recordTime": "2026-01-01T00:00:00.000001Z"
    }))
    .unwrap()
}

pub fn parse(t: &JsTransaction, lookup: &dyn ContractLookup) -> ParsedTransaction {
    parse_transaction(t, &party(TREASURY), lookup).unwrap()
}

pub fn with_onboarded(t: &JsTransaction, book: &HoldingBook) -> ParsedTransaction {
    parse(t, &WithOnboarded(book, &onboarded()))
}

pub fn from_alice(amount: &str, id: &str, reason: Option<&str>) -> Value {
    leg("ReceiverSide", account(Some(ALICE), ""), amount, id, reason)
}

pub fn summary(t: &Transfer) -> (Direction, TransferKind, Standard, Amount) {
    (t.direction, t.kind, t.read_from, t.amount.unwrap())
}

pub fn why(p: &ParsedTransaction) -> Vec<(i32, Untrusted)> {
    let list = p.untrusted_events.iter();
    list.map(|u| (u.node_id, u.why.clone())).collect()
}

pub fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

/// A 1-step deposit of 50 GOLD labelled in V1, with a V2 event `change` at node 2.
pub fn deposit_with(change: Change<'_>, v1_reason: Option<&str>) -> JsTransaction {
    tx(vec![
        exercise(0, 3, "Rules_Send", v1_transfer(ALICE, v1_reason), &[ALICE]),
        create(1, gold("d1", "50.0"), ADMIN, false),
        holdings_change(change),
        // Alice's own account: none of the treasury's business, neither read nor reported.
        holdings_change(Change {
            owner: ALICE,
            ..gold_in(3, &[ADMIN], &[])
        }),
    ])
}

/// A book with the treasury's holding `h` (created by ADMIN).
pub fn book_with(h: H<'_>) -> HoldingBook {
    let mut book = HoldingBook::default();
    book.apply(&parse(
        &tx(vec![create(0, h, ADMIN, false)]),
        &HoldingBook::default(),
    ));
    book
}
