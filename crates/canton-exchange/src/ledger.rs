//! `--ledger URL`: a node's JSON Ledger API, or `file:PATH` for a recording.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use canton_ledger::client::{LedgerClient, Limits};
use exchange_services::{Recording, Source, Transport};

use crate::secrets::read_secret_file;

/// How long to wait for a node and how much to read from it (every command that talks to one).
#[derive(clap::Args, Clone, Debug)]
pub struct NetArgs {
    /// Seconds to wait for a connection to the node (Ledger API and Admin API).
    #[arg(long, env = "CANTON_CONNECT_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout_secs: u64,
    /// Seconds to wait for one request's whole answer (for the update stream: its opening
    /// handshake; an open stream may be quiet for any time).
    #[arg(long, env = "CANTON_REQUEST_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// The largest answer or stream message read from the node, and the largest element (line)
    /// of a recording file, in MiB.
    #[arg(long, env = "CANTON_MAX_MESSAGE_MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_message_mib: u64,
}

impl Default for NetArgs {
    fn default() -> NetArgs {
        let limits = Limits::default();
        NetArgs {
            connect_timeout_secs: limits.connect_timeout.as_secs(),
            request_timeout_secs: limits.request_timeout.as_secs(),
            max_message_mib: (limits.max_message_bytes >> 20) as u64,
        }
    }
}

impl NetArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_message_bytes: (self.max_message_mib as usize) << 20,
        }
    }
}

/// The token from `--token-file`, else `--token` / its environment variable.
pub fn token(token: &Option<String>, file: &Option<PathBuf>, what: &str) -> Result<Option<String>> {
    match file {
        Some(path) => read_secret_file(path, what).map(Some),
        None => Ok(token.clone()),
    }
}

/// The token and limits for a node, for commands whose `--ledger` is optional.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct LedgerAuth {
    /// A bearer token (JWT) for the Ledger API; prefer the environment variable or
    /// --token-file (argv is visible to other users of the machine).
    #[arg(long, env = "CANTON_LEDGER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the Ledger API bearer token (its first line); used instead of --token.
    #[arg(long, env = "CANTON_LEDGER_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

impl LedgerAuth {
    /// The node (or recording) at `url`, reached with this token and these limits.
    pub fn at(&self, url: &str) -> LedgerArgs {
        LedgerArgs {
            ledger: url.to_owned(),
            token: self.token.clone(),
            token_file: self.token_file.clone(),
            http_pages: false,
            net: self.net.clone(),
        }
    }
}

#[derive(clap::Args, Clone, Debug)]
pub struct LedgerArgs {
    /// `http://host:port` of the node's JSON Ledger API, or `file:PATH` of a recorded
    /// `/v2/updates` stream (JSON array or lines) for audits and replays.
    #[arg(long, env = "CANTON_LEDGER_URL")]
    pub ledger: String,
    /// A bearer token (JWT) for the Ledger API; prefer the environment variable or
    /// --token-file (argv is visible to other users of the machine).
    #[arg(long, env = "CANTON_LEDGER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the Ledger API bearer token (its first line); used instead of --token.
    #[arg(long, env = "CANTON_LEDGER_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Read updates as HTTP pages instead of the websocket (where websockets are blocked).
    #[arg(long)]
    pub http_pages: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

impl LedgerArgs {
    pub fn source(&self) -> Result<Source> {
        if let Some(path) = self.ledger.strip_prefix("file:") {
            let max_line = self.net.limits().max_message_bytes;
            let recording = Recording::open_bounded(std::path::Path::new(path), max_line)
                .with_context(|| format!("{path} is not a recording of /v2/updates elements"))?;
            return Ok(Source::File(Arc::new(recording)));
        }
        Ok(Source::Ledger {
            client: LedgerClient::with_limits(
                &self.ledger,
                token(&self.token, &self.token_file, "Ledger API token")?,
                self.net.limits(),
            ),
            transport: if self.http_pages {
                Transport::Http
            } else {
                Transport::Websocket
            },
        })
    }
}
