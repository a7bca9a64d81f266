//! What the script of a cron job (or any program a kind follows from a command line) needs from
//! its environment, read from its text without running it: variables it uses and does not assign
//! (shell through `crate::shell`, and `os.environ`/`process.env`/`ENV[...]` in other languages),
//! the env files it loads or sources, and the commands it calls that must be on PATH. Paths are
//! resolved against the job's home, the script's directory and cron's working directory, and
//! re-anchored under `--root` (`crate::reroot`). It reads files only through `crate::read`, never
//! runs anything, and never keeps a value read from an env file: only the names it defines.

use crate::shell::{
    self, BUILTINS, VarKind, after_keywords, is_name, prepare, read_word, skip_args,
};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// Scripts read per job, and env files (or sourced files) read per script.
pub(super) const MAX_FOLLOWED: usize = 32;

/// A file's text through the one bounded reader; the error says why without the path (callers
/// name the file themselves): "not a regular file (a FIFO)", "truncated at N bytes".
pub(super) fn read_bounded(path: &Path, max: u64) -> Result<String, String> {
    crate::read::text_lossy(path, max).map_err(|e| e.reason())
}

/// Where relative paths and `~` resolve for a piece of code.
pub(super) struct CodeCtx<'a> {
    pub(super) home: Option<&'a Path>,
    pub(super) script_dir: Option<&'a Path>,
    /// cron's working directory (the owner's HOME, or `script_root`).
    pub(super) cwd: Option<&'a Path>,
    /// `--root`: the audited tree every resolved path is re-anchored under.
    pub(super) tree: Option<&'a Path>,
}

/// `p` inside the audited tree (`crate::reroot`), or `p` itself on this host.
pub(super) fn in_tree_path(tree: Option<&Path>, p: &Path) -> PathBuf {
    match tree {
        Some(t) => crate::reroot::under(t, p),
        None => p.to_path_buf(),
    }
}

