//! The drills on fixed seeds, each kind on SQLite and PostgreSQL (DB restores through
//! `pg_dump`/`pg_restore` there), `random` over hundreds of seeds, and a planted fault the
//! invariants must catch.

#[allow(dead_code)] // the harness serves many test files
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use exchange_drill::{DbTarget, DisasterKind, DrillConfig, DrillKind, Plant, Report};
use harness::TestDb;
use sqlx::Connection;

const ADMIN_URLS: [&str; 3] = [
    "postgres://root@127.0.0.1:5432/postgres",
    "postgres://postgres@127.0.0.1:5432/postgres",
    "postgres://root@127.0.0.1:5432/root",
];

/// A PostgreSQL server drills may create databases on; `None` (said) outside CI if there is
/// none, a failure under `CI=true`.
async fn postgres_server() -> Option<DbTarget> {
    for url in ADMIN_URLS {
        if let Ok(c) = sqlx::PgConnection::connect(url).await {
            let _ = c.close().await;
            return Some(DbTarget::Postgres {
                admin_url: url.to_owned(),
            });
        }
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "PostgreSQL at 127.0.0.1:5432 is unreachable, and CI=true requires it"
    );
    eprintln!("PostgreSQL is unreachable: skipping the PostgreSQL drills");
    None
}

fn config(kind: DrillKind, seed: u64, db: DbTarget) -> DrillConfig {
    let mut c = DrillConfig::new(kind, seed);
    c.db = db;
    c.steps = 24;
    c
}

/// Passed, with the disasters `kind` stages, each recovery timed, and traffic of every sort
/// that matters for the invariants.
fn assert_drilled(report: &Report, expected: &[DisasterKind]) {
    assert!(report.passed(), "{}", report.text());
    for kind in expected {
        let is = |k: DisasterKind| {
            k == *kind
                || (*kind == DisasterKind::ValidatorRestore
                    && k == DisasterKind::ValidatorRestoreNonUnique)
        };
        assert!(
            report.disasters.iter().any(|d| is(d.kind)),
            "no {kind:?}: {}",
            report.text()
        );
    }
    assert!(
        report.disasters.iter().all(|d| d.recovery_ms > 0),
        "{}",
        report.text()
    );
    assert!(report.traffic.deposits > 0, "{}", report.text());
}

async fn drill(kind: DrillKind, seed: u64, db: DbTarget) -> Report {
    exchange_drill::run_drill(config(kind, seed, db))
        .await
        .expect("the drill runs")
}

async fn on_postgres(kind: DrillKind, seed: u64) -> Option<Report> {
    let db = TestDb::postgres(&format!("drill_{}", kind.name().replace('-', "_"))).await?;
    Some(drill(kind, seed, DbTarget::Url(db.url.clone())).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_restore_on_sqlite() {
    for seed in [1, 2] {
        let r = drill(DrillKind::ValidatorRestore, seed, DbTarget::Sqlite).await;
        assert_drilled(&r, &[DisasterKind::ValidatorRestore]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_restore_on_postgres() {
    if let Some(r) = on_postgres(DrillKind::ValidatorRestore, 1).await {
        assert_eq!(r.db, "postgres");
        assert_drilled(&r, &[DisasterKind::ValidatorRestore]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_restore_on_sqlite() {
    for seed in [1, 2] {
        let r = drill(DrillKind::DbRestore, seed, DbTarget::Sqlite).await;
        assert_drilled(&r, &[DisasterKind::DbRestore]);
    }
}

/// A DB restore on PostgreSQL, into a database the caller owns: `pg_dump` backups, the
/// database dropped and created again, `pg_restore`, then `recover db`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_restore_on_postgres() {
    if let Some(r) = on_postgres(DrillKind::DbRestore, 1).await {
        assert_eq!(r.db, "postgres");
        assert_drilled(&r, &[DisasterKind::DbRestore]);
    }
}

/// A node restore and a DB restore on a scratch PostgreSQL database the drill creates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_on_postgres() {
    let Some(db) = postgres_server().await else {
        return;
    };
    let r = drill(DrillKind::Both, 3, db).await;
    assert_eq!(r.db, "postgres");
    assert_drilled(
        &r,
        &[DisasterKind::ValidatorRestore, DisasterKind::DbRestore],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_on_sqlite() {
    let r = drill(DrillKind::Both, 3, DbTarget::Sqlite).await;
    assert_drilled(
        &r,
        &[DisasterKind::ValidatorRestore, DisasterKind::DbRestore],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_on_sqlite_and_postgres() {
    let r = drill(DrillKind::Random, 4, DbTarget::Sqlite).await;
    assert_drilled(&r, &[]);
    assert!(!r.disasters.is_empty(), "{}", r.text());
    if let Some(r) = on_postgres(DrillKind::Random, 4).await {
        assert_drilled(&r, &[]);
        assert!(!r.disasters.is_empty(), "{}", r.text());
    }
}

/// The same seed, the same drill: disasters of the same kinds at the same steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_replays_its_disasters() {
    let a = drill(DrillKind::Random, 9, DbTarget::Sqlite).await;
    let b = drill(DrillKind::Random, 9, DbTarget::Sqlite).await;
    let plan = |r: &Report| {
        r.disasters
            .iter()
            .map(|d| (d.step, d.kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(plan(&a), plan(&b));
}

/// A journal row changed behind the store's back: the invariants name it, at the last step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_fault_is_caught() {
    let mut targets = vec![DbTarget::Sqlite];
    let pg = TestDb::postgres("drill_planted").await;
    if let Some(db) = &pg {
        targets.push(DbTarget::Url(db.url.clone()));
    }
    for db in targets {
        let mut c = config(DrillKind::ValidatorRestore, 5, db);
        c.plant = Some(Plant::CorruptJournal);
        let r = exchange_drill::run_drill(c).await.expect("the drill runs");
        assert!(!r.passed());
        let broken: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
        assert!(broken.contains(&"balances-equal-journals"), "{}", r.text());
        assert!(broken.contains(&"deposits-credited-once"), "{}", r.text());
        assert!(
            r.violations.iter().all(|v| v.seed == 5 && v.step == 24),
            "{}",
            r.text()
        );
    }
}

/// `random` over hundreds of seeds, a few steps each, run concurrently: 200 on SQLite and 24
/// on PostgreSQL (DB restores included: ~40 s of pg_dump/pg_restore on a loaded machine),
/// without a violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_over_hundreds_of_seeds() {
    let mut c = DrillConfig::new(DrillKind::Random, 0);
    c.steps = 10;
    c.concurrency = 4;
    let summary = exchange_drill::run_many(1000..1200, &c).await;
    assert!(summary.passed(), "{}", summary.text());
    assert_eq!(summary.seeds, 200);
    assert!(
        summary.disasters.contains_key("db-restore"),
        "{}",
        summary.text()
    );
    assert!(
        summary.disasters.contains_key("crash"),
        "{}",
        summary.text()
    );
    eprintln!("{}", summary.text());
    if let Some(db) = postgres_server().await {
        c.db = db;
        let summary = exchange_drill::run_many(2000..2024, &c).await;
        assert!(summary.passed(), "{}", summary.text());
        assert_eq!(summary.seeds, 24);
        // pg_dump backups and pg_restore restores among them (11 on these seeds).
        assert!(
            summary.disasters.contains_key("db-restore"),
            "{}",
            summary.text()
        );
        eprintln!("{}", summary.text());
    }
}
