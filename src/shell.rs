//! The shell reader: a heuristic, bounded reader of POSIX shell text (crontab command lines,
//! the scripts they run, `ExecStart=` lines, launchd `ProgramArguments` that run `sh -c`). It owns
//! splitting text into simple commands (`lex`), finding variable references (`vars`), blanking
//! heredoc bodies (`prepare`) and reading one word (`read_word`). It is linear in its input and
//! never recursive: command substitutions (`$(…)`, backquotes) are tracked on an explicit stack
//! of at most `MAX_DEPTH` levels; deeper nesting stops the reader with a finding the caller
//! reports ("command nesting deeper than 64 levels"), never a stack overflow. It is not a shell:
//! it never runs, expands or judges anything; what a command means is the caller's business.

/// Deepest nesting of command substitutions read; deeper text is a finding, not a crash.
pub const MAX_DEPTH: usize = 64;

/// Variables a shell sets by itself.
pub const SHELL_VARS: &[&str] = &[
    "IFS",
    "OPTARG",
    "OPTIND",
    "PPID",
    "RANDOM",
    "LINENO",
    "SECONDS",
    "HOSTNAME",
    "HOSTTYPE",
    "OSTYPE",
    "MACHTYPE",
    "UID",
    "EUID",
    "GROUPS",
    "BASH",
    "BASHPID",
    "BASH_SOURCE",
    "BASH_VERSION",
    "BASH_LINENO",
    "BASH_REMATCH",
    "FUNCNAME",
    "PIPESTATUS",
    "OLDPWD",
    "REPLY",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "PS1",
    "PS4",
    "SHLVL",
    "_",
];

/// Shell builtins and keywords: never looked up on PATH.
pub const BUILTINS: &[&str] = &[
    ".",
    ":",
    "[",
    "[[",
    "]]",
    "]",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "cd",
    "command",
    "compgen",
    "complete",
    "continue",
    "declare",
    "dirs",
    "disown",
    "echo",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "case",
    "esac",
    "for",
    "select",
    "while",
    "until",
    "do",
    "done",
    "in",
    "function",
    "time",
    "{",
    "}",
    "!",
    "(",
    ")",
    "((",
    "))",
];

/// The words after leading `if`, `!`, `then`, `do`... (the simple command itself).
pub fn after_keywords(words: &[String]) -> &[String] {
    let skip = words
        .iter()
        .take_while(|w| {
            matches!(
                w.as_str(),
                "if" | "then" | "else" | "elif" | "while" | "until" | "do" | "!" | "{" | "time"
            )
        })
        .count();
    &words[skip..]
}

/// Index of the wrapped command in `words` (words[0] is the wrapper): skips options, the
/// arguments of `with_arg` options, and (for `env`/`sudo`) `NAME=value` words.
pub fn skip_args(words: &[String], with_arg: &[&str], assignments: bool) -> usize {
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if w == "--" {
            return i + 1;
        }
        if with_arg.contains(&w.as_str()) {
            i += 2;
            continue;
        }
        if w.starts_with('-') {
            i += 1;
            continue;
        }
        if assignments && w.contains('=') && is_name(w.split('=').next().unwrap_or("")) {
            i += 1;
            continue;
        }
        break;
    }
    i
}

/// One shell word starting at the beginning of `s` (after spaces), quotes and `$(...)` kept.
pub fn read_word(s: &str) -> &str {
    let s = s.trim_start();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q && prev != '\\' => quote = None,
            (Some(_), '(') if prev == '$' => depth += 1,
            (Some(_), ')') if depth > 0 => depth -= 1,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') if prev == '$' => depth += 1,
            (None, ')') if depth > 0 => depth -= 1,
            (None, c) if depth == 0 && (c.is_whitespace() || ";&|)<>".contains(c)) => {
                return &s[..i];
            }
            _ => {}
        }
        prev = c;
    }
    s
}

