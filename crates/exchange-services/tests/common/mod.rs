//! Shared by the end-to-end tests: a sandbox node with a treasury and customers, ingestion
//! runs against it, DB backups, and a seeded random generator. The withdrawal tests' exchange
//! (an external treasury and the automations) is [`exchange`], with its deposit and withdrawal
//! offers in [`deposit_offers`] and [`withdrawal_offers`]; the node-restore drills' starting
//! points are [`restore`].
#![allow(dead_code)] // each test binary uses a different subset

pub mod deposit_offers;
pub mod exchange;
pub mod restore;
pub mod withdrawal_offers;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_sandbox::token::TransferRequest;
use canton_sandbox::world::World;
use canton_sandbox::{Sandbox, SandboxConfig};
use exchange_core::changeset::AccountId;
use exchange_core::ingest::FoldConfig;
use exchange_core::{Amount, InstrumentId, PartyId};
use exchange_services::observe::{Observer, Silent};
use exchange_services::retry::RetryPolicy;
use exchange_services::{IngestConfig, IngestError, Ingestor, Source, Summary, Transport};
use exchange_store::Store;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sqlx::Connection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::harness::TestDb;

/// A seeded ChaCha8 stream: every run of a test with the same seed draws the same values.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A draw in `0..n` (`0` for `n = 0`); the modulo's bias is immaterial to the tests.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n.max(1)
    }
}

/// A sandbox with a treasury (with a transfer preapproval) and funded customers.
pub struct Node {
    pub sandbox: Sandbox,
    pub treasury: String,
    pub customers: Vec<String>,
    pub instrument: InstrumentId,
    seq: u64,
}

pub fn amount(s: &str) -> Amount {
    s.parse().expect("amount literal")
}

pub fn account_of(customer: usize) -> AccountId {
    AccountId::new(format!("acct-{customer}")).expect("non-empty")
}

/// The account that bears what no customer can be shown to (ingestion books it there).
pub fn suspense() -> AccountId {
    AccountId::new("suspense").expect("non-empty")
}

/// What each customer's account should be credited, by customer index.
pub type Credits = BTreeMap<usize, Amount>;

impl Node {
    pub async fn start(customers: usize) -> Node {
        Node::start_seeded(customers, "canton-sandbox").await
    }

    /// A node whose ids (parties, updates, contracts) derive from `seed`: another seed is
    /// another node with another history.
    pub async fn start_seeded(customers: usize, seed: &str) -> Node {
        let mut config = SandboxConfig::default();
        config.ledger.seed = seed.to_owned();
        Node::start_with(customers, config).await
    }

    /// A node started with `config` (e.g. injected faults, which the set-up here does not meet:
    /// it goes through the world, not the Ledger API).
    pub async fn start_with(customers: usize, config: SandboxConfig) -> Node {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let (treasury, customers, dso) = sandbox.with_world(|w| {
            let treasury = w.ledger.allocate_party("treasury").expect("party");
            w.amulet
                .create_preapproval(&mut w.ledger, &treasury)
                .expect("preapproval");
            (
                treasury,
                funded_customers(w, customers),
                w.amulet.dso.clone(),
            )
        });
        Node {
            sandbox,
            treasury,
            customers,
            instrument: InstrumentId {
                admin: PartyId::new(&dso).expect("party"),
                id: "Amulet".into(),
            },
            seq: 0,
        }
    }

    /// A 1-step deposit from `customer` to the treasury with `memo`.
    pub fn deposit(&mut self, customer: usize, value: Amount, memo: &str) {
        self.seq += 1;
        let request = TransferRequest {
            sender: self.customers[customer].clone(),
            receiver: self.treasury.clone(),
            amount: value,
            memo: Some(memo.to_owned()),
            inputs: None,
            command_id: format!("deposit-{}", self.seq),
        };
        self.sandbox
            .with_world(|w| w.amulet.transfer(&mut w.ledger, &request))
            .expect("deposit commits");
    }

    /// `n` deposits of 1 to 20 by customers `rng` picks, each to the customer's own account;
    /// each is added to `expected`.
    pub fn random_deposits(&mut self, rng: &mut Rng, n: usize, expected: &mut Credits) {
        for _ in 0..n {
            let c = rng.below(self.customers.len() as u64) as usize;
            let value = Amount::from_whole(1 + rng.below(20) as i64);
            self.credited_deposit(c, value, expected);
        }
    }

