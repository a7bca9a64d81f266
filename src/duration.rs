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

/// Formats a duration the way `parse` reads it ("1h 30m").
pub fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
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
