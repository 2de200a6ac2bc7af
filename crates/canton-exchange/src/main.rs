//! `canton-exchange`: the exchange side of a Canton Network integration, one binary.

mod explain;
mod sandbox;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Ingestion allocates many small strings per event; mimalloc makes that markedly cheaper than
// the system allocator (see the parser benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "canton-exchange",
    version,
    about = "The exchange side of a Canton Network integration"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explain what recorded ledger transactions mean for a party (deposits, withdrawals,
    /// holdings); for support staff and audits.
    Explain(explain::Args),
    /// Run a sandbox Canton node (JSON Ledger API, Admin API gRPC, control API) for tests,
    /// demos and disaster drills.
    Sandbox(sandbox::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args, &mut std::io::stdout().lock()),
        Command::Sandbox(args) => sandbox::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
