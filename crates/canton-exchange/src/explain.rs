//! `canton-exchange explain`: reads recorded `/v2/updates` elements and prints, per transaction,
//! what it did to one party's holdings and which transfers it contains.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use canton_ledger::Update;
use canton_ledger::contract_events::JsGetEventsByContractIdResponse;
use canton_ledger::quote::{cut, quote};
use canton_ledger::recording::read_updates;
use exchange_core::book::{Fallback, WithOnboarded};
use exchange_core::parser::{
    Direction, HoldingChange, HoldingChangeKind, PossiblyOwnArchive, PossiblyOwnBecause, Standard,
    Transfer, UntrustedEvent,
};
use exchange_core::tokens::{Onboarded, OnboardedToken, TokenTransferKind};
use exchange_core::{
    ContractLookup, HoldingBook, InstrumentId, KnownContracts, ParsedTransaction, PartyId,
    parse_transaction,
};
use exchange_services::source::read_bounded;
use serde::Serialize;

use crate::output::{Format, short};

#[derive(clap::Args)]
pub struct Args {
    /// The party whose view the file holds (the treasury).
    #[arg(long)]
    party: String,
    /// A JSON array or JSON lines of `{"update": …}` elements or bare transactions.
    file: PathBuf,
    /// Recorded `/v2/events/events-by-contract-id` answers (a JSON array or JSON lines), to
    /// resolve holdings created before the file starts.
    #[arg(long)]
    events_by_contract_id: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// An onboarded instrument, `ADMIN/ID` (repeatable): V2 events of its admin are read, as
    /// ingestion reads them. Without any, transfers are read from V1 only.
    #[arg(long = "onboarded", value_name = "ADMIN/ID")]
    onboarded: Vec<String>,
    /// The largest file read, in MiB (explain reads its files whole).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    max_file_mib: u64,
}

const RAISE: &str = "raise --max-file-mib";

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    let party =
        PartyId::new(&args.party).with_context(|| format!("--party {}", quote(&args.party)))?;
    let onboarded = onboarded(&args.onboarded)?;
    let max = (args.max_file_mib as usize) << 20;
    let text = read_bounded(&args.file, max, RAISE)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let updates = read_updates(&text).with_context(|| {
        format!(
            "{} is not a recording of /v2/updates elements",
            args.file.display()
        )
    })?;
    let known = match &args.events_by_contract_id {
        Some(path) => load_known(path, max)?,
        None => KnownContracts::default(),
    };

    let mut book = HoldingBook::default();
    for update in &updates {
        match update {
            Update::Transaction(t) => {
                let fallback = Fallback(&book, &known);
                let with = onboarded.as_ref().map(|o| WithOnboarded(&fallback, o));
                let lookup: &dyn ContractLookup = match &with {
                    Some(w) => w,
                    None => &fallback,
                };
                let parsed = parse_transaction(&t.value, &party, lookup)?;
                book.apply(&parsed);
                match args.format {
                    Format::Json => {
                        serde_json::to_writer(&mut *out, &JsonTransaction::from(&parsed))?;
                        writeln!(out)?;
                    }
                    Format::Table => write_table(out, &parsed)?,
                }
            }
            Update::OffsetCheckpoint(c) => {
                if let Format::Table = args.format {
                    writeln!(out, "checkpoint  offset {}\n", c.value.offset)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `--onboarded ADMIN/ID` instruments (party ids have no `/`); `None` without any.
fn onboarded(args: &[String]) -> Result<Option<Onboarded>> {
    if args.is_empty() {
        return Ok(None);
    }
    let tokens = args
        .iter()
        .map(|a| {
            let (admin, id) = a
                .split_once('/')
                .filter(|(_, id)| !id.is_empty())
                .with_context(|| format!("--onboarded {}: not ADMIN/ID", quote(a)))?;
            let admin = PartyId::new(admin).with_context(|| format!("--onboarded {}", quote(a)))?;
            Ok(OnboardedToken {
                instrument: InstrumentId {
                    admin,
                    id: id.to_owned(),
                },
                // Only the instrument matters to the parser.
                registry_url: String::new(),
                transfer_kind: TokenTransferKind::OneStep,
                package_names: Default::default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Onboarded::new(tokens)))
}

fn load_known(path: &std::path::Path, max: usize) -> Result<KnownContracts> {
    let text =
        read_bounded(path, max, RAISE).with_context(|| format!("reading {}", path.display()))?;
    let responses: Vec<JsGetEventsByContractIdResponse> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text)
    } else {
        serde_json::Deserializer::from_str(&text)
            .into_iter()
            .collect::<Result<_, _>>()
    }
    // serde_json quotes the offending value, which may be megabytes.
    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), cut(&e.to_string())))?;
    let mut known = KnownContracts::default();
    for r in responses.iter().filter_map(|r| r.created.as_ref()) {
        known.add(&r.created_event).with_context(|| {
            format!(
                "{}: contract {}",
                path.display(),
                quote(&r.created_event.contract_id)
            )
        })?;
    }
    Ok(known)
}

/// The JSON form: one object per transaction.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonTransaction<'a> {
    update_id: &'a str,
    offset: i64,
    record_time: String,
    synchronizer_id: &'a str,
    holding_changes: Vec<JsonHoldingChange<'a>>,
    transfers: &'a [Transfer],
    unexplained: Vec<JsonUnexplained<'a>>,
    /// V2 events about the party's accounts that were not credited, and why.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    untrusted_events: &'a [UntrustedEvent],
    /// Archives of holdings that may be the party's but are unknown to the file (created
    /// before it starts): their amounts are missing from `holdingChanges`.
    unresolved_archives: &'a [PossiblyOwnArchive],
    /// How to resolve them, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    resolve_with: Option<&'static str>,
}

