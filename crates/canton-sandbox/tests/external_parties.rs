//! External parties onboarded the Ledger API way: `generate-topology` with an Ed25519 key,
//! the multi-hash signed off-node, `allocate`; then the party transfers through interactive
//! submission. Bad, missing and foreign signatures are refused with Canton's topology errors.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::external::execute_request;
use common::transfer::Transfer;
use common::*;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn generate_request(synchronizer: &str, hint: &str, key: &SigningKey) -> Value {
    json!({
        "synchronizer": synchronizer,
        "partyHint": hint,
        "publicKey": {
            "format": "CRYPTO_KEY_FORMAT_RAW",
            "keyData": BASE64.encode(key.verifying_key().as_bytes()),
            "keySpec": "SIGNING_KEY_SPEC_EC_CURVE25519",
        },
        "localParticipantObservationOnly": false,
        "otherConfirmingParticipantUids": [],
        "confirmationThreshold": 1,
        "observingParticipantUids": [],
    })
}

fn signature(bytes: &[u8], key: &SigningKey, signed_by: &str) -> Value {
    json!({
        "format": "SIGNATURE_FORMAT_CONCAT",
        "signature": BASE64.encode(key.sign(bytes).to_bytes()),
        "signedBy": signed_by,
        "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519",
    })
}

