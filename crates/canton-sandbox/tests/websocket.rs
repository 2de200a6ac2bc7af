//! (d) The websocket `GET /v2/updates`: one request frame, untagged answer frames; with
//! `endInclusive` the stream completes and closes, without it the stream tails with checkpoints.

mod common;

use std::time::Duration;

use canton_ledger::JsGetUpdatesResponse;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

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

/// The next text frame as JSON; `None` when the server closed the stream.
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            None | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error: {e}"),
        }
    }
}

async fn seeded() -> (canton_sandbox::Sandbox, Client, String, String) {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.preapproval(&treasury).await;
    client.mint(&alice, "50").await;
    client
        .transfer(json!({"sender": alice, "receiver": treasury, "amount": "10", "memo": "a"}))
        .await
        .ok();
    (sandbox, client, treasury, alice)
}

#[tokio::test]
async fn bounded_stream_completes_with_what_the_list_returns() {
    let (_sandbox, client, treasury, _) = seeded().await;
    let end = client.ledger_end().await;
    let request = updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end));
    let mut socket = open(&client, &request).await;
    let mut frames = Vec::new();
    while let Some(frame) = next_frame(&mut socket).await {
        serde_json::from_value::<JsGetUpdatesResponse>(frame.clone()).expect("an update frame");
        frames.push(frame);
    }
    let list = client.post("/v2/updates", &request).await.ok();
    assert_eq!(Value::Array(frames), list);
}

#[tokio::test]
async fn open_stream_tails_with_checkpoints() {
    let (_sandbox, client, treasury, alice) = seeded().await;
    let end = client.ledger_end().await;
    let request = updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, None);
    let mut socket = open(&client, &request).await;
    // Catch-up: the preapproval and the deposit, then a checkpoint at the ledger end.
    let mut frame = next_frame(&mut socket).await.unwrap();
    let mut transactions = 0;
    while frame["update"].get("Transaction").is_some() {
        transactions += 1;
        frame = next_frame(&mut socket).await.unwrap();
    }
    assert_eq!(transactions, 2);
    assert_eq!(frame["update"]["OffsetCheckpoint"]["value"]["offset"], end);
    // A new deposit arrives while tailing, followed by a new checkpoint.
    client
        .transfer(json!({"sender": alice, "receiver": treasury, "amount": "5", "memo": "b"}))
        .await
        .ok();
    let tx = next_frame(&mut socket).await.unwrap();
    assert_eq!(tx["update"]["Transaction"]["value"]["offset"], end + 1);
    let checkpoint = next_frame(&mut socket).await.unwrap();
    assert_eq!(
        checkpoint["update"]["OffsetCheckpoint"]["value"]["offset"],
        end + 1
    );
    // Time passing without traffic moves the checkpoint's synchronizer time.
    let before =
        checkpoint["update"]["OffsetCheckpoint"]["value"]["synchronizerTimes"][0]["recordTime"]
            .clone();
    client
        .post(
            "/sandbox/control/advance-time",
            &json!({"micros": 60_000_000}),
        )
        .await
        .ok();
    let later = next_frame(&mut socket).await.unwrap();
    let after = &later["update"]["OffsetCheckpoint"]["value"]["synchronizerTimes"][0]["recordTime"];
    assert_ne!(after, &before);
    socket.close(None).await.ok();
}

#[tokio::test]
async fn a_bad_request_gets_an_error_frame() {
    let (_sandbox, client, treasury, _) = seeded().await;
    let end = client.ledger_end().await;
    let request = updates_request(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS", end + 3, None);
    let mut socket = open(&client, &request).await;
    let frame = next_frame(&mut socket).await.unwrap();
    assert_eq!(frame["code"], "OFFSET_AFTER_LEDGER_END");
    assert!(next_frame(&mut socket).await.is_none());
}
