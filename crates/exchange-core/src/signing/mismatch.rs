//! Why a prepared transaction was refused: each variant names what differs, for an operator.

use canton_interactive::{DecodeError, HashError};

use super::values::ShapeError;
use crate::Amount;

/// The prepared transaction is not exactly what was asked for; nothing gets signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The bytes are not a `PreparedTransaction`.
    #[error("{0}")]
    Undecodable(#[from] DecodeError),
    /// A field differs from the intent (or has the wrong shape).
    #[error("{field}: expected {expected}, found {found}")]
    Field {
        field: String,
        expected: String,
        found: String,
    },
    /// An input contract the intent did not name (not disclosed, not a selected holding).
    #[error("unexpected input contract {contract_id}")]
    UnexpectedInputContract { contract_id: String },
    /// A selected input holding the transaction does not list among its input contracts.
    #[error("input holding {contract_id} is not among the transaction's input contracts")]
    MissingInputContract { contract_id: String },
    /// A node acts on a contract that is neither an input contract nor created before it.
    #[error(
        "node {node_id} uses contract {contract_id}, which is neither an input nor created here"
    )]
    UnknownContract {
        node_id: String,
        contract_id: String,
    },
    /// A consuming exercise on a treasury contract that is not one of the intent's inputs.
    #[error(
        "node {node_id} archives treasury contract {contract_id} ({template}), not a declared input"
    )]
    ArchivesTreasuryContract {
        node_id: String,
        contract_id: String,
        template: String,
    },
    /// A create the treasury signs or observes that this action does not produce.
    #[error("node {node_id} creates {template} for the treasury: {why}")]
    CreatesForTreasury {
        node_id: String,
        template: String,
        why: String,
    },
    /// More leaves the treasury than the amount and the fee allowance.
    #[error("the treasury would spend {found}, more than the allowed {limit}")]
    Overspend { limit: Amount, found: Amount },
    /// Rolled-back subtrees are refused: token-standard actions never need one, and what they
    /// undo would confuse the accounting.
    #[error("node {node_id} is a rollback node")]
    Rollback { node_id: String },
    /// The transaction cannot be hashed (see `canton_interactive::HashError`).
    #[error("cannot hash the transaction: {0}")]
    Unhashable(HashError),
    /// The node's hash is not the hash of these bytes.
    #[error("the node's hash {node} is not the transaction's hash {computed}")]
    Hash { node: String, computed: String },
}

impl Mismatch {
    pub(crate) fn field(
        field: impl Into<String>,
        expected: impl ToString,
        found: impl ToString,
    ) -> Mismatch {
        Mismatch::Field {
            field: field.into(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    /// The field (or kind of difference) it names, for tests and logs.
    pub fn what(&self) -> String {
        match self {
            Mismatch::Field { field, .. } => field.clone(),
            Mismatch::Undecodable(_) => "bytes".to_owned(),
            Mismatch::UnexpectedInputContract { .. } => "input_contracts".to_owned(),
            Mismatch::MissingInputContract { .. } => "input_contracts".to_owned(),
            Mismatch::UnknownContract { .. } => "unknown_contract".to_owned(),
            Mismatch::ArchivesTreasuryContract { .. } => "archive".to_owned(),
            Mismatch::CreatesForTreasury { .. } => "create".to_owned(),
            Mismatch::Overspend { .. } => "spend".to_owned(),
            Mismatch::Rollback { .. } => "rollback".to_owned(),
            Mismatch::Unhashable(_) => "unhashable".to_owned(),
            Mismatch::Hash { .. } => "hash".to_owned(),
        }
    }
}

impl From<ShapeError> for Mismatch {
    fn from(e: ShapeError) -> Mismatch {
        Mismatch::Field {
            field: e.path,
            expected: e.expected.to_owned(),
            found: e.found,
        }
    }
}
