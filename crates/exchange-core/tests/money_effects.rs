//! Every money rule is decided by core and written out as an effect: deposit credits and
//! withdrawal refunds as `Effect::Journal`, the release of reserved holdings as
//! `Effect::HoldingsReleased`. The store applies these and derives nothing, so each rule must be
//! visible here, in the fold's (and expiry's) output.

use std::collections::BTreeMap;

use exchange_core::changeset::{
    AccountId, Deposit, DepositId, DepositState, Effect, JournalCause, JournalEntry, Origin,
};
use exchange_core::ingest::{
    FoldConfig, InvalidTransition, Known, KnownWithdrawal, expire_due, fold, transition_effects,
};
use exchange_core::parser::{Direction, Transfer, TransferKind, TransferStatus};
use exchange_core::token_standard as ts;
use exchange_core::tokens::{Onboarded, OnboardedToken, Provenance, TokenTransferKind};
use exchange_core::withdrawal::{
    WithdrawalId, WithdrawalPurpose, WithdrawalState, WithdrawalTransition,
};
use exchange_core::{
    Amount, ContractId, InstrumentId, Offset, ParsedTransaction, PartyId, SynchronizerId,
    Timestamp, UpdateId,
};

fn party(s: &str) -> PartyId {
    PartyId::new(&format!("{s}::1220ab")).unwrap()
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn amulet() -> InstrumentId {
    InstrumentId {
        admin: party("dso"),
        id: "Amulet".into(),
    }
}

fn acc() -> AccountId {
    AccountId::new("acc").unwrap()
}

fn wid(s: &str) -> WithdrawalId {
    WithdrawalId::new(s).unwrap()
}

fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

fn sync() -> SynchronizerId {
    SynchronizerId::new("global-domain::1220ab").unwrap()
}

fn time(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros).unwrap()
}

/// Amulet onboarded: its holdings count when the DSO signs them.
fn config() -> FoldConfig {
    let mut config = FoldConfig::new(party("treasury"));
    config.onboarded = Onboarded::new([OnboardedToken {
        instrument: amulet(),
        registry_url: "http://scan".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    }]);
    config
}

fn issued_by(signatory: &str) -> Option<Provenance> {
    Some(Provenance {
        template_id: "#splice-amulet:Splice.Amulet:Amulet".into(),
        package_name: Some("splice-amulet".into()),
        signatories: vec![party(signatory), party("treasury")],
    })
}

/// A transaction at offset/record time `n` with one transfer of 7 Amulet; an incoming one
/// brings the treasury the DSO's holding (or, pending, the DSO's offer).
fn transaction(n: i64, transfer: Transfer) -> ParsedTransaction {
    signed_transaction(n, transfer, "dso")
}

fn signed_transaction(n: i64, transfer: Transfer, signatory: &str) -> ParsedTransaction {
    let incoming = transfer.direction == Direction::In;
    let arrived = matches!(
        transfer.status,
        TransferStatus::Completed | TransferStatus::Accepted
    );
    let holdings_created = if incoming && arrived {
        vec![ts::Holding {
            contract_id: cid(&format!("h{n}")),
            owner: party("treasury"),
            instrument: amulet(),
            amount: amount("7"),
            lock: None,
            meta: BTreeMap::new(),
            provenance: issued_by(signatory),
        }]
    } else {
        Vec::new()
    };
    let instructions_created = match (&transfer.transfer_instruction_cid, transfer.status) {
        (Some(offer), TransferStatus::Pending) if incoming => vec![ts::TransferInstruction {
            contract_id: offer.clone(),
            original_instruction_cid: None,
            transfer: ts::TransferSpec {
                sender: party("alice"),
                receiver: party("treasury"),
                amount: amount("7"),
                instrument: amulet(),
                requested_at: time(0),
                execute_before: time(n * 2_000_000),
                input_holding_cids: Vec::new(),
                reason: transfer.reason.clone(),
                meta: BTreeMap::new(),
            },
            status: "TransferPendingReceiverAcceptance".into(),
            provenance: issued_by(signatory),
        }],
        _ => Vec::new(),
    };
    ParsedTransaction {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        offset: Offset::new(n).unwrap(),
        record_time: time(n * 1_000_000),
        synchronizer_id: sync(),
        holdings_created,
        holdings_archived: Vec::new(),
        holding_changes: Vec::new(),
        instructions_created,
        instructions_consumed: Vec::new(),
        transfers: vec![transfer],
        unexplained: Vec::new(),
        unresolved_archives: Vec::new(),
        possibly_own_archives: Vec::new(),
        untrusted_events: Vec::new(),
        read_from_v2: Vec::new(),
    }
}

