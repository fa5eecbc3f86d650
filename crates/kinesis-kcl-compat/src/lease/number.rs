//! DynamoDB `N` values: decimal text with an optional sign, fraction and exponent.
//!
//! DynamoDB normalises what it stores (`"1.0"` comes back as `"1"`), but other writers, emulators
//! and hand-made items may still hold `"1.0"`, `"+1"` or `"1E3"`. The parsers here accept every
//! spelling of a value and reject what is not a number, never panicking and never allocating in
//! proportion to an exponent.

use std::fmt;

/// Why an `N` value could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberProblem {
    /// Not DynamoDB number syntax.
    Syntax,
    /// A number, but with a fractional part where an integer is needed.
    NotAnInteger,
    /// Negative where only non-negative values make sense.
    Negative,
    /// Larger than the target type holds.
    TooLarge,
    /// A floating-point value that is infinite once read.
    NotFinite,
}

impl fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberProblem::Syntax => "not a number",
            NumberProblem::NotAnInteger => "not an integer",
            NumberProblem::Negative => "negative",
            NumberProblem::TooLarge => "too large",
            NumberProblem::NotFinite => "out of the range of a double",
        })
    }
}

/// The parts of a syntactically valid number: sign, significant digits, and the power of ten
/// they are scaled by.
struct Decimal<'a> {
    negative: bool,
    int_digits: &'a str,
    frac_digits: &'a str,
    exponent: i64,
}

/// Splits `s` as `[+-]? digits [. digits]? ([eE] [+-]? digits)?`, with at least one digit in the
/// mantissa.
fn split(s: &str) -> Result<Decimal<'_>, NumberProblem> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_digits, frac_digits) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int_digits.len() + frac_digits.len() == 0
        || !all_digits(int_digits)
        || !all_digits(frac_digits)
    {
        return Err(NumberProblem::Syntax);
    }
    let exponent = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(NumberProblem::Syntax);
            }
            // Only ASCII digits remain, so parsing fails on overflow alone. Such exponents are
            // far outside every target range; clamping keeps the arithmetic below exact.
            let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX).min(i64::MAX / 4);
            if e.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    Ok(Decimal {
        negative,
        int_digits,
        frac_digits,
        exponent,
    })
}

/// Reads an `N` value that must be a non-negative integer no larger than `u64::MAX`.
///
/// `"0"`, `"42"`, `"42.000"`, `"4.2E1"`, `"+42"` and `"-0"` are accepted; `"4.5"`, `"-1"`,
/// `"1e30"` and `"abc"` are not.
pub(crate) fn parse_u64(s: &str) -> Result<u64, NumberProblem> {
    let d = split(s)?;
    // Significant digits, with the decimal point moved to the end: value = digits × 10^scale.
    let mut digits = String::with_capacity(d.int_digits.len() + d.frac_digits.len());
    digits.push_str(d.int_digits);
    digits.push_str(d.frac_digits);
    let mut scale = d.exponent.saturating_sub(d.frac_digits.len() as i64);
    // Strip trailing zeros into the scale, leading zeros away.
    let trimmed_end = digits.trim_end_matches('0');
    scale = scale.saturating_add((digits.len() - trimmed_end.len()) as i64);
    let significant = trimmed_end.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    if d.negative {
        return Err(NumberProblem::Negative);
    }
    if scale < 0 {
        return Err(NumberProblem::NotAnInteger);
    }
    // u64::MAX has 20 digits.
    if significant.len() as i64 + scale > 20 {
        return Err(NumberProblem::TooLarge);
    }
    let mut value: u64 = significant.parse().map_err(|_| NumberProblem::TooLarge)?;
    for _ in 0..scale {
        value = value.checked_mul(10).ok_or(NumberProblem::TooLarge)?;
    }
    Ok(value)
}

/// Reads an `N` value as a finite `f64` (the KCL's `Double`).
pub(crate) fn parse_f64(s: &str) -> Result<f64, NumberProblem> {
    split(s)?;
    // The syntax check above rules out "inf", "NaN" and friends, which Rust would accept.
    let value: f64 = s.parse().map_err(|_| NumberProblem::Syntax)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(NumberProblem::NotFinite)
    }
}

/// Writes a finite `f64` as a DynamoDB number that reads back as the same `f64`: plain decimal
/// for moderate magnitudes, `<mantissa>E<exponent>` otherwise (as Java's `Double.toString` does).
pub(crate) fn format_f64(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_owned()
    } else if (1e-6..1e21).contains(&magnitude) {
        format!("{value}")
    } else {
        format!("{value:E}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_every_spelling() {
        for (text, value) in [
            ("0", 0),
            ("-0", 0),
            ("0.000", 0),
            ("0e999999999999999999999", 0),
            ("42", 42),
            ("+42", 42),
            ("42.000", 42),
            ("4.2E1", 42),
            ("4.2e+1", 42),
            ("420e-1", 42),
            ("0042", 42),
            ("18446744073709551615", u64::MAX),
            ("1.8446744073709551615E19", u64::MAX),
        ] {
            assert_eq!(parse_u64(text), Ok(value), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_u64() {
        use NumberProblem::*;
        for (text, problem) in [
            ("", Syntax),
            ("-", Syntax),
            (".", Syntax),
            ("1e", Syntax),
            ("1e+", Syntax),
            ("abc", Syntax),
            ("1 ", Syntax),
            (" 1", Syntax),
            ("1.2.3", Syntax),
            ("--1", Syntax),
            ("NaN", Syntax),
            ("4.5", NotAnInteger),
            ("1e-1", NotAnInteger),
            ("1e-99999999999999999999999", NotAnInteger),
            ("-1", Negative),
            ("18446744073709551616", TooLarge),
            ("1e20", TooLarge),
            ("1e99999999999999999999999", TooLarge),
        ] {
            assert_eq!(parse_u64(text), Err(problem), "{text}");
        }
    }

    #[test]
    fn doubles() {
        assert_eq!(parse_f64("12.5"), Ok(12.5));
        assert_eq!(parse_f64("1.0E-5"), Ok(1e-5));
        assert_eq!(parse_f64("-3"), Ok(-3.0));
        assert_eq!(parse_f64("inf"), Err(NumberProblem::Syntax));
        assert_eq!(parse_f64("NaN"), Err(NumberProblem::Syntax));
        assert_eq!(parse_f64("1e400"), Err(NumberProblem::NotFinite));
        for v in [
            0.0,
            1.0,
            12.5,
            1e-5,
            1e-7,
            123456789.123,
            1e20,
            1e21,
            9.99e125,
            1e-130,
        ] {
            let text = format_f64(v);
            assert_eq!(parse_f64(&text), Ok(v), "{text}");
        }
        assert_eq!(format_f64(1e-7), "1E-7");
        assert_eq!(format_f64(12.5), "12.5");
    }
}