/// Shell text with heredoc bodies blanked (line numbers kept), the bodies that expand `$VAR`,
/// and the literal (quoted-delimiter) bodies; case patterns (`start|restart)`) are blanked.
pub struct Prepared {
    pub shell: String,
    pub bodies: String,
    pub literal: Vec<(usize, String)>,
}

pub fn prepare(text: &str) -> Prepared {
    use crate::patterns::{CASE_IN, CASE_PAT, ESAC, HEREDOC};
    let lines: Vec<&str> = text.lines().collect();
    let mut shell = Vec::with_capacity(lines.len());
    let mut bodies = Vec::with_capacity(lines.len());
    let mut literal = Vec::new();
    let mut case_depth = 0usize;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let mut pending: Vec<(String, bool)> = Vec::new();
        let code_part = match line.find(" #") {
            Some(p) => &line[..p],
            None => line,
        };
        if !line.trim_start().starts_with('#') {
            for c in HEREDOC.captures_iter(code_part) {
                let Some(m) = c.get(0) else { continue };
                let bytes = code_part.as_bytes();
                if m.start() > 0 && bytes[m.start() - 1] == b'<' {
                    continue;
                }
                if bytes.get(m.start() + 2) == Some(&b'<') {
                    continue;
                }
                if let Some(q) = c.get(1).or(c.get(2)) {
                    pending.push((q.as_str().to_string(), true));
                } else if let Some(d) = c.get(3) {
                    let quoted = m.as_str().contains('\\');
                    pending.push((d.as_str().to_string(), quoted));
                }
            }
        }
        let mut out_line = line.to_string();
        if case_depth > 0
            && !ESAC.is_match(line)
            && let Some(m) = CASE_PAT.find(line)
        {
            out_line = format!("{}{}", " ".repeat(m.end()), &line[m.end()..]);
        }
        if CASE_IN.is_match(code_part) {
            case_depth += 1;
        }
        if ESAC.is_match(code_part) {
            case_depth = case_depth.saturating_sub(1);
        }
        shell.push(out_line);
        bodies.push(String::new());
        i += 1;
        for (delim, quoted) in pending {
            let start = i + 1;
            let mut body = String::new();
            while i < lines.len() && lines[i].trim() != delim {
                if quoted {
                    body.push_str(lines[i]);
                    body.push('\n');
                    bodies.push(String::new());
                } else {
                    bodies.push(lines[i].to_string());
                }
                shell.push(String::new());
                i += 1;
            }
            if i < lines.len() {
                shell.push(String::new());
                bodies.push(String::new());
                i += 1;
            }
            if quoted {
                literal.push((start, body));
            }
        }
    }
    Prepared {
        shell: shell.join("\n"),
        bodies: bodies.join("\n"),
        literal,
    }
}

#[derive(Debug, PartialEq)]
pub enum VarKind {
    /// Used without a default: breaks (or fails a `:?` guard) when unset.
    Use,
    /// Used with a default (`${X:-d}`, `${X:+y}`): fine when unset.
    Safe,
    /// Given a value (`${X:=d}`).
    Assign,
}

