//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off in every normal build).
//! Each takes hostile bytes, runs one parser the daemon applies to files or responses it does not
//! control, and checks the parser's own invariants (panicking on a violation, which is what the
//! fuzzer reports). It must not be used by the product; it only reaches parsers.

use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ledgerd-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

/// The config loader on `data` as the main config file.
pub fn config(data: &[u8]) {
    let path = scratch().join("config.toml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let lookup = |name: &str| (name == "FUZZ").then(|| "value".to_string());
    let _ = crate::config::load_file_with_env(&path, &lookup);
}

/// Every chat escaper and `fit`, with their no-live-markup invariants.
pub fn escape(s: &str) {
    use crate::alert::escape as e;
    let h = e::html(s);
    assert!(!h.contains(['<', '>', '"']), "html left markup: {h:?}");
    let sl = e::slack(s);
    assert!(!sl.contains(['<', '>']), "slack left markup: {sl:?}");
    for m in [e::markdown(s), e::discord(s), e::mattermost(s)] {
        let chars: Vec<char> = m.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '\\' {
                i += 2;
                continue;
            }
            assert!(
                !['`', '*', '_', '~', '[', ']', '<', '>', '|', '{', '}'].contains(&chars[i]),
                "markdown left {:?} live in {m:?}",
                chars[i]
            );
            i += 1;
        }
    }
    let _ = e::whatsapp(s);
    let p = e::plain(s);
    assert!(!p.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    for max in [0usize, 1, 7, 64] {
        let f = e::fit(s, max, e::html);
        assert!(f.chars().count() <= max.max(1), "fit exceeded {max}: {f:?}");
    }
}
