//! JSON Schema checks shared by probe kinds: the schemas shipped in the binary (`builtin:NAME`,
//! generated from a runtime's own source, such as OpenClaw's `openclaw.json` schema at a named
//! version, see `checks/schemas/README.md`), each compiled once per process, and a bounded list of
//! violations, each at its key path in the document (`plugins.entries.x.source: unknown key`).
//! It never quotes a value of the judged document (messages are masked: values may be secrets),
//! never fetches a remote `$ref`, and does no file I/O itself: a schema file is read by the caller
//! through `crate::read`. Compiling and validating are CPU work: call it on the blocking pool.

use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// The schemas compiled into the binary: (name after `builtin:`, JSON text).
const BUILTIN: &[(&str, &str)] = &[(
    "openclaw-2026.9.6",
    include_str!("../../checks/schemas/openclaw-2026.9.6.schema.json"),
)];

/// Violations counted per document; past this, "N+" (a broken file can break thousands of rules).
pub const MAX_VIOLATIONS: usize = 100;

/// Where a schema comes from: a `builtin:NAME` shipped in the binary, or a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Source<'a> {
    Builtin(&'static str),
    File(&'a str),
}

impl<'a> Source<'a> {
    /// `builtin:NAME` (NAME one of [`builtin_names`]) or a path; an unknown builtin is an error
    /// naming the known ones.
    pub fn parse(s: &'a str) -> Result<Source<'a>, String> {
        match s.strip_prefix("builtin:") {
            Some(name) => BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, _)| Source::Builtin(n))
                .ok_or_else(|| {
                    format!(
                        "no builtin schema {name:?}; builtin schemas: {}",
                        builtin_names()
                            .map(|n| format!("builtin:{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            None if s.trim().is_empty() => Err("must name a schema file or builtin:NAME".into()),
            None => Ok(Source::File(s)),
        }
    }
}

/// Names of the builtin schemas.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

/// The compiled builtin schema `name`: compiled on first use (CPU-bound: on the blocking pool),
/// then shared by every probe that names it.
pub fn builtin(name: &str) -> Result<Arc<jsonschema::Validator>, String> {
    static COMPILED: OnceLock<Vec<OnceLock<Compiled>>> = OnceLock::new();
    let slots = COMPILED.get_or_init(|| BUILTIN.iter().map(|_| OnceLock::new()).collect());
    let (i, (_, text)) = BUILTIN
        .iter()
        .enumerate()
        .find(|(_, (n, _))| *n == name)
        .ok_or_else(|| format!("no builtin schema {name:?}"))?;
    let slot = slots
        .get(i)
        .ok_or_else(|| format!("no builtin schema {name:?}"))?;
    slot.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("builtin:{name} is not JSON: {e}"))?;
        compile(&schema).map(Arc::new)
    })
    .clone()
}

/// A builtin schema compiled (or why it does not compile).
type Compiled = Result<Arc<jsonschema::Validator>, String>;

/// Compiles a schema (draft from `$schema`, default 2020-12); remote `$ref`s are not fetched.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| format!("does not compile: {e}"))
}

/// One way a document breaks its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Dotted key path in the document (`plugins.entries.@byterover/byterover.source`,
    /// `agents.list[0].id`), "(root)" for the document itself.
    pub path: String,
    /// What is wrong, without the value.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The document's violations, at most `max` (the second value says whether there were more). An
/// unknown key is reported at its own path ("unknown key"), one violation per key.
pub fn violations(
    validator: &jsonschema::Validator,
    doc: &Value,
    max: usize,
) -> (Vec<Violation>, bool) {
    let mut out = Vec::new();
    for e in validator.iter_errors(doc) {
        let at = key_path(doc, e.instance_path().segments().map(|s| s.to_string()));
        match e.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    out.push(Violation {
                        path: join(&at, key),
                        message: "unknown key".into(),
                    });
                }
            }
            _ => out.push(Violation {
                path: if at.is_empty() { "(root)".into() } else { at },
                // `masked` keeps instance values (possible secrets) out of the message
                message: e.masked().to_string(),
            }),
        }
        if out.len() > max {
            out.truncate(max);
            return (out, true);
        }
    }
    (out, false)
}

