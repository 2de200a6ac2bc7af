//! Small typed readers over Daml `Value`s as the prepared transaction carries them. Each reader
//! names the path it was asked for, so a wrong shape reads as "transfer.amount: expected a
//! Numeric, found Text" rather than a silent default.

use canton_interactive::proto::{Record, TextMap, Value, value::Sum};

use crate::{Amount, Timestamp};

/// A value that is not of the shape the verifier needs: the path, and what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub path: String,
    pub expected: &'static str,
    pub found: String,
}

pub type Read<T> = Result<T, ShapeError>;

fn shape<T>(path: &str, expected: &'static str, value: Option<&Value>) -> Read<T> {
    Err(ShapeError {
        path: path.to_owned(),
        expected,
        found: describe(value),
    })
}

/// A short description of what a value is, never its full content (values can be large).
pub fn describe(value: Option<&Value>) -> String {
    let name = match value.and_then(|v| v.sum.as_ref()) {
        None => "nothing",
        Some(Sum::Unit(())) => "Unit",
        Some(Sum::Bool(_)) => "Bool",
        Some(Sum::Int64(_)) => "Int64",
        Some(Sum::Date(_)) => "Date",
        Some(Sum::Timestamp(_)) => "Timestamp",
        Some(Sum::Numeric(_)) => "Numeric",
        Some(Sum::Party(_)) => "Party",
        Some(Sum::Text(_)) => "Text",
        Some(Sum::ContractId(_)) => "ContractId",
        Some(Sum::Optional(_)) => "Optional",
        Some(Sum::List(_)) => "List",
        Some(Sum::TextMap(_)) => "TextMap",
        Some(Sum::GenMap(_)) => "GenMap",
        Some(Sum::Record(_)) => "Record",
        Some(Sum::Variant(_)) => "Variant",
        Some(Sum::Enum(_)) => "Enum",
    };
    name.to_owned()
}

pub fn record<'a>(path: &str, value: Option<&'a Value>) -> Read<&'a Record> {
    match value.and_then(|v| v.sum.as_ref()) {
        Some(Sum::Record(r)) => Ok(r),
        _ => shape(path, "a Record", value),
    }
}

/// The field labelled `label`. A label that appears twice is refused: which one a Daml engine
/// would read is not something to guess about before signing.
pub fn field<'a>(path: &str, record: &'a Record, label: &str) -> Read<&'a Value> {
    let full = format!("{path}.{label}");
    let mut matching = record.fields.iter().filter(|f| f.label == label);
    match (matching.next(), matching.next()) {
        (Some(f), None) => f
            .value
            .as_ref()
            .map_or_else(|| shape(&full, "a value", None), Ok),
        (Some(_), Some(_)) => Err(ShapeError {
            path: full,
            expected: "one field",
            found: "the label twice".to_owned(),
        }),
        (None, _) => Err(ShapeError {
            path: full,
            expected: "a field",
            found: "no such label".to_owned(),
        }),
    }
}

pub fn party<'a>(path: &str, value: &'a Value) -> Read<&'a str> {
    match &value.sum {
        Some(Sum::Party(p)) => Ok(p),
        _ => shape(path, "a Party", Some(value)),
    }
}

pub fn text<'a>(path: &str, value: &'a Value) -> Read<&'a str> {
    match &value.sum {
        Some(Sum::Text(t)) => Ok(t),
        _ => shape(path, "a Text", Some(value)),
    }
}

pub fn contract_id<'a>(path: &str, value: &'a Value) -> Read<&'a str> {
    match &value.sum {
        Some(Sum::ContractId(c)) => Ok(c),
        _ => shape(path, "a ContractId", Some(value)),
    }
}

pub fn timestamp(path: &str, value: &Value) -> Read<Timestamp> {
    match &value.sum {
        Some(Sum::Timestamp(micros)) => Timestamp::from_micros(*micros)
            .map_or_else(|| shape(path, "a Timestamp in range", Some(value)), Ok),
        _ => shape(path, "a Timestamp", Some(value)),
    }
}

/// A Numeric read exactly (Daml Numeric 10); more than 10 significant fraction digits or a
/// malformed number is a shape error, never rounded.
pub fn numeric(path: &str, value: &Value) -> Read<Amount> {
    match &value.sum {
        Some(Sum::Numeric(n)) => n.parse().map_err(|_| ShapeError {
            path: path.to_owned(),
            expected: "an exact Numeric 10",
            found: format!("{n:?}"),
        }),
        _ => shape(path, "a Numeric", Some(value)),
    }
}

pub fn list<'a>(path: &str, value: &'a Value) -> Read<&'a [Value]> {
    match &value.sum {
        Some(Sum::List(l)) => Ok(&l.elements),
        _ => shape(path, "a List", Some(value)),
    }
}

pub fn text_map<'a>(path: &str, value: &'a Value) -> Read<&'a TextMap> {
    match &value.sum {
        Some(Sum::TextMap(m)) => Ok(m),
        _ => shape(path, "a TextMap", Some(value)),
    }
}

/// `Optional a`: `Ok(None)` for `None`.
pub fn optional<'a>(path: &str, value: &'a Value) -> Read<Option<&'a Value>> {
    match &value.sum {
        Some(Sum::Optional(o)) => Ok(o.value.as_deref()),
        _ => shape(path, "an Optional", Some(value)),
    }
}

/// A `TextMap Text` (e.g. token-standard `Metadata.values`) as sorted pairs; a key twice is a
/// shape error (a map has each key once).
pub fn text_pairs(path: &str, value: &Value) -> Read<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for entry in &text_map(path, value)?.entries {
        let entry_path = format!("{path}[{:?}]", entry.key);
        let v = entry.value.as_ref().map_or_else(
            || shape(&entry_path, "a Text", None),
            |v| text(&entry_path, v),
        )?;
        if out.insert(entry.key.clone(), v.to_owned()).is_some() {
            return Err(ShapeError {
                path: entry_path,
                expected: "each key once",
                found: "the key twice".to_owned(),
            });
        }
    }
    Ok(out)
}
