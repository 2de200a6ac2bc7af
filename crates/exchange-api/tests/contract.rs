//! The API's contract: the OpenAPI document is well-formed OpenAPI 3.1, its operations are
//! exactly the router's routes (every other method is a 405, every other path the 404
//! fallback), every authenticated operation refuses missing, unknown and wrong-role tokens as
//! it documents, and the answers match their documented schemas. On SQLite and PostgreSQL.

#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use std::collections::BTreeSet;

use common::{INTERNAL, OPERATOR, start};
use exchange_core::changeset::DepositState;
use harness::TestDb;
use reqwest::Method;
use serde_json::{Value, json};

conformance!(
    the_documented_operations_are_the_routes,
    every_operation_checks_its_tokens_and_roles,
    answers_match_their_documented_schemas,
);

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn document() -> Value {
    serde_json::from_str(exchange_api::openapi::document()).expect("the document is JSON")
}

/// (method, path) of every documented operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// A concrete URL path for a template: parameters filled with `x`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => inside = true,
            '}' => {
                inside = false;
                out.push('x');
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.insert(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_well_formed_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for name in ["internal", "operator"] {
        assert_eq!(schemes[name]["type"], "http");
        assert_eq!(schemes[name]["scheme"], "bearer");
    }
    let mut operation_ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        assert!(
            operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{what}"
        );
        assert!(
            op["summary"].is_string() || op["description"].is_string(),
            "{what}"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}");
        for (status, response) in responses {
            assert!(response["description"].is_string(), "{what} {status}");
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"]["application/problem+json"]["schema"].is_object(),
                    "{what} {status} has no problem"
                );
            }
        }
        // Path parameters: exactly those of the template, required.
        let template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{what}"))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(template, declared, "{what}");
        for requirement in op["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{what}: {name}");
            }
        }
    }
    // The status page is a route like the others, documented as what it is: HTML, public
    // (it holds no data; the endpoints it reads in the browser need their tokens).
    let page = &doc["paths"]["/"]["get"];
    assert!(
        page["responses"]["200"]["content"]["text/html"].is_object(),
        "{page}"
    );
    assert!(page["security"].is_null(), "{page}");
    // Every reference resolves, and every schema is a valid JSON Schema (2020-12, which
    // OpenAPI 3.1 uses).
    let mut all = BTreeSet::new();
    refs(&doc, &mut all);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema ref");
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }
    for (name, schema) in schemas {
        jsonschema::draft202012::meta::validate(schema)
            .unwrap_or_else(|e| panic!("schema {name}: {e}"));
    }
    // Money is never a JSON number.
    for (name, schema) in schemas {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let money = [
                "amount",
                "onLedger",
                "customerLiabilities",
                "inFlightWithdrawals",
                "ownFunds",
            ];
            if money.contains(&field.as_str()) {
                assert_eq!(property["type"], "string", "{name}.{field}");
            }
            assert_ne!(property["type"], "number", "{name}.{field}");
        }
    }
}

async fn the_documented_operations_are_the_routes(db: &TestDb) {
    let api = start(db).await;
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = api.url(&concrete(path));
        for method in METHODS {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = api
                .send(api.http.request(m, &url).bearer_auth(OPERATOR))
                .await;
            if item.get(method).is_some() {
                assert_ne!(answer.status.as_u16(), 405, "{method} {path}");
                assert_ne!(answer.body["code"], "no-such-route", "{method} {path}");
            } else {
                assert_eq!(answer.status.as_u16(), 405, "{method} {path} is routed");
            }
        }
    }
    for path in [
        "/v1",
        "/v1/nothing",
        "/v2/accounts",
        "/v1/accounts/x/y/z",
        "/openapi.yaml",
    ] {
        let answer = api.get(path, OPERATOR).await;
        answer.problem(404, "no-such-route");
    }
}

async fn every_operation_checks_its_tokens_and_roles(db: &TestDb) {
    let api = start(db).await;
    let doc = document();
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        let url = api.url(&concrete(&path));
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let request = || api.http.request(m.clone(), &url).json(&json!({}));
        let Some(security) = op["security"].as_array() else {
            let open = api.send(request()).await;
            assert!(
                open.status.is_success(),
                "{what} is public: {}",
                open.status
            );
            continue;
        };
        let roles: BTreeSet<&str> = security
            .iter()
            .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
            .collect();
        let missing = api.send(request()).await;
        missing.problem(401, "unauthorized");
        assert_eq!(missing.headers["www-authenticate"], "Bearer", "{what}");
        let unknown = api.send(request().bearer_auth("not-a-token")).await;
        unknown.problem(401, "unauthorized");
        let basic = api
            .send(request().header("authorization", "Basic aW50ZXJuYWw="))
            .await;
        basic.problem(401, "unauthorized");
        for (role, token) in [("internal", INTERNAL), ("operator", OPERATOR)] {
            let answer = api.send(request().bearer_auth(token)).await;
            if roles.contains(role) {
                assert!(
                    !matches!(answer.status.as_u16(), 401 | 403),
                    "{what} as {role}: {}",
                    answer.body
                );
            } else {
                answer.problem(403, "forbidden");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 16, "authenticated operations");
    // What each role may do, as the document says it.
    let allowed = |method: &str, path: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["security"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_object().unwrap().keys().cloned())
            .collect()
    };
    let internal_only = BTreeSet::from(["internal".to_owned()]);
    assert_eq!(allowed("post", "/v1/withdrawals"), internal_only);
    assert_eq!(allowed("post", "/v1/accounts"), internal_only);
    let operator_only = BTreeSet::from(["operator".to_owned()]);
    assert_eq!(
        allowed("post", "/v1/operator/withdrawals/enable"),
        operator_only
    );
    assert_eq!(allowed("get", "/v1/operator/status"), operator_only);
}

