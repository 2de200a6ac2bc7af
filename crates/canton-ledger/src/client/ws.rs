//! The websocket `GET /v2/updates` of [`LedgerClient`]: opening it (plain or TLS, with the
//! token as a subprotocol, once more with a new token after a 401) and reading its frames.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{
    ACCESS_TOKEN_EXPIRED, ClientError, LedgerClient, describe_duration, error_chain, shown_url,
};
use crate::auth::Auth;
use crate::errors::JsCantonError;
use crate::updates::{GetUpdatesRequest, JsGetUpdatesResponse, Update};

impl LedgerClient {
    /// Opens the websocket `GET /v2/updates` and sends `request` as its first frame. An
    /// upgrade refused with 401 is tried once more with a new token (OAuth2).
    pub async fn updates_stream(
        &self,
        request: &GetUpdatesRequest,
    ) -> Result<UpdateStream, ClientError> {
        let token = self.auth.token().await?;
        match self.open_updates_stream(request, token.as_deref()).await {
            Err(e) if e.status() == Some(401) => match token {
                Some(token) if self.auth.rejected(&token).await => {
                    let token = self.auth.token().await?;
                    self.open_updates_stream(request, token.as_deref()).await
                }
                _ => Err(e),
            },
            result => result,
        }
    }

    async fn open_updates_stream(
        &self,
        request: &GetUpdatesRequest,
        token: Option<&str>,
    ) -> Result<UpdateStream, ClientError> {
        let what = "updates websocket";
        let transport = |e: tokio_tungstenite::tungstenite::Error| ClientError::Transport {
            what,
            reason: e.to_string(),
        };
        let ws_base = match self.base.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!(
                "ws://{}",
                self.base.strip_prefix("http://").unwrap_or(&self.base)
            ),
        };
        let mut upgrade = format!("{ws_base}/v2/updates")
            .into_client_request()
            .map_err(transport)?;
        if let Some(token) = token {
            // The JSON API reads the token from the subprotocols (`ledger-api.md` §1.9).
            let protocols = format!("jwt.token.{token}, daml.ws.auth");
            let value = protocols.parse().map_err(|_| ClientError::Transport {
                what,
                reason: "the token is not a valid header value".into(),
            })?;
            upgrade
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", value);
        }
        let mut socket = self.open_websocket(upgrade).await?;
        let first = serde_json::to_string(request).map_err(|e| ClientError::Decode {
            what,
            reason: e.to_string(),
        })?;
        let limit = self.limits.request_timeout;
        tokio::time::timeout(limit, socket.send(Message::text(first)))
            .await
            .map_err(|_| ClientError::Transport {
                what,
                reason: format!(
                    "sending the request to {} took over {}",
                    shown_url(&self.base),
                    describe_duration(limit)
                ),
            })?
            .map_err(transport)?;
        Ok(UpdateStream {
            socket,
            auth: self.auth.clone(),
            token: token.map(str::to_owned),
        })
    }

    /// TCP within the connect timeout, then the upgrade within the request timeout; messages
    /// are bounded by `max_message_bytes`.
    async fn open_websocket(&self, upgrade: http::Request<()>) -> Result<Socket, ClientError> {
        let what = "updates websocket";
        let url = shown_url(&upgrade.uri().to_string());
        let timed_out = |step: &str, limit: Duration| ClientError::Transport {
            what,
            reason: format!(
                "{step} {url}: no answer within {}",
                describe_duration(limit)
            ),
        };
        let uri = upgrade.uri();
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
        let secure = uri.scheme_str() == Some("wss");
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let limits = self.limits;
        let tcp = tokio::time::timeout(
            limits.connect_timeout,
            tokio::net::TcpStream::connect((host.to_owned(), port)),
        )
        .await
        .map_err(|_| timed_out("connecting to", limits.connect_timeout))?
        .map_err(|e| ClientError::Transport {
            what,
            reason: format!("connecting to {url}: {e}"),
        })?;
        let _ = tcp.set_nodelay(true);
        let config = WebSocketConfig::default()
            .max_message_size(Some(limits.max_message_bytes))
            .max_frame_size(Some(limits.max_message_bytes));
        let stream = if secure {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
                ClientError::Transport {
                    what,
                    reason: format!("{url}: {e}"),
                }
            })?;
            let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
            let tls = tokio::time::timeout(limits.connect_timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| timed_out("the TLS handshake with", limits.connect_timeout))?
                .map_err(|e| ClientError::Transport {
                    what,
                    reason: format!("the TLS handshake with {url}: {}", error_chain(&e)),
                })?;
            tokio_tungstenite::MaybeTlsStream::Rustls(tls)
        } else {
            tokio_tungstenite::MaybeTlsStream::Plain(tcp)
        };
        let handshake = tokio_tungstenite::client_async_with_config(upgrade, stream, Some(config));
        let (socket, _) = tokio::time::timeout(limits.request_timeout, handshake)
            .await
            .map_err(|_| timed_out("the websocket handshake with", limits.request_timeout))?
            .map_err(|e| match e {
                // A refused upgrade is an HTTP answer: its status says what to do (401: a new
                // token).
                tokio_tungstenite::tungstenite::Error::Http(response) => {
                    let status = response.status().as_u16();
                    let body = response.body().as_deref().unwrap_or_default();
                    match serde_json::from_slice::<JsCantonError>(body) {
                        Ok(error) if !error.code.is_empty() => ClientError::Api {
                            what,
                            status,
                            error: Box::new(error),
                        },
                        _ => ClientError::Http {
                            what,
                            status,
                            body: String::from_utf8_lossy(body).into_owned(),
                        },
                    }
                }
                e => ClientError::Transport {
                    what,
                    reason: format!("the websocket handshake with {url}: {}", error_chain(&e)),
                },
            })?;
        Ok(socket)
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The websocket update stream: one element per text frame.
pub struct UpdateStream {
    socket: Socket,
    auth: Auth,
    /// The token the stream was opened with, dropped if the node says it expired.
    token: Option<String>,
}

