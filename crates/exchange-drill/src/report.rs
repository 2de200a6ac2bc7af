//! What drills report: per drill, its disasters with the time each recovery took, its
//! traffic and its violations; over many seeds, disasters by kind with recovery-time medians.
//! Human text, or JSON (`serde`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use crate::disaster::Disaster;
use crate::traffic::TrafficCounts;
use crate::{DrillConfig, DrillKind};

/// An invariant found broken (or a recovery that failed): which seed, at which step.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Violation {
    pub seed: u64,
    pub step: usize,
    pub invariant: String,
    pub detail: String,
}

impl Violation {
    pub fn new(seed: u64, step: usize, invariant: &str, detail: String) -> Violation {
        Violation {
            seed,
            step,
            invariant: invariant.to_owned(),
            detail,
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} step {} [{}]: {}",
            self.seed, self.step, self.invariant, self.detail
        )
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub kind: DrillKind,
    pub db: &'static str,
    pub steps: usize,
    pub disasters: Vec<Disaster>,
    pub traffic: TrafficCounts,
    /// Withdrawals (and pool transfers) per state at the end.
    pub withdrawals: BTreeMap<String, i64>,
    pub violations: Vec<Violation>,
    pub elapsed_ms: u64,
}

fn db_name(sqlite: bool) -> &'static str {
    if sqlite { "sqlite" } else { "postgres" }
}

impl Report {
    pub fn new(config: &DrillConfig, sqlite: bool) -> Report {
        Report {
            seed: config.seed,
            kind: config.kind,
            db: db_name(sqlite),
            steps: config.steps,
            disasters: Vec::new(),
            traffic: TrafficCounts::default(),
            withdrawals: BTreeMap::new(),
            violations: Vec::new(),
            elapsed_ms: 0,
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "drill {} seed {} on {}: {} steps, {} disaster(s), {} violation(s), {:.1} s\n",
            self.kind.name(),
            self.seed,
            self.db,
            self.steps,
            self.disasters.len(),
            self.violations.len(),
            self.elapsed_ms as f64 / 1000.0
        );
        for d in &self.disasters {
            let _ = writeln!(
                out,
                "  step {:>3} {}: recovered in {} ms ({})",
                d.step,
                d.kind.name(),
                d.recovery_ms,
                d.detail
            );
        }
        let t = &self.traffic;
        let _ = writeln!(
            out,
            "  traffic: {} deposits, {} deposit offers (+{} expiring), {} withdrawals ({} refused), offers {} accepted / {} rejected, {} counterfeit, {} ACS imports, {:.1} days passed",
            t.deposits,
            t.deposit_offers,
            t.expiring_deposit_offers,
            t.withdrawals,
            t.withdrawals_refused,
            t.offers_accepted,
            t.offers_rejected,
            t.counterfeits,
            t.acs_imports,
            t.time_advanced_days
        );
        let states: Vec<String> = self
            .withdrawals
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect();
        let _ = writeln!(out, "  withdrawals at the end: {}", states.join(", "));
        for v in &self.violations {
            let _ = writeln!(out, "  VIOLATION {v}");
        }
        out
    }
}

/// Recovery times of one kind of disaster.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KindStats {
    pub count: usize,
    pub median_ms: u64,
    pub p90_ms: u64,
    pub max_ms: u64,
    #[serde(skip)]
    times: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub kind: DrillKind,
    pub db: &'static str,
    pub steps_per_seed: usize,
    pub seeds: usize,
    pub passed: usize,
    pub disasters: BTreeMap<&'static str, KindStats>,
    pub violations: Vec<Violation>,
    /// Drills that could not be set up: (seed, why).
    pub errors: Vec<(u64, String)>,
    pub elapsed_ms: u64,
}

impl Summary {
    pub fn new(template: &DrillConfig) -> Summary {
        Summary {
            kind: template.kind,
            db: db_name(template.db.is_sqlite()),
            steps_per_seed: template.steps,
            seeds: 0,
            passed: 0,
            disasters: BTreeMap::new(),
            violations: Vec::new(),
            errors: Vec::new(),
            elapsed_ms: 0,
        }
    }

    pub fn add(&mut self, report: Report) {
        self.seeds += 1;
        if report.passed() {
            self.passed += 1;
        }
        for d in &report.disasters {
            let stats = self.disasters.entry(d.kind.name()).or_default();
            stats.count += 1;
            stats.times.push(d.recovery_ms);
        }
        self.violations.extend(report.violations);
    }

    pub fn finish(&mut self, elapsed: Duration) {
        self.seeds += self.errors.len();
        self.elapsed_ms = elapsed.as_millis() as u64;
        self.violations.sort_by_key(|v| (v.seed, v.step));
        self.errors.sort();
        for stats in self.disasters.values_mut() {
            stats.times.sort_unstable();
            let at = |q: f64| {
                let i = ((stats.times.len() as f64 - 1.0) * q).round() as usize;
                stats.times.get(i).copied().unwrap_or(0)
            };
            stats.median_ms = at(0.5);
            stats.p90_ms = at(0.9);
            stats.max_ms = stats.times.last().copied().unwrap_or(0);
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.errors.is_empty()
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "{} seed(s) of drill {} on {} ({} steps each): {} passed, {} failed, {:.1} s\n",
            self.seeds,
            self.kind.name(),
            self.db,
            self.steps_per_seed,
            self.passed,
            self.seeds - self.passed,
            self.elapsed_ms as f64 / 1000.0
        );
        for (kind, s) in &self.disasters {
            let _ = writeln!(
                out,
                "  {kind}: {} (recovery median {} ms, p90 {} ms, max {} ms)",
                s.count, s.median_ms, s.p90_ms, s.max_ms
            );
        }
        for v in &self.violations {
            let _ = writeln!(out, "  VIOLATION {v}");
        }
        for (seed, e) in &self.errors {
            let _ = writeln!(out, "  ERROR seed {seed}: {e}");
        }
        if self.passed() {
            out.push_str("  violations: none\n");
        }
        out
    }
}
