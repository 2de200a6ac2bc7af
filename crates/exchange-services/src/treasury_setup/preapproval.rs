//! Step 2: the treasury's Canton Coin `TransferPreapproval`, so 1-step deposits reach it. Found
//! if one for the treasury is active; otherwise (unless a proposal of an earlier run is still
//! waiting for the provider) a `TransferPreapprovalProposal` is prepared, verified, re-hashed,
//! signed and executed as withdrawals are, and setup waits for the provider's acceptance.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::client::{ClientError, ErrorClass, LedgerClient};
use canton_ledger::commands::{Command, CreateCommand};
use canton_ledger::filters::{CumulativeFilter, EventFormat, Filters};
use canton_ledger::interactive::{
    HashingSchemeVersion, JsExecuteSubmissionRequest, JsPrepareSubmissionRequest, PartySignatures,
    Signature, SignatureFormat, SigningAlgorithmSpec, SinglePartySignatures,
};
use canton_ledger::state::{GetActiveContractsRequest, JsContractEntry};
use exchange_core::signing::{Common, Intent, PreapprovalIntent, Signer};

use crate::prepared::{NotSigned, sign_prepared};
use exchange_core::{ContractId, PartyId, SynchronizerId};
use serde_json::{Value, json};

use super::{SetupConfig, SetupError, Step, ledger, wait_for};

const PREAPPROVAL: &str = "#splice-amulet:Splice.AmuletRules:TransferPreapproval";
const PROPOSAL: &str =
    "#splice-wallet:Splice.Wallet.TransferPreapproval:TransferPreapprovalProposal";
/// The treasury's preapproval contracts are few; a bounded ACS answer of this size is plenty.
const ACS_LIMIT: usize = 200;

/// What the treasury's active contracts hold of the preapproval flow.
#[derive(Debug, Default)]
struct Found {
    preapproval: Option<ContractId>,
    proposal: Option<ContractId>,
}

pub(super) struct Context<'a> {
    pub client: &'a LedgerClient,
    pub signer: &'a dyn Signer,
    pub config: &'a SetupConfig,
    pub treasury: &'a PartyId,
    pub synchronizer: &'a str,
}

