//! A fixed amount of parser work, for counting instructions with
//! `valgrind --tool=callgrind` (stable where wall-clock timings on a shared machine are not):
//! the recorded transactions are decoded once, then parsed `ROUNDS` times from typed to parsed,
//! as ingestion does with the onboarded tokens at hand.
//!
//! `parser_instructions v1` parses the LocalNet V1 recordings (the V1 path: no V2 events);
//! `parser_instructions v2` the splice-cli 0.6.11 recording (Canton Coin with V1 and V2).

use std::path::PathBuf;

use canton_ledger::recording::read_updates;
use canton_ledger::{JsTransaction, Update};
use exchange_core::book::WithOnboarded;
use exchange_core::tokens::{Onboarded, OnboardedToken, TokenTransferKind};
use exchange_core::{HoldingBook, InstrumentId, PartyId, parse_transaction};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 200;

fn transactions(file: &str) -> Vec<JsTransaction> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_updates(&text)
        .unwrap()
        .into_iter()
        .filter_map(|u| match u {
            Update::Transaction(t) => Some(t.value),
            _ => None,
        })
        .collect()
}

fn onboarded(admin: &str) -> Onboarded {
    Onboarded::new([OnboardedToken {
        instrument: InstrumentId {
            admin: PartyId::new(admin).unwrap(),
            id: "Amulet".into(),
        },
        registry_url: String::new(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: Default::default(),
    }])
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "v1".into());
    let (sets, dso): (Vec<(Vec<JsTransaction>, &str)>, &str) = match mode.as_str() {
        "v1" => (
            vec![
                (
                    transactions("localnet-treasury/one-step-deposit-and-withdraw.json"),
                    "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8",
                ),
                (
                    transactions("localnet-treasury/splice-test-cases.json"),
                    "treasury::normalized",
                ),
            ],
            "DSO::12209431d07c316412c8f76bb30f1c75bd0b6b05ff5b69fd7975b139a8e03ee18c36",
        ),
        "v2" => (
            vec![(
                transactions("splice-cli-0.6.11/txs.json"),
                "alice::normalized",
            )],
            "dso::normalized",
        ),
        other => panic!("mode {other}: v1 or v2"),
    };
    let onboarded = onboarded(dso);
    let book = HoldingBook::default();
    let lookup = WithOnboarded(&book, &onboarded);
    let mut transfers = 0;
    for _ in 0..ROUNDS {
        for (txs, party) in &sets {
            let party = PartyId::new(party).unwrap();
            for tx in txs {
                transfers += parse_transaction(tx, &party, &lookup)
                    .unwrap()
                    .transfers
                    .len();
            }
        }
    }
    println!("{mode}: {transfers} transfers in {ROUNDS} rounds");
}
