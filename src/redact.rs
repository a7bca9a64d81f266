//! Secret handling: the `Secret` wrapper and short fingerprints. Owns the rule that a secret's
//! value is never formatted, logged, stored or serialized; only `sha256:xxxxxxxx` is shown.
//! It must not decide what is secret: callers wrap values they read from `*_file`, `${ENV}` or
//! credentials in `Secret` and pass their text through `redact` before it leaves a probe.

use sha2::{Digest, Sha256};
use std::fmt;

/// A value that must never be shown. `Debug` and `Display` print its fingerprint.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The raw value, for the one place that must use it (an HTTP header, a URL to POST to).
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.fingerprint())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// `sha256:` and the first 8 hex digits of the value's SHA-256: enough to tell two credentials
/// apart (lesson 1: one token per agent) without revealing either.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::from("sha256:");
    for b in &digest[..4] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Replaces every occurrence of each secret (at least 4 characters long) in `text` by its
/// fingerprint.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 4 && out.contains(s) {
            out = out.replace(s, &format!("[redacted {}]", fingerprint(s)));
        }
    }
    out
}

/// Truncates `text` to at most `max` characters (on a char boundary), marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… ({} chars)", text.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("xoxb-very-secret");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(!format!("{s}").contains("very-secret"));
        assert!(format!("{s}").starts_with("sha256:"));
        assert_eq!(s.fingerprint().len(), "sha256:".len() + 8);
    }

    #[test]
    fn redact_replaces_and_truncate_cuts() {
        let r = redact("token=abcd1234 end", &["abcd1234"]);
        assert!(!r.contains("abcd1234"));
        assert!(r.contains("sha256:"));
        assert_eq!(truncate("abcdef", 3), "abc… (6 chars)");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
