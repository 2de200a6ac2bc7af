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
use exchange_core::withdrawal::{WithdrawalId, WithdrawalState, WithdrawalTransition};
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

fn config() -> FoldConfig {
    FoldConfig::new(party("treasury"))
}

/// A transaction at offset/record time `n` with one transfer of 7 Amulet.
fn transaction(n: i64, transfer: Transfer) -> ParsedTransaction {
    ParsedTransaction {
        update_id: UpdateId::new(&format!("u{n}")).unwrap(),
        offset: Offset::new(n).unwrap(),
        record_time: time(n * 1_000_000),
        synchronizer_id: sync(),
        holdings_created: Vec::new(),
        holdings_archived: Vec::new(),
        holding_changes: Vec::new(),
        instructions_created: Vec::new(),
        instructions_consumed: Vec::new(),
        transfers: vec![transfer],
        unexplained: Vec::new(),
        unresolved_archives: Vec::new(),
        possibly_own_archives: Vec::new(),
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
    };
    assert_eq!(effects, [updated, credit]);
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
