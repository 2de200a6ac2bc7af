//! Small serde helpers for the Ledger API's conventions.

use serde::{Deserialize, Deserializer, Serialize};

/// A Daml value (record, variant, …) as the JSON text the node sent. Decode the parts you need
/// with `serde_json::from_str(value.get())`; build one with `serde_json::value::to_raw_value`.
pub type DamlValue = Box<serde_json::value::RawValue>;

/// The `{"value": …}` wrapper that some oneof cases carry (`ledger-api.md` §1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrapped<T> {
    pub value: T,
}

/// Reads `null` as the type's default: the 3.4 server writes `""`/`[]` where older nodes and
/// normalized recordings write `null` or nothing at all.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Whether an optional raw value is JSON `null` or missing.
pub fn is_null(value: &Option<DamlValue>) -> bool {
    value.as_deref().is_none_or(|v| v.get() == "null")
}

/// Keeps "present but `null`" apart from "absent" for a field declared
/// `#[serde(default, deserialize_with = "present")] Option<Option<T>>`: a 3.4 node writes
/// `null`, a 3.3 node nothing, and a faithful re-encoding must do the same.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Reads an integer sent as a JSON number or as a numeric string (`"activeAtOffset": "4308"` is
/// accepted by the server, `ledger-api.md` §1.3). Out-of-range values, fractions and `null` are
/// errors, never silently truncated.
pub fn int<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    match d.deserialize_any(IntVisitor(std::marker::PhantomData))? {
        Some(v) => Ok(v),
        None => Err(serde::de::Error::invalid_type(
            serde::de::Unexpected::Unit,
            &"an integer or a numeric string",
        )),
    }
}

/// [`int`] for an optional field: `null` and `""` are "not set".
pub fn opt_int<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    d.deserialize_any(IntVisitor(std::marker::PhantomData))
}

struct IntVisitor<T>(std::marker::PhantomData<T>);

impl<T> serde::de::Visitor<'_> for IntVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an integer or a numeric string")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Ok(None);
        }
        v.parse()
            .map(Some)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// [`int`] for a field with a default: `null` and `""` read as 0.
pub fn int_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr + Default,
{
    Ok(opt_int(d)?.unwrap_or_default())
}

/// The payload of the API's many empty oneof cases (`{"Empty": {}}`, `{"JsEmpty": {}}`) and of
/// empty responses (`{}`); any keys inside are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// A protobuf `Duration`. Some nodes add `"unknownFields": {"fields": {}}`, which is dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duration {
    #[serde(default, deserialize_with = "int_or_default")]
    pub seconds: i64,
    #[serde(default, deserialize_with = "int_or_default")]
    pub nanos: i32,
}

impl Duration {
    pub fn from_secs(seconds: i64) -> Self {
        Duration { seconds, nanos: 0 }
    }
}
