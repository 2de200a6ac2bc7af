//! The state service: ledger end, active contracts, connected synchronizers, pruning bounds
//! (`ledger-api.md` §3). What a reader needs to start, or restart, from a snapshot.

use serde::{Deserialize, Serialize};

use crate::events::CreatedEvent;
use crate::filters::{EventFormat, TransactionFilter};
use crate::reassignments::{JsAssignedEvent, UnassignedEvent};
use crate::serde_util::{Empty, int, int_or_default, null_as_default};
use crate::topology::ParticipantPermission;

/// `GET /v2/state/ledger-end`; 0 = empty ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetLedgerEndResponse {
    #[serde(deserialize_with = "int")]
    pub offset: i64,
}

/// Body of `POST /v2/state/active-contracts` (and its websocket's first frame).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetActiveContractsRequest {
    /// Legacy; left out when unset (mutually exclusive with `eventFormat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<TransactionFilter>,
    /// Legacy companion of `filter`; `false` is "unset".
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbose: bool,
    /// Must be <= ledger end; 0 gives the empty set.
    #[serde(default, deserialize_with = "int_or_default")]
    pub active_at_offset: i64,
    #[serde(default)]
    pub event_format: Option<EventFormat>,
}

/// One element of the ACS answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsGetActiveContractsResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub workflow_id: String,
    pub contract_entry: JsContractEntry,
}

/// No `value` wrapper on any case (`ledger-api.md` §1.1).
#[allow(clippy::large_enum_variant)] // active contracts are nearly every entry
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum JsContractEntry {
    JsActiveContract(JsActiveContract),
    /// Being reassigned to this synchronizer: assigned, but the unassignment is not seen yet.
    JsIncompleteAssigned(JsIncompleteAssigned),
    /// Being reassigned away: unassigned, not yet assigned.
    JsIncompleteUnassigned(JsIncompleteUnassigned),
    JsEmpty(Empty),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsActiveContract {
    pub created_event: CreatedEvent,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    #[serde(default, deserialize_with = "int_or_default")]
    pub reassignment_counter: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsIncompleteAssigned {
    pub assigned_event: JsAssignedEvent,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsIncompleteUnassigned {
    pub created_event: CreatedEvent,
    pub unassigned_event: UnassignedEvent,
}

/// `GET /v2/state/connected-synchronizers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConnectedSynchronizersResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub connected_synchronizers: Vec<ConnectedSynchronizer>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedSynchronizer {
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_alias: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    /// `UNSPECIFIED` unless the request named a party.
    #[serde(default, deserialize_with = "null_as_default")]
    pub permission: ParticipantPermission,
}

/// `GET /v2/state/latest-pruned-offsets`: reading from below these fails with
/// `PARTICIPANT_PRUNED_DATA_ACCESSED`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLatestPrunedOffsetsResponse {
    #[serde(default, deserialize_with = "int_or_default")]
    pub participant_pruned_up_to_inclusive: i64,
    #[serde(default, deserialize_with = "int_or_default")]
    pub all_divulged_contracts_pruned_up_to_inclusive: i64,
}
