//! Path patterns for kinds that judge every match of a pattern, such as OpenClaw's per-agent
//! session stores (`~/.openclaw/agents/*/sessions/sessions.json`): a `*` in any segment matches
//! any run of characters within one name, hidden names only when the segment itself starts with
//! a dot. Expansion is bounded (entries read per directory, matches returned) and sorted; it only
//! lists directories and never reads a file (kinds read through `crate::read`), and it runs on
//! the caller's blocking pool. Under `--root` the caller re-anchors each match
//! (`ProbeCx::reanchor`).

use std::path::{Path, PathBuf};

/// Most entries read from one directory while expanding.
const MAX_ENTRIES: usize = 4096;

/// A glob as an anchored regular expression, for kinds that match walked paths against globs
/// (file_mode's excludes, markdown's paths): `**/` is zero or more directories, `**` elsewhere any
/// characters, `*` any characters but `/`, `?` one character but `/`; the rest literal.
pub fn to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

/// Whether a path has a `*` to expand.
pub fn is_pattern(p: &Path) -> bool {
    p.to_string_lossy().contains('*')
}

/// The regular files `pattern` matches, sorted, at most `max`; the bool says whether more
/// matched than were returned.
pub fn files(pattern: &Path, max: usize) -> (Vec<PathBuf>, bool) {
    let mut found = expand(pattern, MAX_ENTRIES, usize::MAX);
    let mut more = false;
    found.retain(|p| p.is_file());
    if found.len() > max {
        found.truncate(max);
        more = true;
    }
    (found, more)
}

/// Every path `pattern` names, segment by segment: a segment with a `*` is replaced by the
/// matching names of each directory so far (at most `max_entries` read from one directory,
/// sorted per directory, at most `max_paths` kept per segment). Whether the last segment exists
/// is the caller's check.
pub fn expand(pattern: &Path, max_entries: usize, max_paths: usize) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let seg = comp.as_os_str().to_string_lossy();
        if !seg.contains('*') {
            for p in &mut found {
                p.push(comp.as_os_str());
            }
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            let here = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(rd) = std::fs::read_dir(here) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .take(max_entries)
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') || seg.starts_with('.'))
                .filter(|n| star_match(&seg, n))
                .collect();
            names.sort();
            let room = max_paths.saturating_sub(next.len());
            next.extend(names.into_iter().take(room).map(|n| dir.join(n)));
        }
        found = next;
    }
    found
}

/// `*` matches any run of characters within one name.
fn star_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == name;
    }
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_regexes_take_double_star_slash_as_zero_or_more_directories() {
        for (glob, path, matches) in [
            ("/b/knowledge/**/*.md", "/b/knowledge/x.md", true),
            ("/b/knowledge/**/*.md", "/b/knowledge/a/b/x.md", true),
            ("/b/knowledge/**/*.md", "/b/knowledge/a/x.txt", false),
            ("**/node_modules/*", "/a/b/node_modules/x", true),
            ("**/node_modules/*", "/a/b/node_modules/x/y", false),
            ("/p/**", "/p/a/b", true),
            ("*.l?g", "a.log", true),
            ("*.log", "a/b.log", false),
            ("a+b(c).md", "a+b(c).md", true),
        ] {
            let re = regex::Regex::new(&to_regex(glob)).unwrap();
            assert_eq!(re.is_match(path), matches, "{glob} on {path}");
        }
    }

    #[test]
    fn stars_match_within_one_name() {
        assert!(star_match("*", "cs"));
        assert!(star_match("workspace-*", "workspace-cs"));
        assert!(star_match("a*b*c", "aXbYc"));
        assert!(!star_match("a*b*c", "aXc"));
        assert!(!star_match("ab*ba", "aba"));
        assert!(star_match("sessions.json", "sessions.json"));
        assert!(!star_match("sessions.json", "sessions.json.bak"));
        // the names the credentials kind expands
        assert!(star_match("ai.openclaw.*.plist", "ai.openclaw.cs.plist"));
        assert!(!star_match("ai.openclaw.*.plist", "ai.openclaw.plist"));
        assert!(star_match("*_tokens.json", "abc_tokens.json"));
        assert!(star_match("openclaw-*.service", "openclaw-hub.service"));
    }

    #[test]
    fn expands_directory_segments_sorted_and_bounded() {
        let d = tempfile::tempdir().unwrap();
        for agent in ["retail", "cs", ".hidden"] {
            let s = d.path().join("agents").join(agent).join("sessions");
            std::fs::create_dir_all(&s).unwrap();
            std::fs::write(s.join("sessions.json"), "{}").unwrap();
        }
        // a directory where a file is expected does not match
        std::fs::create_dir_all(d.path().join("agents/dir/sessions/sessions.json")).unwrap();
        let pattern = d.path().join("agents/*/sessions/sessions.json");
        assert!(is_pattern(&pattern));
        let (got, more) = files(&pattern, 10);
        assert_eq!(
            got,
            [
                d.path().join("agents/cs/sessions/sessions.json"),
                d.path().join("agents/retail/sessions/sessions.json"),
            ]
        );
        assert!(!more);
        let (got, more) = files(&pattern, 1);
        assert_eq!(got.len(), 1);
        assert!(more);
        assert!(files(&d.path().join("none/*/x.json"), 10).0.is_empty());
    }
}