fn transfer(direction: Direction, status: TransferStatus, reason: &str) -> Transfer {
    let (sender, receiver) = match direction {
        Direction::In => (party("alice"), party("treasury")),
        _ => (party("treasury"), party("bob")),
    };
    Transfer {
        node_id: 1,
        choice: "TransferFactory_Transfer".into(),
        kind: TransferKind::Transfer,
        direction,
        sender: Some(sender),
        receiver: Some(receiver),
        instrument: Some(amulet()),
        amount: Some(amount("7")),
        reason: Some(reason.into()),
        status,
        transfer_instruction_cid: None,
        meta: BTreeMap::new(),
        read_from: exchange_core::parser::Standard::V1,
        v2_leg: None,
    }
}

fn origin(n: i64) -> Origin {
    Origin {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        record_time: time(n * 1_000_000),
    }
}

/// The effects that move money or holdings, in order.
fn money(effects: &[Effect]) -> Vec<&Effect> {
    effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Journal(_) | Effect::HoldingsReleased { .. } | Effect::Withdrawal(_)
            )
        })
        .collect()
}

fn withdrawal(state: WithdrawalState, debited: Option<AccountId>) -> KnownWithdrawal {
    KnownWithdrawal {
        state,
        instrument: amulet(),
        amount: amount("7"),
        trec_tgt: Some(time(5_000_000)),
        synchronizer: Some(sync()),
        debited,
        last_update: None,
        transfer_instruction: None,
        purpose: WithdrawalPurpose::Customer,
        offer_expires: None,
    }
}

fn refund(id: &str, origin: Option<Origin>) -> Effect {
    Effect::Journal(JournalEntry {
        account: acc(),
        instrument: amulet(),
        amount: amount("7"),
        cause: JournalCause::WithdrawalRefund(wid(id)),
        origin,
    })
}

fn released(id: &str) -> Effect {
    Effect::HoldingsReleased {
        withdrawal: wid(id),
    }
}

#[test]
fn a_credited_deposit_comes_with_its_credit() {
    let mut known = Known::default();
    known.accounts.insert(acc());
    let tx = transaction(2, transfer(Direction::In, TransferStatus::Completed, "acc"));
    let effects = fold(&tx, &known, &config()).changes.effects;
    // The holding is mirrored first, then the deposit.
    assert!(matches!(&effects[0], Effect::HoldingCreated(h) if h.recognized()));
    let effects = &effects[1..];
    let Some(Effect::DepositRecorded(d)) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(d.state, DepositState::Credited);
    let credit = Effect::Journal(JournalEntry {
        account: acc(),
        instrument: amulet(),
        amount: amount("7"),
        cause: JournalCause::Deposit(d.id.clone()),
        origin: Some(origin(2)),
    });
    assert_eq!(effects[1..], [credit]);
}

#[test]
fn a_deposit_that_is_not_credited_books_nothing() {
    // An unknown account, and an offer still waiting for our acceptance.
    let mut known = Known::default();
    known.accounts.insert(acc());
    let unknown = transaction(2, transfer(Direction::In, TransferStatus::Completed, "x"));
    let mut offer = transfer(Direction::In, TransferStatus::Pending, "acc");
    offer.transfer_instruction_cid = Some(cid("ti1"));
    for tx in [unknown, transaction(3, offer)] {
        let effects = fold(&tx, &known, &config()).changes.effects;
        assert!(money(&effects).is_empty(), "{effects:?}");
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::DepositRecorded(_)))
        );
    }
}

#[test]
fn an_accepted_offer_comes_with_its_credit() {
    let id = DepositId::new("offer:ti1").unwrap();
    let mut known = Known::default();
    known.accounts.insert(acc());
    known.deposits.insert(
        id.clone(),
        Deposit {
            id: id.clone(),
            account: Some(acc()),
            instrument: amulet(),
            amount: amount("7"),
            sender: party("alice"),
            state: DepositState::Offered,
            transfer_instruction: Some(cid("ti1")),
            origin: origin(2),
            held_back: None,
        },
    );
    let mut accepted = transfer(Direction::In, TransferStatus::Accepted, "acc");
    accepted.transfer_instruction_cid = Some(cid("ti1"));
    let effects = fold(&transaction(3, accepted), &known, &config())
        .changes
        .effects;
    let credit = Effect::Journal(JournalEntry {
        account: acc(),
        instrument: amulet(),
        amount: amount("7"),
        cause: JournalCause::Deposit(id.clone()),
        origin: Some(origin(3)),
    });
    let updated = Effect::DepositUpdated {
        id,
        state: DepositState::Credited,
        origin: origin(3),
        held_back: None,
    };
    let mirrored: Vec<_> = effects
        .iter()
        .filter(|e| !matches!(e, Effect::HoldingCreated(_)))
        .cloned()
        .collect();
    assert_eq!(mirrored, [updated, credit]);
}

