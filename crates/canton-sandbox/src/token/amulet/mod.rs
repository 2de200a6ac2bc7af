//! A Canton Coin-like token: Splice `Amulet` holdings administered by a DSO party, minted by the
//! DevNet faucet and moved by 1-step transfers through the receiver's `TransferPreapproval`, or
//! by offers when the receiver has none ([`crate::token::amulet_offer`]).
//!
//! The transaction trees are the real ones node for node (`token-standard.md` §6.3): fetch
//! nodes sit where the real engine fetches, so every reader sees the same node ids and gaps a
//! real participant would show. Two releases are reproduced ([`SpliceRelease`]): Splice 0.6.11+
//! by default (V1 signals and V2 events, [`crate::token::amulet_v2`], checked against the
//! splice-cli-0.6.11 recording), and the older trees of the LocalNet recording
//! (`AmuletRules_Transfer` under every token standard operation). Fees are zero, as on networks
//! after CIP-0078; there is one open mining round that never advances.

use exchange_core::{Amount, Timestamp};

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{CommittedTx, Fetch, Ledger, LedgerError, Node, SyncIdx};
use crate::token::packages;

mod bootstrap;
mod holdings;
mod mint;
mod plan;
mod select;
mod summary;
#[cfg(test)]
mod tests;
mod tree;
mod v2_api;

pub(in crate::token) use plan::TransferPlan;
pub(in crate::token) use select::{ExpiredLock, Spent};
pub(in crate::token) use tree::{RulesTransfer, input_values, transfer_meta, transfer_output};

/// Splice's `transferConfig.maxNumInputs`.
pub const MAX_INPUTS: usize = 100;
pub(crate) const DAY_MICROS: i64 = 86_400_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The Daml code refused the transfer (`DAML_INTERPRETATION_ERROR` on a real node).
    #[error("Interpretation error: Error: {0}")]
    Interpretation(String),
    #[error("{0}")]
    InvalidArgument(String),
}

#[derive(Debug, Clone)]
pub struct AmuletConfig {
    /// Where Canton Coin's contracts live (and its transactions commit): the global synchronizer.
    pub synchronizer: SyncIdx,
    pub round: i64,
    pub rate_per_round: Amount,
    pub amulet_price: Amount,
    /// Which Splice release's transaction trees the token builds.
    pub release: SpliceRelease,
    /// Whether the registry lists `splice-api-token-transfer-instruction-v1` among the
    /// instrument's `supportedApis`, as Scan does (default). `false` is a knob for testing
    /// clients, not anything Scan does: a client that takes V1 whenever offered then pays
    /// Canton Coin through V2's factory (0.6.11), which still implements both interfaces.
    pub advertise_v1_transfers: bool,
}

/// The Splice release whose Amulet the sandbox reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpliceRelease {
    /// Before 0.5.16 (the LocalNet recording in `fixtures/localnet-treasury`): token standard
    /// operations run `AmuletRules_Transfer`, unlocks are `LockedAmulet_Unlock` /
    /// `_OwnerExpireLock`, holdings implement `HoldingV1` only, no V2 events.
    Legacy,
    /// 0.6.11 and later (`fixtures/splice-cli-0.6.11`): V1 signals and V2 events side by side.
    /// No `AmuletRules_Transfer` under token standard operations (the transfer runs inside
    /// the factory, `TransferPreapproval_SendV2` or the instruction), every holding change is
    /// reported by `EventLog_HoldingsChange` (on the `ExternalPartyConfigState`, the
    /// `AmuletRules` for mints, a temporary `AmuletEventLog` around unlocks), holdings
    /// implement `HoldingV1` and `HoldingV2`.
    #[default]
    V0_6_11,
}

impl Default for AmuletConfig {
    fn default() -> Self {
        AmuletConfig {
            synchronizer: 0,
            round: 19,
            rate_per_round: "0.0038051800".parse().expect("valid"),
            amulet_price: "0.0050000000".parse().expect("valid"),
            release: SpliceRelease::default(),
            advertise_v1_transfers: true,
        }
    }
}

