//! Includes and variables: the `include` entries of a file (a path or `{ path, vars, prefix }`),
//! the variables in force for a file (an include's `vars` over the main `[vars]`, then a pack's
//! own `[vars]` as defaults, then the built-ins, then the environment) and `${VAR}` expansion of
//! a file's tables. It must not read files (the loader does) or build typed values.

use super::env;
use std::collections::BTreeMap;

/// One `include` entry.
pub(super) struct Include {
    pub(super) key: String,
    pub(super) path: String,
    pub(super) vars: BTreeMap<String, String>,
    pub(super) prefix: String,
}

pub(super) fn collect_includes(
    key: &str,
    v: Option<&toml::Value>,
    out: &mut Vec<Include>,
    errors: &mut Vec<(String, String)>,
) {
    let Some(v) = v else { return };
    let Some(items) = v.as_array() else {
        errors.push((
            key.to_string(),
            "expected an array of file paths or { path, vars, prefix } tables".into(),
        ));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        match item {
            toml::Value::String(s) => out.push(Include {
                key: k,
                path: s.clone(),
                vars: BTreeMap::new(),
                prefix: String::new(),
            }),
            toml::Value::Table(t) => {
                let mut ok = true;
                for extra in t
                    .keys()
                    .filter(|x| !["path", "vars", "prefix"].contains(&x.as_str()))
                {
                    errors.push((
                        format!("{k}.{extra}"),
                        format!(
                            "unknown field `{extra}`, expected one of `path`, `vars`, `prefix`"
                        ),
                    ));
                    ok = false;
                }
                let path = match t.get("path").and_then(|p| p.as_str()) {
                    Some(p) => p.to_string(),
                    None => {
                        errors.push((k.clone(), "missing `path`".into()));
                        continue;
                    }
                };
                let prefix = match t.get("prefix") {
                    None => String::new(),
                    Some(toml::Value::String(p))
                        if p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                    {
                        p.clone()
                    }
                    Some(_) => {
                        errors.push((
                            format!("{k}.prefix"),
                            "expected a string of letters, digits, '_' and '-'".into(),
                        ));
                        ok = false;
                        String::new()
                    }
                };
                let mut vars = BTreeMap::new();
                match t.get("vars") {
                    None => {}
                    Some(toml::Value::Table(vt)) => {
                        for (name, val) in vt {
                            match scalar(val) {
                                Some(s) => {
                                    vars.insert(name.clone(), s);
                                }
                                None => {
                                    errors.push((
                                        format!("{k}.vars.{name}"),
                                        "expected a string, number or boolean".into(),
                                    ));
                                    ok = false;
                                }
                            }
                        }
                    }
                    Some(_) => {
                        errors.push((format!("{k}.vars"), "expected a table of variables".into()));
                        ok = false;
                    }
                }
                if ok {
                    out.push(Include {
                        key: k,
                        path,
                        vars,
                        prefix,
                    });
                }
            }
            _ => errors.push((
                k,
                "expected a file path or a { path, vars, prefix } table".into(),
            )),
        }
    }
}

/// Variables every config can use without defining them: below the include's vars, the main
/// `[vars]` and a pack's `[vars]`, above the environment. `os` ("linux", "macos", ...),
/// `os_linux` and `os_macos` ("true"/"false", for `enabled = "${os_linux}"`), `os_home_root`
/// ("/Users" on macOS, else "/home") and `os_crontab_dir`, where per-user crontabs live
/// ("/usr/lib/cron/tabs" on macOS, else Debian's "/var/spool/cron/crontabs").
pub fn builtin_var(name: &str) -> Option<String> {
    let os = std::env::consts::OS;
    match name {
        "os" => Some(os.to_string()),
        "os_linux" => Some((os == "linux").to_string()),
        "os_macos" => Some((os == "macos").to_string()),
        "os_home_root" => Some(if os == "macos" { "/Users" } else { "/home" }.to_string()),
        "os_crontab_dir" => Some(
            if os == "macos" {
                "/usr/lib/cron/tabs"
            } else {
                "/var/spool/cron/crontabs"
            }
            .to_string(),
        ),
        _ => None,
    }
}

