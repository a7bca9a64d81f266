//! `cron_env`: reads crontabs (user crontabs, `/etc/crontab`-style files and `/etc/cron.d`, or
//! `crontab -l`) and, for every job, checks that what the job uses exists in the environment cron
//! really gives it (lesson 14: cron is not your shell): variables the command line and the script
//! it runs use (`$VAR`, `${VAR:?}`, `os.environ["VAR"]`, `process.env.VAR`) must be set in the
//! crontab, assigned by the script, or defined in an env file the script loads; commands must be
//! on cron's PATH. It never runs a job or a script (only `crontab -l`, read-only), and it reports
//! variable names and `file:line` positions, never the values assigned in a crontab or env file.
//!
//! The parser is a heuristic reader of shell, not a shell: it errs towards "provided" (an env
//! file it cannot read or a path it cannot resolve counts as providing every variable, with
//! evidence saying so), and only names that contain no lowercase letter are judged as environment
//! variables, because lowercase names in scripts are nearly always locals.
//!
//! Reading a script's text (variables, env files, commands) is `scriptscan.rs`; this file reads
//! the crontabs, follows each job to its scripts and judges what they need against what cron
//! provides.

use super::scriptscan::{
    CodeCtx, CodeFacts, Invocation, MAX_FOLLOWED, env_file_keys, in_tree, in_tree_path,
    read_bounded, resolve_path, resolve_str, resolve_word, scan_other, scan_shell, strip_quotes,
};
use super::{Invalid, Observation, Probe, ProbeCx};
use crate::exec::{self, DEFAULT_SERVICE_PATH, ExecError, ExecSpec};
use crate::shell::{self, BUILTINS, SHELL_VARS, is_name};
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronEnv {
    /// User crontab files, without a user field (e.g. `/var/spool/cron/crontabs/agent`); the file
    /// name is taken as the user whose HOME cron uses. A file that does not exist means nothing is
    /// scheduled (ok, with evidence). Default none.
    #[serde(default)]
    crontabs: Vec<PathBuf>,
    /// System crontabs with a user field: files like `/etc/crontab`, or directories like
    /// `/etc/cron.d` whose files are read (names with characters other than letters, digits, `_`
    /// and `-` are skipped, as cron skips them). Default none.
    #[serde(default)]
    system_crontabs: Vec<PathBuf>,
    /// Also read the daemon user's own crontab with `crontab_command`; "no crontab for" is ok.
    /// Default false.
    #[serde(default)]
    user_crontab: bool,
    /// The read-only command that prints the daemon user's crontab, run with PATH
    /// `/usr/bin:/bin`. Default `["crontab", "-l"]`.
    #[serde(default = "default_crontab_command")]
    crontab_command: Vec<String>,
    /// Variable names every job must get (from the crontab, its script or a loaded env file).
    /// Default none.
    #[serde(default)]
    require_env: Vec<String>,
    /// Variables never reported as missing because cron (or the shell) always sets them.
    /// Default `["HOME", "LOGNAME", "USER", "SHELL", "PATH", "PWD", "MAILTO", "LANG", "TERM"]`.
    #[serde(default = "default_ignore")]
    ignore_vars: Vec<String>,
    /// The PATH cron gives jobs when the crontab sets none. Default `"/usr/bin:/bin"`.
    #[serde(default = "default_cron_path")]
    cron_path: String,
    /// Read the scripts jobs run (bounded) and check the variables and commands they use.
    /// Default true.
    #[serde(default = "super::yes")]
    follow_scripts: bool,
    /// Largest crontab, script or env file read, in bytes; a longer crontab or script is
    /// `unknown` ("truncated at N"), never judged from its first part. Default 262144.
    #[serde(default = "default_max_script")]
    max_script_bytes: u64,
    /// The directory cron jobs start in, standing in for the crontab owner's HOME: relative
    /// script paths in job commands and relative `PATH=` entries resolve against it, and `~`
    /// expands to it unless the crontab sets `HOME=`. Lets fixture crontabs avoid absolute
    /// paths. Default none (the owner's HOME from the passwd database).
    script_root: Option<PathBuf>,
}

fn default_crontab_command() -> Vec<String> {
    vec!["crontab".into(), "-l".into()]
}
/// The default `crontab -l` (by name, looked up on PATH): when that program does not exist the
/// host has no cron for user jobs.
fn is_default_crontab(argv: &[String]) -> bool {
    argv == default_crontab_command().as_slice()
}
fn default_ignore() -> Vec<String> {
    [
        "HOME", "LOGNAME", "USER", "SHELL", "PATH", "PWD", "MAILTO", "LANG", "TERM",
    ]
    .map(String::from)
    .to_vec()
}
fn default_cron_path() -> String {
    DEFAULT_SERVICE_PATH.to_string()
}
fn default_max_script() -> u64 {
    256 * 1024
}

/// Evidence rows kept per observation; the rest are counted in one more row.
const MAX_EVIDENCE: usize = 40;

