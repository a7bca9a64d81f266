//! The one JSON5 reader (OpenClaw's `openclaw.json`, session stores, Claude's `.claude.json`):
//! strict JSON first (most files are plain JSON and serde_json is the faster parser, with its own
//! nesting limit), then JSON5 only after a linear pre-scan has refused anything nested deeper
//! than [`MAX_NESTING`] (the json5 crate recurses without a limit: 100,000 `[` overflowed the
//! stack and aborted the process). Every kind and `discover` parse JSON5 through [`parse`]; it
//! reads no files and must not call `json5::from_str` on unchecked text anywhere else. Where
//! OpenClaw's parser (json5.js) holds what Rust cannot, an unpaired surrogate escape reads as
//! U+FFFD and Infinity or NaN as null; tests/it/openclaw_cli.rs compares the two parsers.

use serde_json::Value;

/// Deepest nesting of arrays and objects accepted; serde_json's own limit is the same.
pub const MAX_NESTING: usize = 128;

/// Why a JSON5 text was not parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json5Error {
    /// Nested deeper than [`MAX_NESTING`] (1-based line and column of the first level past it):
    /// not judged, not called invalid.
    TooDeep { line: usize, column: usize },
    /// Not JSON5: the parser's message (without its position) and where (1-based; 0 unknown).
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
}

impl std::fmt::Display for Json5Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json5Error::TooDeep { line, column } => write!(
                f,
                "nested deeper than {MAX_NESTING} levels at line {line}, column {column}"
            ),
            Json5Error::Syntax {
                line,
                column,
                message,
            } => write!(f, "{message} at line {line}, column {column}"),
        }
    }
}

/// Parses JSON5 (or JSON) text into one JSON tree with bounded nesting.
pub fn parse(text: &str) -> Result<Value, Json5Error> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    if let Some((line, column)) = nested_deeper_than(text, MAX_NESTING) {
        return Err(Json5Error::TooDeep { line, column });
    }
    // JavaScript strings may hold an unpaired surrogate (`"\uD800"`), which OpenClaw's parser
    // accepts and a Rust string cannot: read as U+FFFD, the same length, so positions hold
    let well_formed = unpaired_surrogates_replaced(text);
    json5::from_str::<Value>(well_formed.as_deref().unwrap_or(text)).map_err(|e| {
        let full = e.to_string();
        let message = full
            .rfind(" at ")
            .map_or(full.as_str(), |i| &full[..i])
            .to_string();
        let (line, column) = e.position().map_or((0, 0), |p| (p.line + 1, p.column + 1));
        Json5Error::Syntax {
            line,
            column,
            message,
        }
    })
}

