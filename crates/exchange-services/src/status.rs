//! What an operator needs to know about the exchange, gathered from the Integration DB in one
//! place: the `status` command prints it, the REST API serves it. Strings for amounts and
//! times (exact text, never floats).

use std::collections::BTreeMap;

use exchange_core::Timestamp;
use exchange_core::changeset::{AccountId, DepositState};
use exchange_store::{Store, StoreError, Switch};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub treasury_party: Option<String>,
    pub checkpoint: Option<CheckpointReport>,
    /// Record times of the synchronizers, as ingested.
    pub record_times: BTreeMap<String, String>,
    /// `ledgerEnd - checkpoint.offset`, when the caller asked the node for its ledger end.
    pub lag: Option<i64>,
    pub ledger_end: Option<i64>,
    /// Seconds from the checkpoint's record time to now (the status's clock): how far behind
    /// the wall clock ingestion is. It also grows while the ledger is idle, so read it with
    /// `lag` (0 there means caught up).
    pub record_time_lag_seconds: Option<i64>,
    pub withdrawals: BTreeMap<String, i64>,
    pub deposits: BTreeMap<String, i64>,
    pub unknown_account_deposits: i64,
    /// The suspense account's balance per instrument (negative: recovered withdrawals whose
    /// customer is not known yet).
    pub suspense_balance: BTreeMap<String, String>,
    /// Why the suspense balance could not be computed (a sum beyond Numeric 10); the rest of
    /// the status is still reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspense_balance_error: Option<String>,
    /// Withdrawals paid a second time on the ledger (each booked against suspense).
    pub overpaid_withdrawals: i64,
    /// Transactions held in quarantine (not parseable), oldest first: `quarantine retry`.
    pub quarantined: Vec<QuarantinedReport>,
    /// Deposit offers still pending whose accept attempts ran out (`accept_failed`).
    pub failed_deposit_accepts: Vec<FailedAcceptReport>,
    /// Token standard V2 events about the treasury's account that failed the trust checks
    /// (forged or foreign): held back, never credited, never a reason to stop ingestion.
    pub untrusted_v2_events: UntrustedReport,
    /// Why withdrawals are switched off, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawals_disabled: Option<String>,
    /// An unfinished `recover db` run: `{tSafe, phase, startedAt}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_recovery: Option<BTreeMap<String, String>>,
    /// Recovered withdrawals in suspense no account bears yet (`withdrawals attribute`).
    pub unattributed_withdrawals: usize,
    /// The last node-restore recovery (`recover validator`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_recovery: Option<RecoveryReport>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UntrustedReport {
    pub count: i64,
    /// The latest few, newest first.
    pub latest: Vec<UntrustedEventReport>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UntrustedEventReport {
    pub update_id: String,
    pub node_id: i32,
    pub record_time: String,
    pub reason: String,
}

/// How many of the latest untrusted V2 events the status lists.
const UNTRUSTED_LISTED: i64 = 5;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryReport {
    pub at: String,
    pub runbook: String,
    pub operator: String,
    pub t_recovery: String,
    pub synchronizer_id: String,
    pub last_update_id: String,
    pub last_offset_before: i64,
    pub last_offset_after: i64,
    pub checkpoint_before: i64,
    pub checkpoint_after: i64,
    pub off_recovery_source: String,
    pub participant_id: Option<String>,
    pub dars_uploaded: Vec<String>,
}