/// Adds an included file's `[vars]` table to `vars` as defaults: a name already set (by the
/// include's vars or the main `[vars]`) keeps its value. Defaults may use each other in any
/// order, the variables above, the built-ins and the environment; a cycle is an error.
fn pack_defaults(
    v: &toml::Value,
    vars: &mut BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    let Some(mut pending) = scalar_vars(v, |k| vars.contains_key(k), errors) else {
        return;
    };
    while !pending.is_empty() {
        let mut progress = false;
        let names: Vec<String> = pending.keys().cloned().collect();
        for name in names {
            let result = {
                let waits = std::cell::Cell::new(false);
                let lookup = |n: &str| {
                    if n != name && pending.contains_key(n) {
                        waits.set(true);
                        return None;
                    }
                    vars.get(n)
                        .cloned()
                        .or_else(|| builtin_var(n))
                        .or_else(|| env(n))
                };
                let r = env::expand(&pending[&name], &lookup);
                if waits.get() { None } else { Some(r) }
            };
            match result {
                None => continue,
                Some(Ok(value)) => {
                    vars.insert(name.clone(), value);
                }
                Some(Err(e)) => errors.push((format!("vars.{name}"), e)),
            }
            pending.remove(&name);
            progress = true;
        }
        if !progress {
            let names: Vec<String> = pending.keys().cloned().collect();
            for name in &names {
                errors.push((
                    format!("vars.{name}"),
                    format!(
                        "defaults refer to each other in a cycle ({})",
                        names.join(", ")
                    ),
                ));
            }
            return;
        }
    }
}

/// A scalar variable value as text, or `None` for arrays and tables.
fn scalar(val: &toml::Value) -> Option<String> {
    match val {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
            Some(val.to_string())
        }
        _ => None,
    }
}

/// The values of a `[vars]` table but those `skip` names, each as a string; a value that is no
/// string, number or boolean is an error at `vars.<name>`, and `None` (with an error) when `v`
/// is no table.
fn scalar_vars(
    v: &toml::Value,
    skip: impl Fn(&str) -> bool,
    errors: &mut Vec<(String, String)>,
) -> Option<BTreeMap<String, String>> {
    let Some(t) = v.as_table() else {
        errors.push(("vars".into(), "expected a table of variables".into()));
        return None;
    };
    let mut out = BTreeMap::new();
    for (k, val) in t.iter().filter(|(k, _)| !skip(k)) {
        match scalar(val) {
            Some(s) => {
                out.insert(k.clone(), s);
            }
            None => errors.push((
                format!("vars.{k}"),
                "expected a string, number or boolean".into(),
            )),
        }
    }
    Some(out)
}

/// Expands `${VAR}` in one file's tables. The main file's `[vars]` (whose values may use the
/// built-ins and the environment) join `vars` and apply everywhere; an included file's own
/// `[vars]` fill in what `vars` leaves unset. Errors are (key path, message) in this file.
pub(super) fn expand_doc(
    table: &mut toml::Table,
    is_main: bool,
    vars: &mut BTreeMap<String, String>,
    env_fn: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    // every value taken from the environment is a possible secret: the redactor learns it
    // (`redact::register_env` skips HOME, PATH and the like)
    let env_fn = &|name: &str| {
        let v = env_fn(name);
        if let Some(v) = &v {
            crate::redact::register_env(name, v);
        }
        v
    };
    if is_main && let Some(v) = table.get_mut("vars") {
        let lookup = |name: &str| builtin_var(name).or_else(|| env_fn(name));
        env::expand_tree(v, "vars", &lookup, errors);
        vars.extend(scalar_vars(v, |_| false, errors).unwrap_or_default());
    }
    // a pack's own [vars] are its defaults: they fill in what the include's vars and the main
    // [vars] leave unset, and may refer to each other
    if !is_main && let Some(v) = table.get("vars") {
        pack_defaults(v, vars, env_fn, errors);
    }
    let lookup = |name: &str| {
        vars.get(name)
            .cloned()
            .or_else(|| builtin_var(name))
            .or_else(|| env_fn(name))
    };
    for (k, v) in table.iter_mut() {
        if k != "vars" {
            env::expand_tree(v, k, &lookup, errors);
        }
    }
}
