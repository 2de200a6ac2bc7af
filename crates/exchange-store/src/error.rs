//! What can go wrong, classified by what the caller should do.

use exchange_core::changeset::AccountId;
use exchange_core::withdrawal::WithdrawalId;
use exchange_core::{Amount, InstrumentId, Offset};

/// An error of the Integration DB. Nothing was written when a write returns one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A commit whose checkpoint is not after the stored one: a second writer, or a replay the
    /// caller did not rewind for. Never retry blindly.
    #[error("checkpoint regression: the stored offset is {stored}, the commit's is {attempted}")]
    CheckpointRegression { stored: Offset, attempted: Offset },
    /// The write contradicts what is stored: a duplicate (update id, deposit credit, journal
    /// cause, withdrawal id) or a row someone else holds (a reserved or archived holding).
    #[error("conflict: {0}")]
    Conflict(String),
    /// An idempotency key given again for a different request: answering with the first
    /// would hide a bug in the caller.
    #[error("conflict: {0}")]
    IdempotencyKeyReused(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Refused while a `recover db` run is unfinished.
    #[error("{0}")]
    RecoveryUnfinished(String),
    /// The request itself is malformed (e.g. a non-positive withdrawal amount).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A state change the state machine does not allow.
    #[error("{what} cannot go from {from} to {to}")]
    InvalidTransition {
        what: String,
        from: &'static str,
        to: &'static str,
    },
    #[error("account {account} has {available} of {instrument}, needs {needed}")]
    InsufficientFunds {
        account: AccountId,
        instrument: InstrumentId,
        needed: Amount,
        available: Amount,
    },
    /// No selection of the treasury's holdings funds the withdrawal; the selection error says
    /// why (too little held, the rest reserved or locked, or too many small holdings).
    #[error("no spendable holdings: {0}")]
    NoSpendableHoldings(Box<exchange_core::selection::SelectionError>),
    /// Neither an onboarded token nor an instrument the treasury has ever held.
    #[error("unknown instrument {0}")]
    UnknownInstrument(InstrumentId),
    /// The operator switched withdrawals off.
    #[error("withdrawals are disabled: {reason}")]
    WithdrawalsDisabled { reason: String },
    #[error("withdrawal {0} is unknown")]
    UnknownWithdrawal(WithdrawalId),
    /// The operation does not exist for this backend (the message says what to use instead).
    #[error("{0}")]
    Unsupported(String),
    /// A file beside the DB (a backup, a lock) could not be read or written.
    #[error("file: {0}")]
    Io(String),
    #[error("unsupported database URL {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    /// A stored value does not parse back into its domain type: the DB was edited by hand or
    /// by a newer version.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The ingestion lease could not be taken or was lost (see `IngestionLease`).
    #[error("ingestion lease: {0}")]
    Lease(String),
    /// The DB has no schema at all (an empty database, or not an Integration DB).
    #[error("the database has no Integration DB schema (it was never migrated)")]
    SchemaMissing,
    /// The DB's schema is behind this build's: its migrations have not been run yet.
    #[error("the Integration DB's schema is older than this program's: migration(s) {} not applied", versions(.missing))]
    SchemaOlder { missing: Vec<i64> },
    /// A newer build migrated the DB.
    #[error("the Integration DB's schema is newer than this program's: migration(s) {} unknown to it; use a newer canton-exchange", versions(.unknown))]
    SchemaNewer { unknown: Vec<i64> },
    /// An applied migration differs from this build's (edited after it was applied).
    #[error("migration {version} applied to the Integration DB differs from this program's")]
    SchemaModified { version: i64 },
    /// A sum of stored amounts does not fit Numeric(38, 10); each amount does.
    #[error("amount overflow: {0}")]
    Overflow(String),
    /// The server could not be reached in time.
    #[error("database unreachable: {0}")]
    Unreachable(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database itself failed (connection, I/O, …); usually worth a retry.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    /// PostgreSQL aborted the transaction to break a deadlock or a serialization conflict
    /// (SQLSTATE 40P01, 40001): it wrote nothing, and running it again usually succeeds.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }
}

/// Runs a write transaction again (a few times) when the database aborted it as
/// [`StoreError::is_transient`]. Requests and the automation lock rows in a different order from
/// ingestion (which touches holdings in ledger order, and releases them by withdrawal), so on
/// PostgreSQL an occasional deadlock under load is expected; its victim must not surface as a
/// failed request.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    const TRIES: u32 = 5;
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_transient() && tried < TRIES => {
                tokio::time::sleep(std::time::Duration::from_millis(2u64 << tried)).await;
                tried += 1;
            }
            other => return other,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    /// Constraint violations become [`StoreError::Conflict`]; the rest stays a database error.
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    || db.is_foreign_key_violation()
                    || db.is_check_violation() =>
            {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Database(error),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

fn versions(list: &[i64]) -> String {
    let text: Vec<String> = list.iter().map(i64::to_string).collect();
    text.join(", ")
}