impl From<exchange_store::Recovery> for RecoveryReport {
    fn from(r: exchange_store::Recovery) -> RecoveryReport {
        let d = r.record;
        RecoveryReport {
            at: r.at.to_string(),
            runbook: d.runbook,
            operator: d.operator,
            t_recovery: d.t_recovery.to_string(),
            synchronizer_id: d.synchronizer_id,
            last_update_id: d.last_update_id,
            last_offset_before: d.last_offset_before,
            last_offset_after: d.last_offset_after,
            checkpoint_before: d.checkpoint_before,
            checkpoint_after: d.checkpoint_after,
            off_recovery_source: d.off_recovery_source,
            participant_id: d.participant_id,
            dars_uploaded: d.dars_uploaded,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailedAcceptReport {
    pub transfer_instruction: String,
    pub deposit_id: String,
    pub account: String,
    pub instrument: String,
    pub amount: String,
    pub attempts: u32,
    pub error: Option<String>,
    pub since: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuarantinedReport {
    pub update_id: String,
    pub offset: i64,
    pub record_time: String,
    pub error: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointReport {
    pub offset: i64,
    pub update_id: Option<String>,
    pub record_time: Option<String>,
    pub synchronizer_id: Option<String>,
}

/// Reads the status from the DB. `ledger_end` and `lag` are left empty: only a caller that
/// asked the node fills them ([`StatusReport::with_ledger_end`]).
pub async fn gather(store: &Store, suspense_account: &str) -> Result<StatusReport, StoreError> {
    let checkpoint = store.checkpoint().await?;
    let deposits: BTreeMap<_, _> = store.deposit_counts().await?.into_iter().collect();
    let (suspense, suspense_balance_error) = suspense_balance(store, suspense_account).await;
    let switch = store.switch(Switch::Withdrawals).await?;
    let now = Timestamp::now();
    let record_time_lag_seconds = checkpoint
        .as_ref()
        .and_then(|c| c.last_update.as_ref())
        .map(|u| seconds_behind(u.record_time, now));
    Ok(StatusReport {
        treasury_party: store.treasury_party().await?.map(|p| p.to_string()),
        checkpoint: checkpoint.map(|c| {
            let last = c.last_update;
            CheckpointReport {
                offset: c.offset.get(),
                update_id: last.as_ref().map(|u| u.update_id.to_string()),
                record_time: last.as_ref().map(|u| u.record_time.to_string()),
                synchronizer_id: last.as_ref().map(|u| u.synchronizer_id.to_string()),
            }
        }),
        record_times: store
            .record_times()
            .await?
            .into_iter()
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .collect(),
        lag: None,
        ledger_end: None,
        record_time_lag_seconds,
        withdrawals: store.withdrawal_counts().await?.into_iter().collect(),
        unknown_account_deposits: deposits
            .get(DepositState::UnknownAccount.as_str())
            .copied()
            .unwrap_or(0),
        deposits,
        suspense_balance: suspense,
        suspense_balance_error,
        overpaid_withdrawals: store.overpaid_withdrawal_count().await?,
        quarantined: quarantined(store).await?,
        failed_deposit_accepts: failed_accepts(store).await?,
        untrusted_v2_events: untrusted(store).await?,
        withdrawals_disabled: (!switch.enabled).then_some(switch.reason),
        db_recovery: store
            .db_recovery()
            .await?
            .filter(|r| r.finished_at.is_none())
            .map(|r| {
                BTreeMap::from([
                    ("tSafe".to_owned(), r.t_safe.to_string()),
                    ("phase".to_owned(), r.phase),
                    ("startedAt".to_owned(), r.started_at.to_string()),
                ])
            }),
        unattributed_withdrawals: store.unattributed_withdrawals().await?.len(),
        last_recovery: store.last_recovery().await?.map(RecoveryReport::from),
    })
}

async fn untrusted(store: &Store) -> Result<UntrustedReport, StoreError> {
    let (count, latest) = store.untrusted_events(UNTRUSTED_LISTED).await?;
    Ok(UntrustedReport {
        count,
        latest: latest
            .into_iter()
            .map(|e| UntrustedEventReport {
                update_id: e.origin.update_id.to_string(),
                node_id: e.node_id,
                record_time: e.origin.record_time.to_string(),
                reason: e.reason,
            })
            .collect(),
    })
}

impl StatusReport {
    /// Adds the node's ledger end and the checkpoint's lag behind it.
    pub fn with_ledger_end(mut self, ledger_end: i64) -> StatusReport {
        let offset = self.checkpoint.as_ref().map_or(0, |c| c.offset);
        self.lag = Some((ledger_end - offset).max(0));
        self.ledger_end = Some(ledger_end);
        self
    }
}

/// Whole seconds from `record_time` to `now`; 0 when the record time is ahead (clocks apart).
pub fn seconds_behind(record_time: Timestamp, now: Timestamp) -> i64 {
    now.micros().saturating_sub(record_time.micros()).max(0) / 1_000_000
}

/// The suspense account's balances, or why they could not be read (beyond Numeric 10,
/// damaged): the rest of the status is what an operator needs to find out why.
async fn suspense_balance(
    store: &Store,
    suspense_account: &str,
) -> (BTreeMap<String, String>, Option<String>) {
    let Some(account) = AccountId::new(suspense_account) else {
        return (BTreeMap::new(), None);
    };
    match store.balances(&account).await {
        Ok(balances) => (
            balances
                .into_iter()
                .map(|(i, a)| (format!("{}/{}", i.admin, i.id), a.to_string()))
                .collect(),
            None,
        ),
        Err(e) => (
            BTreeMap::new(),
            Some(format!("account {suspense_account}: {e}")),
        ),
    }
}

async fn quarantined(store: &Store) -> Result<Vec<QuarantinedReport>, StoreError> {
    Ok(store
        .quarantine(true)
        .await?
        .into_iter()
        .map(|e| {
            let u = e.quarantined.update;
            QuarantinedReport {
                update_id: u.update_id.to_string(),
                offset: u.offset.get(),
                record_time: u.record_time.to_string(),
                error: e.quarantined.error,
            }
        })
        .collect())
}

async fn failed_accepts(store: &Store) -> Result<Vec<FailedAcceptReport>, StoreError> {
    Ok(store
        .failed_deposit_accepts()
        .await?
        .into_iter()
        .map(|f| FailedAcceptReport {
            transfer_instruction: f.record.instruction.to_string(),
            deposit_id: f.deposit.to_string(),
            account: f.account.to_string(),
            instrument: format!("{}/{}", f.instrument.admin, f.instrument.id),
            amount: f.amount.to_string(),
            attempts: f.record.attempts,
            error: f.record.last_error,
            since: f.record.updated_at.to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_time_lag_is_whole_seconds_and_never_negative() {
        let t = |micros| Timestamp::from_micros(micros).unwrap();
        assert_eq!(seconds_behind(t(1_000_000), t(3_999_999)), 2);
        assert_eq!(seconds_behind(t(5_000_000), t(5_000_000)), 0);
        assert_eq!(seconds_behind(t(9_000_000), t(1_000_000)), 0);
    }
}
