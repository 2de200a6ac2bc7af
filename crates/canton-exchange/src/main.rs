//! `canton-exchange`: the exchange side of a Canton Network integration, one binary.

mod accounts;
mod api;
mod config;
mod db;
mod db_backup;
mod demo;
mod drill;
mod explain;
mod holdings;
mod ingest;
mod keys;
mod ledger;
mod logs;
mod migrate;
mod output;
mod quarantine;
mod recover;
mod recover_db;
mod run;
mod sandbox;
mod secrets;
mod status;
mod tokens;
mod treasury;
mod withdraw;

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
    /// The whole story through the REST API: a built-in sandbox node and the services of `run`
    /// on a new SQLite DB; deposits, withdrawals, dust, a counterfeit, a node restore and a DB
    /// restore with their runbooks; then a report. Exits non-zero if an invariant broke.
    Demo(demo::Args),
    /// Explain what recorded ledger transactions mean for a party (deposits, withdrawals,
    /// holdings); for support staff and audits.
    Explain(explain::Args),
    /// Tx History Ingestion: stream the treasury's transactions into the Integration DB
    /// (credits deposits, mirrors holdings, advances withdrawals). Writes.
    Ingest(ingest::Args),
    /// The services in one process: ingestion, and Withdrawal Automation signing with the
    /// treasury key (prepare, verify, re-hash, sign, execute). Writes.
    Run(Box<run::Cli>),
    /// The config file of `run --config`: `config check FILE` validates it (readable, secrets
    /// resolvable, key files 0600, URLs and amounts well-formed) and prints what `run` would
    /// do, secrets redacted. Reads only; contacts nothing.
    #[command(subcommand)]
    Config(config::Command),
    /// The active treasury holdings (UTXOs). Reads only.
    Holdings(holdings::Args),
    /// Ingestion checkpoint, lag, withdrawals per state, deposits to unknown accounts and the
    /// suspense balance. Reads only.
    Status(status::Args),
    /// Transactions ingestion could not parse and set aside: list them, re-process them.
    #[command(subcommand)]
    Quarantine(quarantine::Command),
    /// Bring the Integration DB's schema up to this version (creating the DB if needed).
    /// Writes; the reading commands never migrate.
    Migrate(migrate::Args),
    /// Backups of a SQLite Integration DB: `db backup` takes a consistent copy while the
    /// service runs; `db restore` puts one back while nothing has the DB open. Writes.
    #[command(subcommand)]
    Db(db_backup::Command),
    /// Disaster-recovery runbooks. Write.
    #[command(subcommand)]
    Recover(recover::Command),
    /// Run a sandbox Canton node (JSON Ledger API, Admin API gRPC, control API) for tests,
    /// demos and disaster drills.
    Sandbox(sandbox::Args),
    /// Disaster drills against a built-in sandbox: seeded traffic, node and DB restores and
    /// crashes at random steps, the recovery runbooks, then the invariants (every deposit
    /// credited once, no withdrawal paid twice, books that balance against the node). Exits
    /// non-zero on any violation, naming the seed and the step.
    Drill(drill::Args),
    /// Deposit accounts and their balances per instrument (reads only); `accounts add --id ID
    /// --customer REF` opens one (writes).
    Accounts(accounts::Args),
    /// Request a customer's withdrawal: debits the account, selects and reserves the treasury
    /// holdings that fund it and records it for the automation, in one DB transaction. Writes.
    Withdraw(withdraw::WithdrawArgs),
    /// Withdrawals with their state, times and last ledger update. Reads only.
    Withdrawals(withdraw::ListArgs),
    /// The treasury's signing key: `keys generate --out FILE` writes a new Ed25519 key file
    /// (0600) and prints its public key and Canton fingerprint. Writes.
    #[command(subcommand)]
    Keys(keys::Command),
    /// The treasury party: `treasury setup` allocates it as an external party of its key and
    /// creates its Canton Coin TransferPreapproval (idempotent). Writes.
    #[command(subcommand)]
    Treasury(treasury::Command),
    /// Token onboarding: `tokens add` checks a token's registry, uploads its `.dar`s and
    /// records it (writes); `tokens list` shows the onboarded tokens (reads only).
    #[command(subcommand)]
    Tokens(tokens::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args, &mut std::io::stdout().lock()),
        Command::Explain(args) => explain::run(&args, &mut std::io::stdout().lock()),
        Command::Ingest(args) => ingest::run(&args),
        Command::Run(cli) => run::run_cli(&cli),
        Command::Config(command) => config::run(&command, &mut std::io::stdout().lock()),
        Command::Holdings(args) => holdings::run(&args, &mut std::io::stdout().lock()),
        Command::Status(args) => status::run(&args, &mut std::io::stdout().lock()),
        Command::Quarantine(command) => quarantine::run(&command, &mut std::io::stdout().lock()),
        Command::Migrate(args) => migrate::run(&args, &mut std::io::stdout().lock()),
        Command::Db(command) => db_backup::run(&command, &mut std::io::stdout().lock()),
        Command::Recover(command) => recover::run(&command),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Drill(args) => drill::run(&args, &mut std::io::stdout().lock()),
        Command::Accounts(args) => accounts::run(&args, &mut std::io::stdout().lock()),
        Command::Withdraw(args) => withdraw::run_withdraw(&args, &mut std::io::stdout().lock()),
        Command::Withdrawals(args) => withdraw::run_list(&args, &mut std::io::stdout().lock()),
        Command::Keys(command) => keys::run(&command, &mut std::io::stdout().lock()),
        Command::Treasury(command) => treasury::run(&command, &mut std::io::stdout().lock()),
        Command::Tokens(command) => tokens::run(&command, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `context: cause: …`, each part once: many error types already
/// include their source's message in their own (`reading the ledger failed: {0}`), which
/// `{:#}` would print a second time.
fn render_error(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
