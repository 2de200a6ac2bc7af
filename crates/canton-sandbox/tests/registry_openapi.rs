//! Every answer of both registries (Canton Coin at `/registry/amulet`, SBX at `/registry/token`),
//! successes and errors, validates against the token standard's own OpenAPI files
//! (`../shared/specs/transfer-instruction-v1.yaml`, `token-metadata-v1.yaml`): the schema of the
//! path, method and status, `#/components/responses` and `#/components/schemas` references
//! resolved. Unlike the Ledger API's spec, these describe the registries' output as it is (no
//! `null` relaxation): optional fields must be absent, not `null`.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{Value, json};

struct RegistrySpec {
    doc: Value,
    validators: HashMap<String, jsonschema::Validator>,
}

impl RegistrySpec {
    fn load(file: &str) -> Option<RegistrySpec> {
        Some(RegistrySpec {
            doc: read_shared_yaml(&format!("specs/{file}"))?,
            validators: HashMap::new(),
        })
    }

    /// The JSON schema of the answer to `method path` with `status`.
    fn response_schema(&self, method: &str, path: &str, status: u16) -> Value {
        let responses = &self.doc["paths"][path][method]["responses"];
        assert!(responses.is_object(), "{method} {path} is not in the spec");
        let mut response = responses[status.to_string()].clone();
        assert!(
            response.is_object(),
            "{method} {path}: status {status} is not in the spec"
        );
        if let Some(reference) = response["$ref"].as_str() {
            let name = reference
                .strip_prefix("#/components/responses/")
                .expect("a response reference");
            response = self.doc["components"]["responses"][name].clone();
        }
        let schema = response["content"]["application/json"]["schema"].clone();
        assert!(
            !schema.is_null(),
            "{method} {path} {status}: no JSON schema"
        );
        schema
    }

    fn errors(&mut self, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
        let schema = self.response_schema(method, path, status);
        schema_errors(&mut self.validators, schema, &self.doc["components"], body)
    }

    fn check(&mut self, method: &str, path: &str, status: u16, body: &Value) {
        let errors = self.errors(method, path, status, body);
        assert!(
            errors.is_empty(),
            "{method} {path} ({status}) does not match the spec:\n{}\nbody: {body}",
            errors.join("\n")
        );
    }
}

/// Calls `base + concrete` and validates the answer against `template` (the spec's path).
async fn call(
    spec: &mut RegistrySpec,
    method: &str,
    base: &str,
    template: &str,
    concrete: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let url = format!("{base}{concrete}");
    let response = match body {
        Some(b) => http.post(url).json(b).send().await,
        None => http.get(url).send().await,
    }
    .expect("the registry answers");
    let status = response.status().as_u16();
    let json: Value = response.json().await.expect("a JSON answer");
    spec.check(method, template, status, &json);
    (status, json)
}

fn arguments(admin: &str, instrument: &str, sender: &str, receiver: &str) -> Value {
    json!({
        "expectedAdmin": admin,
        "transfer": {
            "sender": sender, "receiver": receiver, "amount": "5",
            "instrumentId": {"admin": admin, "id": instrument},
            "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
            "inputHoldingCids": [], "meta": {"values": {}},
        },
        "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}},
    })
}

