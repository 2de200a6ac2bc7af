//! `JsCantonError`, the body of every non-2xx JSON answer and of websocket error frames, and the
//! mapping error category → gRPC code → HTTP status (`ledger-api.md` §1.8). Clients decide on
//! retries from the category; the sandbox uses the mapping to answer with the right status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::{int_or_default, null_as_default, opt_int};

/// A Canton error as the JSON API renders it. Field order is the 3.4 server's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsCantonError {
    /// The Canton error id, e.g. `CONTRACT_NOT_FOUND`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cause: String,
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Values are strings even for numbers and booleans (`"category": "11"`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub context: BTreeMap<String, String>,
    /// `[["CONTRACT_ID", "00…"], …]`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: Vec<(String, String)>,
    /// An [`ErrorCategory`] code; -1 for errors that did not come from Canton.
    #[serde(default, deserialize_with = "int_or_default")]
    pub error_category: i32,
    #[serde(default, deserialize_with = "opt_int")]
    pub grpc_code_value: Option<i32>,
    /// A Scala duration text, e.g. `"1 second"`.
    #[serde(default)]
    pub retry_info: Option<String>,
    #[serde(default)]
    pub definite_answer: Option<bool>,
}

/// The error id of a list call that collected more than `http-list-max-elements-limit` elements.
pub const MAXIMUM_LIST_ELEMENTS_REACHED: &str = "JSON_API_MAXIMUM_LIST_ELEMENTS_NUMBER_REACHED";

impl JsCantonError {
    pub fn category(&self) -> Option<ErrorCategory> {
        ErrorCategory::from_code(self.error_category)
    }

    /// The HTTP status the JSON API answers this error with.
    pub fn http_status(&self) -> u16 {
        if self.code == MAXIMUM_LIST_ELEMENTS_REACHED {
            return 413;
        }
        match (self.grpc_code_value, self.category()) {
            (Some(grpc), _) => http_status_for_grpc(grpc),
            (None, Some(category)) => category.http_status(),
            (None, None) => 500,
        }
    }

    /// Whether retrying the same request may succeed (the category says so; unknown → no).
    pub fn is_retryable(&self) -> bool {
        self.category().is_some_and(ErrorCategory::is_retryable)
    }
}

/// Canton's error categories (`ErrorCategory.scala`), by their numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    TransientServerFailure = 1,
    ContentionOnSharedResources = 2,
    DeadlineExceededRequestStateUnknown = 3,
    SystemInternalAssumptionViolated = 4,
    SecurityAlert = 5,
    AuthInterceptorInvalidAuthenticationCredentials = 6,
    InsufficientPermission = 7,
    InvalidIndependentOfSystemState = 8,
    InvalidGivenCurrentSystemStateOther = 9,
    InvalidGivenCurrentSystemStateResourceExists = 10,
    InvalidGivenCurrentSystemStateResourceMissing = 11,
    InvalidGivenCurrentSystemStateSeekAfterEnd = 12,
    InternalUnsupportedOperation = 14,
}

impl ErrorCategory {
    pub const ALL: [ErrorCategory; 13] = [
        ErrorCategory::TransientServerFailure,
        ErrorCategory::ContentionOnSharedResources,
        ErrorCategory::DeadlineExceededRequestStateUnknown,
        ErrorCategory::SystemInternalAssumptionViolated,
        ErrorCategory::SecurityAlert,
        ErrorCategory::AuthInterceptorInvalidAuthenticationCredentials,
        ErrorCategory::InsufficientPermission,
        ErrorCategory::InvalidIndependentOfSystemState,
        ErrorCategory::InvalidGivenCurrentSystemStateOther,
        ErrorCategory::InvalidGivenCurrentSystemStateResourceExists,
        ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
        ErrorCategory::InvalidGivenCurrentSystemStateSeekAfterEnd,
        ErrorCategory::InternalUnsupportedOperation,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<ErrorCategory> {
        ErrorCategory::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The gRPC status code errors of this category carry.
    pub fn grpc_code(self) -> i32 {
        use ErrorCategory::*;
        match self {
            TransientServerFailure => grpc::UNAVAILABLE,
            ContentionOnSharedResources => grpc::ABORTED,
            DeadlineExceededRequestStateUnknown => grpc::DEADLINE_EXCEEDED,
            SystemInternalAssumptionViolated => grpc::INTERNAL,
            SecurityAlert => grpc::INVALID_ARGUMENT,
            AuthInterceptorInvalidAuthenticationCredentials => grpc::UNAUTHENTICATED,
            InsufficientPermission => grpc::PERMISSION_DENIED,
            InvalidIndependentOfSystemState => grpc::INVALID_ARGUMENT,
            InvalidGivenCurrentSystemStateOther => grpc::FAILED_PRECONDITION,
            InvalidGivenCurrentSystemStateResourceExists => grpc::ALREADY_EXISTS,
            InvalidGivenCurrentSystemStateResourceMissing => grpc::NOT_FOUND,
            InvalidGivenCurrentSystemStateSeekAfterEnd => grpc::OUT_OF_RANGE,
            InternalUnsupportedOperation => grpc::UNIMPLEMENTED,
        }
    }

    pub fn http_status(self) -> u16 {
        http_status_for_grpc(self.grpc_code())
    }

    /// Categories whose errors may go away on their own: transient failures, contention, an
    /// unknown outcome (after checking it did not commit), and reading past the end (the node
    /// has not caught up yet).
    pub fn is_retryable(self) -> bool {
        use ErrorCategory::*;
        matches!(
            self,
            TransientServerFailure
                | ContentionOnSharedResources
                | DeadlineExceededRequestStateUnknown
                | InvalidGivenCurrentSystemStateSeekAfterEnd
        )
    }
}

/// gRPC status codes (`google.rpc.Code`).
pub mod grpc {
    pub const OK: i32 = 0;
    pub const CANCELLED: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const DEADLINE_EXCEEDED: i32 = 4;
    pub const NOT_FOUND: i32 = 5;
    pub const ALREADY_EXISTS: i32 = 6;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const FAILED_PRECONDITION: i32 = 9;
    pub const ABORTED: i32 = 10;
    pub const OUT_OF_RANGE: i32 = 11;
    pub const UNIMPLEMENTED: i32 = 12;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
    pub const DATA_LOSS: i32 = 15;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// The HTTP status the JSON API uses for a gRPC code (`GrpcHttpErrorCodes.scala`); unknown
/// codes are 500.
pub fn http_status_for_grpc(code: i32) -> u16 {
    match code {
        grpc::OK => 200,
        grpc::CANCELLED => 499,
        grpc::INVALID_ARGUMENT | grpc::FAILED_PRECONDITION | grpc::OUT_OF_RANGE => 400,
        grpc::DEADLINE_EXCEEDED => 504,
        grpc::NOT_FOUND => 404,
        grpc::ALREADY_EXISTS | grpc::ABORTED => 409,
        grpc::PERMISSION_DENIED => 403,
        grpc::RESOURCE_EXHAUSTED => 429,
        grpc::UNIMPLEMENTED => 501,
        grpc::UNAVAILABLE => 503,
        grpc::UNAUTHENTICATED => 401,
        _ => 500,
    }
}
