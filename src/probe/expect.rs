//! JSON value assertions shared by kinds (`http`'s `expect_json`, `config_file`'s `expect`): one
//! vocabulary (`exists`, `equals`, `type`, `min_len`/`max_len`, `matches`, `lt`/`gt`, `in`/`not_in`,
//! `matches_any`/`not_matches_any`, `allowed_keys`/`forbidden_keys`, `optional`, `message`),
//! parsed, validated and compiled once, judged on a `serde_json::Value`. Lists may be given as TOML
//! arrays or as one comma-separated string, so a pack can take them from a var. It quotes observed
//! values only through `describe`, which redacts the secrets it is given and truncates; it does no
//! I/O.

use super::Invalid;
use crate::redact;
use regex::Regex;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json_path::JsonPath;

/// Longest quoted piece of observed text (a string value, a body excerpt) kept in evidence.
pub const QUOTE_MAX: usize = 120;

/// One assertion on a JSON document. When the path selects several nodes, every node must pass.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct JsonAssertion {
    /// JSONPath (RFC 9535) selecting the value(s) to check, e.g. "$.data" or
    /// "$.plugins.entries.*". Required.
    pub path: String,
    /// true: the path must select something; false: it must select nothing. Default unchecked.
    pub exists: Option<bool>,
    /// Nothing selected is fine (the other checks apply only to what is there). Default false.
    #[serde(default)]
    pub optional: bool,
    /// The selected value must equal this (numbers compare by value: 1 equals 1.0). Default unchecked.
    pub equals: Option<Value>,
    /// JSON type of the selected value: "array", "object", "string", "number", "bool" or "null".
    /// Default unchecked.
    #[serde(rename = "type")]
    pub json_type: Option<JsonType>,
    /// Fewest items (array), keys (object) or characters (string). Default unchecked.
    pub min_len: Option<usize>,
    /// Most items (array), keys (object) or characters (string). Default unchecked.
    pub max_len: Option<usize>,
    /// Regex the value must match (strings as-is, other values as JSON text). Default unchecked.
    pub matches: Option<String>,
    /// The value must be a number below this. Default unchecked.
    pub lt: Option<f64>,
    /// The value must be a number above this. Default unchecked.
    pub gt: Option<f64>,
    /// The value must equal one of these (an array, or a comma-separated string of strings).
    #[serde(rename = "in", default, deserialize_with = "de_values")]
    pub one_of: Option<Vec<Value>>,
    /// The value must equal none of these (an array, or a comma-separated string).
    #[serde(default, deserialize_with = "de_values")]
    pub not_in: Option<Vec<Value>>,
    /// Regexes; the value must match at least one (an array, or a comma-separated string).
    #[serde(default, deserialize_with = "de_strings")]
    pub matches_any: Option<Vec<String>>,
    /// Regexes; the value must match none, e.g. [":free$"] for free-tier model ids.
    #[serde(default, deserialize_with = "de_strings")]
    pub not_matches_any: Option<Vec<String>>,
    /// The selected object may have only these keys (plugin entries: enabled, hooks, subagent,
    /// config). With a wildcard path (`$.plugins.entries.*`) every selected object is checked.
    #[serde(default, deserialize_with = "de_strings")]
    pub allowed_keys: Option<Vec<String>>,
    /// The selected object must not have any of these keys (a retired plugin in
    /// `plugins.entries`).
    #[serde(default, deserialize_with = "de_strings")]
    pub forbidden_keys: Option<Vec<String>>,
    /// With `allowed_keys`/`forbidden_keys`: keys whose value is an object with `enabled = false`
    /// do not count (a disabled channel is not a listener). Default false.
    #[serde(default)]
    pub enabled_only: bool,
    /// The finding's phrase when this assertion fails, in place of the generated one (the
    /// evidence keeps that): for a path that does not speak for itself, such as a filter
    /// selecting a gateway bound off loopback without auth. Default: the generated phrase.
    pub message: Option<String>,
}

/// A path that may select several nodes (wildcard, descendant, union or filter): its findings name
/// the node they are about, not the path.
fn selects_many(path: &str) -> bool {
    path.contains('*') || path.contains("..") || path.contains("[?") || path.contains("',")
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn de_values<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Value>>, D::Error> {
    Ok(Some(match Value::deserialize(d)? {
        Value::Array(a) => a,
        Value::String(s) => split_list(&s).into_iter().map(Value::String).collect(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected an array or a comma-separated string, got {other}"
            )));
        }
    }))
}

