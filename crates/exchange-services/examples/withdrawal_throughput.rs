//! Withdrawal throughput against the sandbox: withdrawals requested, signed, executed and
//! completed per second, with a treasury pool of `--holdings` holdings (default 50).
//!
//! ```text
//! cargo run --release -p exchange-services --example withdrawal_throughput -- \
//!     [--withdrawals N] [--holdings H] [--concurrency C] [--db URL]
//! ```
//!
//! In one process: the sandbox (the treasury an external party whose key is a fresh key file),
//! ingestion tailing the node, the automation, and a producer placing 1-step Canton Coin
//! withdrawals as fast as holdings are free (each withdrawal reserves one holding; its change
//! comes back once ingestion has seen the transfer). The clock runs from the first request to
//! the last completion, as ingestion records it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use canton_sandbox::token::TransferRequest;
use canton_sandbox::{Sandbox, SandboxConfig};
use exchange_core::changeset::AccountId;
use exchange_core::ingest::FoldConfig;
use exchange_core::selection::SelectionPolicy;
use exchange_core::signing::Signer;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalOrder, WithdrawalState};
use exchange_core::{Amount, InstrumentId, PartyId, Timestamp};
use exchange_services::observe::Silent;
use exchange_services::signer::FileSigner;
use exchange_services::withdraw::{Automation, AutomationConfig};
use exchange_services::{IngestConfig, Ingestor, Source, Transport};
use exchange_store::{Store, StoreError};
use tokio::sync::watch;

struct Options {
    withdrawals: usize,
    holdings: usize,
    concurrency: usize,
    db: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        withdrawals: 1000,
        holdings: 50,
        concurrency: 32,
        db: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        let number = || value.parse::<usize>().expect("a number");
        match pair[0].as_str() {
            "--withdrawals" => o.withdrawals = number(),
            "--holdings" => o.holdings = number(),
            "--concurrency" => o.concurrency = number(),
            "--db" => o.db = Some(value.to_owned()),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(o));
}

