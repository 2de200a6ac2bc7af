//! The update filter of the guide (`txingestion.rst`): everything the treasury witnesses
//! (wildcard), plus the token-standard interfaces with their views, as `LEDGER_EFFECTS`.
//!
//! The views asked for are V1's and V2's (CIP-0112): a V2-only token's holdings and offers have
//! `HoldingV2` / `TransferInstructionV2` views only, and without asking for those a node sends
//! none. A node without the V2 interface packages (Splice before 0.6.11) refuses a filter that
//! names them (`PACKAGE_NAMES_NOT_FOUND`); [`negotiate`] then falls back to V1's views alone,
//! with a warning: no token on such a node can be V2-only.

use std::collections::BTreeMap;

use canton_ledger::client::{ClientError, LedgerClient};
use canton_ledger::filters::{EventFormat, Filters, TransactionFormat, UpdateFormat};
use canton_ledger::updates::GetUpdatesRequest;
use canton_ledger::{CumulativeFilter, TransactionShape};

use exchange_core::interfaces::{
    HOLDING_V1, HOLDING_V2, TRANSFER_FACTORY_V1, TRANSFER_INSTRUCTION_V1, TRANSFER_INSTRUCTION_V2,
};

use crate::source::Source;

/// The package names of the V2 interfaces the filter names.
const V2_PACKAGE_NAMES: [&str; 2] = [
    HOLDING_V2.package_name,
    TRANSFER_INSTRUCTION_V2.package_name,
];

/// The error a node answers a filter naming packages it does not have with.
pub const PACKAGE_NAMES_NOT_FOUND: &str = "PACKAGE_NAMES_NOT_FOUND";

/// Which token standards' views the filter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Views {
    /// V1 and V2: the default.
    V1AndV2,
    /// V1 only: for a node without the V2 interface packages.
    V1Only,
}

/// The treasury's update format, with V1's and V2's views.
pub fn treasury_format(party: &str) -> UpdateFormat {
    treasury_format_with(party, Views::V1AndV2)
}

pub fn treasury_format_with(party: &str, views: Views) -> UpdateFormat {
    let mut cumulative = vec![
        CumulativeFilter::wildcard(false),
        CumulativeFilter::interface(TRANSFER_FACTORY_V1.by_package_name, true, false),
        CumulativeFilter::interface(HOLDING_V1.by_package_name, true, false),
        CumulativeFilter::interface(TRANSFER_INSTRUCTION_V1.by_package_name, true, false),
    ];
    if views == Views::V1AndV2 {
        cumulative.push(CumulativeFilter::interface(
            HOLDING_V2.by_package_name,
            true,
            false,
        ));
        cumulative.push(CumulativeFilter::interface(
            TRANSFER_INSTRUCTION_V2.by_package_name,
            true,
            false,
        ));
    }
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

/// Whether `e` is the node saying it has none of the V2 interface packages the filter names.
pub fn lacks_v2_packages(e: &ClientError) -> bool {
    match e {
        ClientError::Api { error, .. } => {
            error.code == PACKAGE_NAMES_NOT_FOUND
                && V2_PACKAGE_NAMES.iter().any(|n| error.cause.contains(n))
        }
        _ => false,
    }
}

/// The treasury's update format for reading from `source`: negotiated with a node
/// ([`negotiate`]); a recording is read as it was recorded.
pub async fn treasury_format_for(
    source: &Source,
    party: &str,
) -> Result<UpdateFormat, ClientError> {
    let views = match source {
        Source::Ledger { client, .. } => negotiate(client, party).await?,
        Source::File(_) => Views::V1AndV2,
    };
    Ok(treasury_format_with(party, views))
}

/// The treasury's update format this node serves: V1's and V2's views, or V1's alone (with a
/// logged warning) when the node refuses the V2 interfaces as unknown packages. Asked with an
/// empty range at the ledger end, so nothing is read. Any other error is the caller's: the
/// reads that follow meet it again and handle it as they handle any error.
pub async fn negotiate(client: &LedgerClient, party: &str) -> Result<Views, ClientError> {
    let end = client.ledger_end().await?;
    probe_views(client, party, end).await
}

/// [`negotiate`]'s one question, at offset `end` (the ledger end): one request, so that a
/// caller can retry it on its own.
pub async fn probe_views(
    client: &LedgerClient,
    party: &str,
    end: i64,
) -> Result<Views, ClientError> {
    let probe = GetUpdatesRequest {
        begin_exclusive: end,
        end_inclusive: Some(end),
        update_format: Some(treasury_format(party)),
        ..GetUpdatesRequest::default()
    };
    match client.updates_page(&probe, 1, None).await {
        Ok(_) => Ok(Views::V1AndV2),
        Err(e) if lacks_v2_packages(&e) => {
            tracing::warn!(
                "the node has no token standard V2 interface packages ({e}); reading V1 views \
                 only: tokens that are V2-only cannot be seen on this node"
            );
            Ok(Views::V1Only)
        }
        Err(e) => Err(e),
    }
}
