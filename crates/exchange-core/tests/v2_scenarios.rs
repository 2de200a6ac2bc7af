//! Token standard V2 on hand-built transactions (in the shapes of the splice-cli 0.6.11
//! recording): forged and foreign `EventLog_HoldingsChange` events are reported and never
//! credited, a V2-only token is read from V2 alone, V1 and V2 signals of one transfer count once,
//! the memo comes from the leg's meta, and mint, burn, lock and unlock come out as the kinds the
//! V1 reading has.

mod v2_support;

use exchange_core::HoldingBook;
use exchange_core::parser::{Direction, Standard, TransferKind, TransferStatus, Untrusted};
use serde_json::json;
use v2_support::*;

#[test]
fn a_forged_event_is_reported_and_the_v1_reading_stands() {
    let forged = Change {
        legs: vec![from_alice("5000.0", "GOLD", Some("forged"))],
        ..gold_in(2, &[ALICE], &["d1"])
    };
    let p = with_onboarded(&deposit_with(forged, None), &HoldingBook::default());
    let acting = vec![ALICE.to_owned()];
    assert_eq!(
        why(&p),
        vec![(
            2,
            Untrusted::NotExercisedByAdmin {
                acting_parties: acting
            }
        )]
    );
    assert_eq!(p.untrusted_events[0].admin.as_deref(), Some(ADMIN));
    let t = &p.transfers;
    assert_eq!(t.len(), 1, "{t:#?}");
    let want = (Direction::In, TransferKind::Transfer, Standard::V1, a("50"));
    assert_eq!(summary(&t[0]), want);
    assert!(p.read_from_v2.is_empty());

    // Co-signed by the admin and someone else: not the admin alone either.
    let co_signed = Change {
        legs: vec![from_alice("50.0", "GOLD", None)],
        ..gold_in(2, &[ADMIN, ALICE], &["d1"])
    };
    let p = with_onboarded(&deposit_with(co_signed, None), &HoldingBook::default());
    assert!(matches!(
        why(&p)[..],
        [(2, Untrusted::NotExercisedByAdmin { .. })]
    ));
    assert_eq!(p.transfers[0].read_from, Standard::V1);
}

#[test]
fn an_event_naming_another_admins_holding_is_not_trusted() {
    let silver = H {
        admin: OTHER_ADMIN,
        id: "SILVER",
        ..gold("s1", "50.0")
    };
    let t = tx(vec![
        create(0, silver, OTHER_ADMIN, false),
        holdings_change(Change {
            legs: vec![from_alice("50.0", "GOLD", None)],
            ..gold_in(1, &[ADMIN], &["s1"])
        }),
    ]);
    let p = with_onboarded(&t, &HoldingBook::default());
    let foreign = Untrusted::ForeignHolding {
        contract_id: cid("s1"),
    };
    assert_eq!(why(&p), vec![(1, foreign.clone())]);
    assert!(p.transfers.is_empty());
    // The create stays unexplained: nobody trustworthy explained it.
    assert_eq!(p.unexplained.len(), 1);

    // A holding claiming GOLD that ADMIN did not sign (a counterfeit) is foreign too.
    let t = tx(vec![
        create(0, gold("f1", "50.0"), ALICE, false),
        holdings_change(Change {
            legs: vec![from_alice("50.0", "GOLD", None)],
            ..gold_in(1, &[ADMIN], &["f1"])
        }),
    ]);
    let p = with_onboarded(&t, &HoldingBook::default());
    let counterfeit = Untrusted::ForeignHolding {
        contract_id: cid("f1"),
    };
    assert_eq!(why(&p), vec![(1, counterfeit)]);
    assert!(p.transfers.is_empty());
}

