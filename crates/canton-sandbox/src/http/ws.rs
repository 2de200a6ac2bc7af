//! Websocket `GET /v2/updates` (`ledger-api.md` §2.7): the client sends one `GetUpdatesRequest`
//! text frame; the server answers with one untagged text frame per element (an update or a
//! `JsCantonError`). With `endInclusive` the stream completes and the socket closes; without it
//! the socket tails, sending an `OffsetCheckpoint` whenever it has caught up and the ledger end
//! or the synchronizer time moved.

use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use canton_ledger::{ErrorCategory, GetUpdatesRequest};

use crate::http::auth::TokenExpiry;

use crate::http::error::{ApiError, decode};
use crate::http::updates::{Cursor, UpdatesQuery};
use crate::http::{AppState, WebsocketCut};

/// Elements read per lock acquisition, so a long catch-up does not starve writers.
const BATCH: usize = 100;

/// What a node closes a stream with when its token expires (the client's constant too).
pub const ACCESS_TOKEN_EXPIRED: &str = "ACCESS_TOKEN_EXPIRED";

/// The server echoes the `daml.ws.auth` subprotocol clients send along with their token.
pub async fn updates_websocket(
    State(s): State<AppState>,
    expiry: Option<Extension<TokenExpiry>>,
    ws: WebSocketUpgrade,
) -> Response {
    let expires = expiry.map(|Extension(TokenExpiry(at))| at);
    ws.protocols(["daml.ws.auth"])
        .on_upgrade(move |socket| stream_updates(s, socket, expires))
}

/// The stream's token expired: an error frame, then the socket closes.
async fn token_expired(socket: &mut WebSocket) {
    let error = ApiError::canton(
        ACCESS_TOKEN_EXPIRED,
        ErrorCategory::AuthInterceptorInvalidAuthenticationCredentials,
        "The access token the stream was opened with has expired",
        vec![],
    );
    let _ = socket.send(Message::Text(error.to_frame().into())).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Sleeps until `at`, or forever without one.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn stream_updates(state: AppState, mut socket: WebSocket, expires: Option<Instant>) {
    let query = match first_request(&state, &mut socket).await {
        Ok(Some(q)) => q,
        Ok(None) => return,
        Err(e) => {
            let _ = socket.send(Message::Text(e.to_frame().into())).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let mut cursor = Cursor::new(query.begin_exclusive);
    let incarnation = state.read().ledger.incarnation();
    // An injected fault: the stream is cut after this many frames.
    let cut = state.websocket_cut();
    let mut frames_left = cut.map(|(n, _)| n);
    loop {
        let mut changes = state.subscribe();
        let read = {
            let world = state.read();
            if world.ledger.incarnation() != incarnation {
                None
            } else {
                let mut batch = cursor.read(&world, &query, BATCH);
                let caught_up = batch.len() < BATCH;
                if caught_up && query.end_inclusive.is_none() {
                    batch.extend(cursor.checkpoint(&world));
                }
                Some((batch, caught_up))
            }
        };
        let Some((batch, caught_up)) = read else {
            // Restored: a real node restarts, and its open connections drop.
            let _ = socket.send(Message::Close(None)).await;
            return;
        };
        if expires.is_some_and(|at| Instant::now() >= at) {
            return token_expired(&mut socket).await;
        }
        for element in batch {
            if frames_left == Some(0) {
                if let Some((_, WebsocketCut::Close)) = cut {
                    let _ = socket.send(Message::Close(None)).await;
                }
                // Dropped: the socket goes away without a close frame, as a lost connection.
                return;
            }
            frames_left = frames_left.map(|n| n - 1);
            let text = serde_json::to_string(&element).unwrap_or_default();
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        if cursor.is_complete(&query) {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        if !caught_up {
            continue;
        }
        // Wait for the ledger to move, or for the client to leave.
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = until(expires) => return token_expired(&mut socket).await,
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn first_request(
    state: &AppState,
    socket: &mut WebSocket,
) -> Result<Option<UpdatesQuery>, ApiError> {
    loop {
        match socket.recv().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Text(text))) => {
                let request: GetUpdatesRequest = decode(text.as_bytes())?;
                return UpdatesQuery::validate(request, &state.read()).map(Some);
            }
            Some(Ok(Message::Binary(bytes))) => {
                let request: GetUpdatesRequest = decode(&bytes)?;
                return UpdatesQuery::validate(request, &state.read()).map(Some);
            }
            Some(Ok(_)) => continue, // pings
        }
    }
}