/// A PATH value with every absolute directory inside the audited tree.
pub(super) fn in_tree(tree: Option<&Path>, path: &str) -> String {
    let Some(t) = tree else {
        return path.to_string();
    };
    path.split(':')
        .map(|d| {
            if d.starts_with('/') {
                crate::reroot::under(t, Path::new(d)).display().to_string()
            } else {
                d.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(":")
}

pub(super) fn resolve_path(word: &str, ctx: &CodeCtx<'_>, cwd: Option<&Path>) -> Option<PathBuf> {
    let w = strip_quotes(word);
    let p = if let Some(rest) = w.strip_prefix("~/") {
        ctx.home.map(|h| h.join(rest))
    } else {
        let p = PathBuf::from(&w);
        if p.is_absolute() {
            Some(p)
        } else {
            cwd.or(ctx.cwd).map(|c| c.join(p))
        }
    };
    p.map(|p| in_tree_path(ctx.tree, &p))
}

pub(super) fn strip_quotes(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// A name judged as an environment variable (no lowercase letters).
pub(super) fn is_env_name(s: &str) -> bool {
    is_name(s) && !s.chars().any(|c| c.is_ascii_lowercase())
}

/// What a piece of code (job line or script) uses, sets, loads and runs.
#[derive(Default, Debug)]
pub(super) struct CodeFacts {
    /// Variables used without a default, with their line.
    pub(super) uses: Vec<(String, usize)>,
    pub(super) assigns: BTreeSet<String>,
    /// Env files loaded: raw path word (None = "the default .env") and line.
    pub(super) env_files: Vec<EnvLoad>,
    pub(super) invocations: Vec<Invocation>,
    /// The last `PATH=` value the code sets.
    pub(super) path_value: Option<String>,
    /// Why the PATH cannot be known statically.
    pub(super) path_dynamic: Option<String>,
    /// Definite bugs (line, message).
    pub(super) problems: Vec<(usize, String)>,
    /// Line of an `eval` of dynamic text (variable uses are then not judged).
    pub(super) eval_at: Option<usize>,
    /// Line where command nesting passed `shell::MAX_DEPTH` (the rest was not read).
    pub(super) too_deep: Option<usize>,
}

#[derive(Debug)]
pub(super) struct EnvLoad {
    /// A path; None means a dotenv library's default file.
    pub(super) raw: Option<String>,
    pub(super) line: usize,
    /// A shell `source` (which may also set PATH) rather than a dotenv parser.
    pub(super) shell: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Invocation {
    pub(super) words: Vec<String>,
    pub(super) line: usize,
    /// Directory set by a preceding `cd` in the same code.
    pub(super) cwd: Option<PathBuf>,
    /// Functions the code defines (shared by all its invocations).
    pub(super) functions: Arc<BTreeSet<String>>,
}

pub(super) struct EnvKeys {
    pub(super) keys: BTreeSet<String>,
    /// Keys after an interactive-only guard (`case $- in *i*) ;; *) return;; esac`,
    /// `[ -z "$PS1" ] && return`), with the guard's line.
    pub(super) late: Vec<(String, usize)>,
}

pub(super) fn env_file_keys(text: &str) -> EnvKeys {
    static KEY: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\+?=").ok());
    static RET: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(^|[\s;&|)])return\b").ok());
    let mut keys = BTreeSet::new();
    let mut late = Vec::new();
    let mut guard: Option<usize> = None;
    let mut interactive_test_at: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        if t.contains("$-") || t.contains("PS1") {
            interactive_test_at = Some(n);
        }
        if guard.is_none()
            && interactive_test_at.is_some_and(|at| n - at <= 3)
            && RET.as_ref().is_some_and(|re| re.is_match(t))
        {
            guard = Some(n);
        }
        if let Some(c) = KEY.as_ref().and_then(|re| re.captures(t)) {
            match guard {
                None => {
                    keys.insert(c[1].to_string());
                }
                Some(g) => late.push((c[1].to_string(), g)),
            }
        }
    }
    EnvKeys { keys, late }
}

/// Resolves a path word from code: quotes, `$HOME`, `~`, `$(dirname "$0")`-style script
/// directories, variables with known values; None when something stays dynamic.
pub(super) fn resolve_word(
    raw: &str,
    ctx: &CodeCtx<'_>,
    vars: &BTreeMap<String, String>,
) -> Option<PathBuf> {
    let s = resolve_str(raw, ctx, vars)?;
    resolve_path(&s, ctx, None)
}

pub(super) fn resolve_str(
    raw: &str,
    ctx: &CodeCtx<'_>,
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    static VAR: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?").ok());
    let mut s = raw.to_string();
    if let Some(dir) = ctx.script_dir {
        let d = dir.display().to_string();
        for pat in ["${0%/*}", "${BASH_SOURCE%/*}", "${BASH_SOURCE[0]%/*}"] {
            s = s.replace(pat, &d);
        }
        if s.contains("dirname")
            && let Some(end) = s.rfind(')')
        {
            s = format!("{d}{}", &s[end + 1..]);
        }
    }
    let home = ctx.home.map(|h| h.display().to_string());
    let re = VAR.as_ref()?;
    let s = re
        .replace_all(&s, |c: &regex::Captures<'_>| {
            let name = &c[1];
            if name == "HOME"
                && let Some(h) = &home
            {
                return h.clone();
            }
            vars.get(name).cloned().unwrap_or_else(|| c[0].to_string())
        })
        .into_owned();
    let s = strip_quotes(&s);
    (!s.contains('$') && !s.contains('`')).then_some(s)
}

// ---------------------------------------------------------------------------------------------
// Reading shell code
// ---------------------------------------------------------------------------------------------

/// Scans shell code: variable uses, assignments, env files, PATH changes, invocations.
pub(super) fn scan_shell(text: &str, ctx: &CodeCtx<'_>) -> CodeFacts {
    let prepared = prepare(text);
    let mut f = CodeFacts::default();
    collect_shell_vars(&prepared, &mut f);
    scan_literal_heredocs(&prepared.literal, &mut f);
    // Variables with values known statically, for resolving env file paths.
    let known = scan_raw_lines(&prepared.shell, ctx, &mut f);
    follow_sourced_files(ctx, &mut f);
    scan_commands(&prepared.shell, ctx, &known, &mut f);
    f
}

/// A variable assignment at the start of a line, with an optional `export`/`local`/... keyword.
pub(super) static RAW_ASSIGN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$",
    )
    .ok()
});

