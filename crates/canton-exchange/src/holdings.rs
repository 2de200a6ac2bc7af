//! `canton-exchange holdings`: the active treasury holdings (UTXOs) as the DB mirrors them.

use std::io::Write;

use anyhow::Result;
use exchange_api::views::HoldingView;
use exchange_core::token_standard::Lock;
use serde::Serialize;

use crate::db::{DbArgs, runtime};
use crate::output::{Format, short};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The REST API's holding (`GET /v1/treasury/holdings`), so a script reads the same fields
/// from either, with what an operator looking at the ledger wants besides: the owner and the
/// lock itself rather than only whether there is one.
#[derive(Serialize)]
struct HoldingRow {
    #[serde(flatten)]
    view: HoldingView,
    owner: Option<String>,
    /// The holding view's lock (e.g. on the amount backing one of our transfer offers); null
    /// when unlocked.
    lock: Option<JsonLock>,
}

/// `HoldingV1.Lock` as the Java blueprint prints it: optional fields are left out when absent.
/// A holding ingested before the lock itself was stored shows `holders: []` and nothing else.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLock {
    holders: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// A `RelTime`, as the JSON Ledger API writes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_after: Option<JsonRelTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

#[derive(Serialize)]
struct JsonRelTime {
    /// Decimal text, as the Ledger API encodes 64-bit integers.
    microseconds: String,
}

impl From<&Lock> for JsonLock {
    fn from(lock: &Lock) -> JsonLock {
        JsonLock {
            holders: lock.holders.iter().map(|p| p.to_string()).collect(),
            expires_at: lock.expires_at.map(|t| t.to_string()),
            expires_after: lock.expires_after_micros.map(|m| JsonRelTime {
                microseconds: m.to_string(),
            }),
            context: lock.context.clone(),
        }
    }
}

impl JsonLock {
    /// One short line for the table: who holds it and until when.
    fn summary(&self) -> String {
        let holders: Vec<String> = self.holders.iter().map(|h| short(h)).collect();
        let mut out = if holders.is_empty() {
            "(no details)".to_owned()
        } else {
            format!("held by {}", holders.join(", "))
        };
        if let Some(at) = &self.expires_at {
            out.push_str(&format!(" until {at}"));
        }
        if let Some(after) = &self.expires_after {
            out.push_str(&format!(" for {} µs", after.microseconds));
        }
        out
    }
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    let (owner, holdings) = runtime()?.block_on(async {
        let store = args.db.open_read_only().await?;
        let owner = store.treasury_party().await?;
        let holdings = store.all_active_holdings().await?;
        store.close().await;
        anyhow::Ok((owner, holdings))
    })?;
    let owner = owner.map(|p| p.to_string());
    let rows: Vec<HoldingRow> = holdings
        .into_iter()
        .map(|r| HoldingRow {
            owner: owner.clone(),
            lock: r.holding.lock.as_ref().map(JsonLock::from),
            view: r.into(),
        })
        .collect();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&rows, out)?,
    }
    Ok(())
}

/// The live holdings, then those held back apart with the reason.
fn write_table(rows: &[HoldingRow], out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{:<20} {:<24} {:>28}  {:<6} {:<20} lock",
        "contract", "instrument", "amount", "locked", "reserved by"
    )?;
    let (rows, held_back): (Vec<_>, Vec<_>) = rows.iter().partition(|h| h.view.held_back.is_none());
    for h in &rows {
        let v = &h.view;
        let instrument = format!("{} ({})", v.instrument.id, short(&v.instrument.admin));
        writeln!(
            out,
            "{:<20} {:<24} {:>28}  {:<6} {:<20} {}",
            short(&v.contract_id),
            instrument,
            v.amount,
            if v.locked { "yes" } else { "no" },
            v.reserved_by.as_deref().map_or("-".to_owned(), short),
            h.lock.as_ref().map_or("-".to_owned(), JsonLock::summary)
        )?;
    }
    writeln!(out, "{} active holdings", rows.len())?;
    if !held_back.is_empty() {
        writeln!(out, "\nheld back, never counted or spent:")?;
        for h in &held_back {
            writeln!(
                out,
                "{:<20} {:>28}  {}",
                short(&h.view.contract_id),
                h.view.amount,
                h.view.held_back.as_deref().unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exchange_core::{PartyId, Timestamp};

    #[test]
    fn a_lock_prints_as_the_holding_view_has_it() {
        let lock = Lock {
            holders: vec![PartyId::new("dso::1220ab").unwrap()],
            expires_at: Some("2025-06-18T00:00:00Z".parse::<Timestamp>().unwrap()),
            expires_after_micros: Some(600_000_000),
            context: Some("transfer to 'bob::1220cd'".into()),
        };
        assert_eq!(
            serde_json::to_value(JsonLock::from(&lock)).unwrap(),
            serde_json::json!({
                "holders": ["dso::1220ab"],
                "expiresAt": "2025-06-18T00:00:00Z",
                "expiresAfter": {"microseconds": "600000000"},
                "context": "transfer to 'bob::1220cd'",
            })
        );
        // Absent fields are left out, as the blueprint prints them.
        let bare = Lock {
            holders: vec![],
            expires_at: None,
            expires_after_micros: None,
            context: None,
        };
        assert_eq!(
            serde_json::to_value(JsonLock::from(&bare)).unwrap(),
            serde_json::json!({"holders": []})
        );
    }
}
