//! A client for the parts of the JSON Ledger API v2 that ingestion reads: ledger end, pruning
//! offset, updates (websocket stream and HTTP list pages), update by offset / id.
//!
//! Errors are classified by what the caller should do ([`ErrorClass`]), following the guide's
//! advice (`non-functionals.rst`): retry by default, except on 401, 403, 500 and 501 and on
//! requests the node calls invalid; reading past the ledger end is "not yet available".

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Auth;
use crate::call_timer::{CallObserver, CallTimer};
use crate::errors::{ErrorCategory, JsCantonError};
use crate::filters::UpdateFormat;
use crate::interactive::{
    JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, JsPrepareSubmissionResponse,
};
use crate::quote::cut;
use crate::serde_util::Empty;
use crate::state::{GetLatestPrunedOffsetsResponse, GetLedgerEndResponse};
use crate::tls::{TlsError, Trust};
use crate::updates::{
    GetUpdateByIdRequest, GetUpdateByOffsetRequest, GetUpdatesRequest, JsGetUpdatesResponse, Update,
};

mod ws;

pub use ws::UpdateStream;

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
    #[error("{what}: HTTP {status}: {}", cut(body))]
    Http {
        what: &'static str,
        status: u16,
        body: String,
    },
    /// Connection refused, reset, timed out, websocket closed early.
    #[error("{what}: {}", cut(reason))]
    Transport { what: &'static str, reason: String },
    /// The answer is not what the API promises.
    #[error("{what}: unexpected answer: {}", cut(reason))]
    Decode { what: &'static str, reason: String },
}

impl ClientError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::Api { status, error, .. } => {
                // A stream outlived its token: a new token (a new stream) is the cure.
                if error.code == ACCESS_TOKEN_EXPIRED {
                    return ErrorClass::Retryable;
                }
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

    /// The HTTP status the node answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Http { status, .. } => Some(*status),
            _ => None,
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

/// The error a node closes a stream with when the token it was opened with expires.
pub const ACCESS_TOKEN_EXPIRED: &str = "ACCESS_TOKEN_EXPIRED";

/// The guide's exclude list (401, 403, 500, 501) plus the other client errors; the rest retries.
fn class_of_status(status: u16) -> ErrorClass {
    match status {
        401 | 403 | 500 | 501 => ErrorClass::Permanent,
        408 | 409 | 425 | 429 => ErrorClass::Retryable,
        400..=499 => ErrorClass::Permanent,
        _ => ErrorClass::Retryable,
    }
}

/// How long a client waits and how much it reads: a node that accepts and never answers, or
/// answers without end, must fail a call instead of hanging it or exhausting memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Establishing a connection (TCP, and for the Admin API the HTTP/2 handshake).
    pub connect_timeout: Duration,
    /// One request until its whole answer is read (for the websocket: the upgrade handshake;
    /// an open stream may be quiet for long and has no such bound).
    pub request_timeout: Duration,
    /// The largest answer body, or websocket message, read.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_message_bytes: 64 << 20,
        }
    }
}

/// `5 s`, `1.5 s`, `250 ms`: how long a timeout was, for error messages.
pub fn describe_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// `url` as shown in messages: a password in it (`http://user:PW@host`) replaced by `***`.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A reqwest error's chain, with any password in its URL hidden.
fn reqwest_chain(mut e: reqwest::Error) -> String {
    if let Some(url) = e.url_mut()
        && url.password().is_some()
    {
        let _ = url.set_password(Some("***"));
    }
    error_chain(&e)
}

/// An error and its causes, `a: b: c` (reqwest's own message is only "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// How a client reaches a node: credentials, trusted CAs (for `https://`), limits.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    pub auth: Auth,
    pub trust: Trust,
    pub limits: Limits,
}

/// One node's JSON Ledger API.
#[derive(Clone, Debug)]
pub struct LedgerClient {
    base: String,
    http: reqwest::Client,
    auth: Auth,
    /// For `wss://` (reqwest has its own copy for `https://`).
    tls: std::sync::Arc<rustls::ClientConfig>,
    limits: Limits,
    timer: CallTimer,
}

impl LedgerClient {
    /// `base` is `http://host:port` (the prefix of `/v2/…`); `token` a bearer JWT, if the node
    /// requires one.
    pub fn new(base: &str, token: Option<String>) -> LedgerClient {
        LedgerClient::with_limits(base, token, Limits::default())
    }

