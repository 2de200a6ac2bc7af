//! What a run does before it streams: take the ingestion lease, claim the treasury party, make
//! sure the suspense account exists, settle the update format with the node, and check the
//! node against the checkpoint.

use exchange_core::Offset;
use exchange_core::changeset::Checkpoint;
use exchange_store::{IngestionLease, StoreError};
use tokio::sync::watch;

use super::{IngestError, Ingestor, stop_requested};
use crate::filter::{self, treasury_format_with};
use crate::identity::{self, IdentityError};
use crate::observe::IngestEvent;
use crate::retry::retry_call;
use crate::source::Source;

impl Ingestor {
    /// The lease, now or (standby) once its holder lets go; `None` if a stop came first.
    pub(super) async fn take_lease(
        &self,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<IngestionLease>, IngestError> {
        let party = &self.config.fold.treasury;
        let mut announced = false;
        loop {
            if let Some(lease) = self.store.try_ingestion_lease(party).await? {
                if announced {
                    self.observer.event(&IngestEvent::TookOver);
                }
                return Ok(Some(lease));
            }
            let name = self.store.ingestion_lease_name(party);
            if !self.config.standby {
                return Err(IngestError::Busy(name));
            }
            if !announced {
                announced = true;
                self.observer.event(&IngestEvent::Standby { lease: name });
            }
            tokio::select! {
                biased;
                _ = stop_requested(stop) => return Ok(None),
                _ = tokio::time::sleep(self.config.standby_poll) => {}
            }
        }
    }

    /// Everything before streaming, holding the lease: the stored checkpoint, and with `once`
    /// the ledger end to stop at.
    pub(super) async fn start(&self) -> Result<(Checkpoint, Option<i64>), IngestError> {
        self.store
            .claim_treasury_party(&self.config.fold.treasury)
            .await?;
        self.ensure_suspense_account().await?;
        let checkpoint = self.store.checkpoint().await?.unwrap_or(Checkpoint {
            offset: Offset::BEGIN,
            last_update: None,
        });
        self.negotiate_format().await?;
        let end = self.check_node(&checkpoint).await?;
        self.refresh_tokens().await?;
        Ok((checkpoint, end))
    }

    /// Whether the node serves the V2 views (see [`filter::negotiate`]); a recording is read
    /// as it was recorded.
    async fn negotiate_format(&self) -> Result<(), IngestError> {
        let Source::Ledger { client, .. } = &self.source else {
            return Ok(());
        };
        let (retry, observer) = (&self.config.retry, &*self.observer);
        let party = self.config.fold.treasury.as_str();
        // Each request retried on its own, as every call at start is.
        let end = retry_call(retry, observer, "ledger end", || client.ledger_end()).await?;
        let views = retry_call(retry, observer, "update filter", || {
            filter::probe_views(client, party, end)
        })
        .await?;
        *self.format.lock().unwrap_or_else(|e| e.into_inner()) = treasury_format_with(party, views);
        Ok(())
    }

    /// Checks the node against the checkpoint ([`identity::check`]); with `once`, the ledger end
    /// to stop at. The node may be briefly unreachable at start too: each call is retried on
    /// its own.
    async fn check_node(&self, checkpoint: &Checkpoint) -> Result<Option<i64>, IngestError> {
        let (retry, observer) = (&self.config.retry, &*self.observer);
        identity::check(&self.source, checkpoint, &self.format(), retry, observer)
            .await
            .map_err(|e| match e {
                // The node could not be read (retries used up): the same error as later reads.
                IdentityError::Ledger(e) => IngestError::Ledger(e),
                e => e.into(),
            })?;
        if !self.config.once {
            return Ok(None);
        }
        let end = retry_call(retry, observer, "ledger end", || self.source.ledger_end()).await?;
        Ok(Some(end))
    }

    /// The account recovered withdrawals are debited to when no customer is named.
    async fn ensure_suspense_account(&self) -> Result<(), StoreError> {
        let id = &self.config.fold.suspense_account;
        if self.store.account(id).await?.is_none() {
            match self.store.create_account(id, "operator:suspense").await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
