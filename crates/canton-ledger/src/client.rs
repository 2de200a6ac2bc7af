//! A client for the parts of the JSON Ledger API v2 that ingestion reads: ledger end, pruning
//! offset, updates (websocket stream and HTTP list pages), update by offset / id.
//!
//! Errors are classified by what the caller should do ([`ErrorClass`]), following the guide's
//! advice (`non-functionals.rst`): retry by default, except on 401, 403, 500 and 501 and on
//! requests the node calls invalid; reading past the ledger end is "not yet available".

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::errors::{ErrorCategory, JsCantonError};
use crate::filters::UpdateFormat;
use crate::state::{GetLatestPrunedOffsetsResponse, GetLedgerEndResponse};
use crate::updates::{
    GetUpdateByIdRequest, GetUpdateByOffsetRequest, GetUpdatesRequest, JsGetUpdatesResponse, Update,
};

/// What to do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// May go away: back off and try again (a bounded number of times).
    Retryable,
    /// The node has not got there yet (e.g. an offset after the ledger end): poll later.
    NotYetAvailable,
    /// Retrying the same request cannot help.
    Permanent,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node answered with a Canton error.
    #[error("{what}: HTTP {status} {}: {}", error.code, error.cause)]
    Api {
        what: &'static str,
        status: u16,
        error: Box<JsCantonError>,
    },
    /// A non-JSON error answer (e.g. a proxy, or a body the node could not decode).
    #[error("{what}: HTTP {status}: {body}")]
    Http {
        what: &'static str,
        status: u16,
        body: String,
    },
    /// Connection refused, reset, timed out, websocket closed early.
    #[error("{what}: {reason}")]
    Transport { what: &'static str, reason: String },
    /// The answer is not what the API promises.
    #[error("{what}: unexpected answer: {reason}")]
    Decode { what: &'static str, reason: String },
}

impl ClientError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::Api { status, error, .. } => {
                if error.category()
                    == Some(ErrorCategory::InvalidGivenCurrentSystemStateSeekAfterEnd)
                {
                    return ErrorClass::NotYetAvailable;
                }
                if error.is_retryable() {
                    return ErrorClass::Retryable;
                }
                class_of_status(*status)
            }
            ClientError::Http { status, .. } => class_of_status(*status),
            ClientError::Transport { .. } => ErrorClass::Retryable,
            ClientError::Decode { .. } => ErrorClass::Permanent,
        }
    }

    /// The Canton error id, e.g. `UPDATE_NOT_FOUND`.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => Some(&error.code),
            _ => None,
        }
    }
}

/// The guide's exclude list (401, 403, 500, 501) plus the other client errors; the rest retries.
fn class_of_status(status: u16) -> ErrorClass {
    match status {
        401 | 403 | 500 | 501 => ErrorClass::Permanent,
        408 | 409 | 425 | 429 => ErrorClass::Retryable,
        400..=499 => ErrorClass::Permanent,
        _ => ErrorClass::Retryable,
    }
}