impl Context<'_> {
    pub(super) async fn ensure_preapproval(&self) -> Result<(ContractId, Step), SetupError> {
        let found = self.look().await?;
        if let Some(cid) = found.preapproval {
            return Ok((cid.clone(), Step::FoundPreapproval(cid)));
        }
        // A proposal of an earlier run waits for the provider: a second one would be a second fee.
        if found.proposal.is_none() {
            self.propose().await?;
        }
        let cid = wait_for(
            self.config,
            "the provider's acceptance of the TransferPreapprovalProposal",
            || async { Ok(self.look().await?.preapproval) },
        )
        .await?;
        Ok((cid.clone(), Step::CreatedPreapproval(cid)))
    }

    /// The treasury's active preapproval and proposal (receiver = treasury), if any.
    async fn look(&self) -> Result<Found, SetupError> {
        let end = self
            .client
            .ledger_end()
            .await
            .map_err(ledger("ledger end"))?;
        let filters = Filters {
            cumulative: vec![
                CumulativeFilter::template(PREAPPROVAL, false),
                CumulativeFilter::template(PROPOSAL, false),
            ],
        };
        let request = GetActiveContractsRequest {
            active_at_offset: end,
            event_format: Some(EventFormat {
                filters_by_party: BTreeMap::from([(self.treasury.to_string(), filters)]),
                filters_for_any_party: None,
                verbose: false,
            }),
            ..GetActiveContractsRequest::default()
        };
        let entries = self
            .client
            .active_contracts(&request, ACS_LIMIT)
            .await
            .map_err(ledger("active contracts"))?;
        let mut found = Found::default();
        for entry in entries {
            let JsContractEntry::JsActiveContract(active) = entry.contract_entry else {
                continue;
            };
            let event = active.created_event;
            let receiver = event
                .create_argument
                .as_deref()
                .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
                .and_then(|arg| {
                    arg.get("receiver")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            if receiver.as_deref() != Some(self.treasury.as_str()) {
                continue;
            }
            let Ok(cid) = ContractId::new(&event.contract_id) else {
                continue;
            };
            let slot = if event
                .template_id
                .ends_with(":Splice.AmuletRules:TransferPreapproval")
            {
                &mut found.preapproval
            } else {
                &mut found.proposal
            };
            slot.get_or_insert(cid);
        }
        Ok(found)
    }

    /// The provider and the DSO the proposal names.
    async fn parties(&self) -> Result<(PartyId, PartyId), SetupError> {
        let provider = self.config.provider.clone().ok_or_else(|| {
            SetupError::Invalid(
                "--provider PARTY is required to create the TransferPreapproval: the validator \
                 operator party (the exchangeParty), as the Splice wallet UI or the validator's \
                 /v0/validator-user shows it"
                    .into(),
            )
        })?;
        if let Some(dso) = &self.config.dso {
            return Ok((provider, dso.clone()));
        }
        let registry = self.config.registry.as_ref().ok_or_else(|| {
            SetupError::Invalid(
                "the DSO party is unknown: give --dso PARTY or the Canton Coin registry's URL"
                    .into(),
            )
        })?;
        let info = registry.info().await.map_err(ledger("registry info"))?;
        let dso = PartyId::new(&info.admin_id).map_err(|e| {
            SetupError::Invalid(format!("the registry's adminId {:?}: {e}", info.admin_id))
        })?;
        Ok((provider, dso))
    }

    /// Prepare → verify, re-hash, sign → execute the proposal's create.
    async fn propose(&self) -> Result<(), SetupError> {
        let (provider, dso) = self.parties().await?;
        let synchronizer = SynchronizerId::new(self.synchronizer)
            .map_err(|e| SetupError::Invalid(format!("synchronizer: {e}")))?;
        let intent = Intent::Preapproval(PreapprovalIntent {
            common: Common {
                treasury: self.treasury.clone(),
                synchronizer,
                disclosed: BTreeSet::new(),
            },
            provider: provider.clone(),
            dso: dso.clone(),
        });
        let argument = json!({
            "receiver": self.treasury.as_str(),
            "provider": provider.as_str(),
            "expectedDso": dso.as_str(),
        });
        let command_id = format!("treasury-setup-preapproval-{}", self.treasury);
        let prepare = JsPrepareSubmissionRequest {
            user_id: self.config.user_id.clone(),
            command_id: command_id.clone(),
            commands: vec![Command::CreateCommand(CreateCommand {
                template_id: PROPOSAL.into(),
                create_arguments: serde_json::value::to_raw_value(&argument)
                    .expect("a JSON value serializes"),
            })],
            act_as: vec![self.treasury.to_string()],
            synchronizer_id: self.synchronizer.to_owned(),
            ..JsPrepareSubmissionRequest::default()
        };
        let prepared = self
            .client
            .prepare(&prepare)
            .await
            .map_err(ledger("prepare the TransferPreapprovalProposal"))?;
        // Only what was decoded, verified against the intent and re-hashed gets signed.
        let signature = sign_prepared(self.signer, &intent, &prepared).map_err(|e| match e {
            NotSigned::Refused(refused) => SetupError::from(refused),
            undecodable => SetupError::Invalid(undecodable.to_string()),
        })?;
        let execute =
            self.execute_request(prepared.prepared_transaction, &command_id, &signature.0);
        match self.client.execute(&execute).await {
            Ok(()) => Ok(()),
            // Refused before sequencing: nothing commits.
            Err(e @ ClientError::Api { .. }) if e.class() == ErrorClass::Permanent => {
                Err(SetupError::Ledger {
                    what: "execute the TransferPreapprovalProposal",
                    source: e,
                })
            }
            // It may have been sequenced: the wait that follows tells.
            Err(e) => {
                tracing::warn!("execute: {e}; waiting for the preapproval to tell the outcome");
                Ok(())
            }
        }
    }

    fn execute_request(
        &self,
        prepared_transaction: String,
        command_id: &str,
        signature: &[u8; 64],
    ) -> JsExecuteSubmissionRequest {
        let signature = Signature {
            format: SignatureFormat::Concat,
            signature: BASE64.encode(signature),
            signed_by: self.signer.public_key().fingerprint(),
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
            submission_id: command_id.to_owned(),
            user_id: self.config.user_id.clone(),
            hashing_scheme_version: HashingSchemeVersion::V2,
            ..JsExecuteSubmissionRequest::default()
        }
    }
}
