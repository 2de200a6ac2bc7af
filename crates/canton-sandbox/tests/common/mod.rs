//! Shared by the integration tests: the fixtures in `../shared`, a tiny HTTP client for the
//! sandbox, the guide's treasury filter, and a JSON *shape* comparison.
#![allow(dead_code)] // each test binary uses a different subset

pub mod external;
pub mod transfer;

use std::collections::HashMap;
use std::path::PathBuf;

use canton_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// `../shared` beside the workspace root.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The parsed JSON of `../shared/<relative>`, or `None` (after printing SKIPPED) when the shared
/// folder is not there. Under `CI=true` a missing fixture is a failure, never a silent pass.
pub fn read_shared_json(relative: &str) -> Option<Value> {
    read_shared(relative, |text| {
        serde_json::from_str(text).expect("fixture is JSON")
    })
}

/// The parsed YAML of `../shared/<relative>` (an OpenAPI spec), or `None` as [`read_shared_json`].
pub fn read_shared_yaml(relative: &str) -> Option<Value> {
    read_shared(relative, |text| {
        serde_yaml::from_str(text).expect("the spec is YAML")
    })
}

fn read_shared(relative: &str, parse: impl FnOnce(&str) -> Value) -> Option<Value> {
    let path = shared_dir().join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(parse(&text)),
        Err(e) => {
            let message = format!("fixture {} is not readable: {e}", path.display());
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message} (CI=true: fixtures are required)");
            }
            eprintln!("SKIPPED: {message}");
            None
        }
    }
}

/// The violations of `schema` (its `$ref`s resolved in `components`) by `body`, with one
/// compiled validator per schema kept in `validators`.
pub fn schema_errors(
    validators: &mut HashMap<String, jsonschema::Validator>,
    schema: Value,
    components: &Value,
    body: &Value,
) -> Vec<String> {
    let validator = validators.entry(schema.to_string()).or_insert_with(|| {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&json!({"allOf": [schema], "components": components}))
            .expect("the spec's schemas compile")
    });
    validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// The token standard's interfaces, as commands name them (by package name).
pub const FACTORY: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory";
pub const INSTRUCTION: &str = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction";

/// `POST url` (absolute: a registry's) with `body`: the status and JSON.
pub async fn post_abs(url: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// An empty sandbox whose Canton Coin is that of Splice `release` (recordings of an older
/// release are held against [`SpliceRelease::Legacy`]).
pub async fn start_release(release: canton_sandbox::token::SpliceRelease) -> Sandbox {
    let mut config = SandboxConfig::default();
    config.amulet.release = release;
    Sandbox::start(config).await.expect("sandbox starts")
}

pub async fn start_empty() -> Sandbox {
    Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts")
}

/// A client bound to one sandbox.
pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

/// A response: status, and the body as JSON (or as text if it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "unexpected answer: {}", self.text);
        self.json()
    }
}

impl Client {
    pub fn new(sandbox: &Sandbox) -> Client {
        Client {
            base: sandbox.ledger_api_url(),
            http: reqwest::Client::new(),
        }
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("body");
        Answer {
            status,
            content_type,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        Self::answer(r).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, body: String) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        Self::answer(r).await
    }

    pub async fn party(&self, hint: &str) -> String {
        let v = self
            .post("/sandbox/control/parties", &json!({"hint": hint}))
            .await
            .ok();
        v["party"].as_str().unwrap().to_owned()
    }

    pub async fn preapproval(&self, receiver: &str) -> Value {
        self.post(
            "/sandbox/control/preapprovals",
            &json!({"receiver": receiver}),
        )
        .await
        .ok()
    }

    pub async fn mint(&self, owner: &str, amount: &str) -> String {
        let v = self
            .post(
                "/sandbox/control/mint",
                &json!({"owner": owner, "amount": amount}),
            )
            .await
            .ok();
        v["contractId"].as_str().unwrap().to_owned()
    }

