//! Shared helpers for tests that read the real recordings in `../shared/fixtures/`.
#![allow(dead_code)]

use std::path::PathBuf;

use canton_ledger::recording::read_updates;
use canton_ledger::{JsTransaction, Update};
use exchange_core::{ContractLookup, HoldingBook, ParsedTransaction, PartyId, parse_transaction};

/// `../shared` beside the project root; `None` (with a note) when it is missing outside CI.
/// In CI a missing folder fails the test: a fixture test must never pass silently.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.join("fixtures").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the real recordings are missing: expected {}",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: the real recordings are missing: expected {}",
        dir.display()
    );
    None
}

pub fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The transactions of a recording (other elements are skipped).
pub fn transactions(path: &PathBuf) -> Vec<JsTransaction> {
    read_updates(&read(path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .filter_map(|u| match u {
            Update::Transaction(t) => Some(t.value),
            _ => None,
        })
        .collect()
}

/// Parses a recording in order, resolving archives from the book of what came before and then
/// from `extra`; returns every parsed transaction and the final book.
pub fn replay(
    txs: &[JsTransaction],
    party: &PartyId,
    extra: &dyn ContractLookup,
) -> (Vec<ParsedTransaction>, HoldingBook) {
    let mut book = HoldingBook::default();
    let mut parsed = Vec::new();
    for tx in txs {
        let p = parse_transaction(tx, party, &exchange_core::book::Fallback(&book, extra))
            .unwrap_or_else(|e| panic!("{e}"));
        book.apply(&p);
        parsed.push(p);
    }
    (parsed, book)
}

pub fn party(s: &str) -> PartyId {
    PartyId::new(s).unwrap()
}
