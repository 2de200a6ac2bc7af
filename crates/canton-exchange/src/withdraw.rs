//! `canton-exchange withdraw`: request a customer's withdrawal (debit, holding selection and
//! reservation in one DB transaction); `canton-exchange withdrawals`: list them.

use std::io::Write;

use anyhow::{Context, Result};
use exchange_api::views::WithdrawalView;
use exchange_core::ContractId;
use exchange_core::changeset::AccountId;
use exchange_core::memo::MemoKey;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalState};
use exchange_services::withdrawal_request::{self, CheckedRequest, RequestError, RequestText};
use exchange_store::{Store, Withdrawal};

use crate::db::{DbArgs, runtime};
use crate::keys::MemoKeyArgs;
use crate::output::{Format, short};

/// How long the automation has to commit a withdrawal's transfer by default.
const DEFAULT_TTL_SECS: u64 = 600;

#[derive(clap::Args, Debug)]
pub struct WithdrawArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The customer's deposit account to debit.
    #[arg(long)]
    account: String,
    /// The receiver's party id (`hint::namespace`).
    #[arg(long)]
    to: String,
    /// A positive decimal with at most 10 decimal places.
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    /// The instrument id (e.g. `Amulet`).
    #[arg(long)]
    instrument: String,
    /// The instrument's admin party; needed only when two known instruments share the id.
    #[arg(long)]
    admin: Option<String>,
    /// Repeating a request with the same key returns the first withdrawal instead of a second.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// The transfer must commit within this many seconds (`trecTgt = now + ttl`), else the
    /// withdrawal expires and is refunded.
    #[arg(long, default_value_t = DEFAULT_TTL_SECS)]
    ttl_secs: u64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    memo_key: MemoKeyArgs,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(subcommand)]
    command: Option<ListCommand>,
    #[command(flatten)]
    db: DbArgs,
    /// Only withdrawals in this state (requested, submitted, pending_acceptance, completed,
    /// failed, expired, recovered).
    #[arg(long)]
    state: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Subcommand, Debug)]
pub enum ListCommand {
    /// Attribute a recovered withdrawal booked to suspense to the customer account that asked
    /// for it (after a DB restore, when its memo could not be unsealed): its debit moves from
    /// suspense to the account in one transaction. Writes.
    Attribute(AttributeArgs),
}

#[derive(clap::Args, Debug)]
pub struct AttributeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The recovered withdrawal's id (its memo).
    id: String,
    /// The customer account it was requested from.
    #[arg(long)]
    account: String,
    /// As given to `ingest`: where recovered withdrawals are debited until attributed.
    #[arg(long, default_value = exchange_core::ingest::SUSPENSE_ACCOUNT)]
    suspense_account: String,
}

fn attribute(args: &AttributeArgs, out: &mut impl Write) -> Result<()> {
    let id = WithdrawalId::new(args.id.as_str()).context("empty withdrawal id")?;
    let account = AccountId::new(args.account.as_str()).context("empty --account")?;
    let suspense =
        AccountId::new(args.suspense_account.as_str()).context("empty --suspense-account")?;
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let done = store.attribute_withdrawal(&id, &account, &suspense).await;
        store.close().await;
        anyhow::Ok(done?)
    })?;
    writeln!(
        out,
        "withdrawal {id} attributed to {account}: its debit moved from {suspense}"
    )?;
    Ok(())
}

/// The request the arguments describe, checked before the DB is opened: bad input loses
/// nothing. The checks are the REST API's too (`exchange_services::withdrawal_request`).
fn checked(args: &WithdrawArgs) -> Result<CheckedRequest> {
    let text = RequestText {
        account: &args.account,
        receiver: &args.to,
        amount: &args.amount,
        instrument: &args.instrument,
        admin: args.admin.as_deref(),
        idempotency_key: args.idempotency_key.as_deref(),
        ttl_secs: args.ttl_secs,
    };
    withdrawal_request::check(&text)
        .map_err(|e| anyhow::anyhow!("{} {}", e.field.cli_flag(), e.why))
}

pub fn run_withdraw(args: &WithdrawArgs, out: &mut impl Write) -> Result<()> {
    let request = checked(args)?;
    let memo_key = args.memo_key.load()?;
    let (withdrawal, holdings) = runtime()?.block_on(async {
        let store = args.db.open().await?;
        let result = place(&store, &request, memo_key.as_ref()).await;
        store.close().await;
        result
    })?;
    // The REST API's view, so a script reads the same fields from either.
    let row = WithdrawalView::new(withdrawal, holdings);
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &row)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "withdrawal {} {}: {} {} from account {} to {}, trecTgt {}, funded by {} holding(s)",
                row.withdrawal_id,
                row.state,
                row.amount,
                row.instrument.id,
                row.account_id.as_deref().unwrap_or("-"),
                row.receiver,
                row.trec_tgt.as_deref().unwrap_or("-"),
                row.holdings.len()
            )?;
        }
    }
    Ok(())
}

async fn place(
    store: &Store,
    request: &CheckedRequest,
    memo_key: Option<&MemoKey>,
) -> Result<(Withdrawal, Vec<ContractId>)> {
    let withdrawal = withdrawal_request::place(store, request, memo_key)
        .await
        .map_err(|e| match e {
            RequestError::AmbiguousInstrument { id, admins } => anyhow::anyhow!(
                "instrument id {id} is ambiguous: name its admin with --admin (one of {})",
                admins.join(", ")
            ),
            other => other.into(),
        })?
        .withdrawal;
    let holdings = withdrawal_request::funding(store, &withdrawal).await?;
    Ok((withdrawal, holdings))
}

pub fn run_list(args: &ListArgs, out: &mut impl Write) -> Result<()> {
    if let Some(ListCommand::Attribute(attribute_args)) = &args.command {
        return attribute(attribute_args, out);
    }
    let state = match &args.state {
        Some(s) => Some(
            s.parse::<WithdrawalState>()
                .map_err(|e| anyhow::anyhow!("--state: {e}"))?,
        ),
        None => None,
    };
    let rows = runtime()?.block_on(async {
        let store = args.db.open_read_only().await?;
        let mut rows = Vec::new();
        for w in store.withdrawals(state).await? {
            let holdings = withdrawal_request::funding(&store, &w).await?;
            rows.push(WithdrawalView::new(w, holdings));
        }
        store.close().await;
        anyhow::Ok(rows)
    })?;
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&rows, out)?,
    }
    Ok(())
}

fn write_table(rows: &[WithdrawalView], out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{:<36} {:<18} {:<12} {:>24} {:<10} {:<20} {:<27} {:<27} last update",
        "withdrawal", "state", "account", "amount", "instrument", "receiver", "created", "updated"
    )?;
    for w in rows {
        writeln!(
            out,
            "{:<36} {:<18} {:<12} {:>24} {:<10} {:<20} {:<27} {:<27} {}",
            w.withdrawal_id,
            w.state,
            w.account_id.as_deref().unwrap_or("-"),
            w.amount,
            w.instrument.id,
            short(&w.receiver),
            w.created_at,
            w.updated_at,
            w.last_update_id.as_deref().unwrap_or("-")
        )?;
    }
    writeln!(out, "{} withdrawals", rows.len())?;
    Ok(())
}
