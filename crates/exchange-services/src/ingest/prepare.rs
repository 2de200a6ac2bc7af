//! Preparing a batch, before anything is written: load the DB state it touches, apply the skip
//! rule, parse its transactions (in order, so later ones resolve what earlier ones created),
//! and hand them to the [fold](super::fold).

use std::time::Instant;

use canton_ledger::{JsTransaction, Update};
use exchange_core::book::{Fallback, WithOnboarded};
use exchange_core::changeset::{ChangeSet, IngestedUpdate};
use exchange_core::ingest::{FoldConfig, Known, Needs, StateLookup, is_ingested};
use exchange_core::{
    HoldingBook, Offset, ParsedTransaction, SynchronizerId, Timestamp, UpdateId, parse_transaction,
};
use exchange_store::StoreError;

use super::fold::{BatchFold, Prepared};
use super::pipeline::Base;
use super::{Ingestor, Timings};

/// A batch element as parsing left it.
pub(super) enum Parsed {
    NotATransaction,
    Skipped(IngestedUpdate),
    Broken { update_id: String, error: String },
    Ok(Box<ParsedTransaction>),
}

impl Ingestor {
    /// Parses and folds a batch against the DB state it touches, with `base.overlay` laid over
    /// every read.
    pub(super) async fn prepare(
        &self,
        batch: &[Update],
        base: Base,
    ) -> Result<Prepared, StoreError> {
        let config = &*self.fold_config();
        let overlay = base.overlay.as_deref();
        let mut timings = Timings::default();
        let loading = Instant::now();
        let mut known = self.load_for_skip_rule(batch, config, overlay).await?;
        timings.loading += loading.elapsed();
        let parsing = Instant::now();
        let (parsed, needs) = parse_batch(batch, &known, config);
        timings.parsing += parsing.elapsed();
        let loading = Instant::now();
        self.load_known(&needs, &mut known, overlay).await?;
        timings.loading += loading.elapsed();
        let folding = Instant::now();
        let fold = BatchFold::new(
            config,
            &self.config,
            &*self.observer,
            known,
            base.last_update,
        );
        let mut prepared = fold.run(batch, parsed);
        timings.folding += folding.elapsed();
        prepared.outcome.timings = timings;
        Ok(prepared)
    }

    /// What the skip rule needs: the synchronizers' record times first (no ids needed), then
    /// only transactions they do not already cover need their update id and consumed contracts
    /// looked up. A batch the record times cover entirely (replaying from an earlier offset,
    /// e.g. after a node restore) reads nothing more.
    async fn load_for_skip_rule(
        &self,
        batch: &[Update],
        config: &FoldConfig,
        overlay: Option<&ChangeSet>,
    ) -> Result<Known, StoreError> {
        let mut known = Known::default();
        self.load_known(&Needs::default(), &mut known, overlay)
            .await?;
        let mut needs = Needs::default();
        for u in batch {
            if let Update::Transaction(t) = u {
                let covered = header(&t.value).is_ok_and(|h| {
                    is_ingested(
                        &known,
                        config.skip_rule,
                        &t.value.update_id,
                        &h.synchronizer_id,
                        h.record_time,
                    )
                });
                if !covered {
                    needs.add_raw(&t.value);
                }
            }
        }
        if !needs.update_ids.is_empty() {
            self.load_known(&needs, &mut known, overlay).await?;
        }
        Ok(known)
    }

    /// Reads what `needs` asks for, then lays `overlay` over it.
    async fn load_known(
        &self,
        needs: &Needs,
        known: &mut Known,
        overlay: Option<&ChangeSet>,
    ) -> Result<(), StoreError> {
        self.store.load_known(needs, known).await?;
        if let Some(changes) = overlay {
            known.absorb(changes);
        }
        Ok(())
    }
}

/// Parses a batch in order (holdings and instructions are all parsing needs), so that later
/// transactions resolve what earlier ones of the batch created; with what folding it needs.
fn parse_batch(batch: &[Update], known: &Known, config: &FoldConfig) -> (Vec<Parsed>, Needs) {
    let mut book = HoldingBook::default();
    let mut parsed: Vec<Parsed> = Vec::with_capacity(batch.len());
    let mut needs = Needs::default();
    for u in batch {
        let Update::Transaction(t) = u else {
            parsed.push(Parsed::NotATransaction);
            continue;
        };
        let tx = &t.value;
        let header = match header(tx) {
            Ok(h) => h,
            Err(error) => {
                parsed.push(Parsed::Broken {
                    update_id: tx.update_id.clone(),
                    error,
                });
                continue;
            }
        };
        if is_ingested(
            known,
            config.skip_rule,
            &tx.update_id,
            &header.synchronizer_id,
            header.record_time,
        ) {
            parsed.push(Parsed::Skipped(header));
            continue;
        }
        let lookup = StateLookup {
            state: known,
            treasury: &config.treasury,
        };
        let fallback = Fallback(&book, &lookup);
        let lookup = WithOnboarded(&fallback, &config.onboarded);
        match parse_transaction(tx, &config.treasury, &lookup) {
            Ok(p) => {
                book.apply(&p);
                needs.add_parsed(&p, config);
                parsed.push(Parsed::Ok(Box::new(p)));
            }
            Err(e) => parsed.push(Parsed::Broken {
                update_id: tx.update_id.clone(),
                error: e.to_string(),
            }),
        }
    }
    needs.due_before = latest_record_time(batch);
    (parsed, needs)
}

/// The latest record time a batch shows: in-flight withdrawals it may expire are loaded before
/// folding, so that what the batch does to them is not overwritten afterwards.
fn latest_record_time(batch: &[Update]) -> Option<Timestamp> {
    batch
        .iter()
        .filter_map(|u| match u {
            Update::Transaction(t) => t.value.record_time.parse::<Timestamp>().ok(),
            Update::OffsetCheckpoint(c) => c
                .value
                .synchronizer_times
                .iter()
                .filter_map(|s| s.record_time.parse::<Timestamp>().ok())
                .max(),
            _ => None,
        })
        .max()
}

/// The identity of a transaction, or which part of it is invalid.
pub(super) fn header(tx: &JsTransaction) -> Result<IngestedUpdate, String> {
    let invalid = |field: &str, e: &dyn std::fmt::Display| format!("invalid {field}: {e}");
    Ok(IngestedUpdate {
        update_id: UpdateId::new(&tx.update_id).map_err(|e| invalid("updateId", &e))?,
        offset: Offset::new(tx.offset).map_err(|e| invalid("offset", &e))?,
        record_time: tx
            .record_time
            .parse()
            .map_err(|e| invalid("recordTime", &e))?,
        synchronizer_id: SynchronizerId::new(&tx.synchronizer_id)
            .map_err(|e| invalid("synchronizerId", &e))?,
    })
}