    /// A deposit by `customer` to its own account, added to `expected`.
    pub fn credited_deposit(&mut self, customer: usize, value: Amount, expected: &mut Credits) {
        self.deposit(customer, value, account_of(customer).as_str());
        let e = expected.entry(customer).or_insert(Amount::ZERO);
        *e = e.checked_add(value).expect("no overflow");
    }

    /// A 1-step withdrawal from the treasury to `customer`, funded by `inputs`.
    pub fn withdraw(&mut self, customer: usize, value: Amount, memo: &str, inputs: Vec<String>) {
        self.seq += 1;
        let request = TransferRequest {
            sender: self.treasury.clone(),
            receiver: self.customers[customer].clone(),
            amount: value,
            memo: Some(memo.to_owned()),
            inputs: Some(inputs),
            command_id: format!("withdrawal-{}", self.seq),
        };
        self.sandbox
            .with_world(|w| w.amulet.transfer(&mut w.ledger, &request))
            .expect("withdrawal commits");
    }

    pub fn ledger_end(&self) -> i64 {
        self.sandbox.with_world(|w| w.ledger.ledger_end())
    }

    pub fn source(&self, transport: Transport) -> Source {
        Source::Ledger {
            client: LedgerClient::new(&self.sandbox.ledger_api_url(), None),
            transport,
        }
    }

    pub fn config(&self, once: bool, batch: usize) -> IngestConfig {
        ingest_config(&self.treasury, once, batch)
    }

    /// Ingests up to the ledger end.
    pub async fn ingest_once(
        &self,
        store: &Store,
        transport: Transport,
        batch: usize,
    ) -> Result<Summary, IngestError> {
        ingest(store, self.source(transport), self.config(true, batch)).await
    }

    /// Every customer's balance of the node's Canton Coin in `store`.
    pub async fn balances(&self, store: &Store) -> Credits {
        balances(store, self.customers.len(), &self.instrument).await
    }

    /// Every customer's balance is what `expected` says (zero for those it does not name).
    pub async fn assert_credited(&self, store: &Store, expected: &Credits) {
        assert_eq!(
            self.balances(store).await,
            with_zeros(expected, self.customers.len())
        );
    }

    /// What the journal books is whole deposits: the credited deposits add up to the
    /// customers' balances.
    pub async fn assert_whole_deposits_booked(&self, store: &Store) {
        let credited = store
            .deposits_in_state(exchange_core::changeset::DepositState::Credited)
            .await
            .expect("deposits");
        let total: Amount = credited.iter().map(|d| d.deposit.amount).sum();
        let booked: Amount = self.balances(store).await.values().copied().sum();
        assert_eq!(total, booked);
    }
}

/// `n` customers allocated, each with a transfer preapproval and 1,000,000 Canton Coin.
pub fn funded_customers(w: &mut World, n: usize) -> Vec<String> {
    let mut parties = Vec::new();
    for i in 0..n {
        let c = w
            .ledger
            .allocate_party(&format!("customer{i}"))
            .expect("party");
        w.amulet
            .create_preapproval(&mut w.ledger, &c)
            .expect("preapproval");
        w.amulet
            .mint(&mut w.ledger, &c, amount("1000000"))
            .expect("mint");
        parties.push(c);
    }
    parties
}

