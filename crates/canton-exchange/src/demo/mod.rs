//! `canton-exchange demo`, the README's main command: the whole story of an exchange on a
//! sandbox node, told through the REST API. A sandbox node with an external treasury, the
//! Integration DB and the services of `run` (ingestion, withdrawal and deposit automation,
//! the pool job, the API) start in-process; the demo then acts as the exchange's internal
//! systems (over HTTP) and the sandbox as its customers: accounts, deposits, withdrawals,
//! dust, a counterfeit, a node restore and a DB restore with their runbooks. It prints a
//! report and exits 0 only if every invariant held against the node and the books balance.

mod client;
mod recovery;
mod report;
mod stage;
mod story;
mod withdrawals;

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use report::{Told, Withdrawals};
use stage::Stage;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Integration DB: by default a new SQLite file in a temporary directory, removed at
    /// the end. A `sqlite://` or `postgres://` URL names an existing, empty database instead
    /// (the DB restore replaces it: on PostgreSQL it is dropped and created again).
    #[arg(long)]
    db: Option<String>,
    /// After the report, leave the services, the API and the status page up (their URLs and
    /// an operator token printed) until Ctrl-C or SIGTERM.
    #[arg(long)]
    keep_running: bool,
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    // The services' warnings on stderr (a warning the story does not explain is worth seeing).
    crate::logs::init_at(crate::logs::LogFormat::Human, "warn");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let problems = runtime.block_on(demo(args, out))?;
    if !problems.is_empty() {
        bail!(
            "the demo found {} problem(s): {}",
            problems.len(),
            problems.join("; ")
        );
    }
    Ok(())
}

/// The story, the report and `--keep-running`; returns what went wrong.
async fn demo(args: &Args, out: &mut dyn Write) -> Result<Vec<String>> {
    let started = Instant::now();
    let mut stage = Stage::set_up(args.db.as_deref(), out).await?;
    let told = tell(&mut stage, out, started).await;
    let result = match told {
        Ok((told, end)) => {
            let problems = report::print(&told, &end, out)?;
            if let Some(db) = &args.db {
                // Shown redacted: the URL may hold a password.
                let shown = crate::secrets::redact_url(db);
                writeln!(
                    out,
                    "\nThe Integration DB stays at {shown}: try `canton-exchange status --db {shown}`."
                )?;
            }
            if args.keep_running {
                keep_running(&stage, out).await?;
            }
            Ok(problems)
        }
        Err(e) => Err(e),
    };
    stage.finish().await;
    result
}

/// The story part by part: the services up for each, stopped for the restores in between;
/// returns what the report needs and the API's view at the end.
async fn tell(
    stage: &mut Stage,
    out: &mut dyn Write,
    started: Instant,
) -> Result<(Told, report::Final)> {
    let Stage {
        world: w,
        api,
        services,
    } = stage;
    let withdrawals = services
        .during(async {
            api.ready().await?;
            story::open_accounts(w, api, out).await?;
            story::deposit(w, api, out).await?;
            story::dust(w, api, out).await?;
            let (rejected, expired) = withdrawals::request_offers(w, api, out).await?;
            story::back_up(w, out).await?;
            withdrawals::reject(w, api, &rejected, out).await?;
            let completed = withdrawals::pay_out(w, api, out).await?;
            story::counterfeit(w, api, out).await?;
            withdrawals::expire(w, api, &expired, out).await?;
            let withdrawals = Withdrawals {
                completed,
                rejected,
                expired,
            };
            Ok(withdrawals)
        })
        .await?;
    let mut broken = recovery::check(w, out).await?;
    let node = recovery::node_restore(w, out).await?;
    broken.extend(recovery::restart_and_check(w, api, services, out).await?);
    let db = recovery::db_restore(w, out).await?;
    let end = services
        .during(async {
            recovery::settled(w, api).await?;
            report::read(api).await
        })
        .await?;
    writeln!(out, "  the services restarted and caught up with the node")?;
    broken.extend(recovery::check(w, out).await?);
    let told = Told {
        withdrawals,
        restores: vec![node, db],
        broken,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((told, end))
}

/// The services and the API up again until Ctrl-C or SIGTERM; the URLs are printed once the
/// API answers.
async fn keep_running(stage: &Stage, out: &mut dyn Write) -> Result<()> {
    let api = &stage.api;
    let base = api.base();
    let token = &stage.services.operator_token;
    let serve = async {
        api.ready().await?;
        writeln!(out, "\n== still running (Ctrl-C or SIGTERM to stop)")?;
        writeln!(out, "  status page     {base}/")?;
        writeln!(
            out,
            "  REST API        {base}/v1  (OpenAPI: {base}/openapi.json)"
        )?;
        writeln!(out, "  operator token  {token}")?;
        writeln!(
            out,
            "  e.g. curl -H 'Authorization: Bearer <token>' {base}/v1/operator/status"
        )?;
        out.flush()?;
        crate::ingest::wait_for_signal().await;
        Ok(())
    };
    stage.services.during(serve).await
}
