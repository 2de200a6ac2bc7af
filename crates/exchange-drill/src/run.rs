//! One drill from its seed to its report, and many drills at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exchange_core::{Amount, Timestamp};
use sqlx::Connection;

use crate::clock::{self, DAY, OFFER_TIME};
use crate::db::ScratchDb;
use crate::disaster::{self, Backups, RecoveryFailed};
use crate::exchange::Exchange;
use crate::invariants;
use crate::report::{Report, Summary, Violation};
use crate::rng::Rng;
use crate::traffic::Traffic;
use crate::{DrillConfig, DrillError, DrillKind, Plant};

/// What a step's disaster is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Planned {
    NodeRestore,
    DbRestore,
    Crash,
}

/// Which steps get which disaster (the same on either database).
fn schedule(
    kind: DrillKind,
    steps: usize,
    rng: &mut Rng,
) -> Result<BTreeMap<usize, Planned>, DrillError> {
    if steps < 4 {
        return Err(DrillError::Config("a drill needs at least 4 steps".into()));
    }
    let steps = steps as i64;
    let some_step = |rng: &mut Rng| rng.between(steps / 3, steps - 1) as usize;
    let mut plan = BTreeMap::new();
    match kind {
        DrillKind::ValidatorRestore => {
            plan.insert(some_step(rng), Planned::NodeRestore);
        }
        DrillKind::DbRestore => {
            plan.insert(some_step(rng), Planned::DbRestore);
        }
        DrillKind::Both => {
            let a = some_step(rng);
            let mut b = some_step(rng);
            if b == a {
                b = if a + 1 < steps as usize { a + 1 } else { a - 1 };
            }
            plan.insert(a, Planned::NodeRestore);
            plan.insert(b, Planned::DbRestore);
        }
        DrillKind::Random => {
            for step in 2..steps as usize {
                if rng.percent(12) {
                    let kind = match rng.below(10) {
                        0..=3 => Planned::NodeRestore,
                        4..=6 => Planned::DbRestore,
                        _ => Planned::Crash,
                    };
                    plan.insert(step, kind);
                }
            }
            if plan.is_empty() {
                let kind = if rng.percent(50) {
                    Planned::DbRestore
                } else {
                    Planned::NodeRestore
                };
                plan.insert(some_step(rng), kind);
            }
        }
    }
    Ok(plan)
}

/// Runs one drill. `Err` only when it could not be set up; whatever goes wrong after that is
/// a violation in the report, naming the step.
pub async fn run_drill(config: DrillConfig) -> Result<Report, DrillError> {
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let plan = schedule(config.kind, config.steps, &mut rng)?;
    let db = ScratchDb::create(&config.db, config.seed).await?;
    let sqlite = db.is_sqlite();
    let mut x = Exchange::start(db, config.seed).await?;
    let mut report = Report::new(&config, sqlite);
    let mut drill = Drill {
        traffic: Traffic::new(),
        backups: Backups::default(),
        rng,
    };
    let outcome = drill.run(&mut x, &config, &plan, &mut report).await;
    if let Err((step, e)) = outcome {
        report.violations.push(Violation::new(
            config.seed,
            step,
            "drill-error",
            e.to_string(),
        ));
    }
    report.traffic = drill.traffic.counts.clone();
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    x.finish().await;
    Ok(report)
}

struct Drill {
    traffic: Traffic,
    backups: Backups,
    rng: Rng,
}

type StepError = (usize, DrillError);

impl Drill {
    async fn run(
        &mut self,
        x: &mut Exchange,
        config: &DrillConfig,
        plan: &BTreeMap<usize, Planned>,
        report: &mut Report,
    ) -> Result<(), StepError> {
        let at = |step| move |e: DrillError| (step, e);
        self.backups.node_backup(x, 0, 0);
        self.backups.db_backup(x, 0).await.map_err(at(0))?;
        for step in 1..=config.steps {
            self.traffic
                .step(x, &mut self.rng)
                .await
                .map_err(at(step))?;
            if self.rng.percent(85) {
                x.tick(step % 4 == 0).await.map_err(at(step))?;
            }
            if self.rng.percent(25) {
                self.backups
                    .node_backup(x, step, self.traffic.counts.acs_imports);
            }
            if self.rng.percent(25) {
                self.backups.db_backup(x, step).await.map_err(at(step))?;
            }
            if let Some(planned) = plan.get(&step) {
                let done = self.disaster(x, *planned, step).await;
                match done {
                    Ok(d) => report.disasters.push(d),
                    Err(RecoveryFailed(why)) => {
                        report
                            .violations
                            .push(Violation::new(config.seed, step, "recovery", why));
                        return Ok(());
                    }
                }
                self.check(x, config.seed, step, report)
                    .await
                    .map_err(at(step))?;
                if !report.violations.is_empty() {
                    return Ok(());
                }
            }
        }
        let last = config.steps;
        self.settle(x).await.map_err(at(last))?;
        let states = x
            .store
            .withdrawal_counts()
            .await
            .map_err(|e| (last, e.into()))?;
        report.withdrawals = states.into_iter().collect();
        if config.plant == Some(Plant::CorruptJournal) {
            corrupt_journal(&x.db.url).await.map_err(at(last))?;
        }
        self.check(x, config.seed, last, report)
            .await
            .map_err(at(last))
    }

