//! Withdrawal Automation end to end against the sandbox, on SQLite and PostgreSQL: the treasury
//! is an external party whose key is a 0600 key file; withdrawals are placed as the exchange's
//! systems place them, and the automation (registry → prepare → verify → sign → execute) and
//! ingestion (the outcome) run in rounds until they settle. What is checked is what the ledger
//! and the journal show: who holds what, each withdrawal's end state, and the customer's
//! balance (debited once; refunded at most once).

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use canton_sandbox::token::{InstructionChoice, OfferRequest};
use canton_sandbox::{Sandbox, SandboxConfig, TamperKind};
use common::*;
use exchange_core::pool::PoolPolicy;
use exchange_core::selection::SelectionPolicy;
use exchange_core::signing::Signer;
use exchange_core::withdrawal::{
    WithdrawalId, WithdrawalOrder, WithdrawalPurpose, WithdrawalState,
};
use exchange_core::{Amount, InstrumentId, PartyId, Timestamp};
use exchange_services::Transport;
use exchange_services::pool::{PoolConfig, PoolJob};
use exchange_services::signer::FileSigner;
use exchange_services::withdraw::{Automation, AutomationConfig, Round};
use exchange_store::Store;
use harness::TestDb;

conformance!(
    a_one_step_withdrawal_reaches_the_receiver_once,
    a_receiver_without_preapproval_fails_the_withdrawal_and_refunds_it_once,
    a_node_that_tampers_gets_nothing_signed_until_it_stops,
    a_lost_execute_answer_is_retried_and_paid_once,
    a_node_restore_that_loses_a_pending_submission_is_recovered_by_the_retry,
    two_replicas_with_lapsing_claims_pay_each_withdrawal_once,
    a_withdrawal_past_its_target_record_time_expires_and_is_refunded_once,
    offers_end_accepted_rejected_or_withdrawn_with_the_right_journal,
    the_pool_job_keeps_k_holdings_and_merges_dust,
    an_offer_not_accepted_before_it_expires_fails_and_is_refunded_once,
);

const SECOND: i64 = 1_000_000;

/// A sandbox whose treasury is external (its key in a key file), customers with preapprovals
/// and Canton Coin, and an Integration DB with their accounts.
struct Exchange {
    sandbox: Sandbox,
    store: Store,
    treasury: String,
    customers: Vec<String>,
    amulet: InstrumentId,
    sbx: InstrumentId,
    signer: Arc<FileSigner>,
    registries: BTreeMap<PartyId, RegistryClient>,
    seq: u64,
    _keys: tempfile::TempDir,
}

impl Exchange {
    async fn start(db: &TestDb, customers: usize) -> Exchange {
        let keys = tempfile::tempdir().unwrap();
        let signer = Arc::new(FileSigner::generate(&keys.path().join("treasury.key")).unwrap());
        let mut config = SandboxConfig::default();
        // Record times follow the wall clock, as on a real synchronizer: `trecTgt` is wall time.
        config.ledger.start_time = Timestamp::now();
        config.ledger.clock_step_micros = 1;
        config.wall_clock = true;
        let sandbox = Sandbox::start(config).await.unwrap();
        let public = signer.public_key().0;
        let (treasury, parties) = sandbox.with_world(|w| {
            let (treasury, _) = w
                .external
                .allocate(&mut w.ledger, "treasury", &public)
                .unwrap();
            w.amulet
                .create_preapproval(&mut w.ledger, &treasury)
                .unwrap();
            let mut parties = Vec::new();
            for i in 0..customers {
                let c = w.ledger.allocate_party(&format!("customer{i}")).unwrap();
                w.amulet.create_preapproval(&mut w.ledger, &c).unwrap();
                w.amulet.mint(&mut w.ledger, &c, amount("1000000")).unwrap();
                parties.push(c);
            }
            (treasury, parties)
        });
        let info = sandbox.info();
        let instrument = |id: &str| {
            let token = info.tokens.iter().find(|t| t.instrument_id == id).unwrap();
            InstrumentId {
                admin: PartyId::new(&token.admin).unwrap(),
                id: id.into(),
            }
        };
        let registries = info
            .tokens
            .iter()
            .map(|t| {
                let admin = PartyId::new(&t.admin).unwrap();
                (
                    admin,
                    RegistryClient::new(&t.registry_url, Default::default()),
                )
            })
            .collect();
        let store = db.open().await;
        create_accounts(&store, customers).await;
        Exchange {
            amulet: instrument("Amulet"),
            sbx: instrument("SBX"),
            sandbox,
            store,
            treasury,
            customers: parties,
            signer,
            registries,
            seq: 0,
            _keys: keys,
        }
    }