/// `$VAR` and `${VAR...}` outside single quotes and comments, with 1-based lines.
pub fn vars(text: &str) -> Vec<(String, usize, VarKind)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut in_double = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => line += 1,
            '\\' => {
                if chars.get(i + 1) == Some(&'\n') {
                    line += 1;
                }
                i += 2;
                continue;
            }
            '"' => in_double = !in_double,
            '\'' if !in_double => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            '#' if !in_double
                && (i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == ';') =>
            {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '$' => {
                if chars.get(i + 1) == Some(&'{') {
                    let mut j = i + 2;
                    let mut depth = 1;
                    while j < chars.len() && depth > 0 {
                        match chars[j] {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            _ => {}
                        }
                        j += 1;
                    }
                    let inner: String = chars[i + 2..j.saturating_sub(1).max(i + 2)]
                        .iter()
                        .collect();
                    if let Some(v) = brace_var(&inner) {
                        out.push((v.0, line, v.1));
                    }
                    line += inner.matches('\n').count();
                    i = j;
                    continue;
                }
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                if is_name(&name) {
                    out.push((name, line, VarKind::Use));
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn brace_var(inner: &str) -> Option<(String, VarKind)> {
    if inner.starts_with('!') {
        return None;
    }
    let body = inner.strip_prefix('#').unwrap_or(inner);
    let end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let name = &body[..end];
    if !is_name(name) {
        return None;
    }
    let op = &body[end..];
    let kind = if inner.starts_with('#') {
        VarKind::Use
    } else if op.starts_with(":-")
        || op.starts_with(":+")
        || op.starts_with('-')
        || op.starts_with('+')
    {
        VarKind::Safe
    } else if op.starts_with(":=") || op.starts_with('=') {
        VarKind::Assign
    } else {
        VarKind::Use
    };
    Some((name.to_string(), kind))
}

/// A lexed simple command: its words (quotes removed, substitutions as `$(…)`) and first line.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub words: Vec<String>,
    pub line: usize,
}

/// What `lex` read: the simple commands, in the order they end (a substitution's commands come
/// before the command that contains them), and the line where nesting passed `MAX_DEPTH`, if it
/// did (reading stopped there; the commands before it are kept).
#[derive(Debug, Default)]
pub struct Lexed {
    pub commands: Vec<Command>,
    pub too_deep: Option<usize>,
}

impl Lexed {
    /// The finding to report when reading stopped, e.g. "command nesting deeper than 64 levels
    /// at line 1".
    pub fn finding(&self) -> Option<String> {
        self.too_deep.map(too_deep_message)
    }
}

/// The message for nesting past `MAX_DEPTH` at `line`.
pub fn too_deep_message(line: usize) -> String {
    format!("command nesting deeper than {MAX_DEPTH} levels at line {line}; not read further")
}

#[derive(Clone, Copy, PartialEq)]
enum Close {
    End,
    Paren,
    Backtick,
}

/// One level of the explicit stack: the top level or one command substitution.
struct Frame {
    close: Close,
    words: Vec<String>,
    word: String,
    in_word: bool,
    in_double: bool,
    /// Unbalanced `(` inside a `$(` frame (subshells, `case` patterns).
    parens: usize,
    seg_line: usize,
}

impl Frame {
    fn new(close: Close, line: usize) -> Frame {
        Frame {
            close,
            words: Vec::new(),
            word: String::new(),
            in_word: false,
            in_double: false,
            parens: 0,
            seg_line: line,
        }
    }
    fn end_word(&mut self) {
        if self.in_word {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
        }
    }
    fn end_seg(&mut self, out: &mut Vec<Command>) {
        if !self.words.is_empty() {
            out.push(Command {
                words: std::mem::take(&mut self.words),
                line: self.seg_line,
            });
        }
    }
    fn finish(mut self, out: &mut Vec<Command>) {
        self.end_word();
        self.end_seg(out);
    }
}

/// Where `lex` is in the text: the characters, the index of the next one and its line.
struct Cursor<'a> {
    chars: &'a [char],
    i: usize,
    line: usize,
}

impl Cursor<'_> {
    fn peek(&self, ahead: usize) -> Option<&char> {
        self.chars.get(self.i + ahead)
    }
}