    async fn disaster(
        &mut self,
        x: &mut Exchange,
        planned: Planned,
        step: usize,
    ) -> Result<disaster::Disaster, RecoveryFailed> {
        match planned {
            Planned::NodeRestore => {
                disaster::node_restore(x, &mut self.traffic, &mut self.backups, &mut self.rng, step)
                    .await
            }
            Planned::DbRestore => {
                disaster::db_restore(x, &mut self.traffic, &self.backups, &mut self.rng, step).await
            }
            Planned::Crash => disaster::crash(x, &mut self.rng, step).await,
        }
    }

    async fn check(
        &self,
        x: &Exchange,
        seed: u64,
        step: usize,
        report: &mut Report,
    ) -> Result<(), DrillError> {
        for (invariant, detail) in invariants::check(x, &self.traffic.book).await? {
            report
                .violations
                .push(Violation::new(seed, step, invariant, detail));
        }
        Ok(())
    }

    /// The end of the drill: customers answer some of the offers waiting for them while the
    /// services settle; then time runs out for the rest (the node's clock passes every
    /// `executeBefore` and `trecTgt`): offers left unanswered expire and requests never
    /// executed fail, both refunded, and the services settle again.
    async fn settle(&mut self, x: &mut Exchange) -> Result<(), DrillError> {
        for round in 0..20 {
            if round == 1 {
                self.traffic.answer_offers(x, &mut self.rng)?;
            }
            x.tick(round % 5 == 0).await?;
            if x.store.withdrawals_in_progress(Timestamp::now()).await? == 0 && round >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        if let Some(end) = Timestamp::now().checked_add_micros(OFFER_TIME + 2 * DAY) {
            clock::move_to(&x.sandbox, end);
        }
        // A transaction after it, so that ingestion sees the time pass.
        self.traffic.deposit(x, 0, Amount::from_whole(1))?;
        for _ in 0..20 {
            x.tick(false).await?;
            let open = x.store.withdrawals(None).await?;
            if !open.iter().any(invariants::in_flight) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(())
    }
}

/// The planted fault: one deposit's journal row changed behind the store's back.
async fn corrupt_journal(url: &str) -> Result<(), DrillError> {
    let sql = "UPDATE journal SET amount = '0.0000000001'
               WHERE entry_id = (SELECT MIN(entry_id) FROM journal WHERE cause_kind = 'deposit')";
    let changed = if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        let n = sqlx::query(sql).execute(&mut c).await?.rows_affected();
        let _ = c.close().await;
        n
    } else {
        let mut c = sqlx::PgConnection::connect(url).await?;
        let n = sqlx::query(sql).execute(&mut c).await?.rows_affected();
        let _ = c.close().await;
        n
    };
    if changed == 0 {
        return Err(DrillError::Config(
            "no deposit in the journal to corrupt".into(),
        ));
    }
    Ok(())
}

/// Runs a drill per seed, `template.concurrency` at once; the summary keeps every violation
/// and every drill that could not be set up.
pub async fn run_many(seeds: impl IntoIterator<Item = u64>, template: &DrillConfig) -> Summary {
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(template.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for seed in seeds {
        let mut config = template.clone();
        config.seed = seed;
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            // The runbooks' narration callbacks are not `Send`: each drill runs on a thread of
            // its own with its own runtime (which also spreads drills over the cores).
            let ran = tokio::task::spawn_blocking(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| DrillError::Setup(format!("a runtime: {e}")))?
                    .block_on(run_drill(config))
            })
            .await;
            (seed, ran)
        });
    }
    let mut summary = Summary::new(template);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(Ok(report)))) => summary.add(report),
            Ok((seed, Ok(Err(e)))) => summary.errors.push((seed, e.to_string())),
            Ok((seed, Err(e))) => summary
                .errors
                .push((seed, format!("the drill panicked: {e}"))),
            Err(e) => summary
                .errors
                .push((0, format!("a drill task failed: {e}"))),
        }
    }
    summary.finish(started.elapsed());
    summary
}