/// A holding change; with an unresolved archive of a possibly own holding of its instrument,
/// `archived` is only a lower bound and `net` an upper bound (the true net may be lower).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonHoldingChange<'a> {
    #[serde(flatten)]
    change: &'a HoldingChange,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    archived_is_lower_bound: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    net_is_upper_bound: bool,
}

const RESOLVE_WITH: &str = "--events-by-contract-id FILE: recorded /v2/events/events-by-contract-id answers for these contract ids";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonUnexplained<'a> {
    node_id: i32,
    change: HoldingChangeKind,
    contract_id: &'a str,
    instrument: &'a exchange_core::InstrumentId,
    amount: exchange_core::Amount,
    context: &'a str,
}

impl<'a> From<&'a ParsedTransaction> for JsonTransaction<'a> {
    fn from(p: &'a ParsedTransaction) -> Self {
        JsonTransaction {
            update_id: p.update_id.as_str(),
            offset: p.offset.get(),
            record_time: p.record_time.to_string(),
            synchronizer_id: p.synchronizer_id.as_str(),
            holding_changes: p
                .holding_changes
                .iter()
                .map(|change| {
                    let bound = p.net_is_upper_bound(&change.instrument);
                    JsonHoldingChange {
                        change,
                        archived_is_lower_bound: bound,
                        net_is_upper_bound: bound,
                    }
                })
                .collect(),
            transfers: &p.transfers,
            untrusted_events: &p.untrusted_events,
            unresolved_archives: &p.possibly_own_archives,
            resolve_with: (!p.possibly_own_archives.is_empty()).then_some(RESOLVE_WITH),
            unexplained: p
                .unexplained
                .iter()
                .map(|u| JsonUnexplained {
                    node_id: u.node_id,
                    change: u.change,
                    contract_id: u.holding.contract_id.as_str(),
                    instrument: &u.holding.instrument,
                    amount: u.holding.amount,
                    context: &u.context,
                })
                .collect(),
        }
    }
}

