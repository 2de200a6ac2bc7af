//! A fresh database per test, on either backend, so tests run in parallel.
//!
//! SQLite: a file in a temporary directory. PostgreSQL: a uniquely named database on
//! 127.0.0.1:5432 (user `postgres` or `root`, trust auth), dropped afterwards even if the test
//! panics. Without a reachable PostgreSQL the PG variants are skipped with a message, except
//! under `CI=true`, where that is a failure.

use std::sync::atomic::{AtomicUsize, Ordering};

use exchange_store::Store;
use sqlx::Connection;

pub mod fixtures;

const ADMIN_URLS: [&str; 4] = [
    "postgres://postgres@127.0.0.1:5432/postgres",
    "postgres://root@127.0.0.1:5432/postgres",
    "postgres://root@127.0.0.1:5432/root",
    "postgres://postgres@127.0.0.1:5432/test",
];

pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            _pg: None,
        }
    }

    /// `None` (after saying so) if PostgreSQL is unreachable outside CI.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        for admin_url in ADMIN_URLS {
            let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await else {
                continue;
            };
            let name = format!(
                "store_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                test
            );
            let name: String = name.chars().take(63).collect();
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let _ = admin.close().await;
            let base = admin_url.rsplit_once('/').expect("url has a path").0;
            return Some(TestDb {
                url: format!("{base}/{name}"),
                _dir: None,
                _pg: Some(PgDatabase { admin_url, name }),
            });
        }
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("PostgreSQL at 127.0.0.1:5432 is unreachable, and CI=true requires it");
        }
        eprintln!(
            "PostgreSQL at 127.0.0.1:5432 is unreachable: skipping the PostgreSQL variant of {test}"
        );
        None
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("open store")
    }

    #[allow(dead_code)] // not every test file that includes the harness uses it
    /// Brings the DB to an older schema: this build's migrations up to `version` only, applied
    /// as sqlx applies them, without the store (as an older canton-exchange left it).
    pub async fn migrate_up_to(&self, version: i64) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../exchange-store/migrations")
            .join(if self.is_postgres() {
                "postgres"
            } else {
                "sqlite"
            });
        let mut older = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
        older.migrations = older
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        if self.is_postgres() {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
            older.run(&pool).await.expect("older migrations");
            pool.close().await;
        } else {
            let options: sqlx::sqlite::SqliteConnectOptions = self.url.parse().expect("sqlite url");
            let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
                .await
                .expect("connect");
            older.run(&pool).await.expect("older migrations");
            pool.close().await;
        }
    }

    #[allow(dead_code)]
    /// Runs `statements` on the DB directly, in order (what an old build or a hand edit would
    /// write).
    pub async fn raw(&self, statements: &[&str]) {
        if self.is_postgres() {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
            for sql in statements {
                sqlx::query(sql).execute(&pool).await.expect(sql);
            }
            pool.close().await;
        } else {
            let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
            for sql in statements {
                sqlx::query(sql).execute(&pool).await.expect(sql);
            }
            pool.close().await;
        }
    }

    #[allow(dead_code)]
    /// The rows of `sql`, a query selecting text columns only, each row as its columns' texts.
    pub async fn texts(&self, sql: &str) -> Vec<Vec<String>> {
        fn texts_of<R: sqlx::Row>(rows: Vec<R>) -> Vec<Vec<String>>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            rows.iter()
                .map(|r| (0..r.len()).map(|i| r.get::<String, _>(i)).collect())
                .collect()
        }
        if self.is_postgres() {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
            let rows = sqlx::query(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            texts_of(rows)
        } else {
            let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
            let rows = sqlx::query(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            texts_of(rows)
        }
    }

    fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }
}

#[allow(dead_code)] // not every test file that includes the harness uses it
/// A PostgreSQL login role that may only connect to a test DB and select from its tables;
/// dropped (with its grants) afterwards, even if the test panics.
pub struct ReadOnlyRole {
    /// The test DB's URL, as this role.
    pub url: String,
    admin_url: String,
    name: String,
}

#[allow(dead_code)]
impl ReadOnlyRole {
    pub async fn create(db: &TestDb) -> ReadOnlyRole {
        let pg = db._pg.as_ref().expect("a PostgreSQL test DB");
        let name = format!("reader_{}", pg.name)
            .chars()
            .take(63)
            .collect::<String>();
        let mut admin = sqlx::PgConnection::connect(&db.url).await.expect("admin");
        for sql in [
            format!("CREATE ROLE \"{name}\" LOGIN"),
            format!("GRANT CONNECT ON DATABASE \"{}\" TO \"{name}\"", pg.name),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{name}\""),
        ] {
            sqlx::query(&sql).execute(&mut admin).await.expect(&sql);
        }
        let _ = admin.close().await;
        let (scheme, rest) = db.url.split_once("://").expect("url");
        let host_and_db = rest.split_once('@').expect("url with a user").1;
        ReadOnlyRole {
            url: format!("{scheme}://{name}@{host_and_db}"),
            admin_url: db.url.clone(),
            name,
        }
    }
}

impl Drop for ReadOnlyRole {
    fn drop(&mut self) {
        let name = &self.name;
        // Its sessions first, then its grants (DROP OWNED), then the role.
        let statements = vec![
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'"
            ),
            format!("DROP OWNED BY \"{name}\""),
            format!("DROP ROLE \"{name}\""),
        ];
        as_admin(
            self.admin_url.clone(),
            statements,
            format!("test role {name}"),
        );
    }
}

struct PgDatabase {
    admin_url: &'static str,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let what = format!("test database {}", self.name);
        as_admin(self.admin_url.to_owned(), vec![sql], what);
    }
}

/// Runs `statements` in order as the admin at `admin_url`, to drop `what` (a failure is said,
/// not raised: a leftover is no test failure). For `Drop`, which has no async, while the test's
/// runtime may be gone or panicking: on a thread with its own small runtime.
fn as_admin(admin_url: String, statements: Vec<String>, what: String) {
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            for sql in &statements {
                sqlx::query(sql).execute(&mut admin).await?;
            }
            admin.close().await
        })
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("could not drop {what}: {dropped:?}");
    }
}

/// Runs each named `async fn(&TestDb)` of the calling file on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::harness::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(db) = $crate::harness::TestDb::postgres(stringify!($name)).await {
                        super::$name(&db).await;
                    }
                }
            )*
        }
    };
}
