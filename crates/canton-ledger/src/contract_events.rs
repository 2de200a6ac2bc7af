//! `POST /v2/events/events-by-contract-id`: a contract's create and (if any) archive, in the
//! `ACS_DELTA` shape. How a reader fetches a contract it saw consumed but never saw created.

use serde::{Deserialize, Serialize};

use crate::events::{ArchivedEvent, CreatedEvent};
use crate::filters::EventFormat;
use crate::serde_util::null_as_default;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetEventsByContractIdRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub contract_id: String,
    #[serde(default)]
    pub event_format: Option<EventFormat>,
}

/// 404 `CONTRACT_EVENTS_NOT_FOUND` rather than both members absent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsGetEventsByContractIdResponse {
    #[serde(default)]
    pub created: Option<JsCreated>,
    #[serde(default)]
    pub archived: Option<JsArchived>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsCreated {
    pub created_event: CreatedEvent,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsArchived {
    pub archived_event: ArchivedEvent,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
}
