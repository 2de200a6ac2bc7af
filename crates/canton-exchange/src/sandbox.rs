//! `canton-exchange sandbox`: runs a sandbox Canton node (JSON Ledger API, Admin API gRPC and the
//! sandbox control API) until interrupted, after writing an info file once it is ready.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};

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
    let started = Instant::now();
    let mut config = SandboxConfig {
        listen: args.listen,
        admin_listen: args.admin_listen,
        scenario,
        ..Default::default()
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