#[test]
fn a_counterfeit_or_unonboarded_deposit_is_recorded_never_credited() {
    let mut known = Known::default();
    known.accounts.insert(acc());
    let deposit = || transfer(Direction::In, TransferStatus::Completed, "acc");
    // Claims to be the DSO's Amulet, signed by someone else.
    let forged = signed_transaction(2, deposit(), "forger");
    // The DSO's own, but Amulet was never onboarded.
    let genuine = transaction(3, deposit());
    let unonboarded = FoldConfig::new(party("treasury"));
    for (tx, config, why) in [
        (&forged, config(), "not a signatory"),
        (&genuine, unonboarded, "not onboarded"),
    ] {
        let folded = fold(tx, &known, &config);
        let effects = &folded.changes.effects;
        assert!(money(effects).is_empty(), "{effects:?}");
        let recorded = effects.iter().find_map(|e| match e {
            Effect::DepositRecorded(d) => Some(d),
            _ => None,
        });
        let recorded = recorded.expect("recorded for support");
        assert_eq!(recorded.state, DepositState::Unrecognized);
        assert!(recorded.held_back.as_ref().unwrap().reason.contains(why));
        // The treasury mirrors the holding (its archive must match) but never counts it.
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::HoldingCreated(h) if !h.recognized()))
        );
        // Held back, never an anomaly: anyone can send the treasury a token, and strict
        // ingestion must not stop for it.
        assert!(folded.anomalies.is_empty(), "{:?}", folded.anomalies);
        assert_eq!(folded.held_back.len(), 2, "{:?}", folded.held_back);
    }
}

#[test]
fn an_offer_accepted_with_counterfeit_holdings_is_not_credited() {
    let id = DepositId::new("offer:ti1").unwrap();
    let mut known = Known::default();
    known.accounts.insert(acc());
    let mut offer = transfer(Direction::In, TransferStatus::Pending, "acc");
    offer.transfer_instruction_cid = Some(cid("ti1"));
    let folded = fold(&transaction(2, offer), &known, &config());
    known.absorb(&folded.changes);
    assert_eq!(known.deposits[&id].state, DepositState::Offered);
    let mut accepted = transfer(Direction::In, TransferStatus::Accepted, "acc");
    accepted.transfer_instruction_cid = Some(cid("ti1"));
    let effects = fold(
        &signed_transaction(3, accepted, "forger"),
        &known,
        &config(),
    )
    .changes
    .effects;
    assert!(money(&effects).is_empty(), "{effects:?}");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::DepositUpdated {
            state: DepositState::Unrecognized,
            held_back: Some(_),
            ..
        }
    )));
}

#[test]
fn a_rejected_offer_is_refunded_and_its_holdings_released() {
    let mut known = Known::default();
    let w = KnownWithdrawal {
        transfer_instruction: Some(cid("ti9")),
        ..withdrawal(WithdrawalState::PendingAcceptance, Some(acc()))
    };
    known.withdrawals.insert(wid("w1"), w);
    let mut rejected = transfer(Direction::Out, TransferStatus::Rejected, "w1");
    rejected.transfer_instruction_cid = Some(cid("ti9"));
    let effects = fold(&transaction(4, rejected), &known, &config())
        .changes
        .effects;
    let money = money(&effects);
    assert!(
        matches!(money[0], Effect::Withdrawal(t) if t.to == WithdrawalState::Failed),
        "{money:?}"
    );
    assert_eq!(
        money[1..],
        [&refund("w1", Some(origin(4))), &released("w1")]
    );
}

#[test]
fn a_completed_withdrawal_releases_its_holdings_without_a_refund() {
    let mut known = Known::default();
    known.withdrawals.insert(
        wid("w1"),
        withdrawal(WithdrawalState::Submitted, Some(acc())),
    );
    let done = transfer(Direction::Out, TransferStatus::Completed, "w1");
    let effects = fold(&transaction(4, done), &known, &config())
        .changes
        .effects;
    let money = money(&effects);
    assert_eq!(money.len(), 2, "{money:?}");
    assert!(matches!(money[0], Effect::Withdrawal(t) if t.to == WithdrawalState::Completed));
    assert_eq!(money[1], &released("w1"));
}