fn de_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        Many(Vec<String>),
        One(String),
    }
    Ok(Some(match L::deserialize(d)? {
        L::Many(v) => v,
        L::One(s) => split_list(&s),
    }))
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    Array,
    Object,
    String,
    Number,
    Bool,
    Null,
}

impl JsonType {
    fn as_str(self) -> &'static str {
        match self {
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Bool => "bool",
            JsonType::Null => "null",
        }
    }
    fn of(v: &Value) -> JsonType {
        match v {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }
}

/// One assertion's JSONPath and regexes, compiled once.
#[derive(Debug)]
pub struct Compiled {
    path: JsonPath,
    re: Option<Regex>,
    any: Vec<Regex>,
    none: Vec<Regex>,
}

/// Load-time checks of a list of assertions configured under `key` (e.g. "expect_json"),
/// compilation included.
pub fn validate(list: &[JsonAssertion], key: &str) -> Vec<Invalid> {
    let mut bad = validate_shape(list, key);
    if let Err(mut more) = compile(list, key) {
        bad.append(&mut more);
    }
    bad
}

/// Load-time checks of the assertions' keys alone (for kinds that report `compile` errors
/// themselves).
pub fn validate_shape(list: &[JsonAssertion], key: &str) -> Vec<Invalid> {
    let mut bad = Vec::new();
    for (i, a) in list.iter().enumerate() {
        if a.checks().is_empty() && a.exists.is_none() {
            bad.push(Invalid::new(
                format!("{key}[{i}]"),
                "expected at least one check: exists, equals, type, min_len, max_len, matches, lt, gt, in, not_in, matches_any, not_matches_any, allowed_keys or forbidden_keys",
            ));
        }
        if a.exists == Some(false) && !a.checks().is_empty() {
            bad.push(Invalid::new(
                format!("{key}[{i}].exists"),
                "exists = false cannot be combined with other checks",
            ));
        }
        if a.optional && a.exists.is_some() {
            bad.push(Invalid::new(
                format!("{key}[{i}].optional"),
                "optional cannot be combined with exists",
            ));
        }
        if let (Some(min), Some(max)) = (a.min_len, a.max_len)
            && min > max
        {
            bad.push(Invalid::new(
                format!("{key}[{i}].min_len"),
                format!("expected min_len <= max_len, got {min} > {max}"),
            ));
        }
        if a.enabled_only && a.allowed_keys.is_none() && a.forbidden_keys.is_none() {
            bad.push(Invalid::new(
                format!("{key}[{i}].enabled_only"),
                "applies only with allowed_keys or forbidden_keys",
            ));
        }
    }
    bad
}

/// Longest JSONPath accepted, and most filter selectors (`?`) in one: the JSONPath parser
/// backtracks exponentially in nested filters (found by fuzzing: 26 nested `[?` took over 10 s,
/// which would hang `doctor` on one config line).
const MAX_PATH_LEN: usize = 512;
const MAX_FILTERS: usize = 6;

/// The one way a JSONPath from config is parsed: bounded in length and filter count first.
pub fn parse_path(s: &str) -> Result<JsonPath, String> {
    if s.len() > MAX_PATH_LEN {
        return Err(format!("longer than {MAX_PATH_LEN} characters"));
    }
    let filters = s.matches('?').count();
    if filters > MAX_FILTERS {
        return Err(format!(
            "{filters} filter selectors ('?'), at most {MAX_FILTERS}"
        ));
    }
    if let Some(at) = unterminated_string(s) {
        return Err(format!(
            "the string literal opened at byte {at} is not closed"
        ));
    }
    // serde_json_path 0.7.2 panics ("we do not use streaming parsers") when the input ends
    // inside a `\u` escape; the check above refuses every such input first (found by the
    // jsonpath fuzz target: `$["\u`). The unwind guard keeps any other parser panic a
    // config error rather than a crash.
    match std::panic::catch_unwind(|| JsonPath::parse(s)) {
        Ok(parsed) => parsed.map_err(|e| e.to_string()),
        Err(_) => Err("the JSONPath parser failed on this input".into()),
    }
}