/// Variable uses (environment-style names only) and assignments in the shell code and the
/// unquoted heredoc bodies.
pub(super) fn collect_shell_vars(prepared: &shell::Prepared, f: &mut CodeFacts) {
    for (name, line, kind) in shell::vars(&prepared.shell)
        .into_iter()
        .chain(shell::vars(&prepared.bodies))
    {
        match kind {
            VarKind::Use if is_env_name(&name) => f.uses.push((name, line)),
            VarKind::Assign => {
                f.assigns.insert(name);
            }
            _ => {}
        }
    }
}

/// Quoted heredoc bodies are other languages (often python reading os.environ): their facts,
/// with lines shifted to the body's place in the script.
pub(super) fn scan_literal_heredocs(literal: &[(usize, String)], f: &mut CodeFacts) {
    for (start, body) in literal {
        let sub = scan_other(body);
        for (v, l) in sub.uses {
            f.uses.push((v, start + l - 1));
        }
        f.assigns.extend(sub.assigns);
        for (l, m) in sub.problems {
            f.problems.push((start + l - 1, m));
        }
        for mut e in sub.env_files {
            e.line += start - 1;
            f.env_files.push(e);
        }
    }
}

/// Env files and statically known values, line by line on the raw text: `PATH=` settings,
/// `source`/`.`, `export $(cat file)`, `xargs < file`. Returns the variables whose values are
/// known.
pub(super) fn scan_raw_lines(
    shell_text: &str,
    ctx: &CodeCtx<'_>,
    f: &mut CodeFacts,
) -> BTreeMap<String, String> {
    static SOURCE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?:^\s*|[;&|({!]\s*|\b(?:then|do|else)\s+)(?:source|\.)\s+").ok()
    });
    static EXPORT_CAT: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?:export|eval)\s+.*\$\(\s*(?:cat|grep|egrep|sed)\b([^|)]*)").ok()
    });
    static XARGS_IN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"xargs\s*<\s*").ok());
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    for (i, line) in shell_text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim_start();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if let Some(c) = RAW_ASSIGN.as_ref().and_then(|re| re.captures(t)) {
            note_assignment(&c[1], read_word(&c[2]), n, ctx, &mut known, f);
        }
        if let Some(re) = SOURCE.as_ref() {
            for m in re.find_iter(line) {
                let word = read_word(&line[m.end()..]);
                if word.is_empty() {
                    continue;
                }
                let raw = substitute_known(word, &known);
                f.env_files.push(EnvLoad {
                    raw: Some(raw),
                    line: n,
                    shell: true,
                });
            }
        }
        if let Some(c) = EXPORT_CAT.as_ref().and_then(|re| re.captures(line))
            && let Some(file) = c[1]
                .split_whitespace()
                .rev()
                .find(|w| !w.starts_with('-') && !w.starts_with('\''))
        {
            f.env_files.push(EnvLoad {
                raw: Some(substitute_known(file, &known)),
                line: n,
                shell: false,
            });
        }
        if let Some(m) = XARGS_IN.as_ref().and_then(|re| re.find(line)) {
            let word = read_word(&line[m.end()..]);
            if !word.is_empty() {
                f.env_files.push(EnvLoad {
                    raw: Some(substitute_known(word, &known)),
                    line: n,
                    shell: false,
                });
            }
        }
    }
    known
}

