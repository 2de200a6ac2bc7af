//! Daml values and their JSON Ledger API encoding (`token-standard.md` §2, `ledger-api.md` §1.7).
//!
//! Values are built as typed trees and rendered to JSON text here, in one place, because the
//! encoding has rules a generic JSON map would lose: records keep Daml field-declaration order,
//! `Numeric 10` always prints ten decimals, `Int64` is a string, `Time` prints like Java
//! `Instant.toString`, `TextMap` is an object sorted by key, `GenMap` is an array of pairs, and
//! an absent `Optional` record field is **omitted when trailing** in create/choice arguments and
//! results but written as `null` in interface views.

use std::collections::BTreeMap;

use canton_ledger::DamlValue;
use exchange_core::{Amount, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Fields in declaration order.
    Record(Vec<(&'static str, Value)>),
    Variant(&'static str, Box<Value>),
    /// A constructor of a Daml enum (a variant whose constructors all lack payloads, such as
    /// `TransferSide`): printed as its bare name.
    Enum(&'static str),
    Text(String),
    Party(String),
    ContractId(String),
    Numeric(Amount),
    Int64(i64),
    Bool(bool),
    Time(Timestamp),
    Unit,
    Optional(Option<Box<Value>>),
    List(Vec<Value>),
    /// Daml `TextMap`: a JSON object, keys in order (Daml keeps them sorted).
    TextMap(BTreeMap<String, Value>),
    /// Daml `Map` (GenMap): an array of `[key, value]` pairs, in key order.
    GenMap(Vec<(Value, Value)>),
}

/// Where a value is printed decides how absent optional fields look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// createArgument, choiceArgument, exerciseResult: trailing `None` fields are left out.
    Argument,
    /// Interface view values: every field, `null` for `None`.
    View,
}

impl Value {
    pub fn record(fields: Vec<(&'static str, Value)>) -> Value {
        Value::Record(fields)
    }

    pub fn variant(tag: &'static str, payload: Value) -> Value {
        Value::Variant(tag, Box::new(payload))
    }

    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    pub fn party(s: impl Into<String>) -> Value {
        Value::Party(s.into())
    }

    pub fn cid(s: impl Into<String>) -> Value {
        Value::ContractId(s.into())
    }

    pub fn some(v: Value) -> Value {
        Value::Optional(Some(Box::new(v)))
    }

    pub fn none() -> Value {
        Value::Optional(None)
    }

    pub fn opt(v: Option<Value>) -> Value {
        Value::Optional(v.map(Box::new))
    }

    /// Splice `Metadata { values : TextMap Text }`.
    pub fn metadata<'a>(entries: impl IntoIterator<Item = (&'a str, String)>) -> Value {
        let values = entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::Text(v)))
            .collect();
        Value::record(vec![("values", Value::TextMap(values))])
    }

    pub fn to_json(&self, rendering: Rendering) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Record(fields) => {
                // Only a trailing run of `None`s is dropped; one before a present field stays.
                let keep = match rendering {
                    Rendering::View => fields.len(),
                    Rendering::Argument => fields
                        .iter()
                        .rposition(|(_, v)| !matches!(v, Value::Optional(None)))
                        .map_or(0, |i| i + 1),
                };
                J::Object(
                    fields[..keep]
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.to_json(rendering)))
                        .collect(),
                )
            }
            Value::Variant(tag, payload) => {
                let mut m = serde_json::Map::new();
                m.insert("tag".into(), J::String((*tag).to_owned()));
                m.insert("value".into(), payload.to_json(rendering));
                J::Object(m)
            }
            Value::Enum(constructor) => J::String((*constructor).to_owned()),
            Value::Text(s) | Value::Party(s) | Value::ContractId(s) => J::String(s.clone()),
            Value::Numeric(a) => J::String(a.to_string()),
            Value::Int64(i) => J::String(i.to_string()),
            Value::Bool(b) => J::Bool(*b),
            Value::Time(t) => J::String(t.to_string()),
            Value::Unit => J::Object(serde_json::Map::new()),
            Value::Optional(None) => J::Null,
            // Nested optionals (`[]`/`[x]`) are not used by the templates modelled here.
            Value::Optional(Some(v)) => v.to_json(rendering),
            Value::List(items) => J::Array(items.iter().map(|v| v.to_json(rendering)).collect()),
            Value::TextMap(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.to_json(rendering)))
                    .collect(),
            ),
            Value::GenMap(pairs) => J::Array(
                pairs
                    .iter()
                    .map(|(k, v)| J::Array(vec![k.to_json(rendering), v.to_json(rendering)]))
                    .collect(),
            ),
        }
    }

    /// The value as the raw JSON text the wire types carry. `serde_json::Map` sorts keys unless
    /// `preserve_order` is on (a workspace-wide feature we do not want to impose), so records are
    /// written by hand here to keep declaration order.
    pub fn to_raw(&self, rendering: Rendering) -> DamlValue {
        let mut out = String::new();
        self.write(rendering, &mut out);
        serde_json::value::RawValue::from_string(out).expect("rendered Daml value is valid JSON")
    }

    fn write(&self, rendering: Rendering, out: &mut String) {
        match self {
            Value::Record(fields) => {
                let keep = match rendering {
                    Rendering::View => fields.len(),
                    Rendering::Argument => fields
                        .iter()
                        .rposition(|(_, v)| !matches!(v, Value::Optional(None)))
                        .map_or(0, |i| i + 1),
                };
                out.push('{');
                for (i, (k, v)) in fields[..keep].iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(rendering, out);
                }
                out.push('}');
            }
            Value::Variant(tag, payload) => {
                out.push_str("{\"tag\":");
                write_str(tag, out);
                out.push_str(",\"value\":");
                payload.write(rendering, out);
                out.push('}');
            }
            Value::Optional(Some(v)) => v.write(rendering, out),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(rendering, out);
                }
                out.push(']');
            }
            Value::TextMap(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(rendering, out);
                }
                out.push('}');
            }
            Value::GenMap(pairs) => {
                out.push('[');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('[');
                    k.write(rendering, out);
                    out.push(',');
                    v.write(rendering, out);
                    out.push(']');
                }
                out.push(']');
            }
            // Scalars have no key order to keep.
            scalar => out.push_str(&scalar.to_json(rendering).to_string()),
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
}

