//! `--ledger URL`: a node's JSON Ledger API, or `file:PATH` for a recording.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canton_ledger::auth::{Auth, OAuth2Config, TokenProvider};
use canton_ledger::client::{ClientOptions, LedgerClient, Limits};
use canton_ledger::tls::Trust;
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

/// The environment variable that may hold the OAuth2 client secret (never a flag).
pub const OAUTH_SECRET_ENV: &str = "CANTON_OAUTH_CLIENT_SECRET";

/// TLS trust and OAuth2 client credentials for a node (every command that talks to one);
/// boxed where flattened, so the commands' argument structs stay small.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SecureArgs {
    /// A PEM file of the CA(s) the node's certificate must chain to (`https://`, and the
    /// websocket's `wss://`); without it, the system's trusted roots.
    #[arg(long, env = "CANTON_LEDGER_CA_FILE", value_name = "FILE")]
    pub ledger_ca_file: Option<PathBuf>,
    /// An OAuth2 token endpoint: Ledger API tokens are fetched from it by the
    /// client-credentials grant, cached and renewed before they expire (instead of --token).
    #[arg(long, env = "CANTON_OAUTH_TOKEN_URL", value_name = "URL",
          requires = "oauth_client_id", conflicts_with_all = ["token", "token_file"])]
    pub oauth_token_url: Option<String>,
    /// The OAuth2 client id.
    #[arg(long, env = "CANTON_OAUTH_CLIENT_ID")]
    pub oauth_client_id: Option<String>,
    /// A file holding the OAuth2 client secret (its first line); the environment variable
    /// CANTON_OAUTH_CLIENT_SECRET may hold it instead.
    #[arg(long, env = "CANTON_OAUTH_CLIENT_SECRET_FILE", value_name = "FILE")]
    pub oauth_client_secret_file: Option<PathBuf>,
    /// The secret resolved by `run --config` (a secret never comes from argv).
    #[arg(skip)]
    pub oauth_client_secret: Option<String>,
    /// The OAuth2 `audience` parameter (the Ledger API's audience at the identity provider).
    #[arg(long, env = "CANTON_OAUTH_AUDIENCE")]
    pub oauth_audience: Option<String>,
    /// The OAuth2 `scope` parameter.
    #[arg(long, env = "CANTON_OAUTH_SCOPE")]
    pub oauth_scope: Option<String>,
    /// A PEM file of the CA(s) of the token endpoint's certificate; default: the system's.
    #[arg(long, env = "CANTON_OAUTH_CA_FILE", value_name = "FILE")]
    pub oauth_ca_file: Option<PathBuf>,
}

/// Trust only the CAs of `file`, if given, else the system's roots.
pub fn trust(file: &Option<PathBuf>, what: &str) -> Result<Trust> {
    match file {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading the {what} CA file {}", path.display()))?;
            let trust = Trust::CaPem(pem);
            trust
                .client_config()
                .with_context(|| format!("the {what} CA file {}", path.display()))?;
            Ok(trust)
        }
        None => Ok(Trust::System),
    }
}

impl SecureArgs {
    /// The OAuth2 settings, if a token endpoint is given; the secret from the config, the
    /// file or the environment.
    pub fn oauth2(&self) -> Result<Option<OAuth2Config>> {
        let Some(token_url) = &self.oauth_token_url else {
            return Ok(None);
        };
        let client_secret = match (&self.oauth_client_secret, &self.oauth_client_secret_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(path)) => read_secret_file(path, "OAuth2 client secret")?,
            (None, None) => match std::env::var(OAUTH_SECRET_ENV) {
                Ok(secret) if !secret.is_empty() => secret,
                _ => bail!(
                    "--oauth-token-url needs the client secret: --oauth-client-secret-file or {OAUTH_SECRET_ENV}"
                ),
            },
        };
        Ok(Some(OAuth2Config {
            token_url: token_url.clone(),
            client_id: self.oauth_client_id.clone().unwrap_or_default(),
            client_secret,
            audience: self.oauth_audience.clone(),
            scope: self.oauth_scope.clone(),
            trust: trust(&self.oauth_ca_file, "token endpoint")?,
        }))
    }

    /// How to reach a node: OAuth2 if configured, else the static `token`; trusting the CA file.
    pub fn options(&self, token: Option<String>, limits: Limits) -> Result<ClientOptions> {
        let auth = match self.oauth2()? {
            Some(config) => Auth::OAuth2(Arc::new(
                TokenProvider::new(config, limits).context("the OAuth2 token endpoint")?,
            )),
            None => Auth::from(token),
        };
        Ok(ClientOptions {
            auth,
            trust: trust(&self.ledger_ca_file, "Ledger API")?,
            limits,
        })
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
    pub secure: Box<SecureArgs>,
    #[command(flatten)]
    pub net: NetArgs,
}

impl LedgerAuth {
    /// A client of the node at `url`.
    pub fn client(&self, url: &str) -> Result<LedgerClient> {
        self.at(url).client()
    }

    /// The node (or recording) at `url`, reached with this token and these limits.
    pub fn at(&self, url: &str) -> LedgerArgs {
        LedgerArgs {
            ledger: url.to_owned(),
            token: self.token.clone(),
            token_file: self.token_file.clone(),
            secure: self.secure.clone(),
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
    #[command(flatten)]
    pub secure: Box<SecureArgs>,
    /// Read updates as HTTP pages instead of the websocket (where websockets are blocked).
    #[arg(long)]
    pub http_pages: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

impl LedgerArgs {
    /// A client of the node, with its token or OAuth2, its CA and limits.
    pub fn client(&self) -> Result<LedgerClient> {
        let token = token(&self.token, &self.token_file, "Ledger API token")?;
        let options = self.secure.options(token, self.net.limits())?;
        LedgerClient::with_options(&self.ledger, options)
            .with_context(|| format!("the Ledger API {}", self.ledger))
    }

    pub fn source(&self) -> Result<Source> {
        if let Some(path) = self.ledger.strip_prefix("file:") {
            let max_line = self.net.limits().max_message_bytes;
            let recording = Recording::open_bounded(std::path::Path::new(path), max_line)
                .with_context(|| format!("{path} is not a recording of /v2/updates elements"))?;
            return Ok(Source::File(Arc::new(recording)));
        }
        Ok(Source::Ledger {
            client: self.client()?,
            transport: if self.http_pages {
                Transport::Http
            } else {
                Transport::Websocket
            },
        })
    }
}
