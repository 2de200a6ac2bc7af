//! Optional bearer auth: with `auth_token` set, the Ledger API wants the token (header, or the
//! `jwt.token.` websocket subprotocol) and answers 401 `JsCantonError`s without it; the control
//! API and the registries stay open.

mod common;

use canton_sandbox::{Sandbox, SandboxConfig};
use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn the_ledger_api_wants_the_token_and_the_control_api_does_not() {
    let sandbox = Sandbox::start(SandboxConfig {
        auth_token: Some("s3cret".into()),
        ..Default::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    let http = reqwest::Client::new();
    let url = format!("{}/v2/state/ledger-end", client.base);

    let none = client.get("/v2/state/ledger-end").await;
    assert_eq!(none.status, 401, "{}", none.text);
    let error = none.json();
    assert_eq!(error["code"], "UNAUTHENTICATED");
    assert_eq!(error["errorCategory"], 6);
    assert_eq!(error["context"]["ledger_api_error"], "invalid token");
    let wrong = http.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(right.status(), 200);

    // Open: the control API (a sandbox-only tool) and the registry.
    let party = client.party("alice").await;
    assert!(party.starts_with("alice::"));
    let registry = &sandbox.info().tokens[0].registry_url;
    let info = reqwest::get(format!("{registry}/registry/metadata/v1/info"))
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    // Websocket: the token as a subprotocol.
    let ws_url = format!("{}/v2/updates", client.base.replacen("http", "ws", 1));
    let mut request = ws_url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "jwt.token.s3cret, daml.ws.auth".parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connects with the token");
    assert_eq!(response.headers()["sec-websocket-protocol"], "daml.ws.auth");
    socket
        .send(Message::Text(
            updates_request(&party, "TRANSACTION_SHAPE_ACS_DELTA", 0, Some(0))
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    // The bounded stream ends (empty range): a close frame or the end of the stream.
    let _ = socket.next().await;
    let refused = tokio_tungstenite::connect_async(ws_url.as_str()).await;
    assert!(refused.is_err(), "no token, no upgrade");
}