const SPECIALS: &[&str] = &[
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

impl Probe for CronEnv {
    const KIND: &'static str = "cron_env";
    const SUMMARY: &'static str =
        "check that cron jobs get the env vars and commands their command lines and scripts use";
    const LESSONS: &'static [u32] = &[14];
    const EXAMPLE: &'static str = r#"[probe.vps_cron_env]
lesson = 14
every = "1h"
# the VPS ran its crons as root; the kit crons live in /etc/cron.d
crontabs = ["/var/spool/cron/crontabs/root", "/var/spool/cron/crontabs/agent"]
system_crontabs = ["/etc/crontab", "/etc/cron.d"]
user_crontab = false
# tokens the brain-sync and revenue jobs need
require_env = ["HELPDESK_API_URL"]
cron_path = "/usr/bin:/bin"
follow_scripts = true
max_script_bytes = 262144
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.crontabs.is_empty() && self.system_crontabs.is_empty() && !self.user_crontab {
            bad.push(Invalid::new(
                "crontabs",
                "expected at least one of crontabs, system_crontabs or user_crontab = true",
            ));
        }
        if self.user_crontab && self.crontab_command.first().is_none_or(|a| a.is_empty()) {
            bad.push(Invalid::new("crontab_command", "must name a program"));
        }
        for (i, v) in self.require_env.iter().enumerate() {
            if !is_name(v) {
                bad.push(Invalid::new(
                    format!("require_env[{i}]"),
                    "expected a variable name like SHOPIFY_TOKEN",
                ));
            }
        }
        if self.cron_path.is_empty() {
            bad.push(Invalid::new("cron_path", "must not be empty"));
        }
        Invalid::require_at_least_1(&mut bad, "max_script_bytes", self.max_script_bytes);
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let mut sources: Vec<Source> = Vec::new();
        let mut pre = Report::default();
        if self.user_crontab && cx.root().is_some() {
            // `crontab -l` answers for this machine's user, not the audited tree's
            pre.notes
                .push((self.crontab_command.join(" "), super::NOT_UNDER_ROOT.into()));
        } else if self.user_crontab {
            match self.read_user_crontab(cx).await {
                Ok(Ok(text)) => sources.push(Source {
                    name: self.crontab_command.join(" "),
                    text,
                    system: false,
                    user: nix::unistd::User::from_uid(nix::unistd::getuid())
                        .ok()
                        .flatten()
                        .map(|u| u.name),
                }),
                Ok(Err(note)) => pre
                    .notes
                    .push((self.crontab_command.join(" "), note.into())),
                Err(e) => pre
                    .unknown
                    .push((self.crontab_command.join(" "), e.to_string())),
            }
        }
        let files: Vec<(PathBuf, bool)> = self
            .crontabs
            .iter()
            .map(|p| (cx.resolve(p), false))
            .chain(self.system_crontabs.iter().map(|p| (cx.resolve(p), true)))
            .collect();
        let cfg = Settings {
            ignore: self.ignore_vars.iter().cloned().collect(),
            require: self.require_env.clone(),
            cron_path: self.cron_path.clone(),
            follow: self.follow_scripts,
            max_bytes: self.max_script_bytes,
            root: self.script_root.as_ref().map(|r| cx.resolve(r)),
            tree: cx.root().map(Path::to_path_buf),
        };
        let report = tokio::task::spawn_blocking(move || {
            let mut report = pre;
            for (path, system) in files {
                read_sources(&path, system, cfg.max_bytes, &mut sources, &mut report);
            }
            for s in &sources {
                analyze_crontab(s, &cfg, &mut report);
            }
            report.crontabs = sources.len();
            report
        })
        .await;
        match report {
            Ok(r) => r.into_observation(&self.require_env),
            Err(e) => Observation::unknown(format!("crontab analysis did not finish: {e}")),
        }
    }
}

impl CronEnv {
    /// `Ok(Ok(text))`, `Ok(Err(note))` when there is nothing scheduled, `Err` when it could not
    /// look.
    async fn read_user_crontab(
        &self,
        cx: &ProbeCx<'_>,
    ) -> Result<Result<String, &'static str>, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), DEFAULT_SERVICE_PATH.to_string());
        let spec = ExecSpec {
            argv: &self.crontab_command,
            env,
            cwd: None,
            timeout: cx.timeout,
            max_output_bytes: usize::try_from(self.max_script_bytes).unwrap_or(usize::MAX),
        };
        let out = match exec::run(&spec).await {
            Ok(o) => o,
            // No `crontab` program on the host means no cron to schedule user jobs: nothing can
            // lack its environment (a fresh container or minimal VM). A configured command that
            // is missing is still a blind spot.
            Err(ExecError::NotFound(..)) if is_default_crontab(&self.crontab_command) => {
                return Ok(Err("crontab is not installed: no user crontab to run"));
            }
            Err(e @ ExecError::NotFound(..)) => return Err(format!("cannot list: {e}")),
            Err(e) => return Err(e.to_string()),
        };
        if out.code == Some(0) {
            return Ok(Ok(out.stdout));
        }
        if out.stderr.contains("no crontab for") || out.stdout.contains("no crontab for") {
            return Ok(Err("no crontab for the daemon user"));
        }
        Err(format!(
            "exited {}: {}",
            out.exit(),
            crate::redact::truncate(out.stderr.trim(), 200)
        ))
    }
}

/// What the blocking analysis needs from the config.
struct Settings {
    ignore: BTreeSet<String>,
    require: Vec<String>,
    cron_path: String,
    follow: bool,
    max_bytes: u64,
    root: Option<PathBuf>,
    /// `--root`: the audited tree; every absolute path (scripts, env files, PATH directories,
    /// interpreters) resolves under it.
    tree: Option<PathBuf>,
}

/// One crontab's text.
struct Source {
    name: String,
    text: String,
    /// `/etc/crontab` format, with a user field.
    system: bool,
    /// The owner of a user crontab, when known.
    user: Option<String>,
}

/// Everything found, keyed by `<file>:<line>` (or a path).
#[derive(Default)]
struct Report {
    /// Scripts already read and scanned in this run.
    scans: HashMap<ScanKey, Arc<ScriptScan>>,
    crontabs: usize,
    jobs: usize,
    failing_jobs: usize,
    problems: Vec<(String, String)>,
    unknown: Vec<(String, String)>,
    notes: Vec<(String, String)>,
}

impl Report {
    fn into_observation(self, require: &[String]) -> Observation {
        let mut obs = if !self.problems.is_empty() {
            let first = &self.problems[0];
            Observation::critical(format!(
                "{} of {} cron jobs lack what they use: {}: {}",
                self.failing_jobs, self.jobs, first.0, first.1
            ))
        } else if let Some((k, v)) = self.unknown.first() {
            Observation::unknown(format!("cannot read {k}: {v}"))
        } else {
            Observation::ok(format!(
                "{} cron jobs in {} crontabs get the variables and commands they use",
                self.jobs, self.crontabs
            ))
        };
        let mut expected = "every variable a job uses is set by cron, its script or a loaded env file, and every command is on cron's PATH".to_string();
        if !require.is_empty() {
            expected.push_str(&format!("; every job gets {}", require.join(", ")));
        }
        obs = obs.expected(expected);
        let all = self.problems.len() + self.unknown.len() + self.notes.len();
        for (k, v) in self
            .problems
            .iter()
            .chain(&self.unknown)
            .chain(&self.notes)
            .take(MAX_EVIDENCE)
        {
            obs.push_evidence(k.clone(), v);
        }
        if all > MAX_EVIDENCE {
            obs.push_evidence(
                "more",
                format!("{} more findings not shown", all - MAX_EVIDENCE),
            );
        }
        obs.metric("jobs", self.jobs as f64)
            .metric("failing_jobs", self.failing_jobs as f64)
    }
}

/// Reads a configured crontab file, or each file of a configured directory.
fn read_sources(path: &Path, system: bool, max: u64, out: &mut Vec<Source>, r: &mut Report) {
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Nothing scheduled there, so nothing can be missing: not a blind spot.
            r.notes.push((shown, "no crontab at path".into()));
            return;
        }
        Err(e) => {
            r.unknown.push((shown, e.to_string()));
            return;
        }
    };
    if meta.is_dir() {
        if !system {
            // A user crontab is a file; a directory there cannot be read as one.
            r.unknown
                .push((shown, "is a directory, expected a crontab file".into()));
            return;
        }
        let entries = match std::fs::read_dir(path) {
            Ok(e) => e,
            Err(e) => {
                r.unknown.push((shown, e.to_string()));
                return;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
            })
            .collect();
        files.sort();
        for f in files.into_iter().take(500) {
            read_sources(&f, true, max, out, r);
        }
        return;
    }
    match read_bounded(path, max) {
        Ok(text) if text.contains('\0') => r
            .unknown
            .push((shown, "not a crontab: the file contains NUL bytes".into())),
        Ok(text) => out.push(Source {
            name: shown,
            text,
            system,
            user: (!system)
                .then(|| path.file_name().and_then(|n| n.to_str()).map(String::from))
                .flatten(),
        }),
        Err(e) => r.unknown.push((shown, e)),
    }
}

