//! Re-processing quarantined transactions (`canton-exchange quarantine retry`): each held
//! transaction is parsed again, from the node (the cause may have been the node's rendering) or
//! from the copy kept in the DB (the cause may have been this program, since upgraded), folded
//! against the DB as it is now, and its effects committed with its release, once.
//!
//! Ingestion must be stopped meanwhile: this takes its lease, so that no batch is folded on
//! state the release changes underneath it.

use canton_ledger::JsTransaction;
use canton_ledger::client::ClientError;
use exchange_core::ingest::{Anomaly, FoldConfig, Known, Needs, StateLookup, fold_quarantined};
use exchange_core::{UpdateId, parse_transaction};
use exchange_store::{QuarantineEntry, Store, StoreError};

use crate::filter::treasury_format_for;
use crate::source::Source;

#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("the DB has no treasury party: nothing was ingested, nothing is quarantined")]
    NothingIngested,
    #[error(
        "ingestion is running against this DB (it holds the {0}): stop it first, then run this again"
    )]
    IngestionRunning(String),
    #[error("update {0} is not held in quarantine")]
    NotHeld(String),
    #[error("reading update {update_id} from the ledger failed: {source}")]
    Ledger {
        update_id: String,
        source: ClientError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one retry did.
#[derive(Debug, Default)]
pub struct Retried {
    /// Parsed and applied now, in offset order.
    pub released: Vec<UpdateId>,
    /// Still not parseable (or not on the node), with why; held as before.
    pub still_held: Vec<(UpdateId, String)>,
    /// What the fold of the released transactions could not place (as in ingestion).
    pub anomalies: Vec<Anomaly>,
}

/// Re-processes the held transactions (all, or `only` the one named). `source`: read each
/// again from the node (or a recording) instead of the copy kept in the DB. The onboarded
/// tokens are read from the DB (`config.onboarded` is ignored).
pub async fn retry(
    store: &Store,
    config: &FoldConfig,
    source: Option<&Source>,
    only: Option<&str>,
) -> Result<Retried, QuarantineError> {
    let party = store
        .treasury_party()
        .await?
        .ok_or(QuarantineError::NothingIngested)?;
    let lease = store
        .try_ingestion_lease(&party)
        .await?
        .ok_or_else(|| QuarantineError::IngestionRunning(store.ingestion_lease_name(&party)))?;
    // Folded like ingestion folds: with the tokens onboarded now.
    let tokens = store.onboarded_tokens().await;
    let result = match tokens {
        Ok(tokens) => {
            let mut config = config.clone();
            config.onboarded = exchange_core::tokens::Onboarded::new(tokens);
            retry_holding_lease(store, &config, source, only).await
        }
        Err(e) => Err(e.into()),
    };
    lease.release().await;
    result
}

async fn retry_holding_lease(
    store: &Store,
    config: &FoldConfig,
    source: Option<&Source>,
    only: Option<&str>,
) -> Result<Retried, QuarantineError> {
    let mut held = store.quarantine(true).await?;
    if let Some(id) = only {
        held.retain(|e| e.quarantined.update.update_id.as_str() == id);
        if held.is_empty() {
            return Err(QuarantineError::NotHeld(id.to_owned()));
        }
    }
    let mut retried = Retried::default();
    for entry in held {
        let update_id = entry.quarantined.update.update_id.clone();
        let tx = match transaction(&entry, config, source).await? {
            Ok(tx) => tx,
            Err(why) => {
                retried.still_held.push((update_id, why));
                continue;
            }
        };
        match release(store, config, &tx).await? {
            Ok(anomalies) => {
                retried.anomalies.extend(anomalies);
                retried.released.push(update_id);
            }
            Err(why) => retried.still_held.push((update_id, why)),
        }
    }
    Ok(retried)
}

/// The transaction to parse again: the node's (or recording's) copy, or the one kept.
async fn transaction(
    entry: &QuarantineEntry,
    config: &FoldConfig,
    source: Option<&Source>,
) -> Result<Result<JsTransaction, String>, QuarantineError> {
    let update_id = entry.quarantined.update.update_id.as_str();
    let Some(source) = source else {
        return Ok(serde_json::from_str(&entry.quarantined.raw_json)
            .map_err(|e| format!("the kept copy does not decode: {e}")));
    };
    let ledger_error = |source| QuarantineError::Ledger {
        update_id: update_id.to_owned(),
        source,
    };
    let format = treasury_format_for(source, config.treasury.as_str())
        .await
        .map_err(&ledger_error)?;
    match source.transaction(update_id, &format).await {
        Ok(Some(tx)) => Ok(Ok(tx)),
        Ok(None) => Ok(Err("the ledger does not have it".to_owned())),
        Err(source) => Err(ledger_error(source)),
    }
}

/// Parses and folds one transaction on the DB's current state and commits its effects with its
/// release; `Err(why)` if it still cannot be parsed.
async fn release(
    store: &Store,
    config: &FoldConfig,
    tx: &JsTransaction,
) -> Result<Result<Vec<Anomaly>, String>, QuarantineError> {
    let mut needs = Needs::default();
    needs.add_raw(tx);
    let mut known = Known::default();
    store.load_known(&needs, &mut known).await?;
    let lookup = StateLookup {
        state: &known,
        treasury: &config.treasury,
    };
    let lookup = exchange_core::book::WithOnboarded(&lookup, &config.onboarded);
    let parsed = match parse_transaction(tx, &config.treasury, &lookup) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut needs = Needs::default();
    needs.add_parsed(&parsed, config);
    store.load_known(&needs, &mut known).await?;
    let created: Vec<_> = parsed
        .holdings_created
        .iter()
        .map(|h| h.contract_id.clone())
        .collect();
    let archived_since = store.unmatched_archives(&created).await?;
    let folded = fold_quarantined(&parsed, &known, config, &archived_since);
    store.commit_released(&folded.changes).await?;
    Ok(Ok(folded.anomalies))
}
