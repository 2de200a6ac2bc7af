//! Streaming benchmark: a sandbox holding the `load` scenario streams the treasury's updates
//! (LEDGER_EFFECTS, the integration guide's filter) to one client, once over the websocket and
//! once over paged `POST /v2/updates` (limit 200), and reports transactions per second and the
//! process's peak memory. Not part of the test run:
//!
//! ```text
//! CARGO_TARGET_DIR=… cargo run --release -p canton-sandbox --example stream_bench -- 100000
//! ```
//!
//! A second argument, `websocket` or `paged`, runs only that client (for profiling one path).

use std::time::Instant;

// The allocator of the `canton-exchange` binary, which serves `sandbox`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn request(party: &str, begin: i64, end: i64) -> Value {
    let iface = |id: &str| {
        json!({"identifierFilter": {"InterfaceFilter": {"value": {
            "interfaceId": id, "includeInterfaceView": true, "includeCreatedEventBlob": false}}}})
    };
    json!({
        "beginExclusive": begin,
        "endInclusive": end,
        "updateFormat": {"includeTransactions": {
            "eventFormat": {"filtersByParty": {party: {"cumulative": [
                {"identifierFilter": {"WildcardFilter": {"value": {"includeCreatedEventBlob": false}}}},
                iface("#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding"),
                iface("#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory"),
            ]}}, "verbose": false},
            "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        }},
    })
}

#[derive(serde::Deserialize)]
struct Last {
    update: LastUpdate,
}

#[derive(serde::Deserialize)]
struct LastUpdate {
    #[serde(rename = "Transaction")]
    transaction: LastValue,
}

#[derive(serde::Deserialize)]
struct LastValue {
    value: LastOffset,
}

#[derive(serde::Deserialize)]
struct LastOffset {
    offset: i64,
}

/// Peak resident set size of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn websocket(base: &str, party: &str, end: i64) -> usize {
    let url = format!("{}/v2/updates", base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    socket
        .send(Message::Text(request(party, 0, end).to_string().into()))
        .await
        .expect("sends");
    let mut transactions = 0;
    while let Some(frame) = socket.next().await {
        match frame.expect("frame") {
            // The client only counts (a real one parses): this measures the server.
            Message::Text(t) => {
                assert!(!t.starts_with("{\"code\""), "error frame: {t}");
                transactions += usize::from(t.starts_with("{\"update\":{\"Transaction\""));
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    transactions
}

async fn paged(base: &str, party: &str, end: i64) -> usize {
    let http = reqwest::Client::new();
    let mut begin = 0;
    let mut transactions = 0;
    while begin < end {
        let body = http
            .post(format!("{base}/v2/updates?limit=200"))
            .json(&request(party, begin, end))
            .send()
            .await
            .expect("answers")
            .bytes()
            .await
            .expect("a body");
        // The client reads only what paging needs (a real one parses): this measures the server.
        let page: Vec<&serde_json::value::RawValue> =
            serde_json::from_slice(&body).expect("a JSON array");
        let Some(last) = page.last() else { break };
        let last: Last = serde_json::from_str(last.get()).expect("a transaction");
        begin = last.update.transaction.value.offset;
        transactions += page.len();
    }
    transactions
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("a number of transactions"));
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Load { transactions: n },
        ..Default::default()
    })
    .await
    .expect("starts");
    let end = sandbox.ledger_end();
    println!(
        "load scenario: {n} transfers, ledger end {end}, ready in {:.1} s, peak RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    let treasury = sandbox
        .parties()
        .treasury
        .clone()
        .expect("load has a treasury");
    let base = sandbox.ledger_api_url();
    let only = std::env::args().nth(2);
    for (name, run) in [("websocket", 0), ("POST /v2/updates limit=200", 1)] {
        let key = if run == 0 { "websocket" } else { "paged" };
        if only.as_deref().is_some_and(|o| o != key) {
            continue;
        }
        let t = Instant::now();
        let count = if run == 0 {
            websocket(&base, &treasury, end).await
        } else {
            paged(&base, &treasury, end).await
        };
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name}: {count} transactions in {secs:.2} s = {:.0} tx/s; peak RSS {:.0} MiB",
            count as f64 / secs,
            peak_rss_mib()
        );
    }
    sandbox.shutdown().await;
}
