//! The onboarded tokens a batch is folded with: read at start and again whenever the operator
//! onboards a token while ingestion runs.
//!
//! # Invariants
//! - A token onboarded while ingestion runs counts from the next batch on; what earlier
//!   batches held back is judged again only once every batch before is committed.

use std::sync::Arc;

use exchange_core::Offset;
use exchange_core::changeset::{Checkpoint, Effect};
use exchange_core::held_back::judge_again;
use exchange_core::ingest::FoldConfig;
use exchange_core::tokens::Onboarded;
use exchange_store::StoreError;

use super::Ingestor;
use crate::observe::IngestEvent;

impl Ingestor {
    /// What batches are folded with now.
    pub(super) fn fold_config(&self) -> Arc<FoldConfig> {
        self.fold.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the onboarded tokens changed since they were last read.
    pub(super) async fn tokens_changed(&self) -> Result<bool, StoreError> {
        let onboarded = Onboarded::new(self.store.onboarded_tokens().await?);
        Ok(onboarded != self.fold_config().onboarded)
    }

    /// Reads the onboarded tokens for the batches to come and judges again what earlier
    /// batches held back (every batch before must be committed). Committed on its own, at the
    /// stored checkpoint: it ingests no transaction.
    pub(super) async fn refresh_tokens(&self) -> Result<(), StoreError> {
        let onboarded = Onboarded::new(self.store.onboarded_tokens().await?);
        let instruments: Vec<_> = onboarded.iter().map(|t| t.instrument.clone()).collect();
        let (holdings, deposits) = self.store.held_back_of(&instruments).await?;
        let changes = judge_again(&onboarded, &holdings, &deposits);
        if !changes.is_empty() {
            let offset = self
                .store
                .checkpoint()
                .await?
                .map_or(Offset::BEGIN, |c| c.offset);
            let stay = Checkpoint {
                offset,
                last_update: None,
            };
            self.store.commit(&changes, &stay).await?;
            let count = |f: fn(&Effect) -> bool| changes.effects.iter().filter(|e| f(e)).count();
            self.observer.event(&IngestEvent::Recognized {
                holdings: count(|e| matches!(e, Effect::HoldingRecognized { .. })),
                deposits: count(|e| matches!(e, Effect::DepositUpdated { .. })),
            });
        }
        let mut config = (*self.fold_config()).clone();
        config.onboarded = onboarded;
        *self.fold.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }
}
