//! Errors as `application/problem+json` (RFC 9457), each with a stable `code` the exchange's
//! systems can branch on (the `title` and `detail` are for people and may change).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use exchange_services::withdrawal_request::{InvalidInput, RequestError};
use exchange_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:canton-exchange:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    pub detail: String,
    /// Stable: e.g. `insufficient-funds`, `withdrawals-disabled`, `idempotency-key-reused`.
    pub code: String,
    /// The request field at fault, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:canton-exchange:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            field: None,
        }
    }

    pub fn at(mut self, field: &str) -> Problem {
        self.field = Some(field.to_owned());
        self
    }

    pub fn unauthorized(detail: &str) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(role: Role) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the {} role may not do this", role.as_str()),
        )
    }

    /// A field that fails validation (well-formed JSON, wrong content).
    pub fn invalid(field: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", detail).at(field)
    }

    pub fn not_found(code: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, code, detail)
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Problem {
        use StoreError as E;
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match error {
            E::WithdrawalsDisabled { reason } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "withdrawals-disabled",
                format!("withdrawals are disabled: {reason}"),
            ),
            e @ E::InsufficientFunds { .. } => {
                Problem::new(unprocessable, "insufficient-funds", e.to_string())
            }
            e @ E::NoSpendableHoldings(_) => {
                Problem::new(StatusCode::CONFLICT, "no-spendable-holdings", e.to_string())
            }
            e @ E::UnknownInstrument(_) => {
                Problem::new(unprocessable, "unknown-instrument", e.to_string())
            }
            E::IdempotencyKeyReused(why) => {
                Problem::new(StatusCode::CONFLICT, "idempotency-key-reused", why)
            }
            E::NotFound(what) => Problem::not_found("not-found", format!("unknown {what}")),
            e @ E::UnknownWithdrawal(_) => {
                Problem::not_found("withdrawal-not-found", e.to_string())
            }
            E::Conflict(why) => Problem::new(StatusCode::CONFLICT, "conflict", why),
            E::Invalid(why) => Problem::new(unprocessable, "invalid-request", why),
            e @ E::Unreachable(_) => unavailable(&e),
            e @ E::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => unavailable(&e),
            e if e.is_transient() => unavailable(&e),
            other => internal(&other),
        }
    }
}

/// The DB cannot be reached: try later. The detail stays generic (URLs may hold secrets);
/// the log has the cause.
fn unavailable(error: &StoreError) -> Problem {
    tracing::warn!("api: database unavailable: {error}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
        "the Integration DB is unavailable; try again",
    )
}

/// Anything else: logged in full, answered without internals.
pub fn internal(error: &dyn std::fmt::Display) -> Problem {
    tracing::error!("api: internal error: {error}");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error (logged)",
    )
}

impl From<InvalidInput> for Problem {
    fn from(e: InvalidInput) -> Problem {
        let field = e.field.api_name();
        if field == "Idempotency-Key" {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-idempotency-key",
                e.to_string(),
            )
            .at(field);
        }
        Problem::invalid(field, e.to_string())
    }
}

impl From<RequestError> for Problem {
    fn from(error: RequestError) -> Problem {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match error {
            RequestError::Invalid(e) => e.into(),
            e @ RequestError::UnknownInstrument { .. } => {
                Problem::new(unprocessable, "unknown-instrument", e.to_string()).at("instrumentId")
            }
            e @ RequestError::AmbiguousInstrument { .. } => {
                Problem::new(unprocessable, "ambiguous-instrument", e.to_string())
                    .at("instrumentAdmin")
            }
            e @ RequestError::NoTreasuryParty => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "treasury-party-unknown",
                e.to_string(),
            ),
            RequestError::Store(StoreError::NotFound(what)) => Problem::new(
                unprocessable,
                "account-not-found",
                format!("unknown {what}"),
            )
            .at("account"),
            RequestError::Store(e) => e.into(),
            e @ RequestError::Id(_) => internal(&e),
        }
    }
}
