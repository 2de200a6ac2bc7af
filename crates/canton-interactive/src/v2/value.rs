//! V2 encoding of a Daml `Value` (spec "gRPC Ledger API Value"): a one-byte type tag, then the
//! payload. Identifiers and record labels are optionals.

use super::encoder::Encoder;
use crate::error::HashError;
use crate::proto::value::Sum;
use crate::proto::{GenMap, Identifier, Record, TextMap, Value, Variant};

/// Daml's own bound on value nesting (`Value.MAXIMUM_NESTING`): Canton refuses deeper values, and
/// the guard keeps a hand-built value from overflowing the stack. (A decoded protobuf cannot even
/// get close: prost, like Java's parser, stops at 100 nested messages, about 30 Daml levels.)
pub const MAX_VALUE_DEPTH: usize = 100;

/// Encodes `value` as the V2 scheme does inside nodes.
pub(crate) fn encode_value(
    enc: &mut Encoder,
    value: &Value,
    depth: usize,
) -> Result<(), HashError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(HashError::ValueTooDeep(MAX_VALUE_DEPTH));
    }
    let sum = value
        .sum
        .as_ref()
        .ok_or(HashError::MissingField("Value.sum"))?;
    match sum {
        Sum::Unit(()) => enc.tag(0x00, "Unit Type Tag"),
        Sum::Bool(b) => {
            enc.tag(0x01, "Bool Type Tag");
            enc.bool(*b);
        }
        Sum::Int64(i) => {
            enc.tag(0x02, "Int64 Type Tag");
            enc.int64(*i);
        }
        Sum::Numeric(n) => {
            enc.tag(0x03, "Numeric Type Tag");
            enc.string(n)?;
        }
        Sum::Timestamp(t) => {
            enc.tag(0x04, "Timestamp Type Tag");
            enc.int64(*t);
        }
        Sum::Date(d) => {
            enc.tag(0x05, "Date Type Tag");
            enc.int32(*d);
        }
        Sum::Party(p) => {
            enc.tag(0x06, "Party Type Tag");
            enc.string(p)?;
        }
        Sum::Text(t) => {
            enc.tag(0x07, "Text Type Tag");
            enc.string(t)?;
        }
        Sum::ContractId(c) => {
            enc.tag(0x08, "ContractId Type Tag");
            enc.contract_id(c)?;
        }
        Sum::Optional(optional) => {
            enc.tag(0x09, "Optional Type Tag");
            enc.optional(optional.value.as_deref(), |enc, v| {
                encode_value(enc, v, depth + 1)
            })?;
        }
        Sum::List(list) => {
            enc.tag(0x0a, "List Type Tag");
            enc.len(list.elements.len())?;
            for element in &list.elements {
                encode_value(enc, element, depth + 1)?;
            }
        }
        Sum::TextMap(map) => encode_text_map(enc, map, depth + 1)?,
        Sum::GenMap(map) => encode_gen_map(enc, map, depth + 1)?,
        Sum::Record(record) => encode_record(enc, record, depth + 1)?,
        Sum::Variant(variant) => encode_variant(enc, variant, depth + 1)?,
        Sum::Enum(value) => {
            enc.tag(0x0e, "Enum Type Tag");
            type_id(enc, value.enum_id.as_ref())?;
            enc.string(&value.constructor)?;
        }
    }
    Ok(())
}

fn encode_text_map(enc: &mut Encoder, map: &TextMap, depth: usize) -> Result<(), HashError> {
    enc.tag(0x0b, "TextMap Type Tag");
    enc.len(map.entries.len())?;
    map.entries.iter().try_for_each(|entry| {
        enc.string(&entry.key)?;
        encode_value(enc, required(&entry.value, "TextMap.Entry.value")?, depth)
    })
}

fn encode_gen_map(enc: &mut Encoder, map: &GenMap, depth: usize) -> Result<(), HashError> {
    enc.tag(0x0f, "GenMap Type Tag");
    enc.len(map.entries.len())?;
    map.entries.iter().try_for_each(|entry| {
        encode_value(enc, required(&entry.key, "GenMap.Entry.key")?, depth)?;
        encode_value(enc, required(&entry.value, "GenMap.Entry.value")?, depth)
    })
}

fn encode_record(enc: &mut Encoder, record: &Record, depth: usize) -> Result<(), HashError> {
    enc.tag(0x0c, "Record Type Tag");
    type_id(enc, record.record_id.as_ref())?;
    enc.len(record.fields.len())?;
    record.fields.iter().try_for_each(|field| {
        // A Daml label is never empty, so the empty proto string is the absent label.
        let label = Some(field.label.as_str()).filter(|label| !label.is_empty());
        enc.optional(label, |enc, label| enc.string(label))?;
        encode_value(enc, required(&field.value, "RecordField.value")?, depth)
    })
}

fn encode_variant(enc: &mut Encoder, variant: &Variant, depth: usize) -> Result<(), HashError> {
    enc.tag(0x0d, "Variant Type Tag");
    type_id(enc, variant.variant_id.as_ref())?;
    enc.string(&variant.constructor)?;
    encode_value(enc, required_boxed(&variant.value, "Variant.value")?, depth)
}

/// Record, variant and enum type ids are optional in values.
fn type_id(enc: &mut Encoder, id: Option<&Identifier>) -> Result<(), HashError> {
    enc.optional(id, |enc, id| enc.identifier(id))
}

pub(crate) fn required<'a, T>(
    field: &'a Option<T>,
    name: &'static str,
) -> Result<&'a T, HashError> {
    field.as_ref().ok_or(HashError::MissingField(name))
}

fn required_boxed<'a, T>(
    field: &'a Option<Box<T>>,
    name: &'static str,
) -> Result<&'a T, HashError> {
    field.as_deref().ok_or(HashError::MissingField(name))
}
