//! The ingestion fold on real recordings, without a DB: what each transaction changes, and
//! that folding what is already reflected changes nothing (exactly-once).

mod common;

use canton_ledger::JsTransaction;
use common::*;
use exchange_core::changeset::{AccountId, ChangeSet, DepositState, Effect, JournalCause};
use exchange_core::held_back::{HeldDeposit, judge_again};
use exchange_core::ingest::{
    FoldConfig, Folded, Known, KnownWithdrawal, SkipRule, StateLookup, expire_due, fold,
};
use exchange_core::tokens::{Onboarded, OnboardedToken, TokenTransferKind};
use exchange_core::withdrawal::{WithdrawalId, WithdrawalPurpose, WithdrawalState};
use exchange_core::{InstrumentId, PartyId, SynchronizerId, Timestamp, parse_transaction};

const LOCALNET_TREASURY: &str =
    "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8";
const DEPOSIT_MEMO: &str = "fd53f70c-5c3e-4324-b678-bc6ca90f7325";
const WITHDRAWAL_MEMO: &str = "4331c77f-ee16-4303-830c-78e3f10f1692";

fn localnet() -> Option<Vec<JsTransaction>> {
    let dir = shared_dir()?;
    Some(transactions(&dir.join(
        "fixtures/localnet-treasury/one-step-deposit-and-withdraw.json",
    )))
}

fn splice() -> Option<Vec<JsTransaction>> {
    let dir = shared_dir()?;
    Some(transactions(
        &dir.join("fixtures/localnet-treasury/splice-test-cases.json"),
    ))
}

/// Parses and folds one transaction against `known`, then absorbs the result.
fn step(tx: &JsTransaction, known: &mut Known, config: &FoldConfig) -> Folded {
    let lookup = StateLookup {
        state: known,
        treasury: &config.treasury,
    };
    let parsed = parse_transaction(tx, &config.treasury, &lookup).expect("parses");
    let folded = fold(&parsed, known, config);
    known.absorb(&folded.changes);
    folded
}

fn run(txs: &[JsTransaction], known: &mut Known, config: &FoldConfig) -> Vec<Folded> {
    txs.iter().map(|tx| step(tx, known, config)).collect()
}

/// The DSOs of the recordings.
const LOCALNET_DSO: &str =
    "DSO::12209431d07c316412c8f76bb30f1c75bd0b6b05ff5b69fd7975b139a8e03ee18c36";
const SPLICE_DSO: &str = "dso::normalized";

/// Canton Coin onboarded as an exchange onboards it: the DSO as admin, `splice-amulet`.
fn onboarded() -> Onboarded {
    Onboarded::new([LOCALNET_DSO, SPLICE_DSO].map(|dso| OnboardedToken {
        instrument: InstrumentId {
            admin: PartyId::new(dso).unwrap(),
            id: "Amulet".into(),
        },
        registry_url: "http://scan-proxy".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    }))
}

fn config(treasury: &str) -> FoldConfig {
    let mut config = FoldConfig::new(PartyId::new(treasury).unwrap());
    config.onboarded = onboarded();
    config
}

