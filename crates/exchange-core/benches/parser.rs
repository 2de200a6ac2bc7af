//! Parser throughput on the real recordings: JSON text to typed transaction to parsed events,
//! as ingestion does it for every update.

use std::path::PathBuf;

use canton_ledger::Update;
use canton_ledger::recording::read_element;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exchange_core::{HoldingBook, PartyId, parse_transaction};

fn elements(file: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    all.iter().map(|v| v.to_string()).collect()
}

fn parse_all(elements: &[String], party: &PartyId, book: &HoldingBook) -> usize {
    let mut transfers = 0;
    for e in elements {
        if let Update::Transaction(t) = read_element(e).unwrap() {
            transfers += parse_transaction(&t.value, party, book)
                .unwrap()
                .transfers
                .len();
        }
    }
    transfers
}

fn bench(c: &mut Criterion) {
    let treasury = PartyId::new(
        "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8",
    )
    .unwrap();
    let book = HoldingBook::default();
    let localnet = elements("localnet-treasury/one-step-deposit-and-withdraw.json");

    let mut group = c.benchmark_group("parser");
    let deposit = &localnet[..1];
    group.throughput(Throughput::Bytes(deposit[0].len() as u64));
    group.bench_function("localnet deposit (bytes)", |b| {
        b.iter(|| parse_all(deposit, &treasury, &book))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("localnet deposit (transactions)", |b| {
        b.iter(|| parse_all(deposit, &treasury, &book))
    });

    // The two halves, to see where the time goes.
    let Update::Transaction(deposit_tx) = read_element(&deposit[0]).unwrap() else {
        unreachable!()
    };
    group.bench_function("localnet deposit, JSON to typed only", |b| {
        b.iter(|| read_element(&deposit[0]).unwrap())
    });
    group.bench_function("localnet deposit, typed to parsed only", |b| {
        b.iter(|| parse_transaction(&deposit_tx.value, &treasury, &book).unwrap())
    });

    let splice = elements("localnet-treasury/splice-test-cases.json");
    let normalized = PartyId::new("treasury::normalized").unwrap();
    group.throughput(Throughput::Bytes(
        splice.iter().map(String::len).sum::<usize>() as u64,
    ));
    group.bench_function("splice test cases, 31 txs (bytes)", |b| {
        b.iter(|| parse_all(&splice, &normalized, &book))
    });
    group.throughput(Throughput::Elements(splice.len() as u64));
    group.bench_function("splice test cases, 31 txs (transactions)", |b| {
        b.iter(|| parse_all(&splice, &normalized, &book))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