#[test]
fn an_expired_withdrawal_is_refunded_and_released_by_expiry() {
    let mut known = Known::default();
    known.withdrawals.insert(
        wid("w1"),
        withdrawal(WithdrawalState::Requested, Some(acc())),
    );
    known.record_times.insert(sync(), time(5_000_001));
    let effects = expire_due(&known).effects;
    assert!(matches!(&effects[0], Effect::Withdrawal(t) if t.to == WithdrawalState::Expired));
    assert_eq!(effects[1..], [refund("w1", None), released("w1")]);
}

#[test]
fn transition_effects_refund_at_most_once_and_only_what_was_debited() {
    let to = |state| WithdrawalTransition {
        id: wid("w1"),
        to: state,
        reason: None,
        origin: None,
        transfer_instruction: None,
    };
    let requested = withdrawal(WithdrawalState::Requested, Some(acc()));
    // A step that ends nothing moves no money.
    let submitted = transition_effects(&requested, to(WithdrawalState::Submitted)).unwrap();
    assert_eq!(
        submitted,
        [Effect::Withdrawal(to(WithdrawalState::Submitted))]
    );
    let failed = transition_effects(&requested, to(WithdrawalState::Failed)).unwrap();
    assert_eq!(
        failed,
        [
            Effect::Withdrawal(to(WithdrawalState::Failed)),
            refund("w1", None),
            released("w1"),
        ]
    );
    // Already there (a redone step): nothing, so never a second refund.
    let again = withdrawal(WithdrawalState::Failed, Some(acc()));
    assert_eq!(
        transition_effects(&again, to(WithdrawalState::Failed)),
        Ok(vec![])
    );
    assert_eq!(
        transition_effects(&again, to(WithdrawalState::Expired)),
        Err(InvalidTransition {
            from: WithdrawalState::Failed,
            to: WithdrawalState::Expired
        })
    );
    // A recovered withdrawal nobody was debited for refunds nothing; one debited to an
    // account (suspense, or the one its metadata named) is refunded there.
    let lost = withdrawal(WithdrawalState::Recovered, None);
    assert_eq!(
        transition_effects(&lost, to(WithdrawalState::Failed)).unwrap(),
        [
            Effect::Withdrawal(to(WithdrawalState::Failed)),
            released("w1")
        ]
    );
    let debited = withdrawal(WithdrawalState::Recovered, Some(acc()));
    assert_eq!(
        transition_effects(&debited, to(WithdrawalState::Failed)).unwrap()[1],
        refund("w1", None)
    );
}

/// A pool transfer `pool-1` in `state`: no account was debited for it.
fn pool_transfer(state: WithdrawalState) -> Known {
    let mut known = Known::default();
    known.accounts.insert(acc());
    let w = KnownWithdrawal {
        purpose: WithdrawalPurpose::Pool,
        offer_expires: None,
        ..withdrawal(state, None)
    };
    known.withdrawals.insert(wid("pool-1"), w);
    known
}

/// The treasury's transfer to itself, as the parser reports a `TransferFactory_Transfer`
/// with sender = receiver.
fn self_transfer(reason: &str) -> Transfer {
    Transfer {
        kind: TransferKind::MergeSplit,
        sender: Some(party("treasury")),
        receiver: Some(party("treasury")),
        ..transfer(Direction::SelfTransfer, TransferStatus::Completed, reason)
    }
}

#[test]
fn a_self_transfer_with_a_pool_memo_completes_it_without_a_journal() {
    for state in [WithdrawalState::Requested, WithdrawalState::Submitted] {
        let known = pool_transfer(state);
        let tx = transaction(4, self_transfer("pool-1"));
        let folded = fold(&tx, &known, &config());
        assert!(folded.anomalies.is_empty(), "{:?}", folded.anomalies);
        let effects = folded.changes.effects;
        assert_eq!(money(&effects).len(), 2, "{effects:?}");
        assert!(
            matches!(&effects[0], Effect::Withdrawal(t)
                if t.id == wid("pool-1") && t.to == WithdrawalState::Completed
                    && t.origin == Some(origin(4))),
            "{effects:?}"
        );
        assert_eq!(effects[1], released("pool-1"));
    }
    // Folding it again (its update is the last one seen) changes nothing.
    let mut done = pool_transfer(WithdrawalState::Completed);
    done.withdrawals
        .get_mut(&wid("pool-1"))
        .unwrap()
        .last_update = Some(origin(4).update_id);
    let again = fold(&transaction(5, self_transfer("pool-1")), &done, &config());
    assert!(money(&again.changes.effects).is_empty());
    assert!(again.anomalies.is_empty());
}

