//! The demo's side of the REST API: what the exchange's internal systems (and an operator)
//! send, with reqwest, bearer tokens and JSON; and the wait for the services to get somewhere.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use canton_sandbox::Sandbox;
use exchange_core::Amount;
use exchange_drill::clock;
use reqwest::StatusCode;
use serde_json::Value;

/// How long the demo waits for the services to do one thing before calling it a failure.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Client {
    http: reqwest::Client,
    base: String,
    internal: String,
    operator: String,
}

impl Client {
    /// The API at `base` (`http://host:port`) with an internal systems' and an operator's token.
    pub fn new(base: String, internal: String, operator: String) -> Result<Client> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .context("an HTTP client")?;
        Ok(Client {
            http,
            base,
            internal,
            operator,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<(StatusCode, Value)> {
        let response = request
            .send()
            .await
            .with_context(|| format!("{what}: the API did not answer"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// GET `path` as the internal systems; any answer but 200 is an error.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.get_as(path, &self.internal).await
    }

    /// GET `path` as an operator.
    pub async fn get_as_operator(&self, path: &str) -> Result<Value> {
        self.get_as(path, &self.operator).await
    }

    async fn get_as(&self, path: &str, token: &str) -> Result<Value> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        let (status, body) = self.send(request, &format!("GET {path}")).await?;
        if status != StatusCode::OK {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }

    /// Every item of a paginated list, following `nextCursor`.
    pub async fn all(&self, path: &str) -> Result<Vec<Value>> {
        let join = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut page = self.get(&format!("{path}{join}limit=500")).await?;
        loop {
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            let Some(cursor) = page["nextCursor"].as_str() else {
                return Ok(items);
            };
            page = self
                .get(&format!("{path}{join}limit=500&cursor={cursor}"))
                .await?;
        }
    }

    /// POST `body` to `path` as the internal systems, with an `Idempotency-Key` if given;
    /// returns the status and the answer, whatever they are.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, Value)> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.internal)
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request, &format!("POST {path}")).await
    }

    /// Waits for `/readyz` (the API up, its DB answering).
    pub async fn ready(&self) -> Result<()> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let answer = self.http.get(format!("{}/readyz", self.base)).send().await;
            if answer.is_ok_and(|a| a.status() == StatusCode::OK) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the API at {} did not become ready", self.base);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// An account's balance of an instrument (by id), zero when it has none.
    pub async fn balance(&self, account: &str, instrument: &str) -> Result<Amount> {
        let balances = self
            .get(&format!("/v1/accounts/{account}/balances"))
            .await?;
        let found = balances["balances"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["instrument"]["id"] == instrument);
        match found {
            Some(b) => amount(&b["amount"]),
            None => Ok(Amount::ZERO),
        }
    }

    pub async fn withdrawal(&self, id: &str) -> Result<Value> {
        self.get(&format!("/v1/withdrawals/{id}")).await
    }
}

/// A decimal string of the API as an amount.
pub fn amount(value: &Value) -> Result<Amount> {
    let text = value
        .as_str()
        .with_context(|| format!("{value} is not an amount string"))?;
    text.parse()
        .map_err(|e| anyhow::anyhow!("the API's amount {text:?}: {e}"))
}

/// Asks `probe` every 100 ms until it finds what it waits for, keeping the node's clock with
/// the wall clock (the sandbox's record time moves only with transactions; the services stamp
/// their requests with the wall clock).
pub async fn until<T>(
    what: &str,
    sandbox: &Sandbox,
    mut probe: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        clock::catch_up(sandbox);
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if Instant::now() > deadline {
            bail!("waited {} s for {what}", PATIENCE.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
