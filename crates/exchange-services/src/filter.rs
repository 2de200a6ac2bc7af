//! The update filter of the guide (`txingestion.rst`): everything the treasury witnesses
//! (wildcard), plus the token-standard interfaces with their views, as `LEDGER_EFFECTS`.

use std::collections::BTreeMap;

use canton_ledger::filters::{EventFormat, Filters, TransactionFormat, UpdateFormat};
use canton_ledger::{CumulativeFilter, TransactionShape};

pub const HOLDING: &str = "#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding";
pub const TRANSFER_FACTORY: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory";
pub const TRANSFER_INSTRUCTION: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction";

/// The treasury's update format.
pub fn treasury_format(party: &str) -> UpdateFormat {
    let cumulative = vec![
        CumulativeFilter::wildcard(false),
        CumulativeFilter::interface(TRANSFER_FACTORY, true, false),
        CumulativeFilter::interface(HOLDING, true, false),
        CumulativeFilter::interface(TRANSFER_INSTRUCTION, true, false),
    ];
    UpdateFormat {
        include_transactions: Some(TransactionFormat {
            event_format: Some(EventFormat {
                filters_by_party: BTreeMap::from([(party.to_owned(), Filters { cumulative })]),
                filters_for_any_party: None,
                verbose: true,
            }),
            transaction_shape: TransactionShape::LedgerEffects,
        }),
        include_reassignments: None,
        include_topology_events: None,
    }
}