    /// An SBX holding of `amount` minted by the issuer to `owner`: its contract id.
    pub async fn sbx_mint(&self, owner: &str, amount: &str) -> String {
        let v = self
            .post(
                "/sandbox/control/token/mint",
                &json!({"owner": owner, "amount": amount}),
            )
            .await
            .ok();
        v["contractId"].as_str().unwrap().to_owned()
    }

    /// `/v2/interactive-submission/prepare` of `request` with the registry's disclosures added.
    pub async fn prepare(&self, sandbox: &Sandbox, request: Value) -> Answer {
        self.post(
            "/v2/interactive-submission/prepare",
            &with_registry_disclosures(sandbox, request).await,
        )
        .await
    }

    pub async fn execute_and_wait(&self, request: &Value) -> Answer {
        self.post("/v2/interactive-submission/executeAndWait", request)
            .await
    }

    pub async fn submit_and_wait(&self, command: &Value) -> Answer {
        self.post("/v2/commands/submit-and-wait", command).await
    }

    pub async fn transfer(&self, body: Value) -> Answer {
        self.post("/sandbox/control/transfer", &body).await
    }

    /// The transaction `update_id` as `party` reads it with the guide's filter in `shape`
    /// (`TRANSACTION_SHAPE_…`).
    pub async fn transaction(&self, update_id: &Value, party: &str, shape: &str) -> Value {
        self.post(
            "/v2/updates/update-by-id",
            &json!({"updateId": update_id, "updateFormat": update_format(party, shape)}),
        )
        .await
        .ok()
    }

    pub async fn ledger_end(&self) -> i64 {
        self.get("/v2/state/ledger-end").await.ok()["offset"]
            .as_i64()
            .unwrap()
    }
}

/// The integration guide's treasury filter: wildcard plus the token-standard interfaces with
/// views, by package name as clients write them.
pub fn guide_filter(party: &str) -> Value {
    let iface = |id: &str| {
        json!({"identifierFilter": {"InterfaceFilter": {"value": {
            "interfaceId": id, "includeInterfaceView": true, "includeCreatedEventBlob": false}}}})
    };
    json!({"filtersByParty": {party: {"cumulative": [
        {"identifierFilter": {"WildcardFilter": {"value": {"includeCreatedEventBlob": false}}}},
        iface("#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding"),
        iface("#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory"),
        iface("#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction"),
    ]}}, "verbose": false})
}

/// An `UpdateFormat` of `party`'s transactions through the guide's filter, in `shape`.
pub fn update_format(party: &str, shape: &str) -> Value {
    json!({"includeTransactions": {"eventFormat": guide_filter(party), "transactionShape": shape}})
}

pub fn updates_request(party: &str, shape: &str, begin: i64, end: Option<i64>) -> Value {
    let mut r = json!({"beginExclusive": begin, "updateFormat": update_format(party, shape)});
    if let Some(end) = end {
        r["endInclusive"] = json!(end);
    }
    r
}

/// Fields that 3.4 added and a 3.3 recording cannot have.
const ADDED_IN_3_4: &[&str] = &[
    "acsDelta",
    "representativePackageId",
    "externalTransactionHash",
    "paidTrafficCost",
];

