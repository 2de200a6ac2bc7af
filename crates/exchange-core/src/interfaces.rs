//! The token standard's interfaces (CIP-56's V1, CIP-0112's V2), each defined once, in every
//! form the exchange names it: by `Module:Entity` when reading the ledger (package ids change
//! with every release of a token, and normalized recordings use `#package-name:…`
//! references), as `#package-name:Module:Entity` in filters and commands (the node picks the
//! package version it has), and by package name where a node or registry lists packages.
//!
//! The sandbox keeps its own copy on purpose: it is the independent oracle these are tested
//! against.

/// One interface of the token standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    /// The Daml package it ships in, by name: the same across the package's versions.
    pub package_name: &'static str,
    pub module: &'static str,
    pub entity: &'static str,
    /// `Module:Entity`.
    pub qualified_name: &'static str,
    /// `#package-name:Module:Entity`.
    pub by_package_name: &'static str,
}

// The derived forms are spelled out at compile time, so that each can be a `&'static str`.
macro_rules! interface {
    ($package:literal, $module:literal, $entity:literal) => {
        Interface {
            package_name: $package,
            module: $module,
            entity: $entity,
            qualified_name: concat!($module, ":", $entity),
            by_package_name: concat!("#", $package, ":", $module, ":", $entity),
        }
    };
}

pub const HOLDING_V1: Interface = interface!(
    "splice-api-token-holding-v1",
    "Splice.Api.Token.HoldingV1",
    "Holding"
);
pub const TRANSFER_FACTORY_V1: Interface = interface!(
    "splice-api-token-transfer-instruction-v1",
    "Splice.Api.Token.TransferInstructionV1",
    "TransferFactory"
);
pub const TRANSFER_INSTRUCTION_V1: Interface = interface!(
    "splice-api-token-transfer-instruction-v1",
    "Splice.Api.Token.TransferInstructionV1",
    "TransferInstruction"
);
/// A V2-only token's holdings have this view only.
pub const HOLDING_V2: Interface = interface!(
    "splice-api-token-holding-v2",
    "Splice.Api.Token.HoldingV2",
    "Holding"
);
/// A V2-only token's transfers are instructed through this factory.
pub const TRANSFER_FACTORY_V2: Interface = interface!(
    "splice-api-token-transfer-instruction-v2",
    "Splice.Api.Token.TransferInstructionV2",
    "TransferFactory"
);
/// The V2 transfer instruction (an offer): its view has accounts, and `availableActions` in
/// place of V1's `status`; its choices are nonconsuming and take `actors`.
pub const TRANSFER_INSTRUCTION_V2: Interface = interface!(
    "splice-api-token-transfer-instruction-v2",
    "Splice.Api.Token.TransferInstructionV2",
    "TransferInstruction"
);
/// The interface whose `EventLog_HoldingsChange` choice reports holding changes.
pub const EVENT_LOG_V2: Interface = interface!(
    "splice-api-token-transfer-events-v2",
    "Splice.Api.Token.TransferEventsV2",
    "EventLog"
);

impl Interface {
    /// Whether `identifier` (`package:Module:Entity`, by package id or `#package-name`, or a
    /// bare `Module:Entity`) names this interface.
    pub fn matches(&self, identifier: &str) -> bool {
        qualified_name(identifier) == self.qualified_name
    }

    /// `(module, entity)`, as a prepared transaction's identifiers split them.
    pub const fn name(&self) -> (&'static str, &'static str) {
        (self.module, self.entity)
    }
}

/// `Module:Entity` of an identifier `pkg:Module:Entity` (package id or `#package-name`).
pub fn qualified_name(identifier: &str) -> &str {
    match identifier.split_once(':') {
        Some((_package, rest)) if rest.contains(':') => rest,
        _ => identifier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interface_is_matched_by_module_and_entity_whatever_its_package() {
        for id in [
            "718a0f77:Splice.Api.Token.HoldingV1:Holding",
            "#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding",
            "Splice.Api.Token.HoldingV1:Holding",
        ] {
            assert!(HOLDING_V1.matches(id), "{id}");
            assert!(!HOLDING_V2.matches(id), "{id}");
        }
        assert!(!HOLDING_V1.matches("x:Other.HoldingV1:Holding"));
        assert!(!TRANSFER_FACTORY_V1.matches("x:Splice.Api.Token.TransferInstructionV1:Holding"));
    }

    #[test]
    fn the_derived_forms_are_the_ledger_api_spellings() {
        assert_eq!(
            TRANSFER_INSTRUCTION_V2.by_package_name,
            "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferInstruction"
        );
        assert_eq!(
            EVENT_LOG_V2.qualified_name,
            "Splice.Api.Token.TransferEventsV2:EventLog"
        );
        assert_eq!(
            TRANSFER_FACTORY_V1.name(),
            ("Splice.Api.Token.TransferInstructionV1", "TransferFactory")
        );
    }
}