async fn run(o: Options) {
    let dir = tempfile::tempdir().unwrap();
    let url =
        o.db.clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let signer = Arc::new(FileSigner::generate(&dir.path().join("treasury.key")).unwrap());
    let mut config = SandboxConfig::default();
    // Record times follow the wall clock, as on a real synchronizer: `trecTgt` is wall time.
    config.ledger.start_time = Timestamp::now();
    config.ledger.clock_step_micros = 1;
    config.wall_clock = true;
    let sandbox = Sandbox::start(config).await.unwrap();
    let public = signer.public_key().0;
    let (treasury, customer, receiver) = sandbox.with_world(|w| {
        let (treasury, _) = w
            .external
            .allocate(&mut w.ledger, "treasury", &public)
            .unwrap();
        w.amulet
            .create_preapproval(&mut w.ledger, &treasury)
            .unwrap();
        let customer = w.ledger.allocate_party("customer").unwrap();
        let receiver = w.ledger.allocate_party("receiver").unwrap();
        w.amulet
            .create_preapproval(&mut w.ledger, &receiver)
            .unwrap();
        w.amulet
            .mint(&mut w.ledger, &customer, Amount::from_whole(1_000_000_000))
            .unwrap();
        (treasury, customer, receiver)
    });
    let account = AccountId::new("acct-0").unwrap();
    // The pool: one deposit per holding, large enough for every withdrawal it will fund.
    let per_holding = Amount::from_whole(1_000_000);
    sandbox.with_world(|w| {
        for i in 0..o.holdings {
            let request = TransferRequest {
                sender: customer.clone(),
                receiver: treasury.clone(),
                amount: per_holding,
                memo: Some(account.to_string()),
                inputs: None,
                command_id: format!("fund-{i}"),
            };
            w.amulet.transfer(&mut w.ledger, &request).unwrap();
        }
    });
    let store = Store::open(&url).await.unwrap();
    store.create_account(&account, "bench").await.unwrap();
    let info = sandbox.info();
    let amulet = info
        .tokens
        .iter()
        .find(|t| t.instrument_id == "Amulet")
        .unwrap();
    let instrument = InstrumentId {
        admin: PartyId::new(&amulet.admin).unwrap(),
        id: "Amulet".into(),
    };
    // Canton Coin onboarded, so ingestion credits the funding deposits.
    store
        .onboard_token(&exchange_core::tokens::OnboardedToken {
            instrument: instrument.clone(),
            registry_url: amulet.registry_url.clone(),
            transfer_kind: exchange_core::tokens::TokenTransferKind::OneStep,
            package_names: ["splice-amulet".to_owned()].into(),
        })
        .await
        .unwrap();
    let ledger = LedgerClient::new(&sandbox.ledger_api_url(), None);
    let treasury_party = PartyId::new(&treasury).unwrap();
    let mut ingest = IngestConfig::new(FoldConfig::new(treasury_party.clone()));
    ingest.batch_wait = Duration::from_millis(10);
    let ingestor = |once: bool| {
        let mut config = ingest.clone();
        config.once = once;
        let source = Source::Ledger {
            client: ledger.clone(),
            transport: Transport::Websocket,
        };
        Ingestor::new(store.clone(), source, config, Arc::new(Silent))
    };
    let (stop_tx, stop) = watch::channel(false);
    ingestor(true).run(stop.clone()).await.unwrap();

    let mut automation_config = AutomationConfig::new("bench");
    automation_config.one_step.insert(instrument.clone());
    automation_config.concurrency = o.concurrency;
    automation_config.batch = o.concurrency * 2;
    automation_config.idle_poll = Duration::from_millis(5);
    automation_config.executions_per_second = std::num::NonZeroU32::new(10_000).unwrap();
    let registries = [(
        instrument.admin.clone(),
        RegistryClient::new(&amulet.registry_url, Default::default()),
    )]
    .into_iter()
    .collect();
    let signer: Arc<dyn Signer + Send + Sync> = signer;
    let automation = Automation::new(
        store.clone(),
        ledger.clone(),
        registries,
        signer,
        treasury_party,
        automation_config,
    );

    let started = Instant::now();
    let tailing = tokio::spawn({
        let ingestor = ingestor(false);
        let stop = stop.clone();
        async move {
            let result = ingestor.run(stop).await.map(|_| ());
            if let Err(e) = &result {
                eprintln!("ingestion stopped: {e}");
            }
            result
        }
    });
    let producing = produce(&store, &o, &account, &instrument, &receiver);
    let automating = automation.run(stop.clone());
    let watching = async {
        let done = wait_for_completions(&store, o.withdrawals).await;
        let _ = stop_tx.send(true);
        done
    };
    let (_, (), completed) = tokio::join!(producing, automating, watching);
    let elapsed = started.elapsed();
    tailing.await.unwrap().unwrap();
    let rate = completed as f64 / elapsed.as_secs_f64();
    println!(
        "{completed} withdrawals requested, signed, executed and completed in {:.2} s: {rate:.0} per second (pool of {} holdings, concurrency {})",
        elapsed.as_secs_f64(),
        o.holdings,
        o.concurrency
    );
    store.close().await;
}

/// Places `withdrawals` withdrawals of 1 CC as holdings free up.
async fn produce(
    store: &Store,
    o: &Options,
    account: &AccountId,
    instrument: &InstrumentId,
    receiver: &str,
) {
    for i in 0..o.withdrawals {
        let order = WithdrawalOrder {
            id: WithdrawalId::new(format!("bench-{i}")).unwrap(),
            account: account.clone(),
            instrument: instrument.clone(),
            amount: Amount::from_whole(1),
            receiver: PartyId::new(receiver).unwrap(),
            ttl_micros: 600_000_000,
            synchronizer: None,
            idempotency_key: None,
            policy: SelectionPolicy::default(),
        };
        loop {
            match store.place_withdrawal(&order).await {
                Ok(_) => break,
                Err(StoreError::NoSpendableHoldings(_)) => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => panic!("placing {}: {e}", order.id),
            }
        }
    }
}

async fn wait_for_completions(store: &Store, n: usize) -> usize {
    let mut last_report = Instant::now();
    loop {
        let counts = store.withdrawal_counts().await.unwrap();
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!("progress: {counts:?}");
        }
        let done = counts
            .into_iter()
            .filter(|(state, _)| state == WithdrawalState::Completed.as_str())
            .map(|(_, count)| count as usize)
            .sum::<usize>();
        if done >= n {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
