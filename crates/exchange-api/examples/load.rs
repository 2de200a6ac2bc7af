//! A load benchmark of the API over real HTTP: balance reads and withdrawal creation, with
//! requests per second and p50/p99 latency.
//!
//! ```text
//! cargo run --release -p exchange-api --example load -- [DB_URL] [REQUESTS] [CONCURRENCY]
//! ```
//!
//! DB_URL defaults to a SQLite file in a temporary directory; give an empty PostgreSQL
//! database (`postgres://root@127.0.0.1:5432/api_bench`) for the other backend. The DB is
//! seeded with one account per 100 withdrawals and one holding per withdrawal, as ingestion
//! would have written them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use exchange_api::{ApiAuth, ApiConfig, Role, TokenHash};
use exchange_core::changeset::{
    AccountId, ChangeSet, Checkpoint, Deposit, DepositId, DepositState, Effect, Holding,
    IngestedUpdate,
};
use exchange_core::{
    ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};
use exchange_store::Store;

const TOKEN: &str = "bench-token";
const PER_ACCOUNT: usize = 100;

fn amulet() -> InstrumentId {
    InstrumentId {
        admin: PartyId::new("DSO::1220abcd").expect("party"),
        id: "Amulet".into(),
    }
}

/// `accounts` accounts credited with 100 each, and 100 holdings of 1 per account.
async fn seed(store: &Store, accounts: usize) {
    for a in 0..accounts {
        let account = AccountId::new(format!("acc-{a}")).expect("id");
        store
            .create_account(&account, "bench")
            .await
            .expect("account");
        let n = i64::try_from(a).expect("small") + 1;
        let update = IngestedUpdate {
            update_id: UpdateId::new(&format!("u{n}")).expect("id"),
            offset: Offset::new(n).expect("offset"),
            record_time: Timestamp::from_micros(n * 1000).expect("time"),
            synchronizer_id: SynchronizerId::new("global::1220").expect("id"),
        };
        let origin = update.origin();
        let deposit = Deposit {
            id: DepositId::new(format!("d{a}")).expect("id"),
            account: Some(account.clone()),
            instrument: amulet(),
            amount: "100".parse().expect("amount"),
            sender: PartyId::new("alice::1220aa").expect("party"),
            state: DepositState::Credited,
            transfer_instruction: None,
            origin: origin.clone(),
            held_back: None,
        };
        let mut changes = ChangeSet::default();
        changes.ingest(update.clone());
        for h in 0..PER_ACCOUNT {
            changes.effects.push(Effect::HoldingCreated(Holding {
                contract_id: ContractId::new(&format!("00h{a}x{h}")).expect("id"),
                instrument: amulet(),
                amount: "1".parse().expect("amount"),
                lock: None,
                created: origin.clone(),
                held_back: None,
            }));
        }
        let credit = deposit.credit(&origin).expect("credit");
        changes.effects.push(Effect::DepositRecorded(deposit));
        changes.effects.push(Effect::Journal(credit));
        let checkpoint = Checkpoint {
            offset: update.offset,
            last_update: Some(update),
        };
        store.commit(&changes, &checkpoint).await.expect("seed");
    }
}

/// Runs `requests` requests, `concurrency` at a time; prints rps and latency percentiles.
async fn measure<F, Fut>(name: &'static str, requests: usize, concurrency: usize, request: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = reqwest::StatusCode> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (request, next) = (request.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    return latencies;
                }
                let t = Instant::now();
                let status = request(i).await;
                assert!(status.is_success(), "{name} request {i}: {status}");
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{name:<22} {requests:>6} requests, {concurrency:>3} concurrent: {:>8.0} req/s, p50 {:>7.2} ms, p99 {:>7.2} ms",
        requests as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = args
        .next()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let requests: usize = args.next().map_or(2000, |n| n.parse().expect("REQUESTS"));
    let concurrency: usize = args.next().map_or(16, |n| n.parse().expect("CONCURRENCY"));
    let store = Store::open(&url).await.expect("open the DB");
    let accounts = requests.div_ceil(PER_ACCOUNT);
    seed(&store, accounts).await;
    let auth = ApiAuth::new().with(Role::Internal, TokenHash::of(TOKEN));
    let config = ApiConfig {
        treasury_party: Some(PartyId::new("treasury::1220feed").expect("party")),
        ..ApiConfig::default()
    };
    let app = exchange_api::router(store.clone(), auth, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(exchange_api::serve(listener, app, std::future::pending()));
    let http = reqwest::Client::new();
    println!("{:?}, {accounts} accounts", store.backend());

    let (h, b) = (http.clone(), base.clone());
    measure("balance reads", requests, concurrency, move |i| {
        let url = format!("{b}/v1/accounts/acc-{}/balances", i % accounts);
        let request = h.get(url).bearer_auth(TOKEN);
        async move { request.send().await.expect("answer").status() }
    })
    .await;
    let (h, b) = (http.clone(), base.clone());
    measure("withdrawal creation", requests, concurrency, move |i| {
        let body = serde_json::json!({
            "account": format!("acc-{}", i / PER_ACCOUNT),
            "receiver": "bob::1220bb",
            "amount": "1",
            "instrumentId": "Amulet",
        });
        let request = h
            .post(format!("{b}/v1/withdrawals"))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", format!("bench-{i}"))
            .json(&body);
        async move { request.send().await.expect("answer").status() }
    })
    .await;
    store.close().await;
}
