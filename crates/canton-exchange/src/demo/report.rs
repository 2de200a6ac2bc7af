//! The demo's closing report: what happened, the balances and the reconciliation as the API
//! shows them after the restores, and the verdict (every invariant held, the books balance
//! with no suspense and no own funds appearing from nowhere, withdrawals on).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use exchange_core::Amount;
use exchange_drill::disaster::Disaster;
use exchange_drill::exchange::account_of;
use exchange_drill::invariants::Broken;
use serde_json::Value;

use super::client::{Client, amount};
use super::story::CUSTOMERS;
use crate::output::short;

/// The withdrawals the story requested, by id.
pub struct Withdrawals {
    pub completed: String,
    pub rejected: String,
    pub expired: String,
}

/// What the story did, for the report.
pub struct Told {
    pub withdrawals: Withdrawals,
    pub restores: Vec<Disaster>,
    /// Invariants broken after the node restore, the DB restore and at the end.
    pub broken: Vec<Broken>,
    pub seconds: f64,
}

/// The API's view at the end.
pub struct Final {
    balances: Vec<(usize, Vec<(String, String)>)>,
    withdrawals: Vec<Value>,
    deposits: BTreeMap<String, usize>,
    totals: Vec<Value>,
    status: Value,
}

pub async fn read(api: &Client) -> Result<Final> {
    let mut balances = Vec::new();
    for c in 0..CUSTOMERS.len() {
        let b = api
            .get(&format!("/v1/accounts/{}/balances", account_of(c)))
            .await?;
        let rows = b["balances"].as_array().into_iter().flatten();
        let rows = rows.map(|r| {
            let id = r["instrument"]["id"].as_str().unwrap_or("?").to_owned();
            (
                id,
                amount(&r["amount"])
                    .map(|a| a.to_plain_string())
                    .unwrap_or_default(),
            )
        });
        balances.push((c, rows.collect()));
    }
    let mut deposits = BTreeMap::new();
    for d in api.all("/v1/deposits").await? {
        *deposits
            .entry(d["state"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    let totals = api.get("/v1/treasury/totals").await?;
    Ok(Final {
        balances,
        withdrawals: api.all("/v1/withdrawals").await?,
        deposits,
        totals: totals["totals"].as_array().cloned().unwrap_or_default(),
        status: api.get_as_operator("/v1/operator/status").await?,
    })
}

fn plain(v: &Value) -> String {
    amount(v)
        .map(|a| a.to_plain_string())
        .unwrap_or_else(|_| v.to_string())
}

/// Prints the report; returns what is wrong (empty: the demo succeeded).
pub fn print(told: &Told, end: &Final, out: &mut dyn Write) -> Result<Vec<String>> {
    writeln!(out, "\n== report")?;
    what_happened(told, end, out)?;
    listings(end, out)?;
    let mut problems = reconcile(&end.totals, out)?;
    if let Some(why) = end.status["withdrawalsDisabled"].as_str() {
        problems.push(format!("withdrawals are off: {why}"));
    }
    if end.status["unattributedWithdrawals"].as_u64().unwrap_or(0) > 0 {
        problems.push("recovered withdrawals are left unattributed".into());
    }
    problems.extend(
        told.broken
            .iter()
            .map(|(n, d)| format!("invariant {n}: {d}")),
    );
    match told.broken.len() {
        0 => writeln!(
            out,
            "\n  invariants (against the node): all held after each restore and at the end"
        )?,
        n => writeln!(out, "\n  invariants (against the node): {n} BROKEN")?,
    }
    writeln!(out, "  the story took {:.1} s", told.seconds)?;
    match problems.len() {
        0 => writeln!(out, "  verdict: every invariant held and the books balance")?,
        n => writeln!(out, "  verdict: {n} problem(s), listed below")?,
    }
    Ok(problems)
}

/// One line per part of the story, and the restores.
fn what_happened(told: &Told, end: &Final, out: &mut dyn Write) -> Result<()> {
    let count = |state: &str| end.deposits.get(state).copied().unwrap_or(0);
    let pool_merges = end
        .withdrawals
        .iter()
        .filter(|x| x["purpose"] == "pool" && x["state"] == "completed")
        .count();
    let w = &told.withdrawals;
    let lines = [
        (
            "accounts",
            format!(
                "{} opened through the API: {}",
                CUSTOMERS.len(),
                CUSTOMERS.join(", ")
            ),
        ),
        (
            "deposits",
            format!(
                "{} credited (1-step and accepted offers); {} unrecognized (the counterfeit, not credited)",
                count("credited"),
                count("unrecognized")
            ),
        ),
        (
            "withdrawals",
            format!(
                "alice's paid ({}); carol's offer rejected ({}) and dave's expired ({}), both refunded",
                short(&w.completed),
                short(&w.rejected),
                short(&w.expired)
            ),
        ),
        (
            "pool",
            format!("{} self-transfer(s) merged dust", pool_merges),
        ),
    ];
    for (what, line) in lines {
        writeln!(out, "  {what:<17} {line}")?;
    }
    for d in &told.restores {
        writeln!(
            out,
            "  {:<17} {} ({} ms)",
            d.kind.name(),
            d.detail,
            d.recovery_ms
        )?;
    }
    Ok(())
}

/// The withdrawals and the balances, as the API lists them.
fn listings(end: &Final, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\n  withdrawals now (GET /v1/withdrawals)")?;
    for x in &end.withdrawals {
        writeln!(
            out,
            "    {:<10} {:<8} {:>6} {:<6} {}",
            x["state"].as_str().unwrap_or("?"),
            x["purpose"].as_str().unwrap_or("?"),
            plain(&x["amount"]),
            x["instrument"]["id"].as_str().unwrap_or("?"),
            x["withdrawalId"].as_str().unwrap_or("?"),
        )?;
    }
    if end.withdrawals.iter().any(|x| x["state"] == "recovered") {
        writeln!(
            out,
            "    (recovered: paid on the ledger after the DB backup, re-created by `recover db` and\n     debited to its customer through the sealed memo in its id)"
        )?;
    }
    writeln!(out, "\n  balances (GET /v1/accounts/{{id}}/balances)")?;
    for (c, rows) in &end.balances {
        let shown: Vec<String> = rows.iter().map(|(i, a)| format!("{a} {i}")).collect();
        writeln!(
            out,
            "    {:<6} {:<7} {}",
            CUSTOMERS[*c],
            account_of(*c),
            shown.join(", ")
        )?;
    }
    Ok(())
}

/// `onLedger = customerLiabilities + suspense + inFlightWithdrawals + ownFunds` per
/// instrument; in this story suspense and own funds must both be zero.
fn reconcile(totals: &[Value], out: &mut dyn Write) -> Result<Vec<String>> {
    writeln!(out, "\n  reconciliation (GET /v1/treasury/totals)")?;
    let mut problems = Vec::new();
    for t in totals {
        let id = t["instrument"]["id"].as_str().unwrap_or("?");
        let part = |k: &str| amount(&t[k]);
        let (held, owed, suspense, flight, own) = (
            part("onLedger")?,
            part("customerLiabilities")?,
            part("suspense")?,
            part("inFlightWithdrawals")?,
            part("ownFunds")?,
        );
        let sum = [owed, suspense, flight, own]
            .iter()
            .try_fold(Amount::ZERO, |s, a| s.checked_add(*a))
            .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
        let balanced = sum == held && !t["shortfall"].as_bool().unwrap_or(true);
        writeln!(
            out,
            "    {id:<7} holdings {} = liabilities {} + suspense {} + in flight {} + own funds {}  {}",
            held.to_plain_string(),
            owed.to_plain_string(),
            suspense.to_plain_string(),
            flight.to_plain_string(),
            own.to_plain_string(),
            if balanced { "ok" } else { "MISMATCH" }
        )?;
        if !balanced {
            problems.push(format!("{id}: the treasury totals do not balance: {t}"));
        }
        if !suspense.is_zero() || !own.is_zero() {
            problems.push(format!(
                "{id}: suspense {suspense} and own funds {own}, where the story explains none"
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::reconcile;

    fn totals(
        on_ledger: &str,
        liabilities: &str,
        suspense: &str,
        own: &str,
        shortfall: bool,
    ) -> Vec<serde_json::Value> {
        vec![json!({
            "instrument": {"admin": "DSO::1220", "id": "Amulet"},
            "onLedger": on_ledger,
            "heldBack": "0",
            "customerLiabilities": liabilities,
            "suspense": suspense,
            "inFlightWithdrawals": "0",
            "ownFunds": own,
            "shortfall": shortfall,
        })]
    }

    #[test]
    fn balanced_books_without_suspense_or_own_funds_pass() {
        let mut out = Vec::new();
        let problems = reconcile(&totals("329.8", "329.8", "0", "0", false), &mut out).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let shown = String::from_utf8(out).unwrap();
        assert!(
            shown.contains(
                "holdings 329.8 = liabilities 329.8 + suspense 0 + in flight 0 + own funds 0  ok"
            ),
            "{shown}"
        );
    }

    #[test]
    fn unexplained_own_funds_or_suspense_fail_the_demo() {
        let mut out = Vec::new();
        let problems = reconcile(&totals("380", "350", "0", "30", false), &mut out).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("own funds 30"), "{problems:?}");
        let problems = reconcile(&totals("380", "390", "-10", "0", false), &mut out).unwrap();
        assert!(problems[0].contains("suspense -10"), "{problems:?}");
    }

    #[test]
    fn totals_that_do_not_add_up_or_a_shortfall_fail_the_demo() {
        let mut out = Vec::new();
        let problems = reconcile(&totals("100", "90", "0", "0", false), &mut out).unwrap();
        assert!(problems[0].contains("do not balance"), "{problems:?}");
        let problems = reconcile(&totals("100", "110", "0", "-10", true), &mut out).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("do not balance")),
            "{problems:?}"
        );
        assert!(String::from_utf8(out).unwrap().contains("MISMATCH"));
    }
}
