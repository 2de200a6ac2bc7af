//! Package ids and identifiers of the templates and interfaces the sandbox knows.
//!
//! The token-standard interface package ids are the released v1.0.0 ones (`token-standard.md`
//! §1); the `splice-amulet` id is the one in the LocalNet recording. Readers must match on
//! `Module:Entity` only (template package ids change with every Splice release), so the exact
//! id matters less than its shape, but real ids keep recordings comparable.

use std::sync::LazyLock;

use crate::model::Identifier;

/// One shared instance per identifier (they are named by every node of every transaction).
macro_rules! cached {
    ($build:expr) => {{
        static ID: LazyLock<Identifier> = LazyLock::new(|| $build);
        ID.clone()
    }};
}

pub const SPLICE_AMULET_PACKAGE_ID: &str =
    "3ca1343ab26b453d38c8adb70dca5f1ead8440c42b59b68f070786955cbf9ec1";
pub const SPLICE_AMULET_PACKAGE_NAME: &str = "splice-amulet";
pub const HOLDING_V1_PACKAGE_ID: &str =
    "718a0f77e505a8de22f188bd4c87fe74101274e9d4cb1bfac7d09aec7158d35b";
pub const TRANSFER_INSTRUCTION_V1_PACKAGE_ID: &str =
    "55ba4deb0ad4662c4168b39859738a0e91388d252286480c7331b3f71a517281";
/// Token standard V2 (CIP-0112) interface packages, the released 1.0.0 ones
/// (`reference/token-standard-v2/dars/`, first shipped with Splice 0.6.11).
pub const HOLDING_V2_PACKAGE_ID: &str =
    "4b7ecfc366d79ccc5ed07c80f26fe489cf2dfd43ce2856c06a78e6a048db7032";
pub const TRANSFER_EVENTS_V2_PACKAGE_ID: &str =
    "5c1097a9bad0af4bcfe6d3fb0fe55112d3d11f18eae57ddfb14c20836fee226c";
pub const TRANSFER_INSTRUCTION_V2_PACKAGE_ID: &str =
    "29317e3b7b165d2bbf16721bcca0ec4869e53eddb2738bddf790d61af28e0099";
pub const ALLOCATION_V2_PACKAGE_ID: &str =
    "051a3b0563a6fa4df4cb34448081e48b061e555aa1a265abf6ae8f3f4cafe439";

fn amulet(module: &str, entity: &str) -> Identifier {
    Identifier::new(
        SPLICE_AMULET_PACKAGE_ID,
        SPLICE_AMULET_PACKAGE_NAME,
        module,
        entity,
    )
}

pub fn amulet_template() -> Identifier {
    cached!(amulet("Splice.Amulet", "Amulet"))
}

pub fn amulet_rules_template() -> Identifier {
    cached!(amulet("Splice.AmuletRules", "AmuletRules"))
}

pub fn transfer_preapproval_template() -> Identifier {
    cached!(amulet("Splice.AmuletRules", "TransferPreapproval"))
}

pub fn locked_amulet_template() -> Identifier {
    cached!(amulet("Splice.Amulet", "LockedAmulet"))
}

pub fn amulet_transfer_instruction_template() -> Identifier {
    cached!(amulet(
        "Splice.AmuletTransferInstruction",
        "AmuletTransferInstruction",
    ))
}

pub fn open_mining_round_template() -> Identifier {
    cached!(amulet("Splice.Round", "OpenMiningRound"))
}

pub fn external_party_amulet_rules_template() -> Identifier {
    cached!(amulet(
        "Splice.ExternalPartyAmuletRules",
        "ExternalPartyAmuletRules",
    ))
}

pub fn holding_interface() -> Identifier {
    cached!(Identifier::new(
        HOLDING_V1_PACKAGE_ID,
        "splice-api-token-holding-v1",
        "Splice.Api.Token.HoldingV1",
        "Holding",
    ))
}

pub fn holding_v2_interface() -> Identifier {
    cached!(Identifier::new(
        HOLDING_V2_PACKAGE_ID,
        "splice-api-token-holding-v2",
        "Splice.Api.Token.HoldingV2",
        "Holding",
    ))
}

/// `TransferEventsV2.EventLog`, whose `EventLog_HoldingsChange` reports holding changes.
pub fn event_log_interface() -> Identifier {
    cached!(Identifier::new(
        TRANSFER_EVENTS_V2_PACKAGE_ID,
        "splice-api-token-transfer-events-v2",
        "Splice.Api.Token.TransferEventsV2",
        "EventLog",
    ))
}

fn transfer_instruction_v2(entity: &str) -> Identifier {
    Identifier::new(
        TRANSFER_INSTRUCTION_V2_PACKAGE_ID,
        "splice-api-token-transfer-instruction-v2",
        "Splice.Api.Token.TransferInstructionV2",
        entity,
    )
}

pub fn transfer_factory_v2_interface() -> Identifier {
    cached!(transfer_instruction_v2("TransferFactory"))
}

pub fn transfer_instruction_v2_interface() -> Identifier {
    cached!(transfer_instruction_v2("TransferInstruction"))
}

/// The DSO's external-party config (0.6.11+): the `EventLog` token-standard transfers report on.
pub fn external_party_config_state_template() -> Identifier {
    cached!(amulet(
        "Splice.ExternalPartyConfigState",
        "ExternalPartyConfigState",
    ))
}

/// The temporary `EventLog` Amulet creates and archives around an unlock.
pub fn amulet_event_log_template() -> Identifier {
    cached!(amulet("Splice.AmuletEventLog", "AmuletEventLog"))
}

fn transfer_instruction_v1(entity: &str) -> Identifier {
    Identifier::new(
        TRANSFER_INSTRUCTION_V1_PACKAGE_ID,
        "splice-api-token-transfer-instruction-v1",
        "Splice.Api.Token.TransferInstructionV1",
        entity,
    )
}

pub fn transfer_factory_interface() -> Identifier {
    cached!(transfer_instruction_v1("TransferFactory"))
}

pub fn transfer_instruction_interface() -> Identifier {
    cached!(transfer_instruction_v1("TransferInstruction"))
}

/// `splice-wallet`'s package id as a LocalNet participant reports it (the Wallet SDK's prepared
/// `TransferPreapprovalProposal`, `specs/canton/test-vectors/wallet-sdk-prepared-transactions.json`).
pub const SPLICE_WALLET_PACKAGE_ID: &str =
    "eb6e01efacc3397e23c6be8b9be7db4bf37672211974d69e24b48980e2f98b7e";

pub fn transfer_preapproval_proposal_template() -> Identifier {
    cached!(Identifier::new(
        SPLICE_WALLET_PACKAGE_ID,
        "splice-wallet",
        "Splice.Wallet.TransferPreapproval",
        "TransferPreapprovalProposal",
    ))
}

/// Metadata keys (`token-standard.md` §4).
pub mod meta {
    pub const REASON: &str = "splice.lfdecentralizedtrust.org/reason";
    pub const SENDER: &str = "splice.lfdecentralizedtrust.org/sender";
    pub const TX_KIND: &str = "splice.lfdecentralizedtrust.org/tx-kind";
    pub const CREATED_IN_ROUND: &str = "amulet.splice.lfdecentralizedtrust.org/created-in-round";
    pub const RATE_PER_ROUND: &str = "amulet.splice.lfdecentralizedtrust.org/rate-per-round";
}