/// One `name=value` line: a PATH setting goes to the facts (static, extending `$PATH`, or
/// dynamic); any other name with a resolvable value becomes known.
pub(super) fn note_assignment(
    name: &str,
    value: &str,
    n: usize,
    ctx: &CodeCtx<'_>,
    known: &mut BTreeMap<String, String>,
    f: &mut CodeFacts,
) {
    if name == "PATH" {
        match resolve_str(value, ctx, known) {
            Some(v) if !value.contains("$(") => f.path_value = Some(v),
            _ if value.contains("$PATH") || value.contains("${PATH}") => {
                f.path_value = Some(value.to_string());
            }
            _ => f.path_dynamic = Some(format!("PATH set dynamically at line {n}")),
        }
    } else if let Some(v) = resolve_str(value, ctx, known) {
        known.insert(name.to_string(), v);
    }
}

/// A sourced shell file may change PATH; checks the ones that can be read (at most
/// MAX_FOLLOWED of them): a readable `PATH=` is taken, anything else marks PATH dynamic.
pub(super) fn follow_sourced_files(ctx: &CodeCtx<'_>, f: &mut CodeFacts) {
    static PATH_TOUCH: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(^|[^A-Za-z0-9_])PATH\+?=|\b(nvm|fnm|asdf|pyenv|rbenv|conda|shellenv)\b").ok()
    });
    for e in f.env_files.iter().filter(|e| e.shell).take(MAX_FOLLOWED) {
        let path = e
            .raw
            .as_deref()
            .and_then(|raw| resolve_word(raw, ctx, &BTreeMap::new()));
        let text = path.as_deref().and_then(|p| read_bounded(p, 1 << 20).ok());
        let dynamic = match text {
            Some(t) if !PATH_TOUCH.as_ref().is_some_and(|re| re.is_match(&t)) => false,
            Some(t) => {
                let set = t.lines().rev().find_map(|l| {
                    RAW_ASSIGN
                        .as_ref()
                        .and_then(|re| re.captures(l.trim_start()))
                        .filter(|c| &c[1] == "PATH")
                        .map(|c| read_word(&c[2]).to_string())
                });
                let dynamic = set.is_none();
                if set.is_some() {
                    f.path_value = set;
                }
                dynamic
            }
            // Unresolvable or unreadable: it may change PATH. Missing: sourcing it fails.
            None => path.is_none() || path.as_deref().is_some_and(Path::exists),
        };
        if dynamic && f.path_dynamic.is_none() {
            f.path_dynamic = Some(format!(
                "PATH may be changed by a sourced file at line {}",
                e.line
            ));
        }
    }
}

/// Commands and assignments from the lexed segments: each command run (wrappers included),
/// with the functions the code defines and the directory of a preceding `cd`.
pub(super) fn scan_commands(
    shell_text: &str,
    ctx: &CodeCtx<'_>,
    known: &BTreeMap<String, String>,
    f: &mut CodeFacts,
) {
    let lexed = shell::lex(shell_text, 1);
    f.too_deep = lexed.too_deep;
    let segs = lexed.commands;
    let functions = Arc::new(defined_functions(&segs));
    let probed = probed_commands(&segs);
    if let Some(line) = dynamic_eval(&segs) {
        f.uses.clear();
        f.eval_at = Some(line);
    }
    let mut cwd: Option<PathBuf> = None;
    for seg in &segs {
        scan_command(seg, ctx, known, &functions, &probed, &mut cwd, f);
    }
}

/// Functions the code defines (`name() {`, `name () {`, `function name`).
pub(super) fn defined_functions(segs: &[shell::Command]) -> BTreeSet<String> {
    segs.iter()
        .filter_map(|s| {
            let w0 = s.words.first()?;
            if w0 == "function" {
                return s.words.get(1).map(|w| w.trim_end_matches("()").to_string());
            }
            if let Some(name) = w0.strip_suffix("()") {
                return Some(name.to_string());
            }
            (s.words.get(1).map(String::as_str) == Some("()")).then(|| w0.clone())
        })
        .collect()
}

