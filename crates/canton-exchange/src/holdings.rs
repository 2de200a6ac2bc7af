//! `canton-exchange holdings`: the active treasury holdings (UTXOs) as the DB mirrors them.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::db::{DbArgs, Format, runtime};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

impl Args {
    /// The table form for one DB (the demo prints it).
    pub fn for_db(db: &str) -> Args {
        Args {
            db: DbArgs { db: db.to_owned() },
            format: Format::Table,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonHolding {
    contract_id: String,
    owner: Option<String>,
    instrument: JsonInstrument,
    /// Exact decimal text, never a float.
    amount: String,
    /// Whether the holding is locked (e.g. backing one of our transfer offers); the DB keeps
    /// only that it is.
    lock: bool,
    reserved_by: Option<String>,
}

#[derive(Serialize)]
struct JsonInstrument {
    admin: String,
    id: String,
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    let (owner, holdings) = runtime()?.block_on(async {
        let store = args.db.open().await?;
        let owner = store.treasury_party().await?;
        let holdings = store.all_active_holdings().await?;
        store.close().await;
        anyhow::Ok((owner, holdings))
    })?;
    let rows: Vec<JsonHolding> = holdings
        .into_iter()
        .map(|r| JsonHolding {
            contract_id: r.holding.contract_id.to_string(),
            owner: owner.as_ref().map(|p| p.to_string()),
            instrument: JsonInstrument {
                admin: r.holding.instrument.admin.to_string(),
                id: r.holding.instrument.id.clone(),
            },
            amount: r.holding.amount.to_string(),
            lock: r.holding.locked,
            reserved_by: r.reserved_by.map(|w| w.to_string()),
        })
        .collect();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "{:<20} {:<24} {:>28}  {:<6} reserved by",
                "contract", "instrument", "amount", "locked"
            )?;
            for h in &rows {
                let instrument = format!("{} ({})", h.instrument.id, short(&h.instrument.admin));
                writeln!(
                    out,
                    "{:<20} {:<24} {:>28}  {:<6} {}",
                    short(&h.contract_id),
                    instrument,
                    h.amount,
                    if h.lock { "yes" } else { "no" },
                    h.reserved_by.as_deref().unwrap_or("-")
                )?;
            }
            writeln!(out, "{} active holdings", rows.len())?;
        }
    }
    Ok(())
}

pub fn short(s: &str) -> String {
    if s.chars().count() > 18 {
        format!("{}…", s.chars().take(17).collect::<String>())
    } else {
        s.to_owned()
    }
}
