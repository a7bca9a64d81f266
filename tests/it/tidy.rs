//! Conventions enforced as tests: every source file opens with `//!`; the files in `probe/` and
//! `alert/` match the registered kinds; the HTTP client is built only in `http_client.rs`;
//! `println!` only in `cmd/`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a //! paragraph",
            f.display()
        );
    }
}

#[test]
fn kind_files_match_the_registries() {
    let kinds: Vec<&str> = ledgerd::probe::KINDS.iter().map(|k| k.kind).collect();
    let mut files: Vec<String> = std::fs::read_dir(src().join("probe"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|n| n != "mod")
        .collect();
    // helpers shared by kinds are `pub mod` lines in probe/mod.rs; kinds are private `mod` lines
    let probe_mod = std::fs::read_to_string(src().join("probe/mod.rs")).unwrap();
    let helpers: Vec<String> = probe_mod
        .lines()
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .and_then(|r| r.strip_suffix(';'))
                .map(str::to_string)
        })
        .collect();
    files.retain(|f| !helpers.contains(f));
    files.sort();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(files, sorted, "src/probe/*.rs and probe_kinds! disagree");
    let channels: Vec<&str> = ledgerd::alert::CHANNEL_KINDS
        .iter()
        .map(|k| k.kind)
        .collect();
    // in alert/mod.rs, helpers are `pub mod`, channel kinds are private `mod` lines
    let mod_rs = std::fs::read_to_string(src().join("alert/mod.rs")).unwrap();
    let private: Vec<String> = mod_rs
        .lines()
        .filter_map(|l| {
            l.strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'))
                .map(str::to_string)
        })
        .collect();
    let public: Vec<String> = mod_rs
        .lines()
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .and_then(|r| r.strip_suffix(';'))
                .map(str::to_string)
        })
        .collect();
    let mut private_sorted = private.clone();
    private_sorted.sort();
    let mut sorted: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
    sorted.sort();
    assert_eq!(
        private_sorted, sorted,
        "private `mod` lines in alert/mod.rs and channel_kinds! disagree"
    );
    for e in std::fs::read_dir(src().join("alert")).unwrap() {
        let name = e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        assert!(
            name == "mod" || private.contains(&name) || public.contains(&name),
            "src/alert/{name}.rs is not declared in alert/mod.rs"
        );
    }
}

#[test]
fn conventions() {
    let manifest = std::fs::read_to_string(src().join("../Cargo.toml")).unwrap();
    for lint in [
        "unwrap_used = \"deny\"",
        "expect_used = \"deny\"",
        "unsafe_code = \"deny\"",
    ] {
        assert!(
            manifest.contains(lint),
            "Cargo.toml [lints] must keep {lint}"
        );
    }
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().to_string();
        let code: String = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
        if rel != "http_client.rs" {
            assert!(
                !code.contains("reqwest::Client::new"),
                "{rel}: use http_client::shared()"
            );
            assert!(
                !code.contains("Client::builder"),
                "{rel}: build clients in http_client.rs"
            );
        }
        if !rel.starts_with("cmd/") {
            assert!(
                !code.replace("eprintln!", "").contains("println!"),
                "{rel}: println! belongs in cmd/"
            );
        }
        // unwrap/expect are denied by clippy (Cargo.toml [lints]); only the static patterns may
        // lift that, because their one test compiles every one of them
        if rel != "patterns.rs" {
            assert!(
                !code.contains("allow(clippy::unwrap_used")
                    && !code.contains("allow(clippy::expect_used"),
                "{rel}: unwrap/expect are denied outside tests"
            );
        }
    }
}