#[test]
fn an_event_of_a_pair_not_onboarded_is_not_trusted() {
    let copper = H {
        id: "COPPER",
        ..gold("c1", "50.0")
    };
    let t = tx(vec![
        create(0, copper, ADMIN, false),
        holdings_change(Change {
            legs: vec![from_alice("50.0", "COPPER", None)],
            ..gold_in(1, &[ADMIN], &["c1"])
        }),
    ]);
    let p = with_onboarded(&t, &HoldingBook::default());
    let not_onboarded = Untrusted::InstrumentNotOnboarded {
        instrument: instrument(ADMIN, "COPPER"),
    };
    assert_eq!(why(&p), vec![(1, not_onboarded.clone())]);
    assert!(p.transfers.is_empty());
    // Named by a leg alone, the pair is judged too.
    let t = tx(vec![holdings_change(Change {
        legs: vec![from_alice("50.0", "COPPER", None)],
        ..gold_in(0, &[ADMIN], &[])
    })]);
    let p = with_onboarded(&t, &HoldingBook::default());
    assert_eq!(why(&p), vec![(0, not_onboarded)]);

    // An admin of nothing onboarded, acting alone.
    const NOBODY: &str = "nobody::1220ab";
    let t = tx(vec![holdings_change(Change {
        admin: NOBODY,
        legs: vec![from_alice("50.0", "GOLD", None)],
        ..gold_in(0, &[NOBODY], &[])
    })]);
    let p = with_onboarded(&t, &HoldingBook::default());
    assert_eq!(why(&p), vec![(0, Untrusted::AdminNotOnboarded)]);
    assert!(p.transfers.is_empty());
}

