//! One attempt at one withdrawal, every step redone each time (`non-functionals.rst`: a retry
//! starts over from the registry call): the registry's factory and choice context → `prepare`
//! with `maxRecordTime = trecTgt − 1µs` → decode, verify and re-hash (core) → sign → `execute`.
//! The outcome is not learned here: ingestion reads it from the ledger.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::client::{ClientError, ErrorClass};
use canton_ledger::commands::{Command, DeduplicationPeriod, ExerciseCommand};
use canton_ledger::interactive::{
    HashingSchemeVersion, JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, PartySignatures,
    Signature, SignatureFormat, SigningAlgorithmSpec, SinglePartySignatures,
};
use canton_ledger::registry::TransferFactoryWithChoiceContext;
use exchange_core::interfaces::{TRANSFER_FACTORY_V1, TRANSFER_FACTORY_V2};
use exchange_core::signing::{Common, Intent, REASON_KEY, Standard, TransferIntent};

use crate::prepared::sign_prepared;
use canton_ledger::registry_client::RegistryClient;
use exchange_core::withdrawal::{KindVerdict, judge_transfer_kind};
use exchange_core::{Amount, ContractId, InstrumentId, SynchronizerId, Timestamp};
use exchange_store::Claimed;
use serde_json::{Value, json};

use super::Automation;

/// How an attempt ended.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The signed transaction was sent and may commit: the node accepted it, or its answer
    /// was lost or not definite (the note says which). Ingestion will tell how it ended; from
    /// now on the withdrawal is never failed by the automation.
    Executed {
        note: Option<String>,
        /// The `executeBefore` it was signed with.
        execute_before: Timestamp,
    },
    /// Nothing reached the ledger, or it may have (a lost answer); try again later.
    Retry(String),
    /// Fail the withdrawal now (refunded): no attempt ever reached the ledger.
    Fail(String),
}

/// Why a step did not work, and whether redoing the attempt may help.
fn retry_after(what: &str, e: &ClientError) -> Attempt {
    let note = match e.class() {
        ErrorClass::Permanent => " (permanent for this request; the next attempt starts over)",
        _ => "",
    };
    Attempt::Retry(format!("{what}: {e}{note}"))
}