    /// A client with explicit timeouts and size bounds, trusting the system's roots.
    pub fn with_limits(base: &str, token: Option<String>, limits: Limits) -> LedgerClient {
        let options = ClientOptions {
            auth: token.into(),
            trust: Trust::System,
            limits,
        };
        LedgerClient::with_options(base, options)
            .expect("a client trusting the system's roots always builds")
    }

    /// A client with these credentials, trusted CAs and limits; fails on an unusable CA.
    pub fn with_options(base: &str, options: ClientOptions) -> Result<LedgerClient, TlsError> {
        let tls = options.trust.client_config()?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.limits.connect_timeout)
            .tls_backend_preconfigured((*tls).clone())
            .build()
            .map_err(|e| TlsError::Certificate(error_chain(&e)))?;
        Ok(LedgerClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
            auth: options.auth,
            tls,
            limits: options.limits,
            timer: CallTimer::default(),
        })
    }

    /// This client, telling `observer` how long each request took (metrics).
    pub fn with_call_observer(mut self, observer: Arc<dyn CallObserver>) -> LedgerClient {
        self.timer = CallTimer::new(observer);
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `{base}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The HTTP client, to build requests for [`LedgerClient::send`] in sibling modules.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request with this client's token, timeout and size bound; the JSON answer. A
    /// 401 to a token that can be renewed (OAuth2) is retried once with a new token.
    pub(crate) async fn send<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let started = std::time::Instant::now();
        let result = self.send_renewing(what, request).await;
        self.timer.observe(what, started.elapsed(), result.is_ok());
        result
    }

    async fn send_renewing<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let again = request.try_clone();
        let token = self.auth.token().await?;
        let first = self.send_with(what, request, token.as_deref()).await;
        match (first, token, again) {
            (Err(e), Some(token), Some(again)) if e.status() == Some(401) => {
                if !self.auth.rejected(&token).await {
                    return Err(e);
                }
                let token = self.auth.token().await?;
                self.send_with(what, again, token.as_deref()).await
            }
            (result, _, _) => result,
        }
    }

    pub(crate) async fn send_with<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> Result<T, ClientError> {
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let request = request.build().map_err(|e| ClientError::Transport {
            what,
            reason: reqwest_chain(e),
        })?;
        let url = shown_url(request.url().as_str());
        let limit = self.limits.request_timeout;
        let exchange = self.exchange(what, request);
        let (status, body) =
            tokio::time::timeout(limit, exchange)
                .await
                .map_err(|_| ClientError::Transport {
                    what,
                    reason: format!("no answer from {url} within {}", describe_duration(limit)),
                })??;
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

    /// Sends `request` and reads its answer chunk by chunk, at most `max_message_bytes`.
    async fn exchange(
        &self,
        what: &'static str,
        request: reqwest::Request,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let url = shown_url(request.url().as_str());
        let transport = |e: reqwest::Error| ClientError::Transport {
            what,
            reason: reqwest_chain(e),
        };
        let mut response = self.http.execute(request).await.map_err(transport)?;
        let status = response.status().as_u16();
        let max = self.limits.max_message_bytes;
        let too_large = || ClientError::Decode {
            what,
            reason: format!("the answer from {url} is larger than {max} bytes"),
        };
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
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

    /// `POST /v2/interactive-submission/prepare`: the node interprets the command for the
    /// external parties of `actAs` and hands back the transaction and its hash, to be checked
    /// and signed off-node.
    pub async fn prepare(
        &self,
        request: &JsPrepareSubmissionRequest,
    ) -> Result<JsPrepareSubmissionResponse, ClientError> {
        let url = format!("{}/v2/interactive-submission/prepare", self.base);
        self.send("prepare", self.http.post(url).json(request))
            .await
    }

    /// `POST /v2/interactive-submission/execute`: submits a signed prepared transaction and
    /// returns once the node accepted it for sequencing. The outcome is not in the answer: it
    /// is read from the update stream (or completions), as the guide asks.
    pub async fn execute(&self, request: &JsExecuteSubmissionRequest) -> Result<(), ClientError> {
        let url = format!("{}/v2/interactive-submission/execute", self.base);
        let _: Empty = self
            .send("execute", self.http.post(url).json(request))
            .await?;
        Ok(())
    }

    /// `POST {base}{path}` with a JSON body, for the token admins' Registry API, which shares
    /// this client's timeouts, size bounds and error reporting.
    pub(crate) async fn post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        self.send(what, self.http.post(url).json(body)).await
    }

    /// `GET {base}{path}` (path and query), with this client's timeouts and error reporting.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        self.send(what, self.http.get(url)).await
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
}

#[cfg(test)]
mod tests {
    use super::ws::decode_frame;
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
