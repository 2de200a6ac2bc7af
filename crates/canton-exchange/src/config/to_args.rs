//! A config file's settings as `run`'s: secrets resolved into memory (never argv), ranges
//! checked as the flags' parsers check them, URLs parsed.

use std::num::NonZeroU32;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::schema::{Config, Pool};
use super::secret::private_file;
use crate::db::DbArgs;
use crate::ingest::IngestOptions;
use crate::keys::MemoKeyArgs;
use crate::ledger::{LedgerArgs, LedgerAuth, NetArgs, SecureArgs};
use crate::run::{Args, Part};

/// `value` within `range`, or an error naming the key.
fn within<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T> {
    if !range.contains(&value) {
        bail!(
            "{key} = {value}: must be between {} and {}",
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

/// `url` must be an absolute `http://` or `https://` URL with a host.
pub fn http_url(key: &str, url: &str) -> Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("{key} = {url:?}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!("{key} = {url:?}: expected http://host… or https://host…");
    }
    if parsed.password().is_some() {
        bail!("{key}: a password in a URL is a secret in the config file; use the secret keys");
    }
    Ok(())
}

/// A key file that must exist and be private.
fn key_file(key: &str, path: &Path) -> Result<()> {
    private_file(path, key)
}

impl Config {
    /// `run`'s settings and the parts to run.
    pub fn run_args(&self) -> Result<(Args, Vec<Part>)> {
        let ledger = self.ledger_args()?;
        let db = self.db_args()?;
        key_file("treasury.key_file", &self.treasury.key_file)?;
        if let Some(memo) = &self.treasury.memo_key_file {
            key_file("treasury.memo_key_file", memo)?;
        }
        let mut registries = Vec::new();
        for (i, r) in self.registries.admins.iter().enumerate() {
            http_url(&format!("registries.admins[{i}].url"), &r.url)?;
            registries.push(format!("{}={}", r.admin, r.url));
        }
        let w = &self.withdrawals;
        let eps = within(
            "withdrawals.executions_per_second",
            w.executions_per_second,
            1..=1_000_000,
        )?;
        let args = Args {
            party: Some(self.treasury.party.clone()),
            ledger_url: Some(ledger.ledger),
            ledger_auth: LedgerAuth {
                token: ledger.token,
                token_file: None,
                secure: ledger.secure,
                net: ledger.net,
            },
            http_pages: ledger.http_pages,
            db,
            treasury_key: Some(self.treasury.key_file.clone()),
            registries,
            registry_ca_file: self.registries.ca_file.clone(),
            one_step: w.one_step.clone(),
            pools: self.pools.keep.iter().map(pool_entry).collect(),
            max_inputs: within("pools.max_inputs", self.pools.max_inputs, 2..=100)?,
            pool_ttl_secs: within("pools.ttl_secs", self.pools.ttl_secs, 60..=u64::MAX)?,
            pool_secs: within("pools.every_secs", self.pools.every_secs, 1..=u64::MAX)?,
            worker: self.service.worker.clone(),
            user_id: self.ledger.user_id.clone(),
            executions_per_second: NonZeroU32::new(eps).context("executions_per_second")?,
            concurrency: within("withdrawals.concurrency", w.concurrency, 1..=1024)?,
            outcome_timeout_secs: within(
                "withdrawals.outcome_timeout_secs",
                w.outcome_timeout_secs,
                1..=u64::MAX,
            )?,
            retry_secs: within("withdrawals.retry_secs", w.retry_secs, 1..=u64::MAX)?,
            offer_hours: within("withdrawals.offer_hours", w.offer_hours, 1..=8760)?,
            no_deposit_automation: !self.deposits.automation,
            deposit_max_attempts: within(
                "deposits.max_attempts",
                self.deposits.max_attempts,
                1..=u32::MAX,
            )?,
            standby: self.ingestion.standby,
            ingest: self.ingest_options(),
            api: crate::api::ApiArgs {
                api_listen: self.api.listen,
                api_tokens_file: self.api.tokens_file.clone(),
                metrics_listen: self.api.metrics_listen,
            },
        };
        Ok((args, self.service.only.clone()))
    }

    fn ledger_args(&self) -> Result<LedgerArgs> {
        let l = &self.ledger;
        http_url("ledger.url", &l.url)?;
        let net = NetArgs {
            connect_timeout_secs: within(
                "ledger.connect_timeout_secs",
                l.connect_timeout_secs,
                1..=u64::MAX,
            )?,
            request_timeout_secs: within(
                "ledger.request_timeout_secs",
                l.request_timeout_secs,
                1..=u64::MAX,
            )?,
            max_message_mib: within("ledger.max_message_mib", l.max_message_mib, 1..=4096)?,
        };
        let mut secure = SecureArgs {
            ledger_ca_file: l.ca_file.clone(),
            ..SecureArgs::default()
        };
        let token = match (&l.token, &l.oauth2) {
            (Some(_), Some(_)) => bail!("ledger: give token or oauth2, not both"),
            (Some(token), None) => Some(token.resolve("ledger.token")?),
            (None, Some(o)) => {
                http_url("ledger.oauth2.token_url", &o.token_url)?;
                secure.oauth_token_url = Some(o.token_url.clone());
                secure.oauth_client_id = Some(o.client_id.clone());
                secure.oauth_client_secret =
                    Some(o.client_secret.resolve("ledger.oauth2.client_secret")?);
                secure.oauth_audience = o.audience.clone();
                secure.oauth_scope = o.scope.clone();
                secure.oauth_ca_file = o.ca_file.clone();
                None
            }
            (None, None) => None,
        };
        Ok(LedgerArgs {
            ledger: l.url.clone(),
            token,
            token_file: None,
            secure: Box::new(secure),
            http_pages: l.http_pages,
            net,
        })
    }

    fn db_args(&self) -> Result<DbArgs> {
        let mut db = DbArgs::for_url(&self.db.url);
        if crate::secrets::url_password(&self.db.url).is_some() {
            bail!("db.url: a password in the URL is a secret in the config file; use db.password");
        }
        if let Some(password) = &self.db.password {
            let value = password.resolve("db.password")?;
            // Refuses a password for a SQLite URL.
            crate::secrets::with_password(&self.db.url, &value).context("db.password")?;
            db.db_password = Some(value);
        }
        Ok(db)
    }

    fn ingest_options(&self) -> IngestOptions {
        let i = &self.ingestion;
        IngestOptions {
            strict: i.strict,
            quarantine_unparseable: i.quarantine_unparseable,
            non_unique_record_times: i.non_unique_record_times,
            account_meta_key: i.account_meta_key.clone(),
            memo_key: MemoKeyArgs {
                memo_key_file: self.treasury.memo_key_file.clone(),
            },
            suspense_account: i.suspense_account.clone(),
            batch_size: i.batch_size,
            max_retries: i.max_retries,
            retry_delay_ms: i.retry_delay_ms,
            progress_secs: i.progress_secs,
        }
    }
}

/// A pool as `--pool` writes it (`INSTRUMENT:K:TARGET:DUST`), parsed exactly by `run`.
fn pool_entry(p: &Pool) -> String {
    format!("{}:{}:{}:{}", p.instrument, p.k, p.target.0, p.dust.0)
}