fn allocate_request(synchronizer: &str, topology: &Value, signatures: Vec<Value>) -> Value {
    json!({
        "synchronizer": synchronizer,
        "onboardingTransactions": topology["topologyTransactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| json!({"transaction": t}))
            .collect::<Vec<_>>(),
        "multiHashSignatures": signatures,
        "identityProviderId": "",
    })
}

async fn synchronizer(client: &Client) -> String {
    client.get("/v2/state/connected-synchronizers").await.ok()["connectedSynchronizers"][0]
        ["synchronizerId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Canton's fingerprint of a raw Ed25519 key, computed independently of the sandbox: `1220`
/// (SHA-256 multihash) + SHA-256(purpose 12 as 4 bytes big-endian ‖ key).
fn expected_fingerprint(key: &SigningKey) -> String {
    let mut h = Sha256::new();
    h.update(12u32.to_be_bytes());
    h.update(key.verifying_key().as_bytes());
    format!("1220{}", hex::encode(h.finalize()))
}

/// Canton's combined hash of the given serialized transactions, computed independently.
fn expected_multi_hash(transactions: &[Vec<u8>]) -> Vec<u8> {
    let multihash = |purpose: u32, data: &[u8]| {
        let mut h = Sha256::new();
        h.update(purpose.to_be_bytes());
        h.update(data);
        let mut out = vec![0x12, 0x20];
        out.extend(h.finalize());
        out
    };
    let mut hashes: Vec<Vec<u8>> = transactions.iter().map(|t| multihash(11, t)).collect();
    hashes.sort();
    let mut data = (hashes.len() as u32).to_be_bytes().to_vec();
    for h in hashes {
        data.extend((h.len() as u32).to_be_bytes());
        data.extend(h);
    }
    multihash(55, &data)
}

#[tokio::test]
async fn generate_topology_allocate_then_transfer_by_interactive_submission() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let sync = synchronizer(&client).await;
    let key = SigningKey::from_bytes(&[42; 32]);

    let topology = client
        .post(
            "/v2/parties/external/generate-topology",
            &generate_request(&sync, "custody", &key),
        )
        .await
        .ok();
    let fingerprint = expected_fingerprint(&key);
    assert_eq!(topology["publicKeyFingerprint"], fingerprint);
    assert_eq!(topology["partyId"], format!("custody::{fingerprint}"));
    let transactions: Vec<Vec<u8>> = topology["topologyTransactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| BASE64.decode(t.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(transactions.len(), 3);
    // Canton's wire form (versioned v30 `TopologyTransaction` protobuf): exactly the party
    // asked for, hosted here as a confirming participant, as an exchange checks before signing.
    let participant = client.get("/v2/parties/participant-id").await.ok();
    let participant = participant["participantId"].as_str().unwrap();
    let expected = canton_interactive::topology::ExpectedOnboarding {
        hint: "custody".into(),
        key: key.verifying_key().to_bytes(),
        participant_uid: participant.strip_prefix("PAR::").unwrap().into(),
        permission: canton_interactive::topology::proto::ParticipantPermission::Confirmation,
    };
    let checked = canton_interactive::topology::check_onboarding(
        &expected,
        topology["partyId"].as_str().unwrap(),
        &fingerprint,
        &transactions,
        &BASE64
            .decode(topology["multiHash"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(checked.party, format!("custody::{fingerprint}"));
    let multi_hash = BASE64
        .decode(topology["multiHash"].as_str().unwrap())
        .unwrap();
    assert_eq!(multi_hash, expected_multi_hash(&transactions));
    // Nothing is hosted before allocate.
    let parties = client.get("/v2/parties").await.ok();
    assert!(!parties.to_string().contains("custody::"));

    let allocated = client
        .post(
            "/v2/parties/external/allocate",
            &allocate_request(
                &sync,
                &topology,
                vec![signature(&multi_hash, &key, &fingerprint)],
            ),
        )
        .await
        .ok();
    let party = allocated["partyId"].as_str().unwrap().to_owned();
    assert_eq!(party, topology["partyId"]);
    let again = client
        .post(
            "/v2/parties/external/allocate",
            &allocate_request(
                &sync,
                &topology,
                vec![signature(&multi_hash, &key, &fingerprint)],
            ),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "PARTY_ALREADY_EXISTS");

    // The new party spends through prepare / executeAndWait, signing with its key.
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    let input = client.mint(&party, "25").await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &party).await;
    let transfer = Transfer {
        inputs: &[&input],
        ..Transfer::new(&dso, "Amulet", &party, &alice, "10")
    };
    let prepared = client
        .prepare(
            &sandbox,
            json!({
                "userId": "exchange", "commandId": "custody-1",
                "commands": [transfer.exercise(&factory)],
                "actAs": [party], "readAs": [], "disclosedContracts": [],
                "synchronizerId": "", "packageIdSelectionPreference": [],
                "verboseHashing": false, "prefetchContractKeys": [],
            }),
        )
        .await
        .ok();
    let done = client
        .execute_and_wait(&execute_request(&prepared, &party, &fingerprint, &key))
        .await
        .ok();
    assert!(done["updateId"].is_string(), "{done}");
    let holdings = client
        .post("/sandbox/control/holdings", &json!({"owner": alice}))
        .await
        .ok();
    assert_eq!(holdings[0]["amount"], "10.0000000000");
}

#[tokio::test]
async fn bad_missing_and_foreign_signatures_are_refused() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let sync = synchronizer(&client).await;
    let key = SigningKey::from_bytes(&[5; 32]);
    let topology = client
        .post(
            "/v2/parties/external/generate-topology",
            &generate_request(&sync, "vault", &key),
        )
        .await
        .ok();
    let fingerprint = topology["publicKeyFingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let multi_hash = BASE64
        .decode(topology["multiHash"].as_str().unwrap())
        .unwrap();

    // The right key, the wrong bytes: a signature that does not verify.
    let bad = client
        .post(
            "/v2/parties/external/allocate",
            &allocate_request(
                &sync,
                &topology,
                vec![signature(b"something else", &key, &fingerprint)],
            ),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let bad = bad.json();
    assert_eq!(bad["code"], "TOPOLOGY_INVALID_TOPOLOGY_TX_SIGNATURE");
    assert_eq!(bad["errorCategory"], 5);

    // No signature at all, or one by another key: not authorized.
    let thief = SigningKey::from_bytes(&[6; 32]);
    for signatures in [
        vec![],
        vec![signature(
            &multi_hash,
            &thief,
            &expected_fingerprint(&thief),
        )],
    ] {
        let refused = client
            .post(
                "/v2/parties/external/allocate",
                &allocate_request(&sync, &topology, signatures),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.json()["code"], "TOPOLOGY_UNAUTHORIZED_TRANSACTION");
    }

    // A transaction altered after signing no longer matches the signed multi-hash.
    let mut altered = allocate_request(
        &sync,
        &topology,
        vec![signature(&multi_hash, &key, &fingerprint)],
    );
    altered["onboardingTransactions"]
        .as_array_mut()
        .unwrap()
        .pop();
    let refused = client.post("/v2/parties/external/allocate", &altered).await;
    assert_eq!(refused.status, 400, "{}", refused.text);

    // Per-transaction signatures are the other way to authorize.
    let per_transaction: Vec<Value> = topology["topologyTransactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let bytes = BASE64.decode(t.as_str().unwrap()).unwrap();
            let mut h = Sha256::new();
            h.update(11u32.to_be_bytes());
            h.update(&bytes);
            let mut hash = vec![0x12, 0x20];
            hash.extend(h.finalize());
            json!({"transaction": t, "signatures": [signature(&hash, &key, &fingerprint)]})
        })
        .collect();
    let allocated = client
        .post(
            "/v2/parties/external/allocate",
            &json!({"synchronizer": sync, "onboardingTransactions": per_transaction,
                    "identityProviderId": ""}),
        )
        .await
        .ok();
    assert_eq!(allocated["partyId"], topology["partyId"]);

    // Unknown synchronizer, unsupported key spec.
    let wrong_sync = client
        .post(
            "/v2/parties/external/generate-topology",
            &generate_request("other::1220ab", "x", &key),
        )
        .await;
    assert_eq!(wrong_sync.status, 400);
    let mut p256 = generate_request(&sync, "y", &key);
    p256["publicKey"]["keySpec"] = json!("SIGNING_KEY_SPEC_EC_P256");
    let refused = client
        .post("/v2/parties/external/generate-topology", &p256)
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["code"], "INVALID_ARGUMENT");
}
