//! Every real recording survives parse → serialize: nothing the node sent is lost or changed,
//! and serializing is idempotent. This is what lets the sandbox and the client share the types.

mod common;

use canton_ledger::contract_events::JsGetEventsByContractIdResponse;
use canton_ledger::{JsGetUpdatesResponse, JsTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use common::{assert_nothing_lost, read_shared};

/// Parses each element of a JSON array as `T`, re-encodes it and checks the two properties.
/// Returns how many elements were checked (0 when the fixture is missing).
fn roundtrip_array<T: Serialize + DeserializeOwned>(relative: &str) -> usize {
    let Some(text) = read_shared(relative) else {
        return 0;
    };
    let elements: Vec<Value> = serde_json::from_str(&text).expect("fixture is a JSON array");
    for (n, element) in elements.iter().enumerate() {
        roundtrip_one::<T>(element, &format!("{relative}[{n}]"));
    }
    elements.len()
}

fn roundtrip_one<T: Serialize + DeserializeOwned>(input: &Value, what: &str) {
    // From text, as a client reads it (and so that raw Daml values are taken verbatim).
    let typed: T = serde_json::from_str(&input.to_string())
        .unwrap_or_else(|e| panic!("{what}: does not parse: {e}"));
    let output = serde_json::to_value(&typed).expect("serializes");
    if let Err(difference) = assert_nothing_lost(input, &output) {
        panic!("{what}: {difference}");
    }
    let again: T = serde_json::from_value(output.clone()).expect("own output parses");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        output,
        "{what}: re-encoding is not idempotent"
    );
}

#[test]
fn localnet_one_step_deposit_and_withdraw() {
    let n = roundtrip_array::<JsGetUpdatesResponse>(
        "fixtures/localnet-treasury/one-step-deposit-and-withdraw.json",
    );
    assert!(n == 0 || n == 2, "{n} updates");
}

#[test]
fn localnet_splice_test_cases() {
    let n = roundtrip_array::<JsGetUpdatesResponse>(
        "fixtures/localnet-treasury/splice-test-cases.json",
    );
    assert!(n == 0 || n == 31, "{n} updates");
}

#[test]
fn splice_cli_transactions() {
    let n = roundtrip_array::<JsTransaction>("fixtures/splice-cli/txs.json");
    assert!(n == 0 || n == 28, "{n} transactions");
}

#[test]
fn splice_cli_events_by_contract_id() {
    let n = roundtrip_array::<JsGetEventsByContractIdResponse>(
        "fixtures/splice-cli/eventsByContractIdResponses.json",
    );
    assert!(n == 0 || n == 54, "{n} answers");
}

#[test]
fn integration_guide_examples() {
    // Each file is one `{"update": …}` object.
    for name in [
        "1-step-transfer.json",
        "transfer-instruction-create.json",
        "transfer-instruction-accept.json",
    ] {
        let relative = format!("reference/exchange-integration-guide/{name}");
        let Some(text) = read_shared(&relative) else {
            continue;
        };
        let input: Value = serde_json::from_str(&text).expect("valid JSON");
        roundtrip_one::<JsGetUpdatesResponse>(&input, &relative);
    }
}

#[test]
fn ledger_api_reference_example_transaction() {
    // The abridged 3.4-shape transaction in ledger-api.md §9, which has the 3.4 fields the
    // recordings lack (`acsDelta`, `representativePackageId`, `externalTransactionHash`).
    let Some(doc) = read_shared("reference/ledger-api.md") else {
        return;
    };
    let start = doc
        .find("```json\n{\"update\": {\"Transaction\"")
        .expect("§9 example present");
    let body = &doc[start + "```json\n".len()..];
    let json = &body[..body.find("\n```").expect("closing fence")];
    let input: Value = serde_json::from_str(json).expect("§9 example is JSON");
    roundtrip_one::<JsGetUpdatesResponse>(&input, "ledger-api.md §9");
    // Fully 3.4-shaped input comes back byte for byte, key order included.
    let compact = minify(json);
    let typed: JsGetUpdatesResponse = serde_json::from_str(&compact).unwrap();
    assert_eq!(serde_json::to_string(&typed).unwrap(), compact);
}

/// Drops the whitespace between JSON tokens, keeping key order (which `serde_json::Value`
/// would not).
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}
