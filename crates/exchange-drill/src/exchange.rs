//! The exchange a drill runs: a sandbox node whose treasury is an external party (its Ed25519
//! key in a 0600 key file), funded customers with transfer preapprovals, both sandbox tokens
//! onboarded (Canton Coin 1-step, SBX offers), the Integration DB with the customers'
//! accounts, and the services: ingestion, withdrawal automation, deposit automation and the
//! pool job. The services run in ticks, one after the other, so that a seed replays the same
//! interleaving; a crash drops one of them mid-flight.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use canton_sandbox::{Sandbox, SandboxConfig};
use exchange_core::changeset::AccountId;
use exchange_core::ingest::{FoldConfig, SUSPENSE_ACCOUNT, SkipRule};
use exchange_core::memo::MemoKey;
use exchange_core::pool::PoolPolicy;
use exchange_core::signing::Signer;
use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_core::{Amount, InstrumentId, PartyId, Timestamp};
use exchange_services::deposits::{DepositAutomation, DepositConfig};
use exchange_services::observe::Silent;
use exchange_services::pool::{PoolConfig, PoolJob};
use exchange_services::retry::RetryPolicy;
use exchange_services::signer::FileSigner;
use exchange_services::withdraw::{Automation, AutomationConfig};
use exchange_services::{IngestConfig, Ingestor, Source, Summary, Transport};
use exchange_store::Store;
use tokio::sync::watch;

use crate::DrillError;
use crate::clock::{self, OFFER_TIME, WITHDRAWAL_TTL};
use crate::db::ScratchDb;

/// Customers per drill; each starts with [`INITIAL_AMULET`] Canton Coin.
pub const CUSTOMERS: usize = 4;
pub const INITIAL_AMULET: i64 = 1_000_000;
/// How long an automation claim holds: a crashed replica's claims lapse after this.
pub const CLAIM: Duration = Duration::from_millis(400);

/// The treasury's key file, in the DB's directory (mode 0600, see [`FileSigner::generate`]).
pub const TREASURY_KEY_FILE: &str = "treasury.key";

pub fn account_of(customer: usize) -> AccountId {
    AccountId::new(format!("acct-{customer}")).expect("non-empty")
}

pub fn suspense() -> AccountId {
    AccountId::new(SUSPENSE_ACCOUNT).expect("non-empty")
}

pub struct Exchange {
    pub sandbox: Sandbox,
    pub db: ScratchDb,
    pub store: Store,
    pub treasury: String,
    pub customers: Vec<String>,
    pub amulet: InstrumentId,
    pub sbx: InstrumentId,
    pub memo_key: MemoKey,
    signer: Arc<FileSigner>,
    registries: BTreeMap<PartyId, RegistryClient>,
    seq: u64,
}

impl Exchange {
    /// A new node (its ids derive from `seed`) and a new Integration DB in `db`, with the
    /// customers' deposit accounts open.
    pub async fn start(db: ScratchDb, seed: u64) -> Result<Exchange, DrillError> {
        let x = Exchange::launch(db, seed).await?;
        for i in 0..CUSTOMERS {
            x.store
                .create_account(&account_of(i), &format!("customer-{i}"))
                .await?;
        }
        Ok(x)
    }

