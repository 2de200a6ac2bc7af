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
use common::external::{execute_request, external_party};
use common::transfer::Transfer;
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

    /// The validation has teeth: the `200` schema of `method path` refuses `body`.
    fn assert_refuses(&mut self, method: &str, path: &str, body: Value) {
        let errors = self.errors(method, path, 200, &body);
        assert!(!errors.is_empty(), "{method} {path} accepts {body}");
    }

    /// `POST path` (a query string allowed) with `body`, validated; the status and JSON.
    async fn post(&mut self, client: &Client, path: &str, body: &Value) -> (u16, Value) {
        let answer = client.post(path, body).await;
        self.validated("post", path, answer)
    }

    /// `GET path` (a query string allowed), validated; the status and JSON.
    async fn get(&mut self, client: &Client, path: &str) -> (u16, Value) {
        let answer = client.get(path).await;
        self.validated("get", path, answer)
    }

    /// [`Spec::post`] that must succeed; its JSON.
    async fn post_ok(&mut self, client: &Client, path: &str, body: &Value) -> Value {
        let (status, json) = self.post(client, path, body).await;
        assert_eq!(status, 200, "POST {path}: {json}");
        json
    }

    /// Checks `answer` against the spec of the path (without its query); its status and JSON.
    fn validated(&mut self, method: &str, path: &str, answer: Answer) -> (u16, Value) {
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let json = answer.json();
        self.check(method, path, answer.status, &json);
        (answer.status, json)
    }
}

/// `party`'s updates up to `end` in both transaction shapes (ledger effects, then ACS delta),
/// validated.
async fn history(spec: &mut Spec, c: &Client, party: &str, end: i64) -> [Vec<Value>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    let shapes = [
        "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        "TRANSACTION_SHAPE_ACS_DELTA",
    ];
    for (shape, updates) in shapes.into_iter().zip(&mut out) {
        let request = updates_request(party, shape, 0, Some(end));
        let answer = spec.post_ok(c, "/v2/updates?limit=200", &request).await;
        *updates = answer.as_array().unwrap().clone();
    }
    out
}

