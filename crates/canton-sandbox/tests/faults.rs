//! Injected Ledger API faults (`POST /sandbox/control/faults`): reproducible from the seed,
//! retryable, confined to the Ledger API, and websocket streams that drop and resume.

mod common;

use std::time::Duration;

use canton_ledger::JsCantonError;
use canton_sandbox::{FaultConfig, Sandbox, SandboxConfig};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A sandbox with `alice` holding `mints` Amulets (one update each).
async fn seeded(mints: usize) -> (Sandbox, Client, String) {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    for i in 0..mints {
        client.mint(&alice, &format!("{}", i + 1)).await;
    }
    (sandbox, client, alice)
}

async fn set_faults(client: &Client, faults: Value) -> Value {
    client.post("/sandbox/control/faults", &faults).await.ok()
}

/// An update frame's offset (`{"update": {"<Kind>": {"value": {"offset": n}}}}`).
fn offset(frame: &Value) -> Option<i64> {
    let update = frame["update"].as_object()?;
    let (_, kind) = update.iter().next()?;
    kind["value"]["offset"].as_i64()
}

fn is_checkpoint(frame: &Value) -> bool {
    frame["update"].get("OffsetCheckpoint").is_some()
}

#[tokio::test]
async fn the_same_seed_gives_the_same_fault_sequence() {
    let (_sandbox, client, _) = seeded(0).await;
    let faults = json!({"seed": 1234, "errorRate": 0.4, "slowRate": 0.2, "slowMs": 2});
    let mut runs = Vec::new();
    for _ in 0..2 {
        // Setting the faults restarts their random stream from the seed.
        let active = set_faults(&client, faults.clone()).await;
        assert_eq!(active["seed"], 1234);
        let mut answers = Vec::new();
        for _ in 0..40 {
            let a = client.get("/v2/state/ledger-end").await;
            let code = (a.status != 200).then(|| a.json()["code"].as_str().unwrap().to_owned());
            answers.push((a.status, code));
        }
        runs.push(answers);
    }
    assert_eq!(runs[0], runs[1]);
    let statuses: Vec<u16> = runs[0].iter().map(|(s, _)| *s).collect();
    for status in [200, 503, 409] {
        assert!(statuses.contains(&status), "no {status} in {statuses:?}");
    }
    // A different seed, a different sequence.
    set_faults(&client, json!({"seed": 4321, "errorRate": 0.4})).await;
    let mut other = Vec::new();
    for _ in 0..40 {
        other.push(client.get("/v2/state/ledger-end").await.status);
    }
    assert_ne!(statuses, other);
}