impl Automation {
    pub(crate) async fn attempt(&self, claimed: &Claimed) -> Attempt {
        let w = &claimed.withdrawal;
        let Some(trec_tgt) = w.trec_tgt else {
            return Attempt::Retry("no target record time (a recovered withdrawal)".into());
        };
        if claimed.inputs.is_empty() {
            return Attempt::Retry("no holdings are reserved for it".into());
        }
        let Some(registry) = self.registries.get(&w.instrument.admin) else {
            return Attempt::Retry(format!(
                "no registry configured for the instrument admin {} (--registry ADMIN=URL)",
                w.instrument.admin
            ));
        };
        let execute_before = match w.created_at.checked_add_micros(self.config.offer_micros) {
            Some(t) => t,
            None => return Attempt::Retry("executeBefore out of range".into()),
        };
        let Some(requested_at) = w
            .created_at
            .checked_add_micros(-self.config.clock_skew_micros)
        else {
            return Attempt::Retry("requestedAt out of range".into());
        };
        let standard = match self.standards.of(registry, &w.instrument).await {
            Ok(standard) => standard,
            Err(why) => return Attempt::Retry(why),
        };
        let mut arguments = self.choice_arguments(standard, claimed, requested_at, execute_before);
        let factory = match self
            .factory(registry, standard, &w.instrument, &arguments)
            .await
        {
            Ok(f) => f,
            Err(retry) => return retry,
        };
        let rule = self.kind_rule(claimed);
        match judge_transfer_kind(factory.transfer_kind.as_str(), rule, claimed.executions) {
            KindVerdict::Proceed => {}
            KindVerdict::Fail(why) => return Attempt::Fail(why),
            KindVerdict::Wait(why) => return Attempt::Retry(why),
        }
        arguments["extraArgs"]["context"] =
            match serde_json::from_str(factory.choice_context.choice_context_data.get()) {
                Ok(context) => context,
                Err(e) => {
                    return Attempt::Retry(format!(
                        "registry: a choice context that is not JSON: {e}"
                    ));
                }
            };
        let Some(max_record_time) = trec_tgt.checked_add_micros(-1) else {
            return Attempt::Retry("maxRecordTime out of range".into());
        };
        let intent = match self.intent(standard, claimed, &factory, (requested_at, execute_before))
        {
            Ok(intent) => intent,
            Err(why) => return Attempt::Retry(why),
        };
        if let Some(why) = self.withdrawals_off().await {
            return Attempt::Retry(format!("not prepared: {why}"));
        }
        let prepare = self.prepare_request(
            standard,
            claimed,
            &factory,
            arguments,
            &intent,
            max_record_time,
        );
        let prepared = match self.ledger.prepare(&prepare).await {
            Ok(p) => p,
            Err(e) => return retry_after("prepare", &e),
        };
        // A signature is made only over what was decoded, checked against the intent and
        // re-hashed locally. A refusal is logged with what differed; nothing is sent.
        let signature = match sign_prepared(self.signer.as_ref(), &intent, &prepared) {
            Ok(s) => s,
            Err(refused) => {
                tracing::warn!(withdrawal = %w.id, "{refused}");
                return Attempt::Retry(refused.to_string());
            }
        };
        self.rate.until_ready().await;
        // Asked again right before sending: the switch may have gone off while this waited.
        if let Some(why) = self.withdrawals_off().await {
            return Attempt::Retry(format!("not executed: {why}"));
        }
        let execute = self.execute_request(claimed, prepared.prepared_transaction, &signature.0);
        match self.ledger.execute(&execute).await {
            Ok(()) => Attempt::Executed {
                note: None,
                execute_before,
            },
            // Refused before sequencing (a bad signature, a malformed request): nothing commits.
            Err(e @ ClientError::Api { .. }) if e.class() == ErrorClass::Permanent => {
                retry_after("execute", &e)
            }
            // Anything else may have been sequenced before the answer went missing.
            Err(e) => Attempt::Executed {
                note: Some(format!("execute: {e}; the outcome is read from the ledger")),
                execute_before,
            },
        }
    }

    /// The registry's factory for `arguments`, from the API of `standard`. A 404 (no such
    /// factory, any more) makes the issuer's supported APIs be asked again next time.
    async fn factory(
        &self,
        registry: &RegistryClient,
        standard: Standard,
        instrument: &InstrumentId,
        arguments: &Value,
    ) -> Result<TransferFactoryWithChoiceContext, Attempt> {
        let answer = match standard {
            Standard::V1 => registry.transfer_factory(raw(arguments)).await,
            Standard::V2 => registry.transfer_factory_v2(raw(arguments)).await,
        };
        answer.map_err(|e| {
            if e.status() == Some(404) {
                self.standards.forget(instrument);
            }
            retry_after("registry", &e)
        })
    }

    /// The `TransferFactory_Transfer` argument with an empty context, as the registry wants it:
    /// V1's `{expectedAdmin, transfer, extraArgs}`, or V2's `{transfer, actors, extraArgs}` with
    /// the parties' basic accounts and the treasury as the only actor.
    fn choice_arguments(
        &self,
        standard: Standard,
        claimed: &Claimed,
        requested_at: Timestamp,
        execute_before: Timestamp,
    ) -> Value {
        let w = &claimed.withdrawal;
        let inputs: Vec<&str> = claimed.inputs.iter().map(ContractId::as_str).collect();
        let holder = |party: &str| match standard {
            Standard::V1 => json!(party),
            Standard::V2 => json!({"owner": party, "provider": null, "id": ""}),
        };
        let transfer = json!({
            "sender": holder(self.treasury.as_str()),
            "receiver": holder(w.receiver.as_str()),
            "amount": w.amount.to_string(),
            "instrumentId": {"admin": w.instrument.admin.as_str(), "id": w.instrument.id},
            "requestedAt": requested_at.to_string(),
            "executeBefore": execute_before.to_string(),
            "inputHoldingCids": inputs,
            "meta": {"values": {REASON_KEY: w.id.as_str()}},
        });
        let extra_args = json!({"context": {"values": {}}, "meta": {"values": {}}});
        match standard {
            Standard::V1 => json!({
                "expectedAdmin": w.instrument.admin.as_str(),
                "transfer": transfer,
                "extraArgs": extra_args,
            }),
            Standard::V2 => json!({
                "transfer": transfer,
                "actors": [self.treasury.as_str()],
                "extraArgs": extra_args,
            }),
        }
    }