/// One job line of a crontab.
struct Job<'a> {
    user: Option<&'a str>,
    command: String,
}

/// A job line's schedule fields are valid (`*/5`, `1-5`, `mon-fri`, `@daily`), then the user
/// field for system crontabs: the command's start, or None.
fn job_fields(t: &str, system: bool) -> Option<&str> {
    let rest = if t.starts_with('@') {
        let (f, rest) = fields(t, 1)?;
        SPECIALS.contains(&f[0]).then_some(rest)?
    } else {
        let (f, rest) = fields(t, 5)?;
        f.iter().all(|x| is_cron_field(x)).then_some(rest)?
    };
    if system {
        fields(rest, 1).map(|(_, cmd)| cmd)
    } else {
        Some(rest)
    }
}

/// One schedule field: digits, `*`, `,`, `/`, `-` and three-letter month or day names.
fn is_cron_field(f: &str) -> bool {
    !f.is_empty()
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '/' | '-'))
        && f.split(|c: char| !c.is_ascii_alphabetic())
            .all(|run| run.is_empty() || run.len() == 3)
}

/// Splits off `n` whitespace-separated fields; returns them and the rest of the line.
fn fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut rest = line.trim_start();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let end = rest.find(char::is_whitespace)?;
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (!rest.is_empty()).then_some((out, rest))
}

/// The command as cron runs it: up to the first unescaped `%` (the rest is stdin), `\%` → `%`.
fn cron_command(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                out.push('%');
                chars.next();
            }
            '%' => break,
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

static ASSIGN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$").ok());

fn analyze_crontab(src: &Source, cfg: &Settings, r: &mut Report) {
    // Junk is not a clean crontab: most lines must be jobs, assignments or comments.
    let (mut understood, mut junk) = (0usize, 0usize);
    for t in src.text.lines().map(str::trim) {
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if ASSIGN.as_ref().is_some_and(|re| re.is_match(t)) || job_fields(t, src.system).is_some() {
            understood += 1;
        } else {
            junk += 1;
        }
    }
    if junk > 3 && junk > understood {
        r.unknown.push((
            src.name.clone(),
            format!(
                "not a crontab: {junk} of {} lines are neither jobs, assignments nor comments",
                junk + understood
            ),
        ));
        return;
    }
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (i, raw) in src.text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(c) = ASSIGN.as_ref().and_then(|re| re.captures(t)) {
            let value = c[2].trim();
            let value = strip_outer_quotes(value);
            vars.insert(c[1].to_string(), value.to_string());
            continue;
        }
        let key = format!("{}:{line}", src.name);
        let (_schedule, rest) = if t.starts_with('@') {
            match fields(t, 1) {
                Some((f, rest)) if SPECIALS.contains(&f[0]) => (f, rest),
                _ => {
                    r.notes
                        .push((key, "line not understood as a cron job".into()));
                    continue;
                }
            }
        } else {
            match fields(t, 5) {
                Some(x) if x.0.iter().all(|f| is_cron_field(f)) => x,
                _ => {
                    r.notes
                        .push((key, "line not understood as a cron job".into()));
                    continue;
                }
            }
        };
        let (user, command) = if src.system {
            match fields(rest, 1) {
                Some((u, cmd)) => (Some(u[0]), cmd),
                None => {
                    r.notes
                        .push((key, "system crontab line without a user field".into()));
                    continue;
                }
            }
        } else {
            (src.user.as_deref(), rest)
        };
        let job = Job {
            user,
            command: cron_command(command),
        };
        r.jobs += 1;
        let problems = check_job(&job, &vars, cfg, &key, r);
        if problems > 0 {
            r.failing_jobs += 1;
        }
    }
}

