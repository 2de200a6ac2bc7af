//! One accept attempt at one offer, every step redone each time (`non-functionals.rst`: a retry
//! starts over from the registry call): the token admin registry's accept choice context →
//! `prepare` of `TransferInstruction_Accept` as the treasury → decode, verify and re-hash (core:
//! it must be exactly that accept, `AcceptIntent`) → sign → rate-limited `execute`. The outcome
//! is not learned here: ingestion reads it from the ledger.
//!
//! The offer's standard (as ingestion read it) says which accept: V1's interface and registry
//! API for an offer with a V1 view; for a V2-only token's offer, the V2 registry API's context
//! and `TransferInstructionV2`'s accept, whose controllers are its `actors = [treasury]`.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::client::{ClientError, ErrorClass};
use canton_ledger::commands::{Command, DeduplicationPeriod, ExerciseCommand};
use canton_ledger::interactive::{
    HashingSchemeVersion, JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, PartySignatures,
    Signature, SignatureFormat, SigningAlgorithmSpec, SinglePartySignatures,
};
use canton_ledger::registry::{ChoiceContext, TransferInstructionChoice};
use exchange_core::interfaces::{TRANSFER_INSTRUCTION_V1, TRANSFER_INSTRUCTION_V2};
use exchange_core::signing::{AcceptIntent, Common, Intent, Standard};

use crate::prepared::sign_prepared;
use exchange_core::{ContractId, SynchronizerId};
use exchange_store::ClaimedOffer;
use serde_json::{Value, json};

use super::DepositAutomation;

/// How an attempt ended.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The signed accept was sent and may commit: the node accepted it, or its answer was lost
    /// or not definite (the note says which). Ingestion will tell how it ended.
    Executed { note: Option<String> },
    /// Nothing reached the ledger; try again later (or give up after the last attempt).
    Retry(String),
}

fn retry_after(what: &str, e: &ClientError) -> Attempt {
    let note = match e.class() {
        ErrorClass::Permanent => " (permanent for this request; the next attempt starts over)",
        _ => "",
    };
    Attempt::Retry(format!("{what}: {e}{note}"))
}

impl DepositAutomation {
    pub(crate) async fn attempt(&self, claimed: &ClaimedOffer) -> Attempt {
        let offer = claimed.instruction.contract_id.as_str();
        let registry = self.registry(&claimed.registry_url);
        let accept = TransferInstructionChoice::Accept;
        let context = match claimed.instruction.read_from {
            Standard::V1 => registry.choice_context(offer, accept).await,
            Standard::V2 => registry.choice_context_v2(offer, accept).await,
        };
        let context = match context {
            Ok(c) => c,
            Err(e) => return retry_after("registry", &e),
        };
        let context_data: Value = match serde_json::from_str(context.choice_context_data.get()) {
            Ok(v) => v,
            Err(e) => {
                return Attempt::Retry(format!("registry: a choice context that is not JSON: {e}"));
            }
        };
        let intent = match self.intent(claimed, &context) {
            Ok(intent) => intent,
            Err(why) => return Attempt::Retry(why),
        };
        let prepare = self.prepare_request(claimed, context, context_data, &intent);
        let prepared = match self.ledger.prepare(&prepare).await {
            Ok(p) => p,
            Err(e) => return retry_after("prepare", &e),
        };
        // Only what was decoded, checked to be exactly this accept and re-hashed is signed.
        let signature = match sign_prepared(self.signer.as_ref(), &intent, &prepared) {
            Ok(s) => s,
            Err(refused) => {
                tracing::warn!(%offer, "{refused}");
                return Attempt::Retry(refused.to_string());
            }
        };
        self.rate.until_ready().await;
        let execute = self.execute_request(claimed, prepared.prepared_transaction, &signature.0);
        match self.ledger.execute(&execute).await {
            Ok(()) => Attempt::Executed { note: None },
            // Refused before sequencing (a bad signature, a malformed request): nothing commits.
            Err(e @ ClientError::Api { .. }) if e.class() == ErrorClass::Permanent => {
                retry_after("execute", &e)
            }
            // Anything else may have been sequenced before the answer went missing.
            Err(e) => Attempt::Executed {
                note: Some(format!("execute: {e}; the outcome is read from the ledger")),
            },
        }
    }