fn account(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// The instrument of stand-in withdrawals (tests that do not look at what they pay).
fn amulet() -> InstrumentId {
    InstrumentId {
        admin: PartyId::new("dso::1220").unwrap(),
        id: "Amulet".into(),
    }
}

fn effects(f: &Folded) -> &[Effect] {
    &f.changes.effects
}

#[test]
fn replaying_reflected_transactions_changes_nothing() {
    let (Some(localnet), Some(splice)) = (localnet(), splice()) else {
        return;
    };
    for (txs, treasury) in [
        (localnet, LOCALNET_TREASURY),
        (splice, "treasury::normalized"),
    ] {
        for rule in [SkipRule::RecordTime, SkipRule::KnownUpdateId] {
            let mut config = config(treasury);
            config.skip_rule = rule;
            let mut known = Known::default();
            known.accounts.insert(account(DEPOSIT_MEMO));
            let first = run(&txs, &mut known, &config);
            assert!(first.iter().all(|f| !f.changes.is_empty()));
            // Again, as after a DB restore that kept everything, or a re-pointed stream.
            for f in run(&txs, &mut known, &config) {
                assert_eq!(f.changes, ChangeSet::default());
            }
            // Below the skip rule, each effect is idempotent too: forget only which updates
            // were ingested and their record times, and nothing but the bookkeeping comes back.
            known.ingested.clear();
            known.record_times.clear();
            for f in run(&txs, &mut known, &config) {
                assert_eq!(f.changes.effects, [], "{:?}", f.changes.ingested);
            }
        }
    }
}

#[test]
fn a_deposit_to_a_known_account_is_credited() {
    let Some(txs) = localnet() else { return };
    let config = config(LOCALNET_TREASURY);
    let mut known = Known::default();
    known.accounts.insert(account(DEPOSIT_MEMO));
    let f = step(&txs[0], &mut known, &config);
    assert!(f.anomalies.is_empty(), "{:?}", f.anomalies);
    let deposits: Vec<_> = effects(&f)
        .iter()
        .filter_map(|e| match e {
            Effect::DepositRecorded(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(deposits.len(), 1);
    let d = deposits[0];
    assert_eq!(d.state, DepositState::Credited);
    assert_eq!(d.account, Some(account(DEPOSIT_MEMO)));
    assert_eq!(d.amount.to_string(), "100.0000000000");
    // Deterministic from ledger data: update id and node id.
    assert_eq!(d.id.as_str(), format!("{}:5", txs[0].update_id));
    assert!(
        effects(&f)
            .iter()
            .any(|e| matches!(e, Effect::HoldingCreated(h) if h.amount == d.amount))
    );
}

#[test]
fn a_real_deposit_of_a_token_not_onboarded_is_held_back_then_credited_once_onboarded() {
    let Some(txs) = localnet() else { return };
    let mut config = config(LOCALNET_TREASURY);
    config.onboarded = Onboarded::default();
    let mut known = Known::default();
    known.accounts.insert(account(DEPOSIT_MEMO));
    let f = step(&txs[0], &mut known, &config);
    assert!(f.anomalies.is_empty(), "{:?}", f.anomalies);
    assert!(!f.held_back.is_empty());
    assert!(
        !effects(&f).iter().any(|e| matches!(e, Effect::Journal(_))),
        "nothing is credited before onboarding"
    );
    let deposit = effects(&f)
        .iter()
        .find_map(|e| match e {
            Effect::DepositRecorded(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(deposit.state, DepositState::Unrecognized);
    let holdings: Vec<_> = effects(&f)
        .iter()
        .filter_map(|e| match e {
            Effect::HoldingCreated(h) if !h.recognized() => Some(h.clone()),
            _ => None,
        })
        .collect();
    assert!(!holdings.is_empty());

    // Onboarded now: judged again by the provenance recorded with them.
    let held = [HeldDeposit {
        deposit: deposit.clone(),
        pending_offer: false,
        account_known: true,
    }];
    let changes = judge_again(&onboarded(), &holdings, &held);
    let credits: Vec<_> = changes
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => Some((j.cause.clone(), j.amount)),
            _ => None,
        })
        .collect();
    assert_eq!(
        credits,
        [(JournalCause::Deposit(deposit.id.clone()), deposit.amount)]
    );
    let recognized = changes
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::HoldingRecognized { .. }))
        .count();
    assert_eq!(recognized, holdings.len());
    // Onboarded under another package name, the same deposit is still not the token's.
    let mut elsewhere = onboarded();
    elsewhere = Onboarded::new(elsewhere.iter().cloned().map(|mut t| {
        t.package_names = ["some-other-package".to_owned()].into();
        t
    }));
    assert!(judge_again(&elsewhere, &holdings, &held).is_empty());
}

#[test]
fn a_deposit_to_an_unknown_account_is_recorded_not_credited() {
    let Some(txs) = localnet() else { return };
    let config = config(LOCALNET_TREASURY);
    let mut known = Known::default();
    let f = step(&txs[0], &mut known, &config);
    let states: Vec<_> = effects(&f)
        .iter()
        .filter_map(|e| match e {
            Effect::DepositRecorded(d) => Some(d.state),
            _ => None,
        })
        .collect();
    assert_eq!(states, [DepositState::UnknownAccount]);
}

#[test]
fn a_known_withdrawal_completes() {
    let Some(txs) = localnet() else { return };
    let config = config(LOCALNET_TREASURY);
    let mut known = Known::default();
    let id = WithdrawalId::new(WITHDRAWAL_MEMO).unwrap();
    known.withdrawals.insert(
        id.clone(),
        KnownWithdrawal {
            state: WithdrawalState::Submitted,
            instrument: amulet(),
            amount: "20".parse().unwrap(),
            trec_tgt: None,
            synchronizer: None,
            debited: Some(account("alice")),
            last_update: None,
            transfer_instruction: None,
            purpose: WithdrawalPurpose::Customer,
            offer_expires: None,
        },
    );
    run(&txs[..1], &mut known, &config);
    let f = step(&txs[1], &mut known, &config);
    let transitions: Vec<_> = effects(&f)
        .iter()
        .filter_map(|e| match e {
            Effect::Withdrawal(t) => Some((t.id.clone(), t.to)),
            _ => None,
        })
        .collect();
    assert_eq!(transitions, [(id, WithdrawalState::Completed)]);
    // The change comes back, the spent deposit holding is archived.
    assert!(
        effects(&f)
            .iter()
            .any(|e| matches!(e, Effect::HoldingArchived { .. }))
    );
}

#[test]
fn an_unknown_withdrawal_is_recovered_and_debited_to_suspense() {
    let Some(txs) = localnet() else { return };
    let config = config(LOCALNET_TREASURY);
    let mut known = Known::default();
    run(&txs[..1], &mut known, &config);
    let f = step(&txs[1], &mut known, &config);
    let recovered: Vec<_> = effects(&f)
        .iter()
        .filter_map(|e| match e {
            Effect::WithdrawalRecovered(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].id.as_str(), WITHDRAWAL_MEMO);
    assert_eq!(recovered[0].amount.to_string(), "20.0000000000");
    let debit = effects(&f)
        .iter()
        .find_map(|e| match e {
            Effect::Journal(j) => Some(j),
            _ => None,
        })
        .expect("a debit");
    assert_eq!(debit.account, config.suspense_account);
    assert_eq!(debit.amount.to_string(), "-20.0000000000");
    assert!(matches!(debit.cause, JournalCause::WithdrawalReserve(_)));
}

/// The LocalNet withdrawal with its memo replaced by `memo` (as if the exchange had made it).
fn with_memo(tx: &JsTransaction, memo: &str) -> JsTransaction {
    let text = serde_json::to_string(tx).unwrap();
    assert!(text.contains(WITHDRAWAL_MEMO));
    serde_json::from_str(&text.replace(WITHDRAWAL_MEMO, memo)).unwrap()
}

/// A withdrawal lost with the DB whose memo seals its account: with the key it is attributed
/// to that account (debited there, the attribution recorded); without the key, with another
/// key, or naming an account that does not exist, it goes to suspense.
#[test]
fn a_sealed_memo_attributes_a_recovered_withdrawal() {
    use exchange_core::memo::{MemoKey, Sealed, seal};
    let Some(txs) = localnet() else { return };
    let key = MemoKey::from_bytes([42; 32]);
    let treasury = PartyId::new(LOCALNET_TREASURY).unwrap();
    let sealed = |name: &str| {
        let memo = seal(
            &key,
            &treasury,
            &Sealed {
                account: account(name),
                requested_at: Timestamp::from_micros(1).unwrap(),
            },
            [3; 24],
        );
        with_memo(&txs[1], memo.as_str())
    };
    let cases = [
        (Some(key.clone()), sealed("alice"), Some("alice")),
        (None, sealed("alice"), None),
        (Some(MemoKey::from_bytes([1; 32])), sealed("alice"), None),
        (Some(key.clone()), sealed("nobody"), None),
    ];
    for (i, (memo_key, withdrawal, attributed)) in cases.into_iter().enumerate() {
        let mut config = config(LOCALNET_TREASURY);
        config.memo_key = memo_key;
        let mut known = Known::default();
        known.accounts.insert(account("alice"));
        run(&txs[..1], &mut known, &config);
        let f = step(&withdrawal, &mut known, &config);
        let recovered: Vec<_> = effects(&f)
            .iter()
            .filter_map(|e| match e {
                Effect::WithdrawalRecovered(r) => Some(r.account.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(recovered, [attributed.map(account)], "case {i}");
        let debit = effects(&f)
            .iter()
            .find_map(|e| match e {
                Effect::Journal(j) => Some(j.account.clone()),
                _ => None,
            })
            .expect("a debit");
        let expected = attributed.map_or(config.suspense_account.clone(), account);
        assert_eq!(debit, expected, "case {i}");
    }
}

/// The LocalNet withdrawal again, as another transaction (a replayed command): its own update
/// id, a later record time and offset, the same memo and amount.
fn paid_again(tx: &JsTransaction) -> JsTransaction {
    let mut again = tx.clone();
    let mut id = again.update_id.clone();
    id.truncate(id.len() - 4);
    id.push_str("beef");
    again.update_id = id;
    again.offset += 100;
    let at: Timestamp = tx.record_time.parse().unwrap();
    again.record_time = Timestamp::from_micros(at.micros() + 1_000_000)
        .unwrap()
        .to_string();
    again
}

fn overpayments(f: &Folded) -> Vec<(String, Option<String>, String)> {
    effects(f)
        .iter()
        .filter_map(|e| match e {
            Effect::WithdrawalRecovered(r) => Some((
                r.id.to_string(),
                r.duplicate_of.as_ref().map(|d| d.to_string()),
                r.amount.to_string(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_withdrawal_paid_twice_is_booked_twice() {
    let Some(txs) = localnet() else { return };
    let config = config(LOCALNET_TREASURY);
    let id = WithdrawalId::new(WITHDRAWAL_MEMO).unwrap();
    // Paid once as asked, then again; or paid only after it was refunded (expired).
    for first_payment in [true, false] {
        let mut known = Known::default();
        let state = if first_payment {
            WithdrawalState::Submitted
        } else {
            WithdrawalState::Expired
        };
        known.withdrawals.insert(
            id.clone(),
            KnownWithdrawal {
                state,
                instrument: amulet(),
                amount: "20".parse().unwrap(),
                trec_tgt: None,
                synchronizer: None,
                debited: Some(account("alice")),
                last_update: None,
                transfer_instruction: None,
                purpose: WithdrawalPurpose::Customer,
                offer_expires: None,
            },
        );
        run(&txs[..1], &mut known, &config);
        if first_payment {
            let f = step(&txs[1], &mut known, &config);
            assert!(overpayments(&f).is_empty());
            assert_eq!(known.withdrawals[&id].state, WithdrawalState::Completed);
        }
        let again = paid_again(&txs[1]);
        let f = step(&again, &mut known, &config);
        let dup = format!("{WITHDRAWAL_MEMO}#repeat:{}:", again.update_id);
        let booked = overpayments(&f);
        assert_eq!(booked.len(), 1, "{booked:?}");
        assert!(booked[0].0.starts_with(&dup), "{booked:?}");
        assert_eq!(booked[0].1.as_deref(), Some(WITHDRAWAL_MEMO));
        assert_eq!(booked[0].2, "20.0000000000");
        // The outflow is debited to suspense, never again to the customer.
        let debits: Vec<_> = effects(&f)
            .iter()
            .filter_map(|e| match e {
                Effect::Journal(j) => Some((j.account.clone(), j.amount.to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(
            debits,
            [(config.suspense_account.clone(), "-20.0000000000".to_owned())]
        );
        assert!(
            f.anomalies
                .iter()
                .any(|a| a.what.contains("second payment") && a.what.contains("overpayment")),
            "{:?}",
            f.anomalies
        );
        // The original keeps its state; the same transaction again books nothing more.
        assert_eq!(
            known.withdrawals[&id].state,
            if first_payment {
                WithdrawalState::Completed
            } else {
                WithdrawalState::Expired
            }
        );
        assert!(step(&again, &mut known, &config).changes.is_empty());
    }
}

#[test]
fn the_record_time_rule_and_the_update_id_rule() {
    let Some(txs) = localnet() else { return };
    let mut config = config(LOCALNET_TREASURY);
    let sync = exchange_core::SynchronizerId::new(&txs[0].synchronizer_id).unwrap();
    let at: Timestamp = txs[0].record_time.parse().unwrap();

    // The guide's rule: a record time at or before the last ingested one is skipped.
    let mut known = Known::default();
    known.record_times.insert(sync.clone(), at);
    assert!(step(&txs[0], &mut known, &config).changes.is_empty());
    assert!(!step(&txs[1], &mut known, &config).changes.is_empty());

    // Non-unique record times: only a known update id is skipped.
    config.skip_rule = SkipRule::KnownUpdateId;
    let mut known = Known::default();
    known.record_times.insert(sync, at);
    assert!(!step(&txs[0], &mut known, &config).changes.is_empty());
}

fn expired_ids(changes: &ChangeSet) -> Vec<(String, WithdrawalState)> {
    changes
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Withdrawal(w) => Some((w.id.as_str().to_owned(), w.to)),
            // Each expiry comes with its release (and refund, see `money_effects`).
            Effect::HoldingsReleased { .. } => None,
            Effect::Journal(j) if matches!(j.cause, JournalCause::WithdrawalRefund(_)) => None,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn withdrawals_expire_once_the_record_time_passes_their_target() {
    let mut known = Known::default();
    let t = |s: &str| s.parse::<Timestamp>().unwrap();
    let sync = SynchronizerId::new("global-domain::1220aa").unwrap();
    for (id, state) in [
        ("w-requested", WithdrawalState::Requested),
        ("w-submitted", WithdrawalState::Submitted),
        ("w-pending", WithdrawalState::PendingAcceptance),
    ] {
        known.withdrawals.insert(
            WithdrawalId::new(id).unwrap(),
            KnownWithdrawal {
                state,
                instrument: amulet(),
                amount: "20".parse().unwrap(),
                trec_tgt: Some(t("2025-01-01T00:00:10Z")),
                synchronizer: Some(sync.clone()),
                debited: None,
                last_update: None,
                transfer_instruction: None,
                purpose: WithdrawalPurpose::Customer,
                offer_expires: None,
            },
        );
    }
    assert!(expire_due(&known).is_empty(), "no record time yet");
    known
        .record_times
        .insert(sync.clone(), t("2025-01-01T00:00:10Z"));
    assert!(expire_due(&known).is_empty());
    known
        .record_times
        .insert(sync, t("2025-01-01T00:00:10.000001Z"));
    assert_eq!(
        expired_ids(&expire_due(&known)),
        [
            ("w-requested".to_owned(), WithdrawalState::Expired),
            ("w-submitted".to_owned(), WithdrawalState::Expired)
        ]
    );
}

/// Canton bounds a transfer by the record time of the synchronizer it is sequenced on; the
/// clocks of different synchronizers are unrelated. A withdrawal expires by its own
/// synchronizer's time, or, where that is not known, only once every synchronizer's time has
/// passed its target.
#[test]
fn withdrawals_expire_by_their_own_synchronizers_time() {
    let t = |s: &str| s.parse::<Timestamp>().unwrap();
    let a = SynchronizerId::new("global-domain::1220aa").unwrap();
    let b = SynchronizerId::new("other::1220bb").unwrap();
    let mut known = Known::default();
    for (id, synchronizer) in [
        ("w-on-a", Some(&a)),
        ("w-on-b", Some(&b)),
        ("w-unknown", None),
    ] {
        known.withdrawals.insert(
            WithdrawalId::new(id).unwrap(),
            KnownWithdrawal {
                state: WithdrawalState::Submitted,
                instrument: amulet(),
                amount: "20".parse().unwrap(),
                trec_tgt: Some(t("2025-01-01T00:10:00Z")),
                synchronizer: synchronizer.cloned(),
                debited: None,
                last_update: None,
                transfer_instruction: None,
                purpose: WithdrawalPurpose::Customer,
                offer_expires: None,
            },
        );
    }
    // A is past the target, B (ten minutes behind) is not.
    known
        .record_times
        .insert(a.clone(), t("2025-01-01T00:15:00Z"));
    known
        .record_times
        .insert(b.clone(), t("2025-01-01T00:05:00Z"));
    assert_eq!(
        expired_ids(&expire_due(&known)),
        [("w-on-a".to_owned(), WithdrawalState::Expired)]
    );
    // B passes it too: the rest expire.
    known
        .record_times
        .insert(b, t("2025-01-01T00:10:00.000001Z"));
    let mut expired = expired_ids(&expire_due(&known));
    expired.retain(|(id, _)| id != "w-on-a");
    assert_eq!(
        expired,
        [
            ("w-on-b".to_owned(), WithdrawalState::Expired),
            ("w-unknown".to_owned(), WithdrawalState::Expired)
        ]
    );
}

#[test]
fn offers_and_their_fates_in_the_splice_recording() {
    let Some(txs) = splice() else { return };
    let config = config("treasury::normalized");
    let mut known = Known::default();
    let folded = run(&txs, &mut known, &config);
    let anomalies: Vec<_> = folded.iter().flat_map(|f| &f.anomalies).collect();
    // The recording's treasury accepts an offer without a memo, and receives test holdings
    // outside any token-standard choice: both are reported, not guessed at.
    let what: Vec<_> = anomalies.iter().map(|a| a.update_id.as_str()).collect();
    assert_eq!(what, ["update-21", "update-29", "update-30"]);
    // Outgoing offers without a memo are recovered withdrawals; their fates move them on.
    let states = |s: WithdrawalState| known.withdrawals.values().filter(|w| w.state == s).count();
    assert_eq!(states(WithdrawalState::Completed), 1, "{anomalies:?}");
    assert_eq!(states(WithdrawalState::Failed), 3, "{anomalies:?}");
    // Incoming offers without a memo: recorded for support, cancelled when they end.
    let deposits = |s: DepositState| known.deposits.values().filter(|d| d.state == s).count();
    assert!(
        deposits(DepositState::Cancelled) >= 2,
        "{:?}",
        known.deposits
    );
    assert_eq!(deposits(DepositState::Credited), 0);
    // The refunds of failed recovered withdrawals go back to the suspense account.
    let refunds = folded
        .iter()
        .flat_map(|f| &f.changes.effects)
        .filter(|e| matches!(e, Effect::Journal(j) if matches!(j.cause, JournalCause::WithdrawalRefund(_))))
        .count();
    assert_eq!(refunds, 3);
}
