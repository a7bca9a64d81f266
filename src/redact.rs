//! Secret handling: the `Secret` wrapper, short fingerprints and the one redaction registry.
//! Owns the rule that a secret's value is never formatted, logged, stored or serialized; only
//! `sha256:xxxxxxxx` is shown. Every secret the process learns (a `Secret`, a `*_file` value, a
//! `${ENV}` expansion, a token a probe read, a `command` probe's `env` values) is `register`ed
//! here, and `scrub` removes each of them from any text: the value itself, its URL-encoded,
//! base64 (at any alignment), JSON- and HTML-escaped forms, and any run of 12 or more of its
//! characters (a value cut by a cap). The daemon applies `scrub` centrally: to every observation,
//! every store write, every web response, every log line and `check`'s output. It must not decide
//! what is secret beyond the source rules in `register_env` and `register`.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};

/// A value that must never be shown. `Debug` and `Display` print its fingerprint.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and registers it with the redactor (`register`).
    pub fn new(value: impl Into<String>) -> Self {
        let v = value.into();
        register(&v);
        Secret(v)
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
        String::deserialize(d).map(Secret::new)
    }
}

/// Reads a `headers` table (name -> value) as secrets. Only values of headers whose name says
/// credential (`Authorization`, `Cookie`, `X-Api-Key`, or a name with `token`, `key`, `secret`,
/// `auth`, `session`, `password`, `signature`) are registered with the redactor, so that
/// `Accept = "application/json"` does not scrub every mention of JSON; a value that came from
/// `${ENV}` or a file is registered by its source anyway. All values stay `Secret`s.
pub fn de_headers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, Secret>, D::Error> {
    let raw = <std::collections::BTreeMap<String, String> as serde::Deserialize>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            if is_credential_header(&k) {
                register(&v);
            }
            (k, Secret(v))
        })
        .collect())
}

/// Whether a header's name says its value is a credential.
pub fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["authorization", "cookie"].iter().any(|x| n.contains(x))
        || [
            "token",
            "key",
            "secret",
            "auth",
            "session",
            "password",
            "signature",
        ]
        .iter()
        .any(|x| n.contains(x))
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
/// fingerprint, then everything registered (`scrub`).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 4 && out.contains(s) {
            out = out.replace(s, &format!("[redacted {}]", fingerprint(s)));
        }
    }
    scrub(&out).into_owned()
}

/// Truncates `text` to at most `max` characters (on a char boundary), marking the cut. Secrets
/// are scrubbed first, so a cut never leaves part of one behind.
pub fn truncate(text: &str, max: usize) -> String {
    let text = scrub(text);
    if text.chars().count() <= max {
        return text.into_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… ({} chars)", text.chars().count())
}

/// Most distinct secrets kept; past it the oldest is forgotten (a token file that changes every
/// run must not grow the process without bound). What was scrubbed stays scrubbed.
pub const MAX_SECRETS: usize = 4096;
/// Shortest value `register` accepts: shorter ones are not credentials and would scrub words.
pub const MIN_SECRET_CHARS: usize = 4;
/// Shortest value `register_env` accepts from the environment or a `command` probe's `env`.
pub const MIN_ENV_SECRET_CHARS: usize = 8;
/// Length of the windows that catch part of a secret (a value cut by an output or body cap).
pub const PART_CHARS: usize = 12;
/// Longest value matched in all its encoded forms and by windows over its whole length. A longer
/// value (a whole credential file read as one) is matched by the windows of its first and last
/// [`EDGE_CHARS`] only, each extended over as much of the value as the text follows: its
/// encoded forms and middle windows would cost time and memory for nothing a cut output shows
/// (each window used to keep its own copy of the value around it: memory in the square of the
/// value's length).
pub const MAX_WHOLE_CHARS: usize = 4096;
/// With a value past [`MAX_WHOLE_CHARS`]: how much of its start and end is windowed.
pub const EDGE_CHARS: usize = 256;

/// Environment variables whose values are not secrets (paths, names, locales): `register_env`
/// skips them so that `${HOME}/.openclaw` does not scrub every path under the home directory.
pub const NOT_SECRET_VARS: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PATH",
    "PWD",
    "OLDPWD",
    "TMPDIR",
    "TMP",
    "TEMP",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "HOSTNAME",
    "EDITOR",
    "PAGER",
    "NO_COLOR",
    "LEDGERD_CONFIG",
    "LEDGERD_LOG",
    "SUDO_USER",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
];