    fn config(&self, worker: &str) -> AutomationConfig {
        let mut config = AutomationConfig::new(worker);
        config.one_step.insert(self.amulet.clone());
        config.outcome_timeout = Duration::from_millis(300);
        config.retry_delay = Duration::from_millis(50);
        config
    }

    fn automation(&self, config: AutomationConfig) -> Automation {
        let signer: Arc<dyn Signer + Send + Sync> = self.signer.clone();
        Automation::new(
            self.store.clone(),
            LedgerClient::new(&self.sandbox.ledger_api_url(), None),
            self.registries.clone(),
            signer,
            PartyId::new(&self.treasury).unwrap(),
            config,
        )
    }

    async fn ingest(&self) {
        let source = exchange_services::Source::Ledger {
            client: LedgerClient::new(&self.sandbox.ledger_api_url(), None),
            transport: Transport::Http,
        };
        ingest(
            &self.store,
            source,
            ingest_config(&self.treasury, true, 100),
        )
        .await
        .unwrap();
    }

    /// A 1-step Canton Coin deposit by `customer` to its account, ingested.
    async fn deposit(&mut self, customer: usize, value: &str) {
        self.seq += 1;
        let request = canton_sandbox::token::TransferRequest {
            sender: self.customers[customer].clone(),
            receiver: self.treasury.clone(),
            amount: amount(value),
            memo: Some(account_of(customer).to_string()),
            inputs: None,
            command_id: format!("deposit-{}", self.seq),
        };
        self.sandbox
            .with_world(|w| w.amulet.transfer(&mut w.ledger, &request))
            .unwrap();
        self.ingest().await;
    }

    async fn place(&self, id: &str, customer: usize, receiver: &str, value: &str) {
        self.place_in(
            id,
            customer,
            receiver,
            value,
            self.amulet.clone(),
            3_600 * SECOND,
        )
        .await
    }

    async fn place_in(
        &self,
        id: &str,
        customer: usize,
        receiver: &str,
        value: &str,
        instrument: InstrumentId,
        ttl_micros: i64,
    ) {
        let order = WithdrawalOrder {
            id: WithdrawalId::new(id).unwrap(),
            account: account_of(customer),
            instrument,
            amount: amount(value),
            receiver: PartyId::new(receiver).unwrap(),
            ttl_micros,
            synchronizer: None,
            idempotency_key: None,
            policy: SelectionPolicy::default(),
        };
        self.store.place_withdrawal(&order).await.unwrap();
    }

    /// Automation rounds and ingestion, until no withdrawal is left to act on (or `rounds`).
    async fn settle(&self, automation: &Automation, rounds: usize) -> Vec<Round> {
        let mut done = Vec::new();
        for _ in 0..rounds {
            let round = automation.run_round().await.unwrap();
            self.ingest().await;
            done.push(round);
            let open = self
                .store
                .withdrawals_in_progress(Timestamp::now())
                .await
                .unwrap();
            if open == 0 {
                break;
            }
            if round.claimed == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        done
    }

    async fn state(&self, id: &str) -> WithdrawalState {
        let id = WithdrawalId::new(id).unwrap();
        self.store.withdrawal(&id).await.unwrap().unwrap().state
    }

    async fn balance(&self, customer: usize, instrument: &InstrumentId) -> Amount {
        self.store
            .balance(&account_of(customer), instrument)
            .await
            .unwrap()
    }

    /// Canton Coin `party` holds on the ledger.
    fn held(&self, party: &str) -> Amount {
        self.sandbox.with_world(|w| {
            w.amulet
                .holdings(&w.ledger, party)
                .iter()
                .fold(Amount::ZERO, |sum, h| sum.checked_add(h.amount).unwrap())
        })
    }

    /// Payments ingestion booked for withdrawal `id`: itself, plus one recovered withdrawal
    /// per further transfer with its memo (`duplicate_of`).
    async fn payments(&self, id: &str) -> usize {
        let all = self.store.withdrawals(None).await.unwrap();
        let paid_once = all.iter().any(|w| {
            w.id.as_str() == id
                && matches!(
                    w.state,
                    WithdrawalState::Completed | WithdrawalState::PendingAcceptance
                )
        });
        let repeats = all
            .iter()
            .filter(|w| w.duplicate_of.as_ref().is_some_and(|d| d.as_str() == id))
            .count();
        usize::from(paid_once) + repeats
    }

    fn new_party(&self, hint: &str) -> String {
        self.sandbox
            .with_world(|w| w.ledger.allocate_party(hint))
            .unwrap()
    }
}

async fn a_one_step_withdrawal_reaches_the_receiver_once(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    x.deposit(0, "100").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));
    let receiver = x.new_party("outside");
    x.sandbox
        .with_world(|w| w.amulet.create_preapproval(&mut w.ledger, &receiver))
        .unwrap();
    x.place("w-1", 0, &receiver, "40").await;
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 20).await;
    assert_eq!(x.state("w-1").await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    assert_eq!(x.payments("w-1").await, 1);
    // The treasury keeps the change, mirrored by ingestion; nothing stays reserved.
    let holdings = x.store.active_holdings(&x.amulet).await.unwrap();
    let total = holdings.iter().fold(Amount::ZERO, |s, h| {
        s.checked_add(h.holding.amount).unwrap()
    });
    assert_eq!(total, amount("60"));
    assert!(
        holdings.iter().all(|h| h.reserved_by.is_none()),
        "{holdings:?}"
    );
}

