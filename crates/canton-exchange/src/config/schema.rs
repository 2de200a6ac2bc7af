//! The config file's shape. Defaults are the flags' defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::secret::Secret;
use crate::run::Part;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub treasury: Treasury,
    pub ledger: Ledger,
    /// The node's Admin API (gRPC): checked here, used by the recovery runbooks.
    #[serde(default)]
    pub admin_api: Option<AdminApi>,
    pub db: Db,
    #[serde(default)]
    pub registries: Registries,
    #[serde(default)]
    pub withdrawals: Withdrawals,
    #[serde(default)]
    pub deposits: Deposits,
    #[serde(default)]
    pub pools: Pools,
    #[serde(default)]
    pub ingestion: Ingestion,
    #[serde(default)]
    pub api: Api,
    #[serde(default)]
    pub service: Service,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Treasury {
    /// The treasury party: an external party whose key is `key_file`.
    pub party: String,
    /// Its Ed25519 key file (mode 0600; `canton-exchange keys generate`).
    pub key_file: PathBuf,
    /// The withdrawal memo key file (mode 0600; `keys generate-memo-key`).
    #[serde(default)]
    pub memo_key_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// `https://host:port` of the JSON Ledger API.
    pub url: String,
    /// The CA(s) the node's certificate chains to; default: the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_user_id")]
    pub user_id: String,
    #[serde(default)]
    pub http_pages: bool,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    #[serde(default = "default_max_message_mib")]
    pub max_message_mib: u64,
    /// A static bearer token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// OAuth2 client credentials (instead of `token`).
    #[serde(default)]
    pub oauth2: Option<OAuth2>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// The CA(s) of the token endpoint's certificate; default: the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminApi {
    /// `https://host:port` (TLS) or `host:port` (plaintext h2c).
    pub url: String,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub token: Option<Secret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Db {
    /// `sqlite://FILE` or `postgres://user@host/db` (no password in it).
    pub url: String,
    #[serde(default)]
    pub password: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registries {
    /// The CA(s) of the registries' certificates; default: the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub admins: Vec<Registry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub admin: String,
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Withdrawals {
    pub one_step: Vec<String>,
    pub executions_per_second: u32,
    pub concurrency: u64,
    pub outcome_timeout_secs: u64,
    pub retry_secs: u64,
    pub offer_hours: u64,
}

impl Default for Withdrawals {
    fn default() -> Withdrawals {
        Withdrawals {
            one_step: vec!["Amulet".into()],
            executions_per_second: 200,
            concurrency: 16,
            outcome_timeout_secs: 30,
            retry_secs: 5,
            offer_hours: 24,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deposits {
    /// Accept deposit offers (multi-step deposits).
    pub automation: bool,
    pub max_attempts: u32,
}

impl Default for Deposits {
    fn default() -> Deposits {
        Deposits {
            automation: true,
            max_attempts: 10,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pools {
    pub every_secs: u64,
    pub ttl_secs: u64,
    /// The selection policy: the most holdings one transfer (a merge) takes as inputs.
    pub max_inputs: usize,
    pub keep: Vec<Pool>,
}

impl Default for Pools {
    fn default() -> Pools {
        Pools {
            every_secs: 10,
            ttl_secs: 3600,
            max_inputs: exchange_core::selection::SelectionPolicy::default().max_inputs,
            keep: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// `ADMIN/ID`, or `ID` for every registry admin's.
    pub instrument: String,
    pub k: u64,
    pub target: ExactAmount,
    pub dust: ExactAmount,
}

/// An amount as written: a decimal string, parsed exactly later (a TOML float is refused).
#[derive(Debug, Clone)]
pub struct ExactAmount(pub String);

impl<'de> Deserialize<'de> for ExactAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ExactAmount, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ExactAmount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an amount as a decimal string, e.g. \"100.5\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ExactAmount, E> {
                Ok(ExactAmount(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ExactAmount, E> {
                Ok(ExactAmount(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ExactAmount, E> {
                Ok(ExactAmount(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ExactAmount, E> {
                Err(E::custom(format!(
                    "{v} is a float: write amounts as decimal strings (\"{v}\"), which are exact"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ingestion {
    pub batch_size: usize,
    pub max_retries: u32,
    pub retry_delay_ms: u64,
    pub progress_secs: u64,
    pub strict: bool,
    pub quarantine_unparseable: bool,
    pub non_unique_record_times: bool,
    pub account_meta_key: Option<String>,
    pub suspense_account: String,
    /// Wait as a standby while another ingestion holds the DB.
    pub standby: bool,
}

impl Default for Ingestion {
    fn default() -> Ingestion {
        Ingestion {
            batch_size: 1000,
            max_retries: 6,
            retry_delay_ms: 2000,
            progress_secs: 5,
            strict: false,
            quarantine_unparseable: false,
            non_unique_record_times: false,
            account_meta_key: None,
            suspense_account: exchange_core::ingest::SUSPENSE_ACCOUNT.to_owned(),
            standby: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Where the REST API listens (`host:port`).
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// A file of API token hashes, one `ROLE SHA256-HEX` line each (or the
    /// `CANTON_EXCHANGE_API_TOKENS` environment variable).
    #[serde(default)]
    pub tokens_file: Option<PathBuf>,
    /// Where `/metrics` alone listens (`host:port`), beside or instead of the API.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// This replica's name in work claims (default: host name and process id).
    #[serde(default)]
    pub worker: Option<String>,
    /// The parts this process runs (default: all); `--only` overrides it.
    #[serde(default)]
    pub only: Vec<Part>,
    /// `human` (default) or `json` log lines; `--log-format` overrides it.
    #[serde(default)]
    pub log_format: Option<crate::logs::LogFormat>,
}

fn default_user_id() -> String {
    "canton-exchange".into()
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    60
}
fn default_max_message_mib() -> u64 {
    64
}
