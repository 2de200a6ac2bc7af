#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use canton_ledger::Update;
use canton_ledger::recording::read_element;
use exchange_core::{HoldingBook, PartyId, parse_transaction};
fn main() {
    let text = std::fs::read_to_string(
        "../shared/fixtures/localnet-treasury/one-step-deposit-and-withdraw.json",
    )
    .unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let deposit = all[0].to_string();
    let party = PartyId::new(
        "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8",
    )
    .unwrap();
    let book = HoldingBook::default();
    let mut n = 0;
    for _ in 0..2000 {
        if let Update::Transaction(t) = read_element(&deposit).unwrap() {
            n += parse_transaction(&t.value, &party, &book)
                .unwrap()
                .transfers
                .len();
        }
    }
    println!("{n} {}", deposit.len());
}
