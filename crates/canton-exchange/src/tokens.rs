//! `canton-exchange tokens add`: onboard a token (check its registry, upload its `.dar`s, record
//! it); `tokens list`: the onboarded tokens and their `.dar`s.
//!
//! Order matters: everything that can be checked locally (arguments, `.dar` files, package
//! names) and the registry's metadata are checked before anything is uploaded, and the node's
//! listing of each uploaded package before anything is recorded. A refusal at any step leaves
//! the node and the Integration DB as they were (an upload that succeeded before a later
//! failure is harmless: uploading is idempotent, and only `.dar`s the operator named are ever
//! uploaded).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use canton_ledger::client::{LedgerClient, Limits, shown_url};
use canton_ledger::dar::{DarInfo, DarLimits, read_dar};
use canton_ledger::registry_client::RegistryClient;
use canton_ledger::tls::Trust;
use exchange_core::tokens::{
    OnboardedToken, TokenTransferKind, check_registry, onboarding_package_names,
};
use exchange_core::{InstrumentId, PartyId, Timestamp};
use exchange_store::{Dar, OnboardingReport};

use crate::db::{DbArgs, runtime};
use crate::ledger::LedgerAuth;
use crate::output::Format;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Onboard a token: check its registry's metadata, upload the named `.dar`s to the node,
    /// record the token, its package names and `.dar`s. Repeating it is harmless. Writes.
    Add(Box<AddArgs>),
    /// The onboarded tokens with their package names and `.dar`s. Reads only.
    List(ListArgs),
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Kind {
    /// Deposits complete at once (e.g. Canton Coin with the treasury's transfer preapproval).
    OneStep,
    /// Deposits arrive as transfer offers the treasury accepts.
    MultiStep,
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// `http://host:port` of the node's JSON Ledger API (the `.dar`s are uploaded there).
    #[arg(long, env = "CANTON_LEDGER_URL")]
    ledger: String,
    #[command(flatten)]
    auth: LedgerAuth,
    /// The instrument's admin party (the registry's `adminId` must be this party).
    #[arg(long)]
    admin: String,
    /// The instrument id (e.g. `Amulet`).
    #[arg(long)]
    instrument: String,
    /// The admin's Registry API base URL (for Canton Coin: the validator's scan proxy).
    #[arg(long)]
    registry_url: String,
    /// A PEM file of the CA(s) the registry's certificate must chain to (`https://`);
    /// without it, the system's trusted roots.
    #[arg(long, value_name = "FILE")]
    registry_ca_file: Option<PathBuf>,
    /// A `.dar` of the token's packages, uploaded to the node; its main package's name is one
    /// the token's holdings may come from. Repeatable.
    #[arg(long = "dar")]
    dars: Vec<PathBuf>,
    /// A package name the token's holdings may come from, for packages the validator manages
    /// (e.g. `splice-amulet`). Repeatable.
    #[arg(long = "package-name")]
    package_names: Vec<String>,
    #[arg(long, value_enum, default_value_t = Kind::OneStep)]
    transfer_kind: Kind,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(command: &Command, out: &mut impl Write) -> Result<()> {
    match command {
        Command::Add(args) => runtime()?.block_on(add(args, out)),
        Command::List(args) => runtime()?.block_on(list(args, out)),
    }
}

/// A `.dar` file read and checked, not yet uploaded.
struct DarFile {
    file_name: String,
    bytes: Vec<u8>,
    info: DarInfo,
}

fn read_dar_file(path: &PathBuf) -> Result<DarFile> {
    let limits = DarLimits::default();
    let size = std::fs::metadata(path)
        .with_context(|| format!("--dar {}", path.display()))?
        .len();
    if size > limits.max_file_bytes {
        bail!(
            "--dar {}: {size} bytes, more than the {} allowed",
            path.display(),
            limits.max_file_bytes
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("--dar {}", path.display()))?;
    let info = read_dar(&bytes, limits).with_context(|| format!("--dar {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(DarFile {
        file_name,
        bytes,
        info,
    })
}

/// The token the arguments describe and its `.dar`s, all checked locally.
fn plan(args: &AddArgs) -> Result<(OnboardedToken, Vec<DarFile>)> {
    let admin = PartyId::new(&args.admin).with_context(|| format!("--admin {:?}", args.admin))?;
    if args.instrument.trim().is_empty() {
        bail!("--instrument must not be empty");
    }
    if !(args.registry_url.starts_with("http://") || args.registry_url.starts_with("https://")) {
        bail!("--registry-url must be an http:// or https:// URL");
    }
    let dars = args
        .dars
        .iter()
        .map(read_dar_file)
        .collect::<Result<Vec<_>>>()?;
    let package_names = onboarding_package_names(
        dars.iter().map(|d| d.info.main.name.as_str()),
        args.package_names.iter().map(String::as_str),
    )?;
    let token = OnboardedToken {
        instrument: InstrumentId {
            admin,
            id: args.instrument.clone(),
        },
        registry_url: args.registry_url.trim_end_matches('/').to_owned(),
        transfer_kind: match args.transfer_kind {
            Kind::OneStep => TokenTransferKind::OneStep,
            Kind::MultiStep => TokenTransferKind::MultiStep,
        },
        package_names,
    };
    Ok((token, dars))
}

/// The registry must be the instrument admin's and serve the instrument.
pub(crate) async fn check_metadata(
    token: &OnboardedToken,
    trust: Trust,
    limits: Limits,
) -> Result<()> {
    let registry = RegistryClient::with_trust(&token.registry_url, trust, limits)
        .context("the registry's CA file")?;
    let refused = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "refused: the registry at {} does not confirm {}/{}: {e}; nothing was uploaded or \
             recorded",
            shown_url(&token.registry_url),
            token.instrument.admin,
            token.instrument.id
        )
    };
    let info = registry.info().await.map_err(|e| refused(&e))?;
    let instrument = registry
        .instrument(&token.instrument.id)
        .await
        .map_err(|e| refused(&e))?;
    check_registry(&token.instrument, &info.admin_id, &instrument.id).map_err(|e| refused(&e))
}

