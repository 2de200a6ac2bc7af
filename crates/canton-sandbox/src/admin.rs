//! The Admin API (gRPC over h2c): `PartyManagementService.GetHighestOffsetByTimestamp`, the only
//! Admin call the integration guide's recovery needs. The semantics are the pure function
//! [`highest_offset_by_timestamp`]; [`router`] serves it with the generated tonic service
//! (errors as gRPC statuses with a Canton-style message), every other method `UNIMPLEMENTED`.

use axum::Router;
use canton_ledger::ErrorCategory;
use canton_ledger::admin::grpc::party_management_service_server::{
    PartyManagementService, PartyManagementServiceServer,
};
use canton_ledger::admin::{
    GetHighestOffsetByTimestampRequest, GetHighestOffsetByTimestampResponse,
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

/// The Admin API's routes: gRPC, for an HTTP/2 server.
pub fn router(state: AppState) -> Router {
    Router::new().fallback_service(PartyManagementServiceServer::new(Admin(state)))
}

struct Admin(AppState);

#[tonic::async_trait]
impl PartyManagementService for Admin {
    async fn get_highest_offset_by_timestamp(
        &self,
        request: tonic::Request<GetHighestOffsetByTimestampRequest>,
    ) -> Result<tonic::Response<GetHighestOffsetByTimestampResponse>, tonic::Status> {
        let answer = highest_offset_by_timestamp(&self.0.read().ledger, request.get_ref());
        match answer {
            Ok(ledger_offset) => Ok(tonic::Response::new(GetHighestOffsetByTimestampResponse {
                ledger_offset,
            })),
            Err(e) => Err(tonic::Status::new(
                tonic::Code::from_i32(e.category.grpc_code()),
                e.grpc_message(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use canton_ledger::admin::ProtoTimestamp;

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