/// Ingestion of `treasury`'s updates as the tests run it: small batches closed quickly, and
/// quick, few retries.
pub fn ingest_config(treasury: &str, once: bool, batch: usize) -> IngestConfig {
    let mut config = IngestConfig::new(FoldConfig::new(PartyId::new(treasury).expect("party")));
    config.once = once;
    config.batch_transactions = batch;
    config.batch_wait = Duration::from_millis(20);
    config.retry = RetryPolicy {
        max_retries: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    config
}

pub async fn ingest(
    store: &Store,
    source: Source,
    config: IngestConfig,
) -> Result<Summary, IngestError> {
    let (_stop, stop_rx) = watch::channel(false);
    Ingestor::new(store.clone(), source, config, Arc::new(Silent))
        .run(stop_rx)
        .await
}

/// Ingestion tailing the ledger in a task of its own, as the service runs it.
pub struct Tailing {
    /// Asks the run to stop gracefully (see [`Tailing::stop`]); without it, only an abort ends it.
    stop_tx: watch::Sender<bool>,
    pub task: JoinHandle<Result<Summary, IngestError>>,
}

impl Tailing {
    pub fn spawn(
        store: &Store,
        source: Source,
        config: IngestConfig,
        observer: Arc<dyn Observer>,
    ) -> Tailing {
        let ingestor = Ingestor::new(store.clone(), source, config, observer);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(async move { ingestor.run(stop_rx).await });
        Tailing { stop_tx, task }
    }

    /// A graceful stop, and how the run ended.
    pub async fn stop(self) -> Result<Summary, IngestError> {
        self.stop_tx.send(true).expect("the run listens");
        self.task.await.expect("the run did not panic")
    }
}

/// Polls `done` until it holds (for up to 10 s).
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A node with `customers` funded customers, and a fresh store on `db` with their deposit
/// accounts.
pub async fn node_and_store(db: &TestDb, customers: usize) -> (Node, Store) {
    let node = Node::start(customers).await;
    let store = store_for(db, &node.sandbox, customers).await;
    (node, store)
}

/// A fresh store on `db` with `customers` deposit accounts and `sandbox`'s tokens onboarded.
pub async fn store_for(db: &TestDb, sandbox: &Sandbox, customers: usize) -> Store {
    let store = db.open().await;
    create_accounts(&store, customers).await;
    onboard_sandbox_tokens(&store, sandbox).await;
    store
}

/// Onboards the sandbox's tokens as an operator would: Canton Coin (its DSO, `splice-amulet`,
/// 1-step) and SBX (its admin, `sandbox-token`, offers), so that ingestion credits them.
pub async fn onboard_sandbox_tokens(store: &Store, sandbox: &Sandbox) {
    use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
    for token in sandbox.info().tokens {
        let (package, kind) = match token.instrument_id.as_str() {
            "Amulet" => ("splice-amulet", TokenTransferKind::OneStep),
            "SBX" => ("sandbox-token", TokenTransferKind::MultiStep),
            other => panic!("a sandbox token the tests do not know: {other}"),
        };
        store
            .onboard_token(&OnboardedToken {
                instrument: InstrumentId {
                    admin: PartyId::new(&token.admin).expect("party"),
                    id: token.instrument_id.clone(),
                },
                registry_url: token.registry_url.clone(),
                transfer_kind: kind,
                package_names: [package.to_owned()].into(),
            })
            .await
            .expect("onboard");
    }
}

pub async fn create_accounts(store: &Store, n: usize) {
    for i in 0..n {
        store
            .create_account(&account_of(i), &format!("customer-{i}"))
            .await
            .expect("account");
    }
}

/// `expected` per customer for all `n` customers, zero for those without deposits: the shape
/// of [`balances`].
pub fn with_zeros(expected: &BTreeMap<usize, Amount>, n: usize) -> BTreeMap<usize, Amount> {
    (0..n)
        .map(|i| (i, expected.get(&i).copied().unwrap_or(Amount::ZERO)))
        .collect()
}

/// Every account's balance of `instrument`.
pub async fn balances(
    store: &Store,
    n: usize,
    instrument: &InstrumentId,
) -> BTreeMap<usize, Amount> {
    let mut out = BTreeMap::new();
    for i in 0..n {
        out.insert(
            i,
            store
                .balance(&account_of(i), instrument)
                .await
                .expect("balance"),
        );
    }
    out
}

/// A copy of the DB as it is now (the "backup"), as a separate test database. The store must
/// be closed on PostgreSQL (a template database cannot have sessions).
pub async fn backup(db: &TestDb) -> TestDb {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let copy = TestDb::sqlite();
        let target = copy.url.strip_prefix("sqlite://").expect("sqlite url");
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query(&format!("VACUUM INTO '{target}'"))
            .execute(&mut conn)
            .await
            .expect("vacuum into");
        let _ = conn.close().await;
        let _ = path;
        return copy;
    }
    let copy = TestDb::postgres("backup").await.expect("postgres is there");
    let (base, source_name) = db.url.rsplit_once('/').expect("url has a path");
    let target_name = copy.url.rsplit_once('/').expect("url has a path").1;
    let mut admin = None;
    for admin_db in ["postgres", "root", "test"] {
        if let Ok(c) = sqlx::PgConnection::connect(&format!("{base}/{admin_db}")).await {
            admin = Some(c);
            break;
        }
    }
    let mut admin = admin.expect("an admin database");
    // A template database cannot have sessions. sqlx's `Pool::close` can miss a connection
    // that is being returned to the pool while it closes (ingestion returns its commit
    // connection from the commit's own task): such an idle leftover is ended here, as a backup
    // tool would not care about it either.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(source_name)
    .execute(&mut admin)
    .await
    .expect("end leftover sessions");
    for sql in [
        format!("DROP DATABASE \"{target_name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{target_name}\" TEMPLATE \"{source_name}\""),
    ] {
        sqlx::query(&sql).execute(&mut admin).await.expect(&sql);
    }
    let _ = admin.close().await;
    copy
}
