//! Tokens the sandbox hosts, as Daml-like templates whose choices build real transaction trees.

pub mod amulet;
pub mod amulet_instruction;
pub mod amulet_offer;
mod amulet_v2;
pub mod counterfeit;
pub mod events;
pub mod offer;
pub mod offer_v2;
pub mod packages;
pub mod preapproval;
pub mod result;
pub mod self_transfer;

pub use amulet::{
    AmuletConfig, AmuletToken, Holding, ImportedAcs, SpliceRelease, TokenError, TransferOutcome,
    TransferRequest,
};
pub use offer::{InstructionChoice, OfferRequest, OfferToken};
