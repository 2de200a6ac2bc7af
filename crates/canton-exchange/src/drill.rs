//! `canton-exchange drill`: disaster drills against a built-in sandbox node (see
//! `exchange_drill` and docs/drills.md). Prints a report per drill, or a summary over
//! `--count` seeds, as text or JSON; exits non-zero on any violation, naming its seed and step.

use std::io::Write;

use anyhow::{Result, bail};
use exchange_drill::{DbTarget, DrillConfig, DrillKind, Violation};

use crate::db::runtime;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// validator-restore, db-restore, both, or random.
    #[arg(value_enum)]
    kind: Kind,
    /// The drill's seed (with --count: the first of consecutive seeds). Without it, one is
    /// drawn from the OS and printed.
    #[arg(long)]
    seed: Option<u64>,
    /// How many drills, one per seed from --seed on.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// `sqlite` (a new file per drill), or a PostgreSQL URL on which each drill creates a
    /// database of its own and drops it after (DB restores there use pg_dump/pg_restore).
    #[arg(long, default_value = "sqlite")]
    db: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Traffic steps per drill.
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// Drills at once (with --count).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Test only: plant a fault the invariants must catch.
    #[arg(long, hide = true)]
    plant_corrupt_journal: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Kind {
    ValidatorRestore,
    DbRestore,
    Both,
    Random,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

fn random_seed() -> Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS randomness: {e}"))?;
    // Small enough to type back in.
    Ok(u64::from_le_bytes(bytes) % 1_000_000_000)
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let seed = match args.seed {
        Some(s) => s,
        None => {
            let s = random_seed()?;
            eprintln!("seed {s} (drawn at random; --seed {s} replays this drill)");
            s
        }
    };
    let kind = match args.kind {
        Kind::ValidatorRestore => DrillKind::ValidatorRestore,
        Kind::DbRestore => DrillKind::DbRestore,
        Kind::Both => DrillKind::Both,
        Kind::Random => DrillKind::Random,
    };
    let mut config = DrillConfig::new(kind, seed);
    config.db = DbTarget::parse(&args.db)?;
    config.steps = args.steps;
    config.concurrency = args.concurrency.max(1);
    if args.plant_corrupt_journal {
        config.plant = Some(exchange_drill::Plant::CorruptJournal);
    }
    let json = args.format == Format::Json;
    let violations: Vec<Violation> = if args.count <= 1 {
        let report = runtime()?.block_on(exchange_drill::run_drill(config))?;
        if json {
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        } else {
            write!(out, "{}", report.text())?;
        }
        report.violations
    } else {
        let seeds = seed..seed.saturating_add(args.count);
        let summary = runtime()?.block_on(exchange_drill::run_many(seeds, &config));
        if json {
            writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
        } else {
            write!(out, "{}", summary.text())?;
        }
        if let Some((seed, e)) = summary.errors.first() {
            bail!("the drill of seed {seed} could not run: {e}");
        }
        summary.violations
    };
    if let Some(first) = violations.first() {
        bail!(
            "{} violation(s); the first: seed {} step {} [{}]",
            violations.len(),
            first.seed,
            first.step,
            first.invariant
        );
    }
    Ok(())
}