async fn notes(x: &Exchange, id: &str) -> (u32, u32, Option<String>) {
    let id = WithdrawalId::new(id).unwrap();
    x.store.attempt_notes(&id).await.unwrap()
}

/// A party outside the exchange with a transfer preapproval (so 1-step transfers reach it).
fn preapproved(x: &Exchange, hint: &str) -> String {
    let receiver = x.new_party(hint);
    x.sandbox
        .with_world(|w| w.amulet.create_preapproval(&mut w.ledger, &receiver))
        .unwrap();
    receiver
}

async fn a_receiver_without_preapproval_fails_the_withdrawal_and_refunds_it_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = x.new_party("no-preapproval");
    x.place("w-2", 0, &receiver, "40").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 10).await;
    let w = x
        .store
        .withdrawal(&WithdrawalId::new("w-2").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.state, WithdrawalState::Failed);
    assert!(
        w.reason.as_deref().unwrap_or("").contains("preapproval"),
        "{w:?}"
    );
    // Refunded once; nothing reached the ledger; its holding is free again.
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));
    assert_eq!(x.held(&receiver), Amount::ZERO);
    assert_eq!(notes(&x, "w-2").await.1, 0);
    x.settle(&automation, 3).await;
    x.ingest().await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));
    let holdings = x.store.active_holdings(&x.amulet).await.unwrap();
    assert!(
        holdings.iter().all(|h| h.reserved_by.is_none()),
        "{holdings:?}"
    );
}

