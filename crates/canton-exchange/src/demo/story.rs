//! The story before the disasters, told through the REST API as the exchange's internal
//! systems would: accounts opened, deposits (1-step and by offer) credited, dust merged by the
//! pool job, the operator's backups, a counterfeit refused (the withdrawals are in
//! `withdrawals.rs`). The sandbox plays the customers.

use std::io::Write;

use anyhow::{Result, ensure};
use exchange_core::Amount;
use exchange_drill::exchange::account_of;
use serde_json::{Value, json};

use super::client::{Client, amount, until};
use super::stage::World;

/// The customers, by the drill's index (their accounts are `account_of(index)`).
pub const CUSTOMERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

pub(super) fn whole(n: i64) -> Amount {
    Amount::from_whole(n)
}

pub(super) fn dec(text: &str) -> Amount {
    text.parse().expect("a valid amount literal")
}

/// Opens every customer's deposit account through the API; each learns where to send funds.
pub async fn open_accounts(w: &World, api: &Client, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\n== accounts opened (POST /v1/accounts)")?;
    for (i, name) in CUSTOMERS.iter().enumerate() {
        let body = json!({"customerRef": name, "accountId": account_of(i).to_string()});
        let (status, opened) = api.post("/v1/accounts", &body, None).await?;
        ensure!(
            status.is_success(),
            "opening {name}'s account: {status} {opened}"
        );
        let memo = opened["memo"].as_str().unwrap_or_default();
        ensure!(memo == account_of(i).as_str(), "{name}'s memo is {memo:?}");
        ensure!(opened["treasuryParty"] == w.x.treasury.as_str(), "{opened}");
        writeln!(
            out,
            "  {name:<6} deposits to the treasury with reason {memo:?}"
        )?;
    }
    Ok(())
}

/// Waits until the API shows each account's balance of `instrument` as expected.
pub(super) async fn balances_become(
    w: &World,
    api: &Client,
    expected: &[(usize, &str, Amount)],
) -> Result<()> {
    until("the deposits to be credited", &w.x.sandbox, async || {
        for (customer, instrument, want) in expected {
            let got = api
                .balance(account_of(*customer).as_str(), instrument)
                .await?;
            if got != *want {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await
}

/// Deposits: Canton Coin by 1-step transfer, SBX by offer (accepted by the deposit automation).
pub async fn deposit(w: &mut World, api: &Client, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\n== customers deposit")?;
    for (customer, value) in [(0, 250), (1, 120)] {
        w.traffic.deposit(&mut w.x, customer, whole(value))?;
        let name = CUSTOMERS[customer];
        writeln!(out, "  {name:<6} sends {value} Amulet (a 1-step transfer)")?;
    }
    for (customer, value) in [(2, 300), (3, 80)] {
        w.traffic
            .offer_deposit(&mut w.x, customer, whole(value), false)?;
        let name = CUSTOMERS[customer];
        writeln!(
            out,
            "  {name:<6} offers {value} SBX (a transfer offer the deposit automation accepts)"
        )?;
    }
    let expected = [
        (0, "Amulet", whole(250)),
        (1, "Amulet", whole(120)),
        (2, "SBX", whole(300)),
        (3, "SBX", whole(80)),
    ];
    balances_become(w, api, &expected).await?;
    let credited = api.all("/v1/deposits?state=credited").await?;
    writeln!(out, "  the API shows {} deposits credited:", credited.len())?;
    for d in &credited {
        writeln!(
            out,
            "    {:<8} {:>8} {:<6} ({})",
            d["accountId"].as_str().unwrap_or("-"),
            amount(&d["amount"])?.to_plain_string(),
            d["instrument"]["id"].as_str().unwrap_or("?"),
            if d["transferInstruction"].is_null() {
                "1-step"
            } else {
                "offer accepted"
            }
        )?;
    }
    Ok(())
}

/// Dust: small deposits leave small holdings, which the pool job merges by self-transfers.
pub async fn dust(w: &mut World, api: &Client, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "\n== dust merged by the pool job (holdings below 5 Amulet)"
    )?;
    for value in ["0.4", "1.1", "2.3"] {
        w.traffic.deposit(&mut w.x, 0, dec(value))?;
    }
    writeln!(
        out,
        "  alice  sends 0.4, 1.1 and 2.3 Amulet: three dust holdings"
    )?;
    balances_become(w, api, &[(0, "Amulet", dec("253.8"))]).await?;
    let merges = until("the pool job to merge the dust", &w.x.sandbox, async || {
        let merges = pool_merges(api).await?;
        Ok((dust_holdings(api).await? <= 1 && merges > 0).then_some(merges))
    })
    .await?;
    writeln!(
        out,
        "  the pool job merged them: {merges} self-transfer(s), at most one dust holding left"
    )?;
    Ok(())
}

/// The treasury's Canton Coin holdings below the pool's dust threshold (5).
pub(super) async fn dust_holdings(api: &Client) -> Result<usize> {
    let holdings = api.get("/v1/treasury/holdings").await?;
    let mut dust = 0;
    for h in holdings["holdings"].as_array().into_iter().flatten() {
        if h["instrument"]["id"] == "Amulet" && amount(&h["amount"])? < whole(5) {
            dust += 1;
        }
    }
    Ok(dust)
}

/// The pool job's completed self-transfers.
async fn pool_merges(api: &Client) -> Result<usize> {
    let done = api.all("/v1/withdrawals?state=completed").await?;
    Ok(done.iter().filter(|t| t["purpose"] == "pool").count())
}

/// The operator's backups: a node snapshot and an Integration DB backup (the restores later go
/// back to them). Taken while two offers wait: the restored DB must follow them to their end.
pub async fn back_up(w: &mut World, out: &mut dyn Write) -> Result<()> {
    w.backups.node_backup(&w.x, 1, 0);
    w.backups.db_backup(&w.x, 1).await?;
    writeln!(
        out,
        "\n== the operator's backups: a node snapshot and an Integration DB backup"
    )?;
    Ok(())
}

/// A token whose admin is not the instrument's: recorded, never credited.
pub async fn counterfeit(w: &mut World, api: &Client, out: &mut dyn Write) -> Result<Value> {
    writeln!(out, "\n== a counterfeit deposit")?;
    w.traffic.counterfeit_deposit(&mut w.x, 1, whole(500))?;
    writeln!(
        out,
        "  bob    sends 500 \"Amulet\" of another admin, reason \"acct-1\""
    )?;
    let found = until("the counterfeit to be recorded", &w.x.sandbox, async || {
        let refused = api.all("/v1/deposits?state=unrecognized").await?;
        Ok(refused
            .into_iter()
            .find(|d| d["amount"].as_str().is_some_and(|a| a.starts_with("500"))))
    })
    .await?;
    let balance = api.balance("acct-1", "Amulet").await?;
    ensure!(balance == whole(120), "bob's balance is {balance}");
    let why = found["heldBack"]
        .as_str()
        .unwrap_or("not an onboarded token");
    writeln!(
        out,
        "  recorded as unrecognized and held back, not credited; bob's balance stays 120"
    )?;
    writeln!(out, "  why: {why}")?;
    Ok(found)
}
