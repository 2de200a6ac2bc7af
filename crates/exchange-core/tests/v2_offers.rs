//! Token standard V2 offers (`Splice.Api.Token.TransferInstructionV2`) on hand-built
//! transactions, in the shapes the V2 interfaces define: a V2-only token's offer to the treasury
//! is pending, its accept (the V2 choice, nonconsuming, the instruction archived below it) is
//! accepted with the memo of the V2 leg, its reject, withdrawal and expiry end it, an instruction
//! its admin did not sign is held back, and a V1 + V2 instruction counts once.

mod v2_support;

use canton_ledger::JsTransaction;
use exchange_core::changeset::{AccountId, DepositState, Effect, InstructionState};
use exchange_core::ingest::{FoldConfig, Folded, Known, StateLookup, expire_due, fold};
use exchange_core::parser::{Direction, Standard, TransferKind, TransferStatus};
use exchange_core::{HoldingBook, ParsedTransaction, SynchronizerId, Timestamp};
use serde_json::{Value, json};
use v2_support::*;

const INSTRUCTION_V1: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction";
const INSTRUCTION_V2: &str = "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferInstruction";
const MEMO: &str = "customer-00000000042";
const OFFER: &str = "00offer";

/// An offer of `amount` V2TOK from `sender` to `receiver`, signed by `signer` and the sender,
/// with its V2 view (the memo in the transfer's meta), and its V1 view too when `with_v1`.
fn offer(node: i32, sender: &str, receiver: &str, signer: &str, with_v1: bool) -> Value {
    let basic = |p: &str| json!({"owner": p, "provider": null, "id": ""});
    let meta = json!({"values": {"splice.lfdecentralizedtrust.org/reason": MEMO}});
    let instrument = json!({"admin": ISSUER, "id": "V2TOK"});
    let times = ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
    let status = json!({"code": 0, "message": "", "details": []});
    // `availableActions` is a map with non-text keys: `[key, value]` pairs.
    let v2_view = json!({"originalInstructionCid": null,
        "transfer": {"sender": basic(sender), "receiver": basic(receiver), "amount": "25.0",
            "instrumentId": instrument, "requestedAt": times.0, "executeBefore": times.1,
            "inputHoldingCids": [], "meta": meta},
        "expiresAt": times.1,
        "availableActions": [
            [{"tag": "TIA_Withdraw", "value": {}}, [[sender]]],
            [{"tag": "TIA_Accept", "value": {}}, [[receiver]]],
            [{"tag": "TIA_Reject", "value": {}}, [[receiver]]]],
        "meta": {"values": {}}});
    let mut views = vec![json!({"interfaceId": INSTRUCTION_V2, "viewStatus": status,
        "viewValue": v2_view})];
    if with_v1 {
        let v1_view = json!({"originalInstructionCid": null,
            "transfer": {"sender": sender, "receiver": receiver, "amount": "25.0",
                "instrumentId": instrument, "requestedAt": times.0, "executeBefore": times.1,
                "inputHoldingCids": [], "meta": meta},
            "status": {"tag": "TransferPendingReceiverAcceptance", "value": {}},
            "meta": {"values": {}}});
        views.insert(
            0,
            json!({"interfaceId": INSTRUCTION_V1, "viewStatus": status, "viewValue": v1_view}),
        );
    }
    json!({"CreatedEvent": {
        "offset": 7, "nodeId": node, "contractId": OFFER, "templateId": "abc:V2.Token:Offer",
        "createArgument": {}, "interfaceViews": views, "witnessParties": [TREASURY],
        "signatories": [signer, sender], "observers": [receiver],
        "createdAt": "2026-01-01T00:00:00Z", "packageName": "gold-token"}})
}

fn result(output: &str) -> Value {
    let value = match output {
        "TransferInstructionResult_Completed" => json!({"receiverHoldingCids": ["t1"]}),
        _ => json!({}),
    };
    json!({"output": {"tag": output, "value": value}, "senderChangeCids": [],
        "meta": {"values": {}}})
}

