//! Typed identifiers of the ledger. Each is validated once, at the edge, and opaque afterwards.

use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("empty {kind}")]
    Empty { kind: &'static str },
    #[error("invalid {kind} {}: {why}", canton_ledger::quote::quote(value))]
    Invalid {
        kind: &'static str,
        value: String,
        why: &'static str,
    },
}

/// Identifiers that are opaque non-empty strings on the wire.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        // Lets maps keyed by the id be queried with a plain `&str` (same Ord and Hash).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::validate(&s)?;
                Ok(Self(s))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl $name {
            pub fn new(s: &str) -> Result<Self, IdError> {
                Self::validate(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::try_from(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn non_empty(kind: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        Err(IdError::Empty { kind })
    } else if has_control(s) {
        Err(IdError::Invalid {
            kind,
            value: s.to_owned(),
            why: "contains control characters",
        })
    } else {
        Ok(())
    }
}

/// Control characters never belong in an id; checked bytewise on the (usual) ASCII path, as ids
/// are validated for every event ingested.
fn has_control(s: &str) -> bool {
    if s.is_ascii() {
        // No early exit: lets the compiler vectorise the scan.
        s.bytes()
            .fold(false, |found, b| found | (b < 0x20) | (b == 0x7f))
    } else {
        s.chars().any(char::is_control)
    }
}

string_id!(
    /// A Canton party: `hint::namespace-fingerprint`, e.g. `treasury::1220bada…`.
    PartyId,
    "party id"
);
string_id!(
    /// A contract id; opaque (`00…ca11…` on real ledgers, small numbers in normalized recordings).
    ContractId,
    "contract id"
);
string_id!(
    /// The global id of an update, the same on every node that saw it (`1220…`).
    UpdateId,
    "update id"
);
string_id!(
    /// A synchronizer id, e.g. `global-domain::1220…`.
    SynchronizerId,
    "synchronizer id"
);

impl PartyId {
    /// Canton's unique identifier, `hint::namespace`: exactly one `::`; the hint a Daml-LF
    /// party string (letters, digits, `-`, `_`, `:`, space), the namespace a key fingerprint
    /// (`1220` and hex on real nodes, a word in normalized recordings), at most 255 in all.
    fn validate(s: &str) -> Result<(), IdError> {
        non_empty("party id", s)?;
        let invalid = |why| {
            Err(IdError::Invalid {
                kind: "party id",
                value: s.to_owned(),
                why,
            })
        };
        let Some((hint, namespace)) = s.split_once("::") else {
            return invalid("expected `hint::namespace`");
        };
        if hint.is_empty() || namespace.is_empty() {
            return invalid("expected `hint::namespace`");
        }
        if namespace.contains(':') {
            return invalid("expected exactly one `::` (`hint::namespace`)");
        }
        if s.len() > 255 {
            return invalid("longer than 255 characters");
        }
        let hint_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b' ');
        if !hint.bytes().all(hint_char) {
            return invalid("the hint may hold only letters, digits, `-`, `_`, `:` and spaces");
        }
        if !namespace.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return invalid(
                "the namespace must be a fingerprint (letters and digits, e.g. `1220…`)",
            );
        }
        Ok(())
    }

    /// The part before `::`.
    pub fn hint(&self) -> &str {
        self.0.split_once("::").map_or(&self.0, |(h, _)| h)
    }
}

impl ContractId {
    fn validate(s: &str) -> Result<(), IdError> {
        non_empty("contract id", s)
    }
}

impl UpdateId {
    fn validate(s: &str) -> Result<(), IdError> {
        non_empty("update id", s)
    }
}

impl SynchronizerId {
    fn validate(s: &str) -> Result<(), IdError> {
        non_empty("synchronizer id", s)
    }
}

/// A participant-local ledger offset. `0` is "before the first update"; real updates are `> 0`.
/// Offsets are not comparable across nodes, and change when a node is restored from a backup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Offset(i64);

impl Offset {
    pub const BEGIN: Offset = Offset(0);

    pub fn new(value: i64) -> Result<Offset, IdError> {
        if value < 0 {
            Err(IdError::Invalid {
                kind: "offset",
                value: value.to_string(),
                why: "offsets are never negative",
            })
        } else {
            Ok(Offset(value))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> serde::Deserialize<'de> for Offset {
    /// A JSON number, or a numeric string as the Ledger API also accepts.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Offset, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Offset;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative 64-bit offset")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Offset, E> {
                Offset::new(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Offset, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("offset exceeds 64 bits"))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Offset, E> {
                let n: i64 = v
                    .parse()
                    .map_err(|_| E::custom(format!("invalid offset {v:?}")))?;
                self.visit_i64(n)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A token: the registry admin party and the id it gives the instrument (`{DSO::…, "Amulet"}`).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct InstrumentId {
    pub admin: PartyId,
    pub id: String,
}

impl fmt::Display for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.admin.hint(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids_need_a_namespace() {
        let p = PartyId::new("treasury::1220ab").unwrap();
        assert_eq!(p.hint(), "treasury");
        for bad in ["", "treasury", "::1220", "treasury::", "a\n::b"] {
            assert!(PartyId::new(bad).is_err(), "{bad:?}");
        }
        // Exactly one `::`, a fingerprint after it, Daml-LF party characters before it.
        for bad in [
            "a::b::c",
            "a:::b",
            "a::1220:ab",
            "tre$sury::1220ab",
            "a::12 20",
            "a::ab-cd",
        ] {
            let err = PartyId::new(bad).unwrap_err().to_string();
            assert!(err.contains("party id"), "{bad:?}: {err}");
        }
        assert!(PartyId::new(&format!("a::{}", "1".repeat(253))).is_err());
        // Real, sandbox and normalized ids.
        for good in [
            "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8",
            "app_user_localnet-localparty-1::12206f1e",
            "treasury::normalized",
            "a:b c::1220ab",
        ] {
            assert!(PartyId::new(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn ids_deserialize_with_validation() {
        assert!(serde_json::from_str::<ContractId>("\"\"").is_err());
        assert_eq!(
            serde_json::from_str::<ContractId>("\"00ab\"")
                .unwrap()
                .as_str(),
            "00ab"
        );
        assert!(serde_json::from_str::<Offset>("-1").is_err());
        assert_eq!(serde_json::from_str::<Offset>("42").unwrap().get(), 42);
        assert_eq!(
            serde_json::from_str::<Offset>("\"4308\"").unwrap().get(),
            4308
        );
        assert!(serde_json::from_str::<Offset>("1.5").is_err());
    }
}