/// Module path of a source file: `engine/recorder.rs` -> `engine::recorder`, `alert/mod.rs` ->
/// `alert`; `lib.rs` and `main.rs` are the root ("").
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts.join("::")
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e` (identifiers only).
fn expand_use(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let base = join_path(prefix, head);
        let (mut depth, mut start) = (0, 0);
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use(&base, &inner[start..], out);
    } else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        if !path.is_empty() && path != "self" {
            out.push(join_path(prefix, path));
        } else if path == "self" {
            out.push(prefix.to_string());
        }
    }
}

fn join_path(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}::{b}"),
    }
}

/// The code of a file before its `#[cfg(test)]` module, without `//` comments.
fn production_code(text: &str) -> String {
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::`, `super::` or `self::` path a module's production code names, as absolute
/// paths without the `crate::` prefix.
fn paths_named(module: &str, code: &str) -> Vec<String> {
    let parent = |m: &str| {
        m.rsplit_once("::")
            .map_or(String::new(), |(p, _)| p.to_string())
    };
    // `super` of a file `a/b.rs` (a::b) is `a`; of `a/b/mod.rs` (a::b) also `a`
    let sup = parent(module);
    let mut out = Vec::new();
    let use_re = regex::Regex::new(r"(?s)\buse\s+((?:crate|super|self)::[^;]*);").unwrap();
    for c in use_re.captures_iter(code) {
        let mut raw = Vec::new();
        expand_use("", &c[1], &mut raw);
        out.extend(raw);
    }
    let inline = regex::Regex::new(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)").unwrap();
    let without_uses = use_re.replace_all(code, "");
    for c in inline.captures_iter(&without_uses) {
        out.push(format!("{}{}", &c[1], &c[2]));
    }
    out.into_iter()
        .filter_map(|p| {
            if let Some(r) = p.strip_prefix("crate::") {
                Some(r.to_string())
            } else if let Some(r) = p.strip_prefix("super::") {
                Some(join_path(&sup, r))
            } else {
                p.strip_prefix("self::").map(|r| join_path(module, r))
            }
        })
        .collect()
}

/// The module files under `src/` and the module each of them names (longest known prefix).
fn module_edges() -> (Vec<String>, Vec<(String, String)>) {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut modules: Vec<(String, PathBuf)> = files
        .iter()
        .map(|f| (module_of(f.strip_prefix(src()).unwrap()), f.clone()))
        .filter(|(m, _)| !m.is_empty())
        .collect();
    modules.sort();
    let names: Vec<String> = modules.iter().map(|(m, _)| m.clone()).collect();
    let mut edges = Vec::new();
    for (m, f) in &modules {
        let text = std::fs::read_to_string(f).unwrap();
        for p in paths_named(m, &production_code(&text)) {
            let segs: Vec<&str> = p.split("::").collect();
            let target = (1..=segs.len())
                .rev()
                .map(|i| segs[..i].join("::"))
                .find(|cand| names.contains(cand));
            if let Some(t) = target
                && &t != m
                && !t.starts_with(&format!("{m}::"))
            {
                edges.push((m.clone(), t));
            }
        }
    }
    edges.sort();
    edges.dedup();
    (names, edges)
}

/// The documented layers from `src/lib.rs`: `//! - layer N: `a`, `b``.
fn documented_layers() -> Vec<(String, u32)> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<u32> = None;
    for line in lib.lines() {
        let mods = if let Some(rest) = line.strip_prefix("//! - layer ") {
            let (n, mods) = rest.split_once(':').unwrap();
            current = Some(n.trim().parse().unwrap());
            mods
        } else if let (Some(rest), Some(_)) = (line.strip_prefix("//!   `"), current) {
            rest // a continuation line of the same layer
        } else {
            current = None;
            continue;
        };
        for m in mods.split(',').map(|m| m.trim().trim_matches('`')) {
            if !m.is_empty() {
                out.push((m.to_string(), current.unwrap_or_default()));
            }
        }
    }
    out
}

