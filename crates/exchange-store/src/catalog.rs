//! What operators configure: onboarded tokens and switches (`.dar`s: `dars.rs`).

use std::collections::BTreeSet;

use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_core::{InstrumentId, Timestamp};

use crate::db::{Row, Tx};
use crate::error::Result;
use crate::{Store, now};

/// An onboarded token and where its registry (Registry API) is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub instrument: InstrumentId,
    pub registry_url: String,
    pub onboarded_at: Timestamp,
}

/// Operator switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Switch {
    /// Whether customers may request withdrawals (off while recovering from a DB restore).
    Withdrawals,
}

impl Switch {
    pub fn as_str(self) -> &'static str {
        match self {
            Switch::Withdrawals => "withdrawals",
        }
    }
}

/// A switch's position and why it is there. Switches are on until turned off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchState {
    pub enabled: bool,
    pub reason: String,
    /// `None` if never changed.
    pub changed_at: Option<Timestamp>,
}

pub(crate) async fn switch_in(tx: &mut Tx, switch: Switch) -> Result<SwitchState> {
    let row = tx
        .query("SELECT enabled, reason, changed_at_us FROM switches WHERE name = $1")
        .bind(switch.as_str())
        .fetch_optional()
        .await?;
    Ok(match row {
        None => SwitchState {
            enabled: true,
            reason: String::new(),
            changed_at: None,
        },
        Some(row) => SwitchState {
            enabled: row.get("enabled")?,
            reason: row.get("reason")?,
            changed_at: Some(row.time("changed_at_us")?),
        },
    })
}

/// Whether `instrument` is onboarded.
pub(crate) async fn token_in(tx: &mut Tx, instrument: &InstrumentId) -> Result<bool> {
    let row = tx
        .query(
            "SELECT instrument_id FROM tokens WHERE instrument_admin = $1 AND instrument_id = $2",
        )
        .bind(instrument.admin.as_str())
        .bind(instrument.id.as_str())
        .fetch_optional()
        .await?;
    Ok(row.is_some())
}

/// Whether `instrument` is onboarded or was ever held by the treasury (the issuer's), in one
/// statement of two key lookups.
pub(crate) async fn known_in(tx: &mut Tx, instrument: &InstrumentId) -> Result<bool> {
    let row = tx
        .query(
            "SELECT 1 AS known WHERE EXISTS (
                 SELECT 1 FROM tokens WHERE instrument_admin = $1 AND instrument_id = $2)
             OR EXISTS (
                 SELECT 1 FROM holding_instruments
                 WHERE instrument_admin = $1 AND instrument_id = $2)",
        )
        .bind(instrument.admin.as_str())
        .bind(instrument.id.as_str())
        .fetch_optional()
        .await?;
    Ok(row.is_some())
}

/// What onboarding a token changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenChange {
    /// The token was not onboarded before.
    pub(crate) new: bool,
    /// Package names not recorded for it before.
    pub(crate) names_added: Vec<String>,
}

/// [`Store::onboard_token`] inside a caller's transaction.
pub(crate) async fn onboard_token_in(tx: &mut Tx, token: &OnboardedToken) -> Result<TokenChange> {
    let (admin, id) = (
        token.instrument.admin.as_str(),
        token.instrument.id.as_str(),
    );
    let new = !token_in(tx, &token.instrument).await?;
    tx.query(
        "INSERT INTO tokens (instrument_admin, instrument_id, registry_url, onboarded_at_us,
             transfer_kind)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (instrument_admin, instrument_id)
         DO UPDATE SET registry_url = excluded.registry_url,
             transfer_kind = excluded.transfer_kind",
    )
    .bind(admin)
    .bind(id)
    .bind(token.registry_url.as_str())
    .bind(now().micros())
    .bind(token.transfer_kind.as_str())
    .execute()
    .await?;
    let mut names_added = Vec::new();
    for name in &token.package_names {
        let added = tx
            .query(
                "INSERT INTO token_package_names (instrument_admin, instrument_id, package_name)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(admin)
            .bind(id)
            .bind(name.as_str())
            .execute()
            .await?;
        if added > 0 {
            names_added.push(name.clone());
        }
    }
    Ok(TokenChange { new, names_added })
}

fn token_from_row(row: &Row) -> Result<Token> {
    Ok(Token {
        instrument: row.instrument()?,
        registry_url: row.get("registry_url")?,
        onboarded_at: row.time("onboarded_at_us")?,
    })
}

