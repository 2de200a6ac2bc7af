//! `canton-exchange demo`: the whole flow on the embedded defaults, in one command. A built-in
//! sandbox node is seeded with the `basic` scenario (customers deposit to the treasury with
//! known and unknown memos, the treasury pays one withdrawal, offers come and go); deposit
//! accounts are opened for the customers; ingestion reads the treasury's history into a SQLite
//! Integration DB; then it prints what an operator sees: status, holdings and balances.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use canton_ledger::client::LedgerClient;
use canton_sandbox::scenario::deposit_memo;
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use exchange_core::InstrumentId;
use exchange_core::PartyId;
use exchange_core::changeset::AccountId;
use exchange_core::ingest::FoldConfig;
use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_services::{IngestConfig, Ingestor, Source, Transport};
use exchange_store::StoreError;
use tokio::sync::watch;

use crate::secrets::redact_url;
use crate::{holdings, status};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Integration DB; by default a new SQLite file in the system's temporary directory,
    /// so that every run starts afresh. The file is kept for `status` and `holdings`.
    #[arg(long)]
    db: Option<String>,
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    // Ingestion's warnings and progress on stderr, as `ingest` shows them.
    crate::logs::init(crate::logs::LogFormat::Human);
    let db = match &args.db {
        Some(db) => db.clone(),
        None => {
            let dir =
                std::env::temp_dir().join(format!("canton-exchange-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            format!("sqlite://{}", dir.join("integration.db").display())
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let balances = runtime.block_on(ingest_the_basic_scenario(&db, out))?;
    drop(runtime);

    writeln!(out, "\n== status")?;
    status::run(&status::Args::for_db(&db), out)?;
    writeln!(out, "\n== treasury holdings")?;
    holdings::run(&holdings::Args::for_db(&db), out)?;
    writeln!(out, "\n== customer balances (from the journal)")?;
    for (account, instrument, amount) in balances {
        writeln!(out, "  {account:<28} {instrument:<10} {amount:>22}")?;
    }
    // The URL as given may hold a password: show it redacted (status reads the password
    // from CANTON_EXCHANGE_DB_PASSWORD or --db-password-file instead).
    let shown = redact_url(&db);
    writeln!(
        out,
        "\nThe Integration DB stays at {shown}: try `canton-exchange status --db {shown}`."
    )?;
    Ok(())
}

/// Onboards the sandbox's tokens as an operator would (`tokens add`: the registry must confirm
/// the admin and instrument): Canton Coin with the package name its validator manages, SBX with
/// its token package. Nothing else is credited.
async fn onboard_sandbox_tokens(
    sandbox: &Sandbox,
    store: &exchange_store::Store,
    out: &mut impl Write,
) -> Result<()> {
    writeln!(out, "\n== tokens onboarded")?;
    for token in sandbox.info().tokens {
        let (package, kind) = match token.instrument_id.as_str() {
            "Amulet" => ("splice-amulet", TokenTransferKind::OneStep),
            _ => ("sandbox-token", TokenTransferKind::MultiStep),
        };
        let onboarded = OnboardedToken {
            instrument: InstrumentId {
                admin: PartyId::new(&token.admin)?,
                id: token.instrument_id.clone(),
            },
            registry_url: token.registry_url.clone(),
            transfer_kind: kind,
            package_names: [package.to_owned()].into(),
        };
        crate::tokens::check_metadata(&onboarded, Default::default(), Default::default()).await?;
        store.onboard_token(&onboarded).await?;
        writeln!(
            out,
            "  {:<8} admin {}  package {package}  {}",
            token.instrument_id,
            token.admin,
            kind.as_str()
        )?;
    }
    Ok(())
}

/// Starts the sandbox, opens the accounts, ingests to the ledger end; returns the balances.
async fn ingest_the_basic_scenario(
    db: &str,
    out: &mut impl Write,
) -> Result<Vec<(String, String, String)>> {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..SandboxConfig::default()
    })
    .await
    .context("starting the sandbox node")?;
    let parties = sandbox.parties().clone();
    let treasury = parties
        .treasury
        .clone()
        .context("the basic scenario has no treasury")?;
    writeln!(
        out,
        "== sandbox node at {} (scenario basic)",
        sandbox.ledger_api_url()
    )?;
    writeln!(out, "  treasury  {treasury}")?;

    let db_args = crate::db::DbArgs::for_url(db);
    let store = db_args.open().await?;
    let mut accounts = Vec::new();
    for (name, party) in &parties.customers {
        let account = AccountId::new(deposit_memo(name)).context("empty memo")?;
        match store.create_account(&account, name).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e).context("opening a deposit account"),
        }
        writeln!(
            out,
            "  customer  {name:<8} {party}  deposit account {account}"
        )?;
        accounts.push(account);
    }

    onboard_sandbox_tokens(&sandbox, &store, out).await?;

    let mut config = IngestConfig::new(FoldConfig::new(PartyId::new(&treasury)?));
    config.once = true;
    let source = Source::Ledger {
        client: LedgerClient::new(&sandbox.ledger_api_url(), None),
        transport: Transport::Websocket,
    };
    let (_stop, stop_rx) = watch::channel(false);
    let summary = Ingestor::new(store.clone(), source, config, Arc::new(crate::ingest::Log))
        .run(stop_rx)
        .await?;
    writeln!(
        out,
        "\n== ingestion\n  ingested {} transactions in {} batches up to offset {}; {} anomalies",
        summary.ingested, summary.batches, summary.offset, summary.anomalies
    )?;

    let mut balances = Vec::new();
    for account in &accounts {
        for (instrument, amount) in store.balances(account).await? {
            balances.push((
                account.to_string(),
                instrument.id.clone(),
                amount.to_string(),
            ));
        }
    }
    store.close().await;
    sandbox.shutdown().await;
    Ok(balances)
}
