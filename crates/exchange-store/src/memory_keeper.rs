//! An in-memory SQLite DB lives as long as its store (see [`MemoryKeeper`]).

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::error::Result;

/// Keeps an in-memory SQLite DB alive while the store is open.
///
/// SQLite frees an in-memory DB with its last connection, and sqlx's pool closes connections in
/// places we do not control. One was an `acquire` dropped while sqlx checked an idle connection
/// (its ping, which the store no longer asks for): it dropped the connection with it, so a write
/// cut short at that moment (a timeout, a `select!`) took the whole DB along, and the next write
/// met a new empty one ("no such table: checkpoint"). Others remain (a connection stuck in a
/// transaction is closed, see `released`). This connection never leaves the store and runs
/// nothing, so pool connections can come and go as a file DB's do.
#[derive(Clone, Debug)]
pub(crate) struct MemoryKeeper(std::sync::Arc<std::sync::Mutex<Option<SqliteConnection>>>);

impl MemoryKeeper {
    pub(crate) async fn connect(options: &SqliteConnectOptions) -> Result<MemoryKeeper> {
        let conn = SqliteConnection::connect_with(options).await?;
        Ok(MemoryKeeper(std::sync::Arc::new(std::sync::Mutex::new(
            Some(conn),
        ))))
    }

    /// Frees the DB (after the pools closed: nothing can use it any more).
    pub(crate) async fn close(&self) {
        let conn = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(conn) = conn {
            let _ = conn.close().await;
        }
    }
}