/// Where JSON5 `text` first nests deeper than `limit` arrays and objects (1-based line and
/// column), skipping strings and comments; `None` when it never does. Linear, no recursion.
pub fn nested_deeper_than(text: &str, limit: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for piece in Pieces::of(text) {
        match piece {
            Piece::Code(i, b'[' | b'{') => {
                depth += 1;
                if depth > limit {
                    return Some(line_col(text, i));
                }
            }
            Piece::Code(_, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// What a scan of JSON5 text meets: a byte of code (its index), or the inside of a string
/// (`start..end`, without its quotes). Comments are passed over.
enum Piece {
    Code(usize, u8),
    Str(usize, usize),
}

/// The pieces of JSON5 text, in order; linear.
struct Pieces<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Pieces<'a> {
    fn of(text: &'a str) -> Self {
        Pieces {
            b: text.as_bytes(),
            i: 0,
        }
    }
}

impl Iterator for Pieces<'_> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        let b = self.b;
        loop {
            let at = self.i;
            let c = *b.get(at)?;
            match c {
                q @ (b'"' | b'\'') => {
                    let mut end = at + 1;
                    while end < b.len() && b[end] != q {
                        end += if b[end] == b'\\' { 2 } else { 1 };
                    }
                    self.i = end + 1;
                    return Some(Piece::Str(at + 1, end.min(b.len())));
                }
                b'/' => {
                    if let Some(end) = comment_end(b, at) {
                        self.i = end + 1;
                        continue;
                    }
                }
                _ => {}
            }
            self.i = at + 1;
            return Some(Piece::Code(at, c));
        }
    }
}

/// Where a `//` or `/* */` comment starting at byte `i` ends (the index the scan of it stops
/// at: its newline, or the `/` closing it), or None when no comment starts there.
fn comment_end(b: &[u8], mut i: usize) -> Option<usize> {
    match b.get(i + 1) {
        Some(b'/') => {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            Some(i)
        }
        Some(b'*') => {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            Some(i + 1)
        }
        _ => None,
    }
}

/// `text` with every `\uXXXX` escape of an unpaired surrogate inside a string written as
/// `\uFFFD` (same length); `None` when there is none. Strings and comments as in
/// [`nested_deeper_than`]; linear.
fn unpaired_surrogates_replaced(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let unit = |at: usize| -> Option<u32> {
        let hex = b.get(at..at + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    for piece in Pieces::of(text) {
        let Piece::Str(mut i, end) = piece else {
            continue;
        };
        while i < end {
            if b[i] != b'\\' {
                i += 1;
                continue;
            }
            match unit(i) {
                Some(0xD800..=0xDBFF) if matches!(unit(i + 6), Some(0xDC00..=0xDFFF)) => i += 12,
                Some(0xD800..=0xDFFF) => {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    o.push_str(&text[copied..i]);
                    o.push_str("\\uFFFD");
                    i += 6;
                    copied = i;
                }
                _ => i += 2,
            }
        }
    }
    let mut o = out?;
    o.push_str(text.get(copied..).unwrap_or(""));
    Some(o)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_found_outside_strings_and_comments() {
        assert_eq!(nested_deeper_than("{a: [[1]]}", 2), Some((1, 6)));
        assert_eq!(nested_deeper_than("{a: '[[[[', b: \"\\\"[[\"}", 1), None);
        assert_eq!(nested_deeper_than("// [[[[\n/* [[[ */ [1]", 1), None);
    }

    #[test]
    fn json5_parses_and_deep_text_is_refused_not_a_crash() {
        let v = parse("{a: 1, // c\n b: [1, 2,],}").unwrap();
        assert_eq!(v["b"][1], 2);
        // deep enough to overflow the json5 crate's recursion on a 2 MB stack
        let deep = "[".repeat(300_000);
        assert_eq!(
            parse(&deep),
            Err(Json5Error::TooDeep {
                line: 1,
                column: MAX_NESTING + 1
            })
        );
        let e = parse("{a: }").unwrap_err();
        assert!(matches!(e, Json5Error::Syntax { line: 1, .. }), "{e}");
        let ok = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn an_unpaired_surrogate_escape_reads_as_the_replacement_character() {
        // OpenClaw (json5.js) accepts these; found by tests/it/openclaw_cli.rs's comparison
        assert_eq!(parse(r#""\uD800""#).unwrap(), "\u{FFFD}");
        assert_eq!(
            parse(r#"{a: 'x\udc00y', b: 1,}"#).unwrap()["a"],
            "x\u{FFFD}y"
        );
        assert_eq!(
            parse(r#"['\uD83D\uDE00', "\uD83D", "\uDE00\uD83D"]"#).unwrap(),
            serde_json::json!(["\u{1F600}", "\u{FFFD}", "\u{FFFD}\u{FFFD}"])
        );
        // an escaped backslash is no escape; outside strings nothing is rewritten
        assert_eq!(parse(r#"["\\uD800"]"#).unwrap()[0], "\\uD800");
        assert_eq!(
            unpaired_surrogates_replaced(
                r#"// "\uD800"
[1]"#
            ),
            None
        );
        // positions are those of the text as written (the `}` at column 18)
        let e = parse("{a: '\\uD800', b: }").unwrap_err();
        assert!(
            matches!(
                e,
                Json5Error::Syntax {
                    line: 1,
                    column: 18,
                    ..
                }
            ),
            "{e}"
        );
    }
}