#[derive(Default)]
struct Registry {
    order: VecDeque<String>,
    known: HashSet<String>,
    matcher: Option<Arc<Matcher>>,
}

/// One automaton over every form of every registered secret.
struct Matcher {
    ac: aho_corasick::AhoCorasick,
    /// Per secret: the value and its replacement text.
    secrets: Vec<(String, String)>,
    /// Per pattern: its secret (an index into `secrets`) and, for a window of the raw value, the
    /// window's byte range in it (to extend a partial match as far as the text follows the
    /// secret).
    patterns: Vec<(usize, Option<(usize, usize)>)>,
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(Default::default);

/// Registers a secret value (a `*_file` value, a token read from a file, a credential, a
/// `Secret`): from now on `scrub` removes it from any text. Surrounding whitespace is ignored;
/// values shorter than `MIN_SECRET_CHARS` are not registered. An `Authorization`-style value
/// (`Bearer x`, `Basic x`, `token x`) registers its credential too.
pub fn register(value: &str) {
    let v = value.trim();
    if v.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut values = vec![v.to_string()];
    if let Some((scheme, rest)) = v.split_once(' ') {
        let scheme = scheme.to_ascii_lowercase();
        if ["bearer", "basic", "token", "bot", "apikey", "key"].contains(&scheme.as_str())
            && rest.trim().chars().count() >= MIN_SECRET_CHARS
        {
            values.push(rest.trim().to_string());
        }
    }
    let mut reg = match REGISTRY.write() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    let mut changed = false;
    for v in values {
        if reg.known.insert(v.clone()) {
            reg.order.push_back(v);
            changed = true;
        }
    }
    while reg.order.len() > MAX_SECRETS {
        if let Some(old) = reg.order.pop_front() {
            reg.known.remove(&old);
        }
    }
    if changed {
        reg.matcher = build_matcher(&reg.order).map(Arc::new);
    }
}

/// Registers a value that came from the environment (`${VAR}` in the config) or a `command`
/// probe's `env` table, unless the variable is one of `NOT_SECRET_VARS` (or `XDG_*`, `LC_*`) or
/// the value is shorter than `MIN_ENV_SECRET_CHARS`.
pub fn register_env(name: &str, value: &str) {
    if NOT_SECRET_VARS.contains(&name)
        || name.starts_with("XDG_")
        || name.starts_with("LC_")
        || value.trim().chars().count() < MIN_ENV_SECRET_CHARS
    {
        return;
    }
    register(value);
}

/// How many secrets are registered.
pub fn registered() -> usize {
    REGISTRY.read().map(|r| r.order.len()).unwrap_or(0)
}

fn matcher() -> Option<Arc<Matcher>> {
    match REGISTRY.read() {
        Ok(r) => r.matcher.clone(),
        Err(p) => p.into_inner().matcher.clone(),
    }
}

/// `text` with every registered secret, in any of its forms or in part, replaced by
/// `[redacted sha256:xxxxxxxx]`. Borrowed when nothing matched.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let Some(m) = matcher() else {
        return Cow::Borrowed(text);
    };
    let mut out = String::new();
    let mut last = 0;
    let mut at = 0;
    while at < text.len() {
        let Some(hit) =
            m.ac.find(aho_corasick::Input::new(text).span(at..text.len()))
        else {
            break;
        };
        let (secret, window) = m.patterns[hit.pattern().as_usize()];
        let (value, replacement) = &m.secrets[secret];
        let (mut start, mut end) = (hit.start(), hit.end());
        // a window of the raw value: extend over as much of the secret as the text follows
        if let Some((from, to)) = window {
            let (before, rest) = (&value[..from], &value[to..]);
            end += text[end..]
                .bytes()
                .zip(rest.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            start -= text[last..start]
                .bytes()
                .rev()
                .zip(before.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count();
            while !text.is_char_boundary(start) {
                start += 1;
            }
        }
        out.push_str(&text[last..start]);
        out.push_str(replacement);
        last = end;
        at = end.max(hit.start() + 1);
        while at < text.len() && !text.is_char_boundary(at) {
            at += 1;
        }
    }
    if last == 0 && out.is_empty() {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Scrubs every string (and object key) inside a JSON value in place.
pub fn scrub_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(o) = scrub(s) {
                *s = o;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if let Some(mut val) = map.remove(&k) {
                    scrub_json(&mut val);
                    map.insert(scrub(&k).into_owned(), val);
                }
            }
        }
        _ => {}
    }
}

