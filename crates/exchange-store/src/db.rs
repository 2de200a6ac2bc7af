//! The one place that knows there are two databases.
//!
//! Every query of the store is written once, in SQL both SQLite and PostgreSQL accept (`$1`
//! placeholders, `ON CONFLICT`, `RETURNING`), and runs through [`Tx`]. Values are bound and read
//! through types both backends encode; [`Num`] carries an [`Amount`] as NUMERIC on PostgreSQL and
//! as canonical decimal text on SQLite. Where the SQL must differ (row locks), callers ask
//! [`Tx::backend`].

use std::str::FromStr;

use exchange_core::{
    Amount, ContractId, InstrumentId, PartyId, SynchronizerId, Timestamp, UpdateId,
};
use sqlx::error::BoxDynError;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgPoolOptions, PgRow, PgTypeInfo, PgValueRef,
};
use sqlx::sqlite::{
    SqliteArgumentValue, SqliteArguments, SqliteConnectOptions, SqliteJournalMode,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous, SqliteTypeInfo, SqliteValueRef,
};
use sqlx::types::BigDecimal;
use sqlx::{
    Connection as _, Decode, Encode, PgConnection, PgPool, Postgres, Row as _, Sqlite, SqlitePool,
    Type,
};

use crate::error::{Result, StoreError};
use crate::memory_keeper::MemoryKeeper;
use crate::open_lock::OpenLock;
use crate::writers::{WriterQueue, WriterTurn};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// This build's SQLite migrations (to check a backup against).
pub(crate) fn sqlite_migrations() -> &'static sqlx::migrate::Migrator {
    &SQLITE_MIGRATIONS
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    /// `ingest`: the ingestion writer's own connection (see [`Pool::write_ingest`]); the same
    /// pool as `main` for an in-memory DB.
    Sqlite {
        main: SqlitePool,
        ingest: SqlitePool,
        /// Held while the store is open, so `db restore` refuses to swap the file under it.
        users: OpenLock,
        /// An in-memory DB's own connection, outside the pool: see [`MemoryKeeper`].
        keeper: Option<MemoryKeeper>,
        /// Whose turn it is to write, among this store's writers: see [`WriterQueue`].
        writers: WriterQueue,
    },
    Postgres(PgPool),
}

