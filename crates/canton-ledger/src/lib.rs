//! Wire types of the Canton JSON Ledger API v2, in the 3.4 shape, shared by the exchange's
//! client and the sandbox so that both speak exactly one format.
//!
//! Input is tolerant, as real nodes and recordings differ (`../shared/reference/ledger-api.md`
//! §1.2, §8): a missing field, `null` and (for strings) `""` are all read as "not set"; unknown
//! keys are ignored; identifiers may be in package-id or `#package-name` form; offsets and other
//! integers may come as numeric strings. Output follows the 3.4 server: every field in server
//! order, `null` for an absent optional, `""` for an empty string. Daml values (create arguments,
//! choice arguments, results, views) are kept as raw JSON text, so nothing is reinterpreted or
//! lost on the way through; readers decode the parts they need into typed records. Amounts stay
//! strings here; exact arithmetic lives in `exchange-core`.

/// A protobuf enum on the wire: its proto name as a string. Values this crate does not know yet
/// (a newer node) are kept in `Unrecognized` instead of failing the whole message. The first
/// listed variant is the default (the proto's `*_UNSPECIFIED`, where there is one).
macro_rules! proto_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(#[$fmeta:meta])* $first:ident = $fstr:literal
            $(, $(#[$vmeta:meta])* $variant:ident = $vstr:literal)* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[$fmeta])*
            #[default]
            $first,
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know, kept verbatim.
            Unrecognized(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $name::$first => $fstr,
                    $($name::$variant => $vstr,)*
                    $name::Unrecognized(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $fstr => $name::$first,
                    $($vstr => $name::$variant,)*
                    other => $name::Unrecognized(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }
    };
}

pub mod admin;
#[cfg(feature = "client")]
pub mod admin_client;
#[cfg(feature = "client")]
pub mod auth;
#[cfg(feature = "client")]
pub mod call_timer;
#[cfg(feature = "client")]
pub mod client;
pub mod commands;
pub mod completions;
pub mod contract_events;
pub mod dar;
pub mod errors;
pub mod events;
pub mod filters;
pub mod interactive;
#[cfg(feature = "client")]
mod onboarding_client;
pub mod packages;
#[cfg(feature = "client")]
mod packages_client;
pub mod parties;
pub mod quote;
pub mod reassignments;
pub mod recording;
pub mod registry;
#[cfg(feature = "client")]
pub mod registry_client;
pub mod serde_util;
pub mod state;
#[cfg(feature = "client")]
pub mod tls;
pub mod topology;
pub mod updates;
pub mod version;

pub use errors::{ErrorCategory, JsCantonError};
pub use events::{ArchivedEvent, CreatedEvent, Event, ExercisedEvent, InterfaceView, ViewStatus};
pub use filters::{
    CumulativeFilter, EventFormat, Filters, IdentifierFilter, TransactionFormat, TransactionShape,
    UpdateFormat,
};
pub use serde_util::{DamlValue, Duration, Empty, Wrapped};
pub use updates::{
    GetUpdatesRequest, JsGetUpdateResponse, JsGetUpdatesResponse, JsTransaction, OffsetCheckpoint,
    SynchronizerTime, TraceContext, Update,
};