fn write_table(out: &mut impl Write, p: &ParsedTransaction) -> Result<()> {
    writeln!(
        out,
        "update {}  offset {}  {}",
        p.update_id, p.offset, p.record_time
    )?;
    for c in &p.holding_changes {
        // An unresolved own archive would add to `archived` and take from `net`.
        let (at_least, at_most) = match p.net_is_upper_bound(&c.instrument) {
            true => (">=", "<="),
            false => ("", ""),
        };
        writeln!(
            out,
            "  holdings   {:<24} created {:>22}  archived {:>24}  net {:>25}",
            format!(
                "{} ({})",
                c.instrument.id,
                short(c.instrument.admin.as_str())
            ),
            c.created.to_plain_string(),
            format!("{at_least}{}", c.archived.to_plain_string()),
            format!("{at_most}{}", c.net.to_plain_string())
        )?;
    }
    write_unresolved(out, &p.possibly_own_archives)?;
    for t in &p.transfers {
        write_transfer(out, t)?;
    }
    for u in &p.untrusted_events {
        writeln!(
            out,
            "  UNTRUSTED V2 event node {} of admin {}: {} (not credited)",
            u.node_id,
            u.admin.as_deref().map_or("?".to_owned(), short),
            u.why
        )?;
    }
    for u in &p.unexplained {
        writeln!(
            out,
            "  UNEXPLAINED {:?} holding {} {} {} ({})",
            u.change,
            short_cid(u.holding.contract_id.as_str()),
            u.holding.amount.to_plain_string(),
            u.holding.instrument.id,
            u.context
        )?;
    }
    if p.transfers.is_empty()
        && p.unexplained.is_empty()
        && p.untrusted_events.is_empty()
        && p.possibly_own_archives.is_empty()
        && p.holdings_created.is_empty()
        && p.holdings_archived.is_empty()
    {
        writeln!(out, "  nothing for this party")?;
    }
    writeln!(out)?;
    Ok(())
}

/// One transfer: its direction, status, amount, counterparty, memo and the standard it was
/// read from.
fn write_transfer(out: &mut impl Write, t: &Transfer) -> Result<()> {
    let (arrow, other) = match t.direction {
        Direction::In => ("IN  <-", t.sender.as_ref()),
        Direction::Out => ("OUT ->", t.receiver.as_ref()),
        Direction::SelfTransfer => ("SELF  ", None),
    };
    let instrument = t
        .instrument
        .as_ref()
        .map_or("?".to_owned(), |i| i.id.clone());
    let amount = t.amount.map_or("?".to_owned(), |a| a.to_plain_string());
    write!(
        out,
        "  {arrow} {:<9} {:>22} {:<8} {:<26}",
        serde_json::to_value(t.status)?.as_str().unwrap_or_default(),
        amount,
        instrument,
        other.map_or(String::new(), |p| short(p.as_str()))
    )?;
    if let Some(r) = &t.reason {
        write!(out, " memo {r:?}")?;
    }
    if let Some(cid) = &t.transfer_instruction_cid {
        write!(out, " instruction {}", short_cid(cid.as_str()))?;
    }
    let standard = match t.read_from {
        Standard::V1 => "V1",
        Standard::V2 => "V2",
    };
    writeln!(out, "  [{} {standard}]", t.choice)?;
    Ok(())
}

fn short_cid(cid: &str) -> &str {
    &cid[..cid.len().min(12)]
}

/// The archives of possibly own holdings the file cannot resolve: never counted as zero
/// silently, and with what resolves them.
fn write_unresolved(out: &mut impl Write, archives: &[PossiblyOwnArchive]) -> Result<()> {
    for a in archives {
        let why = match a.why {
            PossiblyOwnBecause::InputOfPartysTransfer => "an input of the party's transfer",
            PossiblyOwnBecause::PartyActed => "consumed by a choice the party exercised",
            PossiblyOwnBecause::PartyIsStakeholder => "the party is a stakeholder",
        };
        let instrument = a
            .instrument
            .as_ref()
            .map_or("instrument unknown".to_owned(), |i| i.id.clone());
        writeln!(
            out,
            "  UNRESOLVED archive of a possibly own holding {} ({instrument}; {why}): its amount is unknown, so archived is a lower bound and net an upper bound",
            a.contract_id
        )?;
    }
    if !archives.is_empty() {
        writeln!(out, "  resolve with {RESOLVE_WITH}")?;
    }
    Ok(())
}
