//! Reading updates: the list endpoint `POST /v2/updates`, the point lookups, and the cursor they
//! share with the websocket (`ledger-api.md` §2.1–2.8).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use canton_ledger::filters::{EventFormat, TransactionFormat, TransactionShape, UpdateFormat};
use canton_ledger::updates::{GetUpdateByIdRequest, GetUpdateByOffsetRequest};
use canton_ledger::{
    GetUpdatesRequest, JsGetUpdatesResponse, OffsetCheckpoint, SynchronizerTime, Update, Wrapped,
};
use exchange_core::Timestamp;
use serde::Deserialize;

use crate::http::error::{ApiError, decode};
use crate::http::{AppState, DEFAULT_IDLE_MS, MAX_LIST_ELEMENTS};
use crate::model::CommittedTx;
use crate::model::filter::ResolvedFilter;
use crate::model::projection::{project_transaction, project_with};
use crate::model::render::write_transaction_update;
use crate::world::World;

/// A validated `GetUpdatesRequest`.
#[derive(Debug, Clone)]
pub struct UpdatesQuery {
    pub begin_exclusive: i64,
    pub end_inclusive: Option<i64>,
    /// `None`: transactions are not streamed (only checkpoints).
    pub transactions: Option<TransactionFormat>,
}

impl UpdatesQuery {
    pub fn validate(request: GetUpdatesRequest, world: &World) -> Result<UpdatesQuery, ApiError> {
        let ledger = &world.ledger;
        let ledger_end = ledger.ledger_end();
        if request.begin_exclusive < 0 {
            return Err(ApiError::invalid_argument(
                "begin_exclusive must be a non-negative integer",
            ));
        }
        if request.begin_exclusive < ledger.pruned_up_to() {
            return Err(ApiError::pruned_data_accessed(
                request.begin_exclusive,
                ledger.pruned_up_to(),
            ));
        }
        if request.begin_exclusive > ledger_end {
            return Err(ApiError::offset_after_ledger_end(
                "Begin",
                request.begin_exclusive,
                ledger_end,
            ));
        }
        if let Some(end) = request.end_inclusive {
            if end > ledger_end {
                return Err(ApiError::offset_after_ledger_end("End", end, ledger_end));
            }
            if end < request.begin_exclusive {
                return Err(ApiError::invalid_argument(format!(
                    "begin_exclusive ({}) is after end_inclusive ({end})",
                    request.begin_exclusive
                )));
            }
        }
        let transactions = transaction_format(
            request.update_format,
            request.filter.map(|f| EventFormat {
                filters_by_party: f.filters_by_party,
                filters_for_any_party: f.filters_for_any_party,
                verbose: request.verbose,
            }),
        )?;
        if let Some(format) = transactions.as_ref().and_then(|t| t.event_format.as_ref()) {
            check_filter_packages(world, format)?;
        }
        Ok(UpdatesQuery {
            begin_exclusive: request.begin_exclusive,
            end_inclusive: request.end_inclusive,
            transactions,
        })
    }
}

/// The token standard V2 interface packages (CIP-0112), which a node of a Splice release before
/// 0.6.11 (the sandbox's `legacy` release) does not have.
const V2_PACKAGE_NAMES: [&str; 4] = [
    "splice-api-token-holding-v2",
    "splice-api-token-transfer-events-v2",
    "splice-api-token-transfer-instruction-v2",
    "splice-api-token-allocation-v2",
];

