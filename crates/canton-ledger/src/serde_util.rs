//! Small serde helpers for the Ledger API's conventions.

use serde::{Deserialize, Deserializer, Serialize};

/// A Daml value (record, variant, …) as the JSON text the node sent. Decode the parts you need
/// with `serde_json::from_str(value.get())`; build one with `serde_json::value::to_raw_value`.
pub type DamlValue = Box<serde_json::value::RawValue>;

/// The `{"value": …}` wrapper that some oneof cases carry (`ledger-api.md` §1.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