/// The token as deployed on the ledger: its admin, the validator that provides preapprovals,
/// and the reference contracts every transfer's context names.
#[derive(Debug, Clone)]
pub struct AmuletToken {
    pub dso: String,
    /// Provider of preapprovals (a validator operator party, as on LocalNet).
    pub provider: String,
    pub amulet_rules: String,
    pub open_round: String,
    pub external_party_rules: String,
    /// The DSO's `ExternalPartyConfigState` (0.6.11: the transfer context and the `EventLog`
    /// token standard transfers report on); empty for [`SpliceRelease::Legacy`].
    pub external_party_config_state: String,
    pub config: AmuletConfig,
}

/// A holding as the token sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub contract_id: String,
    pub owner: String,
    pub amount: Amount,
    pub created_in_round: i64,
}

#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    /// Written to `transfer.meta` under `…/reason` (the exchange's memo).
    pub memo: Option<String>,
    /// Holdings to spend; `None` selects the sender's largest holdings.
    pub inputs: Option<Vec<String>>,
    pub command_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOutcome {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    /// Empty for an offer (the receiver has no preapproval): see `transfer_instruction_cid`.
    pub receiver_holding_cids: Vec<String>,
    pub sender_change_cids: Vec<String>,
    /// The pending `AmuletTransferInstruction` of an offer.
    pub transfer_instruction_cid: Option<String>,
}

impl TransferOutcome {
    /// A transfer that completed in `tx`: the receiver's holdings and the sender's change.
    pub(in crate::token) fn completed(
        tx: &CommittedTx,
        (receiver_holding_cids, sender_change_cids): (Vec<String>, Vec<String>),
    ) -> Self {
        TransferOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            receiver_holding_cids,
            sender_change_cids,
            transfer_instruction_cid: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_id: String,
}

/// The outcome of an ACS import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedAcs {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_ids: Vec<String>,
}

/// 0001-01-01T00:00:00Z, the record time of imported contracts.
pub fn min_time() -> Timestamp {
    Timestamp::from_micros(-62_135_596_800_000_000).expect("0001-01-01 is in range")
}

impl AmuletToken {
    pub fn instrument_id(&self) -> Value {
        Value::record(vec![
            ("admin", Value::party(&self.dso)),
            ("id", Value::text("Amulet")),
        ])
    }

    /// The receiver's active `TransferPreapproval`, if any.
    pub fn preapproval_of(&self, ledger: &Ledger, receiver: &str) -> Option<String> {
        ledger
            .active_of(&packages::transfer_preapproval_template(), receiver)
            .into_iter()
            .find(|c| field(&c.create.argument, "receiver") == Some(&Value::party(receiver)))
            .map(|c| c.create.contract_id.clone())
    }

    /// Whether this release reports V2 events (and holdings implement `HoldingV2`).
    pub fn has_v2_events(&self) -> bool {
        self.config.release == SpliceRelease::V0_6_11
    }
}

pub(in crate::token) fn round_value(n: i64) -> Value {
    Value::record(vec![("number", Value::Int64(n))])
}

/// A record field by name.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Record(fields) => fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v),
        _ => None,
    }
}

/// `(requestedAt, executeBefore)` of a transfer made through the control API, which has no
/// submitted ones: requested just before the ledger time (as a wallet's clock would be), valid
/// for a day.
pub(crate) fn default_times(let_time: Timestamp) -> (Timestamp, Timestamp) {
    let requested_at = let_time.checked_add_micros(-114_871).unwrap_or(let_time);
    let execute_before = requested_at
        .checked_add_micros(DAY_MICROS)
        .unwrap_or(requested_at);
    (requested_at, execute_before)
}

/// A `Fetch` of `contract_id` by `actor`: how Amulet's choices read the rules, the open round and
/// their inputs.
pub(in crate::token) fn fetch_by(contract_id: &str, actor: &str) -> Node {
    Node::Fetch(Fetch {
        contract_id: contract_id.to_owned(),
        acting_parties: parties([actor]),
    })
}
