//! The exchange's long-running loops. Glue only: IO in (the ledger, recorded files), pure
//! decisions from `exchange-core`, writes through `exchange-store`.
//!
//! Today: Tx History Ingestion ([`ingest`]), re-processing of quarantined transactions
//! ([`quarantine`]), the node-restore runbook ([`recover`]), the treasury's key file
//! ([`signer`]), Withdrawal Automation ([`withdraw`]) and the treasury's own setup
//! ([`treasury_setup`]); and what both the CLI and the REST API need alike: the operator's
//! [`status`] and the checks of a customer's [`withdrawal_request`].

pub mod deposits;
pub mod filter;
pub mod identity;
pub mod ingest;
pub mod memo_key;
pub mod metrics;
pub mod observe;
pub mod pool;
mod prepared;
pub mod quarantine;
pub mod reader;
pub mod recover;
pub mod recover_db;
pub mod retry;
mod rounds;
pub mod signer;
pub mod source;
pub mod status;
pub mod treasury_setup;
pub mod withdraw;
pub mod withdrawal_request;

pub use ingest::{IngestConfig, IngestError, Ingestor, Summary, Timings};
pub use metrics::Metrics;
pub use observe::{IngestEvent, Observer};
pub use source::{Recording, RecordingFileError, Source, Transport};
