//! Expansion of `${VAR}` and `${VAR:-default}` in every string value (`$${` is a literal `${`),
//! and reading `*_file` secrets in channel tables. Owns the rule that a missing variable or
//! unreadable secret file is a config error naming the key path, and that a value which is one
//! `${...}` and nothing else becomes a boolean when it expands to `true` or `false`, and that
//! every `*_file` value is registered with the redactor (`redact::register`). It must not log
//! values.

use std::path::Path;

/// Expands variables in one string. `Err` names the missing variable or the syntax problem.
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body.find('}') else {
            return Err("unclosed '${' in value".into());
        };
        let inner = &body[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid variable name '{name}' in '${{{inner}}}'"));
        }
        match (lookup(name), default) {
            (Some(v), _) if !v.is_empty() || default.is_none() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "variable '{name}' is not set (not in [vars], the include's vars, the pack's [vars] or the environment)"
                ));
            }
            (Some(v), None) => out.push_str(&v),
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands every string in `value` in place; each failure is reported as (key path, message).
pub fn expand_tree(
    value: &mut toml::Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        toml::Value::String(s) => match expand(s, lookup) {
            // A value that is one `${...}` and nothing else takes the boolean it expands to, so
            // `enabled = "${use_systemd}"` works; every other expansion stays a string.
            Ok(v) if is_sole_reference(s) && (v == "true" || v == "false") => {
                *value = toml::Value::Boolean(v == "true");
            }
            Ok(v) => *s = v,
            Err(e) => errors.push((path.to_string(), e)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{path}[{i}]"), lookup, errors);
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                expand_tree(v, &p, lookup, errors);
            }
        }
        _ => {}
    }
}

/// Whether `s` is exactly one `${...}` reference (`"${x}"`, `"${x:-true}"`), nothing around it.
fn is_sole_reference(s: &str) -> bool {
    s.len() > 3 && s.starts_with("${") && s.ends_with('}') && s[2..].find('}') == Some(s.len() - 3)
}

/// Replaces each `<name>_file = "path"` key of a channel table by `<name> = <file contents>`
/// (trimmed). Relative paths resolve against `base`.
pub fn read_secret_files(table: &mut toml::Table, base: &Path, errors: &mut Vec<(String, String)>) {
    let keys: Vec<String> = table
        .keys()
        .filter(|k| k.ends_with("_file"))
        .cloned()
        .collect();
    for key in keys {
        let Some(toml::Value::String(p)) = table.get(&key) else {
            errors.push((key.clone(), "expected a file path string".into()));
            continue;
        };
        let path = crate::probe::resolve_path(base, Path::new(p));
        let name = key.trim_end_matches("_file").to_string();
        if table.contains_key(&name) {
            errors.push((
                key.clone(),
                format!("set either '{name}' or '{key}', not both"),
            ));
            continue;
        }
        // bounded, and a FIFO or device is refused: a config error, never a hang
        match crate::read::text(&path, crate::read::SMALL) {
            Ok(text) => {
                crate::redact::register(text.trim());
                table.remove(&key);
                table.insert(name, toml::Value::String(text.trim().to_string()));
            }
            Err(e) => errors.push((key.clone(), format!("cannot read secret file {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("abc".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_defaults_escapes_and_reports_missing() {
        assert_eq!(expand("Bearer ${TOKEN}", &env).unwrap(), "Bearer abc");
        assert_eq!(expand("${NOPE:-x}/${EMPTY:-y}", &env).unwrap(), "x/y");
        assert_eq!(expand("$${TOKEN} $HOME", &env).unwrap(), "${TOKEN} $HOME");
        assert_eq!(expand("$.data[0]", &env).unwrap(), "$.data[0]");
        assert!(
            expand("${NOPE}", &env)
                .unwrap_err()
                .contains("'NOPE' is not set")
        );
        assert!(expand("${TOKEN", &env).is_err());
    }

    #[test]
    fn a_sole_reference_to_true_or_false_becomes_a_boolean() {
        let lookup = |n: &str| match n {
            "yes" => Some("true".to_string()),
            "no" => Some("false".to_string()),
            "port" => Some("18789".to_string()),
            _ => None,
        };
        let mut v: toml::Value = toml::from_str(
            r#"a = "${yes}"
b = "${no}"
c = "${missing:-true}"
d = "x${yes}"
e = "${yes} ${no}"
f = "${port}"
g = "$${yes}"
h = ["${no}"]"#,
        )
        .unwrap();
        let mut errors = Vec::new();
        expand_tree(&mut v, "", &lookup, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(v["a"], toml::Value::Boolean(true));
        assert_eq!(v["b"], toml::Value::Boolean(false));
        assert_eq!(v["c"], toml::Value::Boolean(true));
        assert_eq!(v["d"].as_str(), Some("xtrue"));
        assert_eq!(v["e"].as_str(), Some("true false"));
        assert_eq!(v["f"].as_str(), Some("18789"));
        assert_eq!(v["g"].as_str(), Some("${yes}"));
        assert_eq!(v["h"][0], toml::Value::Boolean(false));
    }
}
