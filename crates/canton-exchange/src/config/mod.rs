//! The config file of `run --config FILE` (TOML, `docs/config.sample.toml`), read through
//! figment: the file, then environment overrides `CANTON_EXCHANGE__SECTION__KEY` (e.g.
//! `CANTON_EXCHANGE__LEDGER__URL`). Every table refuses unknown keys, naming the key's path,
//! so a typo never silently falls back to a default. Secrets are `{ env = … }` or
//! `{ file = … }` ([`secret`]); amounts are decimal strings, never TOML floats.
//!
//! The file maps onto the same settings as `run`'s flags ([`to_args`]), so both paths run the
//! same code; `config check` ([`check`]) validates a file and prints the plan.

mod check;
mod schema;
mod secret;
mod to_args;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use figment::Figment;
use figment::providers::{Env, Format, Toml};

pub use check::run;
pub use schema::Config;

/// The prefix of environment overrides; `__` separates the key's parts.
pub const ENV_PREFIX: &str = "CANTON_EXCHANGE__";

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Validate a config file and print what `run --config FILE` would do (secrets
    /// redacted); exits non-zero with every problem found otherwise.
    Check {
        /// The TOML config file.
        file: PathBuf,
    },
}

impl Config {
    /// Reads `path` with the environment's overrides.
    pub fn load(path: &Path) -> Result<Config> {
        // figment treats a missing file as empty; a missing config is an error here.
        std::fs::metadata(path)
            .map_err(|e| anyhow!("reading the config file {}: {e}", path.display()))?;
        Figment::from(Toml::file_exact(path))
            .merge(Env::prefixed(ENV_PREFIX).split("__"))
            .extract()
            .map_err(|e| {
                let problems: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
                anyhow!(
                    "the config file {} is not valid: {}",
                    path.display(),
                    problems.join("; ")
                )
            })
    }
}