/// A JSON pointer's segments as a dotted key path, array indexes as `[i]` (decided by the
/// document, so an object key that is a number stays a key).
fn key_path(doc: &Value, segments: impl Iterator<Item = String>) -> String {
    let mut path = String::new();
    let mut at = Some(doc);
    for seg in segments {
        match at {
            Some(Value::Array(a)) => {
                at = seg.parse::<usize>().ok().and_then(|i| a.get(i));
                path.push_str(&format!("[{seg}]"));
            }
            other => {
                at = other.and_then(|v| v.get(&seg));
                path = join(&path, &seg);
            }
        }
    }
    path
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit;
    use serde_json::json;

    #[test]
    fn sources_are_builtin_names_or_files() {
        assert_eq!(
            Source::parse("builtin:openclaw-2026.9.6"),
            Ok(Source::Builtin("openclaw-2026.9.6"))
        );
        assert_eq!(
            Source::parse("/etc/x.schema.json"),
            Ok(Source::File("/etc/x.schema.json"))
        );
        let e = Source::parse("builtin:openclaw-1.0").unwrap_err();
        testkit::assert_contains(&e, &["builtin:openclaw-2026.9.6"]);
        assert!(Source::parse(" ").is_err());
    }

    #[test]
    fn violations_name_key_paths_and_stop_at_the_bound() {
        let v = compile(&json!({
            "type": "object",
            "properties": {
                "list": { "type": "array", "items": {
                    "type": "object",
                    "properties": { "id": { "type": "string" } },
                    "additionalProperties": false
                }},
                "port": { "type": "integer", "maximum": 65535 },
                "m": { "type": "object", "additionalProperties": { "type": "string" } }
            },
            "additionalProperties": false
        }))
        .unwrap();
        let doc = json!({
            "list": [{ "id": "a" }, { "id": "b", "source": "sk-secret-value" }],
            "port": 70000,
            "m": { "0": 1 },
            "extra": true
        });
        let (found, more) = violations(&v, &doc, 10);
        let text: Vec<String> = found.iter().map(Violation::to_string).collect();
        assert!(!more);
        assert!(
            text.contains(&"list[1].source: unknown key".to_string()),
            "{text:?}"
        );
        assert!(text.contains(&"extra: unknown key".to_string()), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("port: ")), "{text:?}");
        // an object key that looks like an index stays a key
        assert!(text.iter().any(|t| t.starts_with("m.0: ")), "{text:?}");
        assert!(!text.join(" ").contains("sk-secret-value"));
        assert!(!text.join(" ").contains("70000"), "{text:?}");
        let (few, more) = violations(&v, &doc, 2);
        assert_eq!(few.len(), 2);
        assert!(more);
        assert!(violations(&v, &json!({ "list": [] }), 10).0.is_empty());
    }

    #[test]
    fn the_builtin_openclaw_schema_compiles_and_judges_keys() {
        let v = builtin("openclaw-2026.9.6").unwrap();
        // compiled once: the same validator every time
        assert!(Arc::ptr_eq(&v, &builtin("openclaw-2026.9.6").unwrap()));
        let ok = json!({
            "gateway": { "port": 18789, "bind": "loopback", "auth": { "mode": "token" } },
            "agents": { "defaults": { "heartbeat": { "every": "30m" } }, "list": [{ "id": "hub" }] },
            "channels": { "slack": { "enabled": true, "dmPolicy": "allowlist" } },
            "plugins": { "entries": { "x": { "enabled": true, "config": {} } } },
            "cron": { "enabled": true }
        });
        assert_eq!(violations(&v, &ok, 10), (vec![], false));
        let bad = json!({
            "heartbeat": { "every": "30m" },
            "gateway": { "bind": "everywhere" },
            "plugins": { "entries": { "x": { "enabled": true, "source": "git" } } },
            "cron": { "jobs": [] }
        });
        let (found, _) = violations(&v, &bad, 10);
        let text: Vec<String> = found.iter().map(Violation::to_string).collect();
        for want in [
            "heartbeat: unknown key",
            "plugins.entries.x.source: unknown key",
            "cron.jobs: unknown key",
        ] {
            assert!(text.contains(&want.to_string()), "{want}: {text:?}");
        }
        assert!(
            text.iter().any(|t| t.starts_with("gateway.bind: ")),
            "{text:?}"
        );
        assert!(builtin("nope").is_err());
    }
}
