//! Signing without signing blind: the exchange states what it wants ([`Intent`]), the node
//! prepares a transaction, and [`verify`] decides whether the decoded `PreparedTransaction` is
//! exactly that action and the node's hash is its V2 hash. Only then does a [`Signer`] sign,
//! and it accepts nothing but the [`Verified`] that `verify` returns.
//!
//! What "exactly" means:
//! - metadata: `act_as` is the treasury alone; the synchronizer is the intent's;
//! - one root, the intent's choice (`TransferFactory_Transfer`, `TransferInstruction_Accept`) on
//!   the intent's contract, exercised by the treasury alone, with the intent's arguments (parties,
//!   exact amount, instrument, memo as `transfer.meta`'s only key, inputs as a set, times), or
//!   for a preapproval the lone create of the `TransferPreapprovalProposal`; through the V2
//!   interfaces (a V2-only token) the node must name them and `actors` must be `[treasury]`,
//!   and a V2 transfer's sender and receiver are the parties' basic accounts;
//! - input contracts: only the disclosed ones and the selected holdings, and every selected
//!   holding among them; every node acts on an input contract or one created in the transaction;
//! - effects (default deny): a consuming exercise on a contract the treasury is a signatory or
//!   stakeholder of must spend a declared input (or the instruction being accepted); a create
//!   involving the treasury must be its change or received holding of the intent's instrument,
//!   or for an offer the one locked holding and the one instruction (to the receiver, for the
//!   amount); the treasury spends at most the amount plus `max_fee`; the receiver is paid or
//!   offered the amount; rollback nodes are refused;
//! - the V2 hash of the transaction equals the node's.
//!
//! Holdings are recognised by template (Canton Coin's `Amulet` / `LockedAmulet`, the sandbox's
//! `TokenHolding`; see `templates`): creates of unknown templates involving the treasury are
//! refused.

mod effects;
mod intent;
mod mismatch;
mod onboarding;
mod root;
mod signer;
pub mod templates;
pub mod values;
mod verify;

pub use intent::{
    AcceptIntent, Common, Intent, PreapprovalIntent, REASON_KEY, Standard, TransferIntent,
};
pub use mismatch::Mismatch;
pub use onboarding::{GeneratedTopology, VerifiedOnboarding, verify_onboarding};
pub use signer::{PublicKey, Refused, SignError, Signature, Signer, verify_and_sign};
pub use verify::{Verified, verify, verify_bytes};