/// An open-ended `/v2/updates` of `party`'s ledger effects after `begin`, validated: what came,
/// up to the offset checkpoint it ends with.
async fn tail(spec: &mut Spec, c: &Client, party: &str, begin: i64, query: &str) -> Value {
    let request = updates_request(party, "TRANSACTION_SHAPE_LEDGER_EFFECTS", begin, None);
    spec.post_ok(
        c,
        &format!("/v2/updates?stream_idle_timeout_ms=10{query}"),
        &request,
    )
    .await
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
    spec.assert_refuses("get", "/v2/state/ledger-end", json!({"offset": "7"}));
    spec.assert_refuses(
        "post",
        "/v2/commands/submit-and-wait",
        json!({"updateId": "u"}),
    );
    spec.assert_refuses(
        "post",
        "/v2/commands/completions",
        json!([{"completionResponse": {"Completion": {"value": {"commandId": 1}}}}]),
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
        &format!("/v2/state/connected-synchronizers?party={treasury}"),
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
    let [effects, delta] = history(spec, c, &treasury, end).await;
    assert!(!effects.is_empty() && !delta.is_empty());
    // Open-ended: ends with an offset checkpoint.
    let tail = tail(spec, c, &treasury, end - 1, "&limit=3").await;
    assert!(!tail.as_array().unwrap().is_empty());

    let tx = &delta[0]["update"]["Transaction"]["value"];
    let format = update_format(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS");
    spec.post_ok(
        c,
        "/v2/updates/update-by-id",
        &json!({"updateId": tx["updateId"], "updateFormat": format}),
    )
    .await;
    spec.post_ok(
        c,
        "/v2/updates/update-by-offset",
        &json!({"offset": tx["offset"], "updateFormat": format}),
    )
    .await;
    let cid = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["CreatedEvent"]["contractId"].as_str())
        .expect("a create");
    spec.post_ok(
        c,
        "/v2/events/events-by-contract-id",
        &json!({"contractId": cid, "eventFormat": guide_filter(&treasury)}),
    )
    .await;

    let acs = spec
        .post_ok(
            c,
            "/v2/state/active-contracts",
            &json!({"activeAtOffset": end, "eventFormat": guide_filter(&treasury)}),
        )
        .await;
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
    let ext = external_party(c, "ext", 3).await;
    let alice = c.party("spec-alice").await;
    c.preapproval(&alice).await;
    let begin = c.ledger_end().await;
    let (factory, dso) = registry_factory(&sandbox, "Amulet", &treasury).await;
    // A transfer of 1 to alice, its memo `reason`, submitted as `command_id` by `act_as`.
    let submission = |sender: &str, reason: &str, command_id: &str, act_as: &str| {
        let transfer = Transfer {
            reason: Some(reason),
            ..Transfer::new(&dso, "Amulet", sender, &alice, "1")
        };
        transfer.submission(&factory, command_id, act_as)
    };
    c.mint(&treasury, "10").await;
    c.mint(&ext.party, "10").await;
    let local = submission(&treasury, "spec-1", "spec-1", &treasury);
    spec.post_ok(
        c,
        "/v2/commands/submit-and-wait",
        &with_registry_disclosures(&sandbox, local).await,
    )
    .await;
    let (status, _) = spec
        .post(
            c,
            "/v2/commands/submit-and-wait",
            &submission(&treasury, "spec-1", "spec-x", "nobody::1220ab"),
        )
        .await;
    assert_eq!(status, 404);

    let mut executes = Vec::new();
    for (id, max) in [("spec-2", None), ("spec-3", Some("2020-01-01T00:00:00Z"))] {
        let mut request = submission(&ext.party, id, id, &ext.party);
        request["maxRecordTime"] = json!(max);
        request["verboseHashing"] = json!(max.is_none());
        let prepared = spec
            .post_ok(
                c,
                "/v2/interactive-submission/prepare",
                &with_registry_disclosures(&sandbox, request).await,
            )
            .await;
        // With verboseHashing, the details are a string (validated against the spec too).
        assert_eq!(prepared["hashingDetails"].is_string(), max.is_none());
        let mut execute = execute_request(&prepared, &ext.party, &ext.fingerprint, &ext.key);
        execute["submissionId"] = json!(id);
        executes.push(execute);
    }
    spec.post_ok(c, "/v2/interactive-submission/executeAndWait", &executes[0])
        .await;
    spec.post_ok(c, "/v2/interactive-submission/execute", &executes[1])
        .await;
    let (status, timed_out) = spec
        .post(c, "/v2/interactive-submission/executeAndWait", &executes[1])
        .await;
    assert_eq!(status, 409, "{timed_out}");
    let completions = spec
        .post_ok(
            c,
            "/v2/commands/completions?stream_idle_timeout_ms=10",
            &json!({"userId": "exchange", "parties": [treasury, ext.party], "beginExclusive": begin}),
        )
        .await;
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
    spec.assert_refuses(
        "post",
        "/v2/parties/external/generate-topology",
        json!({"partyId": "p", "publicKeyFingerprint": "f", "multiHash": 1}),
    );
    spec.assert_refuses("post", "/v2/parties/external/allocate", json!({}));
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
    let topology = spec
        .post_ok(c, "/v2/parties/external/generate-topology", &generate)
        .await;
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
    let allocated = spec
        .post_ok(c, "/v2/parties/external/allocate", &allocate(&multi_hash))
        .await;
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
    for updates in history(spec, c, &treasury, end).await {
        assert!(updates.len() > 20);
    }
    let tail = tail(spec, c, &treasury, end, "").await;
    assert_eq!(
        tail[0]["update"]["OffsetCheckpoint"]["value"]["synchronizerTimes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let acs = spec
        .post_ok(
            c,
            "/v2/state/active-contracts",
            &json!({"activeAtOffset": end, "eventFormat": guide_filter(&treasury)}),
        )
        .await;
    let cid = acs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["contractEntry"]["JsActiveContract"]["synchronizerId"] != global.as_str())
        .expect("an SBX contract")["contractEntry"]["JsActiveContract"]["createdEvent"]
        ["contractId"]
        .clone();
    spec.post_ok(
        c,
        "/v2/events/events-by-contract-id",
        &json!({"contractId": cid, "eventFormat": guide_filter(&treasury)}),
    )
    .await;

    let (factory, admin) = registry_factory(&sandbox, "SBX", &treasury).await;
    let transfer = Transfer::new(&admin, "SBX", &treasury, &alice, "1");
    let command = |id: &str| transfer.submission(&factory, id, &treasury);
    let done = spec
        .post_ok(
            c,
            "/v2/commands/submit-and-wait",
            &with_registry_disclosures(&sandbox, command("multi-1")).await,
        )
        .await;
    let format = update_format(&treasury, "TRANSACTION_SHAPE_LEDGER_EFFECTS");
    spec.post_ok(
        c,
        "/v2/updates/update-by-id",
        &json!({"updateId": done["updateId"], "updateFormat": format}),
    )
    .await;
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
    let completions = spec
        .post_ok(
            c,
            "/v2/commands/completions?stream_idle_timeout_ms=10",
            &json!({"userId": "exchange", "parties": [treasury], "beginExclusive": end}),
        )
        .await;
    assert_eq!(completions.as_array().unwrap().len(), 1, "{completions}");
}
