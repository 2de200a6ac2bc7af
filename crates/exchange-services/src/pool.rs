//! The holding pool job (`workflows.rst`, "UTXO Selection and Management"): keeps `k` treasury
//! holdings large enough for typical withdrawals, so that `k` withdrawals can run at once, and
//! merges dust. Core plans (`exchange_core::pool::plan`); each planned self-transfer is placed
//! as a pool transfer (a withdrawal row to the treasury itself, no customer) and then goes the
//! withdrawals' way: the automation prepares, verifies, signs and executes it, and ingestion
//! completes it or expires it.

use std::time::Duration;

use exchange_core::pool::{PoolOrder, PoolPolicy, plan, pool_transfer_id};
use exchange_core::withdrawal::{WithdrawalPurpose, WithdrawalState};
use exchange_core::{InstrumentId, PartyId, Timestamp};
use exchange_store::{Store, StoreError};

/// One instrument's pool.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub instrument: InstrumentId,
    pub policy: PoolPolicy,
    /// How long a pool transfer has to commit (`trecTgt = now + ttl`).
    pub ttl: Duration,
}

pub struct PoolJob {
    store: Store,
    treasury: PartyId,
    pools: Vec<PoolConfig>,
}

impl PoolJob {
    pub fn new(store: Store, treasury: PartyId, pools: Vec<PoolConfig>) -> PoolJob {
        PoolJob {
            store,
            treasury,
            pools,
        }
    }

    /// One pass: each pool with no pool transfer in flight is planned, and its transfers
    /// placed. Planning waits for the last plan's transfers to settle, since until ingestion
    /// shows their outputs the same work would be planned twice. Returns how many were placed.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let mut placed = 0;
        for pool in &self.pools {
            if self.in_flight(&pool.instrument).await? {
                continue;
            }
            let now = Timestamp::now();
            let candidates = self.store.pool_candidates(&pool.instrument).await?;
            for (i, transfer) in plan(&candidates, &pool.policy, now).into_iter().enumerate() {
                let order = PoolOrder {
                    id: pool_transfer_id(&format!("{}-{i}", now.micros())),
                    instrument: pool.instrument.clone(),
                    treasury: self.treasury.clone(),
                    transfer,
                    ttl_micros: i64::try_from(pool.ttl.as_micros()).unwrap_or(i64::MAX),
                    synchronizer: None,
                };
                match self.store.place_pool_transfer(&order).await {
                    Ok(w) => {
                        placed += 1;
                        tracing::info!(pool_transfer = %w.id, instrument = %pool.instrument.id, amount = %w.amount, "placed");
                    }
                    // An input was taken meanwhile (a withdrawal, another replica's plan):
                    // the next pass plans again from what is there.
                    Err(StoreError::Conflict(why)) => tracing::info!("pool: {why}"),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(placed)
    }

    async fn in_flight(&self, instrument: &InstrumentId) -> Result<bool, StoreError> {
        for state in [
            WithdrawalState::Requested,
            WithdrawalState::Submitted,
            WithdrawalState::PendingAcceptance,
        ] {
            let open = self.store.withdrawals_in_state(state).await?;
            if open
                .iter()
                .any(|w| w.purpose == WithdrawalPurpose::Pool && &w.instrument == instrument)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
