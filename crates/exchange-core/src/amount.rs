//! Exact money: Daml `Numeric 10`.
//!
//! An [`Amount`] is a signed fixed-point number with exactly ten decimal places and at most 28
//! integer digits, stored as an `i128` count of 10⁻¹⁰ units. Every operation is exact: parsing
//! refuses input that would lose precision, arithmetic is checked and reports overflow as a typed
//! error. There is no conversion from or to floating point on purpose.

use std::fmt;
use std::iter::Sum;
use std::str::FromStr;

use canton_ledger::quote::quote;

/// Decimal places of Daml `Numeric 10`.
pub const SCALE: u32 = 10;
/// Largest number of integer digits Daml `Numeric 10` allows (38 digits in all).
pub const MAX_INTEGER_DIGITS: usize = 28;

const UNIT: i128 = 10_i128.pow(SCALE);
/// `10^38 - 1` units: the largest magnitude with 28 integer and 10 fraction digits.
const MAX_UNITS: i128 = 10_i128.pow(38) - 1;

/// An exact amount of a token, as Daml `Numeric 10`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i128);

/// Why a string is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("empty amount")]
    Empty,
    #[error("malformed amount {}: expected digits with an optional sign and decimal point", quote(.0))]
    Malformed(String),
    #[error("amount {} has more than 10 significant decimal places", quote(.0))]
    TooPrecise(String),
    #[error("amount {} has more than 28 integer digits", quote(.0))]
    TooLarge(String),
    #[error("amount arithmetic overflowed Numeric 10")]
    Overflow,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);
    /// The largest representable amount, `9999…9.9999999999` (28 + 10 nines).
    pub const MAX: Amount = Amount(MAX_UNITS);
    pub const MIN: Amount = Amount(-MAX_UNITS);

    /// An amount from a count of 10⁻¹⁰ units; `None` outside the Numeric 10 range.
    pub fn from_units(units: i128) -> Option<Amount> {
        (-MAX_UNITS..=MAX_UNITS)
            .contains(&units)
            .then_some(Amount(units))
    }

    /// A whole number of tokens (every `i64` fits).
    pub fn from_whole(whole: i64) -> Amount {
        // |i64| < 10^19, times 10^10 stays far below 10^38.
        Amount(i128::from(whole) * UNIT)
    }

    /// The count of 10⁻¹⁰ units.
    pub fn units(self) -> i128 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Amount {
        Amount(self.0.abs())
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .and_then(Amount::from_units)
            .ok_or(AmountError::Overflow)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .and_then(Amount::from_units)
            .ok_or(AmountError::Overflow)
    }

    /// Sums exactly, failing on overflow instead of wrapping.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(items: I) -> Result<Amount, AmountError> {
        items
            .into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(a))
    }

    /// The shortest exact decimal form (`"13"`, `"0.5"`, `"-1.25"`), for people.
    pub fn to_plain_string(self) -> String {
        let full = self.to_string();
        let trimmed = full.trim_end_matches('0').trim_end_matches('.');
        trimmed.to_owned()
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Accepts the ledger's `"100.0000000000"`, Daml `show` output such as `"13.0"`, and plain
    /// integers; an optional leading `-` or `+`. Extra fraction digits are accepted only when they
    /// are zeros, so nothing is ever rounded.
    fn from_str(s: &str) -> Result<Amount, AmountError> {
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        let malformed = || AmountError::Malformed(s.to_owned());
        let (negative, body) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || (body.contains('.') && frac_part.is_empty())
        {
            return Err(malformed());
        }
        let int_digits = int_part.trim_start_matches('0');
        if int_digits.len() > MAX_INTEGER_DIGITS {
            return Err(AmountError::TooLarge(s.to_owned()));
        }
        let (kept, dropped) = frac_part.split_at(frac_part.len().min(SCALE as usize));
        if dropped.bytes().any(|b| b != b'0') {
            return Err(AmountError::TooPrecise(s.to_owned()));
        }
        let mut units: i128 = 0;
        for b in int_digits.bytes().chain(kept.bytes()) {
            // At most 38 digits: cannot overflow i128.
            units = units * 10 + i128::from(b - b'0');
        }
        units *= 10_i128.pow(SCALE - kept.len() as u32);
        Ok(Amount(if negative { -units } else { units }))
    }
}

impl fmt::Display for Amount {
    /// The ledger's form: always ten decimal places, as the JSON Ledger API prints `Numeric 10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let unit = UNIT as u128;
        write!(f, "{sign}{}.{:010}", magnitude / unit, magnitude % unit)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({self})")
    }
}

impl std::ops::Neg for Amount {
    type Output = Amount;
    /// Never overflows: the range is symmetric.
    fn neg(self) -> Amount {
        Amount(-self.0)
    }
}

impl Sum for Amount {
    /// Panics on overflow; use [`Amount::checked_sum`] where input is not already bounded.
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        Amount::checked_sum(iter).expect("amount sum overflowed Numeric 10")
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    /// Strings only: a JSON number may already have been rounded by whoever wrote it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string with at most 10 decimal places")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Amount {
        s.parse().unwrap()
    }

    #[test]
    fn parses_ledger_and_show_forms() {
        assert_eq!(a("100.0000000000").units(), 100 * UNIT);
        assert_eq!(a("13.0"), Amount::from_whole(13));
        assert_eq!(a("13"), Amount::from_whole(13));
        assert_eq!(a("-0.0000000001").units(), -1);
        assert_eq!(a("+2.5"), a("2.5000000000"));
        assert_eq!(a("0.00380518").to_string(), "0.0038051800");
        assert_eq!(a("1.000000000000000"), Amount::from_whole(1));
    }

    #[test]
    fn prints_ledger_and_plain_forms() {
        assert_eq!(a("100").to_string(), "100.0000000000");
        assert_eq!(a("-0.5").to_string(), "-0.5000000000");
        assert_eq!(a("100").to_plain_string(), "100");
        assert_eq!(a("-0.5").to_plain_string(), "-0.5");
        assert_eq!(Amount::ZERO.to_plain_string(), "0");
        assert_eq!(
            Amount::MAX.to_string(),
            "9999999999999999999999999999.9999999999"
        );
    }

    #[test]
    fn rejects_malformed_and_out_of_range() {
        for bad in [
            "", "-", ".5", "5.", "1e5", "1,5", " 1", "0x10", "--1", "1.2.3", "NaN",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad:?} should be rejected");
        }
        assert!(matches!(
            "0.00000000001".parse::<Amount>(),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            "10000000000000000000000000000".parse::<Amount>(),
            Err(AmountError::TooLarge(_))
        ));
        assert!("0009999999999999999999999999999".parse::<Amount>().is_ok());
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(a("0.1").checked_add(a("0.2")).unwrap(), a("0.3"));
        assert_eq!(
            Amount::MAX.checked_add(a("0.0000000001")),
            Err(AmountError::Overflow)
        );
        assert_eq!(Amount::MIN.checked_sub(a("1")), Err(AmountError::Overflow));
        assert_eq!(
            Amount::checked_sum([a("1.5"), a("2.25"), a("-0.75")]).unwrap(),
            a("3")
        );
    }

    #[test]
    fn json_is_a_string() {
        assert_eq!(
            serde_json::to_string(&a("1.5")).unwrap(),
            "\"1.5000000000\""
        );
        assert_eq!(serde_json::from_str::<Amount>("\"7.0\"").unwrap(), a("7"));
        assert!(serde_json::from_str::<Amount>("7.0").is_err());
    }
}
