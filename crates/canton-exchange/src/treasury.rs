//! `canton-exchange treasury setup`: the guide's "Setup the treasury party" in one idempotent
//! command. The treasury becomes an external party of the key in `--key` (the node's onboarding
//! topology decoded, checked and re-hashed before the key signs it), then gets its Canton Coin
//! `TransferPreapproval` with `--provider` (the validator operator) as provider (the proposal
//! prepared, verified, re-hashed, signed and executed; the provider accepts). Each step prints
//! what it did or found; running it again changes nothing. The key never leaves the file.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use canton_ledger::registry_client::RegistryClient;
use exchange_core::PartyId;
use exchange_core::signing::Signer;
use exchange_services::signer::FileSigner;
use exchange_services::treasury_setup::{SetupConfig, setup_treasury};

use crate::db::runtime;
use crate::ledger::LedgerAuth;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Allocate the treasury as an external party of its key and create its Canton Coin
    /// TransferPreapproval; finds and reports what an earlier run did. Writes (on the ledger).
    Setup(SetupArgs),
}

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// `http://host:port` of the node's JSON Ledger API.
    #[arg(long, env = "CANTON_LEDGER_URL")]
    ledger: String,
    #[command(flatten)]
    auth: LedgerAuth,
    /// The treasury's Ed25519 key file (mode 0600; `canton-exchange keys generate`).
    #[arg(long, value_name = "FILE", env = "CANTON_EXCHANGE_TREASURY_KEY")]
    key: PathBuf,
    /// The party hint: the treasury is `HINT::<the key's fingerprint>`.
    #[arg(long, value_name = "NAME")]
    hint: String,
    /// The preapproval's provider: the validator operator party (the exchangeParty).
    #[arg(long, value_name = "PARTY")]
    provider: Option<String>,
    /// The DSO party (Canton Coin's admin); default: the adminId of --registry.
    #[arg(long, value_name = "PARTY")]
    dso: Option<String>,
    /// The Canton Coin registry (the scan proxy's base URL, above `/registry/metadata/v1/info`),
    /// asked for the DSO party when --dso is not given.
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// The synchronizer to onboard on; default: the participant's only one.
    #[arg(long, value_name = "ID")]
    synchronizer: Option<String>,
    /// The Ledger API user commands are submitted as.
    #[arg(long, value_name = "ID", default_value = "canton-exchange")]
    user_id: String,
    /// Seconds to wait for the party to be listed and the preapproval to be accepted.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    wait_secs: u64,
}

pub fn run(command: &Command, out: &mut impl std::io::Write) -> Result<()> {
    match command {
        Command::Setup(args) => setup(args, out),
    }
}

fn party(flag: &str, value: &Option<String>) -> Result<Option<PartyId>> {
    value
        .as_deref()
        .map(|p| PartyId::new(p).with_context(|| format!("{flag} {p:?}")))
        .transpose()
}

fn setup(args: &SetupArgs, out: &mut impl std::io::Write) -> Result<()> {
    let signer = FileSigner::load(&args.key).context("--key")?;
    let limits = args.auth.net.limits();
    let client = args.auth.client(&args.ledger)?;
    let mut config = SetupConfig::new(&args.hint, &args.user_id);
    config.synchronizer = args.synchronizer.clone();
    config.provider = party("--provider", &args.provider)?;
    config.dso = party("--dso", &args.dso)?;
    config.registry = args
        .registry
        .as_deref()
        .map(|url| RegistryClient::new(url, limits));
    config.timeout = Duration::from_secs(args.wait_secs);
    writeln!(
        out,
        "treasury key {} (fingerprint {})",
        args.key.display(),
        signer.public_key().fingerprint()
    )?;
    // Each step is printed as it ends, so what was done shows even if a later step fails.
    let mut write_error = None;
    let result = runtime()?.block_on(setup_treasury(&client, &signer, &config, |step| {
        if let Err(e) = writeln!(out, "{step}") {
            write_error.get_or_insert(e);
        }
    }));
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let setup = result.context("treasury setup")?;
    writeln!(out, "treasury {} is set up", setup.treasury)?;
    Ok(())
}