fn build_matcher(secrets: &VecDeque<String>) -> Option<Matcher> {
    let mut pats: Vec<String> = Vec::new();
    let mut patterns: Vec<(usize, Option<(usize, usize)>)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut kept: Vec<(String, String)> = Vec::with_capacity(secrets.len());
    for s in secrets {
        let idx = kept.len();
        let whole = s.len() <= MAX_WHOLE_CHARS;
        if whole {
            for form in forms(s) {
                if seen.insert(form.clone()) {
                    pats.push(form);
                    patterns.push((idx, None));
                }
            }
        }
        for (from, to) in windows(s, whole) {
            let window = &s[from..to];
            if seen.insert(window.to_string()) {
                pats.push(window.to_string());
                patterns.push((idx, Some((from, to))));
            }
        }
        kept.push((s.clone(), format!("[redacted {}]", fingerprint(s))));
    }
    if pats.is_empty() {
        return None;
    }
    // a contiguous NFA, never the DFA the builder picks for few patterns: the DFA's build time
    // grew with the square of a long pattern (one 4,000-character value: 11 s in a debug build,
    // 2,000 `[`: 32 s, on the runtime's thread); the NFA builds in milliseconds
    let ac = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .build(&pats)
        .ok()?;
    Some(Matcher {
        ac,
        secrets: kept,
        patterns,
    })
}

/// The whole-value forms a secret may be shown in: itself, URL-encoded (upper and lower case
/// hex, `+` for spaces), JSON- and HTML-escaped, and base64 (standard and URL-safe alphabets) at
/// each of the three alignments it can have inside a longer encoded text (`user:secret` in a
/// basic-auth header). Encoded forms shorter than 8 characters are left out.
fn forms(s: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut out = vec![s.to_string()];
    let pct = percent(s);
    out.push(pct.replace("%20", "+"));
    out.push(pct.to_ascii_lowercase_hex());
    out.push(pct);
    if let Ok(j) = serde_json::to_string(s) {
        out.push(j[1..j.len() - 1].to_string());
    }
    out.push(html(s));
    for engine in [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for pad in 0..3usize {
            let mut bytes = vec![0u8; pad];
            bytes.extend_from_slice(s.as_bytes());
            let enc = engine.encode(&bytes);
            let start = (8 * pad).div_ceil(6);
            let end = (8 * bytes.len()) / 6;
            if end > start {
                out.push(enc[start..end].to_string());
            }
        }
    }
    out.retain(|f| f == s || f.len() >= 8);
    out
}

/// The byte ranges of every `PART_CHARS`-long window of a secret that lies inside one
/// token-like run (letters, digits, `-_+=~`; not `.`, `:` or `/`, so the `http://127.0.0.1:` of
/// a webhook URL scrubs no other URL) and has a letter and a digit. With `whole` false (a value
/// past [`MAX_WHOLE_CHARS`]) only windows starting in its first or ending in its last
/// [`EDGE_CHARS`] bytes.
fn windows(s: &str, whole: bool) -> Vec<(usize, usize)> {
    let token = |c: char| c.is_ascii_alphanumeric() || "-_+=~".contains(c);
    let in_edges =
        |from: usize| whole || from < EDGE_CHARS || from + PART_CHARS + EDGE_CHARS > s.len();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !token(chars[i].1) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < chars.len() && token(chars[i].1) {
            i += 1;
        }
        // chars[run_start..i] is one run, all ASCII
        let last = (i + 1).saturating_sub(PART_CHARS).max(run_start);
        for &(from, _) in &chars[run_start..last] {
            let to = from + PART_CHARS;
            let win = &s[from..to];
            if in_edges(from)
                && win.bytes().any(|b| b.is_ascii_alphabetic())
                && win.bytes().any(|b| b.is_ascii_digit())
            {
                out.push((from, to));
            }
        }
    }
    out
}

/// Percent-encoding of everything but RFC 3986 unreserved characters, upper-case hex.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

trait LowerHex {
    fn to_ascii_lowercase_hex(&self) -> String;
}

