//! Step 1: the treasury as an external party of its key. Found if the node already knows
//! `hint::<fingerprint>`; refused if it knows the hint under another key; otherwise
//! `generate-topology` → decode, check, re-hash (core) → sign the multi-hash → `allocate`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::client::LedgerClient;
use canton_ledger::interactive::{Signature, SignatureFormat, SigningAlgorithmSpec};
use canton_ledger::parties::{
    AllocateExternalPartyRequest, GenerateExternalPartyTopologyRequest, SignedTransaction,
    SigningPublicKey,
};
use exchange_core::PartyId;
use exchange_core::signing::{GeneratedTopology, Signer, verify_onboarding};

use super::{SetupConfig, SetupError, Step, ledger, wait_for};

/// The synchronizer to onboard on: the configured one, or the participant's only one.
pub(super) async fn synchronizer(
    client: &LedgerClient,
    config: &SetupConfig,
) -> Result<String, SetupError> {
    if let Some(s) = &config.synchronizer {
        return Ok(s.clone());
    }
    let connected = client
        .connected_synchronizers()
        .await
        .map_err(ledger("connected synchronizers"))?;
    match connected.as_slice() {
        [one] => Ok(one.synchronizer_id.clone()),
        [] => Err(SetupError::Invalid(
            "the participant is connected to no synchronizer".into(),
        )),
        many => Err(SetupError::Invalid(format!(
            "the participant is connected to {} synchronizers ({}); choose one with --synchronizer",
            many.len(),
            many.iter()
                .map(|s| s.synchronizer_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Whether the node lists `party`; `Err` if it lists another party of the same hint.
async fn known(client: &LedgerClient, hint: &str, party: &str) -> Result<bool, SetupError> {
    let parties = client
        .list_parties()
        .await
        .map_err(ledger("list parties"))?;
    if parties.iter().any(|p| p.party == party) {
        return Ok(true);
    }
    let prefix = format!("{hint}::");
    if let Some(other) = parties.iter().find(|p| p.party.starts_with(&prefix)) {
        return Err(SetupError::Invalid(format!(
            "the node already has a party {} for hint {hint:?}, but this key's party would be \
             {party} (another key, so another namespace); use that party's key, or another --hint \
             to set up a new treasury",
            other.party
        )));
    }
    Ok(false)
}

/// Finds or allocates `hint::<fingerprint>`.
pub(super) async fn ensure_party(
    client: &LedgerClient,
    signer: &dyn Signer,
    config: &SetupConfig,
    synchronizer: &str,
) -> Result<(PartyId, Step), SetupError> {
    let key = signer.public_key();
    let party = format!("{}::{}", config.hint, key.fingerprint());
    let party_id = PartyId::new(&party)
        .map_err(|e| SetupError::Invalid(format!("--hint {:?}: {e}", config.hint)))?;
    if known(client, &config.hint, &party).await? {
        return Ok((party_id.clone(), Step::FoundParty(party_id)));
    }
    allocate(client, signer, config, synchronizer).await?;
    wait_for(
        config,
        &format!("listing the new party {party}"),
        || async { Ok(known(client, &config.hint, &party).await?.then_some(())) },
    )
    .await?;
    Ok((party_id.clone(), Step::AllocatedParty(party_id)))
}

async fn allocate(
    client: &LedgerClient,
    signer: &dyn Signer,
    config: &SetupConfig,
    synchronizer: &str,
) -> Result<(), SetupError> {
    let participant = client
        .participant_id()
        .await
        .map_err(ledger("participant id"))?;
    let participant_uid = participant.strip_prefix("PAR::").unwrap_or(&participant);
    let key = signer.public_key();
    let request = GenerateExternalPartyTopologyRequest {
        synchronizer: synchronizer.to_owned(),
        party_hint: config.hint.clone(),
        public_key: Some(SigningPublicKey {
            format: "CRYPTO_KEY_FORMAT_RAW".into(),
            key_data: BASE64.encode(key.0),
            key_spec: "SIGNING_KEY_SPEC_EC_CURVE25519".into(),
        }),
        ..GenerateExternalPartyTopologyRequest::default()
    };
    let generated = client
        .generate_external_party_topology(&request)
        .await
        .map_err(ledger("generate-topology"))?;
    let not_base64 = |field: &str, e: base64::DecodeError| {
        SetupError::Invalid(format!(
            "generate-topology answered a {field} that is not base64: {e}"
        ))
    };
    let transactions = generated
        .topology_transactions
        .iter()
        .map(|t| {
            BASE64
                .decode(t)
                .map_err(|e| not_base64("topologyTransactions", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let multi_hash = BASE64
        .decode(&generated.multi_hash)
        .map_err(|e| not_base64("multiHash", e))?;
    // The one place the onboarding is signed: only what was decoded, checked and re-hashed.
    let verified = verify_onboarding(
        key,
        &config.hint,
        participant_uid,
        GeneratedTopology {
            party_id: &generated.party_id,
            public_key_fingerprint: &generated.public_key_fingerprint,
            transactions: &transactions,
            multi_hash: &multi_hash,
        },
    )?;
    let signature = signer.sign_onboarding(&verified)?;
    let request = AllocateExternalPartyRequest {
        synchronizer: synchronizer.to_owned(),
        onboarding_transactions: generated
            .topology_transactions
            .into_iter()
            .map(|transaction| SignedTransaction {
                transaction,
                signatures: vec![],
            })
            .collect(),
        multi_hash_signatures: vec![Signature {
            format: SignatureFormat::Concat,
            signature: BASE64.encode(signature.0),
            signed_by: verified.fingerprint().to_owned(),
            signing_algorithm_spec: SigningAlgorithmSpec::Ed25519,
        }],
        identity_provider_id: String::new(),
    };
    let allocated = client
        .allocate_external_party(&request)
        .await
        .map_err(ledger("allocate external party"))?;
    if allocated.party_id != verified.party() {
        return Err(SetupError::Invalid(format!(
            "allocate answered party {}, not {}",
            allocated.party_id,
            verified.party()
        )));
    }
    Ok(())
}
