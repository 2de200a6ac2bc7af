//! Properties: `Amount` is exact and round-trips; the parser never panics, whatever it is fed.

mod common;

use canton_ledger::Update;
use canton_ledger::recording::{read_element, read_updates};
use exchange_core::amount::Amount;
use exchange_core::{HoldingBook, PartyId, parse_transaction};
use proptest::prelude::*;
use serde_json::Value;

const MAX_UNITS: i128 = 10_i128.pow(38) - 1;

fn units() -> impl Strategy<Value = i128> {
    prop_oneof![
        -MAX_UNITS..=MAX_UNITS,
        -10_i128.pow(12)..10_i128.pow(12),
        Just(MAX_UNITS),
        Just(-MAX_UNITS),
        Just(0),
    ]
}

proptest! {
    #[test]
    fn amount_prints_and_parses_back(u in units()) {
        let a = Amount::from_units(u).unwrap();
        prop_assert_eq!(a.to_string().parse::<Amount>().unwrap(), a);
        prop_assert_eq!(a.to_plain_string().parse::<Amount>().unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), a);
    }

    #[test]
    fn amount_arithmetic_is_exact_or_reports_overflow(x in units(), y in units()) {
        let (a, b) = (Amount::from_units(x).unwrap(), Amount::from_units(y).unwrap());
        // 2 * 10^38 exceeds i128: beyond i128 is beyond Numeric 10 too.
        let in_range = |v: Option<i128>| v.filter(|v| v.abs() <= MAX_UNITS);
        prop_assert_eq!(a.checked_add(b).ok().map(Amount::units), in_range(x.checked_add(y)));
        match a.checked_sub(b) {
            Ok(diff) => {
                prop_assert_eq!(Some(diff.units()), in_range(x.checked_sub(y)));
                prop_assert_eq!(diff.checked_add(b).unwrap(), a);
            }
            Err(_) => prop_assert_eq!(in_range(x.checked_sub(y)), None),
        }
        prop_assert_eq!(a.checked_add(b).ok(), b.checked_add(a).ok());
    }

    #[test]
    fn amount_parser_never_panics(s in "\\PC{0,64}") {
        let _ = s.parse::<Amount>();
    }

    #[test]
    fn amount_accepts_exactly_ten_place_decimals(int in "[0-9]{1,28}", frac in "[0-9]{0,10}", neg in any::<bool>()) {
        let text = format!("{}{int}{}{frac}", if neg { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
        let a = text.parse::<Amount>().unwrap();
        let padded = format!("{int}{frac:0<10}").parse::<i128>().unwrap();
        prop_assert_eq!(a.units(), if neg { -padded } else { padded });
    }
}

/// Every transaction of every recording, as untyped JSON, to mutate (read once).
fn corpus() -> &'static [Value] {
    static CORPUS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Vec<Value> {
    let Some(shared) = common::shared_dir() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for file in [
        "fixtures/localnet-treasury/one-step-deposit-and-withdraw.json",
        "fixtures/localnet-treasury/splice-test-cases.json",
        "fixtures/splice-cli/txs.json",
    ] {
        let all: Vec<Value> = serde_json::from_str(&common::read(&shared.join(file))).unwrap();
        out.extend(all);
    }
    out
}

fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(i64::MAX)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!("")),
        Just(serde_json::json!("99999999999999999999999999999999999.0")),
        Just(serde_json::json!("-0.00000000001")),
        Just(serde_json::json!("1e400")),
        Just(serde_json::json!("x::y")),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
        Just(serde_json::json!({"tag": "TransferInstructionResult_Pending", "value": {}})),
        Just(
            serde_json::json!({"values": {"splice.lfdecentralizedtrust.org/tx-kind": "transfer"}})
        ),
        any::<i32>().prop_map(|n| serde_json::json!(n)),
        "\\PC{0,16}".prop_map(Value::String),
    ]
}

/// Replaces the value found by walking `path` (each step picks a child modulo its count).
fn mutate(value: &mut Value, path: &[usize], replacement: Value) {
    let child = match (value, path.split_first()) {
        (Value::Object(map), Some((&step, rest))) if !map.is_empty() => {
            let key = map.keys().nth(step % map.len()).cloned().unwrap();
            Some((map.get_mut(&key).unwrap(), rest))
        }
        (Value::Array(items), Some((&step, rest))) if !items.is_empty() => {
            let len = items.len();
            Some((&mut items[step % len], rest))
        }
        (node, _) => {
            *node = replacement;
            return;
        }
    };
    if let Some((node, rest)) = child {
        mutate(node, rest, replacement);
    }
}