fn strip_outer_quotes(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Where names come from for one job.
#[derive(Default)]
struct Provided {
    names: BTreeSet<String>,
    /// An env file could not be read or resolved: its variables are assumed to be provided.
    assume_all: bool,
    /// Env files read, for messages.
    files: Vec<String>,
    /// Keys an env file defines only after an interactive-only `return` (name → file:line).
    late: BTreeMap<String, String>,
}

/// Checks one job; returns how many problems it added.
fn check_job(
    job: &Job<'_>,
    vars: &BTreeMap<String, String>,
    cfg: &Settings,
    key: &str,
    r: &mut Report,
) -> usize {
    let before = r.problems.len();
    let home = job_home(job, vars, cfg);
    let cwd = cfg.root.clone().or_else(|| home.clone());
    let tree = cfg.tree.as_deref();
    let path = in_tree(
        tree,
        &effective_cron_path(vars.get("PATH"), &cfg.cron_path, cfg.root.as_deref()),
    );
    let mut provided = Provided::default();
    provided.names.extend(vars.keys().cloned());
    provided.names.extend(cfg.ignore.iter().cloned());
    provided
        .names
        .extend(SHELL_VARS.iter().map(|s| s.to_string()));

    // The job line is shell code run by `sh -c`.
    let ctx = CodeCtx {
        home: home.as_deref(),
        script_dir: None,
        cwd: cwd.as_deref(),
        tree,
    };
    let facts = scan_shell(&job.command, &ctx);
    if let Some(line) = facts.too_deep {
        // Part of the line was not read: the job is not judged from the rest.
        r.unknown
            .push((key.to_string(), shell::too_deep_message(line)));
        return 0;
    }
    load_env_files(&facts, &ctx, cfg, &mut provided, key, r);
    provided.names.extend(facts.assigns.iter().cloned());
    let mut uses: Vec<(String, String)> = facts
        .uses
        .iter()
        .map(|(v, _)| (v.clone(), String::new()))
        .collect();
    let mut script_shown: Option<String> = None;
    let job_path = if let Some(why) = &facts.path_dynamic {
        r.notes.push((key.to_string(), why.clone()));
        None
    } else if let Some(p) = &facts.path_value {
        expand_path_value(p, &path, home.as_deref()).map(|v| in_tree(tree, &v))
    } else {
        Some(path)
    };
    if let Some(cmd_path) = &job_path {
        let mut f = Follow {
            cmd_path,
            ctx: &ctx,
            cfg,
            key,
            provided: &mut provided,
            r: &mut *r,
        };
        let (shown, more) = follow_scripts(&facts, &mut f);
        script_shown = shown;
        uses.extend(more);
    }
    report_unset(&uses, &provided, script_shown.is_some(), cfg, key, r);
    r.problems.len() - before
}

/// The job's HOME: the crontab's `HOME=`, else `script_root`, else the owner's home directory
/// from this host's user database (not under `--root`, whose tree it does not describe).
fn job_home(job: &Job<'_>, vars: &BTreeMap<String, String>, cfg: &Settings) -> Option<PathBuf> {
    vars.get("HOME")
        .map(PathBuf::from)
        .or_else(|| cfg.root.clone())
        .or_else(|| {
            // under --root this host's user database does not describe the tree
            job.user
                .filter(|_| cfg.tree.is_none())
                .and_then(|u| nix::unistd::User::from_name(u).ok().flatten())
                .map(|u| u.dir)
        })
}

/// What following one job's scripts works with: the PATH its commands run on, where paths
/// resolve, the probe's settings, the finding key, and what it fills in (the names the job is
/// given, and the report).
struct Follow<'a, 'c> {
    cmd_path: &'a str,
    ctx: &'a CodeCtx<'c>,
    cfg: &'a Settings,
    key: &'a str,
    provided: &'a mut Provided,
    r: &'a mut Report,
}

/// Checks the commands the job line runs on `cmd_path` and reads the scripts among them (each
/// once, at most MAX_FOLLOWED, when `follow` is on). Returns the last script read and the
/// variable uses found in the scripts (with where).
fn follow_scripts(
    facts: &CodeFacts,
    f: &mut Follow<'_, '_>,
) -> (Option<String>, Vec<(String, String)>) {
    let mut script_shown = None;
    let mut uses = Vec::new();
    let mut followed: BTreeSet<PathBuf> = BTreeSet::new();
    for inv in &facts.invocations {
        let Some(script) = check_command(inv, f.cmd_path, f.ctx, f.key, "", f.r) else {
            continue;
        };
        // Each script is read once per job, and at most MAX_FOLLOWED of them.
        if !f.cfg.follow || followed.contains(&script.path) {
            continue;
        }
        if followed.len() >= MAX_FOLLOWED {
            f.r.notes.push((
                f.key.to_string(),
                format!("runs more than {MAX_FOLLOWED} scripts; the rest are not read"),
            ));
            break;
        }
        followed.insert(script.path.clone());
        if let Some((name, more)) = check_script(&script, f) {
            uses.extend(more);
            script_shown = Some(name);
        }
    }
    (script_shown, uses)
}

/// Reads one script the job runs: its shebang, env files, assignments, problems, and the
/// commands it runs on the PATH it ends up with. Returns the script's name and its variable
/// uses, or None when it could not be read or judged.
fn check_script(
    script: &Script,
    f: &mut Follow<'_, '_>,
) -> Option<(String, Vec<(String, String)>)> {
    let Follow {
        cmd_path,
        ctx,
        cfg,
        key,
        provided,
        r,
    } = f;
    let tree = ctx.tree;
    let shown = script.path.display().to_string();
    let dir = script.path.parent().map(Path::to_path_buf);
    let sctx = CodeCtx {
        home: ctx.home,
        script_dir: dir.as_deref(),
        cwd: ctx.cwd,
        tree,
    };
    // a script many jobs run is read and scanned once per run
    let scan_key = (
        script.path.clone(),
        script.direct,
        script.lang,
        ctx.home.map(Path::to_path_buf),
        ctx.cwd.map(Path::to_path_buf),
    );
    let scan = match r.scans.get(&scan_key) {
        Some(s) => Arc::clone(s),
        None => {
            let s = Arc::new(scan_script(script, &sctx, cfg.max_bytes));
            if r.scans.len() < MAX_SCANS_KEPT {
                r.scans.insert(scan_key, Arc::clone(&s));
            }
            s
        }
    };
    let (first_line, sf) = match &*scan {
        ScriptScan::NotScript => return None,
        ScriptScan::Unreadable(e) => {
            r.unknown
                .push((key.to_string(), format!("cannot read script {shown}: {e}")));
            return None;
        }
        ScriptScan::Read { first_line, facts } => (first_line, facts),
    };
    if script.direct {
        check_shebang(first_line, cmd_path, tree, key, &shown, r);
    }
    if let Some(line) = sf.too_deep {
        r.unknown.push((
            key.to_string(),
            format!("script {shown}: {}", shell::too_deep_message(line)),
        ));
        return None;
    }
    let name = script
        .path
        .file_name()
        .map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
    load_env_files(sf, &sctx, cfg, provided, key, r);
    provided.names.extend(sf.assigns.iter().cloned());
    for (line, msg) in &sf.problems {
        r.problems
            .push((key.to_string(), format!("{msg} ({name}:{line})")));
    }
    if let Some(line) = sf.eval_at {
        r.notes.push((
            key.to_string(),
            format!("{name}:{line} evals dynamic text: its variables are not checked"),
        ));
    }
    let uses = sf
        .uses
        .iter()
        .map(|(v, line)| (v.clone(), format!(" ({name}:{line})")))
        .collect();
    // Commands inside the script run on the PATH the script ends up with.
    let spath = if let Some(why) = &sf.path_dynamic {
        r.notes.push((
            key.to_string(),
            format!("{why} in {name}: commands not checked"),
        ));
        None
    } else {
        match &sf.path_value {
            Some(p) => expand_path_value(p, cmd_path, ctx.home).map(|v| in_tree(tree, &v)),
            None => Some(cmd_path.to_string()),
        }
    };
    if let Some(spath) = spath {
        for sinv in &sf.invocations {
            let _ = check_command(sinv, &spath, &sctx, key, &name, r);
        }
    }
    Some((name, uses))
}

/// A script as one run saw it, shared by every job that runs it (`Report::scans`).
#[derive(Debug)]
enum ScriptScan {
    /// A compiled program run directly (ELF, Mach-O) or a file with NUL bytes: nothing to read
    /// in it (its bytes scanned as shell were junk findings, and a large one was "truncated").
    NotScript,
    /// Why it could not be read.
    Unreadable(String),
    /// Its first line (for the shebang) and what it uses, sets, loads and runs.
    Read {
        first_line: String,
        facts: CodeFacts,
    },
}

/// Which script, how it is run, and where (HOME, cron's working directory): a scan depends on
/// nothing else.
type ScanKey = (
    PathBuf,
    bool,
    Option<Lang>,
    Option<PathBuf>,
    Option<PathBuf>,
);

/// Distinct scripts remembered per run (each is bounded by `max_script_bytes`); past this a
/// script is scanned for every job that runs it.
const MAX_SCANS_KEPT: usize = 256;

/// Reads and scans one script through the bounded reader.
fn scan_script(script: &Script, sctx: &CodeCtx<'_>, max_bytes: u64) -> ScriptScan {
    if script.direct && crate::read::head(&script.path, 4).is_ok_and(|m| is_executable_binary(&m)) {
        return ScriptScan::NotScript;
    }
    let text = match read_bounded(&script.path, max_bytes) {
        Ok(t) if t.contains('\0') => return ScriptScan::NotScript,
        Ok(t) => t,
        Err(e) => return ScriptScan::Unreadable(e.to_string()),
    };
    let lang = script.lang.unwrap_or_else(|| lang_of(&script.path, &text));
    let facts = match lang {
        Lang::Shell => scan_shell(&text, sctx),
        _ => scan_other(&text),
    };
    let first_line = text.lines().next().unwrap_or("").to_string();
    ScriptScan::Read { first_line, facts }
}

/// An ELF or Mach-O (thin or universal) executable's first bytes.
fn is_executable_binary(magic: &[u8]) -> bool {
    matches!(
        magic,
        [0x7f, b'E', b'L', b'F']
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [0xca, 0xfe, 0xba, 0xbe]
    )
}

/// Reports each variable the job uses that nothing provides (once per name, with why), then
/// each `require_env` name it does not get.
fn report_unset(
    uses: &[(String, String)],
    provided: &Provided,
    ran_script: bool,
    cfg: &Settings,
    key: &str,
    r: &mut Report,
) {
    let mut reported = BTreeSet::new();
    for (v, at) in uses {
        if provided.assume_all || provided.names.contains(v) || !reported.insert(v.clone()) {
            continue;
        }
        let why = if let Some(late) = provided.late.get(v) {
            format!("{late} sets it only after returning early for non-interactive shells")
        } else if provided.files.is_empty() {
            if ran_script {
                "the script loads no env file".to_string()
            } else {
                "the command loads no env file".to_string()
            }
        } else {
            format!(
                "no loaded env file defines it ({})",
                provided.files.join(", ")
            )
        };
        r.problems.push((
            key.to_string(),
            format!("job uses ${v} but cron does not set it and {why}{at}"),
        ));
    }
    for v in &cfg.require {
        if provided.assume_all || provided.names.contains(v) {
            continue;
        }
        r.problems.push((
            key.to_string(),
            format!("job does not get ${v} (require_env)"),
        ));
    }
}

/// The PATH cron gives the job: the crontab's `PATH=` (relative entries against `script_root`)
/// or `cron_path`.
fn effective_cron_path(set: Option<&String>, default: &str, root: Option<&Path>) -> String {
    let Some(p) = set else {
        return default.to_string();
    };
    p.split(':')
        .map(|d| match root {
            Some(root) if !d.is_empty() && !d.starts_with('/') => {
                root.join(d).display().to_string()
            }
            _ => d.to_string(),
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// Expands a script's `PATH=...` value against the PATH it inherits; None if it depends on
/// anything else.
fn expand_path_value(raw: &str, inherited: &str, home: Option<&Path>) -> Option<String> {
    let mut v = strip_quotes(raw)
        .replace("${PATH}", inherited)
        .replace("$PATH", inherited);
    if let Some(h) = home {
        let h = h.display().to_string();
        v = v.replace("${HOME}", &h).replace("$HOME", &h);
        v = v
            .split(':')
            .map(|d| match d.strip_prefix("~/") {
                Some(rest) => format!("{h}/{rest}"),
                None => d.to_string(),
            })
            .collect::<Vec<_>>()
            .join(":");
    }
    (!v.contains('$') && !v.contains('`')).then_some(v)
}

/// A script a job runs.
struct Script {
    path: PathBuf,
    lang: Option<Lang>,
    /// Run by its own shebang (must be executable) rather than through an interpreter.
    direct: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Lang {
    Shell,
    Python,
    Node,
    Ruby,
    Perl,
}

fn interpreter_lang(cmd: &str) -> Option<Lang> {
    let base = cmd.rsplit('/').next().unwrap_or(cmd);
    match base {
        "sh" | "bash" | "dash" | "zsh" | "ksh" => Some(Lang::Shell),
        "node" | "nodejs" => Some(Lang::Node),
        "ruby" => Some(Lang::Ruby),
        "perl" => Some(Lang::Perl),
        b if b.starts_with("python") => Some(Lang::Python),
        _ => None,
    }
}

fn lang_of(path: &Path, text: &str) -> Lang {
    let first = text.lines().next().unwrap_or("");
    if let Some(shebang) = first.strip_prefix("#!") {
        for w in shebang.split_whitespace() {
            if let Some(l) = interpreter_lang(w) {
                return l;
            }
        }
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("py") => Lang::Python,
        Some("js" | "mjs" | "cjs" | "ts") => Lang::Node,
        Some("rb") => Lang::Ruby,
        Some("pl") => Lang::Perl,
        _ => Lang::Shell,
    }
}

/// `#!/usr/bin/env node` needs `node` on cron's PATH; `#!/opt/x/bin/python` must exist.
fn check_shebang(
    text: &str,
    path: &str,
    tree: Option<&Path>,
    key: &str,
    shown: &str,
    r: &mut Report,
) {
    let Some(shebang) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return;
    };
    let mut words = shebang.split_whitespace();
    let Some(interp) = words.next() else { return };
    if interp.ends_with("/env") {
        let prog = words.find(|w| !w.starts_with('-') && !w.contains('='));
        if let Some(prog) = prog
            && exec::which(prog, path).is_none()
        {
            r.problems.push((
                key.to_string(),
                format!("script {shown} starts with '#!{interp} {prog}' but '{prog}' is not on cron PATH {path}"),
            ));
        }
    } else if !in_tree_path(tree, Path::new(interp)).exists() {
        r.problems.push((
            key.to_string(),
            format!("script {shown} names interpreter {interp}, which does not exist"),
        ));
    }
}

/// Checks the command of one invocation; returns the script it runs, if any.
fn check_command(
    inv: &Invocation,
    path: &str,
    ctx: &CodeCtx<'_>,
    key: &str,
    within: &str,
    r: &mut Report,
) -> Option<Script> {
    let at = if within.is_empty() {
        String::new()
    } else {
        format!(" ({within}:{})", inv.line)
    };
    let first = inv.words.first()?;
    let resolved;
    let cmd = if first.contains('$') {
        resolved = resolve_str(first, ctx, &BTreeMap::new())?;
        &resolved
    } else {
        first
    };
    if cmd.contains('`') || cmd.is_empty() || inv.functions.contains(cmd) {
        return None;
    }
    if BUILTINS.contains(&cmd.as_str()) {
        return None;
    }
    if cmd.contains('/') || cmd.starts_with('~') {
        let p = resolve_path(cmd, ctx, inv.cwd.as_deref())?;
        if !p.exists() {
            r.problems.push((
                key.to_string(),
                format!("command '{}' does not exist{at}", p.display()),
            ));
            return None;
        }
        if !p.is_file() {
            // a FIFO, device or directory: cron cannot run it and nothing here can read it
            r.unknown.push((
                key.to_string(),
                format!(
                    "command '{}' is not a regular file; not judged{at}",
                    p.display()
                ),
            ));
            return None;
        }
        if exec::which(&p.display().to_string(), "").is_none() {
            r.problems.push((
                key.to_string(),
                format!("'{}' is not executable{at}", p.display()),
            ));
            return None;
        }
        if let Some(lang) = interpreter_lang(cmd) {
            return script_arg(inv, lang, ctx, key, &at, r);
        }
        return Some(Script {
            path: p,
            lang: None,
            direct: true,
        });
    }
    if exec::which(cmd, path).is_none() {
        r.problems.push((
            key.to_string(),
            format!("command '{cmd}' not on cron PATH {path}{at}"),
        ));
        return None;
    }
    let lang = interpreter_lang(cmd)?;
    script_arg(inv, lang, ctx, key, &at, r)
}

/// `bash [-opts] path`, `python3 -u path`: the script an interpreter runs.
fn script_arg(
    inv: &Invocation,
    lang: Lang,
    ctx: &CodeCtx<'_>,
    key: &str,
    at: &str,
    r: &mut Report,
) -> Option<Script> {
    let mut args = inv.words.iter().skip(1);
    let arg = loop {
        let a = args.next()?;
        match a.as_str() {
            // Inline code or a module: no script file to read.
            "-c" | "-m" | "-e" | "--eval" | "-" => return None,
            a if a.starts_with('-') => continue,
            a => break a,
        }
    };
    let arg = resolve_str(arg, ctx, &BTreeMap::new())?;
    let p = resolve_path(&arg, ctx, inv.cwd.as_deref())?;
    if p.exists() && !p.is_file() {
        r.unknown.push((
            key.to_string(),
            format!(
                "script '{}' is not a regular file; not judged{at}",
                p.display()
            ),
        ));
        return None;
    }
    if !p.is_file() {
        r.problems.push((
            key.to_string(),
            format!("script '{}' does not exist{at}", p.display()),
        ));
        return None;
    }
    Some(Script {
        path: p,
        lang: Some(lang),
        direct: false,
    })
}

/// Loads the env files `facts` names into `provided` (each file once, at most `MAX_FOLLOWED`).
fn load_env_files(
    facts: &CodeFacts,
    ctx: &CodeCtx<'_>,
    cfg: &Settings,
    provided: &mut Provided,
    key: &str,
    r: &mut Report,
) {
    for load in facts.env_files.iter().take(MAX_FOLLOWED) {
        let resolved = match &load.raw {
            Some(raw) => resolve_word(raw, ctx, &BTreeMap::new()),
            None => ctx.script_dir.or(ctx.cwd).map(|d| d.join(".env")),
        };
        let Some(path) = resolved else {
            provided.assume_all = true;
            r.notes.push((
                key.to_string(),
                format!(
                    "loads an env file whose path cannot be resolved statically ({}); its variables are assumed present",
                    load.raw.as_deref().unwrap_or(".env")
                ),
            ));
            continue;
        };
        let shown = path.display().to_string();
        if provided.files.contains(&shown) {
            continue;
        }
        if !path.exists() && load.raw.is_none() {
            // A dotenv library may search other directories for its default file.
            provided.assume_all = true;
            r.notes.push((
                key.to_string(),
                format!("loads a default .env ({shown} does not exist); its variables are assumed present"),
            ));
            continue;
        }
        if !path.exists() {
            r.notes.push((
                key.to_string(),
                format!("loads {shown}, which does not exist"),
            ));
            continue;
        }
        let text = match read_bounded(&path, cfg.max_bytes) {
            Ok(t) => t,
            Err(e) => {
                provided.assume_all = true;
                r.notes.push((
                    key.to_string(),
                    format!(
                        "cannot read env file {shown} ({e}); its variables are assumed present"
                    ),
                ));
                continue;
            }
        };
        let env = env_file_keys(&text);
        provided.names.extend(env.keys.iter().cloned());
        for (k, line) in env.late {
            provided
                .late
                .entry(k)
                .or_insert_with(|| format!("{shown}:{line}"));
        }
        provided.files.push(shown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Health;
    use crate::probe::testkit::{self, evidence, look_in, write, write_files};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hosts/cron_env");

    fn probe(src: &str) -> CronEnv {
        testkit::parse(src)
    }

    /// Looks once with relative paths resolved against the committed fixtures.
    async fn look(p: &CronEnv) -> Observation {
        look_in(p, Path::new(FIXTURES)).await
    }

    /// Looks once at the one user crontab `tab`, with the other keys at their defaults.
    async fn look_at(tab: &Path) -> Observation {
        look(&probe(&format!("crontabs = [\"{}\"]", tab.display()))).await
    }

    /// The bad twin: the script uses $SHOPIFY_TOKEN and `node` and loads nothing.
    #[tokio::test]
    async fn script_missing_var_and_command_is_critical() {
        let dir = tempfile::tempdir().unwrap();
        let x = dir.path().join("x");
        let bin = dir.path().join("bin");
        write(&bin.join("sh"), "#!/bin/sh\n", 0o755);
        write(
            &x.join("sync.sh"),
            "#!/bin/sh\nset -eu\ncurl_token=\"$SHOPIFY_TOKEN\"\nnode /opt/sync/index.js \"$curl_token\"\n",
            0o755,
        );
        write(
            &x.join("crontab"),
            &format!("MAILTO=\"\"\n*/5 * * * * {}\n", x.join("sync.sh").display()),
            0o600,
        );
        let p = probe(&format!(
            "crontabs = [\"{}\"]\ncron_path = \"{}\"",
            x.join("crontab").display(),
            bin.display()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical, "{}", evidence(&o));
        let ev = evidence(&o);
        let key = format!("{}:2", x.join("crontab").display());
        assert!(
            ev.contains(&format!("{key} -> job uses $SHOPIFY_TOKEN but cron does not set it and the script loads no env file (sync.sh:3)")),
            "{ev}"
        );
        assert!(
            ev.contains(&format!(
                "command 'node' not on cron PATH {} (sync.sh:4)",
                bin.display()
            )),
            "{ev}"
        );
    }

    /// A script many jobs run is scanned once per run, and every job still gets its findings;
    /// a job that gives it what it needs is not judged by another job's scan.
    #[tokio::test]
    async fn a_shared_script_is_judged_for_every_job_that_runs_it() {
        let dir = tempfile::tempdir().unwrap();
        let x = dir.path().join("x");
        write(
            &x.join("sync.sh"),
            "#!/bin/sh\necho \"$SHOPIFY_TOKEN\"\n",
            0o755,
        );
        let script = x.join("sync.sh").display().to_string();
        let mut tab = String::from("MAILTO=\"\"\n");
        for m in 0..40 {
            tab.push_str(&format!("{m} * * * * {script}\n"));
        }
        // the same script with the variable on the job line
        tab.push_str(&format!("59 * * * * SHOPIFY_TOKEN=x {script}\n"));
        write(&x.join("crontab"), &tab, 0o600);
        let o = look_at(&x.join("crontab")).await;
        assert_eq!(o.health, Health::Critical, "{}", evidence(&o));
        assert!(
            o.summary
                .starts_with("40 of 41 cron jobs lack what they use"),
            "{}",
            o.summary
        );
    }

    /// The good twin: the crontab sets PATH with a node, the script loads .env with set -a.
    #[tokio::test]
    async fn fixed_twin_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let x = dir.path().join("x");
        let bin = dir.path().join("bin");
        write(&bin.join("node"), "#!/bin/sh\n", 0o755);
        write(&x.join(".env"), "SHOPIFY_TOKEN=shpat_secret_value\n", 0o600);
        write(&x.join("index.js"), "", 0o644);
        write(
            &x.join("sync.sh"),
            &format!(
                "#!/bin/sh\nset -a; . {}; set +a\nnode {} \"$SHOPIFY_TOKEN\"\n",
                x.join(".env").display(),
                x.join("index.js").display()
            ),
            0o755,
        );
        write(
            &x.join("crontab"),
            &format!(
                "PATH={}:/usr/bin:/bin\n*/5 * * * * {} >> /tmp/sync.log 2>&1\n",
                bin.display(),
                x.join("sync.sh").display()
            ),
            0o600,
        );
        let o = look_at(&x.join("crontab")).await;
        assert_eq!(o.health, Health::Ok, "{}", evidence(&o));
        assert!(!format!("{o:?}").contains("shpat_secret_value"));
    }

    /// A job whose command or script is a FIFO was judged ok (nothing read, nothing said).
    #[tokio::test]
    async fn fifo_command_or_script_is_unknown_not_ok() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("job.sh");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        for (cmd, want) in [
            (
                fifo.display().to_string(),
                "is not a regular file; not judged",
            ),
            (
                format!("/bin/sh {}", fifo.display()),
                "is not a regular file; not judged",
            ),
        ] {
            let tab = dir.path().join("crontab");
            write(&tab, &format!("*/5 * * * * {cmd}\n"), 0o600);
            let o = look_at(&tab).await;
            assert_eq!(o.health, Health::Unknown, "{cmd}: {}", evidence(&o));
            let ev = evidence(&o);
            assert!(
                ev.contains(&fifo.display().to_string()) && ev.contains(want),
                "{ev}"
            );
        }
    }

    /// A job running a compiled program (/bin/true) read the binary as a shell script: 100
    /// such jobs took 5 s and reported "command '       ' not on cron PATH (true:1)".
    #[tokio::test]
    async fn a_compiled_program_is_not_read_as_a_script() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("prog");
        let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
        elf.extend_from_slice(
            b"  $(   `x  \0\0 $UNSET_VAR ; nosuchcmd\n"
                .repeat(50_000)
                .as_slice(),
        );
        write(&bin, "", 0o755);
        std::fs::write(&bin, &elf).unwrap();
        let tab = dir.path().join("crontab");
        write(&tab, &format!("*/5 * * * * {}\n", bin.display()), 0o600);
        let o = look_at(&tab).await;
        assert_eq!(o.health, Health::Ok, "{}", evidence(&o));
        assert!(is_executable_binary(&[0xcf, 0xfa, 0xed, 0xfe]));
        assert!(!is_executable_binary(b"#!/b"));
    }

    #[tokio::test]
    async fn committed_fixtures_bad_and_good() {
        for (twin, want) in [("bad", Health::Critical), ("good", Health::Ok)] {
            let p = probe(&format!(
                "crontabs = [\"{twin}/crontab\"]\nscript_root = \"{twin}\"\ncron_path = \"/nonexistent\""
            ));
            let o = look(&p).await;
            assert_eq!(o.health, want, "{twin}: {}", evidence(&o));
            if twin == "bad" {
                let ev = evidence(&o);
                testkit::assert_contains(
                    &ev,
                    &["$SHOPIFY_TOKEN", "command 'node' not on cron PATH"],
                );
            }
        }
    }

    #[tokio::test]
    async fn inline_job_vars_and_require_env() {
        let dir = tempfile::tempdir().unwrap();
        let tab = dir.path().join("agent");
        write(
            &tab,
            "# inline jobs\nFOO=bar\n@hourly echo \"$FOO\" ${BAR:-x} '$QUOTED' > /dev/null\n",
            0o600,
        );
        let o = look_at(&tab).await;
        assert_eq!(o.health, Health::Ok, "{}", evidence(&o));
        assert!(o.summary.starts_with("1 cron jobs"), "{}", o.summary);

        let p = probe(&format!(
            "crontabs = [\"{}\"]\nrequire_env = [\"FOO\", \"HELPDESK_API_URL\"]",
            tab.display()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical);
        assert!(
            evidence(&o).contains("job does not get $HELPDESK_API_URL (require_env)"),
            "{}",
            evidence(&o)
        );

        write(
            &tab,
            "0 6 * * * echo \"$FOO\" 50\\% done % stdin $IGNORED\n",
            0o600,
        );
        let o = look_at(&tab).await;
        assert_eq!(o.health, Health::Critical);
        let ev = evidence(&o);
        testkit::assert_contains(
            &ev,
            &["job uses $FOO but cron does not set it and the command loads no env file"],
        );
        assert!(!ev.contains("IGNORED"), "text after % is stdin: {ev}");
    }

    #[tokio::test]
    async fn system_crontab_with_user_field_and_cron_d_directory() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path();
        write_files(
            etc,
            &[
                (
                    "crontab",
                    "SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n",
                    0o644,
                ),
                (
                    "cron.d/brain-sync",
                    "*/30 * * * * root test -x /nonexistent/brain-sync.sh && $BRAIN_REMOTE\n",
                    0o644,
                ),
                ("cron.d/.placeholder", "not a crontab\n", 0o644),
                ("cron.d/old.dpkg-old", "* * * * * root $NOPE\n", 0o644),
            ],
        );
        let p = probe(&format!(
            "system_crontabs = [\"{}\", \"{}\"]",
            etc.join("crontab").display(),
            etc.join("cron.d").display()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical, "{}", evidence(&o));
        let ev = evidence(&o);
        testkit::assert_contains(&ev, &["brain-sync:1 -> job uses $BRAIN_REMOTE"]);
        testkit::assert_lacks(&ev, &["NOPE"]);
        assert!(
            !ev.contains("crontab:3"),
            "run-parts is on the crontab's PATH: {ev}"
        );
        assert!(o.summary.starts_with("1 of 2 cron jobs"), "{}", o.summary);
    }

    #[tokio::test]
    async fn unreadable_is_unknown_and_absent_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        // Tests run as root, so a mode-000 file is still readable: a directory where a user
        // crontab file should be is the unreadable case.
        std::fs::create_dir(dir.path().join("agent")).unwrap();
        let o = look_at(&dir.path().join("agent")).await;
        assert_eq!(o.health, Health::Unknown, "{}", evidence(&o));

        let o = look_at(&dir.path().join("nobody")).await;
        assert_eq!(o.health, Health::Ok, "{}", evidence(&o));
        assert!(evidence(&o).contains("no crontab at path"));
    }

    #[tokio::test]
    async fn user_crontab_via_command() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("crontab");
        write(
            &fake,
            "#!/bin/sh\necho 'no crontab for root' >&2\nexit 1\n",
            0o755,
        );
        let p = probe(&format!(
            "user_crontab = true\ncrontab_command = [\"{}\", \"-l\"]",
            fake.display()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{}", evidence(&o));
        assert!(evidence(&o).contains("no crontab for the daemon user"));

        write(&fake, "#!/bin/sh\necho '@daily echo $TOKEN'\n", 0o755);
        assert_eq!(look(&p).await.health, Health::Critical);

        write(
            &fake,
            "#!/bin/sh\necho 'permission denied' >&2\nexit 1\n",
            0o755,
        );
        assert_eq!(look(&p).await.health, Health::Unknown);

        // a configured command that does not exist is a blind spot; only the default `crontab`
        // missing means "no cron here"
        let p = probe("user_crontab = true\ncrontab_command = [\"/nonexistent/crontab\", \"-l\"]");
        assert_eq!(look(&p).await.health, Health::Unknown);
        assert!(is_default_crontab(&["crontab".into(), "-l".into()]));
        assert!(!is_default_crontab(&[
            "/usr/bin/crontab".into(),
            "-l".into()
        ]));
    }

    #[tokio::test]
    async fn bashrc_that_returns_early_and_python_scripts() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("root");
        write_files(
            &home,
            &[
                (".bashrc", "# ~/.bashrc\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\nexport HOLDED_API_KEY=abc\n", 0o644),
                ("jobs/pnl.sh", "#!/bin/bash\nsource $HOME/.bashrc 2>/dev/null || true\ncase \"$1\" in\n  weekly|monthly) echo run ;;\nesac\necho \"$HOLDED_API_KEY\"\n", 0o755),
                ("jobs/snap.py", "#!/usr/bin/env python3\nimport os\ntok = os.environ[\"STOCK_TOKEN\"]\nurl = os.getenv(\"STOCK_URL\", \"http://x\")\nos.environ[\"SET_HERE\"] = \"1\"\nprint(os.environ[\"SET_HERE\"])\n", 0o755),
                ("jobs/inv.sh", "#!/bin/bash\npython3 - <<'PYEOF'\nimport os\nwith open(\"$HOME/.bashrc\") as f:\n    pass\nPYEOF\n", 0o755),
                ("crontab", &"HOME=ROOT\n0 6 * * 1 $HOME/jobs/pnl.sh\n30 6 * * * cd $HOME/jobs && python3 snap.py\n0 7 * * * bash ~/jobs/inv.sh\n".replace("ROOT", &home.display().to_string()), 0o600),
            ],
        );
        let p = probe(&format!(
            "crontabs = [\"{}\"]\ncron_path = \"/usr/bin:/bin\"",
            home.join("crontab").display()
        ));
        let o = look(&p).await;
        let ev = evidence(&o);
        assert_eq!(o.health, Health::Critical, "{ev}");
        testkit::assert_contains(
            &ev,
            &[
                "job uses $HOLDED_API_KEY but cron does not set it and",
                ".bashrc:4 sets it only after returning early",
                "job uses $STOCK_TOKEN",
            ],
        );
        assert!(
            !ev.contains("STOCK_URL") && !ev.contains("SET_HERE"),
            "{ev}"
        );
        testkit::assert_contains(&ev, &["opens the literal path '$HOME/.bashrc'"]);
        assert!(
            !ev.contains("weekly"),
            "case patterns are not commands: {ev}"
        );
        assert!(!ev.contains("abc"), "never a value: {ev}");
    }

    #[test]
    fn lexer_and_scanner_pieces() {
        let ctx = CodeCtx {
            home: Some(Path::new("/home/a")),
            script_dir: Some(Path::new("/opt/s")),
            cwd: None,
            tree: None,
        };
        let f = scan_shell(
            "A=1 env -i B=2 flock -n /tmp/l nice -n 5 foo \"$(jq -r .t f)\" 2>&1 | tee x",
            &ctx,
        );
        let cmds: Vec<&str> = f.invocations.iter().map(|i| i.words[0].as_str()).collect();
        assert_eq!(cmds, ["jq", "env", "flock", "nice", "foo", "tee"]);
        assert_eq!(
            resolve_word(
                "\"$(cd \"$(dirname \"$0\")\" && pwd)/.env\"",
                &ctx,
                &BTreeMap::new()
            ),
            Some(PathBuf::from("/opt/s/.env"))
        );
        assert_eq!(
            resolve_word("${HOME}/.env", &ctx, &BTreeMap::new()),
            Some(PathBuf::from("/home/a/.env"))
        );
        assert_eq!(resolve_word("$ENV_FILE", &ctx, &BTreeMap::new()), None);
        assert_eq!(cron_command("a 50\\% b % c"), "a 50% b");
    }

    #[test]
    fn functions_probed_commands_redirects_and_eval() {
        let ctx = CodeCtx {
            home: None,
            script_dir: None,
            cwd: None,
            tree: None,
        };
        let f = scan_shell(
            "helper() {\n  exec 3<&-\n  lvs -o x\n}\nfunction other {\n  :\n}\nif ! type lvs >/dev/null 2>&1; then exit 0; fi\nhelper\nother\nwhile read v; do eval \"$v\"; echo \"$MOUNTPOINT\"; done\n",
            &ctx,
        );
        let cmds: Vec<&str> = f.invocations.iter().map(|i| i.words[0].as_str()).collect();
        assert_eq!(
            cmds,
            [":", "type", "exit", "helper", "other", "eval", "echo"],
            "{f:?}"
        );
        assert!(f.invocations[0].functions.contains("helper"));
        assert!(f.uses.is_empty() && f.eval_at == Some(11), "{f:?}");
    }
}
