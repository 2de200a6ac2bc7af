//! What the parser reports: the parsed transaction, its transfers and holding changes.

use std::collections::BTreeMap;

use crate::token_standard::{Holding, TransferInstruction};
use crate::token_standard_v2::{Account, TransferLegSide};
use crate::{
    Amount, ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};

/// What one transaction means for the party.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedTransaction {
    pub update_id: UpdateId,
    pub offset: Offset,
    pub record_time: Timestamp,
    pub synchronizer_id: SynchronizerId,
    /// Holdings of the party created here (locked ones included), in node order.
    pub holdings_created: Vec<Holding>,
    /// Holdings of the party archived here, in node order.
    pub holdings_archived: Vec<Holding>,
    /// The party's holding changes summed per instrument.
    pub holding_changes: Vec<HoldingChange>,
    /// Transfer instructions with the party as sender or receiver created here.
    pub instructions_created: Vec<TransferInstruction>,
    /// Transfer instructions of the party consumed here (accepted, rejected, withdrawn, …).
    pub instructions_consumed: Vec<ContractId>,
    pub transfers: Vec<Transfer>,
    pub unexplained: Vec<Unexplained>,
    /// Consumed holdings the lookup could not resolve (normally other parties' holdings).
    pub unresolved_archives: Vec<ContractId>,
    /// Those of [`Self::unresolved_archives`] that may be the party's own: until they are
    /// resolved, the party's archived amounts are lower bounds and its net changes upper
    /// bounds (see [`Self::net_is_upper_bound`]). Empty whenever the lookup knows every
    /// holding the party ever had (ingestion); a replay of a partial recording fills it.
    pub possibly_own_archives: Vec<PossiblyOwnArchive>,
    /// V2 events about the party's accounts that failed the trust checks: not credited.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub untrusted_events: Vec<UntrustedEvent>,
    /// The instruments whose movements were read from V2 events here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read_from_v2: Vec<InstrumentId>,
}

/// An unresolved archive of a holding that may be the party's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PossiblyOwnArchive {
    pub node_id: i32,
    pub contract_id: ContractId,
    pub template_id: String,
    /// Known when the holding is an input of the party's transfer (its instrument).
    pub instrument: Option<InstrumentId>,
    pub why: PossiblyOwnBecause,
}

/// Why an unresolved archive may be the party's: the signs that a holding is its own, since
/// the owner cannot be read off an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PossiblyOwnBecause {
    /// An input holding of a transfer the party sends.
    InputOfPartysTransfer,
    /// Consumed by a choice the party exercised (an owner archives its holdings).
    PartyActed,
    /// The party is a stakeholder of the archived contract (a flat `ArchivedEvent`).
    PartyIsStakeholder,
}

impl ParsedTransaction {
    /// Whether the net change of `instrument` may be lower than reported, because an archive
    /// of a possibly own holding of that instrument (or of an unknown one) is unresolved.
    pub fn net_is_upper_bound(&self, instrument: &InstrumentId) -> bool {
        self.possibly_own_archives
            .iter()
            .any(|a| a.instrument.as_ref().is_none_or(|i| i == instrument))
    }
}

/// Per instrument: sum of created, sum of archived, and the net change of the party.
pub(super) fn holding_changes(
    created: &[Holding],
    archived: &[Holding],
) -> Result<Vec<HoldingChange>, String> {
    let mut by: BTreeMap<&InstrumentId, (Amount, Amount)> = BTreeMap::new();
    for h in created {
        let e = by.entry(&h.instrument).or_default();
        e.0 = e.0.checked_add(h.amount).map_err(|e| e.to_string())?;
    }
    for h in archived {
        let e = by.entry(&h.instrument).or_default();
        e.1 = e.1.checked_add(h.amount).map_err(|e| e.to_string())?;
    }
    by.into_iter()
        .map(|(instrument, (created, archived))| {
            Ok(HoldingChange {
                instrument: instrument.clone(),
                created,
                archived,
                net: created.checked_sub(archived).map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HoldingChange {
    pub instrument: InstrumentId,
    pub created: Amount,
    pub archived: Amount,
    pub net: Amount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
    #[serde(rename = "self")]
    SelfTransfer,
}

/// What kind of movement a [`Transfer`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferKind {
    /// A transfer between parties (1-step, or a multi-step instruction and its fate).
    Transfer,
    /// The party moved its own holdings (self transfer, merge, split).
    MergeSplit,
    Mint,
    Burn,
    Unlock,
    /// The registry expired holdings whose fees exceeded their value.
    ExpireDust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferStatus {
    /// Done in this transaction (1-step, or a direct transfer-factory transfer).
    Completed,
    /// An instruction now awaits the receiver (or the registry).
    Pending,
    /// A pending instruction was accepted: the transfer happened here.
    Accepted,
    Rejected,
    Withdrawn,
    Failed,
    Expired,
}

/// A movement of value involving the party, one per instrument.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    /// The node that explains it.
    pub node_id: i32,
    pub choice: String,
    pub kind: TransferKind,
    pub direction: Direction,
    pub sender: Option<PartyId>,
    pub receiver: Option<PartyId>,
    /// `None` only for an instruction's fate when the instruction is unknown to the lookup.
    pub instrument: Option<InstrumentId>,
    pub amount: Option<Amount>,
    /// The memo: `splice.lfdecentralizedtrust.org/reason`.
    pub reason: Option<String>,
    pub status: TransferStatus,
    pub transfer_instruction_cid: Option<ContractId>,
    /// The transfer's metadata where the transfer's terms are visible (transfer-factory
    /// choices and known instructions); empty otherwise.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// The token standard this transfer was read from.
    pub read_from: Standard,
    /// When read from V2: the event and leg it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v2_leg: Option<V2Leg>,
}

/// A token standard version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Standard {
    /// CIP-56: choices, their results and the holdings they create and archive.
    V1,
    /// CIP-0112: the admin's `EventLog_HoldingsChange` events.
    V2,
}

impl Standard {
    /// As the DB keeps it (`transfer_instructions.read_from`).
    pub fn as_str(self) -> &'static str {
        match self {
            Standard::V1 => "v1",
            Standard::V2 => "v2",
        }
    }
}

impl std::str::FromStr for Standard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "v1" => Ok(Standard::V1),
            "v2" => Ok(Standard::V2),
            _ => Err(format!("unknown token standard {s:?}")),
        }
    }
}