fn parse_all(text: &str) {
    let party = PartyId::new("treasury::normalized").unwrap();
    if let Ok(Update::Transaction(t)) = read_element(text) {
        let _ = parse_transaction(&t.value, &party, &HoldingBook::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parser_survives_mutated_recordings(
        pick in any::<usize>(),
        mutations in prop::collection::vec((prop::collection::vec(any::<usize>(), 1..12), hostile()), 1..4),
    ) {
        let corpus = corpus();
        if corpus.is_empty() { return Ok(()); }
        let mut tx = corpus[pick % corpus.len()].clone();
        for (path, replacement) in mutations {
            mutate(&mut tx, &path, replacement);
        }
        parse_all(&tx.to_string());
    }

    #[test]
    fn parser_survives_truncated_and_corrupted_text(pick in any::<usize>(), cut in any::<usize>(), flip in any::<(usize, u8)>()) {
        let corpus = corpus();
        if corpus.is_empty() { return Ok(()); }
        let text = corpus[pick % corpus.len()].to_string();
        let mut bytes = text.into_bytes();
        let at = flip.0 % bytes.len();
        bytes[at] = flip.1;
        bytes.truncate(cut % (bytes.len() + 1));
        let text = String::from_utf8_lossy(&bytes);
        let _ = read_updates(&text);
        parse_all(&text);
    }
}

fn tx_with_create(create_argument: &str, view_value: &str) -> String {
    format!(
        r#"{{"updateId":"u","offset":1,"synchronizerId":"s::1","recordTime":"1970-01-01T00:00:00Z","events":[{{"CreatedEvent":{{"offset":1,"nodeId":0,"contractId":"c","templateId":"p:M:T","createArgument":{create_argument},"interfaceViews":[{{"interfaceId":"p:Splice.Api.Token.HoldingV1:Holding","viewStatus":{{"code":0}},"viewValue":{view_value}}}]}}}}]}}"#
    )
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let holding = r#"{"owner":"t::1","instrumentId":{"admin":"a::1","id":"X"},"amount":"1.0"}"#;
    let party = PartyId::new("t::1").unwrap();
    // At the top: serde_json's recursion limit answers with an error.
    assert!(read_updates(&deep).is_err());
    // In a create argument the parser never interprets: kept verbatim, the holding is read.
    let Update::Transaction(t) = read_element(&tx_with_create(&deep, holding)).unwrap() else {
        panic!()
    };
    let parsed = parse_transaction(&t.value, &party, &HoldingBook::default()).unwrap();
    assert_eq!(parsed.holdings_created.len(), 1);
    // In a view the parser must read: a typed error.
    let Update::Transaction(t) = read_element(&tx_with_create("{}", &deep)).unwrap() else {
        panic!()
    };
    assert!(parse_transaction(&t.value, &party, &HoldingBook::default()).is_err());
}

#[test]
fn huge_numbers_are_errors() {
    let tx = r#"{"updateId":"u","offset":99999999999999999999999,"synchronizerId":"s::1","recordTime":"1970-01-01T00:00:00Z","events":[]}"#;
    assert!(read_element(tx).is_err());
    let tx = r#"{"updateId":"u","offset":1,"synchronizerId":"s::1","recordTime":"1970-01-01T00:00:00Z","events":[{"CreatedEvent":{"offset":1,"nodeId":0,"contractId":"c","templateId":"p:Splice.Api.Token.HoldingV1:Holding","interfaceViews":[{"interfaceId":"p:Splice.Api.Token.HoldingV1:Holding","viewStatus":{"code":0},"viewValue":{"owner":"t::1","instrumentId":{"admin":"a::1","id":"X"},"amount":"100000000000000000000000000000.0"}}]}}]}"#;
    let Update::Transaction(t) = read_element(tx).unwrap() else {
        panic!()
    };
    let err = parse_transaction(
        &t.value,
        &PartyId::new("t::1").unwrap(),
        &HoldingBook::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("28 integer digits"), "{err}");
}
