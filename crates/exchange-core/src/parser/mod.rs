//! The token-standard transaction parser: one `JsTransaction` (`LEDGER_EFFECTS`), read as one
//! party (the treasury), becomes what it means for that party.
//!
//! The walk follows the integration guide (`txingestion.rst`): events are visited in node order;
//! the first exercise that the token standard explains (a transfer-factory choice, a transfer
//! instruction choice, or any choice whose result metadata carries a `tx-kind`) accounts for its
//! whole subtree, and the walk resumes after `lastDescendantNodeId`. Exercises nothing explains
//! are descended into. Amounts come from the party's own holding creates and archives, never
//! from labels alone, and anything that changes the party's holdings without an explanation is
//! reported as [`Unexplained`] instead of being dropped.
//!
//! Archived holdings are resolved through a [`ContractLookup`] the caller provides (its own
//! UTXO store), plus the creates of the same transaction. An archive nobody can resolve is not
//! the party's as long as the lookup knows every holding the party ever had; such archives are
//! listed in [`ParsedTransaction::unresolved_archives`] for diagnosis.
//!
//! Works for any token-standard registry: templates and interfaces are matched by
//! `Module:Entity`, Canton Coin choice names are never relied upon.

//! Since CIP-0112 (token standard V2) an instrument admin also reports every change to an
//! account's holdings as an `EventLog_HoldingsChange` event. Per transaction and instrument, the
//! party's V2 events are used when they can be trusted (see [`v2`]): their transfer legs replace
//! the V1 reading of that instrument's movements, each transfer saying which standard it was read
//! from ([`Transfer::read_from`]). Otherwise the V1 reading stands, and events that failed the
//! checks are listed in [`ParsedTransaction::untrusted_events`], never credited.

mod nodes;
mod types;
pub mod v2;
mod v2_merge;
mod walk;
mod walk_choices;

use canton_ledger::JsTransaction;

pub use types::*;

use crate::token_standard::{Holding, TransferInstruction};
use crate::tokens::Onboarded;
use crate::{Offset, PartyId, SynchronizerId, Timestamp, UpdateId};
use nodes::{decode_nodes, possibly_own_archives};
use walk::Walk;

/// Resolves contracts that a transaction consumes but does not create.
pub trait ContractLookup {
    /// A holding by contract id, whoever owns it; `None` if unknown.
    fn holding(&self, contract_id: &str) -> Option<Holding>;
    /// A transfer instruction by contract id; `None` if unknown.
    fn instruction(&self, contract_id: &str) -> Option<TransferInstruction>;
    /// The instruments the operator onboarded, against which V2 events are judged; `None` when
    /// the caller cannot say (then V2 events are not read at all, and the V1 reading stands).
    fn onboarded(&self) -> Option<&Onboarded> {
        None
    }
}

/// A lookup that knows nothing: every archive stays unresolved.
pub struct NoLookup;

impl ContractLookup for NoLookup {
    fn holding(&self, _: &str) -> Option<Holding> {
        None
    }
    fn instruction(&self, _: &str) -> Option<TransferInstruction> {
        None
    }
}

/// Why a transaction could not be parsed. Carries the update id for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "update {}{}: {}",
    canton_ledger::quote::quote(update_id),
    node_id.map(|n| format!(" node {n}")).unwrap_or_default(),
    canton_ledger::quote::cut(reason)
)]
pub struct ParseError {
    pub update_id: String,
    pub node_id: Option<i32>,
    pub reason: String,
}

/// Parses one transaction as seen by `party`.
pub fn parse_transaction(
    tx: &JsTransaction,
    party: &PartyId,
    lookup: &dyn ContractLookup,
) -> Result<ParsedTransaction, ParseError> {
    let fail = |node_id: Option<i32>, reason: String| ParseError {
        update_id: tx.update_id.clone(),
        node_id,
        reason,
    };
    fn header<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }
    let mut out = ParsedTransaction {
        update_id: header(UpdateId::new(&tx.update_id)).map_err(|e| fail(None, e))?,
        offset: header(Offset::new(tx.offset)).map_err(|e| fail(None, e))?,
        record_time: header(tx.record_time.parse::<Timestamp>()).map_err(|e| fail(None, e))?,
        synchronizer_id: header(SynchronizerId::new(&tx.synchronizer_id))
            .map_err(|e| fail(None, e))?,
        holdings_created: Vec::new(),
        holdings_archived: Vec::new(),
        holding_changes: Vec::new(),
        instructions_created: Vec::new(),
        instructions_consumed: Vec::new(),
        transfers: Vec::new(),
        unexplained: Vec::new(),
        unresolved_archives: Vec::new(),
        possibly_own_archives: Vec::new(),
        untrusted_events: Vec::new(),
        read_from_v2: Vec::new(),
    };

    let (nodes, has_v2) = decode_nodes(tx, lookup, &mut out).map_err(|(n, e)| fail(Some(n), e))?;

    let mut walk = Walk {
        party,
        lookup,
        nodes: &nodes,
        out: &mut out,
        party_inputs: Vec::new(),
    };
    walk.run().map_err(|(n, e)| fail(Some(n), e))?;
    let inputs = walk.party_inputs;
    if !out.unresolved_archives.is_empty() || !inputs.is_empty() {
        out.possibly_own_archives =
            possibly_own_archives(&nodes, party, &out.unresolved_archives, &inputs);
    }
    out.holding_changes = holding_changes(&out.holdings_created, &out.holdings_archived)
        .map_err(|e| fail(None, e))?;
    // The V1 path pays for V2 only with the `has_v2` flag set while decoding the nodes.
    if let (true, Some(onboarded)) = (has_v2, lookup.onboarded()) {
        let reading = v2::read(&nodes, party, onboarded, &out.holding_changes)
            .map_err(|(n, e)| fail(Some(n), e))?;
        v2_merge::apply(&mut out, reading);
    }
    Ok(out)
}

type NodeError = (i32, String);
