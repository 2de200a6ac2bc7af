//! The scenarios' treasury. Without a key it is a local party whose actions the scenarios commit
//! directly. With a [`TreasuryKey`] it is an external party of that key (its namespace the key's
//! fingerprint, as `/sandbox/control/external-parties` allocates one), and each of its actions
//! takes the path a wallet outside the node takes: the registry's factory, choice context and
//! disclosures, `prepare`, an Ed25519 signature over the prepared transaction's V2 hash, then
//! `execute` with the node's own checks (the hash is one this node prepared, the signature is the
//! party's key's). So a scenario exercises the same path a real validator would. Pure: no IO.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::commands::{Command, CreateCommand, DisclosedContract, ExerciseCommand};
use canton_ledger::interactive::{
    HashingSchemeVersion, JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, PartySignatures,
    Signature, SignatureFormat, SigningAlgorithmSpec, SinglePartySignatures,
};
use canton_ledger::registry::{ChoiceContext, TransferInstructionChoice};
use ed25519_dalek::{Signer as _, SigningKey};
use exchange_core::Timestamp;
use serde_json::{Value as Json, json};

use crate::daml::{Value, show_decimal};
use crate::interactive::{self, InteractiveError};
use crate::model::ContractRecord;
use crate::model::Identifier;
use crate::model::ledger::TxNodeKind;
use crate::registry::{Registry, RegistryError};
use crate::submit::Submitted;
use crate::token::amulet::{default_times, field};
use crate::token::offer::INSTRUMENT_ID as SBX;
use crate::token::packages::{self, meta};
use crate::token::{InstructionChoice, OfferRequest, TokenError, TransferOutcome, TransferRequest};
use crate::world::World;

/// The party hint of every scenario's treasury.
const HINT: &str = "treasury";
/// Who the scenarios' interactive submissions are from (`userId`).
const USER_ID: &str = "sandbox-scenario";
const TRANSFER_FACTORY: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory";
const TRANSFER_INSTRUCTION: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction";
const PREAPPROVAL_PROPOSAL: &str =
    "#splice-wallet:Splice.Wallet.TransferPreapproval:TransferPreapprovalProposal";

/// The treasury's Ed25519 key, for a sandbox whose scenarios' treasury is an external party.
/// `Debug` shows the fingerprint only.
#[derive(Clone)]
pub struct TreasuryKey {
    key: SigningKey,
}

impl TreasuryKey {
    pub fn new(key: SigningKey) -> TreasuryKey {
        TreasuryKey { key }
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Canton's fingerprint of the key: the external treasury's namespace.
    pub fn fingerprint(&self) -> String {
        interactive::fingerprint(&self.public_key())
    }

    fn sign(&self, hash: &[u8; 32]) -> [u8; 64] {
        self.key.sign(hash).to_bytes()
    }
}

impl fmt::Debug for TreasuryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TreasuryKey({})", self.fingerprint())
    }
}

/// A scenario's treasury: its party and, when external, its key.
#[derive(Debug, Clone)]
pub struct Treasury {
    pub party: String,
    key: Option<TreasuryKey>,
}

impl Treasury {
    /// Allocates `treasury`: a local party, or with `key` an external party of that key.
    pub fn allocate(world: &mut World, key: Option<&TreasuryKey>) -> Result<Treasury, TokenError> {
        let party = match key {
            None => world.ledger.allocate_party(HINT)?,
            Some(key) => {
                let public = key.public_key();
                let (party, _) = world
                    .external
                    .allocate(&mut world.ledger, HINT, &public)
                    .map_err(refused)?;
                party
            }
        };
        Ok(Treasury {
            party,
            key: key.cloned(),
        })
    }

    /// The treasury's Canton Coin `TransferPreapproval`: created at once for a local treasury;
    /// an external one signs a `TransferPreapprovalProposal` that this node's validator
    /// operator accepts (as `guide-peers-ops.md` §1.4 onboards an exchange).
    pub fn create_preapproval(&self, world: &mut World) -> Result<(), TokenError> {
        let Some(key) = &self.key else {
            world
                .amulet
                .create_preapproval(&mut world.ledger, &self.party)?;
            return Ok(());
        };
        let argument = json!({
            "receiver": self.party,
            "provider": world.amulet.provider,
            "expectedDso": world.amulet.dso,
        });
        let command = Command::CreateCommand(CreateCommand {
            template_id: PREAPPROVAL_PROPOSAL.to_owned(),
            create_arguments: raw(&argument),
        });
        self.submit(world, key, command, vec![], "treasury-preapproval")?;
        Ok(())
    }

