//! Expansion of `${VAR}` and `${VAR:-default}` in every string value (`$${` is a literal `${`),
//! and reading `*_file` secrets in channel tables. Owns the rule that a missing variable or
//! unreadable secret file is a config error naming the key path. It must not log values.

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
                    "variable '{name}' is not set (not in [vars], the include's vars or the environment)"
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
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                table.remove(&key);
                table.insert(name, toml::Value::String(text.trim().to_string()));
            }
            Err(e) => errors.push((
                key.clone(),
                format!("cannot read secret file '{}': {e}", path.display()),
            )),
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
}
