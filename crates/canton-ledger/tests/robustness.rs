//! Typed deserialization never panics nor overflows the stack, whatever arrives: truncated or
//! byte-mutated recordings, values of the wrong type or size, pathological nesting. It is either
//! `Ok` or a typed `serde_json::Error` — the stream reader can always report and go on.

mod common;

use std::sync::OnceLock;

use canton_ledger::contract_events::JsGetEventsByContractIdResponse;
use canton_ledger::{JsGetUpdatesResponse, JsTransaction};
use proptest::prelude::*;
use serde_json::Value;

/// A small hand-written stand-in, so that the properties still exercise something (and say so)
/// when `../shared` is absent outside CI.
const SAMPLE_UPDATES: &str = r#"[{"update": {"Transaction": {"value": {"updateId": "1220ab",
  "commandId": "", "workflowId": "", "effectiveAt": "2025-10-14T11:29:59Z",
  "events": [{"ExercisedEvent": {"offset": 7, "nodeId": 0, "contractId": "00aa", "templateId": "p:M:T",
    "interfaceId": null, "choice": "Archive", "choiceArgument": {}, "actingParties": ["a::1220"],
    "consuming": true, "witnessParties": ["a::1220"], "lastDescendantNodeId": 0, "exerciseResult": {},
    "packageName": "pkg", "implementedInterfaces": []}},
   {"CreatedEvent": {"offset": 7, "nodeId": 1, "contractId": "00bb", "templateId": "p:M:T",
    "contractKey": null, "createArgument": {"owner": "a::1220", "amount": "1.0000000000"},
    "createdEventBlob": "", "interfaceViews": [{"interfaceId": "p:M:I",
      "viewStatus": {"code": 0, "message": "", "details": []}, "viewValue": {"amount": "1.0"}}],
    "witnessParties": ["a::1220"], "signatories": ["a::1220"], "observers": [],
    "createdAt": "2025-10-14T11:29:59Z", "packageName": "pkg"}}],
  "offset": 7, "synchronizerId": "global-domain::1220", "traceContext": null,
  "recordTime": "2025-10-14T11:29:59Z"}}}},
 {"update": {"OffsetCheckpoint": {"value": {"offset": 8, "synchronizerTimes": [
   {"synchronizerId": "global-domain::1220", "recordTime": "2025-10-14T11:30:00Z"}]}}}}]"#;

/// Which typed array a corpus text is read as.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Updates,
    Transactions,
    EventsByContractId,
}

struct Corpus {
    kind: Kind,
    text: String,
    value: Value,
    /// JSON pointers of every node of `value`, to mutate one at random.
    pointers: Vec<String>,
}

fn corpus() -> &'static [Corpus] {
    static CORPUS: OnceLock<Vec<Corpus>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut texts: Vec<(Kind, String)> = [
            (
                Kind::Updates,
                "fixtures/localnet-treasury/one-step-deposit-and-withdraw.json",
            ),
            (
                Kind::Updates,
                "fixtures/localnet-treasury/splice-test-cases.json",
            ),
            (Kind::Transactions, "fixtures/splice-cli/txs.json"),
            (
                Kind::EventsByContractId,
                "fixtures/splice-cli/eventsByContractIdResponses.json",
            ),
        ]
        .into_iter()
        .filter_map(|(kind, path)| common::read_shared(path).map(|text| (kind, text)))
        .collect();
        if texts.is_empty() {
            eprintln!("robustness: using the built-in sample only");
        }
        texts.push((Kind::Updates, SAMPLE_UPDATES.to_owned()));
        texts
            .into_iter()
            .map(|(kind, text)| {
                let value: Value = serde_json::from_str(&text).expect("corpus is valid JSON");
                let mut pointers = Vec::new();
                collect_pointers(&value, &mut String::new(), &mut pointers);
                Corpus {
                    kind,
                    text,
                    value,
                    pointers,
                }
            })
            .collect()
    })
}

