//! `canton-exchange sandbox`: runs a sandbox Canton node (JSON Ledger API, Admin API gRPC and the
//! sandbox control API) until interrupted, after writing an info file once it is ready. With
//! `--treasury-key FILE` the scenario's treasury is an external party of that key (loaded as the
//! exchange loads its own: a 0600 key file), so its actions are prepared, signed and executed as
//! against a real validator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use canton_sandbox::{OAuthConfig, Sandbox, SandboxConfig, Scenario, TlsIdentity, TreasuryKey};
use exchange_services::signer::FileSigner;

use crate::secrets::read_secret_file;

#[derive(clap::Args)]
pub struct Args {
    /// Where the Ledger API listens; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where the Admin API (gRPC, h2c) listens; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    admin_listen: SocketAddr,
    #[arg(long, value_enum, default_value_t = ScenarioName::Basic)]
    scenario: ScenarioName,
    /// For `--scenario load`: how many deposits and withdrawals to commit before serving.
    #[arg(long, default_value_t = 100_000)]
    transactions: usize,
    /// Connect the node to a second synchronizer (`sbx`, its clock 10 minutes behind the
    /// global one's) and put the SBX token on it; `--scenario multi-sync` implies it.
    #[arg(long)]
    second_synchronizer: bool,
    /// Written (atomically) as JSON once the node serves: URLs, synchronizer ids, parties, tokens.
    #[arg(long)]
    info_file: Option<PathBuf>,
    /// The scenario's treasury is an external party of the Ed25519 key in FILE (a
    /// `keys generate` file, mode 0600): its preapproval, withdrawals, SBX offers and answers
    /// are prepared, signed with the key and executed, and the node refuses it an ordinary
    /// submission. The info file names it (`parties.treasury`) and its key's fingerprint
    /// (`parties.treasuryPublicKeyFingerprint`).
    #[arg(long, value_name = "FILE")]
    treasury_key: Option<PathBuf>,
    /// Once serving, record times follow the wall clock, as on a real synchronizer (the
    /// scenario itself is built on the sandbox's fixed clock). Withdrawals' target record
    /// times are wall-clock times, so `run` against this node expires them as a real one would.
    #[arg(long)]
    wall_clock: bool,
    /// Which Splice release's Canton Coin transactions the node reproduces: `0.6.11` (V1
    /// signals and token standard V2 events) or `legacy` (before 0.5.16, V1 only).
    #[arg(long, value_enum, default_value_t = ReleaseName::V0_6_11)]
    splice_release: ReleaseName,
    /// SBX becomes a V2-only issuer: token standard V2 views, interfaces and events, no V1
    /// signals.
    #[arg(long)]
    sbx_v2_only: bool,
    /// Serve the Ledger API, the registries and the Admin API over TLS with this PEM
    /// certificate (chain) and --tls-key; URLs in the info file become `https://`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Issue OAuth2 tokens at `POST /oauth/token` (client credentials) to this client id, and
    /// require a valid one on the Ledger API.
    #[arg(long, requires = "oauth_client_secret_file")]
    oauth_client_id: Option<String>,
    /// A file holding the OAuth2 client's secret (its first line).
    #[arg(long, value_name = "FILE", requires = "oauth_client_id")]
    oauth_client_secret_file: Option<PathBuf>,
    /// Seconds an issued token lives.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    oauth_token_lifetime_secs: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReleaseName {
    #[value(name = "0.6.11")]
    V0_6_11,
    Legacy,
}

/// The TLS certificate and key, if given.
fn tls(args: &Args) -> Result<Option<TlsIdentity>> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    Ok(Some(TlsIdentity {
        cert_pem: std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?,
        key_pem: std::fs::read(key).with_context(|| format!("reading {}", key.display()))?,
    }))
}

/// The OAuth2 client the token endpoint serves, if given.
fn oauth(args: &Args) -> Result<Option<OAuthConfig>> {
    let (Some(id), Some(file)) = (&args.oauth_client_id, &args.oauth_client_secret_file) else {
        return Ok(None);
    };
    Ok(Some(OAuthConfig {
        client_id: id.clone(),
        client_secret: read_secret_file(file, "OAuth2 client secret")?,
        token_lifetime: std::time::Duration::from_secs(args.oauth_token_lifetime_secs),
    }))
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScenarioName {
    Empty,
    Basic,
    Load,
    /// `basic` with SBX on a second synchronizer running behind, then deposits on both.
    MultiSync,
}

pub fn run(args: &Args) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: &Args) -> Result<()> {
    let scenario = match args.scenario {
        ScenarioName::Empty => Scenario::Empty,
        ScenarioName::Basic => Scenario::Basic,
        ScenarioName::Load => Scenario::Load {
            transactions: args.transactions,
        },
        ScenarioName::MultiSync => Scenario::MultiSync,
    };
    let treasury_key = match &args.treasury_key {
        Some(path) => {
            let signer = FileSigner::load(path).context("loading the treasury key")?;
            Some(TreasuryKey::new(signer.into_signing_key()))
        }
        None => None,
    };
    let started = Instant::now();
    let mut config = SandboxConfig {
        listen: args.listen,
        admin_listen: args.admin_listen,
        scenario,
        treasury_key,
        wall_clock: args.wall_clock,
        sbx_v2_only: args.sbx_v2_only,
        tls: tls(args)?,
        oauth: oauth(args)?,
        ..Default::default()
    };
    config.amulet.release = match args.splice_release {
        ReleaseName::V0_6_11 => canton_sandbox::token::SpliceRelease::V0_6_11,
        ReleaseName::Legacy => canton_sandbox::token::SpliceRelease::Legacy,
    };
    if args.second_synchronizer {
        config = config.with_second_synchronizer(canton_sandbox::server::MULTI_SYNC_BEHIND_MICROS);
    }
    let sandbox = Sandbox::start(config)
        .await
        .context("starting the sandbox")?;
    let info = sandbox.info();
    if let Some(path) = &args.info_file {
        info.write_to(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "sandbox ready in {:.1} s: Ledger API {}, Admin API {}, ledger end {}; Ctrl-C stops it",
        started.elapsed().as_secs_f64(),
        info.ledger_api_url,
        info.admin_api_url,
        sandbox.ledger_end(),
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}
