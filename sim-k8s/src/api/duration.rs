//! Go `time.Duration` values as they appear in Kubernetes config (`syncPeriod: 30s`,
//! `tcpEstablishedTimeout: 24h0m0s`): parsed with the grammar of Go's `time.ParseDuration`
//! (`[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+`, or a bare `0`) and printed like
//! `Duration.String()`. Left out: overflow beyond ±292 years is an error, as in Go.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A signed duration in nanoseconds, with Go's text form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration {
    nanos: i64,
}

/// Why a duration string was rejected (wording from Go's `time.ParseDuration`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DurationError {
    /// Not a duration at all.
    #[error("time: invalid duration \"{0}\"")]
    Invalid(String),
    /// A number without a unit.
    #[error("time: missing unit in duration \"{0}\"")]
    MissingUnit(String),
    /// A unit Go does not know.
    #[error("time: unknown unit \"{unit}\" in duration \"{input}\"")]
    UnknownUnit {
        /// The unknown unit.
        unit: String,
        /// The whole input.
        input: String,
    },
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl GoDuration {
    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        GoDuration { nanos }
    }
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: i64) -> Self {
        GoDuration { nanos: secs * 1_000_000_000 }
    }
    /// Length in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }
    /// Length in whole seconds (truncated toward zero).
    pub const fn as_secs(self) -> i64 {
        self.nanos / 1_000_000_000
    }
    /// The non-negative part as simulated time.
    pub fn to_sim(self) -> sim_core::SimDuration {
        sim_core::SimDuration::from_nanos(self.nanos.max(0) as u64)
    }

    /// Parses Go duration syntax.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid(input.to_string());
        let mut s = input;
        let mut neg = false;
        if let Some(rest) = s.strip_prefix('-') {
            neg = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(GoDuration::default());
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u128 = 0;
        while !s.is_empty() {
            let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let (int_part, rest) = s.split_at(int_len);
            let (frac_part, rest) = match rest.strip_prefix('.') {
                Some(r) => {
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    r.split_at(n)
                }
                None => ("", rest),
            };
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
            let (unit, rest) = rest.split_at(unit_len);
            if unit.is_empty() {
                return Err(DurationError::MissingUnit(input.to_string()));
            }
            let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
                return Err(DurationError::UnknownUnit { unit: unit.to_string(), input: input.to_string() });
            };
            let whole: u128 =
                if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| invalid())? };
            let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
            let mut frac_scale = scale;
            for d in frac_part.bytes().take(30) {
                frac_scale /= 10;
                value += u128::from(d - b'0') * frac_scale;
            }
            total = total.checked_add(value).ok_or_else(invalid)?;
            if total > i64::MAX as u128 {
                return Err(invalid());
            }
            s = rest;
        }
        let nanos = total as i64;
        Ok(GoDuration { nanos: if neg { -nanos } else { nanos } })
    }
}

fn frac(v: u64, digits: u32) -> (u64, String) {
    // Go's fmtFrac: print the fractional part, dropping trailing zeros.
    let div = 10u64.pow(digits);
    let f = v % div;
    let mut out = String::new();
    if f != 0 {
        let s = format!("{f:0width$}", width = digits as usize);
        out.push('.');
        out.push_str(s.trim_end_matches('0'));
    }
    (v / div, out)
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.nanos < 0;
        let u = self.nanos.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if u == 0 {
            return f.write_str("0s");
        }
        if u < 1_000_000_000 {
            return if u < 1_000 {
                write!(f, "{sign}{u}ns")
            } else if u < 1_000_000 {
                let (w, fr) = frac(u, 3);
                write!(f, "{sign}{w}{fr}µs")
            } else {
                let (w, fr) = frac(u, 6);
                write!(f, "{sign}{w}{fr}ms")
            };
        }
        let (secs, fr) = frac(u, 9);
        let s = secs % 60;
        let mins = secs / 60;
        if mins == 0 {
            return write!(f, "{sign}{s}{fr}s");
        }
        let m = mins % 60;
        let h = mins / 60;
        if h == 0 { write!(f, "{sign}{m}m{s}{fr}s") } else { write!(f, "{sign}{h}h{m}m{s}{fr}s") }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_vectors() {
        // Vectors from Go's time/time_test.go durationTests and parseDurationTests.
        for (text, nanos, printed) in [
            ("0", 0, "0s"),
            ("1s", 1_000_000_000, "1s"),
            ("24h0m0s", 86_400_000_000_000, "24h0m0s"),
            ("1h", 3_600_000_000_000, "1h0m0s"),
            ("1m", 60_000_000_000, "1m0s"),
            ("1.5h", 5_400_000_000_000, "1h30m0s"),
            ("100ms", 100_000_000, "100ms"),
            ("2.2s", 2_200_000_000, "2.2s"),
            ("1ns", 1, "1ns"),
            ("1.1µs", 1_100, "1.1µs"),
            ("-1m30s", -90_000_000_000, "-1m30s"),
            ("15m0s", 900_000_000_000, "15m0s"),
        ] {
            let d = GoDuration::parse(text).unwrap_or_default();
            assert_eq!(d.as_nanos(), nanos, "{text}");
            assert_eq!(d.to_string(), printed, "{text}");
        }
    }

    #[test]
    fn errors_use_go_wording() {
        assert_eq!(
            GoDuration::parse("10").map_err(|e| e.to_string()),
            Err("time: missing unit in duration \"10\"".to_string())
        );
        assert_eq!(
            GoDuration::parse("3d").map_err(|e| e.to_string()),
            Err("time: unknown unit \"d\" in duration \"3d\"".to_string())
        );
        assert!(GoDuration::parse("").is_err());
        assert!(GoDuration::parse(".s").is_err());
    }
}