/// Commands the script probes for (`command -v x`, `type x`, `which x`): it copes when
/// they are missing, so they are not reported.
pub(super) fn probed_commands(segs: &[shell::Command]) -> BTreeSet<String> {
    segs.iter()
        .map(|s| after_keywords(&s.words))
        .filter(|w| {
            matches!(
                w.first().map(String::as_str),
                Some("type" | "which" | "hash")
            ) || (w.first().is_some_and(|x| x == "command")
                && w.get(1).is_some_and(|a| a == "-v" || a == "-V"))
        })
        .flat_map(|w| {
            w[1..]
                .iter()
                .filter(|a| !a.starts_with('-') && !a.contains('>'))
        })
        .cloned()
        .collect()
}

/// The line of an `eval "$x"`, which can assign any name: the script's variable uses cannot
/// be judged.
pub(super) fn dynamic_eval(segs: &[shell::Command]) -> Option<usize> {
    segs.iter()
        .find(|s| {
            let w = after_keywords(&s.words);
            w.first().is_some_and(|x| x == "eval") && w[1..].iter().any(|a| a.contains('$'))
        })
        .map(|s| s.line)
}

/// One lexed command: its assignments, a builtin's effect (assigned names, `cd`), or the
/// invocations it makes (wrappers and what they run).
pub(super) fn scan_command(
    seg: &shell::Command,
    ctx: &CodeCtx<'_>,
    known: &BTreeMap<String, String>,
    functions: &Arc<BTreeSet<String>>,
    probed: &BTreeSet<String>,
    cwd: &mut Option<PathBuf>,
    f: &mut CodeFacts,
) {
    // Function definitions (`name() {`, `name () {`, `function name`): not commands.
    if seg
        .words
        .first()
        .is_some_and(|w| w.ends_with("()") || w == "function")
        || seg.words.get(1).is_some_and(|w| w == "()")
    {
        return;
    }
    let words: Vec<String> = seg
        .words
        .iter()
        .map(|w| w.trim_start_matches('(').trim_end_matches(')').to_string())
        .filter(|w| !w.is_empty())
        .collect();
    let i = skip_leading_assignments(&words, &mut f.assigns);
    let Some(first) = words.get(i) else { return };
    let rest = &words[i + 1..];
    if apply_builtin(first, rest, ctx, known, cwd, &mut f.assigns) {
        return;
    }
    let cmd_words = unwrap_wrappers(words[i..].to_vec(), seg.line, cwd.as_deref(), functions, f);
    let Some(cmd) = cmd_words.first() else {
        return;
    };
    if cmd.starts_with('<')
        || cmd.starts_with('>')
        || cmd.chars().next().is_some_and(|c| c.is_ascii_digit())
            && (cmd.contains('>') || cmd.contains('<'))
        || probed.contains(cmd)
    {
        return;
    }
    f.invocations.push(Invocation {
        words: cmd_words,
        line: seg.line,
        cwd: cwd.clone(),
        functions: functions.clone(),
    });
}

/// Skips leading keywords (`if`, `then`, `!`, `time`, ...) and assignments (recorded in
/// `assigns`); returns the index of the first other word.
pub(super) fn skip_leading_assignments(words: &[String], assigns: &mut BTreeSet<String>) -> usize {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if let Some(eq) = w.find('=')
            && is_name(w[..eq].trim_end_matches('+'))
        {
            assigns.insert(w[..eq].trim_end_matches('+').to_string());
            i += 1;
            continue;
        }
        if matches!(
            w.as_str(),
            "if" | "then"
                | "else"
                | "elif"
                | "while"
                | "until"
                | "do"
                | "!"
                | "{"
                | "time"
                | "exec"
                | "nohup"
        ) {
            i += 1;
            continue;
        }
        break;
    }
    i
}