#[tokio::test]
async fn both_registries_answer_as_their_openapi_files_say() {
    let (Some(mut metadata), Some(mut instruction)) = (
        RegistrySpec::load("token-metadata-v1.yaml"),
        RegistrySpec::load("transfer-instruction-v1.yaml"),
    ) else {
        return;
    };
    let (metadata, instruction) = (&mut metadata, &mut instruction);
    // The validation bites: a missing required field, a wrong type, an unknown enum value.
    assert!(
        !metadata
            .errors(
                "get",
                "/registry/metadata/v1/info",
                200,
                &json!({"supportedApis": {}})
            )
            .is_empty()
    );
    assert!(
        !instruction
            .errors(
                "post",
                "/registry/transfer-instruction/v1/transfer-factory",
                200,
                &json!({"factoryId": "f", "transferKind": "sideways",
                        "choiceContext": {"choiceContextData": {}, "disclosedContracts": []}})
            )
            .is_empty()
    );
    assert!(
        !instruction
            .errors(
                "post",
                "/registry/transfer-instruction/v1/transfer-factory",
                404,
                &json!({"error": 404})
            )
            .is_empty()
    );

    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    client.preapproval(&bob).await;
    client.mint(&alice, "100").await;
    client.sbx_mint(&alice, "100").await;
    // A pending instruction of each registry: Canton Coin to a receiver without preapproval,
    // an SBX offer.
    let carol = client.party("carol").await;
    let amulet_offer = client
        .transfer(json!({"sender": alice, "receiver": carol, "amount": "3"}))
        .await
        .ok();
    let sbx_offer = client
        .post(
            "/sandbox/control/offers",
            &json!({"sender": alice, "receiver": carol, "amount": "3"}),
        )
        .await
        .ok();
    let pending = [
        amulet_offer["transferInstructionCid"]
            .as_str()
            .unwrap()
            .to_owned(),
        sbx_offer["transferInstructionCid"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];

    let info = sandbox.info();
    assert_eq!(info.tokens.len(), 2);
    for token in &info.tokens {
        let instruction_cid = match token.instrument_id.as_str() {
            "Amulet" => &pending[0],
            _ => &pending[1],
        };
        let base = token.registry_url.as_str();
        let admin = token.admin.as_str();
        let id = token.instrument_id.as_str();

        let (status, _) = call(
            metadata,
            "get",
            base,
            "/registry/metadata/v1/info",
            "/registry/metadata/v1/info",
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (status, list) = call(
            metadata,
            "get",
            base,
            "/registry/metadata/v1/instruments",
            "/registry/metadata/v1/instruments",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list["instruments"][0]["id"], id);
        let one = "/registry/metadata/v1/instruments/{instrumentId}";
        let (status, _) = call(
            metadata,
            "get",
            base,
            one,
            &format!("/registry/metadata/v1/instruments/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = call(
            metadata,
            "get",
            base,
            one,
            "/registry/metadata/v1/instruments/NoSuchCoin",
            None,
        )
        .await;
        assert_eq!(status, 404);

        let factory = "/registry/transfer-instruction/v1/transfer-factory";
        for (receiver, exclude) in [(&alice, false), (&bob, true), (&carol, false)] {
            let (status, answer) = call(
                instruction,
                "post",
                base,
                factory,
                factory,
                Some(
                    &json!({"choiceArguments": arguments(admin, id, &alice, receiver),
                             "excludeDebugFields": exclude}),
                ),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
        }
        for bad in [
            json!({"choiceArguments": {"transfer": {}}}),
            json!({"choiceArguments": arguments(admin, "Elsewhere", &alice, &bob)}),
        ] {
            let (status, _) = call(instruction, "post", base, factory, factory, Some(&bad)).await;
            assert_eq!(status, 400);
        }

        for choice in ["accept", "reject", "withdraw"] {
            let template = format!(
                "/registry/transfer-instruction/v1/{{transferInstructionId}}/choice-contexts/{choice}"
            );
            let (status, context) = call(
                instruction,
                "post",
                base,
                &template,
                &format!(
                    "/registry/transfer-instruction/v1/{instruction_cid}/choice-contexts/{choice}"
                ),
                Some(&json!({"meta": {}, "excludeDebugFields": choice == "reject"})),
            )
            .await;
            assert_eq!(status, 200, "{context}");
            let (status, _) = call(
                instruction,
                "post",
                base,
                &template,
                &format!("/registry/transfer-instruction/v1/00deadbeef/choice-contexts/{choice}"),
                Some(&json!({})),
            )
            .await;
            assert_eq!(status, 404);
        }
    }
}