    /// Exactly what the exchange asks for: the verifier holds the prepared transaction to it.
    fn intent(&self, claimed: &ClaimedOffer, context: &ChoiceContext) -> Result<Intent, String> {
        let contracts = &context.disclosed_contracts;
        // The offer's synchronizer: that of the contracts its choice uses (the locked holding).
        let synchronizer = contracts
            .iter()
            .find_map(|c| SynchronizerId::new(&c.synchronizer_id).ok())
            .ok_or("the registry's accept context names no synchronizer")?;
        let disclosed = contracts
            .iter()
            .map(|c| ContractId::new(&c.contract_id))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|e| format!("the registry disclosed a contract with a bad id: {e}"))?;
        Ok(Intent::AcceptInstruction(AcceptIntent {
            common: Common {
                treasury: self.treasury.clone(),
                synchronizer,
                disclosed,
            },
            instruction: claimed.instruction.contract_id.clone(),
            instrument: claimed.instruction.instrument.clone(),
            through: claimed.instruction.read_from,
        }))
    }

    fn prepare_request(
        &self,
        claimed: &ClaimedOffer,
        context: ChoiceContext,
        context_data: Value,
        intent: &Intent,
    ) -> JsPrepareSubmissionRequest {
        let offer = claimed.instruction.contract_id.as_str();
        let extra_args = json!({"context": context_data, "meta": {"values": {}}});
        // V2's choice names its controllers: the treasury alone.
        let (interface, argument) = match claimed.instruction.read_from {
            Standard::V1 => (TRANSFER_INSTRUCTION_V1, json!({"extraArgs": extra_args})),
            Standard::V2 => (
                TRANSFER_INSTRUCTION_V2,
                json!({"actors": [self.treasury.as_str()], "extraArgs": extra_args}),
            ),
        };
        let command = ExerciseCommand {
            // By package name: the node resolves it to the version it has.
            template_id: interface.by_package_name.into(),
            contract_id: offer.to_owned(),
            choice: "TransferInstruction_Accept".into(),
            choice_argument: serde_json::value::to_raw_value(&argument).expect("JSON"),
        };
        JsPrepareSubmissionRequest {
            user_id: self.config.user_id.clone(),
            // One command id per offer: a node deduplicates a command id it has seen recently.
            command_id: format!("accept-{offer}"),
            commands: vec![Command::ExerciseCommand(command)],
            act_as: vec![self.treasury.to_string()],
            disclosed_contracts: context
                .disclosed_contracts
                .into_iter()
                .map(Into::into)
                .collect(),
            synchronizer_id: intent.common().synchronizer.to_string(),
            ..JsPrepareSubmissionRequest::default()
        }
    }

    fn execute_request(
        &self,
        claimed: &ClaimedOffer,
        prepared_transaction: String,
        signature: &[u8; 64],
    ) -> JsExecuteSubmissionRequest {
        let signature = Signature {
            format: SignatureFormat::Concat,
            signature: BASE64.encode(signature),
            signed_by: self.fingerprint.clone(),
            signing_algorithm_spec: SigningAlgorithmSpec::Ed25519,
        };
        JsExecuteSubmissionRequest {
            prepared_transaction,
            party_signatures: Some(PartySignatures {
                signatures: vec![SinglePartySignatures {
                    party: self.treasury.to_string(),
                    signatures: vec![signature],
                }],
            }),
            deduplication_period: DeduplicationPeriod::default(),
            submission_id: format!(
                "accept-{}#{}",
                claimed.instruction.contract_id, claimed.attempts
            ),
            user_id: self.config.user_id.clone(),
            hashing_scheme_version: HashingSchemeVersion::V2,
            min_ledger_time: None,
        }
    }
}
