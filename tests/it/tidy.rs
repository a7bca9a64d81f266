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
        assert!(
            !code.contains(".unwrap()"),
            "{rel}: no unwrap outside tests"
        );
        assert!(!code.contains(".expect("), "{rel}: no expect outside tests");
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
        texts.push((format!("{} EXAMPLE", k.kind), k.example.to_string()));
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