    /// [`Exchange::start`] without the customers' accounts, for callers that open them their
    /// own way (the demo, through the REST API): the node, the DB, the suspense account and
    /// the onboarded tokens.
    pub async fn launch(db: ScratchDb, seed: u64) -> Result<Exchange, DrillError> {
        let signer = Arc::new(
            FileSigner::generate(&db.file(TREASURY_KEY_FILE))
                .map_err(|e| DrillError::Setup(format!("treasury key: {e}")))?,
        );
        let (sandbox, treasury, customers) = start_node(seed, &signer.public_key().0).await?;
        let info = sandbox.info();
        let (amulet, amulet_registry) = instrument(&info, "Amulet")?;
        let (sbx, sbx_registry) = instrument(&info, "SBX")?;
        let registries = [(&amulet, &amulet_registry), (&sbx, &sbx_registry)]
            .into_iter()
            .map(|(i, url)| {
                (
                    i.admin.clone(),
                    RegistryClient::new(url, Default::default()),
                )
            })
            .collect();
        let store = db.open().await?;
        store.create_account(&suspense(), "operator").await?;
        onboard(
            &store,
            &amulet,
            &amulet_registry,
            TokenTransferKind::OneStep,
            "splice-amulet",
        )
        .await?;
        onboard(
            &store,
            &sbx,
            &sbx_registry,
            TokenTransferKind::MultiStep,
            "sandbox-token",
        )
        .await?;
        // The memo key is the drill's own, derived from the seed (a drill has no secrets).
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8] = 0xd7;
        Ok(Exchange {
            sandbox,
            db,
            store,
            treasury,
            customers,
            amulet,
            sbx,
            memo_key: MemoKey::from_bytes(key),
            signer,
            registries,
            seq: 0,
        })
    }

    pub fn treasury_party(&self) -> PartyId {
        PartyId::new(&self.treasury).expect("a party id")
    }

    /// A fresh command id for `what`.
    pub fn command_id(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("drill-{what}-{}", self.seq)
    }

    pub fn client(&self) -> LedgerClient {
        LedgerClient::new(&self.sandbox.ledger_api_url(), None)
    }

    pub fn source(&self) -> Source {
        Source::Ledger {
            client: self.client(),
            transport: Transport::Http,
        }
    }

    /// The node has participant-local history edits (ACS imports), so ingestion skips by known
    /// update id, as the guide advises for such nodes; recovered withdrawals are attributed
    /// through their sealed memos.
    pub fn ingest_config(&self) -> IngestConfig {
        let mut fold = FoldConfig::new(self.treasury_party());
        fold.skip_rule = SkipRule::KnownUpdateId;
        fold.memo_key = Some(self.memo_key.clone());
        let mut config = IngestConfig::new(fold);
        config.once = true;
        config.batch_transactions = 50;
        config.batch_wait = Duration::from_millis(5);
        config.retry = RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        config
    }

    pub fn ingestor(&self) -> Ingestor {
        Ingestor::new(
            self.store.clone(),
            self.source(),
            self.ingest_config(),
            Arc::new(Silent),
        )
    }

    /// Ingests up to the ledger end.
    pub async fn ingest(&self) -> Result<Summary, DrillError> {
        let (_stop, stop) = watch::channel(false);
        Ok(self.ingestor().run(stop).await?)
    }

    pub fn automation(&self) -> Automation {
        let mut config = AutomationConfig::new("drill");
        config.one_step.insert(self.amulet.clone());
        config.claim = CLAIM;
        config.outcome_timeout = Duration::from_millis(150);
        config.retry_delay = Duration::from_millis(20);
        config.offer_micros = OFFER_TIME;
        config.concurrency = 4;
        let signer: Arc<dyn Signer + Send + Sync> = self.signer.clone();
        Automation::new(
            self.store.clone(),
            self.client(),
            self.registries.clone(),
            signer,
            self.treasury_party(),
            config,
        )
    }

    pub fn deposit_automation(&self) -> DepositAutomation {
        let mut config = DepositConfig::new("drill");
        config.claim = CLAIM;
        config.outcome_timeout = Duration::from_millis(150);
        config.retry_delay = Duration::from_millis(20);
        config.max_attempts = 5;
        let signer: Arc<dyn Signer + Send + Sync> = self.signer.clone();
        DepositAutomation::new(
            self.store.clone(),
            self.client(),
            signer,
            self.treasury_party(),
            config,
        )
    }

    /// Canton Coin pooled in a few holdings of 500, dust (below 5) merged.
    pub fn pool_job(&self) -> PoolJob {
        let policy = PoolPolicy {
            k: 3,
            target: Amount::from_whole(500),
            dust: Amount::from_whole(5),
            max_inputs: 100,
        };
        PoolJob::new(
            self.store.clone(),
            self.treasury_party(),
            vec![PoolConfig {
                instrument: self.amulet.clone(),
                policy,
                ttl: Duration::from_micros(WITHDRAWAL_TTL as u64),
            }],
        )
    }

    /// One turn of every service, in a fixed order.
    pub async fn tick(&self, pool: bool) -> Result<(), DrillError> {
        clock::catch_up(&self.sandbox);
        if pool {
            self.pool_job().run_once().await?;
        }
        self.automation().run_round().await?;
        self.deposit_automation().run_round().await?;
        self.ingest().await?;
        Ok(())
    }

    /// Closes the store and opens the DB again (after a DB restore, or a crashed process).
    pub async fn reopen(&mut self) -> Result<(), DrillError> {
        self.store.close().await;
        self.store = self.db.open().await?;
        Ok(())
    }
}

