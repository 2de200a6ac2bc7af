//! The disasters of the story and their recoveries, with the services stopped as an operator
//! stops them: the node restored from its snapshot then `recover validator`, the Integration
//! DB restored from its backup then `recover db`, each the runbook the disaster drills use
//! (`exchange_drill::disaster`). After each, the services start again, catch up, and the
//! drills' invariants are checked against the node.

use std::io::Write;

use anyhow::{Result, anyhow};
use exchange_drill::disaster::{self, Disaster, RecoveryFailed};
use exchange_drill::invariants::{self, Broken};

use super::client::{Client, until};
use super::stage::{Services, World};
use super::story::dust_holdings;

/// Steps of the drill's runbooks (in their reports).
const NODE_RESTORE_STEP: usize = 2;
const DB_RESTORE_STEP: usize = 3;

fn failed(RecoveryFailed(why): RecoveryFailed) -> anyhow::Error {
    anyhow!("the recovery failed: {why}")
}

/// The node back to its snapshot, then `recover validator` (services stopped).
pub async fn node_restore(w: &mut World, out: &mut dyn Write) -> Result<Disaster> {
    writeln!(out, "\n== a validator-node restore (services stopped)")?;
    let done = disaster::node_restore(
        &mut w.x,
        &mut w.traffic,
        &mut w.backups,
        &mut w.rng,
        NODE_RESTORE_STEP,
    )
    .await
    .map_err(failed)?;
    writeln!(
        out,
        "  the node restored from its snapshot, then `recover validator`:"
    )?;
    writeln!(out, "    {}", done.detail)?;
    Ok(done)
}

/// The DB back to its backup, then `recover db` while ingestion resyncs (services stopped).
pub async fn db_restore(w: &mut World, out: &mut dyn Write) -> Result<Disaster> {
    writeln!(out, "\n== an Integration-DB restore (services stopped)")?;
    let done = disaster::db_restore(
        &mut w.x,
        &mut w.traffic,
        &w.backups,
        &mut w.rng,
        DB_RESTORE_STEP,
    )
    .await
    .map_err(failed)?;
    writeln!(out, "  the DB restored from its backup, then `recover db`:")?;
    writeln!(out, "    {}", done.detail)?;
    writeln!(
        out,
        "    (alice's 1 Amulet deposit after tSafe lets ingestion pass it, as the runbook needs)"
    )?;
    Ok(done)
}

/// Waits, through the API (once it is up), until ingestion has reached the node's ledger end.
pub async fn caught_up(w: &World, api: &Client) -> Result<()> {
    api.ready().await?;
    let client = w.x.client();
    until(
        "ingestion to reach the ledger end",
        &w.x.sandbox,
        async || {
            let end = client.ledger_end().await?;
            let status = api.get_as_operator("/v1/operator/status").await?;
            let offset = status["checkpoint"]["offset"].as_i64().unwrap_or(-1);
            Ok((offset >= end).then_some(()))
        },
    )
    .await
}

/// Caught up, and nothing left to do: no withdrawal or pool transfer on its way, the dust
/// merged (the DB restore's deposit after tSafe is dust the pool job merges).
pub async fn settled(w: &World, api: &Client) -> Result<()> {
    caught_up(w, api).await?;
    until("the services to settle", &w.x.sandbox, async || {
        for state in ["requested", "submitted", "pending_acceptance"] {
            if !api
                .all(&format!("/v1/withdrawals?state={state}"))
                .await?
                .is_empty()
            {
                return Ok(None);
            }
        }
        Ok((dust_holdings(api).await? <= 1).then_some(()))
    })
    .await?;
    caught_up(w, api).await
}

/// The services restarted as an operator would, until they caught up; then the invariants
/// (the services stopped, so that the node and the DB hold still while they are compared).
pub async fn restart_and_check(
    w: &mut World,
    api: &Client,
    services: &Services,
    out: &mut dyn Write,
) -> Result<Vec<Broken>> {
    services.during(caught_up(w, api)).await?;
    writeln!(out, "  the services restarted and caught up with the node")?;
    check(w, out).await
}

/// The drills' invariants against the node, after ingesting to its ledger end.
pub async fn check(w: &World, out: &mut dyn Write) -> Result<Vec<Broken>> {
    w.x.ingest().await?;
    let broken = invariants::check(&w.x, &w.traffic.book).await?;
    match broken.len() {
        0 => writeln!(out, "  invariants checked against the node: all held")?,
        n => writeln!(out, "  invariants checked against the node: {n} BROKEN")?,
    }
    for (name, detail) in &broken {
        writeln!(out, "    {name}: {detail}")?;
    }
    Ok(broken)
}
