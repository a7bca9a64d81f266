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
