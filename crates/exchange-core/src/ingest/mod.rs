//! Ingestion's fold, pure: one parsed transaction plus what the Integration DB already knows
//! becomes the [`ChangeSet`](crate::changeset::ChangeSet) that brings the DB up to date with it.
//!
//! The service around it (`exchange-services`) streams, parses, asks the store for the
//! [`Known`] state a batch needs ([`Needs`]), folds transaction by transaction (absorbing each
//! change set into `Known`, so later transactions of the batch see earlier ones), and commits
//! the batch with its checkpoint in one DB transaction.
//!
//! Each module owns one thing:
//! - `config`: what the fold is told ([`FoldConfig`], [`SkipRule`]).
//! - `known`: what it reads ([`IngestState`], [`Known`], and how a change set updates `Known`).
//! - `needs`: what the store must load for a batch; `lookup`: the parser's view of the state.
//! - `fold`: one transaction's holdings, offers and anomalies, and the skip rule; `deposits`
//!   and `withdrawals`: what a transfer does to the deposit or withdrawal it carries.
//! - `ids`: the deposit and withdrawal ids, derived from ledger data.
//! - `transition`: a withdrawal's transition with its refund and release.
//! - `expiry`: deadlines that pass by record time alone.
//!
//! # Invariants
//! - **Exactly once.** A transaction already reflected in the state folds to an empty change
//!   set: by the skip rule (record time at or before its synchronizer's last ingested one, or
//!   its update id is already ingested), and, below that, effect by effect (a holding known is
//!   not created again, a deposit known is not recorded again, a withdrawal already in the
//!   target state does not move).
//! - **Deterministic ids.** A deposit's id comes from ledger data only: the transfer
//!   instruction's contract id for multi-step deposits, `update id:node id` for 1-step ones.
//!   Replaying the same history after a DB restore yields the same ids, and the store refuses
//!   a second credit of one id.
//! - **Nothing is dropped silently.** Data the fold cannot place (an unexplained change of the
//!   treasury's holdings, a withdrawal moving backwards, an offer's fate with no terms) is
//!   returned as an [`Anomaly`] carrying the update id; the service logs it, and stops in
//!   strict mode.

mod config;
mod deposits;
mod expiry;
mod fold;
mod ids;
mod known;
mod lookup;
mod needs;
mod transition;
mod withdrawals;

pub use config::{FoldConfig, SUSPENSE_ACCOUNT, SkipRule};
pub use expiry::{LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS, expire_due};
pub use fold::{Anomaly, Folded, fold, fold_quarantined, is_ingested, quarantine};
pub use ids::offer_deposit_id;
pub use known::{IngestState, Known, KnownHolding, KnownWithdrawal};
pub use lookup::StateLookup;
pub use needs::Needs;
pub use transition::{InvalidTransition, transition_effects};