#[test]
fn imports_follow_the_documented_layers_without_circles() {
    let layers = documented_layers();
    assert!(layers.len() > 10, "src/lib.rs lists the layers: {layers:?}");
    let layer = |m: &str| {
        let top = m.split("::").next().unwrap_or(m);
        layers.iter().find(|(n, _)| n == top).map(|(_, l)| *l)
    };
    let (names, edges) = module_edges();
    let mut problems = Vec::new();
    for n in &names {
        if layer(n).is_none() {
            problems.push(format!("{n}: not in the layers in src/lib.rs"));
        }
    }
    for (a, b) in &edges {
        let top_a = a.split("::").next().unwrap();
        let top_b = b.split("::").next().unwrap();
        if top_a == top_b {
            continue;
        }
        if let (Some(la), Some(lb)) = (layer(a), layer(b))
            && la <= lb
        {
            problems.push(format!("{a} (layer {la}) uses {b} (layer {lb})"));
        }
    }
    // within a top-level module too: no file imports a file that imports it back
    let mut cycle = None;
    for start in &names {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = std::collections::BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for (_, next) in edges.iter().filter(|(a, _)| *a == at) {
                if next == start {
                    let mut c = path.clone();
                    c.push(next.clone());
                    cycle = Some(c);
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
        if let Some(c) = cycle.take() {
            problems.push(format!("import circle: {}", c.join(" -> ")));
        }
    }
    // rooms: kinds import the contract and leaves, not each other or the rest of the house
    let probe_kinds: Vec<String> = ledgerd::probe::KINDS
        .iter()
        .map(|k| format!("probe::{}", k.kind))
        .collect();
    let channel_kinds: Vec<String> = ledgerd::alert::CHANNEL_KINDS
        .iter()
        .map(|k| format!("alert::{}", k.kind))
        .collect();
    for (a, b) in &edges {
        let (home, others) = if probe_kinds.contains(a) {
            ("probe", &probe_kinds)
        } else if channel_kinds.contains(a) {
            ("alert", &channel_kinds)
        } else {
            continue;
        };
        let top_b = b.split("::").next().unwrap();
        let allowed = (top_b == home && !others.contains(b))
            || (home == "alert" && top_b == "probe" && !probe_kinds.contains(b))
            || layer(b).is_some_and(|l| l <= 1);
        if !allowed {
            problems.push(format!("{a} is a kind and may not use {b}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_layer_check_sees_circles_and_upward_imports() {
    // the extractor itself: groups, nesting, super and self resolve to absolute module paths
    let code = "use crate::{config::{self, Config}, alert::route as r};\nuse super::state::X;\nfn f() { crate::web::auth::check(); self::inner::g(); }\n";
    let mut got = paths_named("engine::recorder", &production_code(code));
    got.sort();
    assert_eq!(
        got,
        [
            "alert::route",
            "config",
            "config::Config",
            "engine::recorder::inner::g",
            "engine::state::X",
            "web::auth::check"
        ]
    );
    assert!(paths_named("a", &production_code("// use crate::b::c;\n")).is_empty());
    assert!(paths_named("a", &production_code("#[cfg(test)]\nuse crate::b;\n")).is_empty());
}

#[test]
fn nothing_in_the_product_points_outside_the_repo() {
    // users' clones do not have the session's shared folder
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "checks", "deploy", "docs", "benches"] {
        let d = root.join(dir);
        if d.is_dir() {
            all_files(&d, &mut files);
        }
    }
    files.extend(["README.md", "config.example.toml", "Cargo.toml"].map(|f| root.join(f)));
    let needles = [concat!("..", "/shared"), concat!("/work", "/shared")];
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for n in needles {
            assert!(!text.contains(n), "{} refers to {n}", f.display());
        }
    }
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every `[probe.*]` table of a TOML text: (id, kind, cited lessons).
fn shipped_probes(text: &str, origin: &str) -> Vec<(String, String, Vec<u32>)> {
    let doc: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{origin}: {e}"));
    let Some(probes) = doc.get("probe").and_then(|p| p.as_table()) else {
        return Vec::new();
    };
    probes
        .iter()
        .map(|(id, t)| {
            let kind = t["kind"].as_str().unwrap().to_string();
            let lessons: Vec<u32> = match (t.get("lesson"), t.get("lessons")) {
                (Some(l), _) => vec![l.as_integer().unwrap() as u32],
                (_, Some(ls)) => ls
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_integer().unwrap() as u32)
                    .collect(),
                _ => panic!("{origin}: probe.{id} cites no lesson"),
            };
            (id.clone(), kind, lessons)
        })
        .collect()
}

/// A shipped probe (the embedded packs, each kind's EXAMPLE, config.example.toml as is and fully
/// uncommented, the README's config blocks) cites only lessons its kind can check, and none is a
/// `command` probe: a shell one-liner cannot be judged by us, and a guard that always passes makes
/// a lesson look held while nothing watches it.
#[test]
fn shipped_probes_cite_only_lessons_their_kind_can_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts: Vec<(String, String)> = Vec::new();
    for e in std::fs::read_dir(root.join("checks")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            texts.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    let example = std::fs::read_to_string(root.join("config.example.toml")).unwrap();
    let uncommented: String = example
        .lines()
        .map(|l| {
            l.strip_prefix('#')
                .filter(|r| !r.starts_with(' ') && !r.is_empty() && !r.starts_with('#'))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    texts.push(("config.example.toml".into(), example));
    texts.push(("config.example.toml (uncommented)".into(), uncommented));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (i, block) in readme.split("```toml\n").skip(1).enumerate() {
        let block = block.split("```").next().unwrap();
        if block.contains("[probe.") {
            texts.push((format!("README.md toml block {i}"), block.to_string()));
        }
    }
    for k in ledgerd::probe::KINDS {
        texts.push((format!("{} EXAMPLE", k.kind), k.example()));
    }
    let mut seen = 0;
    for (origin, text) in &texts {
        for (id, kind, lessons) in shipped_probes(text, origin) {
            seen += 1;
            if origin.ends_with(" EXAMPLE") && kind == "command" {
                continue; // the kind's own documentation
            }
            assert_ne!(kind, "command", "{origin}: probe.{id} is a command probe");
            let info = ledgerd::probe::KINDS
                .iter()
                .find(|k| k.kind == kind)
                .unwrap_or_else(|| panic!("{origin}: probe.{id}: unknown kind {kind}"));
            for l in &lessons {
                assert!(
                    info.lessons.contains(l),
                    "{origin}: probe.{id} cites lesson {l}, but a {kind} probe can check only {:?}",
                    info.lessons
                );
            }
        }
    }
    assert!(seen > 30, "only {seen} shipped probes found");
}

#[test]
fn one_duration_parser() {
    // durations are parsed in src/duration.rs only (one syntax, one error format)
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for f in files {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        if rel != "duration.rs" {
            assert!(
                !text.contains("humantime::parse_duration"),
                "{rel}: parse durations with crate::duration"
            );
        }
    }
}

/// Functions (name, first line, length in lines) in `text`'s non-test part longer than `limit`:
/// from the `fn` line to the first line that is the function's own indentation and `}`.
fn long_functions(text: &str, limit: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let mut rest = trimmed;
        for prefix in [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        let Some(name) = rest.strip_prefix("fn ") else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{indent}}}");
        let mut end = None;
        for (j, l) in lines.iter().enumerate().skip(i) {
            let l = l.trim_end();
            if j == i && l.ends_with('}') && l.contains('{') {
                end = Some(j);
                break;
            }
            if l.ends_with(';') && !lines[i..j].iter().any(|k| k.trim_end().ends_with('{')) {
                break; // a declaration without a body
            }
            if j > i && l == close {
                end = Some(j);
                break;
            }
        }
        if let Some(end) = end
            && end - i + 1 > limit
        {
            out.push((name, i + 1, end - i + 1));
        }
    }
    out
}

#[test]
fn no_function_in_src_is_longer_than_120_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        for (name, line, n) in long_functions(&text, 120) {
            long.push(format!("{rel}:{line} {name}: {n} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "split these into one function per step:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_length_check_sees_long_functions_only_outside_tests() {
    let body = "    let x = 1;\n".repeat(130);
    let text = format!(
        "pub async fn big() {{\n{body}}}\n\nfn small() {{\n    x();\n}}\n\n#[cfg(test)]\nmod tests {{\n    fn big_test() {{\n{body}    }}\n}}\n"
    );
    let long = long_functions(&text, 120);
    assert_eq!(long, vec![("big".to_string(), 1, 132)]);
    assert!(long_functions(&text, 200).is_empty());
}