    /// A Canton Coin transfer from the treasury (a withdrawal).
    pub fn transfer(
        &self,
        world: &mut World,
        request: &TransferRequest,
    ) -> Result<TransferOutcome, TokenError> {
        let Some(key) = &self.key else {
            return world.amulet.transfer(&mut world.ledger, request);
        };
        // As a wallet does: name the inputs (those the node would pick), then ask the registry.
        let inputs = request.inputs.clone().unwrap_or_else(|| {
            world
                .amulet
                .select_inputs(&world.ledger, &request.sender, request.amount)
        });
        let sync = world.amulet.config.synchronizer;
        let times = default_times(world.ledger.next_ledger_time(sync));
        let admin = world.amulet.dso.clone();
        let transfer = TransferCall {
            admin: &admin,
            instrument: "Amulet",
            receiver: &request.receiver,
            amount: show_decimal(request.amount),
            memo: request.memo.as_deref(),
            inputs: &inputs,
            times,
        };
        let done =
            self.factory_transfer(world, key, Registry::Amulet, &transfer, &request.command_id)?;
        Ok(transfer_outcome(
            world,
            &done,
            &request.sender,
            &request.receiver,
        ))
    }

    /// An SBX offer from the treasury; returns its `TransferInstruction`.
    pub fn offer(&self, world: &mut World, request: &OfferRequest) -> Result<String, TokenError> {
        let Some(key) = &self.key else {
            let out = world.token.offer(&mut world.ledger, request)?;
            return Ok(out.transfer_instruction_cid);
        };
        // The token's own default: a day after the ledger time the offer will have.
        let requested_at = world.ledger.next_ledger_time(world.token.synchronizer);
        let execute_before = request.execute_before.unwrap_or_else(|| {
            requested_at
                .checked_add_micros(crate::token::amulet::DAY_MICROS)
                .unwrap_or(requested_at)
        });
        let admin = world.token.admin.clone();
        let transfer = TransferCall {
            admin: &admin,
            instrument: SBX,
            receiver: &request.receiver,
            amount: show_decimal(request.amount),
            memo: request.memo.as_deref(),
            // The SBX factory picks the sender's holdings itself.
            inputs: &[],
            times: (requested_at, execute_before),
        };
        let done =
            self.factory_transfer(world, key, Registry::Token, &transfer, &request.command_id)?;
        created(
            world,
            done.offset,
            &crate::token::offer::instruction_template(),
        )
        .into_iter()
        .next()
        .map(|c| c.create.contract_id)
        .ok_or_else(|| TokenError::Interpretation("the SBX offer created no instruction".into()))
    }

    /// Accepts (as receiver) or withdraws (as sender) a pending SBX transfer instruction.
    pub fn act_on_offer(
        &self,
        world: &mut World,
        instruction_cid: &str,
        choice: InstructionChoice,
        command_id: &str,
    ) -> Result<(), TokenError> {
        let Some(key) = &self.key else {
            world
                .token
                .act(&mut world.ledger, instruction_cid, choice, command_id)?;
            return Ok(());
        };
        let (name, registry_choice) = match choice {
            InstructionChoice::Accept => (
                "TransferInstruction_Accept",
                TransferInstructionChoice::Accept,
            ),
            InstructionChoice::Reject => (
                "TransferInstruction_Reject",
                TransferInstructionChoice::Reject,
            ),
            InstructionChoice::Withdraw => (
                "TransferInstruction_Withdraw",
                TransferInstructionChoice::Withdraw,
            ),
        };
        // A V2-only SBX's instructions are used through V2's interface and registry API.
        let v2 = world.token.v2_only;
        let context = if v2 {
            Registry::Token.instruction_choice_context_v2(
                world,
                instruction_cid,
                registry_choice,
                true,
            )
        } else {
            Registry::Token.instruction_choice_context(
                world,
                instruction_cid,
                registry_choice,
                true,
            )
        }
        .map_err(registry_error)?;
        let extra_args = json!({"context": context_json(&context), "meta": {"values": {}}});
        let (interface, argument) = if v2 {
            let actors = json!([self.party]);
            let argument = json!({"actors": actors, "extraArgs": extra_args});
            (
                packages::transfer_instruction_v2_interface().wire(),
                argument,
            )
        } else {
            let argument = json!({ "extraArgs": extra_args });
            (TRANSFER_INSTRUCTION.to_owned(), argument)
        };
        let command = Command::ExerciseCommand(ExerciseCommand {
            template_id: interface,
            contract_id: instruction_cid.to_owned(),
            choice: name.to_owned(),
            choice_argument: raw(&argument),
        });
        let disclosed = disclosed_of(context);
        self.submit(world, key, command, disclosed, command_id)?;
        Ok(())
    }

