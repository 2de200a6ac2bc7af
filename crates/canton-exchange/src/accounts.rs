//! `canton-exchange accounts`: deposit accounts and their balances; `accounts add` opens one.

use std::io::Write;

use anyhow::{Context, Result};
use exchange_api::views::{AccountView, BalanceView};
use exchange_core::changeset::AccountId;
use serde::Serialize;

use crate::db::{DbArgs, runtime};
use crate::output::{Format, short};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    db: DbArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Open a deposit account: its id is the memo customers put on their deposits. Writes.
    Add(AddArgs),
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The account id (the deposit memo).
    #[arg(long)]
    id: String,
    /// The exchange's reference of the customer who owns it.
    #[arg(long)]
    customer: String,
}

/// The REST API's account (`GET /v1/accounts`) with its balances (`GET
/// /v1/accounts/{id}/balances`), so a script reads the same fields from either.
#[derive(Serialize)]
struct AccountRow {
    #[serde(flatten)]
    account: AccountView,
    balances: Vec<BalanceView>,
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    match &args.command {
        Some(Command::Add(add)) => run_add(add, out),
        None => run_list(args, out),
    }
}

fn run_add(args: &AddArgs, out: &mut impl Write) -> Result<()> {
    let id = AccountId::new(args.id.as_str())
        .with_context(|| format!("--id {:?}: an account id must be non-empty", args.id))?;
    if args.customer.trim().is_empty() {
        anyhow::bail!("--customer must not be empty");
    }
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let result = store.create_account(&id, &args.customer).await;
        store.close().await;
        result.map_err(|e| match e {
            exchange_store::StoreError::Conflict(_) => {
                anyhow::anyhow!("account {id} already exists")
            }
            other => other.into(),
        })
    })?;
    writeln!(out, "account {id} opened for customer {}", args.customer)?;
    Ok(())
}

fn run_list(args: &Args, out: &mut impl Write) -> Result<()> {
    let accounts = runtime()?.block_on(async {
        let store = args.db.open_read_only().await?;
        let mut rows = Vec::new();
        for account in store.accounts().await? {
            let balances = store.balances(&account.id).await?;
            rows.push(AccountRow {
                balances: balances
                    .iter()
                    .map(|(instrument, amount)| BalanceView::new(instrument, *amount))
                    .collect(),
                account: account.into(),
            });
        }
        store.close().await;
        anyhow::Ok(rows)
    })?;
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &accounts)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&accounts, out)?,
    }
    Ok(())
}

/// One line per account and instrument; an account without journal entries shows `-`.
fn write_table(accounts: &[AccountRow], out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{:<20} {:<20} {:<24} {:>28}",
        "account", "customer", "instrument", "balance"
    )?;
    for a in accounts {
        if a.balances.is_empty() {
            writeln!(
                out,
                "{:<20} {:<20} {:<24} {:>28}",
                a.account.account_id, a.account.customer_ref, "-", "-"
            )?;
        }
        for b in &a.balances {
            let instrument = format!("{} ({})", b.instrument.id, short(&b.instrument.admin));
            writeln!(
                out,
                "{:<20} {:<20} {:<24} {:>28}",
                a.account.account_id, a.account.customer_ref, instrument, b.amount
            )?;
        }
    }
    writeln!(out, "{} accounts", accounts.len())?;
    Ok(())
}
