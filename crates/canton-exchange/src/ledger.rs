//! `--ledger URL`: a node's JSON Ledger API, or `file:PATH` for a recording.

use std::sync::Arc;

use anyhow::{Context, Result};
use canton_ledger::client::LedgerClient;
use exchange_services::{Recording, Source, Transport};

#[derive(clap::Args, Clone, Debug)]
pub struct LedgerArgs {
    /// `http://host:port` of the node's JSON Ledger API, or `file:PATH` of a recorded
    /// `/v2/updates` stream (JSON array or lines) for audits and replays.
    #[arg(long, env = "CANTON_LEDGER_URL")]
    pub ledger: String,
    /// A bearer token (JWT) for the Ledger API.
    #[arg(long, env = "CANTON_LEDGER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read updates as HTTP pages instead of the websocket (where websockets are blocked).
    #[arg(long)]
    pub http_pages: bool,
}

impl LedgerArgs {
    pub fn source(&self) -> Result<Source> {
        if let Some(path) = self.ledger.strip_prefix("file:") {
            let recording = Recording::open(std::path::Path::new(path))
                .with_context(|| format!("{path} is not a recording of /v2/updates elements"))?;
            return Ok(Source::File(Arc::new(recording)));
        }
        Ok(Source::Ledger {
            client: LedgerClient::new(&self.ledger, self.token.clone()),
            transport: if self.http_pages {
                Transport::Http
            } else {
                Transport::Websocket
            },
        })
    }
}
