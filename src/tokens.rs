//! Token and secret-file parsing shared by the kinds that read credentials (`token_expiry`,
//! `credentials`): JWT claims (signature not verified), expiry values (epoch seconds or
//! milliseconds, RFC 3339) and dotenv files. A leaf: kinds import it so that no kind imports
//! another. It must not read files or judge what it parses.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The claims of a JWT (three base64url parts, JSON payload), signature not verified.
pub fn jwt_claims(text: &str) -> Option<Map<String, Value>> {
    let mut parts = text.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || header.is_empty() || payload.is_empty() {
        return None;
    }
    let b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    if !(b64url(header) && b64url(payload) && b64url(signature)) {
        return None;
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

pub fn expiry_of_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => n.as_f64().and_then(from_epoch),
        Value::String(s) => parse_epoch(s).or_else(|| parse_rfc3339(s)),
        _ => None,
    }
}

/// Epoch seconds, or milliseconds when above 1e12.
pub fn from_epoch(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x <= 0.0 {
        return None;
    }
    let ms = if x > 1e12 { x } else { x * 1000.0 };
    DateTime::from_timestamp_millis(ms as i64)
}

pub fn parse_epoch(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let numeric = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !numeric {
        return None;
    }
    s.parse::<f64>().ok().and_then(from_epoch)
}

pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `KEY=value` lines of a dotenv file (`export KEY=...`, single or double quotes, `#` comments):
/// (line number, key, value).
pub fn parse_dotenv(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").map(str::trim_start).unwrap_or(l);
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        out.push((i + 1, k.to_string(), unquote(v.trim())));
    }
    out
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q)
            && let Some(end) = rest.find(q)
        {
            return rest[..end].to_string();
        }
    }
    // an unquoted value ends at a ` #` comment
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}
