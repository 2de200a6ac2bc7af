//! The exchange's domain, free of IO: exact money, typed ledger identifiers and time, and the
//! token-standard transaction parser that turns one Canton transaction into what it means for
//! the treasury party.
//!
//! Nothing here touches the network, a database or a clock (except [`Timestamp::now`] for
//! callers at the edge); everything is deterministic and tested against real recordings.

pub mod amount;
pub mod changeset;
pub mod ids;
pub mod time;
pub mod withdrawal;

pub use amount::{Amount, AmountError};
pub use ids::{ContractId, IdError, InstrumentId, Offset, PartyId, SynchronizerId, UpdateId};
pub use time::{Timestamp, TimestampError};
