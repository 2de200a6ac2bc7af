//! What a reader asks to see: `UpdateFormat`, `TransactionFormat`, `EventFormat` and their
//! per-party filters (`ledger-api.md` §2.2). Shared by the update stream, point lookups, the ACS
//! and submit-and-wait-for-transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::{Empty, Wrapped, null_as_default};

proto_enum! {
    /// How a transaction's events are projected. `LEDGER_EFFECTS` is the full visible tree (what
    /// token-standard parsing needs); `ACS_DELTA` only the creates and archives that change the
    /// requested parties' active contract set.
    pub enum TransactionShape {
        Unspecified = "TRANSACTION_SHAPE_UNSPECIFIED",
        AcsDelta = "TRANSACTION_SHAPE_ACS_DELTA",
        LedgerEffects = "TRANSACTION_SHAPE_LEDGER_EFFECTS",
    }
}

/// Which update kinds to stream; an absent member means that kind is not streamed at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateFormat {
    #[serde(default)]
    pub include_transactions: Option<TransactionFormat>,
    /// Reassignments are always in the `ACS_DELTA` shape, hence only an event format.
    #[serde(default)]
    pub include_reassignments: Option<EventFormat>,
    #[serde(default)]
    pub include_topology_events: Option<TopologyFormat>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionFormat {
    #[serde(default)]
    pub event_format: Option<EventFormat>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub transaction_shape: TransactionShape,
}

/// Per-party filters. Parties match as stakeholders in `ACS_DELTA` and as witnesses in
/// `LEDGER_EFFECTS`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFormat {
    // A BTreeMap so that a request serializes the same way every time.
    #[serde(default, deserialize_with = "null_as_default")]
    pub filters_by_party: BTreeMap<String, Filters>,
    /// Applies to every party hosted on the node; needs `CanReadAsAnyParty`.
    #[serde(default)]
    pub filters_for_any_party: Option<Filters>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbose: bool,
}

/// The union of its filters; an empty list is a party-wildcard without blobs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, deserialize_with = "null_as_default")]
    pub cumulative: Vec<CumulativeFilter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CumulativeFilter {
    #[serde(default)]
    pub identifier_filter: IdentifierFilter,
}

impl CumulativeFilter {
    pub fn wildcard(include_created_event_blob: bool) -> Self {
        IdentifierFilter::WildcardFilter(Wrapped {
            value: WildcardFilter {
                include_created_event_blob,
            },
        })
        .into()
    }

    pub fn template(template_id: impl Into<String>, include_created_event_blob: bool) -> Self {
        IdentifierFilter::TemplateFilter(Wrapped {
            value: TemplateFilter {
                template_id: template_id.into(),
                include_created_event_blob,
            },
        })
        .into()
    }

    pub fn interface(
        interface_id: impl Into<String>,
        include_interface_view: bool,
        include_created_event_blob: bool,
    ) -> Self {
        IdentifierFilter::InterfaceFilter(Wrapped {
            value: InterfaceFilter {
                interface_id: interface_id.into(),
                include_interface_view,
                include_created_event_blob,
            },
        })
        .into()
    }
}

impl From<IdentifierFilter> for CumulativeFilter {
    fn from(identifier_filter: IdentifierFilter) -> Self {
        CumulativeFilter { identifier_filter }
    }
}

/// Each case carries the `{"value": …}` wrapper except `Empty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IdentifierFilter {
    Empty(Empty),
    WildcardFilter(Wrapped<WildcardFilter>),
    TemplateFilter(Wrapped<TemplateFilter>),
    InterfaceFilter(Wrapped<InterfaceFilter>),
}

impl Default for IdentifierFilter {
    fn default() -> Self {
        IdentifierFilter::Empty(Empty {})
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WildcardFilter {
    #[serde(default, deserialize_with = "null_as_default")]
    pub include_created_event_blob: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFilter {
    #[serde(default, deserialize_with = "null_as_default")]
    pub template_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub include_created_event_blob: bool,
}

/// Matches every template implementing the interface; with `includeInterfaceView` the events
/// carry the interface view (how the token standard's `Holding` etc. are read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceFilter {
    #[serde(default, deserialize_with = "null_as_default")]
    pub interface_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub include_interface_view: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub include_created_event_blob: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyFormat {
    #[serde(default)]
    pub include_participant_authorization_events: Option<ParticipantAuthorizationTopologyFormat>,
}

/// An empty party list means every party.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParticipantAuthorizationTopologyFormat {
    #[serde(default, deserialize_with = "null_as_default")]
    pub parties: Vec<String>,
}

/// The legacy filter of `GetUpdatesRequest.filter` / `GetActiveContractsRequest.filter`; kept so
/// that requests from older clients parse. Send an `UpdateFormat`/`EventFormat` instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionFilter {
    #[serde(default, deserialize_with = "null_as_default")]
    pub filters_by_party: BTreeMap<String, Filters>,
    #[serde(default)]
    pub filters_for_any_party: Option<Filters>,
}
