//! The ledger model: pure, deterministic, no IO. The HTTP layer reads it through projections and
//! changes it only by committing whole transactions.

pub mod clock;
pub mod compact;
pub mod filter;
pub mod ids;
pub mod ledger;
pub mod projection;
pub mod render;
pub mod template;
pub mod tree;

pub use ledger::{
    CommittedTx, ContractRecord, Ledger, LedgerConfig, LedgerError, Origin, SubmissionMeta,
    SyncIdx, Synchronizer, SynchronizerConfig, TxContext,
};
pub use template::Identifier;
pub use tree::{Create, Exercise, Fetch, Node};