async fn a_node_that_tampers_gets_nothing_signed_until_it_stops(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    x.place("w-3", 0, &receiver, "40").await;
    let all = [
        TamperKind::Receiver,
        TamperKind::Amount,
        TamperKind::Input,
        TamperKind::Memo,
        TamperKind::ExtraNode,
        TamperKind::Hash,
    ];
    x.sandbox.tamper_prepare(11, &all);
    let automation = x.automation(x.config("a"));
    for _ in 0..6 {
        automation.run_round().await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    x.ingest().await;
    let (attempts, executions, error) = notes(&x, "w-3").await;
    assert!(attempts >= 2, "{attempts} attempts");
    assert_eq!(executions, 0, "a tampered transaction was executed");
    let error = error.unwrap_or_default();
    assert!(error.contains("refused to sign"), "{error}");
    assert_eq!(x.state("w-3").await, WithdrawalState::Requested);
    assert_eq!(x.held(&receiver), Amount::ZERO);
    // An honest node again: the next attempt goes through, once.
    x.sandbox.set_faults(Default::default());
    x.settle(&automation, 20).await;
    assert_eq!(x.state("w-3").await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.payments("w-3").await, 1);
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

async fn a_lost_execute_answer_is_retried_and_paid_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    x.place("w-4", 0, &receiver, "40").await;
    x.sandbox.set_faults(canton_sandbox::FaultConfig {
        lose_execute_answers: 1,
        ..Default::default()
    });
    let automation = x.automation(x.config("a"));
    // The execution commits, its answer is lost; before ingestion shows the transfer, the
    // outcome timeout passes and the automation tries again from the registry call.
    let first = automation.run_round().await.unwrap();
    assert_eq!(first.executed, 1);
    assert_eq!(x.state("w-4").await, WithdrawalState::Submitted);
    tokio::time::sleep(Duration::from_millis(400)).await;
    automation.run_round().await.unwrap();
    let (attempts, _, error) = notes(&x, "w-4").await;
    assert_eq!(attempts, 2);
    assert!(error.is_some(), "the retry found the inputs spent");
    x.settle(&automation, 10).await;
    assert_eq!(x.state("w-4").await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.payments("w-4").await, 1);
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

/// Issue 10: the node accepts the execution (`{}`), then is restored from a backup taken
/// before it was sequenced, so it never commits. Nothing tells the automation; the outcome
/// timeout does, and the retry (from the registry call, on inputs still unspent) pays once.
async fn a_node_restore_that_loses_a_pending_submission_is_recovered_by_the_retry(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    // The backup point: everything ingested so far is in it.
    let ingested_end = x.sandbox.ledger_end();
    let backup = x.sandbox.backup();
    x.sandbox.hold_executions(true);
    x.place("w-7", 0, &receiver, "40").await;
    let automation = x.automation(x.config("a"));
    let first = automation.run_round().await.unwrap();
    assert_eq!(first.executed, 1);
    assert_eq!(x.state("w-7").await, WithdrawalState::Submitted);
    assert_eq!(x.sandbox.pending_executions(), 1, "accepted, not sequenced");
    assert_eq!(x.sandbox.ledger_end(), ingested_end, "nothing committed");
    let report = x.sandbox.restore(&backup);
    assert_eq!(report.redelivered, 0);
    assert_eq!(x.sandbox.pending_executions(), 0, "the restore lost it");
    x.sandbox.hold_executions(false);
    // The checkpoint (the last ingested update, at its offset) is still on the node, so
    // ingestion resumes without the runbook.
    x.settle(&automation, 20).await;
    let (attempts, _, _) = notes(&x, "w-7").await;
    assert!(
        attempts >= 2,
        "{attempts} attempts: the retry paid, not the lost one"
    );
    assert_eq!(x.state("w-7").await, WithdrawalState::Completed);
    assert_eq!(x.payments("w-7").await, 1);
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    // Nothing lost comes back later: releasing has nothing left, more rounds pay nothing more.
    assert_eq!(x.sandbox.release_pending().released, 0);
    x.settle(&automation, 3).await;
    assert_eq!(x.held(&receiver), amount("40"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

async fn two_replicas_with_lapsing_claims_pay_each_withdrawal_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    for _ in 0..5 {
        x.deposit(0, "20").await;
    }
    let receiver = preapproved(&x, "outside");
    for i in 0..5 {
        x.place(&format!("w-5-{i}"), 0, &receiver, "20").await;
    }
    // Claims that lapse at once: both replicas attempt the same withdrawals, as when a replica
    // stalls past its claim. Only the ledger stands between them and a double payment.
    let lapsing = |worker: &str| {
        let mut config = x.config(worker);
        config.claim = Duration::ZERO;
        config.outcome_timeout = Duration::ZERO;
        x.automation(config)
    };
    let (a, b) = (lapsing("a"), lapsing("b"));
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.run_round(), b.run_round());
        ra.unwrap();
        rb.unwrap();
    }
    x.settle(&a, 20).await;
    for i in 0..5 {
        let id = format!("w-5-{i}");
        assert_eq!(x.state(&id).await, WithdrawalState::Completed, "{id}");
        assert_eq!(x.payments(&id).await, 1, "{id}");
    }
    assert_eq!(x.held(&receiver), amount("100"));
    assert_eq!(x.balance(0, &x.amulet).await, Amount::ZERO);
}

async fn a_withdrawal_past_its_target_record_time_expires_and_is_refunded_once(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    x.deposit(0, "100").await;
    let receiver = preapproved(&x, "outside");
    let ttl = 2 * SECOND;
    x.place_in("w-6", 0, &receiver, "40", x.amulet.clone(), ttl)
        .await;
    // Nothing the node prepares is signed, so the transfer never commits.
    x.sandbox.tamper_prepare(5, &[TamperKind::Amount]);
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 200).await;
    let w = x
        .store
        .withdrawal(&WithdrawalId::new("w-6").unwrap())
        .await
        .unwrap()
        .unwrap();
    let trec_tgt = w.trec_tgt.unwrap();
    assert!(Timestamp::now() > trec_tgt, "settled before trecTgt");
    assert_eq!(
        w.state,
        WithdrawalState::Requested,
        "waits for the ledger to pass trecTgt"
    );
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
    // The synchronizer's record time passes trecTgt (a later transaction shows it).
    x.sandbox.with_world(|w| {
        let now = w.ledger.record_time_of(0);
        let behind = trec_tgt.micros() - now.micros();
        w.ledger.advance_time(behind.max(0) + SECOND).unwrap();
    });
    x.deposit(0, "1").await;
    assert_eq!(x.state("w-6").await, WithdrawalState::Expired);
    assert_eq!(x.balance(0, &x.amulet).await, amount("101"));
    // Later rounds and transactions refund nothing more.
    x.settle(&automation, 3).await;
    x.deposit(0, "1").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("102"));
    assert_eq!(x.held(&receiver), Amount::ZERO);
}

