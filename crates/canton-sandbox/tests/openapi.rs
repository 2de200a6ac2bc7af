//! Every JSON body the sandbox answers on the Ledger API endpoints it serves validates against
//! the 3.4 OpenAPI spec (`../shared/specs/ledger-api-3.4-openapi.yaml`): the schema of the
//! path, method and status (`JsCantonError` for errors), with `$ref`s into
//! `#/components/schemas` resolved by `jsonschema`.
//!
//! One relaxation, because the spec is stricter than 3.4's real output: it is OpenAPI 3.0
//! without `nullable`, while a 3.4 node writes `null` for absent optional fields
//! (`ledger-api.md` §1.2: `correlationId`, `hashingDetails`, `costEstimation`,
//! `externalTransactionHash`, …). Properties that are not `required` therefore also accept
//! `null`; everything else (types, required fields, enums, oneof wrappers) is checked as
//! written.

mod common;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use common::*;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

struct Spec {
    doc: Value,
    components: Value,
    validators: HashMap<String, jsonschema::Validator>,
}

/// Lets every non-required property of every object schema be `null` too.
fn allow_null_optionals(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let required: Vec<String> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    allow_null_optionals(prop);
                    if !required.contains(name) {
                        *prop = json!({"anyOf": [prop.clone(), {"type": "null"}]});
                    }
                }
            }
            for (key, v) in map.iter_mut() {
                if key != "properties" {
                    allow_null_optionals(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(allow_null_optionals),
        _ => {}
    }
}

impl Spec {
    fn load() -> Option<Spec> {
        let doc = read_shared_yaml("specs/ledger-api-3.4-openapi.yaml")?;
        let mut components = doc["components"].clone();
        allow_null_optionals(&mut components);
        Some(Spec {
            doc,
            components,
            validators: HashMap::new(),
        })
    }

    /// The response schema of `method path` for `status` (falling back to `default`).
    fn response_schema(&self, method: &str, path: &str, status: u16) -> Value {
        let responses = &self.doc["paths"][path][method]["responses"];
        assert!(responses.is_object(), "{method} {path} is not in the spec");
        // The spec's `400` is the text/plain body-decoding answer; JSON errors with any
        // status are the `default` (`JsCantonError`).
        let json_schema = |r: &Value| r["content"]["application/json"]["schema"].clone();
        match json_schema(&responses[status.to_string()]) {
            Value::Null => json_schema(&responses["default"]),
            schema => schema,
        }
    }

    fn check(&mut self, method: &str, path: &str, status: u16, body: &Value) {
        let errors = self.errors(method, path, status, body);
        assert!(
            errors.is_empty(),
            "{method} {path} ({status}) does not match the spec:\n{}\nbody: {body}",
            errors.join("\n")
        );
    }

    fn errors(&mut self, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
        let schema = self.response_schema(method, path, status);
        schema_errors(&mut self.validators, schema, &self.components, body)
    }
}

impl Spec {
    /// `POST path` with `body`, validated; the status and JSON.
    async fn post(&mut self, client: &Client, path: &str, body: &Value) -> (u16, Value) {
        call(self, client, "post", path, "", Some(body)).await
    }

    /// `GET path`, validated; the status and JSON.
    async fn get(&mut self, client: &Client, path: &str) -> (u16, Value) {
        call(self, client, "get", path, "", None).await
    }
}

/// Calls the sandbox and validates the answer; returns its JSON.
async fn call(
    spec: &mut Spec,
    client: &Client,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let answer = match body {
        Some(b) => client.post(&format!("{path}{query}"), b).await,
        None => client.get(&format!("{path}{query}")).await,
    };
    let json = answer.json();
    spec.check(method, path, answer.status, &json);
    (answer.status, json)
}

#[tokio::test]
async fn ledger_api_answers_match_the_openapi_spec() {
    let Some(mut spec) = Spec::load() else { return };
    let spec = &mut spec;
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..Default::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    let c = &client;
    // The validation has teeth: wrong types, missing required fields and unknown oneof cases
    // are caught.
    assert!(
        !spec
            .errors("get", "/v2/state/ledger-end", 200, &json!({"offset": "7"}))
            .is_empty()
    );
    assert!(
        !spec
            .errors(
                "post",
                "/v2/commands/submit-and-wait",
                200,
                &json!({"updateId": "u"})
            )
            .is_empty()
    );
    assert!(
        !spec
            .errors(
                "post",
                "/v2/commands/completions",
                200,
                &json!([{"completionResponse": {"Completion": {"value": {"commandId": 1}}}}])
            )
            .is_empty()
    );
    let treasury = sandbox
        .parties()
        .treasury
        .clone()
        .expect("basic has a treasury");

    for path in [
        "/v2/state/ledger-end",
        "/v2/state/latest-pruned-offsets",
        "/v2/version",
        "/v2/parties",
        "/v2/parties/participant-id",
    ] {
        let (status, _) = spec.get(c, path).await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, packages) = spec.get(c, "/v2/packages").await;
    assert_eq!(status, 200);
    let package = packages["packageIds"][0].as_str().unwrap().to_owned();
    let answer = c.get(&format!("/v2/packages/{package}/status")).await;
    spec.check(
        "get",
        "/v2/packages/{package-id}/status",
        answer.status,
        &answer.json(),
    );
    let (status, _) = call(
        spec,
        c,
        "get",
        "/v2/state/connected-synchronizers",
        &format!("?party={treasury}"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // A counterfeit Canton Coin deposit too (the forger's own package, a choice observer).
    let mallory = c.party("mallory").await;
    c.post(
        "/sandbox/control/counterfeit/mint",
        &json!({"owner": mallory, "amount": "5"}),
    )
    .await
    .ok();
    c.post(
        "/sandbox/control/counterfeit/transfer",
        &json!({"sender": mallory, "receiver": treasury, "amount": "2", "memo": "fake"}),
    )
    .await
    .ok();

    // The whole history in both shapes (the basic scenario: 1-step deposits and withdrawals,
    // SBX offers accepted, rejected, withdrawn, expired and pending, and the counterfeit).
    let end = c.ledger_end().await;
    let mut first = Value::Null;
    for shape in [
        "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        "TRANSACTION_SHAPE_ACS_DELTA",
    ] {
        let (status, updates) = call(
            spec,
            c,
            "post",
            "/v2/updates",
            "?limit=200",
            Some(&updates_request(&treasury, shape, 0, Some(end))),
        )
        .await;
        assert_eq!(status, 200);
        assert!(!updates.as_array().unwrap().is_empty());
        first = updates[0].clone();
    }
    // Open-ended: ends with an offset checkpoint.
    let (_, tail) = call(
        spec,
        c,
        "post",
        "/v2/updates",
        "?stream_idle_timeout_ms=10&limit=3",
        Some(&updates_request(
            &treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
            end - 1,
            None,
        )),
    )
    .await;
    assert!(!tail.as_array().unwrap().is_empty());

    let tx = &first["update"]["Transaction"]["value"];
    let format = json!({"includeTransactions": {"eventFormat": guide_filter(&treasury),
        "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}});
    let (status, _) = spec
        .post(
            c,
            "/v2/updates/update-by-id",
            &json!({"updateId": tx["updateId"], "updateFormat": format}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = spec
        .post(
            c,
            "/v2/updates/update-by-offset",
            &json!({"offset": tx["offset"], "updateFormat": format}),
        )
        .await;
    assert_eq!(status, 200);
    let cid = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["CreatedEvent"]["contractId"].as_str())
        .expect("a create");
    let (status, _) = spec
        .post(
            c,
            "/v2/events/events-by-contract-id",
            &json!({"contractId": cid, "eventFormat": guide_filter(&treasury)}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, acs) = spec
        .post(
            c,
            "/v2/state/active-contracts",
            &json!({"activeAtOffset": end, "eventFormat": guide_filter(&treasury)}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!acs.as_array().unwrap().is_empty());

    // Errors are JsCantonErrors.
    let (status, _) = spec
        .post(
            c,
            "/v2/updates/update-by-id",
            &json!({"updateId": "nope", "updateFormat": format}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = spec
        .post(
            c,
            "/v2/updates",
            &updates_request(&treasury, "TRANSACTION_SHAPE_ACS_DELTA", end + 100, None),
        )
        .await;
    assert_eq!(status, 400);

    // Submissions: local, then external (prepare, execute, executeAndWait), then completions.
    let key = SigningKey::from_bytes(&[3; 32]);
    let external = c
        .post(
            "/sandbox/control/external-parties",
            &json!({"hint": "ext", "publicKey": BASE64.encode(key.verifying_key().as_bytes())}),
        )
        .await
        .ok();
    let ext = external["party"].as_str().unwrap().to_owned();
    let alice = c.party("spec-alice").await;
    c.preapproval(&alice).await;
    let begin = c.ledger_end().await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &treasury).await;
    let command = |sender: &str, id: &str| {
        json!({"ExerciseCommand": {
            "templateId": FACTORY,
            "contractId": factory, "choice": "TransferFactory_Transfer",
            "choiceArgument": {"expectedAdmin": dso, "transfer": {
                "sender": sender, "receiver": alice, "amount": "1",
                "instrumentId": {"admin": dso, "id": "Amulet"},
                "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
                "inputHoldingCids": [], "meta": {"values": {"splice.lfdecentralizedtrust.org/reason": id}}},
                "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}}}})
    };
    c.mint(&treasury, "10").await;
    c.mint(&ext, "10").await;
    let (status, _) = spec
        .post(
            c,
            "/v2/commands/submit-and-wait",
            &with_registry_disclosures(
                &sandbox,
                json!({"commands": [command(&treasury, "spec-1")], "commandId": "spec-1",
                "actAs": [treasury], "userId": "exchange"}),
            )
            .await,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = spec
        .post(
            c,
            "/v2/commands/submit-and-wait",
            &json!({"commands": [command(&treasury, "spec-1")], "commandId": "spec-x",
            "actAs": ["nobody::1220ab"], "userId": "exchange"}),
        )
        .await;
    assert_eq!(status, 404);

    let mut executes = Vec::new();
    for (id, max) in [("spec-2", None), ("spec-3", Some("2020-01-01T00:00:00Z"))] {
        let (status, prepared) = spec
            .post(
                c,
                "/v2/interactive-submission/prepare",
                &with_registry_disclosures(
                    &sandbox,
                    json!({"userId": "exchange", "commandId": id, "commands": [command(&ext, id)],
                    "actAs": [ext], "maxRecordTime": max, "verboseHashing": max.is_none()}),
                )
                .await,
            )
            .await;
        assert_eq!(status, 200);
        // With verboseHashing, the details are a string (validated against the spec too).
        assert_eq!(prepared["hashingDetails"].is_string(), max.is_none());
        let hash = BASE64
            .decode(prepared["preparedTransactionHash"].as_str().unwrap())
            .unwrap();
        executes.push(json!({
            "preparedTransaction": prepared["preparedTransaction"],
            "partySignatures": {"signatures": [{"party": ext, "signatures": [{
                "format": "SIGNATURE_FORMAT_CONCAT",
                "signature": BASE64.encode(key.sign(&hash).to_bytes()),
                "signedBy": external["publicKeyFingerprint"],
                "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519"}]}]},
            "deduplicationPeriod": {"Empty": {}}, "submissionId": id, "userId": "exchange",
            "hashingSchemeVersion": "HASHING_SCHEME_VERSION_V2"}));
    }
    let (status, _) = spec
        .post(c, "/v2/interactive-submission/executeAndWait", &executes[0])
        .await;
    assert_eq!(status, 200);
    let (status, _) = spec
        .post(c, "/v2/interactive-submission/execute", &executes[1])
        .await;
    assert_eq!(status, 200);
    let (status, timed_out) = spec
        .post(c, "/v2/interactive-submission/executeAndWait", &executes[1])
        .await;
    assert_eq!(status, 409, "{timed_out}");
    let (status, completions) = call(
        spec,
        c,
        "post",
        "/v2/commands/completions",
        "?stream_idle_timeout_ms=10",
        Some(&json!({"userId": "exchange", "parties": [treasury, ext], "beginExclusive": begin})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(completions.as_array().unwrap().len(), 4, "{completions}");
}

#[tokio::test]
async fn external_party_onboarding_answers_match_the_openapi_spec() {
    let Some(mut spec) = Spec::load() else { return };
    let spec = &mut spec;
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let c = &client;
    // The spec bites on these schemas too: a number where a string is required.
    assert!(
        !spec
            .errors(
                "post",
                "/v2/parties/external/generate-topology",
                200,
                &json!({"partyId": "p", "publicKeyFingerprint": "f", "multiHash": 1})
            )
            .is_empty()
    );
    assert!(
        !spec
            .errors("post", "/v2/parties/external/allocate", 200, &json!({}))
            .is_empty()
    );
    let sync = c.get("/v2/state/connected-synchronizers").await.ok()["connectedSynchronizers"]
        [0]["synchronizerId"]
        .clone();
    let key = SigningKey::from_bytes(&[77; 32]);
    let generate = json!({
        "synchronizer": sync, "partyHint": "spec",
        "publicKey": {"format": "CRYPTO_KEY_FORMAT_RAW",
            "keyData": BASE64.encode(key.verifying_key().as_bytes()),
            "keySpec": "SIGNING_KEY_SPEC_EC_CURVE25519"},
        "localParticipantObservationOnly": false, "confirmationThreshold": 1,
    });
    let (status, topology) = spec
        .post(c, "/v2/parties/external/generate-topology", &generate)
        .await;
    assert_eq!(status, 200);
    let mut bad_key = generate.clone();
    bad_key["publicKey"]["keyData"] = json!("AAAA");
    let (status, _) = spec
        .post(c, "/v2/parties/external/generate-topology", &bad_key)
        .await;
    assert_eq!(status, 400);
    let multi_hash = BASE64
        .decode(topology["multiHash"].as_str().unwrap())
        .unwrap();
    let allocate = |signed: &[u8]| {
        json!({
            "synchronizer": sync,
            "onboardingTransactions": topology["topologyTransactions"].as_array().unwrap()
                .iter().map(|t| json!({"transaction": t})).collect::<Vec<_>>(),
            "multiHashSignatures": [{"format": "SIGNATURE_FORMAT_CONCAT",
                "signature": BASE64.encode(key.sign(signed).to_bytes()),
                "signedBy": topology["publicKeyFingerprint"],
                "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519"}],
            "identityProviderId": "",
        })
    };
    let (status, refused) = spec
        .post(
            c,
            "/v2/parties/external/allocate",
            &allocate(b"not the hash"),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let (status, allocated) = spec
        .post(c, "/v2/parties/external/allocate", &allocate(&multi_hash))
        .await;
    assert_eq!(status, 200);
    assert_eq!(allocated["partyId"], topology["partyId"]);
}

/// The answers of a node connected to two synchronizers (the `multi-sync` scenario): the
/// synchronizer list, transactions and contracts of both, checkpoints with two times,
/// completions of an SBX submission, and the routing errors.
#[tokio::test]
async fn multi_synchronizer_answers_match_the_openapi_spec() {
    let Some(mut spec) = Spec::load() else { return };
    let spec = &mut spec;
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::MultiSync,
        ..Default::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    let c = &client;
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let alice = sandbox.parties().customers["alice"].clone();
    let global = sandbox.info().synchronizer_id;

    let (status, synchronizers) = spec.get(c, "/v2/state/connected-synchronizers").await;
    assert_eq!(status, 200);
    assert_eq!(
        synchronizers["connectedSynchronizers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let end = c.ledger_end().await;
    for shape in [
        "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        "TRANSACTION_SHAPE_ACS_DELTA",
    ] {
        let (status, updates) = call(
            spec,
            c,
            "post",
            "/v2/updates",
            "?limit=200",
            Some(&updates_request(&treasury, shape, 0, Some(end))),
        )
        .await;
        assert_eq!(status, 200);
        assert!(updates.as_array().unwrap().len() > 20);
    }
    let (status, tail) = call(
        spec,
        c,
        "post",
        "/v2/updates",
        "?stream_idle_timeout_ms=10",
        Some(&updates_request(
            &treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
            end,
            None,
        )),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        tail[0]["update"]["OffsetCheckpoint"]["value"]["synchronizerTimes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, acs) = spec
        .post(
            c,
            "/v2/state/active-contracts",
            &json!({"activeAtOffset": end, "eventFormat": guide_filter(&treasury)}),
        )
        .await;
    assert_eq!(status, 200);
    let cid = acs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["contractEntry"]["JsActiveContract"]["synchronizerId"] != global.as_str())
        .expect("an SBX contract")["contractEntry"]["JsActiveContract"]["createdEvent"]
        ["contractId"]
        .clone();
    let (status, _) = spec
        .post(
            c,
            "/v2/events/events-by-contract-id",
            &json!({"contractId": cid, "eventFormat": guide_filter(&treasury)}),
        )
        .await;
    assert_eq!(status, 200);

    let (factory, admin) = registry_factory(&sandbox, "SBX", &treasury).await;
    let command = |id: &str| {
        json!({"commands": [{"ExerciseCommand": {
            "templateId": FACTORY,
            "contractId": factory, "choice": "TransferFactory_Transfer",
            "choiceArgument": {"expectedAdmin": admin, "transfer": {
                "sender": treasury, "receiver": alice, "amount": "1",
                "instrumentId": {"admin": admin, "id": "SBX"},
                "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
                "inputHoldingCids": [], "meta": {"values": {}}},
                "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}}}}],
            "commandId": id, "actAs": [treasury], "userId": "exchange"})
    };
    let (status, done) = spec
        .post(
            c,
            "/v2/commands/submit-and-wait",
            &with_registry_disclosures(&sandbox, command("multi-1")).await,
        )
        .await;
    assert_eq!(status, 200);
    let format = json!({"includeTransactions": {"eventFormat": guide_filter(&treasury),
        "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}});
    let (status, _) = spec
        .post(
            c,
            "/v2/updates/update-by-id",
            &json!({"updateId": done["updateId"], "updateFormat": format}),
        )
        .await;
    assert_eq!(status, 200);
    let mut wrong = with_registry_disclosures(&sandbox, command("multi-2")).await;
    wrong["synchronizerId"] = json!(global);
    let (status, error) = spec.post(c, "/v2/commands/submit-and-wait", &wrong).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("INVALID_PRESCRIBED_SYNCHRONIZER_ID"))
    );
    wrong["synchronizerId"] = json!("other::1220ab");
    let (status, _) = spec.post(c, "/v2/commands/submit-and-wait", &wrong).await;
    assert_eq!(status, 404);
    let (status, completions) = call(
        spec,
        c,
        "post",
        "/v2/commands/completions",
        "?stream_idle_timeout_ms=10",
        Some(&json!({"userId": "exchange", "parties": [treasury], "beginExclusive": end})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(completions.as_array().unwrap().len(), 1, "{completions}");
}
