//! A client for the one Admin API call the exchange needs, `PartyManagementService.
//! GetHighestOffsetByTimestamp` (`ledger-api.md` §6): a unary gRPC call through tonic, with the
//! generated stub of [`crate::admin::grpc`] and the hand-written messages of [`crate::admin`].
//!
//! `host:port` or `http://host:port` is HTTP/2 cleartext (as `grpcurl -plaintext`);
//! `https://host:port` is TLS (rustls), trusting the system's roots, or only the CA of a PEM
//! file ([`AdminClient::with_ca_pem`]). A bearer token travels as `authorization` metadata and
//! never appears in an error.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::admin::grpc::party_management_service_client::PartyManagementServiceClient;
use crate::admin::{GetHighestOffsetByTimestampRequest, ProtoTimestamp};
use crate::client::{Limits, describe_duration};
use crate::quote::cut;

/// gRPC status codes the recovery distinguishes.
pub mod grpc_code {
    pub const OK: i32 = 0;
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const NOT_FOUND: i32 = 5;
    pub const FAILED_PRECONDITION: i32 = 9;
    pub const OUT_OF_RANGE: i32 = 11;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The node answered with a non-OK gRPC status.
    #[error("{what}: gRPC status {code}: {}", cut(message))]
    Status {
        what: &'static str,
        code: i32,
        message: String,
    },
    /// Connecting or the HTTP/2 exchange failed.
    #[error("{what}: {}", cut(reason))]
    Transport { what: &'static str, reason: String },
    /// The answer is not a gRPC answer of the expected message.
    #[error("{what}: unexpected answer: {}", cut(reason))]
    Decode { what: &'static str, reason: String },
}

impl AdminError {
    /// The gRPC status code, if the node answered with one.
    pub fn grpc_code(&self) -> Option<i32> {
        match self {
            AdminError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The Canton error id at the start of `grpc-message` (`CODE(category,corr): cause`), e.g.
    /// `INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR`.
    pub fn canton_code(&self) -> Option<&str> {
        match self {
            AdminError::Status { message, .. } => {
                let (code, _) = message.split_once('(')?;
                (!code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
                .then_some(code)
            }
            _ => None,
        }
    }
}

/// The Admin API of one participant node.
#[derive(Clone)]
pub struct AdminClient {
    /// `host:port`, for messages.
    authority: String,
    tls: bool,
    /// PEM of the only CA to trust (TLS); `None`: the system's roots.
    ca_pem: Option<Vec<u8>>,
    token: Option<String>,
    limits: Limits,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("AdminClient")
            .field("authority", &self.authority)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_pem.is_some())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

const WHAT: &str = "GetHighestOffsetByTimestamp";

impl AdminClient {
    /// `address` is `host:port` as `grpcurl -plaintext` takes it, `http://host:port`, or
    /// `https://host:port` for TLS.
    pub fn new(address: &str, token: Option<String>) -> AdminClient {
        AdminClient::with_limits(address, token, Limits::default())
    }

    /// A client with explicit timeouts (connect + HTTP/2 handshake; the whole call) and a
    /// bound on the answer's size.
    pub fn with_limits(address: &str, token: Option<String>, limits: Limits) -> AdminClient {
        let (tls, rest) = match address.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, address.trim_start_matches("http://")),
        };
        AdminClient {
            authority: rest.trim_end_matches('/').to_owned(),
            tls,
            ca_pem: None,
            token,
            limits,
        }
    }

    /// Trusts only the CA certificate(s) of `pem` for TLS, instead of the system's roots.
    pub fn with_ca_pem(mut self, pem: Vec<u8>) -> AdminClient {
        self.ca_pem = Some(pem);
        self
    }

    /// `host:port`.
    pub fn address(&self) -> &str {
        &self.authority
    }

    /// Whether the calls use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// The highest ledger offset of `synchronizer_id`'s updates with record time at or before
    /// `micros` (µs since the epoch); `force` skips the node's "caught up" check.
    pub async fn highest_offset_by_timestamp(
        &self,
        synchronizer_id: &str,
        micros: i64,
        force: bool,
    ) -> Result<i64, AdminError> {
        let message = GetHighestOffsetByTimestampRequest {
            synchronizer_id: synchronizer_id.to_owned(),
            timestamp: Some(ProtoTimestamp::from_micros(micros)),
            force,
        };
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| self.transport("the Admin API token is not a valid header value"))?;
            request.metadata_mut().insert("authorization", value);
        }
        let channel = self.connect().await?;
        let mut client = PartyManagementServiceClient::new(channel)
            .max_decoding_message_size(self.limits.max_message_bytes);
        let limit = self.limits.request_timeout;
        let answer = tokio::time::timeout(limit, client.get_highest_offset_by_timestamp(request))
            .await
            .map_err(|_| {
                self.transport(format!(
                    "no answer from {} within {}",
                    self.authority,
                    describe_duration(limit)
                ))
            })?;
        match answer {
            Ok(response) => Ok(response.into_inner().ledger_offset),
            Err(status) => Err(AdminError::Status {
                what: WHAT,
                code: status.code() as i32,
                message: status.message().to_owned(),
            }),
        }
    }

    fn transport(&self, reason: impl Into<String>) -> AdminError {
        AdminError::Transport {
            what: WHAT,
            reason: reason.into(),
        }
    }

    /// TCP, TLS and the HTTP/2 handshake within the connect timeout.
    async fn connect(&self) -> Result<Channel, AdminError> {
        let limit: Duration = self.limits.connect_timeout;
        let scheme = if self.tls { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", self.authority))
            .map_err(|e| self.transport(format!("{}: not a host:port ({e})", self.authority)))?
            .connect_timeout(limit)
            .tcp_nodelay(true);
        if self.tls {
            crate::tls::install_default_provider();
            let config = match &self.ca_pem {
                Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
                None => ClientTlsConfig::new().with_native_roots(),
            };
            endpoint = endpoint
                .tls_config(config)
                .map_err(|e| self.transport(format!("TLS for {}: {e}", self.authority)))?;
        }
        tokio::time::timeout(limit, endpoint.connect())
            .await
            .map_err(|_| {
                self.transport(format!(
                    "connecting to {}: no answer within {}",
                    self.authority,
                    describe_duration(limit)
                ))
            })?
            .map_err(|e| {
                self.transport(format!(
                    "cannot connect to {}: {}",
                    self.authority,
                    source_chain(&e)
                ))
            })
    }
}

/// An error and its sources, for a message an operator can act on ("connection refused",
/// "invalid peer certificate").
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_the_canton_code_and_never_show_the_token() {
        let e = AdminError::Status {
            what: WHAT,
            code: grpc_code::OUT_OF_RANGE,
            message: "INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR(12,00000000): later".into(),
        };
        assert_eq!(
            e.canton_code(),
            Some("INVALID_TIMESTAMP_PARTY_MANAGEMENT_ERROR")
        );
        assert_eq!(e.grpc_code(), Some(11));
        let e = AdminError::Status {
            what: WHAT,
            code: 2,
            message: "something (odd)".into(),
        };
        assert_eq!(e.canton_code(), None);
        let plain = AdminClient::new("http://127.0.0.1:5002/", Some("s3cret".into()));
        assert_eq!(plain.address(), "127.0.0.1:5002");
        assert!(!plain.uses_tls());
        assert!(!format!("{plain:?}").contains("s3cret"));
        let tls = AdminClient::new("https://node.example:5002", None);
        assert_eq!(tls.address(), "node.example:5002");
        assert!(tls.uses_tls());
    }
}
