//! The story's withdrawals, requested through the REST API with idempotency keys: two SBX
//! offers (one rejected by its customer, one left to expire when time passes) and a Canton Coin
//! withdrawal that completes; each followed through the API to its end.

use std::io::Write;

use anyhow::{Context, Result, bail, ensure};
use canton_sandbox::token::InstructionChoice;
use exchange_drill::clock::{self, SECOND};
use exchange_drill::exchange::account_of;
use serde_json::{Value, json};

use super::client::{Client, until};
use super::stage::World;
use super::story::{balances_become, dec, whole};

/// POST /v1/withdrawals for `customer` to its own party.
async fn request(
    w: &World,
    api: &Client,
    customer: usize,
    value: i64,
    instrument: &str,
    key: &str,
) -> Result<Value> {
    let body = json!({
        "account": account_of(customer).to_string(),
        "receiver": w.x.customers[customer],
        "amount": value.to_string(),
        "instrumentId": instrument,
    });
    let (status, placed) = api.post("/v1/withdrawals", &body, Some(key)).await?;
    ensure!(
        status.as_u16() == 201,
        "withdrawal {key}: {status} {placed}"
    );
    Ok(placed)
}

/// Waits until withdrawal `id` is in `state`; returns it.
async fn reaches(w: &World, api: &Client, id: &str, state: &str) -> Result<Value> {
    until(
        &format!("withdrawal {id} to be {state}"),
        &w.x.sandbox,
        async || {
            let found = api.withdrawal(id).await?;
            Ok((found["state"] == state).then_some(found))
        },
    )
    .await
}

fn id_of(placed: &Value) -> Result<String> {
    placed["withdrawalId"]
        .as_str()
        .map(str::to_owned)
        .context("a withdrawal without an id")
}

/// Two SBX withdrawals, each an offer to its customer: carol's she will reject, dave's he
/// will leave to expire. Returns their ids.
pub async fn request_offers(
    w: &mut World,
    api: &Client,
    out: &mut dyn Write,
) -> Result<(String, String)> {
    writeln!(
        out,
        "\n== withdrawals requested (POST /v1/withdrawals, each with an Idempotency-Key)"
    )?;
    // One after the other: an offer's inputs stay reserved until it is on the ledger (its
    // change then funds the next).
    let rejected = id_of(&request(w, api, 2, 100, "SBX", "demo-carol-1").await?)?;
    reaches(w, api, &rejected, "pending_acceptance").await?;
    writeln!(out, "  carol  100 SBX: {rejected}")?;
    let expired = id_of(&request(w, api, 3, 30, "SBX", "demo-dave-1").await?)?;
    reaches(w, api, &expired, "pending_acceptance").await?;
    writeln!(out, "  dave    30 SBX: {expired}")?;
    writeln!(
        out,
        "  both are offers now, open for an hour; their SBX are debited meanwhile"
    )?;
    Ok((rejected, expired))
}

/// Carol rejects the offer: the withdrawal fails and she gets her SBX back.
pub async fn reject(w: &mut World, api: &Client, id: &str, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\n== the withdrawals go on after the backups")?;
    if w.traffic
        .answer_offers_of(&mut w.x, 2, InstructionChoice::Reject)
        != 1
    {
        bail!("carol found no offer to reject");
    }
    let failed = reaches(w, api, id, "failed").await?;
    balances_become(w, api, &[(2, "SBX", whole(300))]).await?;
    let reason = failed["reason"].as_str().unwrap_or("-");
    writeln!(
        out,
        "  carol  rejects the offer: failed ({reason}); her 100 SBX are back"
    )?;
    Ok(())
}

/// Alice withdraws Canton Coin (1-step): the withdrawal completes. A retry with the same key
/// answers the same withdrawal. Returns its id.
pub async fn pay_out(w: &mut World, api: &Client, out: &mut dyn Write) -> Result<String> {
    let placed = request(w, api, 0, 50, "Amulet", "demo-alice-1").await?;
    let id = id_of(&placed)?;
    let body = json!({"account": "acct-0", "receiver": w.x.customers[0], "amount": "50", "instrumentId": "Amulet"});
    let (status, again) = api
        .post("/v1/withdrawals", &body, Some("demo-alice-1"))
        .await?;
    ensure!(
        status.as_u16() == 200 && id_of(&again)? == id,
        "a retry: {status} {again}"
    );
    writeln!(
        out,
        "  alice   50 Amulet: {id} (retried with the same key: the same one)"
    )?;
    reaches(w, api, &id, "completed").await?;
    balances_become(w, api, &[(0, "Amulet", dec("203.8"))]).await?;
    writeln!(out, "         completed: a 1-step transfer to alice")?;
    Ok(id)
}

/// Time passes the offer's deadline: dave's withdrawal expires and is refunded.
pub async fn expire(w: &mut World, api: &Client, id: &str, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\n== two hours pass on the node")?;
    clock::advance(&w.x.sandbox, 2 * 3_600 * SECOND);
    w.traffic.deposit(&mut w.x, 1, whole(5))?;
    writeln!(
        out,
        "  bob    sends 5 Amulet: the first transaction after the offer's deadline"
    )?;
    // An offer nobody accepted in time fails (`expired` is for a transfer that never
    // committed before its target record time).
    let failed = reaches(w, api, id, "failed").await?;
    let reason = failed["reason"].as_str().unwrap_or_default();
    ensure!(
        reason.starts_with("offer expired"),
        "dave's withdrawal failed: {reason}"
    );
    balances_become(w, api, &[(3, "SBX", whole(80)), (1, "Amulet", whole(125))]).await?;
    writeln!(
        out,
        "  dave's offer expired: the withdrawal failed, his 30 SBX are back (80)"
    )?;
    Ok(())
}