    /// `TransferFactory_Transfer` with the factory, context and disclosures `registry` names.
    fn factory_transfer(
        &self,
        world: &mut World,
        key: &TreasuryKey,
        registry: Registry,
        transfer: &TransferCall<'_>,
        command_id: &str,
    ) -> Result<Submitted, TokenError> {
        let mut argument = transfer.argument(&self.party);
        let factory = registry
            .transfer_factory(world, &argument, true)
            .map_err(registry_error)?;
        argument["extraArgs"]["context"] = context_json(&factory.choice_context);
        let command = Command::ExerciseCommand(ExerciseCommand {
            template_id: TRANSFER_FACTORY.to_owned(),
            contract_id: factory.factory_id,
            choice: "TransferFactory_Transfer".to_owned(),
            choice_argument: raw(&argument),
        });
        let disclosed = disclosed_of(factory.choice_context);
        self.submit(world, key, command, disclosed, command_id)
    }

    /// `prepare`, sign the hash the node answered with, `execute`: the node's checks decide.
    fn submit(
        &self,
        world: &mut World,
        key: &TreasuryKey,
        command: Command,
        disclosed_contracts: Vec<DisclosedContract>,
        command_id: &str,
    ) -> Result<Submitted, TokenError> {
        let request = JsPrepareSubmissionRequest {
            user_id: USER_ID.to_owned(),
            command_id: command_id.to_owned(),
            commands: vec![command],
            act_as: vec![self.party.clone()],
            disclosed_contracts,
            ..JsPrepareSubmissionRequest::default()
        };
        let prepared = interactive::prepare(world, &request, None).map_err(refused)?;
        let signature = Signature {
            format: SignatureFormat::Concat,
            signature: BASE64.encode(key.sign(&prepared.hash)),
            signed_by: key.fingerprint(),
            signing_algorithm_spec: SigningAlgorithmSpec::Ed25519,
        };
        let execute = JsExecuteSubmissionRequest {
            prepared_transaction: BASE64.encode(&prepared.prepared_transaction),
            party_signatures: Some(PartySignatures {
                signatures: vec![SinglePartySignatures {
                    party: self.party.clone(),
                    signatures: vec![signature],
                }],
            }),
            submission_id: command_id.to_owned(),
            user_id: USER_ID.to_owned(),
            hashing_scheme_version: HashingSchemeVersion::V2,
            ..JsExecuteSubmissionRequest::default()
        };
        let authorized = interactive::authorize(world, &execute).map_err(refused)?;
        interactive::commit(world, &authorized).map_err(refused)
    }
}

/// What a `TransferFactory_Transfer` is asked to do.
struct TransferCall<'a> {
    admin: &'a str,
    instrument: &'a str,
    receiver: &'a str,
    amount: String,
    memo: Option<&'a str>,
    inputs: &'a [String],
    times: (Timestamp, Timestamp),
}

impl TransferCall<'_> {
    /// The choice argument, its context still empty (the registry fills it).
    fn argument(&self, sender: &str) -> Json {
        let mut values = serde_json::Map::new();
        if let Some(memo) = self.memo {
            values.insert(meta::REASON.to_owned(), json!(memo));
        }
        json!({
            "expectedAdmin": self.admin,
            "transfer": {
                "sender": sender,
                "receiver": self.receiver,
                "amount": self.amount,
                "instrumentId": {"admin": self.admin, "id": self.instrument},
                "requestedAt": self.times.0.to_string(),
                "executeBefore": self.times.1.to_string(),
                "inputHoldingCids": self.inputs,
                "meta": {"values": values},
            },
            "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}},
        })
    }
}

/// The contracts of `template` that the transaction at `offset` created (and did not archive).
fn created(world: &World, offset: i64, template: &Identifier) -> Vec<ContractRecord> {
    let Some(tx) = world.ledger.update_at(offset) else {
        return vec![];
    };
    let ids: Vec<String> = {
        let table = world.ledger.symbols();
        tx.nodes
            .iter()
            .filter(|node| !node.transient)
            .filter_map(|node| match &node.kind {
                TxNodeKind::Create(c) if c.template == *template => {
                    Some(table.get(c.contract_id).to_owned())
                }
                _ => None,
            })
            .collect()
    };
    ids.iter()
        .filter_map(|id| world.ledger.contract(id))
        .collect()
}