#[test]
fn a_v2_only_token_is_read_fully_from_v2() {
    let v2tok = H {
        admin: ISSUER,
        id: "V2TOK",
        ..gold("t1", "25.0")
    };
    // A V2 `TransferFactory_Transfer`: V1's choice name with a V2 argument (accounts, not
    // parties), which the V1 reading must leave to the V2 events.
    let factory = json!({"ExercisedEvent": {
        "offset": 7, "nodeId": 0, "contractId": "factory", "templateId": "abc:V2Tok:Factory",
        "interfaceId": "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferFactory",
        "choice": "TransferFactory_Transfer",
        "choiceArgument": {"transfer": {"sender": account(Some(ALICE), ""), "receiver": account(Some(TREASURY), ""),
            "amount": "25.0", "instrumentId": {"admin": ISSUER, "id": "V2TOK"},
            "requestedAt": "2026-01-01T00:00:00Z", "executeBefore": "2026-01-02T00:00:00Z",
            "inputHoldingCids": [], "meta": {"values": {}}}, "actors": [ALICE],
            "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}},
        "actingParties": [ALICE], "consuming": false, "witnessParties": [TREASURY],
        "lastDescendantNodeId": 2,
        "exerciseResult": {"output": {"tag": "TransferInstructionResult_Completed",
            "value": {"receiverHoldingCids": ["t1"]}}, "senderChangeCids": [], "meta": {"values": {}}},
        "packageName": "v2tok", "implementedInterfaces": []}});
    let t = tx(vec![
        factory,
        create(1, v2tok, ISSUER, true),
        holdings_change(Change {
            admin: ISSUER,
            legs: vec![from_alice("25.0", "V2TOK", Some("acct-7"))],
            ..gold_in(2, &[ISSUER], &["t1"])
        }),
    ]);
    let p = with_onboarded(&t, &HoldingBook::default());
    assert!(p.untrusted_events.is_empty(), "{:?}", p.untrusted_events);
    assert_eq!(p.holdings_created.len(), 1, "the V2 view is a holding");
    assert_eq!(p.holdings_created[0].owner, party(TREASURY));
    assert_eq!(p.holding_changes[0].net, a("25"));
    let t0 = &p.transfers;
    assert_eq!(t0.len(), 1, "{t0:#?}");
    let want = (Direction::In, TransferKind::Transfer, Standard::V2, a("25"));
    assert_eq!(summary(&t0[0]), want);
    assert_eq!(t0[0].sender, Some(party(ALICE)));
    assert_eq!(t0[0].reason.as_deref(), Some("acct-7"));
    assert_eq!(t0[0].status, TransferStatus::Completed);
    assert_eq!(t0[0].instrument, Some(instrument(ISSUER, "V2TOK")));
    assert!(p.unexplained.is_empty(), "{:?}", p.unexplained);
    assert_eq!(p.read_from_v2, vec![instrument(ISSUER, "V2TOK")]);

    // Without the onboarded instruments nobody vouches for the event: V1 sees an unexplained
    // holding and no transfer.
    let p = parse(&t, &HoldingBook::default());
    assert!(p.transfers.is_empty());
    assert_eq!(p.unexplained.len(), 1);
}

#[test]
fn v1_and_v2_signals_of_one_deposit_count_once() {
    let change = Change {
        legs: vec![from_alice("50.0", "GOLD", Some("acct-1"))],
        ..gold_in(2, &[ADMIN], &["d1"])
    };
    let t = deposit_with(change, Some("acct-1"));
    let p = with_onboarded(&t, &HoldingBook::default());
    assert!(p.untrusted_events.is_empty(), "{:?}", p.untrusted_events);
    assert_eq!(p.transfers.len(), 1, "{:#?}", p.transfers);
    let d = &p.transfers[0];
    let want = (Direction::In, TransferKind::Transfer, Standard::V2, a("50"));
    assert_eq!(summary(d), want);
    // The V1 choice's node and name: ingestion's deposit id does not depend on the standard.
    let v1 = parse(&t, &HoldingBook::default());
    assert_eq!((d.node_id, &d.choice), (0, &"Rules_Send".to_owned()));
    assert_eq!(v1.transfers[0].node_id, d.node_id);
    assert_eq!(d.v2_leg.as_ref().unwrap().event_node_id, 2);
}

#[test]
fn the_memo_comes_from_the_v2_leg_meta() {
    let change = Change {
        legs: vec![from_alice("50.0", "GOLD", Some("acct-9"))],
        ..gold_in(2, &[ADMIN], &["d1"])
    };
    let p = with_onboarded(&deposit_with(change, None), &HoldingBook::default());
    let d = &p.transfers[0];
    assert_eq!(d.read_from, Standard::V2);
    assert_eq!(d.reason.as_deref(), Some("acct-9"));
    let leg = d.v2_leg.as_ref().unwrap().leg.as_ref().unwrap();
    assert_eq!(leg.reason(), Some("acct-9"));
    assert_eq!(
        d.meta
            .get("splice.lfdecentralizedtrust.org/reason")
            .map(String::as_str),
        Some("acct-9")
    );
}

#[test]
fn events_that_do_not_add_up_are_not_trusted() {
    // Its legs say 500, its holdings 50.
    let unbalanced = Change {
        legs: vec![from_alice("500.0", "GOLD", None)],
        ..gold_in(2, &[ADMIN], &["d1"])
    };
    let p = with_onboarded(&deposit_with(unbalanced, None), &HoldingBook::default());
    assert!(matches!(why(&p)[..], [(2, Untrusted::Unbalanced { .. })]));
    assert_eq!(p.transfers[0].read_from, Standard::V1);

    // A balanced event that leaves a second holding of the deposit out: GOLD is read from V1.
    let t = tx(vec![
        exercise(0, 3, "Rules_Send", v1_transfer(ALICE, None), &[ALICE]),
        create(1, gold("d1", "50.0"), ADMIN, false),
        create(2, gold("d2", "30.0"), ADMIN, false),
        holdings_change(Change {
            legs: vec![from_alice("50.0", "GOLD", None)],
            ..gold_in(3, &[ADMIN], &["d1"])
        }),
    ]);
    let p = with_onboarded(&t, &HoldingBook::default());
    let incomplete = Untrusted::Incomplete {
        instrument: instrument(ADMIN, "GOLD"),
        holdings_net: a("80"),
        events_net: a("50"),
    };
    assert_eq!(why(&p), vec![(3, incomplete)]);
    let want = (Direction::In, TransferKind::Transfer, Standard::V1, a("80"));
    assert_eq!(summary(&p.transfers[0]), want);
}

#[test]
fn mint_and_burn_through_the_special_accounts() {
    let mint = tx(vec![
        create(0, gold("m1", "100.0"), ADMIN, false),
        holdings_change(Change {
            legs: vec![leg(
                "ReceiverSide",
                account(None, "cip-112/mint"),
                "100.0",
                "GOLD",
                Some("faucet"),
            )],
            ..gold_in(1, &[ADMIN], &["m1"])
        }),
    ]);
    let p = with_onboarded(&mint, &HoldingBook::default());
    let m = &p.transfers;
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(
        summary(&m[0]),
        (Direction::In, TransferKind::Mint, Standard::V2, a("100"))
    );
    assert_eq!(m[0].sender, Some(party(ADMIN)));
    assert_eq!(m[0].reason.as_deref(), Some("faucet"));

    let burn = tx(vec![
        archive(0, "m1"),
        create(1, gold("m2", "90.0"), ADMIN, false),
        holdings_change(Change {
            inputs: &["m1"],
            legs: vec![leg(
                "SenderSide",
                account(None, "cip-112/burn"),
                "10.0",
                "GOLD",
                None,
            )],
            ..gold_in(2, &[ADMIN], &["m2"])
        }),
    ]);
    let p = with_onboarded(&burn, &book_with(gold("m1", "100.0")));
    assert!(p.untrusted_events.is_empty(), "{:?}", p.untrusted_events);
    let b = &p.transfers;
    assert_eq!(b.len(), 1, "{b:#?}");
    assert_eq!(
        summary(&b[0]),
        (Direction::Out, TransferKind::Burn, Standard::V2, a("10"))
    );
    assert_eq!(b[0].receiver, Some(party(ADMIN)));
    assert_eq!(p.holding_changes[0].net, a("-10"));
    // The V1 reading had nothing to explain the archive and the create with.
    assert!(p.unexplained.is_empty(), "{:?}", p.unexplained);
}

#[test]
fn lock_and_unlock() {
    let self_leg = |side| {
        leg(
            side,
            account(Some(TREASURY), ""),
            "10.0",
            "GOLD",
            Some("lock for offer"),
        )
    };
    let locked = H {
        locked: true,
        ..gold("l1", "10.0")
    };
    let lock = tx(vec![
        archive(0, "h1"),
        create(1, locked, ADMIN, false),
        holdings_change(Change {
            inputs: &["h1"],
            legs: vec![self_leg("SenderSide"), self_leg("ReceiverSide")],
            ..gold_in(2, &[ADMIN], &["l1"])
        }),
    ]);
    let p = with_onboarded(&lock, &book_with(gold("h1", "10.0")));
    let l = &p.transfers;
    assert_eq!(l.len(), 1, "one self-transfer for both sides: {l:#?}");
    let want = (
        Direction::SelfTransfer,
        TransferKind::MergeSplit,
        Standard::V2,
        a("10"),
    );
    assert_eq!(summary(&l[0]), want);
    assert_eq!(l[0].reason.as_deref(), Some("lock for offer"));

    let unlock = tx(vec![
        archive(0, "l1"),
        create(1, gold("u1", "10.0"), ADMIN, false),
        holdings_change(Change {
            inputs: &["l1"],
            reason: Some("holders released lock"),
            ..gold_in(2, &[ADMIN], &["u1"])
        }),
    ]);
    let p = with_onboarded(&unlock, &book_with(locked));
    let u = &p.transfers;
    assert_eq!(u.len(), 1, "{u:#?}");
    let want = (
        Direction::SelfTransfer,
        TransferKind::Unlock,
        Standard::V2,
        a("10"),
    );
    assert_eq!(summary(&u[0]), want);
    assert_eq!(u[0].reason.as_deref(), Some("holders released lock"));
    assert!(u[0].v2_leg.as_ref().unwrap().leg.is_none());
    assert!(p.unexplained.is_empty());
}

#[test]
fn a_malformed_event_about_the_party_is_reported() {
    // A leg amount is positive (its side says which way it goes): a negative one is malformed.
    let negative = Change {
        legs: vec![from_alice("-50.0", "GOLD", None)],
        ..gold_in(2, &[ADMIN], &["d1"])
    };
    let p = with_onboarded(&deposit_with(negative, None), &HoldingBook::default());
    let [(2, Untrusted::Malformed { error })] = &why(&p)[..] else {
        panic!("{:?}", p.untrusted_events)
    };
    assert!(error.contains("not positive"), "{error}");
    assert_eq!(p.untrusted_events[0].admin, None);
    assert_eq!(p.transfers[0].read_from, Standard::V1);
}
