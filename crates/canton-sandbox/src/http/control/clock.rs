//! `/sandbox/control/{advance-time,time}`: the synchronizers' clocks (record time), the global
//! synchronizer's unless a request names another.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use exchange_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::model::SyncIdx;
use crate::world::World;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/advance-time", post(advance_time))
        .route("/time", get(time))
}

/// Either `micros` to move forward by, or `to` (a later instant).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceTimeRequest {
    #[serde(default)]
    pub micros: Option<i64>,
    #[serde(default)]
    pub to: Option<Timestamp>,
    /// Whose clock: a connected synchronizer's id or alias; the global one if absent. The
    /// others stand still.
    #[serde(default)]
    pub synchronizer: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeResponse {
    pub record_time: Timestamp,
    pub synchronizer_id: String,
}

impl TimeResponse {
    fn of(w: &World, sync: SyncIdx) -> TimeResponse {
        TimeResponse {
            record_time: w.ledger.record_time_of(sync),
            synchronizer_id: w.ledger.synchronizer(sync).id.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TimeQuery {
    /// A connected synchronizer's id or alias; the global one if absent.
    pub synchronizer: Option<String>,
}

/// The synchronizer a control request names (id or alias), the global one by default.
fn named_synchronizer(w: &World, name: Option<&str>) -> Result<SyncIdx, ApiError> {
    match name {
        None => Ok(0),
        Some(name) => w.ledger.synchronizer_by_name(name).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "synchronizer {name:?} is not a synchronizer this participant is connected to"
            ))
        }),
    }
}

async fn advance_time(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<TimeResponse>, ApiError> {
    let request: AdvanceTimeRequest = decode(&body)?;
    s.change(|w| {
        let sync = named_synchronizer(w, request.synchronizer.as_deref())?;
        match (request.micros, request.to) {
            (Some(micros), None) if micros > 0 => w.ledger.advance_time_of(sync, micros)?,
            (None, Some(to)) => w.ledger.set_time_of(sync, to)?,
            _ => {
                return Err(ApiError::invalid_argument(
                    "give either a positive `micros` or a later `to`",
                ));
            }
        };
        Ok(Json(TimeResponse::of(w, sync)))
    })
}

async fn time(
    State(s): State<AppState>,
    Query(query): Query<TimeQuery>,
) -> Result<Json<TimeResponse>, ApiError> {
    let w = s.read();
    let sync = named_synchronizer(&w, query.synchronizer.as_deref())?;
    Ok(Json(TimeResponse::of(&w, sync)))
}
