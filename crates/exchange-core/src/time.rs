//! Ledger time with microsecond precision.
//!
//! Canton prints instants like Java's `Instant.toString`: UTC with `Z`, and fraction digits in
//! groups of three only as needed (`…:59Z`, `…:59.294Z`, `…:59.294466Z`). Normalized recordings
//! also show `.000000Z`, ACS imports use `0001-01-01T00:00:00Z`. [`Timestamp`] reads all of these
//! (and explicit `±HH:MM` offsets) and prints the Instant style, so values round-trip.

use std::fmt;
use std::str::FromStr;

/// Microseconds since 1970-01-01T00:00:00Z. Covers years 0001 to 9999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: {why}")]
pub struct TimestampError {
    input: String,
    why: &'static str,
}

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in micros since the epoch.
const MIN_MICROS: i64 = -62_135_596_800 * MICROS_PER_SECOND;
const MAX_MICROS: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;

impl Timestamp {
    /// The earliest instant the ledger prints (ACS imports), `0001-01-01T00:00:00Z`.
    pub const MIN: Timestamp = Timestamp(MIN_MICROS);
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    pub fn from_micros(micros: i64) -> Option<Timestamp> {
        (MIN_MICROS..=MAX_MICROS)
            .contains(&micros)
            .then_some(Timestamp(micros))
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// This instant moved by `delta` microseconds, if still in range.
    pub fn checked_add_micros(self, delta: i64) -> Option<Timestamp> {
        self.0.checked_add(delta).and_then(Timestamp::from_micros)
    }

    /// The current wall-clock time, truncated to microseconds.
    pub fn now() -> Timestamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_micros() as i64)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Timestamp, TimestampError> {
        let err = |why| TimestampError {
            input: s.chars().take(64).collect(),
            why,
        };
        let b = s.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"));
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let part = &b[range];
            if part.iter().all(u8::is_ascii_digit) {
                Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
            } else {
                Err(err("expected digits"))
            }
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(err("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(err("no such time of day"));
        }
        let mut rest = &b[19..];
        let mut micros = 0;
        if let Some(frac) = rest.strip_prefix(b".") {
            let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return Err(err("fraction must have 1 to 9 digits"));
            }
            if frac[6.min(digits)..digits].iter().any(|&d| d != b'0') {
                return Err(err("finer than microsecond precision"));
            }
            for i in 0..6 {
                micros = micros * 10
                    + frac
                        .get(i)
                        .filter(|_| i < digits)
                        .map_or(0, |d| i64::from(d - b'0'));
            }
            rest = &frac[digits..];
        }
        let offset_seconds = match rest {
            b"Z" | b"z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let hh = two_digits(*h1, *h2).ok_or_else(|| err("bad zone offset"))?;
                let mm = two_digits(*m1, *m2).ok_or_else(|| err("bad zone offset"))?;
                if hh > 23 || mm > 59 {
                    return Err(err("bad zone offset"));
                }
                let secs = hh * 3600 + mm * 60;
                if *sign == b'+' { secs } else { -secs }
            }
            _ => return Err(err("expected a zone: Z or ±HH:MM")),
        };
        let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + hour * 3600
            + minute * 60
            + second
            - offset_seconds;
        Timestamp::from_micros(seconds * MICROS_PER_SECOND + micros)
            .ok_or_else(|| err("outside years 0001 to 9999"))
    }
}

fn two_digits(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    /// Java `Instant.toString` style, as Canton prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.div_euclid(MICROS_PER_SECOND);
        let micros = self.0.rem_euclid(MICROS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let secs_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        )?;
        if micros == 0 {
        } else if micros % 1000 == 0 {
            write!(f, ".{:03}", micros / 1000)?;
        } else {
            write!(f, ".{micros:06}")?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn reads_every_form_the_ledger_prints() {
        assert_eq!(t("1970-01-01T00:00:00Z").micros(), 0);
        assert_eq!(
            t("2025-10-14T11:29:59.294466Z").to_string(),
            "2025-10-14T11:29:59.294466Z"
        );
        assert_eq!(
            t("2025-10-14T11:29:57.439Z").to_string(),
            "2025-10-14T11:29:57.439Z"
        );
        assert_eq!(
            t("2025-10-14T11:29:57.439000Z").to_string(),
            "2025-10-14T11:29:57.439Z"
        );
        assert_eq!(
            t("2025-06-18T00:00:00.000000Z").to_string(),
            "2025-06-18T00:00:00Z"
        );
        assert_eq!(
            t("2025-06-18T00:00:00.123456000Z").to_string(),
            "2025-06-18T00:00:00.123456Z"
        );
        assert_eq!(t("0001-01-01T00:00:00Z"), Timestamp::MIN);
        assert_eq!(Timestamp::MIN.to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(t("2025-01-01T01:00:00+01:00"), t("2025-01-01T00:00:00Z"));
        assert_eq!(t("1969-12-31T23:59:59.999999Z").micros(), -1);
        assert_eq!(
            t("2024-02-29T12:00:00.5Z").to_string(),
            "2024-02-29T12:00:00.500Z"
        );
    }

    #[test]
    fn rejects_what_is_not_an_instant() {
        for bad in [
            "",
            "2025-10-14",
            "2025-10-14T11:29:59",
            "2025-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-10-14T24:00:00Z",
            "2025-10-14T11:29:59.Z",
            "2025-10-14T11:29:59.1234567Z",
            "2025-10-14T11:29:59.0000000001Z",
            "0000-01-01T00:00:00Z",
            "2025-10-14T11:29:59Zjunk",
            "２025-10-14T11:29:59Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
    }
}