/// Where a quoted string literal that runs to the end of `s` starts (RFC 9535: quotes only
/// open string literals; a backslash escapes the next character inside one).
fn unterminated_string(s: &str) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match open {
            None if c == '"' || c == '\'' => open = Some((i, c)),
            None => {}
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some((_, q)) if c == q => open = None,
            Some(_) => {}
        }
    }
    open.map(|(i, _)| i)
}

/// Compiles every assertion's JSONPath and regexes; every problem at once.
pub fn compile(list: &[JsonAssertion], key: &str) -> Result<Vec<Compiled>, Vec<Invalid>> {
    let mut bad = Vec::new();
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let path = parse_path(&a.path).map_err(|e| {
            Invalid::new(
                format!("{key}[{i}].path"),
                format!("invalid JSONPath {:?}: {e}", a.path),
            )
        });
        let re = a
            .matches
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| {
                Invalid::new(format!("{key}[{i}].matches"), format!("invalid regex: {e}"))
            });
        let mut lists = [Vec::new(), Vec::new()];
        for (slot, (name, pats)) in [
            ("matches_any", &a.matches_any),
            ("not_matches_any", &a.not_matches_any),
        ]
        .into_iter()
        .enumerate()
        {
            for (j, p) in pats.iter().flatten().enumerate() {
                match Regex::new(p) {
                    Ok(r) => lists[slot].push(r),
                    Err(e) => bad.push(Invalid::new(
                        format!("{key}[{i}].{name}[{j}]"),
                        format!("invalid regex: {e}"),
                    )),
                }
            }
        }
        let [any, none] = lists;
        match (path, re) {
            (Ok(path), Ok(re)) => out.push(Compiled {
                path,
                re,
                any,
                none,
            }),
            (p, r) => bad.extend(p.err().into_iter().chain(r.err())),
        }
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// One value check of an assertion (everything but `exists`).
enum Check<'a> {
    Equals(&'a Value),
    Type(JsonType),
    MinLen(usize),
    MaxLen(usize),
    Matches(&'a str),
    Lt(f64),
    Gt(f64),
    In(&'a [Value]),
    NotIn(&'a [Value]),
    MatchesAny(&'a [String]),
    NotMatchesAny(&'a [String]),
    AllowedKeys(&'a [String], bool),
    ForbiddenKeys(&'a [String], bool),
}

fn list_text(v: &[Value]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    redact::truncate(&parts.join(", "), 120)
}

impl Check<'_> {
    fn describe(&self) -> String {
        match self {
            Check::Equals(v) => format!("equals {}", redact::truncate(&v.to_string(), 60)),
            Check::Type(t) => format!("type {}", t.as_str()),
            Check::MinLen(n) => format!("min_len {n}"),
            Check::MaxLen(n) => format!("max_len {n}"),
            Check::Matches(re) => format!("matches /{re}/"),
            Check::Lt(x) => format!("lt {x}"),
            Check::Gt(x) => format!("gt {x}"),
            Check::In(v) => format!("in [{}]", list_text(v)),
            Check::NotIn(v) => format!("not in [{}]", list_text(v)),
            Check::MatchesAny(v) => format!("matches one of [{}]", v.join(", ")),
            Check::NotMatchesAny(v) => format!("matches none of [{}]", v.join(", ")),
            Check::AllowedKeys(v, _) => format!("only keys [{}]", v.join(", ")),
            Check::ForbiddenKeys(v, _) => format!("none of keys [{}]", v.join(", ")),
        }
    }

    /// `None` when `v` passes; else the offending part when the check can name it (keys).
    fn fails(&self, v: &Value, c: &Compiled) -> Option<Option<String>> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let pass = match self {
            Check::Equals(want) => json_eq(v, want),
            Check::Type(t) => JsonType::of(v) == *t,
            Check::MinLen(n) => len_of(v).is_some_and(|(l, _)| l >= *n),
            Check::MaxLen(n) => len_of(v).is_some_and(|(l, _)| l <= *n),
            Check::Matches(_) => c.re.as_ref().is_some_and(|re| re.is_match(&text(v))),
            Check::Lt(x) => v.as_f64().is_some_and(|n| n < *x),
            Check::Gt(x) => v.as_f64().is_some_and(|n| n > *x),
            Check::In(list) => list.iter().any(|w| json_eq(v, w)),
            Check::NotIn(list) => !list.iter().any(|w| json_eq(v, w)),
            Check::MatchesAny(_) => c.any.iter().any(|re| re.is_match(&text(v))),
            Check::NotMatchesAny(_) => !c.none.iter().any(|re| re.is_match(&text(v))),
            Check::AllowedKeys(allowed, enabled_only) => {
                let Value::Object(o) = v else {
                    return Some(None);
                };
                let bad: Vec<&str> = o
                    .iter()
                    .filter(|(_, val)| !(*enabled_only && disabled(val)))
                    .map(|(k, _)| k.as_str())
                    .filter(|k| !allowed.iter().any(|a| a == k))
                    .collect();
                return (!bad.is_empty()).then(|| Some(bad.join(", ")));
            }
            Check::ForbiddenKeys(forbidden, enabled_only) => {
                let Value::Object(o) = v else { return None };
                let bad: Vec<&str> = o
                    .iter()
                    .filter(|(_, val)| !(*enabled_only && disabled(val)))
                    .map(|(k, _)| k.as_str())
                    .filter(|k| forbidden.iter().any(|f| f == k))
                    .collect();
                return (!bad.is_empty()).then(|| Some(bad.join(", ")));
            }
        };
        (!pass).then_some(None)
    }
}

/// An object with `enabled: false`.
fn disabled(v: &Value) -> bool {
    v.get("enabled") == Some(&Value::Bool(false))
}

impl JsonAssertion {
    fn checks(&self) -> Vec<Check<'_>> {
        [
            self.equals.as_ref().map(Check::Equals),
            self.json_type.map(Check::Type),
            self.min_len.map(Check::MinLen),
            self.max_len.map(Check::MaxLen),
            self.matches.as_deref().map(Check::Matches),
            self.lt.map(Check::Lt),
            self.gt.map(Check::Gt),
            self.one_of.as_deref().map(Check::In),
            self.not_in.as_deref().map(Check::NotIn),
            self.matches_any.as_deref().map(Check::MatchesAny),
            self.not_matches_any.as_deref().map(Check::NotMatchesAny),
            self.allowed_keys
                .as_deref()
                .map(|v| Check::AllowedKeys(v, self.enabled_only)),
            self.forbidden_keys
                .as_deref()
                .map(|v| Check::ForbiddenKeys(v, self.enabled_only)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// "path exists", "path in [a, b]", ...: what passing looks like, one phrase per check.
    pub fn describe(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(e) = self.exists {
            parts.push(format!(
                "{} {}",
                self.path,
                if e { "exists" } else { "absent" }
            ));
        }
        for c in self.checks() {
            parts.push(format!("{} {}", self.path, c.describe()));
        }
        parts
    }

    /// `None` when the assertion holds, else (evidence detail, summary phrase); the summary is
    /// `message` when one is set.
    pub fn check(&self, c: &Compiled, doc: &Value, secrets: &[&str]) -> Option<(String, String)> {
        let (detail, summary) = self.judge(c, doc, secrets)?;
        match &self.message {
            Some(m) => Some((format!("{detail} ({m})"), m.clone())),
            None => Some((detail, summary)),
        }
    }

    fn judge(&self, c: &Compiled, doc: &Value, secrets: &[&str]) -> Option<(String, String)> {
        let nodes = c.path.query_located(doc).all();
        let p = &self.path;
        let checks = self.checks();
        match self.exists {
            Some(true) if nodes.is_empty() => {
                return Some((
                    format!("{p}: expected to exist, found nothing"),
                    format!("{p} is missing"),
                ));
            }
            Some(false) if !nodes.is_empty() => {
                let at = if nodes.len() > 1 || selects_many(p) {
                    nodes[0].location().to_string()
                } else {
                    p.clone()
                };
                let got = describe(nodes[0].node(), secrets);
                return Some((
                    format!("{at}: expected to be absent, got {got}"),
                    format!("{at} is present (expected absent)"),
                ));
            }
            _ => {}
        }
        if nodes.is_empty() {
            if self.optional {
                return None;
            }
            let first = checks.first()?;
            return Some((
                format!("{p}: expected {}, found nothing", first.describe()),
                format!("{p} is missing (expected {})", first.describe()),
            ));
        }
        let many = nodes.len() > 1 || selects_many(p);
        for node in &nodes {
            let v = node.node();
            let Some((failed, part)) = checks
                .iter()
                .find_map(|ch| ch.fails(v, c).map(|part| (ch, part)))
            else {
                continue;
            };
            // Name the exact node when the path selected several.
            let at = if many || part.is_some() {
                node.location().to_string()
            } else {
                p.clone()
            };
            let exp = failed.describe();
            let got = describe(v, secrets);
            let summary = match (failed, len_of(v), &part) {
                (Check::AllowedKeys(..), _, Some(keys)) => {
                    format!("{at} has keys outside the allowed set: {keys} (expected {exp})")
                }
                (Check::ForbiddenKeys(..), _, Some(keys)) => {
                    format!("{at} has forbidden keys: {keys}")
                }
                (Check::MinLen(_) | Check::MaxLen(_), Some((n, unit)), _) => {
                    format!("{at} has {n} {unit} (expected {exp})")
                }
                _ => format!("{at} is {got} (expected {exp})"),
            };
            let detail = match &part {
                Some(keys) => format!("{at}: keys {keys}; expected {exp}"),
                None => format!("{at}: expected {exp}, got {got}"),
            };
            return Some((detail, summary));
        }
        None
    }
}

/// Length and its unit for arrays, objects and strings.
fn len_of(v: &Value) -> Option<(usize, &'static str)> {
    match v {
        Value::Array(a) => Some((a.len(), "items")),
        Value::Object(o) => Some((o.len(), "keys")),
        Value::String(s) => Some((s.chars().count(), "chars")),
        _ => None,
    }
}

/// JSON equality where numbers compare by value (TOML `1` equals JSON `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A short, redacted description of an observed value: `array of 0`, `string "down"`.
pub fn describe(v: &Value, secrets: &[&str]) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", quote(s, secrets, QUOTE_MAX)),
        Value::Array(a) => format!("array of {}", a.len()),
        Value::Object(o) => format!("object of {} keys", o.len()),
    }
}

/// Quotes observed text for evidence (see `clip`).
pub fn quote(text: &str, secrets: &[&str], max: usize) -> String {
    format!("{:?}", clip(text, secrets, max))
}

/// Observed text for evidence: secrets redacted, then truncated. Only a head long enough to hold
/// any secret that starts inside the kept part is copied and redacted.
pub fn clip(text: &str, secrets: &[&str], max: usize) -> String {
    let longest = secrets.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let head: String = text.chars().take(max + longest).collect();
    let redacted = redact::redact(&head, secrets);
    let total = text.chars().count();
    if redacted.chars().count() > max || total > head.chars().count() {
        let cut: String = redacted.chars().take(max).collect();
        format!("{cut}… ({total} chars)")
    } else {
        redacted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit;

    #[test]
    fn a_path_ending_inside_a_unicode_escape_is_an_error_not_a_panic() {
        // found by the jsonpath fuzz target: serde_json_path 0.7.2 reaches unreachable!() here
        for p in [
            r#"$["\u"#,
            r#"$['\uD8"#,
            r#"$[?@.a == "\uD800\u"#,
            r#"$["\"#,
            r#"$["abc"#,
        ] {
            let e = parse_path(p).unwrap_err();
            testkit::assert_contains(&e, &["not closed"]);
        }
        // closed literals with escapes (and quotes of the other kind inside) still parse
        assert!(parse_path(r#"$["\u00e9"]"#).is_ok());
        assert!(parse_path(r#"$["it's"]"#).is_ok());
        assert!(parse_path(r#"$['say \'hi\'']"#).is_ok());
        assert!(parse_path(r#"$[?@.a == "x\"y"]"#).is_ok());
    }

    #[test]
    fn nested_filters_found_by_fuzzing_are_refused_before_parsing() {
        let fuzzed = "$..data[?@[?@.na[?@[?@.n.dd..ata[?@[?@.na[?@[?@[?@.na[?@[?@.n.d..data[?@[?@.na[?@[?@.n.daata[?@[?@.d[?@.n.daata[?@[?@.data.data[?$";
        let e = parse_path(fuzzed).unwrap_err();
        testkit::assert_contains(&e, &["filter selectors"]);
        assert!(parse_path("$.data[?@.n > 2].id").is_ok());
        assert!(parse_path(&format!("$.{}", "a".repeat(600))).is_err());
    }

    /// Checks `doc` with one assertion (it must validate), no secrets: `None` when it holds,
    /// else `(detail, summary)`.
    fn check(src: &str, doc: &Value) -> Option<(String, String)> {
        let a: JsonAssertion = toml::from_str(src).unwrap();
        let list = vec![a];
        assert!(
            validate(&list, "expect").is_empty(),
            "{:?}",
            validate(&list, "expect")
        );
        let c = compile(&list, "expect").unwrap().pop().unwrap();
        list[0].check(&c, doc, &[])
    }

    #[test]
    fn lists_from_arrays_or_comma_strings() {
        let doc = serde_json::json!({"gateway": {"bind": "lan"}, "m": ["a/x:free", "b/y"]});
        let (detail, summary) =
            check("path = \"$.gateway.bind\"\nin = \"loopback, auto\"", &doc).unwrap();
        testkit::assert_contains(
            &summary,
            &["$.gateway.bind is string \"lan\" (expected in [loopback, auto])"],
        );
        testkit::assert_contains(&detail, &["expected in"]);
        assert!(check("path = \"$.gateway.bind\"\nnot_in = [\"lan\"]", &doc).is_some());
        let (_, summary) = check("path = \"$.m[*]\"\nnot_matches_any = \":free$\"", &doc).unwrap();
        assert!(
            summary.starts_with("$['m'][0] is string \"a/x:free\""),
            "{summary}"
        );
        assert!(check("path = \"$.m[1]\"\nmatches_any = [\"^b/\", \"^c/\"]", &doc).is_none());
    }

    #[test]
    fn keys_of_selected_objects() {
        let doc = serde_json::json!({"plugins": {"entries": {
            "ok": {"enabled": true, "config": {}},
            "bad": {"enabled": true, "source": "npm:x"}}},
            "channels": {"slack": {"enabled": true}, "mattermost": {"enabled": false}}});
        let (detail, summary) = check(
            "path = \"$.plugins.entries.*\"\nallowed_keys = [\"enabled\", \"hooks\", \"subagent\", \"config\"]",
            &doc,
        )
        .unwrap();
        testkit::assert_contains(
            &summary,
            &["$['plugins']['entries']['bad'] has keys outside the allowed set: source"],
        );
        testkit::assert_contains(&detail, &["keys source"]);
        assert!(
            check(
                "path = \"$.channels\"\nallowed_keys = \"slack\"\nenabled_only = true",
                &doc
            )
            .is_none()
        );
        let (_, summary) = check(
            "path = \"$.plugins.entries\"\nforbidden_keys = \"openclaw-supermemory, bad\"",
            &doc,
        )
        .unwrap();
        testkit::assert_contains(&summary, &["has forbidden keys: bad"]);
    }

    #[test]
    fn message_replaces_the_summary_and_the_filter_judges_one_key_by_another() {
        let path = "$[?@.bind && @.bind != 'loopback' && !@.auth.mode]";
        let src = format!(
            "path = \"{path}\"\nexists = false\nmessage = \"bound off loopback without auth\""
        );
        let open = serde_json::json!({"gateway": {"bind": "lan", "port": 1}});
        let (detail, summary) = check(&src, &open).unwrap();
        assert_eq!(summary, "bound off loopback without auth");
        testkit::assert_contains(
            &detail,
            &["expected to be absent", "(bound off loopback without auth)"],
        );
        let authed = serde_json::json!({"gateway": {"bind": "lan", "auth": {"mode": "token"}}});
        assert!(check(&src, &authed).is_none());
        let local = serde_json::json!({"gateway": {"bind": "loopback"}});
        assert!(check(&src, &local).is_none());
    }

    #[test]
    fn optional_paths_and_bad_config() {
        let doc = serde_json::json!({});
        assert!(
            check(
                "path = \"$.tools.exec.ask\"\nin = [\"off\"]\noptional = true",
                &doc
            )
            .is_none()
        );
        assert!(check("path = \"$.tools.exec.ask\"\nin = [\"off\"]", &doc).is_some());
        let a: JsonAssertion = toml::from_str("path = \"$.x\"\nnot_matches_any = [\"(\"]").unwrap();
        let bad = validate(&[a], "expect");
        assert!(
            bad.iter().any(|i| i.key == "expect[0].not_matches_any[0]"),
            "{bad:?}"
        );
        let a: JsonAssertion = toml::from_str("path = \"$.x\"\nenabled_only = true").unwrap();
        assert!(
            validate(&[a], "expect")
                .iter()
                .any(|i| i.key == "expect[0].enabled_only")
        );
    }
}
