//! Points in time on the command line: RFC 3339, seconds since the epoch, or a time ago.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// Parses `2026-12-04T10:00:00Z` (RFC 3339), `1764842400` (seconds since the epoch, fractions
/// allowed) or `15m` / `-15m` (that long before `now`; units `s`, `m`, `h`, `d`).
pub(crate) fn parse_time(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    let text = text.trim();
    let relative = text.strip_prefix('-').unwrap_or(text);
    if let Some(ago) = parse_duration(relative) {
        return now
            .checked_sub(ago)
            .ok_or_else(|| format!("{text:?} is before the epoch"));
    }
    if text.chars().all(|c| c.is_ascii_digit() || c == '.') && !text.is_empty() {
        let secs: f64 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a number of seconds"))?;
        return Ok(UNIX_EPOCH + Duration::from_secs_f64(secs));
    }
    DateTime::from_str(text, Format::DateTime)
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
        .ok_or_else(|| {
            format!(
                "{text:?} is not a time: use RFC 3339 (2026-12-04T10:00:00Z), seconds since the epoch, or a time ago such as 15m"
            )
        })
}

/// `90s`, `15m`, `2h`, `7d`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let number: u64 = text[..text.len() - 1].parse().ok()?;
    Some(Duration::from_secs(number.checked_mul(seconds_per)?))
}

/// A time as RFC 3339 with milliseconds, UTC.
pub(crate) fn format_time(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| format!("{time:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            parse_time("15m", now).unwrap(),
            now - Duration::from_secs(900)
        );
        assert_eq!(
            parse_time("-2h", now).unwrap(),
            now - Duration::from_secs(7200)
        );
        assert_eq!(
            parse_time("1764842400", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_764_842_400)
        );
        assert_eq!(
            parse_time("1970-01-02T00:00:00Z", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(86_400)
        );
        let err = parse_time("yesterday", now).unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_millis(86_400_500)),
            "1970-01-02T00:00:00.5Z"
        );
    }
}