impl Pool {
    /// Connects and brings the schema up to date (migrations are recorded, so this is
    /// idempotent and safe for several processes: sqlx takes a lock while migrating).
    pub(crate) async fn open(url: &str) -> Result<Pool> {
        if url.starts_with("sqlite:") {
            let pool = open_sqlite(url).await?;
            crate::balances::backfill_sqlite(&pool).await?;
            Ok(pool)
        } else if is_postgres(url) {
            let pool = connect_postgres(url).await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Ok(Pool::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Connects without writing anything: no migrations, a SQLite file opened read-only (and
    /// never created). The schema must be exactly the one this build knows (see
    /// [`crate::schema`]), so that reading commands work with a read-only role and never
    /// migrate a DB behind an operator's back.
    pub(crate) async fn open_read_only(url: &str) -> Result<Pool> {
        let pool = if url.starts_with("sqlite:") {
            let options = sqlite_options(url)?.read_only(true);
            let file = options.get_filename();
            let in_memory = file.as_os_str().is_empty() || url.contains(":memory:");
            if in_memory || !file.exists() {
                return Err(StoreError::NotFound(format!(
                    "no Integration DB at {} (a reading command never creates one)",
                    file.display()
                )));
            }
            let users = OpenLock::shared(Some(file), true)?;
            let main = sqlite_pool(options, 4).await?;
            Pool::Sqlite {
                ingest: main.clone(),
                main,
                users,
                keeper: None,
                writers: WriterQueue::default(),
            }
        } else if is_postgres(url) {
            Pool::Postgres(connect_postgres(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let checked = match &pool {
            Pool::Sqlite { main, .. } => {
                crate::schema::check_sqlite(main, &SQLITE_MIGRATIONS).await
            }
            Pool::Postgres(pg) => crate::schema::check_postgres(pg, &POSTGRES_MIGRATIONS).await,
        };
        if let Err(e) = checked {
            pool.close().await;
            return Err(e);
        }
        Ok(pool)
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of failing halfway with `SQLITE_BUSY`;
    /// that also serializes read-check-write sequences such as the balance check of a withdrawal.
    pub(crate) async fn write(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Sqlite { main, writers, .. } => {
                let turn = writers.wait().await?;
                begin_sqlite(main, Some("BEGIN IMMEDIATE"), Some(turn)).await?
            }
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A write transaction for ingestion commits (SQLite: on the connection with
    /// `synchronous=NORMAL`).
    pub(crate) async fn write_ingest(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Sqlite {
                ingest, writers, ..
            } => {
                let turn = writers.wait().await?;
                begin_sqlite(ingest, Some("BEGIN IMMEDIATE"), Some(turn)).await?
            }
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A transaction that only reads: one consistent snapshot.
    pub(crate) async fn read(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Sqlite { main, .. } => begin_sqlite(main, None, None).await?,
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite {
                main,
                ingest,
                users,
                keeper,
                ..
            } => {
                ingest.close().await;
                main.close().await;
                if let Some(keeper) = keeper {
                    keeper.close().await;
                }
                users.release();
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// How long a SQLite writer waits for the write lock before it fails.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT))
}

async fn sqlite_pool(options: SqliteConnectOptions, max: u32) -> Result<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(max)
        .idle_timeout(None)
        .max_lifetime(None)
        // No ping before each use: an embedded connection cannot have been dropped by a
        // server or a network, and each ping is a round trip to the connection's thread.
        .test_before_acquire(false)
        // A store future cancelled midway must not leave its connection in a transaction.
        .after_release(crate::released::hook())
        .connect_with(options)
        .await?)
}

/// The SQLite pools of a writable store, the schema migrated.
async fn open_sqlite(url: &str) -> Result<Pool> {
    let options = sqlite_options(url)?.create_if_missing(true);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        // Shared cache: the pool's connection and the keeper open the same DB.
        let options = options.shared_cache(true);
        let keeper = MemoryKeeper::connect(&options).await?;
        // One connection: shared-cache connections lock whole tables and fail with
        // SQLITE_LOCKED instead of waiting out the busy timeout.
        let main = sqlite_pool(options, 1).await?;
        SQLITE_MIGRATIONS.run(&main).await?;
        return Ok(Pool::Sqlite {
            ingest: main.clone(),
            main,
            users: OpenLock::default(),
            keeper: Some(keeper),
            writers: WriterQueue::default(),
        });
    }
    let users = OpenLock::shared(Some(options.get_filename()), false)?;
    // WAL; 64 MiB of page cache per connection (the default is 2 MiB): ingestion inserts
    // random keys (contract and update ids) into several indexes, which otherwise
    // re-reads index pages from the OS on every batch.
    // Statement journals (SQLite keeps one per multi-row statement inside a transaction,
    // to undo just that statement) in memory instead of a temporary file: a batch's
    // inserts wrote every page they touched to that file too (13% of the SQLite
    // thread's time in a profile of the 100k benchmark; system time 6.4 → 4.6 s).
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory");
    // Everything but ingestion commits with synchronous=FULL: a withdrawal request
    // cannot be re-read from the ledger. Ingestion's commits use NORMAL: a power loss
    // may lose the last ones, never part of one, and never one that a later FULL commit
    // depends on (the WAL is synced in order); ingestion re-reads them from the
    // checkpoint it finds.
    let main = sqlite_pool(options.clone().synchronous(SqliteSynchronous::Full), 4).await?;
    SQLITE_MIGRATIONS.run(&main).await?;
    // The ingestion connection checkpoints the WAL back into the DB at 64 MiB instead of
    // 4 MiB (SQLite's default, 1000 pages): a batch of 1000 transactions dirties
    // thousands of index pages, so the default checkpointed (and synced) after every
    // commit, copying pages that the next commits dirty again. A checkpoint is a quarter
    // of the SQLite thread's time at the default. Reads through a larger WAL are a little
    // slower, but they overlap the commit of the batch before (see exchange-services'
    // ingestion loop).
    let ingest = sqlite_pool(
        options
            .synchronous(SqliteSynchronous::Normal)
            .pragma("wal_autocheckpoint", "16384"),
        1,
    )
    .await?;
    Ok(Pool::Sqlite {
        main,
        ingest,
        users,
        keeper: None,
        writers: WriterQueue::default(),
    })
}

/// How long the first connection to PostgreSQL may take before the open fails.
const PG_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A PostgreSQL pool, after one direct connection attempt: the pool retries a refused
/// connection until its acquire timeout (30 s) and then reports only "pool timed out", which
/// hides a wrong host or port. The probe fails fast with the real cause.
async fn connect_postgres(url: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?;
    match tokio::time::timeout(PG_CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(probe)) => {
            let _ = probe.close().await;
        }
        Ok(Err(e)) => return Err(StoreError::Database(e)),
        Err(_) => {
            return Err(StoreError::Unreachable(format!(
                "no answer from the PostgreSQL server within {} s",
                PG_CONNECT_TIMEOUT.as_secs()
            )));
        }
    }
    Ok(PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?)
}

/// Begins a transaction (with `statement`, or sqlx's plain `BEGIN`) on a connection of `pool`
/// that is not stuck in a transaction SQLite already ended.
///
/// Some errors (`SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_NOMEM`, a failed `COMMIT`) make SQLite
/// roll the whole transaction back by itself. sqlx then rolls back a transaction that no longer
/// exists when ours is dropped; that `ROLLBACK` fails, and sqlx keeps counting the connection as
/// inside a transaction, so every later begin on it failed with "attempted to call begin_with
/// at non-zero transaction depth": a full disk could never be retried, even once space was
/// free. Such a connection is closed (its file-backed DB loses nothing: SQLite already rolled
/// back) and a fresh one is taken.
async fn begin_sqlite(
    pool: &SqlitePool,
    statement: Option<&'static str>,
    turn: Option<WriterTurn>,
) -> Result<Tx> {
    let mut conn = pool.acquire().await?;
    if conn.is_in_transaction() {
        // A rollback queued by a dropped transaction runs before the ping: only a connection
        // still counted as inside a transaction after it is stuck.
        conn.ping().await?;
    }
    if conn.is_in_transaction() {
        // An in-memory DB survives this too: its keeper holds it.
        conn.close().await?;
        conn = pool.acquire().await?;
    }
    // `Transaction::begin` is what `Pool::begin_with` runs on the connection it acquires.
    let tx = sqlx::Transaction::begin(conn, statement.map(Into::into)).await?;
    Ok(Tx::Sqlite(tx, turn))
}

pub(crate) enum Tx {
    /// With the writer's turn for a write transaction, given back when it ends (the fields
    /// drop in order: the transaction's rollback is queued first).
    Sqlite(sqlx::Transaction<'static, Sqlite>, Option<WriterTurn>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// A statement to bind and run in this transaction.
    pub(crate) fn query<'t, 'q>(&'t mut self, sql: &'q str) -> Query<'t, 'q> {
        let inner = match self {
            Tx::Sqlite(..) => Inner::Sqlite(sqlx::query(sql)),
            Tx::Postgres(_) => Inner::Postgres(sqlx::query(sql)),
        };
        Query { tx: self, inner }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx, _turn) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

enum Inner<'q> {
    Sqlite(sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>),
    Postgres(sqlx::query::Query<'q, Postgres, PgArguments>),
}

pub(crate) struct Query<'t, 'q> {
    tx: &'t mut Tx,
    inner: Inner<'q>,
}

/// A value both backends can bind.
pub(crate) trait Bind<'q>:
    'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}
impl<'q, T> Bind<'q> for T where
    T: 'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

impl<'q> Query<'_, 'q> {
    pub(crate) fn bind<T: Bind<'q>>(mut self, value: T) -> Self {
        self.inner = match self.inner {
            Inner::Sqlite(q) => Inner::Sqlite(q.bind(value)),
            Inner::Postgres(q) => Inner::Postgres(q.bind(value)),
        };
        self
    }

    /// Binds a PostgreSQL-only value (arrays for `UNNEST` and `ANY`). Callers check
    /// [`Tx::backend`] first.
    pub(crate) fn bind_pg<T>(mut self, value: T) -> Self
    where
        T: 'q + Send + Encode<'q, Postgres> + Type<Postgres>,
    {
        self.inner = match self.inner {
            Inner::Postgres(q) => Inner::Postgres(q.bind(value)),
            Inner::Sqlite(_) => unreachable!("bind_pg on a SQLite statement"),
        };
        self
    }

    /// Runs the statement; the number of rows it changed.
    pub(crate) async fn execute(self) -> Result<u64> {
        Ok(match (self.inner, self.tx) {
            (Inner::Sqlite(q), Tx::Sqlite(tx, _)) => q.execute(&mut **tx).await?.rows_affected(),
            (Inner::Postgres(q), Tx::Postgres(tx)) => q.execute(&mut **tx).await?.rows_affected(),
            _ => unreachable!("a query is built for its own transaction"),
        })
    }

    pub(crate) async fn fetch_all(self) -> Result<Vec<Row>> {
        Ok(match (self.inner, self.tx) {
            (Inner::Sqlite(q), Tx::Sqlite(tx, _)) => q
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            (Inner::Postgres(q), Tx::Postgres(tx)) => q
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
            _ => unreachable!("a query is built for its own transaction"),
        })
    }

    pub(crate) async fn fetch_optional(self) -> Result<Option<Row>> {
        Ok(match (self.inner, self.tx) {
            (Inner::Sqlite(q), Tx::Sqlite(tx, _)) => {
                q.fetch_optional(&mut **tx).await?.map(Row::Sqlite)
            }
            (Inner::Postgres(q), Tx::Postgres(tx)) => {
                q.fetch_optional(&mut **tx).await?.map(Row::Postgres)
            }
            _ => unreachable!("a query is built for its own transaction"),
        })
    }
}

/// A result row, read by column name into domain types.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    pub(crate) fn get<T>(&self, column: &str) -> Result<T>
    where
        T: for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + for<'r> Decode<'r, Postgres>
            + Type<Postgres>,
    {
        Ok(match self {
            Row::Sqlite(row) => row.try_get(column)?,
            Row::Postgres(row) => row.try_get(column)?,
        })
    }

    pub(crate) fn amount(&self, column: &str) -> Result<Amount> {
        Ok(self.get::<Num>(column)?.0)
    }

    pub(crate) fn time(&self, column: &str) -> Result<Timestamp> {
        let micros: i64 = self.get(column)?;
        Timestamp::from_micros(micros).ok_or_else(|| corrupt(column, micros))
    }

    pub(crate) fn opt_time(&self, column: &str) -> Result<Option<Timestamp>> {
        match self.get::<Option<i64>>(column)? {
            None => Ok(None),
            Some(micros) => Timestamp::from_micros(micros)
                .map(Some)
                .ok_or_else(|| corrupt(column, micros)),
        }
    }

    /// Any id or enum with a fallible `FromStr`.
    pub(crate) fn parse<T: FromStr>(&self, column: &str) -> Result<T> {
        let text: String = self.get(column)?;
        text.parse().map_err(|_| corrupt(column, &text))
    }

    pub(crate) fn opt_parse<T: FromStr>(&self, column: &str) -> Result<Option<T>> {
        match self.get::<Option<String>>(column)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| corrupt(column, &text)),
        }
    }

    pub(crate) fn party(&self, column: &str) -> Result<PartyId> {
        self.parse(column)
    }

    pub(crate) fn contract(&self, column: &str) -> Result<ContractId> {
        self.parse(column)
    }

    pub(crate) fn update(&self, column: &str) -> Result<UpdateId> {
        self.parse(column)
    }

    pub(crate) fn synchronizer(&self, column: &str) -> Result<SynchronizerId> {
        self.parse(column)
    }

    /// From the `instrument_admin` and `instrument_id` columns.
    pub(crate) fn instrument(&self) -> Result<InstrumentId> {
        Ok(InstrumentId {
            admin: self.party("instrument_admin")?,
            id: self.get("instrument_id")?,
        })
    }
}

fn corrupt(column: &str, value: impl std::fmt::Debug) -> StoreError {
    StoreError::Corrupt(format!("column {column} holds {value:?}"))
}

/// An [`Amount`] as the column type of each backend: NUMERIC(38, 10) on PostgreSQL, canonical
/// decimal text on SQLite. Never through a float.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Num(pub(crate) Amount);

impl Num {
    fn to_big_decimal(self) -> BigDecimal {
        BigDecimal::from_str(&self.0.to_string()).expect("an Amount prints as a decimal")
    }
}

impl Type<Sqlite> for Num {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Num {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<SqliteArgumentValue<'q>>,
    ) -> Result<sqlx::encode::IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Num {
    fn decode(value: SqliteValueRef<'r>) -> Result<Num, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Num(text.parse()?))
    }
}

impl Type<Postgres> for Num {
    fn type_info() -> PgTypeInfo {
        <BigDecimal as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <BigDecimal as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Num {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, BoxDynError> {
        <BigDecimal as Encode<Postgres>>::encode(self.to_big_decimal(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Num {
    fn decode(value: PgValueRef<'r>) -> Result<Num, BoxDynError> {
        let decimal = <BigDecimal as Decode<Postgres>>::decode(value)?;
        // Rescaling to 10 places is exact for NUMERIC(38, 10) values and their sums; the plain
        // digits of the scaled integer are the count of 10⁻¹⁰ units.
        let (units, _) = decimal.with_scale(10).into_bigint_and_exponent();
        let units: i128 = units.to_string().parse()?;
        Ok(Num(
            Amount::from_units(units).ok_or("amount outside Numeric 10")?
        ))
    }
}

/// Turns a count of changed rows that must be one into a typed error.
pub(crate) fn expect_one(changed: u64, error: impl FnOnce() -> StoreError) -> Result<()> {
    if changed == 1 { Ok(()) } else { Err(error()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills the ingestion connection's DB to a page limit (SQLite's `max_page_count`, a
    /// per-connection setting: a "full disk" without filling one), fails a commit, and retries.
    async fn a_full_disk_then_a_retry(dir: &tempfile::TempDir) -> (String, Result<()>) {
        let url = format!("sqlite://{}", dir.path().join("full.db").display());
        let pool = Pool::open(&url).await.unwrap();
        let Pool::Sqlite { ingest, .. } = &pool else {
            unreachable!("a SQLite URL")
        };
        let mut tx = pool.write_ingest().await.unwrap();
        tx.query("CREATE TABLE filler (data BLOB NOT NULL)")
            .execute()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut conn = ingest.acquire().await.unwrap();
        sqlx::query("PRAGMA max_page_count = 40")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);

        let mut tx = pool.write_ingest().await.unwrap();
        let written = async {
            tx.query("INSERT INTO filler (data) VALUES (zeroblob(1000000))")
                .execute()
                .await?;
            tx.commit().await
        }
        .await;
        let full = written.expect_err("the DB is full").to_string();

        // Space is free again (a fresh connection has no page limit; the one that hit the limit
        // has it too once raised).
        let retried = async {
            let mut tx = pool.write_ingest().await?;
            tx.query("PRAGMA max_page_count = 1000000")
                .execute()
                .await?;
            tx.query("INSERT INTO filler (data) VALUES (zeroblob(1000000))")
                .execute()
                .await?;
            tx.commit().await
        }
        .await;
        pool.close().await;
        (full, retried)
    }

    /// The pool may close its connection to an in-memory DB (a check that failed, a cut
    /// acquire, a connection stuck in a transaction): the DB and what it holds stay.
    #[tokio::test]
    async fn an_in_memory_db_outlives_its_pool_connection() {
        let pool = Pool::open("sqlite::memory:").await.unwrap();
        let Pool::Sqlite { main, .. } = &pool else {
            unreachable!("a SQLite URL")
        };
        let mut tx = pool.write().await.unwrap();
        tx.query("CREATE TABLE kept (n INTEGER NOT NULL)")
            .execute()
            .await
            .unwrap();
        tx.query("INSERT INTO kept (n) VALUES (7)")
            .execute()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        main.acquire().await.unwrap().close().await.unwrap();

        let mut tx = pool.read().await.unwrap();
        let row = tx.query("SELECT n FROM kept").fetch_optional().await;
        let n: i64 = row.unwrap().expect("the row is kept").get("n").unwrap();
        assert_eq!(n, 7);
        drop(tx);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_commit_after_a_full_disk_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let (full, retried) = a_full_disk_then_a_retry(&dir).await;
        assert!(full.contains("database or disk is full"), "{full}");
        retried.expect("the retry commits once space is free");
    }
}
