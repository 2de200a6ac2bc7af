//! `canton-exchange config check FILE`: everything `run --config FILE` checks before it
//! connects (the file, secrets, key files and their modes, CA files, URLs, amounts, the
//! treasury key against the party), then what it would run. Contacts nothing; prints no
//! secret (only where each comes from).

use std::io::Write;

use anyhow::{Context, Result};
use exchange_services::signer::FileSigner;

use super::schema::Config;
use super::{Command, to_args::http_url};
use crate::run::{self, Args, Only, Part};
use crate::secrets::redact_url;

pub fn run(command: &Command, out: &mut impl Write) -> Result<()> {
    match command {
        Command::Check { file } => {
            let config = Config::load(file)?;
            let (args, only) = config.run_args()?;
            check_admin_api(&config)?;
            validate(&args)?;
            writeln!(
                out,
                "config {} is valid; `run --config` would:",
                file.display()
            )?;
            describe(&config, &args, &Only::new(only), out)?;
            Ok(())
        }
    }
}

/// What `run` checks before it starts anything.
fn validate(args: &Args) -> Result<()> {
    let ingest = args.ingest.config(args.party()?)?;
    let signer = FileSigner::load(args.treasury_key()?).context("treasury.key_file")?;
    run::check_key(&ingest.fold.treasury, &signer)?;
    let admins = run::registries(args)?;
    run::one_step(args, &admins)?;
    run::pools(args, &admins)?;
    args.ledger()?.client()?;
    Ok(())
}

fn check_admin_api(config: &Config) -> Result<()> {
    let Some(admin) = &config.admin_api else {
        return Ok(());
    };
    if admin.url.contains("://") {
        http_url("admin_api.url", &admin.url)?;
    } else {
        http_url("admin_api.url", &format!("http://{}", admin.url))?;
    }
    crate::ledger::trust(&admin.ca_file, "Admin API")?;
    if let Some(token) = &admin.token {
        token.resolve("admin_api.token")?;
    }
    Ok(())
}

fn describe(config: &Config, args: &Args, only: &Only, out: &mut impl Write) -> Result<()> {
    let parts: Vec<&str> = [
        (Part::Ingestion, "ingestion"),
        (Part::Withdrawals, "withdrawals"),
        (Part::Deposits, "deposits"),
        (Part::Pool, "pool"),
    ]
    .into_iter()
    .filter(|(p, _)| only.runs(*p))
    .map(|(_, name)| name)
    .collect();
    let t = &config.treasury;
    writeln!(
        out,
        "  run        {} as worker {}",
        parts.join(", "),
        // The default names the process that runs, not this one.
        args.worker.as_deref().unwrap_or("<host name>-<process id>")
    )?;
    writeln!(
        out,
        "  treasury   {} (key file {}, mode 0600, the party's key)",
        t.party,
        t.key_file.display()
    )?;
    describe_connections(config, out)?;
    describe_services(config, out)
}

/// Where the CA file is, or that the system's roots are trusted.
fn ca(file: &Option<std::path::PathBuf>) -> String {
    match file {
        Some(path) => format!("CA file {}", path.display()),
        None => "system roots".to_owned(),
    }
}

/// The node, its auth, the DB and the registries: each with its trust, and where each secret
/// comes from (never the secret).
fn describe_connections(config: &Config, out: &mut impl Write) -> Result<()> {
    let l = &config.ledger;
    let transport = if l.http_pages {
        "HTTP pages"
    } else {
        "websocket"
    };
    writeln!(
        out,
        "  ledger     {} ({}, updates by {transport}, user {})",
        redact_url(&l.url),
        ca(&l.ca_file),
        l.user_id
    )?;
    match (&l.token, &l.oauth2) {
        (Some(token), _) => writeln!(out, "  auth       static bearer token {token}")?,
        (None, Some(o)) => writeln!(
            out,
            "  auth       OAuth2 client credentials at {} ({}): client {}, secret {}, audience {}, scope {}",
            o.token_url,
            ca(&o.ca_file),
            o.client_id,
            o.client_secret,
            o.audience.as_deref().unwrap_or("-"),
            o.scope.as_deref().unwrap_or("-"),
        )?,
        (None, None) => writeln!(out, "  auth       none")?,
    }
    if let Some(a) = &config.admin_api {
        writeln!(out, "  admin API  {} ({})", a.url, ca(&a.ca_file))?;
    }
    let password = match &config.db.password {
        Some(secret) => format!(" (password {secret})"),
        None => String::new(),
    };
    writeln!(out, "  db         {}{password}", redact_url(&config.db.url))?;
    for r in &config.registries.admins {
        writeln!(
            out,
            "  registry   {} at {} ({})",
            r.admin,
            r.url,
            ca(&config.registries.ca_file)
        )?;
    }
    Ok(())
}

/// What the services would do, with their limits.
fn describe_services(config: &Config, out: &mut impl Write) -> Result<()> {
    let w = &config.withdrawals;
    writeln!(
        out,
        "  withdraw   one-step {:?}; {} executions/s, {} in flight, outcome timeout {} s, retry after {} s, offers open {} h",
        w.one_step,
        w.executions_per_second,
        w.concurrency,
        w.outcome_timeout_secs,
        w.retry_secs,
        w.offer_hours
    )?;
    let d = &config.deposits;
    match d.automation {
        true => writeln!(
            out,
            "  deposits   offers accepted, {} attempts each",
            d.max_attempts
        )?,
        false => writeln!(out, "  deposits   offers left pending")?,
    }
    let p = &config.pools;
    for keep in &p.keep {
        writeln!(
            out,
            "  pool       {}: keep {} holdings of {} or more, merge those below {}",
            keep.instrument, keep.k, keep.target.0, keep.dust.0
        )?;
    }
    writeln!(
        out,
        "  pool job   every {} s, merges valid {} s, at most {} inputs",
        p.every_secs, p.ttl_secs, p.max_inputs
    )?;
    let i = &config.ingestion;
    writeln!(
        out,
        "  ingestion  batches of {}, {} retries from {} ms{}{}",
        i.batch_size,
        i.max_retries,
        i.retry_delay_ms,
        if i.standby {
            ", standby if another ingests"
        } else {
            ""
        },
        if i.strict { ", strict" } else { "" },
    )?;
    if let Some(listen) = config.api.listen {
        writeln!(
            out,
            "  api        listen on {listen} (and /metrics, unauthenticated)"
        )?;
    }
    let logs = match config.service.log_format.unwrap_or_default() {
        crate::logs::LogFormat::Human => "human",
        crate::logs::LogFormat::Json => "json",
    };
    writeln!(out, "  logs       {logs} lines on stderr")?;
    Ok(())
}