/// A builtin or keyword that runs nothing: records the names it assigns (`for`, `read`,
/// `export`, `printf -v`, ...) or the directory a `cd` moves to. True when `first` was one.
pub(super) fn apply_builtin(
    first: &str,
    rest: &[String],
    ctx: &CodeCtx<'_>,
    known: &BTreeMap<String, String>,
    cwd: &mut Option<PathBuf>,
    assigns: &mut BTreeSet<String>,
) -> bool {
    match first {
        "for" | "select" => {
            if let Some(v) = rest.first() {
                assigns.insert(v.clone());
            }
            true
        }
        "read" | "mapfile" | "readarray" | "local" | "declare" | "typeset" | "readonly"
        | "getopts" | "export" => {
            for w in rest {
                let name = w.split('=').next().unwrap_or("");
                if is_name(name) && (first != "export" || w.contains('=')) {
                    assigns.insert(name.to_string());
                }
            }
            true
        }
        "printf" => {
            if let Some(pos) = rest.iter().position(|w| w == "-v")
                && let Some(v) = rest.get(pos + 1)
            {
                assigns.insert(v.clone());
            }
            true
        }
        "cd" => {
            *cwd = rest
                .iter()
                .find(|w| !w.starts_with('-'))
                .and_then(|d| resolve_word(d, ctx, known));
            true
        }
        "case" | "fi" | "done" | "esac" | "}" | "function" | "[" | "[[" | "test" => true,
        w if w.starts_with("((")
            || w.ends_with("()")
            || rest.first().is_some_and(|r| r == "()") =>
        {
            true
        }
        _ => false,
    }
}

/// Wrappers (`env`, `sudo`, `nice`, `timeout`, `flock`, ...): the wrapper must exist, and so
/// must what it runs. Records each wrapper as an invocation and returns the wrapped command's
/// words (empty after `command -x`).
pub(super) fn unwrap_wrappers(
    mut cmd_words: Vec<String>,
    line: usize,
    cwd: Option<&Path>,
    functions: &Arc<BTreeSet<String>>,
    f: &mut CodeFacts,
) -> Vec<String> {
    while let Some(w) = cmd_words.first().cloned() {
        let skip = match w.as_str() {
            "env" => Some(skip_args(&cmd_words, &["-u", "-C", "-S"], true)),
            "sudo" => Some(skip_args(
                &cmd_words,
                &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
                true,
            )),
            "nice" => Some(skip_args(&cmd_words, &["-n"], false)),
            "ionice" => Some(skip_args(&cmd_words, &["-c", "-n", "-p"], false)),
            "timeout" => {
                Some(skip_args(&cmd_words, &["-s", "-k", "--signal", "--kill-after"], false) + 1)
            }
            "flock" => Some(skip_args(&cmd_words, &["-w", "-E", "--timeout", "-c"], false) + 1),
            "nohup" | "setsid" | "chronic" | "stdbuf" | "command" | "exec" | "xargs" => {
                Some(skip_args(&cmd_words, &[], false))
            }
            _ => None,
        };
        let Some(n) = skip else { break };
        if !BUILTINS.contains(&w.as_str()) {
            f.invocations.push(Invocation {
                words: vec![w.clone()],
                line,
                cwd: cwd.map(Path::to_path_buf),
                functions: functions.clone(),
            });
        }
        if w == "command" && cmd_words.get(1).is_some_and(|a| a.starts_with('-')) {
            cmd_words.clear();
            break;
        }
        cmd_words = cmd_words
            .get(n.max(1)..)
            .map(<[String]>::to_vec)
            .unwrap_or_default();
    }
    cmd_words
}