    /// Exactly what the exchange asks for: the verifier holds the prepared transaction to it.
    fn intent(
        &self,
        through: Standard,
        claimed: &Claimed,
        factory: &TransferFactoryWithChoiceContext,
        (requested_at, execute_before): (Timestamp, Timestamp),
    ) -> Result<Intent, String> {
        let w = &claimed.withdrawal;
        let contracts = &factory.choice_context.disclosed_contracts;
        let synchronizer = match &w.synchronizer {
            Some(s) => s.clone(),
            None => contracts
                .iter()
                .find_map(|c| SynchronizerId::new(&c.synchronizer_id).ok())
                .ok_or("neither the withdrawal nor the registry's contracts name a synchronizer")?,
        };
        let disclosed = contracts
            .iter()
            .map(|c| ContractId::new(&c.contract_id))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|e| format!("the registry disclosed a contract with a bad id: {e}"))?;
        let factory_id = ContractId::new(&factory.factory_id)
            .map_err(|e| format!("the registry's factory id: {e}"))?;
        Ok(Intent::Transfer(TransferIntent {
            common: Common {
                treasury: self.treasury.clone(),
                synchronizer,
                disclosed,
            },
            factory: factory_id,
            expected_admin: w.instrument.admin.clone(),
            receiver: w.receiver.clone(),
            amount: w.amount,
            instrument: w.instrument.clone(),
            memo: w.id.to_string(),
            inputs: claimed.inputs.iter().cloned().collect(),
            requested_at,
            execute_before,
            max_fee: Amount::ZERO,
            through,
        }))
    }

    fn prepare_request(
        &self,
        standard: Standard,
        claimed: &Claimed,
        factory: &TransferFactoryWithChoiceContext,
        arguments: Value,
        intent: &Intent,
        max_record_time: Timestamp,
    ) -> JsPrepareSubmissionRequest {
        let interface = match standard {
            Standard::V1 => TRANSFER_FACTORY_V1,
            Standard::V2 => TRANSFER_FACTORY_V2,
        };
        let command = ExerciseCommand {
            // By package name: the node resolves it to the version it has.
            template_id: interface.by_package_name.into(),
            contract_id: factory.factory_id.clone(),
            choice: "TransferFactory_Transfer".into(),
            choice_argument: raw(&arguments),
        };
        JsPrepareSubmissionRequest {
            user_id: self.config.user_id.clone(),
            // The withdrawal id: a node deduplicates a command id it has seen recently.
            command_id: claimed.withdrawal.id.to_string(),
            commands: vec![Command::ExerciseCommand(command)],
            act_as: vec![self.treasury.to_string()],
            disclosed_contracts: factory
                .choice_context
                .disclosed_contracts
                .iter()
                .cloned()
                .map(Into::into)
                .collect(),
            synchronizer_id: intent.common().synchronizer.to_string(),
            max_record_time: Some(max_record_time.to_string()),
            ..JsPrepareSubmissionRequest::default()
        }
    }

    fn execute_request(
        &self,
        claimed: &Claimed,
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
            submission_id: format!("{}#{}", claimed.withdrawal.id, claimed.attempts),
            user_id: self.config.user_id.clone(),
            hashing_scheme_version: HashingSchemeVersion::V2,
            min_ledger_time: None,
        }
    }
}

/// A JSON value as the raw Daml value the wire types carry.
fn raw(value: &Value) -> canton_ledger::DamlValue {
    serde_json::value::to_raw_value(value).expect("a JSON value serializes")
}
