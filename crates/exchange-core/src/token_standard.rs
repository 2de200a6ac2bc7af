//! The token standard (CIP-56) as the ledger shows it: which templates, interfaces and choices
//! matter, and typed decoders for the Daml values the parser reads (holding and transfer
//! instruction views, `Transfer` arguments, choice results and their metadata).
//!
//! The interfaces themselves are named in [`crate::interfaces`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::interfaces::{HOLDING_V1, HOLDING_V2, TRANSFER_INSTRUCTION_V1, TRANSFER_INSTRUCTION_V2};
use crate::tokens::Provenance;
use crate::{Amount, ContractId, InstrumentId, PartyId, Timestamp};

/// Metadata key of the human-readable reason: the exchange's memo (deposit account, withdrawal id).
pub const META_REASON: &str = "splice.lfdecentralizedtrust.org/reason";
/// Metadata key that labels registry-specific choices (`transfer`, `merge-split`, `burn`, …).
pub const META_TX_KIND: &str = "splice.lfdecentralizedtrust.org/tx-kind";
pub const META_SENDER: &str = "splice.lfdecentralizedtrust.org/sender";

/// A token-standard `Metadata` / `TextMap Text`. Canton 3.4 prints a `TextMap` as a JSON object,
/// some 3.3 builds as `[[key, value], …]`; both are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TextMap(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for TextMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TextMap, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TextMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a TextMap: an object of strings or a list of [key, value] pairs")
            }
            fn visit_unit<E>(self) -> Result<TextMap, E> {
                Ok(TextMap::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TextMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.insert(k, v);
                }
                Ok(TextMap(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TextMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = seq.next_element::<(String, String)>()? {
                    out.insert(k, v);
                }
                Ok(TextMap(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `Splice.Api.Token.MetadataV1:Metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub values: TextMap,
}

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.0.get(key).map(String::as_str)
    }
}

/// A lock on a holding (`HoldingV1.Lock`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub holders: Vec<PartyId>,
    pub expires_at: Option<Timestamp>,
    /// `RelTime` in microseconds.
    pub expires_after_micros: Option<i64>,
    pub context: Option<String>,
}

/// A holding (UTXO) as its `HoldingV1.Holding` view describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holding {
    pub contract_id: ContractId,
    pub owner: PartyId,
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub lock: Option<Lock>,
    pub meta: BTreeMap<String, String>,
    /// Who issued the contract, when read from its created event (not from a lookup).
    #[serde(skip)]
    pub provenance: Option<Provenance>,
}

/// `TransferInstructionV1.Transfer`: what a sender asked the registry to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferSpec {
    pub sender: PartyId,
    pub receiver: PartyId,
    pub amount: Amount,
    pub instrument: InstrumentId,
    pub requested_at: Timestamp,
    pub execute_before: Timestamp,
    pub input_holding_cids: Vec<ContractId>,
    pub reason: Option<String>,
    /// The transfer's metadata (the reason included), for exchange-specific keys.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// A transfer instruction (a pending multi-step transfer) from its `TransferInstruction` view.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferInstruction {
    pub contract_id: ContractId,
    pub original_instruction_cid: Option<ContractId>,
    pub transfer: TransferSpec,
    /// `TransferPendingReceiverAcceptance` or `TransferPendingInternalWorkflow`.
    pub status: String,
    /// Who issued the contract, when read from its created event (not from a lookup).
    #[serde(skip)]
    pub provenance: Option<Provenance>,
}

/// Why a Daml value could not be read as the token standard defines it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", canton_ledger::quote::cut(.0))]
pub struct DecodeError(pub String);

pub(crate) fn invalid(what: &str, e: impl std::fmt::Display) -> DecodeError {
    DecodeError(format!("invalid {what}: {e}"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstrumentJson {
    admin: String,
    id: String,
}

impl InstrumentJson {
    pub(crate) fn typed(self) -> Result<InstrumentId, DecodeError> {
        Ok(InstrumentId {
            admin: party(&self.admin)?,
            id: self.id,
        })
    }
}

#[derive(Deserialize)]
struct RelTimeJson {
    microseconds: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LockJson {
    #[serde(default)]
    holders: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    expires_after: Option<RelTimeJson>,
    #[serde(default)]
    context: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HoldingViewJson {
    owner: String,
    instrument_id: InstrumentJson,
    amount: String,
    #[serde(default)]
    lock: Option<LockJson>,
    #[serde(default)]
    meta: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferJson {
    sender: String,
    receiver: String,
    amount: String,
    instrument_id: InstrumentJson,
    requested_at: String,
    execute_before: String,
    #[serde(default)]
    input_holding_cids: Vec<String>,
    #[serde(default)]
    meta: Option<Metadata>,
}

#[derive(Deserialize)]
struct VariantJson {
    tag: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstructionViewJson {
    #[serde(default)]
    original_instruction_cid: Option<String>,
    transfer: TransferJson,
    status: VariantJson,
}

pub(crate) fn party(s: &str) -> Result<PartyId, DecodeError> {
    PartyId::new(s).map_err(|e| invalid("party", e))
}

pub(crate) fn contract(s: &str) -> Result<ContractId, DecodeError> {
    ContractId::new(s).map_err(|e| invalid("contract id", e))
}

pub(crate) fn amount(s: &str) -> Result<Amount, DecodeError> {
    s.parse().map_err(|e| invalid("amount", e))
}

/// A holding holds something: a negative amount is a malformed view (a buggy or hostile
/// registry), and booking it would lower the treasury's holdings without a transfer.
pub(crate) fn holding_amount(s: &str) -> Result<Amount, DecodeError> {
    let a = amount(s)?;
    if a.is_negative() {
        return Err(invalid("holding amount", format!("{s} is negative")));
    }
    Ok(a)
}

pub(crate) fn time(s: &str) -> Result<Timestamp, DecodeError> {
    s.parse().map_err(|e| invalid("time", e))
}

pub(crate) fn json<'a, T: Deserialize<'a>>(what: &str, raw: &'a str) -> Result<T, DecodeError> {
    serde_json::from_str(raw).map_err(|e| invalid(what, e))
}

impl LockJson {
    pub(crate) fn typed(self) -> Result<Lock, DecodeError> {
        Ok(Lock {
            holders: self
                .holders
                .iter()
                .map(|h| party(h))
                .collect::<Result<_, _>>()?,
            expires_at: self.expires_at.as_deref().map(time).transpose()?,
            expires_after_micros: self
                .expires_after
                .map(|r| {
                    r.microseconds
                        .parse::<i64>()
                        .map_err(|e| invalid("RelTime", e))
                })
                .transpose()?,
            context: self.context,
        })
    }
}

/// Reads a `HoldingV1.HoldingView` value.
pub fn decode_holding(contract_id: &str, view: &str) -> Result<Holding, DecodeError> {
    let v: HoldingViewJson = json("holding view", view)?;
    let lock = v.lock.map(LockJson::typed).transpose()?;
    Ok(Holding {
        contract_id: contract(contract_id)?,
        owner: party(&v.owner)?,
        instrument: v.instrument_id.typed()?,
        amount: holding_amount(&v.amount)?,
        lock,
        meta: v.meta.unwrap_or_default().values.0,
        provenance: None,
    })
}

impl TransferJson {
    pub(crate) fn typed(self) -> Result<TransferSpec, DecodeError> {
        let reason = self
            .meta
            .as_ref()
            .and_then(|m| m.get(META_REASON))
            .map(str::to_owned);
        Ok(TransferSpec {
            sender: party(&self.sender)?,
            receiver: party(&self.receiver)?,
            amount: amount(&self.amount)?,
            instrument: self.instrument_id.typed()?,
            requested_at: time(&self.requested_at)?,
            execute_before: time(&self.execute_before)?,
            input_holding_cids: self
                .input_holding_cids
                .iter()
                .map(|c| contract(c))
                .collect::<Result<_, _>>()?,
            reason,
            meta: self.meta.map(|m| m.values.0).unwrap_or_default(),
        })
    }
}

/// Reads a `TransferInstructionV1.TransferInstructionView` value.
pub fn decode_instruction(
    contract_id: &str,
    view: &str,
) -> Result<TransferInstruction, DecodeError> {
    let v: InstructionViewJson = json("transfer instruction view", view)?;
    Ok(TransferInstruction {
        contract_id: contract(contract_id)?,
        original_instruction_cid: v
            .original_instruction_cid
            .as_deref()
            .map(contract)
            .transpose()?,
        transfer: v.transfer.typed()?,
        status: v.status.tag,
        provenance: None,
    })
}

/// The argument of `TransferFactory_Transfer` (and DA Utility's `TransferRule_Transfer`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransferChoiceJson {
    transfer: TransferJson,
    #[serde(default)]
    extra_args: Option<ExtraArgsJson>,
}

#[derive(Deserialize)]
struct ExtraArgsJson {
    #[serde(default)]
    meta: Option<Metadata>,
}

/// Reads the `transfer` of a transfer-factory choice, with the reason from `transfer.meta` or,
/// failing that, `extraArgs.meta`.
pub fn decode_transfer_choice(argument: &str) -> Result<TransferSpec, DecodeError> {
    let arg: TransferChoiceJson = json("transfer choice argument", argument)?;
    let extra_reason = arg
        .extra_args
        .and_then(|e| e.meta)
        .and_then(|m| m.get(META_REASON).map(str::to_owned));
    let mut spec = arg.transfer.typed()?;
    if spec.reason.is_none() {
        spec.reason = extra_reason;
    }
    Ok(spec)
}

/// How a token-standard choice ended (`TransferInstructionResult.output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoiceOutput {
    Completed,
    Pending { instruction_cid: ContractId },
    Failed,
}

/// What the parser reads of any choice result: its output tag (token-standard choices) and its
/// metadata (`tx-kind`, `sender`, `reason`).
#[derive(Debug, Default)]
pub struct ChoiceResult {
    pub output: Option<ChoiceOutput>,
    pub meta: Metadata,
}

#[derive(Deserialize)]
struct ResultJson {
    #[serde(default)]
    output: Option<OutputJson>,
    #[serde(default)]
    meta: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutputJson {
    tag: String,
    #[serde(default)]
    value: Option<PendingJson>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PendingJson {
    #[serde(default)]
    transfer_instruction_cid: Option<String>,
}

/// Reads a choice result. Results that are not records (a contract id, a list, unit) carry no
/// metadata and give an empty [`ChoiceResult`]; a malformed `output` of a record is an error.
pub fn decode_result(result: &str) -> Result<ChoiceResult, DecodeError> {
    if !result.trim_start().starts_with('{') {
        return Ok(ChoiceResult::default());
    }
    let Ok(r) = serde_json::from_str::<ResultJson>(result) else {
        // A record whose `output`/`meta` fields mean something else in a non-standard choice.
        return Ok(ChoiceResult::default());
    };
    let output = match r.output {
        None => None,
        Some(o) => Some(match o.tag.as_str() {
            "TransferInstructionResult_Completed" => ChoiceOutput::Completed,
            "TransferInstructionResult_Failed" => ChoiceOutput::Failed,
            "TransferInstructionResult_Pending" => {
                let cid = o
                    .value
                    .and_then(|v| v.transfer_instruction_cid)
                    .ok_or_else(|| {
                        DecodeError("pending result without transferInstructionCid".into())
                    })?;
                ChoiceOutput::Pending {
                    instruction_cid: contract(&cid)?,
                }
            }
            _ => {
                return Ok(ChoiceResult {
                    output: None,
                    meta: r.meta.unwrap_or_default(),
                });
            }
        }),
    };
    Ok(ChoiceResult {
        output,
        meta: r.meta.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct SenderArgJson {
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    transfer: Option<SenderOnlyJson>,
}

#[derive(Deserialize)]
struct SenderOnlyJson {
    #[serde(default)]
    sender: Option<String>,
}

/// The sender named in a choice argument (`sender` or `transfer.sender`), for transfers whose
/// result metadata lacks the `sender` key.
pub fn argument_sender(argument: &str) -> Option<String> {
    let arg: SenderArgJson = serde_json::from_str(argument).ok()?;
    arg.sender.or(arg.transfer.and_then(|t| t.sender))
}

/// The token-standard views of a created contract.
#[derive(Debug, Default)]
pub struct ContractViews {
    pub holding: Option<Holding>,
    pub instruction: Option<TransferInstruction>,
    /// Whether `instruction` was read from a `TransferInstructionV2` view (a V2-only token).
    pub instruction_from_v2: bool,
}

/// Reads the `Holding` and `TransferInstruction` views of a create, wherever they stand among
/// its interface views. Views that failed on the node (`viewStatus.code != 0`) are skipped.
pub fn decode_views(event: &canton_ledger::CreatedEvent) -> Result<ContractViews, DecodeError> {
    let mut views = ContractViews::default();
    // A `HoldingV2` view is read only for a holding without a `HoldingV1` one (a V2-only
    // token): both describe the same contract, and V1 is the one the rest of the system keeps.
    let mut v2_view = None;
    let mut v2_instruction = None;
    for view in &event.interface_views {
        let Some(value) = view
            .view_value
            .as_deref()
            .filter(|_| view.view_status.code == 0)
        else {
            continue;
        };
        let id = view.interface_id.as_str();
        if HOLDING_V1.matches(id) {
            let mut holding = decode_holding(&event.contract_id, value.get())?;
            holding.provenance = Some(Provenance::of(event));
            views.holding = Some(holding);
        } else if HOLDING_V2.matches(id) {
            v2_view = Some(value);
        } else if TRANSFER_INSTRUCTION_V1.matches(id) {
            let mut instruction = decode_instruction(&event.contract_id, value.get())?;
            instruction.provenance = Some(Provenance::of(event));
            views.instruction = Some(instruction);
        } else if TRANSFER_INSTRUCTION_V2.matches(id) {
            v2_instruction = Some(value);
        }
    }
    // Likewise a `TransferInstructionV2` view only for an instruction without a V1 one: an
    // instruction with both is one offer, read once.
    if let (None, Some(value)) = (&views.instruction, v2_instruction) {
        let mut instruction =
            crate::token_standard_v2::decode_instruction_v2(&event.contract_id, value.get())?;
        instruction.provenance = Some(Provenance::of(event));
        views.instruction = Some(instruction);
        views.instruction_from_v2 = true;
    }
    if let (None, Some(value)) = (&views.holding, v2_view) {
        views.holding =
            crate::token_standard_v2::decode_holding_v2(&event.contract_id, value.get())?.map(
                |mut h| {
                    h.provenance = Some(Provenance::of(event));
                    h
                },
            );
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_maps_in_both_encodings() {
        let a: Metadata = serde_json::from_str(r#"{"values":{"k":"v"}}"#).unwrap();
        let b: Metadata = serde_json::from_str(r#"{"values":[["k","v"]]}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get("k"), Some("v"));
    }

    #[test]
    fn holding_view_with_lock() {
        let h = decode_holding(
            "00ab",
            r#"{"owner":"a::1","instrumentId":{"admin":"dso::1","id":"Amulet"},"amount":"1064.0304414400",
               "lock":{"holders":["dso::1"],"expiresAt":"2025-06-18T00:00:00.000000Z","expiresAfter":{"microseconds":"600000000"},"context":"c"},
               "meta":{"values":{}}}"#,
        )
        .unwrap();
        assert_eq!(h.amount.to_string(), "1064.0304414400");
        let lock = h.lock.unwrap();
        assert_eq!(lock.expires_after_micros, Some(600_000_000));
        assert_eq!(lock.expires_at.unwrap().to_string(), "2025-06-18T00:00:00Z");
        assert!(
            decode_holding(
                "00ab",
                r#"{"owner":"a::1","instrumentId":{"admin":"dso::1","id":"A"},"amount":1.5}"#
            )
            .is_err()
        );
    }

    #[test]
    fn a_negative_holding_amount_is_malformed() {
        let view = |amount: &str| {
            format!(
                r#"{{"owner":"a::1","instrumentId":{{"admin":"dso::1","id":"A"}},"amount":"{amount}"}}"#
            )
        };
        let err = decode_holding("00ab", &view("-5.0000000000")).unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
        assert!(decode_holding("00ab", &view("-0.0000000001")).is_err());
        assert!(decode_holding("00ab", &view("0.0000000000")).is_ok());
    }

    #[test]
    fn results() {
        let r = decode_result(
            r#"{"output":{"tag":"TransferInstructionResult_Pending","value":{"transferInstructionCid":"31"}},"senderChangeCids":[],"meta":{"values":{"x":"y"}}}"#,
        )
        .unwrap();
        assert_eq!(
            r.output,
            Some(ChoiceOutput::Pending {
                instruction_cid: ContractId::new("31").unwrap()
            })
        );
        assert!(decode_result(r#""00ab""#).unwrap().output.is_none());
        assert!(decode_result("{}").unwrap().meta.values.0.is_empty());
    }
}