/// SBX deposits of `values` by `customer`, offered to the treasury and accepted, ingested.
async fn sbx_deposits(x: &mut Exchange, customer: usize, values: &[&str]) {
    let sender = x.customers[customer].clone();
    let treasury = x.treasury.clone();
    for value in values {
        x.seq += 1;
        let seq = x.seq;
        x.sandbox.with_world(|w| {
            w.token.mint(&mut w.ledger, &sender, amount(value)).unwrap();
            let offer = w
                .token
                .offer(
                    &mut w.ledger,
                    &OfferRequest {
                        sender: sender.clone(),
                        receiver: treasury.clone(),
                        amount: amount(value),
                        memo: Some(account_of(customer).to_string()),
                        execute_before: None,
                        command_id: format!("sbx-deposit-{seq}"),
                    },
                )
                .unwrap();
            w.token
                .act(
                    &mut w.ledger,
                    &offer.transfer_instruction_cid,
                    InstructionChoice::Accept,
                    &format!("sbx-accept-{seq}"),
                )
                .unwrap();
        });
    }
    x.ingest().await;
}

async fn offers_end_accepted_rejected_or_withdrawn_with_the_right_journal(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    sbx_deposits(&mut x, 0, &["10", "10", "10"]).await;
    let sbx = x.sbx.clone();
    assert_eq!(x.balance(0, &sbx).await, amount("30"));
    let receiver = x.customers[1].clone();
    for id in ["w-acc", "w-rej", "w-wd"] {
        x.place_in(id, 0, &receiver, "10", sbx.clone(), 3_600 * SECOND)
            .await;
    }
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 20).await;
    let mut offers = BTreeMap::new();
    for id in ["w-acc", "w-rej", "w-wd"] {
        let w = x
            .store
            .withdrawal(&WithdrawalId::new(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            w.state,
            WithdrawalState::PendingAcceptance,
            "{id}: {:?}",
            notes(&x, id).await
        );
        offers.insert(
            id,
            w.transfer_instruction.expect("the offer's id").to_string(),
        );
    }
    assert_eq!(x.balance(0, &sbx).await, Amount::ZERO);
    x.sandbox.with_world(|w| {
        for (id, choice) in [
            ("w-acc", InstructionChoice::Accept),
            ("w-rej", InstructionChoice::Reject),
            ("w-wd", InstructionChoice::Withdraw),
        ] {
            w.token
                .act(&mut w.ledger, &offers[id], choice, &format!("answer-{id}"))
                .unwrap();
        }
    });
    x.ingest().await;
    assert_eq!(x.state("w-acc").await, WithdrawalState::Completed);
    assert_eq!(x.state("w-rej").await, WithdrawalState::Failed);
    assert_eq!(x.state("w-wd").await, WithdrawalState::Failed);
    // Two refunds, once each.
    assert_eq!(x.balance(0, &sbx).await, amount("20"));
    x.ingest().await;
    x.settle(&automation, 3).await;
    assert_eq!(x.balance(0, &sbx).await, amount("20"));
    let held: Amount = x.sandbox.with_world(|w| {
        w.token
            .holdings(&w.ledger, &receiver)
            .iter()
            .fold(Amount::ZERO, |s, (_, a)| s.checked_add(*a).unwrap())
    });
    assert_eq!(held, amount("10"));
}

