//! The Admin API client over TLS (`https://`): it trusts the CA it is given and only that one,
//! sends the bearer token as `authorization` metadata, and a plaintext client meets a TLS node
//! with an error, not a hang. The server is the generated tonic service with the test CA's
//! certificate (`tests/tls`).
#![cfg(feature = "client")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use canton_ledger::admin::grpc::party_management_service_server::{
    PartyManagementService, PartyManagementServiceServer,
};
use canton_ledger::admin::{
    GetHighestOffsetByTimestampRequest, GetHighestOffsetByTimestampResponse,
};
use canton_ledger::admin_client::{AdminClient, AdminError};
use canton_ledger::client::Limits;
use tonic::transport::{Identity, Server, ServerTlsConfig};

fn tls_file(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/tls")
            .join(name),
    )
    .unwrap()
}

/// Answers 42 and keeps each call's `authorization` metadata.
#[derive(Default)]
struct Node {
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

#[tonic::async_trait]
impl PartyManagementService for Node {
    async fn get_highest_offset_by_timestamp(
        &self,
        request: tonic::Request<GetHighestOffsetByTimestampRequest>,
    ) -> Result<tonic::Response<GetHighestOffsetByTimestampResponse>, tonic::Status> {
        let auth = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.authorizations.lock().unwrap().push(auth);
        Ok(tonic::Response::new(GetHighestOffsetByTimestampResponse {
            ledger_offset: 42,
        }))
    }
}

/// A TLS Admin API on 127.0.0.1; its port and the authorizations it saw.
async fn tls_node() -> (u16, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let node = Node::default();
    let seen = node.authorizations.clone();
    // tonic's TLS takes the process's default provider (ring here; see `tls.rs`).
    canton_ledger::tls::install_default_provider();
    let identity = Identity::from_pem(tls_file("node.pem"), tls_file("node.key"));
    let server = Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .unwrap()
        .add_service(PartyManagementServiceServer::new(node));
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        server.serve_with_incoming(incoming).await
    });
    (port, seen)
}

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        max_message_bytes: 1 << 20,
    }
}

#[tokio::test]
async fn the_given_ca_is_trusted_and_the_token_travels_as_metadata() {
    let (port, seen) = tls_node().await;
    let address = format!("https://127.0.0.1:{port}");
    let admin = AdminClient::with_limits(&address, Some("t0ken".into()), limits())
        .with_ca_pem(tls_file("ca.pem"));
    assert_eq!(
        admin
            .highest_offset_by_timestamp("s::1", 0, false)
            .await
            .unwrap(),
        42
    );
    assert_eq!(*seen.lock().unwrap(), vec![Some("Bearer t0ken".to_owned())]);
}

#[tokio::test]
async fn another_ca_is_refused_without_showing_the_token() {
    let (port, seen) = tls_node().await;
    let address = format!("https://127.0.0.1:{port}");
    let admin = AdminClient::with_limits(&address, Some("t0ken".into()), limits())
        .with_ca_pem(tls_file("other-ca.pem"));
    let e = admin
        .highest_offset_by_timestamp("s::1", 0, false)
        .await
        .unwrap_err();
    assert!(matches!(e, AdminError::Transport { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("certificate") || text.contains("Certificate"),
        "{text}"
    );
    assert!(!text.contains("t0ken"), "{text}");
    assert!(seen.lock().unwrap().is_empty(), "no call reached the node");
}

#[tokio::test]
async fn a_plaintext_client_meets_a_tls_node_with_an_error() {
    let (port, seen) = tls_node().await;
    let admin = AdminClient::with_limits(&format!("127.0.0.1:{port}"), None, limits());
    let e = admin
        .highest_offset_by_timestamp("s::1", 0, false)
        .await
        .unwrap_err();
    assert!(seen.lock().unwrap().is_empty(), "{e}");
}
