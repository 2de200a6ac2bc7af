//! The exchange's domain, free of IO: exact money, typed ledger identifiers and time, and the
//! token-standard transaction parser that turns one Canton transaction into what it means for
//! the treasury party.
//!
//! Nothing here touches the network, a database or a clock (except [`Timestamp::now`] for
//! callers at the edge); everything is deterministic and tested against real recordings.

pub mod amount;
pub mod book;
pub mod changeset;
pub mod held_back;
pub mod ids;
pub mod ingest;
pub mod interfaces;
pub mod memo;
pub mod parser;
pub mod pool;
pub mod reconcile;
pub mod selection;
pub mod signing;
pub mod time;
pub mod token_standard;
pub mod token_standard_v2;
pub mod tokens;
pub mod withdrawal;

pub use amount::{Amount, AmountError};
pub use book::{HoldingBook, KnownContracts};
pub use ids::{ContractId, IdError, InstrumentId, Offset, PartyId, SynchronizerId, UpdateId};
pub use parser::{ContractLookup, ParseError, ParsedTransaction, parse_transaction};
pub use time::{Timestamp, TimestampError};
