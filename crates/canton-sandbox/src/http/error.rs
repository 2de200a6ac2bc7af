//! Error answers as the JSON API gives them (`ledger-api.md` §1.8): a `JsCantonError` body with
//! the status of its category, except undecodable bodies, which get `400 text/plain`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use canton_ledger::errors::MAXIMUM_LIST_ELEMENTS_REACHED;
use canton_ledger::{ErrorCategory, JsCantonError};

use crate::model::LedgerError;
use crate::token::TokenError;

#[derive(Debug, Clone)]
pub enum ApiError {
    /// Boxed: errors are rare and the happy path should not carry 200 bytes around.
    Canton(Box<JsCantonError>),
    /// A request body that does not decode: tapir answers in plain text.
    BadBody(String),
}

impl ApiError {
    pub fn canton(
        code: &str,
        category: ErrorCategory,
        cause: impl Into<String>,
        resources: Vec<(&str, String)>,
    ) -> ApiError {
        let context = BTreeMap::from([
            ("participant".to_owned(), "sandbox".to_owned()),
            ("category".to_owned(), category.code().to_string()),
            ("definite_answer".to_owned(), "false".to_owned()),
        ]);
        ApiError::Canton(Box::new(JsCantonError {
            code: code.to_owned(),
            cause: cause.into(),
            correlation_id: None,
            trace_id: None,
            context,
            resources: resources
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            error_category: category.code(),
            grpc_code_value: Some(category.grpc_code()),
            retry_info: category.is_retryable().then(|| "1 second".to_owned()),
            definite_answer: Some(false),
        }))
    }

    pub fn invalid_argument(cause: impl Into<String>) -> ApiError {
        ApiError::canton(
            "INVALID_ARGUMENT",
            ErrorCategory::InvalidIndependentOfSystemState,
            format!(
                "The submitted request has invalid arguments: {}",
                cause.into()
            ),
            vec![],
        )
    }

    /// The change (user, `actAs`, command id) was already committed within the deduplication
    /// period.
    pub fn duplicate_command(completion_offset: i64) -> ApiError {
        let mut e = ApiError::canton(
            "DUPLICATE_COMMAND",
            ErrorCategory::InvalidGivenCurrentSystemStateResourceExists,
            "A command with the given command id has already been successfully processed",
            vec![],
        );
        if let ApiError::Canton(e) = &mut e {
            e.context.insert(
                "completion_offset".to_owned(),
                completion_offset.to_string(),
            );
        }
        e
    }

    /// The same change is accepted and not yet sequenced (`existingSubmissionId` as Canton
    /// writes it, an Option rendered by Scala).
    pub fn submission_already_in_flight(existing_submission_id: &str) -> ApiError {
        let mut e = ApiError::canton(
            "SUBMISSION_ALREADY_IN_FLIGHT",
            ErrorCategory::ContentionOnSharedResources,
            "The submission is already in flight",
            vec![],
        );
        if let ApiError::Canton(e) = &mut e {
            e.context.insert(
                "existingSubmissionId".to_owned(),
                format!("Some({existing_submission_id})"),
            );
        }
        e
    }

    pub fn offset_after_ledger_end(kind: &str, offset: i64, ledger_end: i64) -> ApiError {
        ApiError::canton(
            "OFFSET_AFTER_LEDGER_END",
            ErrorCategory::InvalidGivenCurrentSystemStateSeekAfterEnd,
            format!("{kind} offset ({offset}) is after ledger end ({ledger_end})"),
            vec![],
        )
    }

    pub fn update_not_found(what: String) -> ApiError {
        ApiError::canton(
            "UPDATE_NOT_FOUND",
            ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
            "Update not found, or not visible.",
            vec![("UPDATE_ID", what)],
        )
    }

    pub fn contract_events_not_found(contract_id: &str) -> ApiError {
        ApiError::canton(
            "CONTRACT_EVENTS_NOT_FOUND",
            ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
            "Contract events not found, or not visible.",
            vec![("CONTRACT_ID", contract_id.to_owned())],
        )
    }

