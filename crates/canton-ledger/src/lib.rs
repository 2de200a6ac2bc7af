//! Wire types of the Canton JSON Ledger API v2, in the 3.4 shape, shared by the exchange's
//! client and the sandbox so that both speak exactly one format.
//!
//! Input is tolerant, as real nodes and recordings differ (`../shared/reference/ledger-api.md`
//! §1.2, §8): a missing field, `null` and (for strings) `""` are all read as "not set"; unknown
//! keys are ignored; identifiers may be in package-id or `#package-name` form. Output follows
//! the 3.4 server: every field in server order, `null` for an absent optional, `""` for an empty
//! string. Daml values (create arguments, choice arguments, results, views) are kept as raw JSON
//! text, so nothing is reinterpreted or lost on the way through; readers decode the parts they
//! need into typed records.

pub mod events;
pub mod recording;
pub mod serde_util;
pub mod updates;

pub use events::{ArchivedEvent, CreatedEvent, Event, ExercisedEvent, InterfaceView, ViewStatus};
pub use serde_util::{DamlValue, Wrapped};
pub use updates::{
    JsGetUpdatesResponse, JsTransaction, OffsetCheckpoint, SynchronizerTime, TraceContext, Update,
};