/// An instruction choice on the offer through `interface` (nonconsuming through V2's).
fn choice(node: i32, last: i32, interface: &str, name: &str, output: &str, actor: &str) -> Value {
    let consuming = interface == INSTRUCTION_V1;
    json!({"ExercisedEvent": {
        "offset": 7, "nodeId": node, "contractId": OFFER, "templateId": "abc:V2.Token:Offer",
        "interfaceId": interface, "choice": name,
        "choiceArgument": {"actors": [actor], "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}},
        "actingParties": [actor], "consuming": consuming,
        "witnessParties": [TREASURY], "lastDescendantNodeId": last,
        "exerciseResult": result(output), "packageName": "gold-token",
        "implementedInterfaces": [INSTRUCTION_V2]}})
}

/// The registry's own archive of the offer, under a V2 choice (which is nonconsuming).
fn offer_archived(node: i32, actor: &str) -> Value {
    json!({"ExercisedEvent": {
        "offset": 7, "nodeId": node, "contractId": OFFER, "templateId": "abc:V2.Token:Offer",
        "interfaceId": null, "choice": "Archive", "choiceArgument": {},
        "actingParties": [actor, ISSUER], "consuming": true, "witnessParties": [TREASURY],
        "lastDescendantNodeId": node, "exerciseResult": {}, "packageName": "gold-token",
        "implementedInterfaces": [INSTRUCTION_V2]}})
}

fn v2tok(cid: &'static str) -> H<'static> {
    H {
        cid,
        owner: TREASURY,
        admin: ISSUER,
        id: "V2TOK",
        amount: "25.0",
        locked: false,
    }
}

/// The V2 event of the accept on the treasury's account: 25 V2TOK from alice, the memo in the
/// leg's meta as `leg_memo`.
fn accept_event(node: i32, leg_memo: &str) -> Value {
    holdings_change(Change {
        node,
        acting: &[ISSUER],
        admin: ISSUER,
        owner: TREASURY,
        inputs: &[],
        outputs: &["t1"],
        legs: vec![from_alice("25.0", "V2TOK", Some(leg_memo))],
        reason: None,
    })
}

/// The treasury accepts the offer through the V2 interface (a V2-only token).
fn v2_accept(leg_memo: &str) -> JsTransaction {
    let accept = "TransferInstruction_Accept";
    tx(vec![
        choice(
            0,
            3,
            INSTRUCTION_V2,
            accept,
            "TransferInstructionResult_Completed",
            TREASURY,
        ),
        offer_archived(1, TREASURY),
        create(2, v2tok("t1"), ISSUER, true),
        accept_event(3, leg_memo),
    ])
}

/// A book that knows the pending offer, as ingestion's lookup does after its create.
fn book_with_offer(with_v1: bool) -> HoldingBook {
    let mut book = HoldingBook::default();
    let created = tx(vec![offer(0, ALICE, TREASURY, ISSUER, with_v1)]);
    book.apply(&parse(&created, &HoldingBook::default()));
    book
}

fn only(p: &ParsedTransaction) -> &exchange_core::parser::Transfer {
    assert_eq!(p.transfers.len(), 1, "{:#?}", p.transfers);
    &p.transfers[0]
}

#[test]
fn a_v2_only_offer_to_the_treasury_is_pending() {
    let p = with_onboarded(
        &tx(vec![offer(0, ALICE, TREASURY, ISSUER, false)]),
        &HoldingBook::default(),
    );
    let t = only(&p);
    assert_eq!(
        (t.direction, t.kind, t.status, t.read_from),
        (
            Direction::In,
            TransferKind::Transfer,
            TransferStatus::Pending,
            Standard::V2
        )
    );
    assert_eq!(t.transfer_instruction_cid, Some(cid(OFFER)));
    assert_eq!(t.amount, Some(a("25")));
    assert_eq!(t.instrument, Some(instrument(ISSUER, "V2TOK")));
    assert_eq!(t.sender, Some(party(ALICE)));
    assert_eq!(t.reason.as_deref(), Some(MEMO));
    let i = &p.instructions_created[0];
    // V2 has no status: the receiver alone may accept, so it awaits the receiver.
    assert_eq!(i.status, "TransferPendingReceiverAcceptance");
    assert_eq!(
        i.transfer.execute_before.to_string(),
        "2026-01-02T00:00:00Z"
    );
}

#[test]
fn the_v2_accept_of_a_v2_only_offer_is_accepted_with_the_memo_of_the_v2_leg() {
    let book = book_with_offer(false);
    let p = with_onboarded(&v2_accept(MEMO), &book);
    let t = only(&p);
    assert_eq!(
        (t.direction, t.status, t.read_from, t.amount),
        (
            Direction::In,
            TransferStatus::Accepted,
            Standard::V2,
            Some(a("25"))
        )
    );
    assert_eq!(t.transfer_instruction_cid, Some(cid(OFFER)));
    assert_eq!(t.choice, "TransferInstruction_Accept");
    assert_eq!(t.v2_leg.as_ref().map(|l| l.event_node_id), Some(3));
    assert_eq!(p.instructions_consumed, vec![cid(OFFER)]);
    assert!(p.unexplained.is_empty(), "{:?}", p.unexplained);
    assert_eq!(p.read_from_v2, vec![instrument(ISSUER, "V2TOK")]);

    // The memo is the V2 leg's: with the offer unknown to the lookup (no V1 memo at all), and
    // where the leg's differs from the offer's.
    let p = with_onboarded(&v2_accept(MEMO), &HoldingBook::default());
    assert_eq!(only(&p).reason.as_deref(), Some(MEMO));
    assert_eq!(only(&p).status, TransferStatus::Accepted);
    let p = with_onboarded(&v2_accept("customer-7"), &book);
    assert_eq!(only(&p).reason.as_deref(), Some("customer-7"));
}

#[test]
fn reject_and_withdraw_of_a_v2_only_offer_end_it() {
    let book = book_with_offer(false);
    for (name, actor, status) in [
        (
            "TransferInstruction_Reject",
            TREASURY,
            TransferStatus::Rejected,
        ),
        (
            "TransferInstruction_Withdraw",
            ALICE,
            TransferStatus::Withdrawn,
        ),
    ] {
        let t = tx(vec![
            choice(
                0,
                1,
                INSTRUCTION_V2,
                name,
                "TransferInstructionResult_Failed",
                actor,
            ),
            offer_archived(1, actor),
        ]);
        let p = with_onboarded(&t, &book);
        let got = only(&p);
        assert_eq!(
            (got.direction, got.status, got.read_from),
            (Direction::In, status, Standard::V2),
            "{name}"
        );
        assert_eq!(got.transfer_instruction_cid, Some(cid(OFFER)));
        assert_eq!(got.reason.as_deref(), Some(MEMO));
        assert_eq!(p.instructions_consumed, vec![cid(OFFER)]);
    }
}

#[test]
fn the_treasury_s_own_v2_offer_is_accepted_by_its_receiver() {
    // A withdrawal paid by offer: the receiver's V2 accept is the treasury's outgoing transfer.
    let mut book = HoldingBook::default();
    book.apply(&parse(
        &tx(vec![offer(0, TREASURY, ALICE, ISSUER, false)]),
        &HoldingBook::default(),
    ));
    let t = tx(vec![
        choice(
            0,
            1,
            INSTRUCTION_V2,
            "TransferInstruction_Accept",
            "TransferInstructionResult_Completed",
            ALICE,
        ),
        offer_archived(1, ALICE),
    ]);
    let p = with_onboarded(&t, &book);
    let got = only(&p);
    assert_eq!(
        (got.direction, got.status, got.read_from),
        (Direction::Out, TransferStatus::Accepted, Standard::V2)
    );
    assert_eq!(got.receiver, Some(party(ALICE)));
    assert_eq!(got.transfer_instruction_cid, Some(cid(OFFER)));
}

#[test]
fn a_v1_and_v2_offer_counts_once() {
    // Both views on one contract: one instruction, one pending transfer, read from V1.
    let p = with_onboarded(
        &tx(vec![offer(0, ALICE, TREASURY, ISSUER, true)]),
        &HoldingBook::default(),
    );
    assert_eq!(p.instructions_created.len(), 1);
    assert_eq!(only(&p).read_from, Standard::V1);

    // Amulet's accept: the V2 choice exercises the V1 choice on the same contract; the V1 choice
    // explains it, once, and the V2 event of the same movement takes its place.
    let accept = "TransferInstruction_Accept";
    let completed = "TransferInstructionResult_Completed";
    let t = tx(vec![
        choice(0, 3, INSTRUCTION_V2, accept, completed, TREASURY),
        choice(1, 3, INSTRUCTION_V1, accept, completed, TREASURY),
        create(2, v2tok("t1"), ISSUER, false),
        accept_event(3, MEMO),
    ]);
    let p = with_onboarded(&t, &book_with_offer(true));
    let got = only(&p);
    assert_eq!((got.node_id, got.status), (1, TransferStatus::Accepted));
    assert_eq!(got.read_from, Standard::V2);
    assert_eq!(p.instructions_consumed, vec![cid(OFFER)]);
}

// Ingestion

fn config() -> FoldConfig {
    let mut config = FoldConfig::new(party(TREASURY));
    config.onboarded = onboarded();
    config
}

/// Parses (with the onboarded tokens, as ingestion does) and folds each transaction in turn.
fn ingest(known: &mut Known, txs: &[JsTransaction]) -> Vec<Folded> {
    let config = config();
    let mut out = Vec::new();
    for t in txs {
        let state = StateLookup {
            state: &*known,
            treasury: &config.treasury,
        };
        let with = exchange_core::book::WithOnboarded(&state, &config.onboarded);
        let parsed = exchange_core::parse_transaction(t, &config.treasury, &with).unwrap();
        let folded = fold(&parsed, known, &config);
        known.absorb(&folded.changes);
        out.push(folded);
    }
    out
}

/// `t` as the ledger's update `id` at `offset`, a second apart (ingestion skips what is not
/// past its record time).
fn at(mut t: JsTransaction, id: &str, offset: i64) -> JsTransaction {
    t.update_id = id.into();
    t.offset = offset;
    t.record_time = format!("2026-01-01T00:00:{offset:02}.000001Z");
    t
}

fn deposit_states(f: &Folded) -> Vec<DepositState> {
    let effects = f.changes.effects.iter();
    effects
        .filter_map(|e| match e {
            Effect::DepositRecorded(d) => Some(d.state),
            Effect::DepositUpdated { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

fn instruction_states(f: &[Effect]) -> Vec<InstructionState> {
    let effects = f.iter();
    effects
        .filter_map(|e| match e {
            Effect::TransferInstruction(i) => Some(i.state),
            _ => None,
        })
        .collect()
}

fn known_with_account() -> Known {
    let mut known = Known::default();
    known.accounts.insert(AccountId::new(MEMO).unwrap());
    known
}

#[test]
fn ingestion_offers_then_credits_a_v2_only_deposit() {
    let mut known = known_with_account();
    let created = at(
        tx(vec![offer(0, ALICE, TREASURY, ISSUER, false)]),
        "1220a1",
        7,
    );
    let accepted = at(v2_accept(MEMO), "1220a2", 8);
    let folded = ingest(&mut known, &[created, accepted]);
    for f in &folded {
        assert!(f.anomalies.is_empty(), "{:?}", f.anomalies);
        assert!(f.held_back.is_empty(), "{:?}", f.held_back);
    }
    assert_eq!(deposit_states(&folded[0]), vec![DepositState::Offered]);
    assert_eq!(
        deposit_states(&folded[1]),
        vec![DepositState::Credited],
        "{:#?}",
        folded[1]
    );
    let journal = folded[1].changes.effects.iter();
    assert_eq!(
        journal.filter(|e| matches!(e, Effect::Journal(_))).count(),
        1
    );
}

/// The standard an offer is recorded with says how the automation accepts it: V2's interface
/// for an instruction with no V1 view, V1's when it has one (both views: one offer, V1's).
#[test]
fn offers_are_recorded_with_the_standard_to_accept_them_through() {
    for (with_v1, expected) in [(false, Standard::V2), (true, Standard::V1)] {
        let mut known = known_with_account();
        let created = at(
            tx(vec![offer(0, ALICE, TREASURY, ISSUER, with_v1)]),
            "1220a1",
            7,
        );
        let folded = ingest(&mut known, &[created]);
        let recorded: Vec<_> = folded[0]
            .changes
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::TransferInstruction(i) => Some((i.state, i.read_from)),
                _ => None,
            })
            .collect();
        assert_eq!(
            recorded,
            [(InstructionState::Pending, expected)],
            "with a V1 view: {with_v1}"
        );
    }
}

#[test]
fn a_v2_only_offer_expires_on_the_record_time() {
    let mut known = known_with_account();
    let created = at(
        tx(vec![offer(0, ALICE, TREASURY, ISSUER, false)]),
        "1220a1",
        7,
    );
    ingest(&mut known, &[created]);
    assert!(expire_due(&known).effects.is_empty(), "not due yet");
    // Past `executeBefore` plus the ledger-time tolerance on the offer's synchronizer.
    let sync = SynchronizerId::new("global-domain::1220ee").unwrap();
    let late: Timestamp = "2026-01-02T00:01:00.000001Z".parse().unwrap();
    known.record_times.insert(sync, late);
    let due = expire_due(&known);
    assert_eq!(
        instruction_states(&due.effects),
        vec![InstructionState::Expired]
    );
    let cancelled = due.effects.iter().any(|e| {
        matches!(
            e,
            Effect::DepositUpdated {
                state: DepositState::Cancelled,
                ..
            }
        )
    });
    assert!(cancelled, "{:?}", due.effects);
}

#[test]
fn a_v2_offer_its_admin_did_not_sign_is_held_back() {
    // Signed by alice alone, claiming the issuer's token: a counterfeit, held back (recorded
    // as unrecognized, never accepted or credited), and not an anomaly.
    let mut known = known_with_account();
    let forged = at(
        tx(vec![offer(0, ALICE, TREASURY, ALICE, false)]),
        "1220a1",
        7,
    );
    let folded = ingest(&mut known, &[forged]);
    assert_eq!(deposit_states(&folded[0]), vec![DepositState::Unrecognized]);
    assert_eq!(folded[0].held_back.len(), 1, "{:?}", folded[0].held_back);
    assert!(folded[0].held_back[0].what.contains("not a signatory"));
    assert!(folded[0].anomalies.is_empty());

    // Its admin's, the same offer is an ordinary one.
    let mut known = known_with_account();
    let genuine = at(
        tx(vec![offer(0, ALICE, TREASURY, ISSUER, false)]),
        "1220a1",
        7,
    );
    let folded = ingest(&mut known, &[genuine]);
    assert_eq!(deposit_states(&folded[0]), vec![DepositState::Offered]);
}