    /// A read that starts below the pruning offset (3.4 wording of `ParticipantPrunedDataAccessed`).
    pub fn pruned_data_accessed(begin_exclusive: i64, pruned_up_to: i64) -> ApiError {
        let mut e = ApiError::canton(
            "PARTICIPANT_PRUNED_DATA_ACCESSED",
            ErrorCategory::InvalidGivenCurrentSystemStateOther,
            format!(
                "Transactions request from {begin_exclusive} to the ledger end precedes pruned offset {pruned_up_to}"
            ),
            vec![],
        );
        if let ApiError::Canton(e) = &mut e {
            e.context
                .insert("earliest_offset".to_owned(), pruned_up_to.to_string());
        }
        e
    }

    /// `submit-and-wait` as a party this participant hosts without submission rights (an
    /// external party, which must prepare, sign and execute): Canton's router finds no
    /// synchronizer to submit on (`TransactionRoutingError.TopologyErrors.NotAllowed`).
    pub fn cannot_submit_as(party: &str) -> ApiError {
        let mut e = ApiError::canton(
            "NO_SYNCHRONIZER_ON_WHICH_ALL_SUBMITTERS_CAN_SUBMIT",
            ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
            "This participant cannot submit as the given submitter on any connected synchronizer",
            vec![],
        );
        if let ApiError::Canton(e) = &mut e {
            e.context
                .insert("unknownSubmitter".to_owned(), party.to_owned());
        }
        e
    }

    /// A call cut short because the node was restored underneath it (a real node restarts).
    pub fn node_restarted() -> ApiError {
        ApiError::canton(
            "SERVICE_NOT_RUNNING",
            ErrorCategory::TransientServerFailure,
            "Ledger API server is shutting down.",
            vec![],
        )
    }