/// Splits shell text into simple commands at newlines, `;`, `&&`, `||`, `|` and `&`; the
/// contents of `$(...)` and backquotes become commands of their own, and `$((...))` arithmetic
/// is skipped. Lines count from `first_line`. Linear in the text; nesting deeper than
/// `MAX_DEPTH` stops reading (`Lexed::too_deep`).
pub fn lex(text: &str, first_line: usize) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut cur = Cursor {
        chars: &chars,
        i: 0,
        line: first_line,
    };
    let mut out = Vec::new();
    let mut too_deep = None;
    let mut stack: Vec<Frame> = vec![Frame::new(Close::End, first_line)];
    while cur.i < chars.len() {
        let c = chars[cur.i];
        let Some(top) = stack.last_mut() else { break };
        let opens_sub = c == '$' && cur.peek(1) == Some(&'(');
        if opens_sub && cur.peek(2) == Some(&'(') {
            // Arithmetic: nothing runs; skip to the matching `))`.
            let (end, nl) = skip_parens(&chars, cur.i + 1);
            top.word.push_str("$(…)");
            top.in_word = true;
            cur.line += nl;
            cur.i = end;
            continue;
        }
        if opens_sub || (c == '`' && !top.in_double && top.close != Close::Backtick) {
            top.word.push_str("$(…)");
            top.in_word = true;
            if stack.len() > MAX_DEPTH {
                too_deep = Some(cur.line);
                break;
            }
            let close = if opens_sub {
                Close::Paren
            } else {
                Close::Backtick
            };
            stack.push(Frame::new(close, cur.line));
            cur.i += if opens_sub { 2 } else { 1 };
            continue;
        }
        if top.in_double {
            double_quoted(&mut cur, top);
        } else {
            unquoted(&mut cur, &mut stack, &mut out);
        }
    }
    while let Some(f) = stack.pop() {
        f.finish(&mut out);
    }
    Lexed {
        commands: out,
        too_deep,
    }
}

/// Reads one character inside double quotes (substitutions were handled by `lex`).
fn double_quoted(cur: &mut Cursor, top: &mut Frame) {
    match cur.chars[cur.i] {
        '"' => top.in_double = false,
        '\\' => {
            if let Some(&n) = cur.peek(1) {
                if n == '\n' {
                    cur.line += 1;
                }
                top.word.push(n);
            }
            cur.i += 1;
        }
        '\n' => {
            cur.line += 1;
            top.word.push('\n');
        }
        ch => top.word.push(ch),
    }
    cur.i += 1;
}

/// Reads one unquoted character (substitution openers were handled by `lex`): quotes, escapes,
/// comments, word and command separators, and the closers of the innermost substitution.
fn unquoted(cur: &mut Cursor, stack: &mut Vec<Frame>, out: &mut Vec<Command>) {
    let c = cur.chars[cur.i];
    let Some(top) = stack.last_mut() else { return };
    if !top.in_word && top.words.is_empty() && !c.is_whitespace() {
        top.seg_line = cur.line;
    }
    match c {
        '\\' => {
            match cur.peek(1) {
                Some('\n') => cur.line += 1,
                Some(&n) => {
                    top.word.push(n);
                    top.in_word = true;
                }
                None => {}
            }
            cur.i += 2;
            return;
        }
        '\'' => single_quoted(cur, top),
        '"' => {
            top.in_word = true;
            top.in_double = true;
        }
        '`' => {
            // Closes the backquote frame (opening ones were handled by `lex`).
            if let Some(f) = stack.pop() {
                f.finish(out);
            }
        }
        ')' if top.close == Close::Paren && top.parens == 0 => {
            if let Some(f) = stack.pop() {
                f.finish(out);
            }
        }
        '(' if top.close == Close::Paren => {
            top.parens += 1;
            top.word.push(c);
            top.in_word = true;
        }
        ')' if top.close == Close::Paren => {
            top.parens -= 1;
            top.word.push(c);
            top.in_word = true;
        }
        '#' if !top.in_word => {
            skip_comment(cur, top.close);
            return;
        }
        '\n' => {
            top.end_word();
            top.end_seg(out);
            cur.line += 1;
        }
        ' ' | '\t' | '\r' => top.end_word(),
        ';' | '|' => {
            top.end_word();
            top.end_seg(out);
        }
        '&' => {
            let redirect = (top.in_word && (top.word.ends_with('>') || top.word.ends_with('<')))
                || cur.peek(1) == Some(&'>');
            if redirect {
                top.word.push('&');
                top.in_word = true;
            } else {
                top.end_word();
                top.end_seg(out);
            }
        }
        c => {
            top.word.push(c);
            top.in_word = true;
        }
    }
    cur.i += 1;
}