#[tokio::test]
async fn injected_errors_are_real_retryable_canton_errors_on_the_ledger_api_only() {
    let (_sandbox, client, alice) = seeded(1).await;
    set_faults(&client, json!({"seed": 1, "errorRate": 1.0})).await;
    let a = client.get("/v2/state/ledger-end").await;
    assert!(a.status == 503 || a.status == 409, "{}", a.text);
    let error: JsCantonError = serde_json::from_str(&a.text).expect("a JsCantonError");
    assert!(error.is_retryable(), "{error:?}");
    assert!(error.retry_info.is_some());
    match a.status {
        503 => assert_eq!(
            (error.code.as_str(), error.error_category),
            ("SERVICE_NOT_RUNNING", 1)
        ),
        _ => assert_eq!(
            (error.code.as_str(), error.error_category),
            ("SEQUENCER_BACKPRESSURE", 2)
        ),
    }
    // The control API and the registries still answer.
    client.mint(&alice, "2").await;
    let time = client.get("/sandbox/control/time").await;
    assert_eq!(time.status, 200);
    // `{}` clears.
    assert_eq!(
        set_faults(&client, json!({})).await,
        json!(FaultConfig::default())
    );
    assert_eq!(client.get("/v2/state/ledger-end").await.status, 200);
    // Rates outside [0, 1] are refused.
    let bad = client
        .post("/sandbox/control/faults", &json!({"errorRate": 2}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

#[tokio::test]
async fn faults_from_the_config_apply_from_the_start() {
    let sandbox = Sandbox::start(SandboxConfig {
        faults: FaultConfig {
            seed: 9,
            error_rate: 1.0,
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    assert_ne!(client.get("/v2/state/ledger-end").await.status, 200);
    let active = client
        .post("/sandbox/control/faults", &json!({}))
        .await
        .ok();
    assert_eq!(active, json!(FaultConfig::default()));
}

#[tokio::test]
async fn slow_answers_are_delayed() {
    let (_sandbox, client, _) = seeded(0).await;
    set_faults(&client, json!({"seed": 3, "slowRate": 1.0, "slowMs": 150})).await;
    let started = std::time::Instant::now();
    assert_eq!(client.get("/v2/state/ledger-end").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// Pages through `(0, end]` a few offsets at a time, retrying what the node says is retryable.
async fn read_retrying(client: &Client, party: &str, end: i64) -> (Vec<Value>, usize) {
    let (mut frames, mut retries, mut begin) = (Vec::new(), 0, 0);
    while begin < end {
        let until = (begin + 2).min(end);
        let request = updates_request(
            party,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
            begin,
            Some(until),
        );
        let a = client.post("/v2/updates", &request).await;
        if a.status != 200 {
            let error: JsCantonError = serde_json::from_str(&a.text).expect("a JsCantonError");
            assert!(error.is_retryable(), "not retryable: {}", a.text);
            retries += 1;
            assert!(retries < 200, "retrying forever");
            continue;
        }
        frames.extend(a.json().as_array().unwrap().iter().cloned());
        begin = until;
    }
    (frames, retries)
}

#[tokio::test]
async fn a_client_retrying_through_30_percent_errors_reads_the_whole_stream() {
    let (_sandbox, client, alice) = seeded(12).await;
    let end = client.ledger_end().await;
    let request = updates_request(&alice, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end));
    let expected: Vec<Value> = client
        .post("/v2/updates", &request)
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !is_checkpoint(f))
        .cloned()
        .collect();
    assert_eq!(expected.len(), 12);

    set_faults(
        &client,
        json!({"seed": 30, "errorRate": 0.3, "slowRate": 0.1, "slowMs": 5}),
    )
    .await;
    let (frames, retries) = read_retrying(&client, &alice, end).await;
    assert!(retries > 0, "the seed injected no error");
    let frames: Vec<Value> = frames.into_iter().filter(|f| !is_checkpoint(f)).collect();
    assert_eq!(frames, expected);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(client: &Client, request: &Value) -> Socket {
    let url = format!("{}/v2/updates", client.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    socket
}

/// How a stream ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// A close frame; whether it had a reason.
    Closed { reason: bool },
    /// The connection ended without a close handshake.
    Dropped,
}

/// Every text frame until the server closes or the connection drops; how it ended.
async fn drain(socket: &mut Socket) -> (Vec<Value>, Ending) {
    let mut frames = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            None | Some(Err(_)) => return (frames, Ending::Dropped),
            Some(Ok(Message::Close(reason))) => {
                let reason = reason.is_some();
                return (frames, Ending::Closed { reason });
            }
            Some(Ok(Message::Text(t))) => frames.push(serde_json::from_str(&t).unwrap()),
            Some(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_dropped_websocket_ends_early_and_resuming_from_the_last_offset_completes() {
    let (_sandbox, client, alice) = seeded(7).await;
    let end = client.ledger_end().await;
    let full = updates_request(&alice, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end));
    let expected = client.post("/v2/updates", &full).await.ok();
    let expected = expected.as_array().unwrap();

    set_faults(&client, json!({"seed": 5, "dropWebsocketAfter": 3})).await;
    let mut socket = open(&client, &full).await;
    let (first, ending) = drain(&mut socket).await;
    assert_eq!(first.len(), 3, "dropped after 3 frames");
    assert_eq!(
        ending,
        Ending::Dropped,
        "no close handshake, as a lost connection"
    );
    let mut last = offset(first.last().unwrap()).unwrap();
    assert!(last < end, "the stream ended early");

    // Resume from the last offset seen, through further drops, until the stream completes.
    let mut frames = first;
    for _ in 0..10 {
        if last == end {
            break;
        }
        let resumed = updates_request(&alice, "TRANSACTION_SHAPE_LEDGER_EFFECTS", last, Some(end));
        let mut socket = open(&client, &resumed).await;
        let (more, _) = drain(&mut socket).await;
        assert!(!more.is_empty(), "a resumed stream makes progress");
        last = offset(more.last().unwrap()).unwrap();
        frames.extend(more);
    }
    assert_eq!(last, end);
    assert_eq!(&frames, expected);
}

#[tokio::test]
async fn a_closed_websocket_ends_early_like_a_completed_stream() {
    let (_sandbox, client, alice) = seeded(7).await;
    let end = client.ledger_end().await;
    let full = updates_request(&alice, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end));
    set_faults(&client, json!({"seed": 5, "closeWebsocketAfter": 3})).await;
    let mut socket = open(&client, &full).await;
    let (first, ending) = drain(&mut socket).await;
    assert_eq!(first.len(), 3, "closed after 3 frames");
    assert_eq!(ending, Ending::Closed { reason: false });
    assert!(
        offset(first.last().unwrap()).unwrap() < end,
        "short of the end"
    );

    set_faults(&client, json!({})).await;
    let mut socket = open(&client, &full).await;
    let (_, ending) = drain(&mut socket).await;
    assert_eq!(
        ending,
        Ending::Closed { reason: false },
        "the same as a complete one"
    );
}