impl Store {
    /// Onboards a token, or changes its registry URL.
    pub async fn upsert_token(&self, instrument: &InstrumentId, registry_url: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.query(
            "INSERT INTO tokens (instrument_admin, instrument_id, registry_url, onboarded_at_us)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (instrument_admin, instrument_id)
             DO UPDATE SET registry_url = excluded.registry_url",
        )
        .bind(instrument.admin.as_str())
        .bind(instrument.id.as_str())
        .bind(registry_url)
        .bind(now().micros())
        .execute()
        .await?;
        tx.commit().await
    }

    /// Onboards a token: its registry, how its deposits arrive and the package names its
    /// holdings may come from (added to those recorded before: onboarding again is harmless).
    pub async fn onboard_token(&self, token: &OnboardedToken) -> Result<()> {
        let mut tx = self.pool.write().await?;
        onboard_token_in(&mut tx, token).await?;
        tx.commit().await
    }

    /// Every onboarded token with its package names: what ingestion credits.
    pub async fn onboarded_tokens(&self) -> Result<Vec<OnboardedToken>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query(
                "SELECT t.instrument_admin, t.instrument_id, t.registry_url, t.transfer_kind,
                        n.package_name
                 FROM tokens t LEFT JOIN token_package_names n
                   ON n.instrument_admin = t.instrument_admin AND n.instrument_id = t.instrument_id
                 ORDER BY t.instrument_admin, t.instrument_id, n.package_name",
            )
            .fetch_all()
            .await?;
        let mut out: Vec<OnboardedToken> = Vec::new();
        for row in &rows {
            let instrument = row.instrument()?;
            if out.last().is_none_or(|t| t.instrument != instrument) {
                let kind: String = row.get("transfer_kind")?;
                out.push(OnboardedToken {
                    instrument,
                    registry_url: row.get("registry_url")?,
                    transfer_kind: TokenTransferKind::parse(&kind).ok_or_else(|| {
                        crate::StoreError::Corrupt(format!("unknown transfer kind {kind:?}"))
                    })?,
                    package_names: BTreeSet::new(),
                });
            }
            if let Some(name) = row.get::<Option<String>>("package_name")? {
                out.last_mut().expect("pushed").package_names.insert(name);
            }
        }
        Ok(out)
    }

    pub async fn token(&self, instrument: &InstrumentId) -> Result<Option<Token>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query(
                "SELECT instrument_admin, instrument_id, registry_url, onboarded_at_us FROM tokens
                 WHERE instrument_admin = $1 AND instrument_id = $2",
            )
            .bind(instrument.admin.as_str())
            .bind(instrument.id.as_str())
            .fetch_optional()
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<Token>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query(
                "SELECT instrument_admin, instrument_id, registry_url, onboarded_at_us FROM tokens
                 ORDER BY instrument_admin, instrument_id",
            )
            .fetch_all()
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// The instruments a withdrawal may name: the onboarded tokens and whatever the treasury
    /// has ever held of its issuer (a counterfeit's claim names nothing), each once. Reads one
    /// row per instrument (`holding_instruments`, migration 0023), not the holdings.
    pub async fn known_instruments(&self) -> Result<Vec<InstrumentId>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query(
                "SELECT instrument_admin, instrument_id FROM tokens
                 UNION SELECT instrument_admin, instrument_id FROM holding_instruments
                 ORDER BY instrument_admin, instrument_id",
            )
            .fetch_all()
            .await?;
        rows.iter().map(|row| row.instrument()).collect()
    }

    pub async fn switch(&self, switch: Switch) -> Result<SwitchState> {
        let mut tx = self.pool.read().await?;
        switch_in(&mut tx, switch).await
    }

    /// Turns a switch on or off, saying why (shown to operators and in refusals).
    pub async fn set_switch(&self, switch: Switch, enabled: bool, reason: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        set_switch_in(&mut tx, switch, enabled, reason).await?;
        tx.commit().await
    }
}

pub(crate) async fn set_switch_in(
    tx: &mut Tx,
    switch: Switch,
    enabled: bool,
    reason: &str,
) -> Result<()> {
    tx.query(
        "INSERT INTO switches (name, enabled, reason, changed_at_us) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled,
                 reason = excluded.reason, changed_at_us = excluded.changed_at_us",
    )
    .bind(switch.as_str())
    .bind(enabled)
    .bind(reason.to_owned())
    .bind(now().micros())
    .execute()
    .await?;
    Ok(())
}
