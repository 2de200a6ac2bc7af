//! A client for the one Admin API call the exchange needs, `PartyManagementService.
//! GetHighestOffsetByTimestamp` (`ledger-api.md` §6): a unary gRPC call over HTTP/2 cleartext
//! (h2c, as `grpcurl -plaintext`), with the hand-written messages of [`crate::admin`].
//!
//! gRPC on the wire: `POST /package.Service/Method`, `content-type: application/grpc`,
//! `te: trailers`, the request as one length-prefixed frame (5-byte prefix); the status is in
//! `grpc-status` / `grpc-message`, either in the response headers (a "Trailers-Only" answer,
//! how errors usually come) or in the trailers after the message.

use std::time::Duration;

use crate::admin::{
    GET_HIGHEST_OFFSET_BY_TIMESTAMP_PATH, GetHighestOffsetByTimestampRequest,
    GetHighestOffsetByTimestampResponse, ProtoTimestamp, decode_frame, encode_frame,
};
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

/// The Admin API of one participant node, `host:port` (h2c).
#[derive(Debug, Clone)]
pub struct AdminClient {
    authority: String,
    token: Option<String>,
    limits: Limits,
}

const WHAT: &str = "GetHighestOffsetByTimestamp";

impl AdminClient {
    /// `address` is `host:port` as `grpcurl -plaintext` takes it (an `http://` prefix is
    /// tolerated).
    pub fn new(address: &str, token: Option<String>) -> AdminClient {
        AdminClient::with_limits(address, token, Limits::default())
    }

    /// A client with explicit timeouts (connect + HTTP/2 handshake; the whole call) and a
    /// bound on the answer's size.
    pub fn with_limits(address: &str, token: Option<String>, limits: Limits) -> AdminClient {
        let authority = address
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        AdminClient {
            authority,
            token,
            limits,
        }
    }

    pub fn address(&self) -> &str {
        &self.authority
    }

    /// The highest ledger offset of `synchronizer_id`'s updates with record time at or before
    /// `micros` (µs since the epoch); `force` skips the node's "caught up" check.
    pub async fn highest_offset_by_timestamp(
        &self,
        synchronizer_id: &str,
        micros: i64,
        force: bool,
    ) -> Result<i64, AdminError> {
        let request = GetHighestOffsetByTimestampRequest {
            synchronizer_id: synchronizer_id.to_owned(),
            timestamp: Some(ProtoTimestamp::from_micros(micros)),
            force,
        };
        let body = self
            .unary(GET_HIGHEST_OFFSET_BY_TIMESTAMP_PATH, encode_frame(&request))
            .await?;
        decode_frame::<GetHighestOffsetByTimestampResponse>(&body)
            .map(|r| r.ledger_offset)
            .map_err(|e| AdminError::Decode {
                what: WHAT,
                reason: e.to_string(),
            })
    }

    /// One unary call within the connect and request timeouts.
    async fn unary(&self, path: &str, frame: Vec<u8>) -> Result<Vec<u8>, AdminError> {
        let limit = self.limits.request_timeout;
        tokio::time::timeout(limit, self.unary_untimed(path, frame))
            .await
            .map_err(|_| AdminError::Transport {
                what: WHAT,
                reason: format!(
                    "no answer from {} within {}",
                    self.authority,
                    describe_duration(limit)
                ),
            })?
    }

