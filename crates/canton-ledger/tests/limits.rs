//! The clients never hang on a node that accepts and never answers, and never read an endless
//! answer into memory (issue 8, items 5 and 11): every call fails within its configured bound
//! with an error that says what timed out where, or what was too large.
#![cfg(feature = "client")]

use std::time::{Duration, Instant};

use canton_ledger::GetUpdatesRequest;
use canton_ledger::admin_client::AdminClient;
use canton_ledger::client::{ClientError, ErrorClass, LedgerClient, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Far beyond the configured bounds: a call still pending then hangs.
const HANG: Duration = Duration::from_secs(30);

fn short_limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(700),
        max_message_bytes: 1 << 20,
    }
}

/// A server that accepts connections, reads nothing and never answers; its address.
async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    address
}

/// A server that answers every connection with a chunked 200 body of `total` bytes of spaces
/// (endless as far as a 1 MiB bound is concerned); its address.
async fn endless_body_server(total: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // The request first (a small GET arrives in one read), then the answer.
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await?;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                socket.write_all(head.as_bytes()).await?;
                let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, " ".repeat(64 << 10));
                for _ in 0..total / (64 << 10) {
                    socket.write_all(chunk.as_bytes()).await?;
                }
                socket.write_all(b"0\r\n\r\n").await
            });
        }
    });
    address
}

async fn within_hang<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, call)
        .await
        .expect("the call hung instead of timing out")
}

#[tokio::test]
async fn a_silent_ledger_api_times_out_and_says_where() {
    let address = silent_server().await;
    let client = LedgerClient::with_limits(&format!("http://{address}"), None, short_limits());
    let started = Instant::now();
    let e = within_hang(client.ledger_end()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{e}");
    assert_eq!(
        e.to_string(),
        format!("ledger end: no answer from http://{address}/v2/state/ledger-end within 700 ms")
    );
    // Ingestion retries it (a bounded number of times).
    assert_eq!(e.class(), ErrorClass::Retryable);
}

#[tokio::test]
async fn a_websocket_that_never_completes_its_handshake_times_out() {
    let address = silent_server().await;
    let client = LedgerClient::with_limits(&format!("http://{address}"), None, short_limits());
    let request = GetUpdatesRequest::default();
    let e = match within_hang(client.updates_stream(&request)).await {
        Ok(_) => panic!("a silent server opened a stream"),
        Err(e) => e,
    };
    assert!(matches!(e, ClientError::Transport { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "updates websocket: the websocket handshake with ws://{address}/v2/updates: no answer within 700 ms"
        )
    );
}

#[tokio::test]
async fn a_silent_admin_api_times_out_and_says_where() {
    let address = silent_server().await;
    let admin = AdminClient::with_limits(&address, None, short_limits());
    let e = within_hang(admin.highest_offset_by_timestamp("s::1", 0, false))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("GetHighestOffsetByTimestamp: "), "{text}");
    assert!(text.contains(&address), "{text}");
    assert!(
        text.ends_with("within 500 ms") || text.ends_with("within 700 ms"),
        "{text}"
    );
}

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_bound() {
    let address = endless_body_server(64 << 20).await;
    let client = LedgerClient::with_limits(
        &format!("http://{address}"),
        None,
        Limits {
            request_timeout: HANG,
            ..short_limits()
        },
    );
    let e = within_hang(client.ledger_end()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "ledger end: unexpected answer: the answer from http://{address}/v2/state/ledger-end is larger than 1048576 bytes"
        )
    );
}

#[tokio::test]
async fn a_websocket_message_over_the_bound_is_refused() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(socket).await.unwrap();
        let _request = socket.next().await;
        // 2 MiB in one message, twice the client's bound.
        let huge = format!(r#"{{"update": "{}"}}"#, "x".repeat(2 << 20));
        let _ = socket.send(Message::text(huge)).await;
        let _ = socket.next().await;
    });
    let client = LedgerClient::with_limits(&format!("http://{address}"), None, short_limits());
    let mut stream = match client.updates_stream(&GetUpdatesRequest::default()).await {
        Ok(stream) => stream,
        Err(e) => panic!("{e}"),
    };
    let e = within_hang(stream.next())
        .await
        .expect("an element or an error")
        .unwrap_err();
    assert!(matches!(e, ClientError::Decode { .. }), "{e}");
    assert_eq!(e.class(), ErrorClass::Permanent);
    assert!(e.to_string().contains("Message too long"), "{e}");
}

#[tokio::test]
async fn a_password_in_the_ledger_url_is_not_shown() {
    let address = silent_server().await;
    let url = format!("http://exchange:S3cret-Pw@{address}");
    let client = LedgerClient::with_limits(&url, None, short_limits());
    let e = within_hang(client.ledger_end())
        .await
        .unwrap_err()
        .to_string();
    assert!(!e.contains("S3cret-Pw"), "{e}");
    // reqwest moves the user info into a basic-auth header: the URL shown has none.
    assert!(e.contains(&address), "{e}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("http://exchange:S3cret-Pw@{closed_address}");
    let client = LedgerClient::with_limits(&url, None, short_limits());
    let e = within_hang(client.ledger_end())
        .await
        .unwrap_err()
        .to_string();
    assert!(!e.contains("S3cret-Pw"), "{e}");
    let e = match within_hang(client.updates_stream(&GetUpdatesRequest::default())).await {
        Ok(_) => panic!("a closed port opened a stream"),
        Err(e) => e.to_string(),
    };
    assert!(!e.contains("S3cret-Pw"), "{e}");
}