impl UpdateStream {
    /// The next element; `None` when a bounded stream is complete. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Update, ClientError>> {
        let what = "updates websocket";
        loop {
            let message = match self.socket.next().await? {
                Ok(m) => m,
                // Retrying cannot make the same message smaller.
                Err(tokio_tungstenite::tungstenite::Error::Capacity(e)) => {
                    return Some(Err(ClientError::Decode {
                        what,
                        reason: format!("{e}: a message over the bound (--max-message-mib)"),
                    }));
                }
                Err(e) => {
                    return Some(Err(ClientError::Transport {
                        what,
                        reason: e.to_string(),
                    }));
                }
            };
            let text = match message {
                Message::Text(text) => text,
                Message::Binary(bytes) => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => text.into(),
                    Err(e) => {
                        return Some(Err(ClientError::Decode {
                            what,
                            reason: e.to_string(),
                        }));
                    }
                },
                Message::Close(_) => return None,
                _ => continue,
            };
            let element = decode_frame(&text);
            if let (Err(e), Some(token)) = (&element, &self.token)
                && e.code() == Some(ACCESS_TOKEN_EXPIRED)
            {
                self.auth.rejected(token).await;
            }
            return Some(element);
        }
    }
}

/// A frame is `{"update": …}` or a `JsCantonError` (errors are never close frames).
pub(super) fn decode_frame(text: &str) -> Result<Update, ClientError> {
    let what = "updates websocket";
    let is_update = text
        .trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"update\""));
    if is_update {
        return serde_json::from_str::<JsGetUpdatesResponse>(text)
            .map(|e| e.update)
            .map_err(|e| ClientError::Decode {
                what,
                reason: e.to_string(),
            });
    }
    match serde_json::from_str::<JsCantonError>(text) {
        Ok(error) => Err(ClientError::Api {
            what,
            status: error.http_status(),
            error: Box::new(error),
        }),
        Err(e) => Err(ClientError::Decode {
            what,
            reason: e.to_string(),
        }),
    }
}
