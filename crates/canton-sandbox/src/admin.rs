//! The Admin API (gRPC over h2c): `PartyManagementService.GetHighestOffsetByTimestamp`, the only
//! Admin call the integration guide's recovery needs. The semantics are the pure function
//! [`highest_offset_by_timestamp`]; [`router`] frames it as gRPC (unary, uncompressed, errors as
//! Trailers-Only responses with `grpc-status` and a Canton-style `grpc-message`).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use axum::routing::post;
use canton_ledger::ErrorCategory;
use canton_ledger::admin::{
    GET_HIGHEST_OFFSET_BY_TIMESTAMP_PATH, GetHighestOffsetByTimestampRequest,
    GetHighestOffsetByTimestampResponse, decode_frame, encode_frame,
};
use exchange_core::Timestamp;

use crate::http::AppState;
use crate::model::Ledger;

/// A Canton error as the Admin API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub code: &'static str,
    pub category: ErrorCategory,
    pub cause: String,
}

impl AdminError {
    fn invalid_argument(cause: impl Into<String>) -> AdminError {
        AdminError {
            code: "INVALID_ARGUMENT_PARTY_MANAGEMENT_ERROR",
            category: ErrorCategory::InvalidIndependentOfSystemState,
            cause: cause.into(),
        }
    }

    fn invalid_timestamp(cause: impl Into<String>) -> AdminError {
        AdminError {
            code: "INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR",
            category: ErrorCategory::InvalidGivenCurrentSystemStateSeekAfterEnd,
            cause: cause.into(),
        }
    }

    /// Canton's `grpc-message`: `CODE(category,correlation-id-prefix): cause`.
    pub fn grpc_message(&self) -> String {
        format!(
            "{}({},00000000): {}",
            self.code,
            self.category.code(),
            self.cause
        )
    }
}

/// 3.4 semantics (`ledger-api.md` §6): the highest offset of the given synchronizer's updates with
/// record time `<= timestamp`. Without `force`, a timestamp after the clean synchronizer time (the
/// latest time the node has fully processed) is refused as "not caught up"; with `force` such a
/// timestamp answers the ledger end. No update at or before the timestamp is refused too.
pub fn highest_offset_by_timestamp(
    ledger: &Ledger,
    request: &GetHighestOffsetByTimestampRequest,
) -> Result<i64, AdminError> {
    if request.synchronizer_id.is_empty() {
        return Err(AdminError::invalid_argument(
            "The synchronizer id is missing",
        ));
    }
    let Some(synchronizer) = ledger.synchronizer_index(&request.synchronizer_id) else {
        return Err(AdminError::invalid_argument(format!(
            "Unknown synchronizer id {}",
            request.synchronizer_id
        )));
    };
    let timestamp = request
        .timestamp
        .and_then(|t| t.to_micros())
        .and_then(Timestamp::from_micros)
        .ok_or_else(|| AdminError::invalid_argument("The timestamp is missing or invalid"))?;
    // The clean time is that synchronizer's own: another's says nothing about it.
    let clean = ledger.record_time_of(synchronizer);
    if timestamp > clean {
        if request.force {
            return Ok(ledger.ledger_end());
        }
        return Err(AdminError::invalid_timestamp(format!(
            "Not all updates up to {timestamp} have been processed yet (clean synchronizer time is {clean}); retry later"
        )));
    }
    ledger
        .highest_offset_at_or_before_on(synchronizer, timestamp)
        .ok_or_else(|| {
            AdminError::invalid_timestamp(format!(
                "No ledger offset found at or before {timestamp} on synchronizer {}",
                request.synchronizer_id
            ))
        })
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            GET_HIGHEST_OFFSET_BY_TIMESTAMP_PATH,
            post(get_highest_offset),
        )
        .with_state(state)
}

async fn get_highest_offset(State(s): State<AppState>, body: Bytes) -> Response<Body> {
    let request = match decode_frame::<GetHighestOffsetByTimestampRequest>(&body) {
        Ok(r) => r,
        Err(e) => return trailers_only(grpc_code::INTERNAL, &e.to_string()),
    };
    let answer = highest_offset_by_timestamp(&s.read().ledger, &request);
    match answer {
        Ok(ledger_offset) => {
            let frame = encode_frame(&GetHighestOffsetByTimestampResponse { ledger_offset });
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", HeaderValue::from_static("0"));
            grpc_response(Body::new(UnaryBody {
                data: Some(Bytes::from(frame)),
                trailers: Some(trailers),
            }))
        }
        Err(e) => trailers_only(e.category.grpc_code(), &e.grpc_message()),
    }
}

mod grpc_code {
    pub const INTERNAL: i32 = 13;
}

fn grpc_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    response
}

/// An error: status and message in the headers, no body, no trailers.
fn trailers_only(code: i32, message: &str) -> Response<Body> {
    let mut response = grpc_response(Body::empty());
    let headers = response.headers_mut();
    headers.insert("grpc-status", HeaderValue::from(code));
    if let Ok(v) = HeaderValue::from_str(&percent_encode(message)) {
        headers.insert("grpc-message", v);
    }
    response
}

/// gRPC's `grpc-message` encoding: printable ASCII except `%` as is, everything else `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One data frame, then the trailers: what a unary gRPC answer is on the wire.
struct UnaryBody {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for UnaryBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(data))));
        }
        Poll::Ready(
            this.trailers
                .take()
                .map(|t| Ok(http_body::Frame::trailers(t))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use canton_ledger::admin::ProtoTimestamp;

    #[test]
    fn messages_are_percent_encoded() {
        assert_eq!(percent_encode("a%b é"), "a%25b %C3%A9");
    }

    #[test]
    fn unknown_synchronizer_and_missing_timestamp_are_invalid_arguments() {
        let ledger = Ledger::new(Default::default());
        let mut r = GetHighestOffsetByTimestampRequest {
            synchronizer_id: "other::1220".into(),
            timestamp: Some(ProtoTimestamp::from_micros(0)),
            force: false,
        };
        let e = highest_offset_by_timestamp(&ledger, &r).unwrap_err();
        assert_eq!(e.code, "INVALID_ARGUMENT_PARTY_MANAGEMENT_ERROR");
        r.synchronizer_id = ledger.synchronizer_id().to_owned();
        r.timestamp = None;
        assert!(highest_offset_by_timestamp(&ledger, &r).is_err());
    }
}