async fn the_pool_job_keeps_k_holdings_and_merges_dust(db: &TestDb) {
    let mut x = Exchange::start(db, 1).await;
    for _ in 0..10 {
        x.deposit(0, "1").await;
    }
    x.deposit(0, "1000").await;
    let policy = PoolPolicy {
        k: 3,
        target: amount("100"),
        dust: amount("5"),
        max_inputs: 100,
    };
    let pool = PoolJob::new(
        x.store.clone(),
        PartyId::new(&x.treasury).unwrap(),
        vec![PoolConfig {
            instrument: x.amulet.clone(),
            policy,
            ttl: Duration::from_secs(3600),
        }],
    );
    let automation = x.automation(x.config("a"));
    let mut placed = 0;
    for _ in 0..10 {
        let now = pool.run_once().await.unwrap();
        placed += now;
        x.settle(&automation, 20).await;
        if now == 0 {
            break;
        }
    }
    assert!(placed >= 2, "{placed} pool transfers");
    let holdings = x.store.active_holdings(&x.amulet).await.unwrap();
    let amounts: Vec<Amount> = holdings.iter().map(|h| h.holding.amount).collect();
    let large = amounts.iter().filter(|a| **a >= amount("100")).count();
    let dust = amounts.iter().filter(|a| **a < amount("5")).count();
    assert!(large >= 3, "{amounts:?}");
    assert!(dust <= 1, "{amounts:?}");
    let total = amounts
        .iter()
        .fold(Amount::ZERO, |s, a| s.checked_add(*a).unwrap());
    assert_eq!(total, amount("1010"), "the pool moves nothing out");
    assert!(
        holdings.iter().all(|h| h.reserved_by.is_none()),
        "{holdings:?}"
    );
    // The ledger agrees, and no customer was debited for it.
    assert_eq!(x.held(&x.treasury), amount("1010"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("1010"));
    let pools = x.store.withdrawals(None).await.unwrap();
    assert!(
        pools
            .iter()
            .filter(|w| w.purpose == WithdrawalPurpose::Pool)
            .all(|w| w.state == WithdrawalState::Completed),
        "{pools:?}"
    );
    // Healthy now: nothing more is planned.
    assert_eq!(pool.run_once().await.unwrap(), 0);
}

async fn an_offer_not_accepted_before_it_expires_fails_and_is_refunded_once(db: &TestDb) {
    let mut x = Exchange::start(db, 2).await;
    sbx_deposits(&mut x, 0, &["10"]).await;
    let sbx = x.sbx.clone();
    let receiver = x.customers[1].clone();
    x.place_in("w-exp", 0, &receiver, "10", sbx.clone(), 3_600 * SECOND)
        .await;
    let mut config = x.config("a");
    config.offer_micros = 60 * SECOND;
    let automation = x.automation(config);
    x.settle(&automation, 20).await;
    let w = x
        .store
        .withdrawal(&WithdrawalId::new("w-exp").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.state, WithdrawalState::PendingAcceptance);
    let execute_before = w.execute_before.expect("recorded with the execution");
    assert_eq!(x.balance(0, &sbx).await, Amount::ZERO);
    // Record time at executeBefore: an accept made (by ledger time) just before may still be
    // sequenced, so the offer is still pending.
    let advance_to = |x: &Exchange, to: Timestamp| {
        x.sandbox.with_world(|w| {
            let now = w.ledger.record_time_of(0);
            w.ledger.advance_time(to.micros() - now.micros()).unwrap();
        })
    };
    advance_to(&x, execute_before);
    x.deposit(1, "1").await;
    assert_eq!(x.state("w-exp").await, WithdrawalState::PendingAcceptance);
    // Past it by the ledger/record time tolerance: no accept can come any more, so the
    // withdrawal failed and the customer gets the funds back.
    let tolerance = exchange_core::ingest::LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS;
    advance_to(&x, execute_before.checked_add_micros(tolerance).unwrap());
    x.deposit(1, "1").await;
    let w = x
        .store
        .withdrawal(&WithdrawalId::new("w-exp").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.state, WithdrawalState::Failed);
    assert!(
        w.reason.as_deref().unwrap_or("").contains("offer expired"),
        "{w:?}"
    );
    assert_eq!(x.balance(0, &sbx).await, amount("10"));
    // The receiver can no longer accept it, and nothing is refunded twice.
    let offer = w.transfer_instruction.unwrap().to_string();
    let late = x.sandbox.with_world(|w| {
        w.token.act(
            &mut w.ledger,
            &offer,
            InstructionChoice::Accept,
            "late-accept",
        )
    });
    assert!(late.is_err(), "accepted after executeBefore");
    x.deposit(1, "1").await;
    x.settle(&automation, 3).await;
    assert_eq!(x.balance(0, &sbx).await, amount("10"));
}