async fn add(args: &AddArgs, out: &mut impl Write) -> Result<()> {
    if args.ledger.starts_with("file:") {
        bail!("--ledger must be a node's JSON Ledger API URL (.dars are uploaded there)");
    }
    let (token, files) = plan(args)?;
    let limits = args.auth.net.limits();
    let trust = crate::ledger::trust(&args.registry_ca_file, "registry")?;
    check_metadata(&token, trust, limits).await?;
    // Opened before uploading: a DB that cannot take the record stops us before the node
    // changes.
    let store = args.db.open().await?;
    let ledger = args.auth.client(&args.ledger)?;
    let mut dars = Vec::with_capacity(files.len());
    for file in files {
        dars.push(upload(&ledger, file, out).await?);
    }
    let report = store.onboard_token_with_dars(&token, &dars).await?;
    print_report(&token, &dars, &report, out)
}

/// Uploads one `.dar` and checks the node lists its main package afterwards.
///
/// Times: the JSON Ledger API has no record time for its ledger end outside open-ended update
/// streams, so the upload is bracketed by the node's ledger end (offset) just before and just
/// after it, and by this host's clock (before the upload and once the node lists the
/// package). `uploaded_at` (this host's clock) is what `dars_uploaded_since` compares with a
/// node backup's time.
async fn upload(ledger: &LedgerClient, file: DarFile, out: &mut impl Write) -> Result<Dar> {
    let main = file.info.main.clone();
    let node = |e| anyhow::anyhow!("uploading {}: {e}", file.file_name);
    let ledger_end_before = ledger.ledger_end().await.map_err(node)?;
    let uploaded_at = Timestamp::now();
    ledger.upload_dar(file.bytes.clone()).await.map_err(node)?;
    let ledger_end_after = ledger.ledger_end().await.map_err(node)?;
    let listed = ledger.package_ids().await.map_err(node)?;
    if !listed.contains(&main.package_id) {
        bail!(
            "the node accepted {} but does not list its main package {}; nothing was recorded",
            file.file_name,
            main.package_id
        );
    }
    let listed_at = Timestamp::now();
    writeln!(
        out,
        "uploaded {} ({} {}, main package {}, {} packages); the node lists it",
        file.file_name,
        main.name,
        main.version,
        main.package_id,
        file.info.packages.len()
    )?;
    let mut package_ids: Vec<String> = file.info.package_ids().map(str::to_owned).collect();
    package_ids.sort();
    Ok(Dar {
        main_package_id: main.package_id,
        file_name: file.file_name,
        content: file.bytes,
        uploaded_at,
        content_hash: file.info.content_hash,
        package_name: main.name,
        package_version: main.version,
        package_ids,
        listed_at: Some(listed_at),
        ledger_end_before: Some(ledger_end_before),
        ledger_end_after: Some(ledger_end_after),
    })
}