/// From the opening `'`, reads up to (not past) the closing one into the word.
fn single_quoted(cur: &mut Cursor, top: &mut Frame) {
    top.in_word = true;
    cur.i += 1;
    while cur.i < cur.chars.len() && cur.chars[cur.i] != '\'' {
        if cur.chars[cur.i] == '\n' {
            cur.line += 1;
        }
        top.word.push(cur.chars[cur.i]);
        cur.i += 1;
    }
}

/// From a `#`, skips to the line's end, or to what closes the substitution (`close`).
fn skip_comment(cur: &mut Cursor, close: Close) {
    let chars = cur.chars;
    while cur.i < chars.len()
        && chars[cur.i] != '\n'
        && !(close == Close::Paren && chars[cur.i] == ')')
        && !(close == Close::Backtick && chars[cur.i] == '`')
    {
        cur.i += 1;
    }
}

/// From the `(` at `start`, the index after its matching `)` (quotes respected) and the
/// newlines skipped. Iterative; an unbalanced text ends at its end.
fn skip_parens(chars: &[char], start: usize) -> (usize, usize) {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut nl = 0;
    let mut j = start;
    while j < chars.len() {
        let c = chars[j];
        if c == '\n' {
            nl += 1;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (j + 1, nl);
                }
            }
            _ => {}
        }
        j += 1;
    }
    (j, nl)
}

/// The inline script of `sh -c 'script'` (also `bash -lc`, `dash -ec`...), when `words` run a
/// shell that way.
pub fn inline_script(words: &[String]) -> Option<&str> {
    let shell = words.first()?.rsplit('/').next()?;
    if !matches!(shell, "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash") {
        return None;
    }
    let mut args = words.iter().skip(1);
    let mut inline = false;
    for a in args.by_ref() {
        if let Some(flags) = a.strip_prefix('-')
            && !flags.starts_with('-')
            && !flags.is_empty()
        {
            inline |= flags.contains('c');
            if inline {
                break;
            }
            continue;
        }
        return None;
    }
    if !inline {
        return None;
    }
    args.find(|a| !a.starts_with('-')).map(String::as_str)
}

/// The simple commands of a command line (an `ExecStart=`, launchd `ProgramArguments` joined),
/// including those of an inline `sh -c` script one level down.
pub fn command_line(text: &str) -> Lexed {
    let mut lexed = lex(text, 1);
    let inner: Vec<String> = lexed
        .commands
        .iter()
        .filter_map(|c| inline_script(&c.words).map(str::to_string))
        .collect();
    for script in inner {
        let sub = lex(&script, 1);
        lexed.commands.extend(sub.commands);
        if lexed.too_deep.is_none() {
            lexed.too_deep = sub.too_deep;
        }
    }
    lexed
}