/// A filter naming (`#name:…`) a package the node does not have is refused as a participant
/// refuses it (`PACKAGE_NAMES_NOT_FOUND`, 404), naming the unknown package names.
fn check_filter_packages(world: &World, format: &EventFormat) -> Result<(), ApiError> {
    if world.has_v2_packages() {
        return Ok(());
    }
    let filters = format
        .filters_by_party
        .values()
        .chain(format.filters_for_any_party.as_ref());
    let mut unknown: Vec<&str> = filters
        .flat_map(|f| &f.cumulative)
        .filter_map(|c| match &c.identifier_filter {
            canton_ledger::IdentifierFilter::InterfaceFilter(i) => {
                i.value.interface_id.strip_prefix('#')
            }
            canton_ledger::IdentifierFilter::TemplateFilter(t) => {
                t.value.template_id.strip_prefix('#')
            }
            _ => None,
        })
        .filter_map(|id| id.split(':').next())
        .filter(|name| V2_PACKAGE_NAMES.contains(name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    unknown.dedup();
    Err(ApiError::canton(
        "PACKAGE_NAMES_NOT_FOUND",
        canton_ledger::ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
        format!(
            "The following package names do not match upgradable packages uploaded on this \
             participant: [{}].",
            unknown.join(", ")
        ),
        vec![],
    ))
}

/// `updateFormat`, or the legacy `filter` read as LEDGER_EFFECTS (the 3.4 line's mapping).
fn transaction_format(
    update_format: Option<UpdateFormat>,
    legacy: Option<EventFormat>,
) -> Result<Option<TransactionFormat>, ApiError> {
    match (update_format, legacy) {
        (Some(_), Some(_)) => Err(ApiError::invalid_argument(
            "Both filter/verbose and update_format is specified",
        )),
        (None, None) => Err(ApiError::invalid_argument(
            "Either filter/verbose or update_format is required",
        )),
        (Some(f), None) => Ok(f.include_transactions),
        (None, Some(event_format)) => Ok(Some(TransactionFormat {
            event_format: Some(event_format),
            transaction_shape: TransactionShape::LedgerEffects,
        })),
    }
}

/// Where a stream stands. Invisible transactions still move it forward.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub position: i64,
    /// (offset, each synchronizer's record time) of the last checkpoint sent, to send a new one
    /// only on progress.
    last_checkpoint: Option<(i64, Vec<Timestamp>)>,
}

impl Cursor {
    pub fn new(begin_exclusive: i64) -> Cursor {
        Cursor {
            position: begin_exclusive,
            last_checkpoint: None,
        }
    }

    /// Up to `max` visible updates after the cursor, advancing it past what was read.
    pub fn read(
        &mut self,
        world: &World,
        query: &UpdatesQuery,
        max: usize,
    ) -> Vec<JsGetUpdatesResponse> {
        let table = world.ledger.symbols();
        let mut out = Vec::new();
        self.scan(world, query, max, |tx, format, filter| {
            let sync = world.ledger.synchronizer_of(tx);
            let t = project_with(tx, format, sync, filter, &table)?;
            out.push(JsGetUpdatesResponse {
                update: Update::Transaction(Wrapped { value: t }),
            });
            Some(())
        });
        out
    }

    /// [`Cursor::read`] written straight into a JSON array under construction: appends up to
    /// `max` elements to `out`, each after a comma unless `written` (the elements already in
    /// it) is 0, and returns how many it appended.
    pub fn write(
        &mut self,
        world: &World,
        query: &UpdatesQuery,
        max: usize,
        written: usize,
        out: &mut String,
    ) -> usize {
        let table = world.ledger.symbols();
        let mut count = 0;
        self.scan(world, query, max, |tx, format, filter| {
            let mark = out.len();
            if written + count > 0 {
                out.push(',');
            }
            let sync = world.ledger.synchronizer_of(tx);
            if !write_transaction_update(out, tx, format, sync, filter, &table) {
                out.truncate(mark);
                return None;
            }
            if count == 0 {
                // One allocation for the page: the rest are about as large as the first.
                out.reserve((out.len() - mark) * (max - 1) * 9 / 8);
            }
            count += 1;
            Some(())
        });
        count
    }

    /// Walks the updates after the cursor, advancing it, until `emit` has accepted `max`
    /// (`emit` answers `None` for a transaction the reader does not see).
    fn scan(
        &mut self,
        world: &World,
        query: &UpdatesQuery,
        max: usize,
        mut emit: impl FnMut(&CommittedTx, &TransactionFormat, &ResolvedFilter) -> Option<()>,
    ) {
        let end = query
            .end_inclusive
            .unwrap_or(i64::MAX)
            .min(world.ledger.ledger_end());
        let filter = query.transactions.as_ref().map(|format| {
            let default_format = EventFormat::default();
            let event_format = format.event_format.as_ref().unwrap_or(&default_format);
            // Only `filtersForAnyParty` needs the hosted parties.
            if event_format.filters_for_any_party.is_some() {
                let hosted = world.hosted_parties();
                ResolvedFilter::new(event_format, hosted.iter().map(String::as_str))
            } else {
                ResolvedFilter::new(event_format, std::iter::empty())
            }
        });
        let mut emitted = 0;
        for tx in world.ledger.updates_between(self.position, end) {
            if emitted >= max {
                break;
            }
            self.position = tx.offset;
            let (Some(format), Some(filter)) = (&query.transactions, &filter) else {
                continue;
            };
            if emit(tx, format, filter).is_some() {
                emitted += 1;
            }
        }
    }

    pub fn is_complete(&self, query: &UpdatesQuery) -> bool {
        query.end_inclusive.is_some_and(|end| self.position >= end)
    }

    /// A checkpoint at the ledger end once the cursor is there, if the offset or a
    /// synchronizer's time moved since the last one (open-ended streams only). It carries one
    /// time per connected synchronizer, as a node's checkpoints do: each is the latest record
    /// time of that synchronizer, and every update of it up to that time is at or before the
    /// checkpoint's offset.
    pub fn checkpoint(&mut self, world: &World) -> Option<JsGetUpdatesResponse> {
        let end = world.ledger.ledger_end();
        if self.position < end || self.position == 0 {
            return None;
        }
        let synchronizers = world.ledger.synchronizers();
        let times: Vec<Timestamp> = synchronizers.iter().map(|s| s.record_time()).collect();
        if self
            .last_checkpoint
            .as_ref()
            .is_some_and(|(offset, before)| *offset == end && *before == times)
        {
            return None;
        }
        let synchronizer_times = synchronizers
            .iter()
            .zip(&times)
            .map(|(s, time)| SynchronizerTime {
                synchronizer_id: s.id.clone(),
                record_time: time.to_string(),
            })
            .collect();
        self.last_checkpoint = Some((end, times));
        Some(JsGetUpdatesResponse {
            update: Update::OffsetCheckpoint(Wrapped {
                value: OffsetCheckpoint {
                    offset: end,
                    synchronizer_times,
                },
            }),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub stream_idle_timeout_ms: Option<u64>,
}

/// `POST /v2/updates`: collects at most `min(limit, 201)` elements; more than 200 → 413.
/// Open-ended (or with `stream_idle_timeout_ms`) it waits for new updates until idle. The page
/// is written straight into the response body ([`crate::model::render`]).
pub async fn post_updates(
    State(s): State<AppState>,
    Query(params): Query<ListParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: GetUpdatesRequest = decode(&body)?;
    let query = UpdatesQuery::validate(request, &s.read())?;
    let cap = params
        .limit
        .unwrap_or(MAX_LIST_ELEMENTS + 1)
        .min(MAX_LIST_ELEMENTS + 1);
    let idle = (query.end_inclusive.is_none() || params.stream_idle_timeout_ms.is_some())
        .then(|| Duration::from_millis(params.stream_idle_timeout_ms.unwrap_or(DEFAULT_IDLE_MS)));
    let mut cursor = Cursor::new(query.begin_exclusive);
    let incarnation = s.read().ledger.incarnation();
    let mut page = String::from("[");
    let mut count = 0;
    loop {
        // Subscribe before reading so a change between the read and the wait is not missed.
        let mut changes = s.subscribe();
        {
            let world = s.read();
            if world.ledger.incarnation() != incarnation {
                return Err(ApiError::node_restarted());
            }
            count += cursor.write(&world, &query, cap - count, count, &mut page);
            if count < cap
                && query.end_inclusive.is_none()
                && let Some(checkpoint) = cursor.checkpoint(&world)
            {
                if count > 0 {
                    page.push(',');
                }
                page.push_str(&serde_json::to_string(&checkpoint).unwrap_or_default());
                count += 1;
            }
        }
        if count >= cap || cursor.is_complete(&query) {
            break;
        }
        let Some(idle) = idle else { break };
        if tokio::time::timeout(idle, changes.changed()).await.is_err() {
            break;
        }
    }
    if count > MAX_LIST_ELEMENTS {
        return Err(ApiError::too_many_elements(MAX_LIST_ELEMENTS));
    }
    page.push(']');
    Ok(([(header::CONTENT_TYPE, "application/json")], page).into_response())
}

fn required_transactions(format: Option<UpdateFormat>) -> Result<TransactionFormat, ApiError> {
    format
        .ok_or_else(|| ApiError::invalid_argument("update_format is required"))?
        .include_transactions
        .ok_or_else(|| ApiError::invalid_argument("update_format.include_transactions is required"))
}

pub async fn update_by_offset(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<JsGetUpdatesResponse>, ApiError> {
    let request: GetUpdateByOffsetRequest = decode(&body)?;
    let format = required_transactions(request.update_format)?;
    let world = s.read();
    let tx = world.ledger.update_at(request.offset);
    transaction_update(&world, tx, &format, || request.offset.to_string())
}

pub async fn update_by_id(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<JsGetUpdatesResponse>, ApiError> {
    let request: GetUpdateByIdRequest = decode(&body)?;
    let format = required_transactions(request.update_format)?;
    let world = s.read();
    let tx = world.ledger.update_by_id(&request.update_id);
    transaction_update(&world, tx, &format, || request.update_id.clone())
}

/// The answer of a point lookup: `tx` as `format` shows it, or "not found" (naming what was
/// asked for) when there is no such update or the format shows nothing of it.
fn transaction_update(
    world: &World,
    tx: Option<&CommittedTx>,
    format: &TransactionFormat,
    asked_for: impl FnOnce() -> String,
) -> Result<Json<JsGetUpdatesResponse>, ApiError> {
    tx.and_then(|tx| {
        project_transaction(
            tx,
            format,
            world.ledger.synchronizer_of(tx),
            &world.hosted_parties(),
            &world.ledger.symbols(),
        )
    })
    .map(|t| {
        Json(JsGetUpdatesResponse {
            update: Update::Transaction(Wrapped { value: t }),
        })
    })
    .ok_or_else(|| ApiError::update_not_found(asked_for()))
}