fn collect_pointers(value: &Value, at: &mut String, out: &mut Vec<String>) {
    out.push(at.clone());
    let len = at.len();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                collect_pointers(v, at, out);
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (n, v) in items.iter().enumerate() {
                at.push_str(&format!("/{n}"));
                collect_pointers(v, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// Parses `bytes` as the corpus kind's typed array and as its single elements. Any panic fails
/// the property; a stack overflow aborts the test binary, which fails it too.
fn parse_all(kind: Kind, bytes: &[u8]) {
    match kind {
        Kind::Updates => {
            let _ = serde_json::from_slice::<Vec<JsGetUpdatesResponse>>(bytes);
            let _ = serde_json::from_slice::<JsGetUpdatesResponse>(bytes);
        }
        Kind::Transactions => {
            let _ = serde_json::from_slice::<Vec<JsTransaction>>(bytes);
            let _ = serde_json::from_slice::<JsTransaction>(bytes);
        }
        Kind::EventsByContractId => {
            let _ = serde_json::from_slice::<Vec<JsGetEventsByContractIdResponse>>(bytes);
        }
    }
}

/// Nested arrays/objects `depth` deep, optionally left unclosed.
fn nested(depth: usize, object: bool, closed: bool) -> String {
    let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
    let mut s = open.repeat(depth);
    s.push('1');
    if closed {
        s.push_str(&close.repeat(depth));
    }
    s
}

/// Replacement values of the wrong type or an extreme size.
fn odd_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("\"\"".to_owned()),
        Just("\"12\"".to_owned()),
        Just("\"-9223372036854775809\"".to_owned()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("1e400".to_owned()),
        Just("-1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("99999999999999999999999999999999999999999".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("{\"value\": {}}".to_owned()),
        Just("[[\"k\", \"v\"]]".to_owned()),
        "[a-zA-Z0-9 ]{0,12}".prop_map(|s| format!("\"{s}\"")),
        (1usize..2000, any::<bool>()).prop_map(|(d, o)| nested(d, o, true)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn truncated_recordings(which in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let c = which.get(corpus());
        parse_all(c.kind, &c.text.as_bytes()[..cut.index(c.text.len())]);
    }

    #[test]
    fn byte_mutated_recordings(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(b"{}[]\":,0123456789-.eE\\ntfu \x00\xff".to_vec()), 0u8..3),
            1..8,
        ),
    ) {
        let c = which.get(corpus());
        let mut bytes = c.text.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        parse_all(c.kind, &bytes);
    }

    #[test]
    fn wrongly_typed_values(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        replacement in odd_value(),
    ) {
        let c = which.get(corpus());
        // Replace one node by a placeholder, then splice the replacement in as text: it may be
        // nested too deeply for a `Value` (which would overflow when dropped).
        let mut value = c.value.clone();
        let pointer = &c.pointers[at.index(c.pointers.len())];
        *value.pointer_mut(pointer).unwrap() = Value::String("\u{1}PLACEHOLDER\u{1}".into());
        let text = serde_json::to_string(&value).unwrap().replace("\"\\u0001PLACEHOLDER\\u0001\"", &replacement);
        parse_all(c.kind, text.as_bytes());
    }

    #[test]
    fn dropped_keys(which in any::<prop::sample::Index>(), at in any::<prop::sample::Index>()) {
        let c = which.get(corpus());
        let mut value = c.value.clone();
        let pointer = &c.pointers[at.index(c.pointers.len())];
        if let Some((parent, key)) = pointer.rsplit_once('/')
            && let Some(Value::Object(map)) = value.pointer_mut(parent)
        {
            map.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        parse_all(c.kind, serde_json::to_string(&value).unwrap().as_bytes());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [200, 10_000, 500_000] {
        for object in [false, true] {
            for closed in [true, false] {
                let deep = nested(depth, object, closed);
                // At the top level, as an event, as the events list and as a Daml value (which is
                // kept raw, so it is skipped over rather than recursed into).
                let texts = [
                    deep.clone(),
                    format!(
                        "{{\"update\": {{\"Transaction\": {{\"value\": {{\"events\": [{deep}]}}}}}}}}"
                    ),
                    format!(
                        "{{\"updateId\": \"x\", \"events\": {deep}, \"offset\": 1, \"synchronizerId\": \"s\", \"recordTime\": \"t\"}}"
                    ),
                    format!(
                        "{{\"offset\": 1, \"nodeId\": 0, \"contractId\": \"00\", \"templateId\": \"p:M:T\", \"createArgument\": {deep}}}"
                    ),
                ];
                for text in &texts {
                    let _ = serde_json::from_str::<JsGetUpdatesResponse>(text);
                    let _ = serde_json::from_str::<JsTransaction>(text);
                    let _ = serde_json::from_str::<canton_ledger::CreatedEvent>(text);
                }
                // Where the nesting is not inside a raw Daml value, serde_json's recursion limit
                // must have turned it into an error.
                assert!(serde_json::from_str::<JsGetUpdatesResponse>(&texts[0]).is_err());
                assert!(serde_json::from_str::<JsTransaction>(&texts[2]).is_err());
                // `details` are free JSON values: parsed recursively, so the limit applies.
                let status = format!("{{\"code\": 1, \"details\": [{deep}]}}");
                let status = serde_json::from_str::<canton_ledger::ViewStatus>(&status);
                assert!(status.unwrap_err().to_string().contains(if closed {
                    "recursion limit"
                } else {
                    ""
                }));
                // Unknown keys are skipped without recursion, however deep.
                let unknown =
                    format!("{{\"offset\": 1, \"synchronizerTimes\": [], \"x\": {deep}}}");
                assert_eq!(
                    serde_json::from_str::<canton_ledger::OffsetCheckpoint>(&unknown).is_ok(),
                    closed
                );
            }
        }
    }
}

#[test]
fn deep_daml_values_are_kept_verbatim() {
    // A raw Daml value is not interpreted, so a deep but well-formed one is accepted as is.
    let deep = nested(10_000, false, true);
    let text = format!(
        "{{\"offset\": 1, \"nodeId\": 0, \"contractId\": \"00\", \"templateId\": \"p:M:T\", \"createArgument\": {deep}}}"
    );
    let event: canton_ledger::CreatedEvent = serde_json::from_str(&text).unwrap();
    assert_eq!(event.create_argument.unwrap().get(), deep);
}