impl LowerHex for String {
    /// `%2F` -> `%2f`, leaving the other characters alone.
    fn to_ascii_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut hex_left = 0;
        for c in self.chars() {
            if c == '%' {
                hex_left = 2;
                out.push(c);
            } else if hex_left > 0 {
                hex_left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// The one HTML escaper (re-exported as `alert::escape::html` for Telegram and the dashboard's
/// templates): `&`, `<`, `>`, `"` and `'` become entities, so a value is inert in text and in
/// either kind of quoted attribute. It lives here, in a leaf, because the redactor must find a
/// secret in its escaped form too.
pub fn html(s: &str) -> String {
    entities(s, true)
}

/// `&`, `<` and `>` as entities, and with `quotes` also `"` (`&quot;`) and `'` (`&#39;`): `html`
/// and Slack's mrkdwn (`alert::escape::slack`, which has no quote entities) both escape through it.
pub fn entities(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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

    /// A long value (a whole credential file read as one) registers in bounded time and memory
    /// and is still scrubbed whole, and cut at its start or end; its middle windows are not kept.
    #[test]
    fn long_values_are_scrubbed_by_their_edges() {
        register(&"[".repeat(4000));
        // letters and digits from a linear congruential generator: no repeated 12-character run
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let long: String = (0..60_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[(x >> 59) as usize])
            })
            .collect();
        register(&long);
        let fp = fingerprint(&long);
        for text in [
            format!("x {long} y"),
            format!("head {}", &long[..300]),
            format!("{} tail", &long[long.len() - 300..]),
        ] {
            let out = scrub(&text);
            assert!(out.contains(&format!("[redacted {fp}]")), "{}", &out[..80]);
            assert!(!out.contains(&long[..20]), "{}", &out[..80]);
            assert!(!out.contains(&long[long.len() - 20..]), "{}", &out[..80]);
        }
        // the middle alone matches no kept window
        assert!(windows(&long, false).len() <= 2 * EDGE_CHARS);
        let middle = &long[30_000..30_100];
        assert_eq!(scrub(middle), middle);
    }

    #[test]
    fn registered_secrets_are_scrubbed_in_every_form_and_in_part() {
        use base64::Engine as _;
        let secret = "cAnArY-7f3e9a1b2c4d-tok";
        register(secret);
        let fp = fingerprint(secret);
        let b64 = base64::engine::general_purpose::STANDARD;
        let texts = [
            format!("echo {secret} back"),
            format!(
                "url=https://x.test/?t={}",
                percent("cAnArY-7f3e9a1b2c4d-tok/")
            ),
            format!(
                "Authorization: Basic {}",
                b64.encode(format!("user:{secret}"))
            ),
            format!(
                "Authorization: Basic {}",
                b64.encode(format!("us:{secret}"))
            ),
            format!(
                "Authorization: Basic {}",
                b64.encode(format!("usr:{secret}"))
            ),
            format!("{}", serde_json::json!({ "k": secret })),
            // cut by a cap: the first 15 characters, then the text ends
            format!("output: {}", &secret[..15]),
            // the end of it, after a cut at the front
            format!("…{} rest", &secret[6..]),
        ];
        for t in &texts {
            let out = scrub(t);
            assert!(!out.contains("7f3e9a1b2c4d"), "{t} -> {out}");
            assert!(out.contains(&fp), "{t} -> {out}");
        }
        // a Bearer value registers its bare token too
        register("Bearer bare-9c8d7e6f5a4b-token");
        let out = scrub("the server said bare-9c8d7e6f5a4b-token");
        assert!(!out.contains("9c8d7e6f5a4b"), "{out}");
        assert!(matches!(scrub("nothing secret here"), Cow::Borrowed(_)));
        let mut v = serde_json::json!({"a": [format!("x{secret}y")], secret: 1});
        scrub_json(&mut v);
        assert!(!v.to_string().contains("7f3e9a1b"), "{v}");
        assert!(truncate(&format!("{secret}{secret}"), 10).contains("[redacted"));
    }

    #[test]
    fn env_values_skip_well_known_names_and_short_values() {
        register_env("HOME", "/home/someone-unique-1234");
        register_env("SOME_TOKEN", "short");
        register_env("SOME_TOKEN", "long-enough-env-5551234");
        assert!(scrub("/home/someone-unique-1234/x").contains("someone-unique-1234"));
        assert!(scrub("a short word").contains("short"));
        assert!(!scrub("v=long-enough-env-5551234").contains("5551234"));
    }
}