/// Compares the *shape* of two JSON documents: the same keys at the same places, the same kind
/// of value (string, number, bool, array, object) under each, arrays of the same length,
/// recursively. Treats an absent key and `null` alike (3.3 recordings omit what 3.4 writes as
/// `null`) and ignores fields added in 3.4. Returns every difference as a JSON path.
pub fn shape_differences(recorded: &Value, ours: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape(recorded, ours, "$", &mut out);
    out
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn shape(recorded: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (recorded, ours) {
        (Value::Object(r), Value::Object(o)) => {
            let keys = |m: &serde_json::Map<String, Value>| -> std::collections::BTreeSet<String> {
                m.iter()
                    .filter(|(k, v)| !v.is_null() && !ADDED_IN_3_4.contains(&k.as_str()))
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            let (rk, ok) = (keys(r), keys(o));
            for k in rk.symmetric_difference(&ok) {
                let side = if rk.contains(k) {
                    "only recorded"
                } else {
                    "only ours"
                };
                out.push(format!("{path}.{k}: {side}"));
            }
            for k in rk.intersection(&ok) {
                shape(&r[k], &o[k], &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if r.len() != o.len() {
                out.push(format!("{path}: {} vs {} elements", r.len(), o.len()));
            }
            for (i, (a, b)) in r.iter().zip(o).enumerate() {
                shape(a, b, &format!("{path}[{i}]"), out);
            }
        }
        (r, o) if kind(r) != kind(o) => out.push(format!("{path}: {} vs {}", kind(r), kind(o))),
        _ => {}
    }
}

/// `Module:Entity` of a `package:Module:Entity` id.
pub fn qualified_name(id: &str) -> String {
    id.split_once(':').map_or(id, |(_, rest)| rest).to_owned()
}

/// What must be *equal*, not just alike, between a recorded and a sandbox transaction: per event
/// its kind, node id, last descendant, choice, consuming flag, template / interface names (not
/// package ids), implemented interfaces, interface view ids and metadata keys.
pub fn semantic_outline(tx: &Value) -> Vec<String> {
    let names = |v: &Value| -> String {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| qualified_name(x.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    tx["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let (k, v) = e.as_object().unwrap().iter().next().unwrap();
            let views = v["interfaceViews"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|iv| qualified_name(iv["interfaceId"].as_str().unwrap()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let meta_keys = |m: &Value| -> String {
                m["meta"]["values"]
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(","))
                    .unwrap_or_default()
            };
            format!(
                "{k} node={} last={} choice={} consuming={} template={} interface={} implemented=[{}] views=[{}] resultMeta=[{}]",
                v["nodeId"],
                v["lastDescendantNodeId"],
                v["choice"].as_str().unwrap_or("-"),
                v["consuming"],
                qualified_name(v["templateId"].as_str().unwrap()),
                v["interfaceId"].as_str().map(qualified_name).unwrap_or("-".into()),
                names(&v["implementedInterfaces"]),
                views,
                meta_keys(&v["exerciseResult"]),
            )
        })
        .collect()
}

/// The registry's answer to `transfer-factory` for `arguments` (a `TransferFactory_Transfer`
/// choice argument): factory id, kind and choice context.
pub async fn transfer_factory(registry_url: &str, arguments: &Value) -> Value {
    reqwest::Client::new()
        .post(format!(
            "{registry_url}/registry/transfer-instruction/v1/transfer-factory"
        ))
        .json(&json!({"choiceArguments": arguments}))
        .send()
        .await
        .expect("registry answers")
        .json()
        .await
        .expect("JSON")
}

/// The token `instrument` as the sandbox's info file advertises it (admin, registry URL).
pub fn advertised(sandbox: &Sandbox, instrument: &str) -> canton_sandbox::info::InfoToken {
    sandbox
        .info()
        .tokens
        .into_iter()
        .find(|t| t.instrument_id == instrument)
        .expect("advertised")
}

/// `(factoryId, admin)` of `instrument` as a wallet finds them: the registry URL from the info
/// file, then `transfer-factory` for a self-transfer by `party` (the factory does not depend on
/// the kind).
pub async fn registry_factory(
    sandbox: &Sandbox,
    instrument: &str,
    party: &str,
) -> (String, String) {
    let token = advertised(sandbox, instrument);
    let arguments = transfer::Transfer::new(&token.admin, instrument, party, party, "1");
    let answer = transfer_factory(&token.registry_url, &arguments.choice_argument()).await;
    (
        answer["factoryId"].as_str().expect("factoryId").to_owned(),
        token.admin,
    )
}

/// What a wallet adds to a token-standard command before submitting or preparing it: the
/// registry's disclosed contracts (and, where the command has none, its choice context), asked
/// for with the command's own arguments. A `TransferFactory_Transfer` asks the registry of its
/// instrument; a `TransferInstruction_*` the registry that knows the instruction. Commands the
/// registries do not serve are returned as they are.
pub async fn with_registry_disclosures(sandbox: &Sandbox, mut command: Value) -> Value {
    let exercise = command["commands"][0]["ExerciseCommand"].clone();
    let choice = exercise["choice"].as_str().unwrap_or_default().to_owned();
    let info = sandbox.info();
    let http = reqwest::Client::new();
    let answer = if choice == "TransferFactory_Transfer" {
        let instrument = exercise["choiceArgument"]["transfer"]["instrumentId"]["id"].clone();
        let Some(token) = info.tokens.iter().find(|t| instrument == t.instrument_id) else {
            return command;
        };
        let r = http
            .post(format!(
                "{}/registry/transfer-instruction/v1/transfer-factory",
                token.registry_url
            ))
            .json(&json!({"choiceArguments": exercise["choiceArgument"]}))
            .send()
            .await
            .expect("registry answers");
        if !r.status().is_success() {
            return command;
        }
        let factory: Value = r.json().await.expect("JSON");
        factory["choiceContext"].clone()
    } else if let Some(which) = choice.strip_prefix("TransferInstruction_") {
        let cid = exercise["contractId"].as_str().unwrap_or_default();
        let mut found = None;
        for token in &info.tokens {
            let r = http
                .post(format!(
                    "{}/registry/transfer-instruction/v1/{cid}/choice-contexts/{}",
                    token.registry_url,
                    which.to_lowercase()
                ))
                .json(&json!({}))
                .send()
                .await
                .expect("registry answers");
            if r.status().is_success() {
                found = Some(r.json::<Value>().await.expect("JSON"));
                break;
            }
        }
        let Some(context) = found else { return command };
        context
    } else {
        return command;
    };
    let argument = &mut command["commands"][0]["ExerciseCommand"]["choiceArgument"];
    let context = &mut argument["extraArgs"]["context"];
    if context.is_null() || context == &json!({"values": {}}) {
        *context = answer["choiceContextData"].clone();
    }
    command["disclosedContracts"] = answer["disclosedContracts"].clone();
    command
}

/// The CLI's filter: wildcard, with the V1 and V2 holding views and the instruction's view.
pub fn v2_filter(party: &str) -> Value {
    let mut filter = guide_filter(party);
    let cumulative = filter["filtersByParty"][party]["cumulative"]
        .as_array_mut()
        .unwrap();
    cumulative.push(json!({"identifierFilter": {"InterfaceFilter": {"value": {
        "interfaceId": "#splice-api-token-holding-v2:Splice.Api.Token.HoldingV2:Holding",
        "includeInterfaceView": true, "includeCreatedEventBlob": false}}}}));
    filter
}

/// The transaction at `offset` as `party` reads it with the CLI's filter ([`v2_filter`]).
pub async fn tx_at(client: &Client, party: &str, offset: i64) -> Value {
    tx_at_with(client, v2_filter(party), offset).await
}

/// The transaction at `offset` with its ledger effects, as `event_format` lets a reader see it.
pub async fn tx_at_with(client: &Client, event_format: Value, offset: i64) -> Value {
    let answer = client
        .post(
            "/v2/updates/update-by-offset",
            &json!({"offset": offset, "updateFormat": {"includeTransactions": {
                "eventFormat": event_format,
                "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}}}),
        )
        .await
        .ok();
    answer["update"]["Transaction"]["value"].clone()
}

/// Equal outlines (node ids, nesting, choices, templates, interfaces, views, result meta keys)
/// and alike shapes (field names, kinds of values, list lengths) of every event.
pub fn assert_faithful(name: &str, recorded: &Value, ours: &Value) {
    assert_eq!(
        semantic_outline(recorded),
        semantic_outline(ours),
        "{name}: events differ in kind, node ids, choices, names or metadata keys"
    );
    // Fields the recording's Ledger API (newer than the 3.4 one the sandbox speaks) added.
    let diffs: Vec<String> = shape_differences(&recorded["events"], &ours["events"])
        .into_iter()
        .filter(|d| {
            !(d.ends_with(": only recorded")
                && (d.contains(".contractKeyHash:") || d.contains(".implementationPackageId:")))
        })
        .collect();
    assert!(
        diffs.is_empty(),
        "{name}: shape differs:\n{}",
        diffs.join("\n")
    );
}