/// A shell variable name: a letter or `_`, then letters, digits or `_`.
pub fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firsts(l: &Lexed) -> Vec<&str> {
        l.commands.iter().map(|s| s.words[0].as_str()).collect()
    }

    #[test]
    fn lexes_commands_substitutions_and_lines() {
        let l = lex(
            "A=1 env -i B=2 flock -n /tmp/l nice -n 5 foo \"$(jq -r .t f)\" 2>&1 | tee x; cd /d && ./run",
            1,
        );
        assert_eq!(firsts(&l), ["jq", "A=1", "tee", "cd", "./run"]);
        assert!(l.too_deep.is_none());
        let l = lex(
            "a `b c` \"x $(d \")\" e)\"\n# c\nf $((1 + (2)))\ng 'h;i' \\\n j",
            1,
        );
        assert_eq!(firsts(&l), ["b", "d", "a", "f", "g"]);
        assert_eq!(l.commands[2].words, ["a", "$(…)", "x $(…)"]);
        assert_eq!(l.commands[3].words, ["f", "$(…)"]);
        assert_eq!(l.commands[4].words, ["g", "h;i", "j"]);
        assert_eq!(l.commands[4].line, 4);
        let l = lex("x $(y (z) w) v", 7);
        assert_eq!(firsts(&l), ["y", "x"]);
        assert_eq!(l.commands[0].words, ["y", "(z)", "w"]);
        assert_eq!(l.commands[1].line, 7);
    }

    #[test]
    fn deep_nesting_is_a_finding_not_a_crash_and_reading_is_linear() {
        let deep = format!("* {}echo $X{}", "$(".repeat(6000), ")".repeat(6000));
        let l = lex(&deep, 1);
        assert_eq!(l.too_deep, Some(1));
        assert!(
            l.finding()
                .is_some_and(|f| f.contains("deeper than 64 levels at line 1")),
            "{:?}",
            l.finding()
        );
        let ticks = format!("a {}", "`b $(".repeat(5000));
        assert!(lex(&ticks, 1).too_deep.is_some());
        // Exactly the limit is read.
        let ok = format!("{}echo{}", "$(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        let l = lex(&ok, 1);
        assert_eq!(l.too_deep, None);
        assert_eq!(l.commands.len(), MAX_DEPTH + 1);
        // Unbalanced text of any size is read in one pass.
        let open = "$( ( \"".repeat(100_000);
        assert!(lex(&open, 1).too_deep.is_some());
        let parens = format!("$({})", "(".repeat(200_000));
        assert_eq!(lex(&parens, 1).too_deep, None);
        assert_eq!(vars(&"${".repeat(200_000)).len(), 0);
    }

    #[test]
    fn inline_scripts_are_read_one_level_down() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(inline_script(&w("/bin/sh -c x")), Some("x"));
        assert_eq!(inline_script(&w("bash -lc x")), Some("x"));
        assert_eq!(inline_script(&w("bash -e x")), None);
        assert_eq!(inline_script(&w("python -c x")), None);
        let l = command_line("/bin/sh -c \"openclaw gateway run --force & wait\"");
        assert_eq!(firsts(&l), ["/bin/sh", "openclaw", "wait"]);
    }

    #[test]
    fn variables_words_and_heredocs() {
        let found: Vec<(String, VarKind)> =
            vars("$A ${B:-x} ${C:?need} ${D:=d} '$E' \"$F\" # $G\n${#H} $1 \\$I")
                .into_iter()
                .map(|(n, _, k)| (n, k))
                .collect();
        assert_eq!(
            found,
            [
                ("A".into(), VarKind::Use),
                ("B".into(), VarKind::Safe),
                ("C".into(), VarKind::Use),
                ("D".into(), VarKind::Assign),
                ("F".into(), VarKind::Use),
                ("H".into(), VarKind::Use),
            ]
        );
        assert_eq!(
            read_word(" \"$(dirname \"$0\")/.env\" && x"),
            "\"$(dirname \"$0\")/.env\""
        );
        let p = prepare("cat <<'EOF'\n$A\nEOF\ncat <<EOF\n$B\nEOF\necho $C\n");
        assert_eq!(p.literal, [(2, "$A\n".to_string())]);
        assert!(p.bodies.contains("$B") && !p.shell.contains("$B") && p.shell.contains("$C"));
        assert_eq!(p.shell.lines().count(), 7);
        let words: Vec<String> = ["sudo", "-u", "x", "A=1", "cmd"].map(String::from).to_vec();
        assert_eq!(skip_args(&words, &["-u"], true), 4);
        assert!(is_name("_A1") && !is_name("1A") && !is_name(""));
    }
}
