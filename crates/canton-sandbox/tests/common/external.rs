//! External-party interactive submission for the tests: a party with an Ed25519 key, a Canton
//! Coin withdrawal prepared for it, its signed execution, and its completions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use super::transfer::Transfer;
use super::*;

pub struct External {
    pub party: String,
    pub fingerprint: String,
    pub key: SigningKey,
}

pub async fn external_party(client: &Client, hint: &str, seed: u8) -> External {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let answer = client
        .post(
            "/sandbox/control/external-parties",
            &json!({"hint": hint, "publicKey": BASE64.encode(key.verifying_key().as_bytes())}),
        )
        .await
        .ok();
    External {
        party: answer["party"].as_str().unwrap().to_owned(),
        fingerprint: answer["publicKeyFingerprint"].as_str().unwrap().to_owned(),
        key,
    }
}

/// A Canton Coin withdrawal of 10 prepared for `sender` (a `JsPrepareSubmissionRequest`), its
/// command id as its reason.
pub fn prepare_request(
    command_id: &str,
    sender: &str,
    receiver: &str,
    factory: &str,
    dso: &str,
    inputs: &[&str],
    max_record_time: Option<&str>,
) -> Value {
    let transfer = Transfer {
        inputs,
        reason: Some(command_id),
        ..Transfer::new(dso, "Amulet", sender, receiver, "10")
    };
    json!({
        "userId": "exchange",
        "commandId": command_id,
        "commands": [transfer.exercise(factory)],
        "actAs": [sender],
        "readAs": [],
        "disclosedContracts": [],
        "synchronizerId": "",
        "packageIdSelectionPreference": [],
        "verboseHashing": false,
        "prefetchContractKeys": [],
        "maxRecordTime": max_record_time,
    })
}

pub fn execute_request(prepared: &Value, party: &str, signed_by: &str, key: &SigningKey) -> Value {
    let hash = BASE64
        .decode(prepared["preparedTransactionHash"].as_str().unwrap())
        .unwrap();
    json!({
        "preparedTransaction": prepared["preparedTransaction"],
        "partySignatures": {"signatures": [{"party": party, "signatures": [{
            "format": "SIGNATURE_FORMAT_CONCAT",
            "signature": BASE64.encode(key.sign(&hash).to_bytes()),
            "signedBy": signed_by,
            "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519",
        }]}]},
        "deduplicationPeriod": {"Empty": {}},
        "submissionId": "s-1",
        "userId": "exchange",
        "hashingSchemeVersion": "HASHING_SCHEME_VERSION_V2",
    })
}

pub struct Setup {
    pub sandbox: canton_sandbox::Sandbox,
    pub client: Client,
    pub treasury: External,
    pub alice: String,
    pub factory: String,
    pub dso: String,
}

pub async fn setup() -> Setup {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = external_party(&client, "treasury", 7).await;
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    // The factory as a wallet finds it: through the registry the info file advertises.
    let token = sandbox.info().tokens.remove(0);
    assert_eq!(token.instrument_id, "Amulet");
    let dso = token.admin;
    let probe = prepare_request("probe", &treasury.party, &alice, "", &dso, &[], None);
    let factory = transfer_factory(
        &token.registry_url,
        &probe["commands"][0]["ExerciseCommand"]["choiceArgument"],
    )
    .await;
    assert_eq!(factory["transferKind"], "direct");
    let factory = factory["factoryId"].as_str().unwrap().to_owned();
    Setup {
        sandbox,
        client,
        treasury,
        alice,
        factory,
        dso,
    }
}

impl Setup {
    /// A withdrawal of 10 from `sender` to alice through the Canton Coin factory (see
    /// [`prepare_request`]).
    pub fn withdrawal_from(
        &self,
        sender: &str,
        command_id: &str,
        inputs: &[&str],
        max_record_time: Option<&str>,
    ) -> Value {
        prepare_request(
            command_id,
            sender,
            &self.alice,
            &self.factory,
            &self.dso,
            inputs,
            max_record_time,
        )
    }

    /// The treasury's withdrawal, prepared (with the registry's disclosures).
    pub async fn prepare_withdrawal(
        &self,
        command_id: &str,
        inputs: &[&str],
        max_record_time: Option<&str>,
    ) -> Value {
        let request =
            self.withdrawal_from(&self.treasury.party, command_id, inputs, max_record_time);
        self.client.prepare(&self.sandbox, request).await.ok()
    }

    /// The treasury's withdrawal, prepared and signed: an execute request.
    pub async fn signed_withdrawal(
        &self,
        command_id: &str,
        inputs: &[&str],
        max_record_time: Option<&str>,
    ) -> Value {
        let prepared = self
            .prepare_withdrawal(command_id, inputs, max_record_time)
            .await;
        self.signed(&prepared)
    }

    /// The execute request of `prepared`, signed with the treasury's key.
    pub fn signed(&self, prepared: &Value) -> Value {
        let treasury = &self.treasury;
        execute_request(
            prepared,
            &treasury.party,
            &treasury.fingerprint,
            &treasury.key,
        )
    }
}

pub fn completions_request(party: &str, begin: i64) -> Value {
    json!({"userId": "exchange", "parties": [party], "beginExclusive": begin})
}

pub async fn completions(client: &Client, party: &str, begin: i64) -> Vec<Value> {
    let answer = client
        .post(
            "/v2/commands/completions?stream_idle_timeout_ms=50",
            &completions_request(party, begin),
        )
        .await
        .ok();
    answer
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["completionResponse"]["Completion"]["value"].clone())
        .collect()
}
