//! Resource quantities (`k8s.io/apimachinery/pkg/api/resource.Quantity`): `500m`, `1Gi`,
//! `128974848`, `129e6`, `1.5`. Parsed with the upstream grammar — a signed decimal number and
//! an optional suffix: binary SI (`Ki`..`Ei`), decimal SI (`n`, `u`, `m`, `k`, `M`..`E`) or a
//! decimal exponent (`e3`, `E-2`) — into an exact milli-unit value, rounding up like
//! `MilliValue()`. The original spelling is kept for printing. Left out: canonical
//! re-formatting (netsim never rewrites a quantity) and values beyond ±2^95 milli-units.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A parsed quantity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    text: String,
    milli: i128,
}

/// Why a quantity was rejected (upstream's `ErrFormatWrong` / `ErrSuffix` wording).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// Not `<number><suffix>`.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    /// An unknown suffix.
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// Too large to represent.
    #[error("quantity is too large")]
    TooLarge,
}

fn suffix_scale(suffix: &str) -> Result<(u32, i32), QuantityError> {
    // (base, exponent): value = number * base^exponent.
    Ok(match suffix {
        "" => (10, 0),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        "Ki" => (2, 10),
        "Mi" => (2, 20),
        "Gi" => (2, 30),
        "Ti" => (2, 40),
        "Pi" => (2, 50),
        "Ei" => (2, 60),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..].parse().map_err(|_| QuantityError::Suffix)?;
            (10, exp)
        }
        _ => return Err(QuantityError::Suffix),
    })
}

impl Quantity {
    /// Parses upstream quantity syntax.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let s = text.trim();
        let (neg, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let num_len = body.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (num, suffix) = body.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(QuantityError::Format);
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let (base, exp) = suffix_scale(suffix)?;
        // Exact arithmetic: mantissa (all digits) / 10^frac_len * base^exp * 1000, rounded up.
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return Err(QuantityError::TooLarge);
        }
        let mantissa: i128 =
            if digits.is_empty() { 0 } else { digits.parse().map_err(|_| QuantityError::Format)? };
        let mut num_scale: i128 = 1000; // milli-units
        let mut den: i128 = 10i128.pow(frac_part.len() as u32);
        if exp >= 0 {
            num_scale = i128::from(base)
                .checked_pow(exp as u32)
                .and_then(|p| p.checked_mul(num_scale))
                .ok_or(QuantityError::TooLarge)?;
        } else {
            den = i128::from(base)
                .checked_pow(exp.unsigned_abs())
                .and_then(|p| p.checked_mul(den))
                .ok_or(QuantityError::TooLarge)?;
        }
        let scaled = mantissa.checked_mul(num_scale).ok_or(QuantityError::TooLarge)?;
        let milli = (scaled + den - 1) / den;
        Ok(Quantity { text: s.to_string(), milli: if neg { -milli } else { milli } })
    }

    /// The value in milli-units (`500m` ⇒ 500, `1` ⇒ 1000), rounded up.
    pub fn milli_value(&self) -> i128 {
        self.milli
    }

    /// The value in whole units, rounded up (`Value()`).
    pub fn value(&self) -> i128 {
        (self.milli + 999).div_euclid(1000)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as 500m or 1Gi")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_vectors() {
        // From apimachinery resource/quantity_test.go: values and MilliValue().
        for (text, milli) in [
            ("0", 0),
            ("1", 1000),
            ("500m", 500),
            ("0.5", 500),
            ("1.5", 1500),
            ("1Ki", 1024 * 1000),
            ("1Gi", 1_073_741_824 * 1000),
            ("129e6", 129_000_000 * 1000),
            ("128974848", 128_974_848 * 1000),
            ("123Mi", 123 * 1_048_576 * 1000),
            ("1n", 1),
            ("100u", 1),
            ("-1m", -1),
            ("1k", 1_000_000),
            ("1E-2", 10),
        ] {
            assert_eq!(Quantity::parse(text).map(|q| q.milli_value()), Ok(milli), "{text}");
        }
        assert_eq!(Quantity::parse("1Gi").map(|q| q.value()), Ok(1_073_741_824));
        assert_eq!(Quantity::parse("1x"), Err(QuantityError::Suffix));
        assert_eq!(Quantity::parse("abc"), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1.2.3"), Err(QuantityError::Format));
    }
}