    pub fn too_many_elements(max: usize) -> ApiError {
        ApiError::canton(
            MAXIMUM_LIST_ELEMENTS_REACHED,
            ErrorCategory::ContentionOnSharedResources,
            format!(
                "The number of elements exceeds the maximum of {max}; use the websocket endpoint or the limit parameter"
            ),
            vec![],
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Canton(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The body of a websocket error frame.
    pub fn to_frame(&self) -> String {
        match self {
            ApiError::Canton(e) => serde_json::to_string(&**e).unwrap_or_default(),
            ApiError::BadBody(text) => serde_json::to_string(&JsCantonError {
                code: "INVALID_ARGUMENT".into(),
                cause: text.clone(),
                error_category: ErrorCategory::InvalidIndependentOfSystemState.code(),
                grpc_code_value: Some(3),
                ..Default::default()
            })
            .unwrap_or_default(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::Canton(e) => (status, axum::Json(*e)).into_response(),
            ApiError::BadBody(text) => (status, text).into_response(),
        }
    }
}

impl From<crate::disaster::UnknownBackup> for ApiError {
    fn from(e: crate::disaster::UnknownBackup) -> ApiError {
        ApiError::canton(
            "SANDBOX_BACKUP_NOT_FOUND",
            ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
            e.to_string(),
            vec![("BACKUP_ID", e.0.0)],
        )
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        let cause = e.to_string();
        match e {
            LedgerError::ContractNotFound(cid) => ApiError::canton(
                "CONTRACT_NOT_FOUND",
                ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
                cause,
                vec![("CONTRACT_ID", cid)],
            ),
            LedgerError::UnknownParty(p) => ApiError::canton(
                "PARTY_NOT_KNOWN_ON_LEDGER",
                ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
                cause,
                vec![("PARTY", p)],
            ),
            LedgerError::PartyExists(p) => ApiError::canton(
                "PARTY_ALREADY_EXISTS",
                ErrorCategory::InvalidGivenCurrentSystemStateResourceExists,
                cause,
                vec![("PARTY", p)],
            ),
            // Canton's transaction routing errors (`TransactionRoutingError`).
            LedgerError::UnknownSynchronizer(_) => ApiError::canton(
                "SUBMISSION_SYNCHRONIZER_NOT_READY",
                ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
                cause,
                vec![],
            ),
            LedgerError::MultiSynchronizer(_) => ApiError::canton(
                "MULTI_SYNCHRONIZER_SUPPORT_NOT_ENABLED",
                ErrorCategory::InvalidGivenCurrentSystemStateOther,
                cause,
                vec![],
            ),
            LedgerError::InputsNotOnSynchronizer { .. } => ApiError::canton(
                "INVALID_PRESCRIBED_SYNCHRONIZER_ID",
                ErrorCategory::InvalidGivenCurrentSystemStateOther,
                cause,
                vec![],
            ),
            LedgerError::DuplicateContractId(_)
            | LedgerError::Clock(_)
            | LedgerError::PruneBeyondLedgerEnd { .. }
            | LedgerError::DryRunComplete => ApiError::invalid_argument(cause),
        }
    }
}

impl From<crate::completions::DedupPeriodError> for ApiError {
    fn from(e: crate::completions::DedupPeriodError) -> ApiError {
        use crate::completions::{DedupPeriodError, iso_duration};
        match e {
            DedupPeriodError::Negative => ApiError::canton(
                "INVALID_FIELD",
                ErrorCategory::InvalidIndependentOfSystemState,
                "The submitted command has a field with invalid value: Invalid field deduplication_period: Duration must be positive",
                vec![],
            ),
            DedupPeriodError::TooLong { given, max } => {
                let mut e = ApiError::canton(
                    "INVALID_DEDUPLICATION_PERIOD",
                    ErrorCategory::InvalidGivenCurrentSystemStateOther,
                    format!(
                        "The submitted command had an invalid deduplication period: The given deduplication duration of {} exceeds the maximum deduplication duration of {}",
                        iso_duration(given),
                        iso_duration(max)
                    ),
                    vec![],
                );
                if let ApiError::Canton(e) = &mut e {
                    e.context
                        .insert("longest_duration".to_owned(), iso_duration(max));
                }
                e
            }
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        match e {
            TokenError::Ledger(e) => e.into(),
            TokenError::Interpretation(_) => ApiError::canton(
                "DAML_INTERPRETATION_ERROR",
                ErrorCategory::InvalidGivenCurrentSystemStateOther,
                e.to_string(),
                vec![],
            ),
            TokenError::InvalidArgument(m) => ApiError::invalid_argument(m),
        }
    }
}

impl From<crate::interactive::InteractiveError> for ApiError {
    fn from(e: crate::interactive::InteractiveError) -> ApiError {
        use crate::interactive::InteractiveError as E;
        let cause = e.to_string();
        match e {
            E::Token(e) => e.into(),
            E::Malformed(m) => ApiError::invalid_argument(m),
            // The submitting participant checks the external signatures before sequencing and
            // refuses with an invalid-argument error (category 8, HTTP 400).
            E::Signature(m) => ApiError::invalid_argument(m),
            E::NotSequencedTimeout { .. } => ApiError::canton(
                "NOT_SEQUENCED_TIMEOUT",
                ErrorCategory::ContentionOnSharedResources,
                cause,
                vec![],
            ),
        }
    }
}

impl ApiError {
    /// A rejection as a completion's `status`: the gRPC code and Canton's
    /// `CODE(category,correlation): cause` text.
    pub fn completion_status(&self) -> (i32, String) {
        match self {
            ApiError::Canton(e) => (
                e.grpc_code_value.unwrap_or(2),
                format!("{}({},0): {}", e.code, e.error_category, e.cause),
            ),
            ApiError::BadBody(text) => (3, text.clone()),
        }
    }
}

/// Decodes a JSON body the way the JSON API does: relaxed (serde defaults), and a decode failure
/// is `400 text/plain`.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadBody(format!("Invalid value for: body ({e})")))
}
