//! Whether a DB's schema is the one this build was made for, without touching it: for the
//! reading commands, which must work with a read-only role and never migrate.
//!
//! sqlx records every applied migration in `_sqlx_migrations` (version, checksum, success);
//! the DB matches when exactly this build's migrations are applied, with the same checksums.

use std::collections::BTreeMap;

use sqlx::migrate::Migrator;
use sqlx::{PgPool, SqlitePool};

use crate::error::{Result, StoreError};

/// `(version, checksum)` of the successfully applied migrations.
type Applied = Vec<(i64, Vec<u8>)>;

const APPLIED: &str =
    "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version";

pub(crate) async fn check_sqlite(pool: &SqlitePool, migrator: &Migrator) -> Result<()> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?;
    if exists == 0 {
        return Err(StoreError::SchemaMissing);
    }
    let applied: Applied = sqlx::query_as(APPLIED).fetch_all(pool).await?;
    compare(&applied, migrator)?;
    // Migration 0011 is finished in Rust by the next writable open (see its SQL); until then
    // the balances are incomplete, so the DB counts as not migrated yet.
    if crate::balances::backfill_pending(pool).await? {
        return Err(StoreError::SchemaOlder { missing: vec![11] });
    }
    Ok(())
}

pub(crate) async fn check_postgres(pool: &PgPool, migrator: &Migrator) -> Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Err(StoreError::SchemaMissing);
    }
    let applied: Applied = sqlx::query_as(APPLIED).fetch_all(pool).await?;
    compare(&applied, migrator)
}

/// Newer first: a DB migrated by a newer build may also lack nothing this build knows, and
/// what its operator needs is a newer binary, not a migration.
fn compare(applied: &Applied, migrator: &Migrator) -> Result<()> {
    let known: BTreeMap<i64, &[u8]> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.checksum.as_ref()))
        .collect();
    let unknown: Vec<i64> = applied
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| !known.contains_key(v))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::SchemaNewer { unknown });
    }
    if let Some((version, _)) = applied
        .iter()
        .find(|(v, checksum)| known.get(v).is_some_and(|k| *k != checksum.as_slice()))
    {
        return Err(StoreError::SchemaModified { version: *version });
    }
    let missing: Vec<i64> = known
        .keys()
        .copied()
        .filter(|v| !applied.iter().any(|(a, _)| a == v))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::SchemaOlder { missing })
    }
}