/// `$NAME` and `${NAME}` in `word` replaced by known values (one pass, linear in the word).
pub(super) fn substitute_known(word: &str, known: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, used) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) if is_name(&inner[..end]) => (&inner[..end], end + 2),
                _ => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match known.get(name).filter(|_| is_name(name)) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[pos..pos + 1 + used]),
        }
        rest = &rest[pos + 1 + used..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Reading other languages
// ---------------------------------------------------------------------------------------------

/// Env access in Python, Node, Ruby and Perl code: `os.environ["X"]`, `os.getenv("X")`,
/// `process.env.X`, `ENV["X"]`, `$ENV{X}`; dotenv loads; `open("$HOME/...")` (a path no shell
/// expands, the quoted-heredoc bug of lesson 14).
pub(super) fn scan_other(text: &str) -> CodeFacts {
    static PATTERNS: LazyLock<Vec<(Option<Regex>, u8)>> = LazyLock::new(|| {
        // 0 = use unless followed by `=`; 1 = call: use unless it has a default argument;
        // 2 = use unless followed by `||`/`??` (a default).
        [
            (r#"environ\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"#, 0),
            (
                r#"(?:environ\.get|getenv)\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*([,)])"#,
                1,
            ),
            (r#"process\.env\.([A-Za-z_][A-Za-z0-9_]*)"#, 2),
            (
                r#"process\.env\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"#,
                2,
            ),
            (r#"\bENV\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"#, 0),
            (
                r#"ENV\.fetch\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*([,)])"#,
                1,
            ),
            (r#"\$ENV\{\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?\s*\}"#, 0),
        ]
        .into_iter()
        .map(|(p, k)| (Regex::new(p).ok(), k))
        .collect()
    });
    static DOTENV: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r#"load_dotenv\(|dotenv_values\(|require\(\s*['"]dotenv['"]\s*\)|dotenv/config|dotenv\.config\(|Dotenv\.load"#).ok()
    });
    static LITERAL: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"['"]([^'"\s]*\.(?:env|bashrc|profile)[^'"\s]*)['"]"#).ok());
    static DOLLAR_OPEN: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"open\(\s*['"](\$\{?HOME\}?/[^'"]*)['"]"#).ok());
    let mut f = CodeFacts::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim_start();
        if t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        for (re, kind) in PATTERNS.iter() {
            let Some(re) = re else { continue };
            for c in re.captures_iter(line) {
                let (Some(m), Some(name)) = (c.get(0), c.get(1)) else {
                    continue;
                };
                let after = line[m.end()..].trim_start();
                let name = name.as_str().to_string();
                let safe = match kind {
                    0 => after.starts_with('=') && !after.starts_with("=="),
                    1 => c.get(2).is_some_and(|g| g.as_str() == ","),
                    _ => {
                        after.starts_with("||")
                            || after.starts_with("??")
                            || (after.starts_with('=') && !after.starts_with("=="))
                    }
                };
                if *kind != 1 && after.starts_with('=') && !after.starts_with("==") {
                    f.assigns.insert(name);
                } else if !safe && is_env_name(&name) {
                    f.uses.push((name, n));
                }
            }
        }
        if line.contains("setdefault(") {
            static SETDEFAULT: LazyLock<Option<Regex>> = LazyLock::new(|| {
                Regex::new(r#"setdefault\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#).ok()
            });
            if let Some(c) = SETDEFAULT.as_ref().and_then(|re| re.captures(line)) {
                f.assigns.insert(c[1].to_string());
            }
        }
        if let Some(c) = DOLLAR_OPEN.as_ref().and_then(|re| re.captures(line)) {
            f.problems.push((
                n,
                format!(
                    "opens the literal path '{}': nothing expands $HOME here (a quoted heredoc or non-shell code)",
                    &c[1]
                ),
            ));
            continue;
        }
        if DOTENV.as_ref().is_some_and(|re| re.is_match(line)) {
            let raw = LITERAL
                .as_ref()
                .and_then(|re| re.captures(line))
                .map(|c| c[1].to_string());
            f.env_files.push(EnvLoad {
                raw,
                line: n,
                shell: false,
            });
        } else if (line.contains("open(") || line.contains("readFileSync"))
            && let Some(c) = LITERAL.as_ref().and_then(|re| re.captures(line))
        {
            // Reading an env file by hand (the ".bashrc fallback" of lesson 14).
            let raw = c[1].to_string();
            f.env_files.push(EnvLoad {
                raw: Some(raw),
                line: n,
                shell: false,
            });
        }
    }
    f
}
