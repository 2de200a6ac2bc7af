//! Token standard V2 (CIP-0112) as the ledger shows it: the `EventLog_HoldingsChange` events an
//! instrument admin exercises to report every change to an account's holdings, the `HoldingV2`
//! view, and typed decoders for both.
//!
//! As for V1 ([`crate::token_standard`]), the interfaces are named in [`crate::interfaces`].
//! An event says what its admin claims; whether the claim counts is decided by the parser
//! (`parser::v2`), against the onboarded instruments.

use serde::Deserialize;

use crate::interfaces::{TRANSFER_INSTRUCTION_V2, qualified_name};
use crate::token_standard::{
    self as ts, DecodeError, Holding, InstrumentJson, LockJson, Metadata, TransferInstruction,
    TransferSpec, amount, contract, holding_amount, invalid, json, party, time,
};
use crate::{Amount, ContractId, PartyId};

/// The [`EVENT_LOG_V2`](crate::interfaces::EVENT_LOG_V2) choice that reports holding changes.
pub const HOLDINGS_CHANGE: &str = "EventLog_HoldingsChange";

/// Whether an exercise is one of the V2 transfer instruction's choices (accept, reject,
/// withdraw: V2 has no update), exercised through the V2 interface.
pub fn is_v2_instruction_choice(interface_id: Option<&str>, choice: &str) -> bool {
    matches!(
        choice,
        "TransferInstruction_Accept"
            | "TransferInstruction_Reject"
            | "TransferInstruction_Withdraw"
    ) && interface_id.is_some_and(|i| TRANSFER_INSTRUCTION_V2.matches(i))
}

/// Whether an interface is one of the V2 token-standard APIs (`Splice.Api.Token.…V2`): its
/// choices share names with V1's but not their arguments.
pub fn is_v2_interface(identifier: &str) -> bool {
    let name = qualified_name(identifier);
    name.strip_prefix("Splice.Api.Token.")
        .and_then(|rest| rest.split(':').next())
        .is_some_and(|module| module.ends_with("V2"))
}

/// The account id of the special owner-less account minted amounts come from.
pub const MINT_ACCOUNT_ID: &str = "cip-112/mint";
/// The account id of the special owner-less account burnt amounts go to.
pub const BURN_ACCOUNT_ID: &str = "cip-112/burn";

/// `HoldingV2.Account`: a party's basic account has no provider and an empty id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub owner: Option<PartyId>,
    pub provider: Option<PartyId>,
    pub id: String,
}

/// What a special account (no owner) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialAccount {
    Mint,
    Burn,
}

impl Account {
    /// `Mint` or `Burn` for the CIP-0112 special accounts; `None` for any other account.
    pub fn special(&self) -> Option<SpecialAccount> {
        if self.owner.is_some() || self.provider.is_some() {
            return None;
        }
        match self.id.as_str() {
            MINT_ACCOUNT_ID => Some(SpecialAccount::Mint),
            BURN_ACCOUNT_ID => Some(SpecialAccount::Burn),
            _ => None,
        }
    }
}

/// `TransferEventsV2.TransferSide`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum TransferSide {
    SenderSide,
    ReceiverSide,
}

/// `TransferEventsV2.TransferLegSide`: one side of a transfer leg, as reported on the account
/// of that side. `instrument_id` is the id under the event's admin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferLegSide {
    pub transfer_leg_id: String,
    pub side: TransferSide,
    pub otherside: Account,
    pub amount: Amount,
    pub instrument_id: String,
    pub meta: std::collections::BTreeMap<String, String>,
}

impl TransferLegSide {
    /// The memo of the leg: its `splice.lfdecentralizedtrust.org/reason`.
    pub fn reason(&self) -> Option<&str> {
        self.meta.get(ts::META_REASON).map(String::as_str)
    }
}

/// The argument of an `EventLog_HoldingsChange` exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingsChange {
    pub admin: PartyId,
    pub account: Account,
    pub input_holding_cids: Vec<ContractId>,
    pub transfer_leg_sides: Vec<TransferLegSide>,
    pub output_holding_cids: Vec<ContractId>,
    /// `extraArgs.meta`: its reason explains the change as a whole (an unlock, a merge).
    pub meta: Metadata,
}

#[derive(Deserialize)]
struct AccountJson {
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    id: String,
}