impl Exchange {
    /// Stops the node and closes the DB; a scratch PostgreSQL database is dropped with `db`.
    pub async fn finish(self) {
        self.store.close().await;
        self.sandbox.shutdown().await;
    }
}

/// The node: record times step 1 µs per transaction from the wall clock's now (the drill moves
/// the clock where it wants it); the treasury an external party of `public`, with a Canton
/// Coin preapproval; funded customers with theirs.
async fn start_node(
    seed: u64,
    public: &[u8],
) -> Result<(Sandbox, String, Vec<String>), DrillError> {
    let mut config = SandboxConfig::default();
    config.ledger.seed = format!("drill-{seed}");
    config.ledger.start_time = Timestamp::now();
    config.ledger.clock_step_micros = 1;
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| DrillError::Setup(format!("sandbox: {e}")))?;
    let parties = sandbox.with_world(|w| -> Result<_, String> {
        let (treasury, _) = w
            .external
            .allocate(&mut w.ledger, "treasury", public)
            .map_err(|e| e.to_string())?;
        w.amulet
            .create_preapproval(&mut w.ledger, &treasury)
            .map_err(|e| e.to_string())?;
        let mut customers = Vec::new();
        for i in 0..CUSTOMERS {
            let c = w
                .ledger
                .allocate_party(&format!("customer{i}"))
                .map_err(|e| e.to_string())?;
            w.amulet
                .create_preapproval(&mut w.ledger, &c)
                .map_err(|e| e.to_string())?;
            w.amulet
                .mint(&mut w.ledger, &c, Amount::from_whole(INITIAL_AMULET))
                .map_err(|e| e.to_string())?;
            customers.push(c);
        }
        Ok((treasury, customers))
    });
    let (treasury, customers) = parties.map_err(DrillError::Setup)?;
    Ok((sandbox, treasury, customers))
}

/// A sandbox token's instrument id and registry URL.
fn instrument(
    info: &canton_sandbox::SandboxInfo,
    id: &str,
) -> Result<(InstrumentId, String), DrillError> {
    let t = info
        .tokens
        .iter()
        .find(|t| t.instrument_id == id)
        .ok_or_else(|| DrillError::Setup(format!("the sandbox has no {id}")))?;
    let admin = PartyId::new(&t.admin)
        .map_err(|e| DrillError::Setup(format!("admin {}: {e:?}", t.admin)))?;
    Ok((
        InstrumentId {
            admin,
            id: id.into(),
        },
        t.registry_url.clone(),
    ))
}

/// Onboards a token as `tokens add` records it.
async fn onboard(
    store: &Store,
    instrument: &InstrumentId,
    registry_url: &str,
    kind: TokenTransferKind,
    package: &str,
) -> Result<(), DrillError> {
    let token = OnboardedToken {
        instrument: instrument.clone(),
        registry_url: registry_url.to_owned(),
        transfer_kind: kind,
        package_names: [package.to_owned()].into(),
    };
    Ok(store.onboard_token(&token).await?)
}
