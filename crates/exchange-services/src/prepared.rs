//! The one path from a node's `prepare` answer to a signature, shared by every treasury action
//! (withdrawals, deposit accepts, the preapproval): decode the base64 prepared transaction and
//! hash, check the transaction is exactly the intent and re-hash it (exchange-core's verifier),
//! then sign.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::interactive::JsPrepareSubmissionResponse;
use exchange_core::signing::{Intent, Refused, Signature, Signer, verify_and_sign};

/// Why nothing was signed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotSigned {
    #[error("prepare answered a {field} that is not base64: {error}")]
    NotBase64 {
        field: &'static str,
        error: base64::DecodeError,
    },
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Signs `prepared` only if it decodes to exactly `intent` and its hash is the one recomputed
/// locally.
pub(crate) fn sign_prepared(
    signer: &dyn Signer,
    intent: &Intent,
    prepared: &JsPrepareSubmissionResponse,
) -> Result<Signature, NotSigned> {
    let decode = |field: &'static str, text: &str| {
        BASE64
            .decode(text)
            .map_err(|error| NotSigned::NotBase64 { field, error })
    };
    let bytes = decode("preparedTransaction", &prepared.prepared_transaction)?;
    let hash = decode(
        "preparedTransactionHash",
        &prepared.prepared_transaction_hash,
    )?;
    Ok(verify_and_sign(signer, intent, &bytes, &hash)?)
}
