//! `ConfigError`: one problem in one file at one key path, with line and column where the parser
//! knows them, and `ConfigErrors` to collect them all. It must not decide what is an error.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// Dotted key path, e.g. `probe.hub_gateway.expect_json[1].path`; empty for the whole file.
    pub key: String,
    /// 1-based line and column.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((l, c)) = self.at {
            write!(f, ":{l}:{c}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

/// A non-fatal finding of `doctor` (fails only under `--strict`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigWarning {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every error found while loading, in file order.
#[derive(Clone, Debug, Default, PartialEq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors against one file, with its source text for locating key paths.
pub struct Sink<'a> {
    pub file: &'a Path,
    pub src: Option<&'a str>,
    pub errors: &'a mut Vec<ConfigError>,
}

impl Sink<'_> {
    pub fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        let at = self.src.and_then(|s| locate(s, &key));
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            key,
            at,
            message: one_line(&message.into()),
        });
    }
}

/// Folds a multi-line parser message (regex carets, serde's trailing newline) into one line.
pub fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "^")
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1-based line and column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// Splits `a.b[2].c` into segments; quoted keys are not produced by our paths.
fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(&rest[..i]));
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(n) = stripped[..end].parse() {
                    out.push(Seg::Index(n));
                }
                rest = &stripped[end + 1..];
            }
        } else if !rest.is_empty() {
            out.push(Seg::Key(rest));
        }
    }
    out
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Finds the line and column of the deepest part of `path` present in `src`. Points at the key
/// (for tables) or the value (for array items).
pub fn locate(src: &str, path: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(src).ok()?;
    let segs = segments(path);
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    let mut best: Option<usize> = None;
    for seg in segs {
        let value = match (seg, table, array) {
            (Seg::Key(k), Some(t), _) => {
                let Some((key, value)) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k)
                else {
                    break;
                };
                best = Some(key.span().start);
                value
            }
            (Seg::Index(i), _, Some(a)) => {
                let Some(v) = a.get(i) else { break };
                best = Some(v.span().start);
                v
            }
            _ => break,
        };
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    best.map(|o| line_col(src, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_and_array_items() {
        let src = "[daemon]\nlisten = \"x\"\n\n[probe.a]\nkind = \"http\"\nexpect_json = [\n  { path = \"$.a\" },\n  { path = \"$.[\" },\n]\n";
        assert_eq!(locate(src, "daemon.listen"), Some((2, 1)));
        assert_eq!(locate(src, "probe.a.kind"), Some((5, 1)));
        assert_eq!(locate(src, "probe.a.expect_json[1].path"), Some((8, 5)));
        assert_eq!(locate(src, "probe.a.nothing").map(|p| p.0), Some(4));
        assert_eq!(locate(src, "other"), None);
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