/// A committed Canton Coin transfer as [`AmuletToken::transfer`] reports it, read from the
/// transaction (a wallet reads the same from the update).
///
/// [`AmuletToken::transfer`]: crate::token::AmuletToken::transfer
fn transfer_outcome(
    world: &World,
    done: &Submitted,
    sender: &str,
    receiver: &str,
) -> TransferOutcome {
    let owned_by = |owner: &str| -> Vec<String> {
        created(world, done.offset, &packages::amulet_template())
            .into_iter()
            .filter(|c| matches!(field(&c.create.argument, "owner"), Some(Value::Party(p)) if p == owner))
            .map(|c| c.create.contract_id)
            .collect()
    };
    let instruction = created(
        world,
        done.offset,
        &packages::amulet_transfer_instruction_template(),
    );
    TransferOutcome {
        update_id: done.update_id.clone(),
        offset: done.offset,
        record_time: done.record_time,
        receiver_holding_cids: owned_by(receiver),
        sender_change_cids: owned_by(sender),
        transfer_instruction_cid: instruction.into_iter().next().map(|c| c.create.contract_id),
    }
}

fn context_json(context: &ChoiceContext) -> Json {
    serde_json::from_str(context.choice_context_data.get())
        .unwrap_or_else(|_| json!({"values": {}}))
}

fn disclosed_of(context: ChoiceContext) -> Vec<DisclosedContract> {
    context
        .disclosed_contracts
        .into_iter()
        .map(Into::into)
        .collect()
}

fn raw(value: &Json) -> canton_ledger::serde_util::DamlValue {
    serde_json::value::to_raw_value(value).expect("JSON")
}

/// A refused interactive submission, as the scenario reports a failed step.
fn refused(e: InteractiveError) -> TokenError {
    match e {
        InteractiveError::Token(e) => e,
        other => TokenError::InvalidArgument(format!(
            "the treasury's signed submission was refused: {other}"
        )),
    }
}

fn registry_error(e: RegistryError) -> TokenError {
    TokenError::InvalidArgument(format!("the registry refused the treasury's request: {e}"))
}

#[cfg(test)]
mod tests {
    use exchange_core::Amount;

    use super::*;
    use crate::model::LedgerConfig;
    use crate::token::AmuletConfig;

    fn key(seed: u8) -> TreasuryKey {
        TreasuryKey::new(SigningKey::from_bytes(&[seed; 32]))
    }

    /// The node's checks decide, not the scenario: a treasury signing with another key than
    /// its party's is refused at execution and nothing commits; with its own key the transfer
    /// commits and its outcome is read back from the transaction.
    #[test]
    fn a_treasury_signing_with_another_key_is_refused() {
        let mut world =
            World::new(LedgerConfig::default(), AmuletConfig::default(), 0, false).unwrap();
        let treasury = Treasury::allocate(&mut world, Some(&key(1))).unwrap();
        treasury.create_preapproval(&mut world).unwrap();
        let impostor = Treasury {
            party: treasury.party.clone(),
            key: Some(key(2)),
        };
        let alice = world.ledger.allocate_party("alice").unwrap();
        world
            .amulet
            .create_preapproval(&mut world.ledger, &alice)
            .unwrap();
        world
            .amulet
            .mint(&mut world.ledger, &treasury.party, Amount::from_whole(10))
            .unwrap();
        let request = TransferRequest {
            sender: treasury.party.clone(),
            receiver: alice.clone(),
            amount: Amount::from_whole(3),
            memo: Some("w-1".into()),
            inputs: None,
            command_id: "w-1".into(),
        };
        let end = world.ledger.ledger_end();
        let refused = impostor.transfer(&mut world, &request).unwrap_err();
        assert!(
            refused.to_string().contains("0 valid signatures"),
            "{refused}"
        );
        assert_eq!(world.ledger.ledger_end(), end);
        let done = treasury.transfer(&mut world, &request).unwrap();
        let amount_of = |cids: &[String]| -> Vec<Amount> {
            let holdings = world.amulet.holdings(&world.ledger, &treasury.party);
            let mut all = holdings;
            all.extend(world.amulet.holdings(&world.ledger, &alice));
            all.into_iter()
                .filter(|h| cids.contains(&h.contract_id))
                .map(|h| h.amount)
                .collect()
        };
        assert_eq!(
            amount_of(&done.receiver_holding_cids),
            [Amount::from_whole(3)]
        );
        assert_eq!(amount_of(&done.sender_change_cids), [Amount::from_whole(7)]);
        assert_eq!(done.transfer_instruction_cid, None);
    }
}