#[test]
fn an_expired_pool_transfer_is_released_without_a_refund() {
    let mut known = pool_transfer(WithdrawalState::Submitted);
    known.record_times.insert(sync(), time(5_000_001));
    let effects = expire_due(&known).effects;
    assert!(matches!(&effects[0], Effect::Withdrawal(t) if t.to == WithdrawalState::Expired));
    assert_eq!(effects[1..], [released("pool-1")]);
}

#[test]
fn a_self_transfer_without_a_known_pool_memo_moves_no_withdrawal() {
    // A customer withdrawal's memo, an unknown memo, no memo, another instrument, an unlock:
    // the holdings are mirrored as before, no withdrawal moves, nothing is booked.
    let mut known = pool_transfer(WithdrawalState::Requested);
    known.withdrawals.insert(
        wid("w1"),
        withdrawal(WithdrawalState::Requested, Some(acc())),
    );
    let mut no_memo = self_transfer("x");
    no_memo.reason = None;
    let mut other_instrument = self_transfer("pool-1");
    other_instrument.instrument = Some(InstrumentId {
        admin: party("dso"),
        id: "Other".into(),
    });
    let mut unlock = self_transfer("pool-1");
    unlock.kind = TransferKind::Unlock;
    for t in [
        self_transfer("w1"),
        self_transfer("pool-9"),
        no_memo,
        other_instrument,
        unlock,
    ] {
        let folded = fold(&transaction(4, t.clone()), &known, &config());
        assert!(money(&folded.changes.effects).is_empty(), "{t:?}");
        assert!(folded.anomalies.is_empty(), "{t:?}");
    }
}

#[test]
fn funds_leaving_the_treasury_under_a_pool_memo_are_booked_to_suspense() {
    // A pool transfer pays the treasury; a payment to bob with its memo is not its own.
    let mut known = pool_transfer(WithdrawalState::Submitted);
    known.accounts.insert(config().suspense_account);
    let out = transfer(Direction::Out, TransferStatus::Completed, "pool-1");
    let folded = fold(&transaction(4, out), &known, &config());
    let effects = folded.changes.effects;
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Withdrawal(t) if t.id == wid("pool-1"))),
        "{effects:?}"
    );
    let Some(Effect::WithdrawalRecovered(r)) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(r.duplicate_of, Some(wid("pool-1")));
    assert!(matches!(&effects[1], Effect::Journal(j)
        if j.account == config().suspense_account && j.amount == -amount("7")));
    assert_eq!(folded.anomalies.len(), 1);
}

#[test]
fn an_incoming_offer_expires_once_record_time_is_past_its_execute_before() {
    use exchange_core::changeset::TransferInstruction;
    use exchange_core::changeset::{Direction as Way, InstructionState, OfferExpiry};
    use exchange_core::ingest::{LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS, offer_deposit_id};
    let offer = cid("ti9");
    let id = offer_deposit_id(&offer);
    let mut known = Known::default();
    known.instructions.insert(
        offer.clone(),
        TransferInstruction {
            contract_id: offer.clone(),
            direction: Way::Incoming,
            sender: party("alice"),
            receiver: party("treasury"),
            instrument: amulet(),
            amount: amount("7"),
            reason: Some("acc".into()),
            state: InstructionState::Pending,
            origin: origin(2),
            expiry: Some(OfferExpiry {
                execute_before: time(10_000_000),
                synchronizer: sync(),
            }),
            read_from: exchange_core::parser::Standard::V1,
        },
    );
    known.deposits.insert(
        id.clone(),
        Deposit {
            id: id.clone(),
            account: Some(acc()),
            instrument: amulet(),
            amount: amount("7"),
            sender: party("alice"),
            state: DepositState::Offered,
            transfer_instruction: Some(offer.clone()),
            origin: origin(2),
            held_back: None,
        },
    );
    // Within the tolerance an accept may still commit: nothing yet.
    let certain = 10_000_000 + LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS;
    known.record_times.insert(sync(), time(certain - 1));
    assert!(expire_due(&known).effects.is_empty());
    // Past it: the offer expired and its deposit is cancelled, with no money moved.
    known.record_times.insert(sync(), time(certain));
    let effects = expire_due(&known).effects;
    assert!(money(&effects).is_empty(), "{effects:?}");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::TransferInstruction(i) if i.state == InstructionState::Expired
    )));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::DepositUpdated {
            state: DepositState::Cancelled,
            ..
        }
    )));
    // Another synchronizer's clock says nothing about it.
    known.record_times.clear();
    known.record_times.insert(
        SynchronizerId::new("other::1220ab").unwrap(),
        time(certain * 2),
    );
    assert!(expire_due(&known).effects.is_empty());
}
