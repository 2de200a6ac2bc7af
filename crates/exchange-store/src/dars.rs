//! Uploaded `.dar`s, the packages each brings, and which tokens they were uploaded for.

use exchange_core::tokens::OnboardedToken;
use exchange_core::{InstrumentId, Timestamp};

use crate::Store;
use crate::catalog::onboard_token_in;
use crate::db::{Row, Tx};
use crate::error::Result;

/// An uploaded `.dar`, kept whole so it can be uploaded again after a node restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dar {
    pub main_package_id: String,
    pub file_name: String,
    pub content: Vec<u8>,
    /// The exchange host's clock just before the upload.
    pub uploaded_at: Timestamp,
    /// SHA-256 hex of `content` (empty for a `.dar` recorded before token onboarding).
    pub content_hash: String,
    /// Name and version of the main package (empty for older records).
    pub package_name: String,
    pub package_version: String,
    /// Every package the `.dar` brings, main included, sorted (empty for older records).
    pub package_ids: Vec<String>,
    /// The exchange host's clock once the node listed the main package after the upload.
    pub listed_at: Option<Timestamp>,
    /// The node's ledger end just before and just after the upload: the offsets between
    /// which the node got the packages (a node restored to a backup taken at or before
    /// `ledger_end_before` lacks them).
    pub ledger_end_before: Option<i64>,
    pub ledger_end_after: Option<i64>,
}

/// What [`Store::onboard_token_with_dars`] found and changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnboardingReport {
    /// The token was not onboarded before.
    pub token_new: bool,
    /// Package names recorded now that were not before.
    pub package_names_added: Vec<String>,
    /// Main package ids of the `.dar`s recorded now.
    pub dars_recorded: Vec<String>,
    /// Main package ids of the `.dar`s that were recorded before (the first record is kept).
    pub dars_known: Vec<String>,
    /// Main package ids newly linked to the token.
    pub dars_linked: Vec<String>,
}

pub(crate) const DAR_COLUMNS: &str = "d.main_package_id, d.file_name, d.content, d.uploaded_at_us,
    d.content_hash, d.package_name, d.package_version, d.listed_at_us, d.ledger_end_before,
    d.ledger_end_after";

pub(crate) fn dar_from_row(row: &Row) -> Result<Dar> {
    Ok(Dar {
        main_package_id: row.get("main_package_id")?,
        file_name: row.get("file_name")?,
        content: row.get("content")?,
        uploaded_at: row.time("uploaded_at_us")?,
        content_hash: row.get("content_hash")?,
        package_name: row.get("package_name")?,
        package_version: row.get("package_version")?,
        package_ids: Vec::new(),
        listed_at: row.opt_time("listed_at_us")?,
        ledger_end_before: row.get("ledger_end_before")?,
        ledger_end_after: row.get("ledger_end_after")?,
    })
}

/// Records a `.dar` and its packages unless its main package is recorded already; whether it
/// was new.
async fn record_dar_in(tx: &mut Tx, dar: &Dar) -> Result<bool> {
    let inserted = tx
        .query(
            "INSERT INTO dars (main_package_id, file_name, content, uploaded_at_us, content_hash,
                 package_name, package_version, listed_at_us, ledger_end_before,
                 ledger_end_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (main_package_id) DO NOTHING",
        )
        .bind(dar.main_package_id.as_str())
        .bind(dar.file_name.as_str())
        .bind(dar.content.as_slice())
        .bind(dar.uploaded_at.micros())
        .bind(dar.content_hash.as_str())
        .bind(dar.package_name.as_str())
        .bind(dar.package_version.as_str())
        .bind(dar.listed_at.map(Timestamp::micros))
        .bind(dar.ledger_end_before)
        .bind(dar.ledger_end_after)
        .execute()
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    for package_id in &dar.package_ids {
        tx.query(
            "INSERT INTO dar_packages (main_package_id, package_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(dar.main_package_id.as_str())
        .bind(package_id.as_str())
        .execute()
        .await?;
    }
    Ok(true)
}

/// Fills in each `.dar`'s package ids.
pub(crate) async fn with_packages(tx: &mut Tx, mut dars: Vec<Dar>) -> Result<Vec<Dar>> {
    for dar in &mut dars {
        let rows = tx
            .query(
                "SELECT package_id FROM dar_packages WHERE main_package_id = $1
                 ORDER BY package_id",
            )
            .bind(dar.main_package_id.as_str())
            .fetch_all()
            .await?;
        dar.package_ids = rows
            .iter()
            .map(|r| r.get("package_id"))
            .collect::<Result<_>>()?;
    }
    Ok(dars)
}

impl Store {
    /// Remembers an uploaded `.dar` and its packages; uploading the same main package again
    /// keeps the first record.
    pub async fn record_dar(&self, dar: &Dar) -> Result<()> {
        let mut tx = self.pool.write().await?;
        record_dar_in(&mut tx, dar).await?;
        tx.commit().await
    }

    /// Onboards `token` ([`Store::onboard_token`]) and records the `.dar`s uploaded for it and
    /// their link to it, in one DB transaction. Repeating it changes nothing more; the report
    /// says what was found.
    pub async fn onboard_token_with_dars(
        &self,
        token: &OnboardedToken,
        dars: &[Dar],
    ) -> Result<OnboardingReport> {
        let mut tx = self.pool.write().await?;
        let change = onboard_token_in(&mut tx, token).await?;
        let mut report = OnboardingReport {
            token_new: change.new,
            package_names_added: change.names_added,
            ..OnboardingReport::default()
        };
        for dar in dars {
            let id = dar.main_package_id.clone();
            if record_dar_in(&mut tx, dar).await? {
                report.dars_recorded.push(id.clone());
            } else {
                report.dars_known.push(id.clone());
            }
            let linked = tx
                .query(
                    "INSERT INTO token_dars (instrument_admin, instrument_id, main_package_id)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(token.instrument.admin.as_str())
                .bind(token.instrument.id.as_str())
                .bind(id.as_str())
                .execute()
                .await?;
            if linked > 0 {
                report.dars_linked.push(id);
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// The `.dar`s uploaded for a token, oldest first, with their packages.
    pub async fn token_dars(&self, instrument: &InstrumentId) -> Result<Vec<Dar>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {DAR_COLUMNS} FROM dars d JOIN token_dars t
               ON t.main_package_id = d.main_package_id
             WHERE t.instrument_admin = $1 AND t.instrument_id = $2
             ORDER BY d.uploaded_at_us, d.main_package_id"
        );
        let rows = tx
            .query(&sql)
            .bind(instrument.admin.as_str())
            .bind(instrument.id.as_str())
            .fetch_all()
            .await?;
        let dars = rows.iter().map(dar_from_row).collect::<Result<Vec<_>>>()?;
        with_packages(&mut tx, dars).await
    }

    /// `.dar`s uploaded at or after `since` (the node backup's time), oldest first: what to
    /// upload again after restoring the node.
    pub async fn dars_uploaded_since(&self, since: Timestamp) -> Result<Vec<Dar>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {DAR_COLUMNS} FROM dars d WHERE d.uploaded_at_us >= $1
             ORDER BY d.uploaded_at_us, d.main_package_id"
        );
        let rows = tx.query(&sql).bind(since.micros()).fetch_all().await?;
        let dars = rows.iter().map(dar_from_row).collect::<Result<Vec<_>>>()?;
        with_packages(&mut tx, dars).await
    }
}