/// Where a V2 transfer comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct V2Leg {
    /// The `EventLog_HoldingsChange` node.
    pub event_node_id: i32,
    /// The party's account the event is about.
    pub account: Account,
    /// The leg side (the sender side of a self-transfer); `None` for a change without legs (a
    /// merge, split or unlock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<TransferLegSide>,
}

/// A V2 event about one of the party's accounts that is not credited, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UntrustedEvent {
    pub node_id: i32,
    /// The admin the event names (as written, when it could be read).
    pub admin: Option<String>,
    pub why: Untrusted,
}

/// Why a V2 event is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum Untrusted {
    /// The argument is not an `EventLog_HoldingsChange` as the standard defines it.
    Malformed { error: String },
    /// Acting parties other than the admin alone: anyone can log claims about an admin.
    NotExercisedByAdmin { acting_parties: Vec<String> },
    /// The admin of no onboarded instrument.
    AdminNotOnboarded,
    /// The (admin, instrument id) pair is not onboarded.
    InstrumentNotOnboarded { instrument: InstrumentId },
    /// A holding it names is of another admin's instrument, or not the account's, or not
    /// issued by the admin.
    ForeignHolding { contract_id: ContractId },
    /// A holding it names is neither created nor archived (as known) in the transaction.
    UnknownHolding { contract_id: ContractId },
    /// Its holdings change by another amount than its legs say.
    Unbalanced {
        instrument_id: String,
        holdings_net: Amount,
        legs_net: Amount,
    },
    /// The trusted events of the instrument do not explain the party's holding changes: the
    /// instrument is read from V1 instead.
    Incomplete {
        instrument: InstrumentId,
        holdings_net: Amount,
        events_net: Amount,
    },
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untrusted::Malformed { error } => write!(f, "malformed: {error}"),
            Untrusted::NotExercisedByAdmin { acting_parties } => {
                write!(
                    f,
                    "not exercised by its admin alone (acting: {acting_parties:?})"
                )
            }
            Untrusted::AdminNotOnboarded => f.write_str("its admin has no onboarded instrument"),
            Untrusted::InstrumentNotOnboarded { instrument } => {
                write!(f, "instrument {instrument} is not onboarded")
            }
            Untrusted::ForeignHolding { contract_id } => {
                write!(
                    f,
                    "names holding {contract_id}, not of its admin's instrument or account"
                )
            }
            Untrusted::UnknownHolding { contract_id } => {
                write!(f, "names holding {contract_id}, unknown to the transaction")
            }
            Untrusted::Unbalanced {
                instrument_id,
                holdings_net,
                legs_net,
            } => write!(
                f,
                "{instrument_id}: holdings change by {holdings_net}, its legs by {legs_net}"
            ),
            Untrusted::Incomplete {
                instrument,
                holdings_net,
                events_net,
            } => write!(
                f,
                "{instrument}: the party's holdings change by {holdings_net}, the events explain {events_net}; read from V1"
            ),
        }
    }
}

/// A change to the party's holdings that no token-standard event explains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unexplained {
    pub node_id: i32,
    pub change: HoldingChangeKind,
    pub holding: Holding,
    /// The nearest enclosing choice, or the template for a bare create or archive.
    pub context: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldingChangeKind {
    Created,
    Archived,
}