/// One node's JSON Ledger API.
#[derive(Clone, Debug)]
pub struct LedgerClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl LedgerClient {
    /// `base` is `http://host:port` (the prefix of `/v2/…`); `token` a bearer JWT, if the node
    /// requires one.
    pub fn new(base: &str, token: Option<String>) -> LedgerClient {
        LedgerClient {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            token,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let transport = |e: reqwest::Error| ClientError::Transport {
            what,
            reason: e.to_string(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(match serde_json::from_slice::<JsCantonError>(&body) {
                Ok(error) if !error.code.is_empty() => ClientError::Api {
                    what,
                    status,
                    error: Box::new(error),
                },
                _ => ClientError::Http {
                    what,
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                },
            });
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode {
            what,
            reason: e.to_string(),
        })
    }

    pub async fn ledger_end(&self) -> Result<i64, ClientError> {
        let url = format!("{}/v2/state/ledger-end", self.base);
        let end: GetLedgerEndResponse = self.send("ledger end", self.http.get(url)).await?;
        Ok(end.offset)
    }

    /// The offset up to which the node pruned its history (0 if never).
    pub async fn pruned_offset(&self) -> Result<i64, ClientError> {
        let url = format!("{}/v2/state/latest-pruned-offsets", self.base);
        let pruned: GetLatestPrunedOffsetsResponse = self
            .send("latest pruned offsets", self.http.get(url))
            .await?;
        Ok(pruned.participant_pruned_up_to_inclusive)
    }

    pub async fn update_by_offset(
        &self,
        offset: i64,
        format: &UpdateFormat,
    ) -> Result<Update, ClientError> {
        let url = format!("{}/v2/updates/update-by-offset", self.base);
        let body = GetUpdateByOffsetRequest {
            offset,
            update_format: Some(format.clone()),
        };
        let answer: JsGetUpdatesResponse = self
            .send("update by offset", self.http.post(url).json(&body))
            .await?;
        Ok(answer.update)
    }

    pub async fn update_by_id(
        &self,
        update_id: &str,
        format: &UpdateFormat,
    ) -> Result<Update, ClientError> {
        let url = format!("{}/v2/updates/update-by-id", self.base);
        let body = GetUpdateByIdRequest {
            update_id: update_id.to_owned(),
            update_format: Some(format.clone()),
        };
        let answer: JsGetUpdatesResponse = self
            .send("update by id", self.http.post(url).json(&body))
            .await?;
        Ok(answer.update)
    }

    /// One page of `POST /v2/updates`: at most `limit` (<= 200) elements. With `idle_ms` the
    /// node returns what arrived before that much quiet; without it a bounded request blocks
    /// until its range is exhausted or the page is full.
    pub async fn updates_page(
        &self,
        request: &GetUpdatesRequest,
        limit: usize,
        idle_ms: Option<u64>,
    ) -> Result<Vec<Update>, ClientError> {
        let mut url = format!("{}/v2/updates?limit={limit}", self.base);
        if let Some(idle) = idle_ms {
            url.push_str(&format!("&stream_idle_timeout_ms={idle}"));
        }
        let page: Vec<JsGetUpdatesResponse> = self
            .send("updates page", self.http.post(url).json(request))
            .await?;
        Ok(page.into_iter().map(|e| e.update).collect())
    }

    /// Opens the websocket `GET /v2/updates` and sends `request` as its first frame.
    pub async fn updates_stream(
        &self,
        request: &GetUpdatesRequest,
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
        if let Some(token) = &self.token {
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
        let (mut socket, _) = tokio_tungstenite::connect_async(upgrade)
            .await
            .map_err(transport)?;
        let first = serde_json::to_string(request).map_err(|e| ClientError::Decode {
            what,
            reason: e.to_string(),
        })?;
        socket.send(Message::text(first)).await.map_err(transport)?;
        Ok(UpdateStream { socket })
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The websocket update stream: one element per text frame.
pub struct UpdateStream {
    socket: Socket,
}

impl UpdateStream {
    /// The next element; `None` when a bounded stream is complete. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Update, ClientError>> {
        let what = "updates websocket";
        loop {
            let message = match self.socket.next().await? {
                Ok(m) => m,
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
            return Some(decode_frame(&text));
        }
    }
}

/// A frame is `{"update": …}` or a `JsCantonError` (errors are never close frames).
fn decode_frame(text: &str) -> Result<Update, ClientError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_guide() {
        for status in [401, 403, 500, 501, 400, 404] {
            assert_eq!(class_of_status(status), ErrorClass::Permanent, "{status}");
        }
        for status in [409, 429, 502, 503, 504] {
            assert_eq!(class_of_status(status), ErrorClass::Retryable, "{status}");
        }
        let frame = r#"{"code":"OFFSET_AFTER_LEDGER_END","cause":"x","errorCategory":12}"#;
        let e = decode_frame(frame).unwrap_err();
        assert_eq!(e.class(), ErrorClass::NotYetAvailable);
        let frame = r#"{"code":"SEQUENCER_BACKPRESSURE","cause":"x","errorCategory":2}"#;
        assert_eq!(
            decode_frame(frame).unwrap_err().class(),
            ErrorClass::Retryable
        );
        let frame = r#"{"code":"PARTICIPANT_PRUNED_DATA_ACCESSED","cause":"x","errorCategory":9}"#;
        let e = decode_frame(frame).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert_eq!(e.code(), Some("PARTICIPANT_PRUNED_DATA_ACCESSED"));
    }
}