fn print_report(
    token: &OnboardedToken,
    dars: &[Dar],
    report: &OnboardingReport,
    out: &mut impl Write,
) -> Result<()> {
    let name = format!("{}/{}", token.instrument.admin, token.instrument.id);
    if report.token_new {
        writeln!(out, "onboarded {name} ({})", token.transfer_kind.as_str())?;
    } else {
        writeln!(
            out,
            "{name} was onboarded already; registry {} and transfer kind {} recorded",
            shown_url(&token.registry_url),
            token.transfer_kind.as_str()
        )?;
    }
    let known: BTreeSet<&String> = token
        .package_names
        .iter()
        .filter(|n| !report.package_names_added.contains(n))
        .collect();
    for added in &report.package_names_added {
        writeln!(out, "package name {added}: recorded")?;
    }
    for name in known {
        writeln!(out, "package name {name}: recorded before")?;
    }
    for dar in dars {
        let id = &dar.main_package_id;
        let state = if report.dars_recorded.contains(id) {
            "recorded"
        } else {
            "recorded before (the first record is kept)"
        };
        writeln!(out, "dar {} ({id}): {state}", dar.file_name)?;
    }
    writeln!(
        out,
        "ingestion will now credit holdings and deposits of {} that it held back before \
         onboarding (it judges them again; nothing else to do here)",
        token.instrument.id
    )?;
    Ok(())
}

async fn list(args: &ListArgs, out: &mut impl Write) -> Result<()> {
    let store = args.db.open_read_only().await?;
    let tokens = store.onboarded_tokens().await?;
    let mut entries = Vec::with_capacity(tokens.len());
    for t in tokens {
        let dars = store.token_dars(&t.instrument).await?;
        entries.push((t, dars));
    }
    match args.format {
        Format::Json => {
            let json: Vec<serde_json::Value> = entries.iter().map(json_entry).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        Format::Table => print_list(&entries, out)?,
    }
    Ok(())
}

fn print_list(entries: &[(OnboardedToken, Vec<Dar>)], out: &mut impl Write) -> Result<()> {
    if entries.is_empty() {
        writeln!(out, "no tokens onboarded")?;
    }
    for (t, dars) in entries {
        writeln!(out, "{} (admin {})", t.instrument.id, t.instrument.admin)?;
        writeln!(out, "  registry:      {}", shown_url(&t.registry_url))?;
        writeln!(out, "  transfer kind: {}", t.transfer_kind.as_str())?;
        let names: Vec<&str> = t.package_names.iter().map(String::as_str).collect();
        writeln!(out, "  package names: {}", names.join(", "))?;
        if dars.is_empty() {
            writeln!(out, "  dars:          none")?;
        }
        for d in dars {
            writeln!(
                out,
                "  dar {}: main package {} ({} {}), sha256 {}…, uploaded {}",
                d.file_name,
                d.main_package_id,
                d.package_name,
                d.package_version,
                d.content_hash.get(..16).unwrap_or(&d.content_hash),
                d.uploaded_at
            )?;
        }
    }
    Ok(())
}

fn json_entry((t, dars): &(OnboardedToken, Vec<Dar>)) -> serde_json::Value {
    serde_json::json!({
        "instrumentAdmin": t.instrument.admin.as_str(),
        "instrumentId": t.instrument.id,
        "registryUrl": shown_url(&t.registry_url),
        "transferKind": t.transfer_kind.as_str(),
        "packageNames": t.package_names,
        "dars": dars.iter().map(|d| serde_json::json!({
            "fileName": d.file_name,
            "mainPackageId": d.main_package_id,
            "packageName": d.package_name,
            "packageVersion": d.package_version,
            "sha256": d.content_hash,
            "packageIds": d.package_ids,
            "uploadedAt": d.uploaded_at.to_string(),
            "listedAt": d.listed_at.map(|t| t.to_string()),
            "ledgerEndBefore": d.ledger_end_before,
            "ledgerEndAfter": d.ledger_end_after,
        })).collect::<Vec<_>>(),
    })
}