/// Daml `show` of a `Decimal`: shortest form with at least one fraction digit (`"0.00380518"`,
/// `"13.0"`), as Splice writes amounts into metadata.
pub fn show_decimal(a: Amount) -> String {
    let plain = a.to_plain_string();
    if plain.contains('.') {
        plain
    } else {
        format!("{plain}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> Amount {
        s.parse().unwrap()
    }

    #[test]
    fn trailing_none_is_omitted_in_arguments_but_null_in_views() {
        let v = Value::record(vec![
            ("a", Value::none()),
            ("b", Value::Numeric(amount("1"))),
            ("c", Value::none()),
        ]);
        assert_eq!(
            v.to_raw(Rendering::Argument).get(),
            r#"{"a":null,"b":"1.0000000000"}"#
        );
        assert_eq!(
            v.to_raw(Rendering::View).get(),
            r#"{"a":null,"b":"1.0000000000","c":null}"#
        );
    }

    #[test]
    fn records_keep_declaration_order_and_scalars_their_wire_form() {
        let v = Value::record(vec![
            ("z", Value::Int64(19)),
            ("a", Value::variant("Tag", Value::Unit)),
            (
                "m",
                Value::GenMap(vec![(Value::party("p::1"), Value::Bool(true))]),
            ),
            ("t", Value::Time(Timestamp::from_micros(1_500_000).unwrap())),
        ]);
        assert_eq!(
            v.to_raw(Rendering::Argument).get(),
            r#"{"z":"19","a":{"tag":"Tag","value":{}},"m":[["p::1",true]],"t":"1970-01-01T00:00:01.500Z"}"#
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(v.to_raw(Rendering::View).get()).unwrap(),
            v.to_json(Rendering::View)
        );
    }

    #[test]
    fn show_decimal_is_daml_show() {
        assert_eq!(show_decimal(amount("0.0038051800")), "0.00380518");
        assert_eq!(show_decimal(amount("13")), "13.0");
    }
}