    /// TCP and the HTTP/2 handshake within the connect timeout.
    async fn connect(&self) -> Result<h2::client::SendRequest<bytes::Bytes>, AdminError> {
        let limit: Duration = self.limits.connect_timeout;
        let timed_out = |step: &str| AdminError::Transport {
            what: WHAT,
            reason: format!(
                "{step} {}: no answer within {}",
                self.authority,
                describe_duration(limit)
            ),
        };
        let transport = |reason: String| AdminError::Transport { what: WHAT, reason };
        let tcp = tokio::time::timeout(limit, tokio::net::TcpStream::connect(&self.authority))
            .await
            .map_err(|_| timed_out("connecting to"))?
            .map_err(|e| transport(format!("cannot connect to {}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        let (client, connection) = tokio::time::timeout(limit, h2::client::handshake(tcp))
            .await
            .map_err(|_| timed_out("the HTTP/2 handshake with"))?
            .map_err(|e| transport(format!("HTTP/2 handshake with {}: {e}", self.authority)))?;
        // The connection task ends when the client is dropped (at the end of this call).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// One unary call: the response body (one frame) if the status is OK.
    async fn unary_untimed(&self, path: &str, frame: Vec<u8>) -> Result<Vec<u8>, AdminError> {
        let transport = |reason: String| AdminError::Transport { what: WHAT, reason };
        let client = self.connect().await?;
        let mut client = client.ready().await.map_err(|e| transport(e.to_string()))?;
        let mut builder = http::Request::post(format!("http://{}{path}", self.authority))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let request = builder.body(()).map_err(|e| transport(e.to_string()))?;
        let (response, mut send) = client
            .send_request(request, false)
            .map_err(|e| transport(e.to_string()))?;
        send.send_data(bytes::Bytes::from(frame), true)
            .map_err(|e| transport(e.to_string()))?;
        let response = response.await.map_err(|e| transport(e.to_string()))?;
        let (parts, mut body) = response.into_parts();
        if parts.status != http::StatusCode::OK {
            return Err(AdminError::Decode {
                what: WHAT,
                reason: format!(
                    "HTTP status {} (is {} a gRPC port?)",
                    parts.status, self.authority
                ),
            });
        }
        // Trailers-Only: the status is in the headers and there is no body.
        if let Some(status) = status_of(&parts.headers) {
            return match status {
                (grpc_code::OK, _) => Err(AdminError::Decode {
                    what: WHAT,
                    reason: "OK without a message".into(),
                }),
                (code, message) => Err(AdminError::Status {
                    what: WHAT,
                    code,
                    message,
                }),
            };
        }
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/grpc") {
            return Err(AdminError::Decode {
                what: WHAT,
                reason: format!("content-type {content_type:?}"),
            });
        }
        let mut data = Vec::new();
        let max = self.limits.max_message_bytes;
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| transport(e.to_string()))?;
            let _ = body.flow_control().release_capacity(chunk.len());
            if data.len() + chunk.len() > max {
                return Err(AdminError::Decode {
                    what: WHAT,
                    reason: format!(
                        "the answer from {} is larger than {max} bytes",
                        self.authority
                    ),
                });
            }
            data.extend_from_slice(&chunk);
        }
        let trailers = body
            .trailers()
            .await
            .map_err(|e| transport(e.to_string()))?
            .ok_or_else(|| AdminError::Decode {
                what: WHAT,
                reason: "no trailers (no grpc-status)".into(),
            })?;
        match status_of(&trailers) {
            Some((grpc_code::OK, _)) => Ok(data),
            Some((code, message)) => Err(AdminError::Status {
                what: WHAT,
                code,
                message,
            }),
            None => Err(AdminError::Decode {
                what: WHAT,
                reason: "no grpc-status in the trailers".into(),
            }),
        }
    }
}

/// `(grpc-status, grpc-message)` if `grpc-status` is there; the message is percent-decoded.
fn status_of(headers: &http::HeaderMap) -> Option<(i32, String)> {
    let code: i32 = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let message = headers
        .get("grpc-message")
        .map(|m| percent_decode(m.as_bytes()))
        .unwrap_or_default();
    Some((code, message))
}

/// gRPC percent-encodes `grpc-message` (`%XX` for bytes outside printable ASCII and `%`).
fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_percent_decoded_and_name_the_canton_code() {
        assert_eq!(percent_decode(b"a%20b%25c"), "a b%c");
        assert_eq!(percent_decode(b"trailing%2"), "trailing%2");
        assert_eq!(percent_decode(b"x%zzy"), "x%zzy");
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
        assert_eq!(
            AdminClient::new("http://127.0.0.1:5002/", None).address(),
            "127.0.0.1:5002"
        );
    }
}