impl AccountJson {
    fn typed(self) -> Result<Account, DecodeError> {
        Ok(Account {
            owner: self.owner.as_deref().map(party).transpose()?,
            provider: self.provider.as_deref().map(party).transpose()?,
            id: self.id,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegJson {
    transfer_leg_id: String,
    side: TransferSide,
    otherside: AccountJson,
    amount: String,
    instrument_id: String,
    #[serde(default)]
    meta: Option<Metadata>,
}

#[derive(Deserialize)]
struct ExtraArgsJson {
    #[serde(default)]
    meta: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HoldingsChangeJson {
    admin: String,
    account: AccountJson,
    #[serde(default)]
    input_holding_cids: Vec<String>,
    #[serde(default)]
    transfer_leg_sides: Vec<LegJson>,
    #[serde(default)]
    output_holding_cids: Vec<String>,
    #[serde(default)]
    extra_args: Option<ExtraArgsJson>,
}

/// Reads the argument of an `EventLog_HoldingsChange` exercise. A leg amount must be positive:
/// the side says which way it goes.
pub fn decode_holdings_change(argument: &str) -> Result<HoldingsChange, DecodeError> {
    let v: HoldingsChangeJson = json("EventLog_HoldingsChange argument", argument)?;
    let cids = |list: &[String]| -> Result<Vec<ContractId>, DecodeError> {
        list.iter().map(|c| contract(c)).collect()
    };
    let legs = v
        .transfer_leg_sides
        .into_iter()
        .map(|l| {
            let a = amount(&l.amount)?;
            if !a.is_positive() {
                return Err(invalid(
                    "leg amount",
                    format!("{} is not positive", l.amount),
                ));
            }
            Ok(TransferLegSide {
                transfer_leg_id: l.transfer_leg_id,
                side: l.side,
                otherside: l.otherside.typed()?,
                amount: a,
                instrument_id: l.instrument_id,
                meta: l.meta.unwrap_or_default().values.0,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(HoldingsChange {
        admin: party(&v.admin)?,
        account: v.account.typed()?,
        input_holding_cids: cids(&v.input_holding_cids)?,
        transfer_leg_sides: legs,
        output_holding_cids: cids(&v.output_holding_cids)?,
        meta: v.extra_args.and_then(|e| e.meta).unwrap_or_default(),
    })
}

/// `TransferInstructionV2.Transfer`: as V1's, with accounts for sender and receiver.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransferV2Json {
    sender: AccountJson,
    receiver: AccountJson,
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
struct ActionJson {
    tag: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstructionV2ViewJson {
    #[serde(default)]
    original_instruction_cid: Option<String>,
    transfer: TransferV2Json,
    /// `Map TransferInstructionAction [[Party]]`: a Daml map with non-text keys is a list of
    /// `[key, value]` pairs in the JSON API.
    #[serde(default)]
    available_actions: Vec<(ActionJson, Vec<Vec<String>>)>,
}

/// The party standing for an account in a transfer: its owner, or the admin for the special
/// mint and burn accounts (as the V2 reading of legs does). Any other owner-less account is
/// nobody the exchange can deal with.
fn account_party(
    account: AccountJson,
    admin: &PartyId,
    role: &str,
) -> Result<PartyId, DecodeError> {
    let account = account.typed()?;
    let special = account.special();
    match (account.owner, special) {
        (Some(owner), _) => Ok(owner),
        (None, Some(_)) => Ok(admin.clone()),
        (None, None) => Err(invalid(
            &format!("transfer {role}"),
            format!("account {:?} has no owner", account.id),
        )),
    }
}

/// Reads a `TransferInstructionV2.TransferInstructionView` as the [`TransferInstruction`] the
/// V1 view would give. V2 reports no status: the instruction awaits the receiver when the
/// receiver's account (its owner, or provider) alone may accept it, and its registry otherwise
/// (V1's `TransferPendingReceiverAcceptance` and `TransferPendingInternalWorkflow`).
pub fn decode_instruction_v2(
    contract_id: &str,
    view: &str,
) -> Result<TransferInstruction, DecodeError> {
    let v: InstructionV2ViewJson = json("transfer instruction V2 view", view)?;
    let t = v.transfer;
    let instrument = t.instrument_id.typed()?;
    let receiver_parties: Vec<String> = [&t.receiver.owner, &t.receiver.provider]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let receiver_accepts = v.available_actions.iter().any(|(action, groups)| {
        action.tag == "TIA_Accept"
            && groups
                .iter()
                .any(|g| !g.is_empty() && g.iter().all(|p| receiver_parties.contains(p)))
    });
    let reason = t
        .meta
        .as_ref()
        .and_then(|m| m.get(ts::META_REASON))
        .map(str::to_owned);
    let transfer = TransferSpec {
        sender: account_party(t.sender, &instrument.admin, "sender")?,
        receiver: account_party(t.receiver, &instrument.admin, "receiver")?,
        amount: amount(&t.amount)?,
        requested_at: time(&t.requested_at)?,
        execute_before: time(&t.execute_before)?,
        input_holding_cids: t
            .input_holding_cids
            .iter()
            .map(|c| contract(c))
            .collect::<Result<_, _>>()?,
        reason,
        meta: t.meta.map(|m| m.values.0).unwrap_or_default(),
        instrument,
    };
    Ok(TransferInstruction {
        contract_id: contract(contract_id)?,
        original_instruction_cid: v
            .original_instruction_cid
            .as_deref()
            .map(contract)
            .transpose()?,
        transfer,
        status: if receiver_accepts {
            "TransferPendingReceiverAcceptance"
        } else {
            "TransferPendingInternalWorkflow"
        }
        .to_owned(),
        provenance: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HoldingV2ViewJson {
    account: AccountJson,
    instrument_id: InstrumentJson,
    amount: String,
    #[serde(default)]
    lock: Option<LockJson>,
    #[serde(default)]
    meta: Option<Metadata>,
}

/// Reads a `HoldingV2.HoldingView` value as a [`Holding`] of the account's owner; `None` for a
/// holding of an owner-less account (nobody's to credit).
pub fn decode_holding_v2(contract_id: &str, view: &str) -> Result<Option<Holding>, DecodeError> {
    let v: HoldingV2ViewJson = json("holding V2 view", view)?;
    let Some(owner) = v.account.typed()?.owner else {
        return Ok(None);
    };
    Ok(Some(Holding {
        contract_id: contract(contract_id)?,
        owner,
        instrument: v.instrument_id.typed()?,
        amount: holding_amount(&v.amount)?,
        lock: v.lock.map(LockJson::typed).transpose()?,
        meta: v.meta.unwrap_or_default().values.0,
        provenance: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interfaces::EVENT_LOG_V2;

    #[test]
    fn holdings_change_with_legs_and_special_accounts() {
        let c = decode_holdings_change(
            r#"{"account":{"id":"","owner":"a::1","provider":null},"admin":"dso::1",
                "extraArgs":{"context":{"values":{}},"meta":{"values":{"splice.lfdecentralizedtrust.org/reason":"r"}}},
                "inputHoldingCids":["13"],"observers":["a::1"],"outputHoldingCids":[],
                "transferLegSides":[{"amount":"49.3200000000","instrumentId":"Amulet","meta":{"values":{}},
                  "otherside":{"id":"cip-112/burn","owner":null,"provider":null},"side":"SenderSide","transferLegId":"burn"}]}"#,
        )
        .unwrap();
        assert_eq!(c.admin.as_str(), "dso::1");
        assert_eq!(c.meta.get(ts::META_REASON), Some("r"));
        let leg = &c.transfer_leg_sides[0];
        assert_eq!(leg.side, TransferSide::SenderSide);
        assert_eq!(leg.otherside.special(), Some(SpecialAccount::Burn));
        assert_eq!(leg.amount.to_string(), "49.3200000000");
        assert_eq!(c.account.special(), None);
    }

    #[test]
    fn a_leg_amount_must_be_positive() {
        let arg = |a: &str| {
            format!(
                r#"{{"account":{{"id":"","owner":"a::1"}},"admin":"d::1","transferLegSides":[{{"amount":"{a}",
                 "instrumentId":"X","otherside":{{"id":"","owner":"b::1"}},"side":"ReceiverSide","transferLegId":""}}]}}"#
            )
        };
        assert!(decode_holdings_change(&arg("1.0")).is_ok());
        assert!(decode_holdings_change(&arg("-1.0")).is_err());
        assert!(decode_holdings_change(&arg("0.0")).is_err());
    }

    #[test]
    fn v2_interfaces() {
        assert!(is_v2_interface(
            "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferFactory"
        ));
        assert!(is_v2_interface(&format!(
            "abc:{}",
            EVENT_LOG_V2.qualified_name
        )));
        assert!(!is_v2_interface(
            "55ba:Splice.Api.Token.TransferInstructionV1:TransferFactory"
        ));
        assert!(!is_v2_interface(
            "x:Other.TransferInstructionV2:TransferFactory"
        ));
    }

    #[test]
    fn v2_holding_views() {
        let h = decode_holding_v2(
            "00ab",
            r#"{"account":{"id":"","owner":"a::1","provider":null},"amount":"5.0000000000",
               "instrumentId":{"admin":"dso::1","id":"T"},"lock":null,"meta":{"values":{}}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.owner.as_str(), "a::1");
        assert_eq!(h.instrument.id, "T");
        let ownerless = decode_holding_v2(
            "00ab",
            r#"{"account":{"id":"cip-112/burn","owner":null,"provider":null},"amount":"5.0",
               "instrumentId":{"admin":"dso::1","id":"T"}}"#,
        )
        .unwrap();
        assert!(ownerless.is_none());
    }
}