/// Validates `body` against the documented schema of `method path` answering `status`.
fn check_schema(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let content = &response["content"];
    let schema = content["application/json"]["schema"].clone();
    let schema = if schema.is_null() {
        content["application/problem+json"]["schema"].clone()
    } else {
        schema
    };
    assert!(
        schema.is_object(),
        "{method} {path} {status} is undocumented"
    );
    let mut root = json!({"components": doc["components"].clone()});
    root["allOf"] = json!([schema]);
    let validator = jsonschema::draft202012::new(&root).expect("a valid schema");
    if let Err(e) = validator.validate(body) {
        panic!("{method} {path} {status}: {e}\n{body}");
    }
}

async fn answers_match_their_documented_schemas(db: &TestDb) {
    let api = start(db).await;
    let doc = document();
    let opened = api.open_account("abc123", "c").await;
    check_schema(&doc, "post", "/v1/accounts", 201, &opened.body);
    api.deposit("d1", "abc123", "100", DepositState::Credited)
        .await;
    api.deposit("d2", "ghost", "5", DepositState::UnknownAccount)
        .await;
    let body = json!({"account": "abc123", "receiver": "bob::1220bb", "amount": "1", "instrumentId": "Amulet"});
    let placed = api.withdraw("k1", &body).await;
    check_schema(&doc, "post", "/v1/withdrawals", 201, &placed.body);
    let refused = api.withdraw("k1", &json!({"account": "abc123"})).await;
    check_schema(&doc, "post", "/v1/withdrawals", 422, &refused.body);
    let id = placed.body["withdrawalId"].as_str().unwrap().to_owned();
    let reads: [(&str, String); 12] = [
        ("/v1/accounts", "/v1/accounts".into()),
        (
            "/v1/accounts/{accountId}/balances",
            "/v1/accounts/abc123/balances".into(),
        ),
        (
            "/v1/accounts/{accountId}/journal",
            "/v1/accounts/abc123/journal".into(),
        ),
        ("/v1/deposits", "/v1/deposits".into()),
        ("/v1/deposits/{depositId}", "/v1/deposits/d2".into()),
        ("/v1/withdrawals", "/v1/withdrawals".into()),
        (
            "/v1/withdrawals/{withdrawalId}",
            format!("/v1/withdrawals/{id}"),
        ),
        ("/v1/treasury/holdings", "/v1/treasury/holdings".into()),
        ("/v1/treasury/totals", "/v1/treasury/totals".into()),
        ("/v1/operator/status", "/v1/operator/status".into()),
        ("/v1/operator/tokens", "/v1/operator/tokens".into()),
        (
            "/v1/operator/withdrawals",
            "/v1/operator/withdrawals".into(),
        ),
    ];
    for (template, path) in reads {
        let answer = api.get(&path, OPERATOR).await;
        check_schema(&doc, "get", template, answer.status.as_u16(), &answer.body);
        assert_eq!(answer.status.as_u16(), 200, "{path}: {}", answer.body);
    }
    let missing = api.get("/v1/deposits/none", INTERNAL).await;
    check_schema(&doc, "get", "/v1/deposits/{depositId}", 404, &missing.body);
    let unauthorized = api.get("/v1/deposits", "nope").await;
    check_schema(&doc, "get", "/v1/deposits", 401, &unauthorized.body);
    let switched = api
        .post(
            "/v1/operator/withdrawals/disable",
            OPERATOR,
            &json!({"reason": "drill"}),
        )
        .await;
    check_schema(
        &doc,
        "post",
        "/v1/operator/withdrawals/disable",
        200,
        &switched.body,
    );
    let off = api.withdraw("k2", &body).await;
    check_schema(&doc, "post", "/v1/withdrawals", 503, &off.body);
    let openapi = api.send(api.http.get(api.url("/openapi.json"))).await;
    assert_eq!(openapi.body, doc);
}
