//! The one duration parser: "30s", "5m", "2h", "7d", "1h 30m" (humantime syntax) into
//! `std::time::Duration`, with one error format, for config values, probe and channel kind
//! tables (as serde `deserialize_with` helpers), the API and the CLI. It must not decide which
//! durations a setting accepts (bounds live with the setting), and it never reads the clock.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// What every duration error says after the reason.
pub const EXPECTED: &str = "expected e.g. \"30s\", \"5m\", \"2h\", \"7d\"";

/// Parses "30s", "5m", "14d", "1h 30m". The error names the text and what was expected.
pub fn parse(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("invalid duration '{s}': {e} ({EXPECTED})"))
}

/// Formats a duration the way `parse` reads it, in the largest unit that divides it exactly
/// ("366d", "90m", "1500ms"), so that a bound reads as it would be written.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// serde `deserialize_with` for a `Duration` field written as a string.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

/// serde `deserialize_with` for an `Option<Duration>` field (use with `#[serde(default)]`).
pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_format() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(format(Duration::from_secs(366 * 86_400)), "366d");
        assert_eq!(format(Duration::from_secs(5400)), "90m");
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format(Duration::ZERO), "0ms");
        for d in ["366d", "90m", "1500ms", "2h"] {
            assert_eq!(format(parse(d).unwrap()), d);
        }
        let e = parse("soon").unwrap_err();
        assert!(e.starts_with("invalid duration 'soon': "), "{e}");
        assert!(e.ends_with(&format!("({EXPECTED})")), "{e}");
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[serde(deserialize_with = "de")]
            a: Duration,
            #[serde(default, deserialize_with = "de_opt")]
            b: Option<Duration>,
        }
        let t: T = toml::from_str("a = \"2m\"").unwrap();
        assert_eq!((t.a, t.b), (Duration::from_secs(120), None));
        let err = toml::from_str::<T>("a = \"2m\"\nb = \"x\"").unwrap_err();
        assert!(err.to_string().contains("invalid duration 'x'"), "{err}");
    }
}
