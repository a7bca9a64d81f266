//! Loads `config.toml` and its includes once into typed values (`Config`), reporting every
//! problem with its file, key path and line/column (`ConfigErrors`, exit 78). This is the only
//! place that knows the file format; everything after it sees typed values. It must not run
//! probes, touch the store or send anything.

pub mod env;
pub mod error;
pub mod raw;

pub use error::{ConfigError, ConfigErrors, ConfigWarning};

use crate::alert::AnyChannel;
use crate::ledger::{AUDIENCES, BUILTIN_LESSONS, CLASSES, Catalog, Lesson, LessonId};
use crate::probe::{AnyProbe, Health};
use error::Sink;
use raw::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The embedded default: a self-audit of this host.
pub const DEFAULT_CONFIG: &str = include_str!("../../checks/default.toml");
/// Embedded probe packs, named `builtin:<name>` in `include`.
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("host.toml", include_str!("../../checks/host.toml")),
    ("openclaw.toml", include_str!("../../checks/openclaw.toml")),
    ("hermes.toml", include_str!("../../checks/hermes.toml")),
    ("fleet.toml", include_str!("../../checks/fleet.toml")),
];
/// Standard config locations, searched in order when `--config` is not given.
pub const STANDARD_PATHS: &[&str] = &["/etc/ledgerd/config.toml", "~/.config/ledgerd/config.toml"];

#[derive(Debug)]
pub struct Config {
    pub daemon: Daemon,
    pub catalog: Catalog,
    pub probes: Vec<ProbeConfig>,
    pub channels: Vec<ChannelConfig>,
    pub routes: Vec<Route>,
    /// Waivers from `[[silence]]`, as store-shaped rows (id 0, negative for config).
    pub silences: Vec<crate::store::SilenceRow>,
    /// Every file read (main first), for reload watching and `doctor`.
    pub files: Vec<PathBuf>,
    pub warnings: Vec<ConfigWarning>,
    /// Where the main config came from.
    pub origin: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Daemon {
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    pub host: String,
    pub concurrency: usize,
    /// What the store keeps, per tier (`retention`, `keep_observations`, `retention_5m`,
    /// `retention_1h`, `retention_transitions`).
    pub retention: crate::store::Retention,
    pub dashboard_url: String,
    pub default_timeout: Duration,
    /// Bearer token for the web server (`daemon.auth_token_file`).
    pub auth_token: Option<crate::redact::Secret>,
    /// Basic auth (`daemon.basic_auth_user` + `daemon.basic_auth_password_hash`).
    pub basic_auth: Option<BasicAuth>,
}

/// HTTP basic auth for the web server: a user and an Argon2 PHC hash of the password.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    pub user: String,
    /// The PHC string; kept as a `Secret` so it is never logged (it is still a verifier).
    pub password_hash: crate::redact::Secret,
}

impl Daemon {
    /// True when the web server requires credentials.
    pub fn auth_required(&self) -> bool {
        self.auth_token.is_some() || self.basic_auth.is_some()
    }
}

#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Cron {
        expr: String,
        cron: Box<croner::Cron>,
        tz: chrono_tz::Tz,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Shadow,
}

#[derive(Debug)]
pub struct ProbeConfig {
    pub id: String,
    /// Never empty; the first is the primary lesson.
    pub lessons: Vec<LessonId>,
    pub schedule: Schedule,
    pub jitter: Option<Duration>,
    pub timeout: Duration,
    /// Highest health this probe reports (`severity = "warn"` caps at degraded).
    pub max_health: Health,
    pub tags: Vec<String>,
    pub mode: Mode,
    pub fail_after: Option<u32>,
    pub resolve_after: Option<u32>,
    pub flap_failures: Option<u32>,
    pub flap_window: Option<u32>,
    pub description: Option<String>,
    pub depends_on: Vec<String>,
    /// The agent this probe belongs to (`agent = ".."`, or the `agent` var of the include that
    /// loaded its file); `None` for host-wide probes.
    pub agent: Option<String>,
    pub probe: AnyProbe,
    pub file: PathBuf,
    pub base_dir: PathBuf,
}

impl Config {
    /// The agents the probes belong to, sorted (host-wide probes have none).
    pub fn agents(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .probes
            .iter()
            .filter_map(|p| p.agent.as_deref())
            .collect();
        set.into_iter().map(str::to_string).collect()
    }
}

impl ProbeConfig {
    pub fn kind(&self) -> &'static str {
        self.probe.kind()
    }
    pub fn primary_lesson(&self) -> LessonId {
        self.lessons.first().copied().unwrap_or(LessonId(0))
    }
    /// The nominal interval (for cron: the gap between the next two runs), used for staleness.
    pub fn nominal_interval(&self) -> Duration {
        match &self.schedule {
            Schedule::Every(d) => *d,
            Schedule::Cron { cron, tz, .. } => {
                let now = chrono::Utc::now().with_timezone(tz);
                let a = cron.find_next_occurrence(&now, false).ok();
                let b = a
                    .as_ref()
                    .and_then(|a| cron.find_next_occurrence(a, false).ok());
                match (a, b) {
                    (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(3600)),
                    _ => Duration::from_secs(3600),
                }
            }
        }
    }
}

#[derive(Debug)]
pub struct ChannelConfig {
    pub id: String,
    pub min_health: Health,
    pub group_wait: Duration,
    pub group_max: usize,
    pub max_per_minute: u32,
    /// Local time and zone of the daily digest, if one is configured.
    pub digest: Option<(chrono::NaiveTime, chrono_tz::Tz)>,
    pub channel: AnyChannel,
    pub file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub lessons: Vec<LessonId>,
    pub classes: Vec<String>,
    pub probes: Vec<String>,
    pub tags: Vec<String>,
    /// Agents matched; empty = all.
    pub agents: Vec<String>,
    pub min_health: Health,
    pub max_health: Health,
    pub to: Vec<String>,
    pub fail_after: Option<u32>,
    pub resolve_after: Option<u32>,
    pub flap_failures: Option<u32>,
    pub flap_window: Option<u32>,
    pub remind_every: Option<Duration>,
    pub send_resolved: bool,
    pub default: bool,
}

/// Default thresholds (Gatus-like): fire after 2 failures, resolve after 2 successes.
pub const DEFAULT_FAIL_AFTER: u32 = 2;
pub const DEFAULT_RESOLVE_AFTER: u32 = 2;

/// Parses "30s", "5m", "14d", "1h 30m".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration '{s}': {e} (expected e.g. \"30s\", \"5m\", \"2h\", \"7d\")")
    })
}

/// Which config to load: an explicit path, `$LEDGERD_CONFIG`, the standard paths, or the
/// embedded default (`None`).
pub fn find(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("LEDGERD_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    STANDARD_PATHS
        .iter()
        .map(|p| crate::probe::resolve_path(Path::new("/"), Path::new(p)))
        .find(|p| p.exists())
}

/// Loads the config chosen by `find`.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigErrors> {
    match find(explicit) {
        Some(p) => load_file(&p),
        None => load_embedded(),
    }
}

pub fn load_embedded() -> Result<Config, ConfigErrors> {
    Loader::new(&env_lookup).load_main(
        Path::new("<embedded>/default.toml"),
        Some(DEFAULT_CONFIG.to_string()),
    )
}

pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    Loader::new(&env_lookup).load_main(path, None)
}

/// Loads with a custom environment (tests).
pub fn load_file_with_env(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    Loader::new(lookup).load_main(path, None)
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

struct Doc {
    file: PathBuf,
    src: String,
    table: toml::Table,
    base_dir: PathBuf,
    is_main: bool,
    /// Prepended to the ids of probes defined here (from `include = [{ prefix = .. }]`).
    prefix: String,
    /// The agent its probes belong to: the `agent` var of the include that loaded it (or of an
    /// include above it). The main file's `[vars]` do not make probes an agent's.
    agent: Option<String>,
}

/// One `include` entry.
struct Include {
    key: String,
    path: String,
    vars: BTreeMap<String, String>,
    prefix: String,
}

fn collect_includes(
    key: &str,
    v: Option<&toml::Value>,
    out: &mut Vec<Include>,
    errors: &mut Vec<(String, String)>,
) {
    let Some(v) = v else { return };
    let Some(items) = v.as_array() else {
        errors.push((
            key.to_string(),
            "expected an array of file paths or { path, vars, prefix } tables".into(),
        ));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        match item {
            toml::Value::String(s) => out.push(Include {
                key: k,
                path: s.clone(),
                vars: BTreeMap::new(),
                prefix: String::new(),
            }),
            toml::Value::Table(t) => {
                let mut ok = true;
                for extra in t
                    .keys()
                    .filter(|x| !["path", "vars", "prefix"].contains(&x.as_str()))
                {
                    errors.push((
                        format!("{k}.{extra}"),
                        format!(
                            "unknown field `{extra}`, expected one of `path`, `vars`, `prefix`"
                        ),
                    ));
                    ok = false;
                }
                let path = match t.get("path").and_then(|p| p.as_str()) {
                    Some(p) => p.to_string(),
                    None => {
                        errors.push((k.clone(), "missing `path`".into()));
                        continue;
                    }
                };
                let prefix = match t.get("prefix") {
                    None => String::new(),
                    Some(toml::Value::String(p))
                        if p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                    {
                        p.clone()
                    }
                    Some(_) => {
                        errors.push((
                            format!("{k}.prefix"),
                            "expected a string of letters, digits, '_' and '-'".into(),
                        ));
                        ok = false;
                        String::new()
                    }
                };
                let mut vars = BTreeMap::new();
                match t.get("vars") {
                    None => {}
                    Some(toml::Value::Table(vt)) => {
                        for (name, val) in vt {
                            match val {
                                toml::Value::String(s) => {
                                    vars.insert(name.clone(), s.clone());
                                }
                                toml::Value::Integer(_)
                                | toml::Value::Float(_)
                                | toml::Value::Boolean(_) => {
                                    vars.insert(name.clone(), val.to_string());
                                }
                                _ => {
                                    errors.push((
                                        format!("{k}.vars.{name}"),
                                        "expected a string, number or boolean".into(),
                                    ));
                                    ok = false;
                                }
                            }
                        }
                    }
                    Some(_) => {
                        errors.push((format!("{k}.vars"), "expected a table of variables".into()));
                        ok = false;
                    }
                }
                if ok {
                    out.push(Include {
                        key: k,
                        path,
                        vars,
                        prefix,
                    });
                }
            }
            _ => errors.push((
                k,
                "expected a file path or a { path, vars, prefix } table".into(),
            )),
        }
    }
}

struct Loader<'e> {
    env: &'e dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
    docs: Vec<Doc>,
    seen: BTreeSet<(PathBuf, String)>,
}

impl<'e> Loader<'e> {
    fn new(env: &'e dyn Fn(&str) -> Option<String>) -> Self {
        Loader {
            env,
            errors: Vec::new(),
            warnings: Vec::new(),
            docs: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    fn load_main(mut self, path: &Path, embedded: Option<String>) -> Result<Config, ConfigErrors> {
        let src = match embedded {
            Some(s) => s,
            None => match read_text(path) {
                Ok(s) => s,
                Err((msg, at)) => {
                    self.errors.push(ConfigError {
                        file: path.to_path_buf(),
                        key: String::new(),
                        at,
                        message: msg,
                    });
                    return Err(ConfigErrors(self.errors));
                }
            },
        };
        let mut stack = Vec::new();
        self.parse_doc(
            path,
            src,
            true,
            &mut stack,
            BTreeMap::new(),
            String::new(),
            None,
        );
        if self.docs.is_empty() {
            return Err(ConfigErrors(self.errors));
        }
        let config = self.build(path);
        // file order (main first, then includes as read), then position
        let order: Vec<PathBuf> =
            self.errors
                .iter()
                .map(|e| e.file.clone())
                .fold(Vec::new(), |mut v, f| {
                    if !v.contains(&f) {
                        v.push(f);
                    }
                    v
                });
        self.errors
            .sort_by_key(|e| (order.iter().position(|f| *f == e.file), e.at));
        if self.errors.is_empty() {
            config.map_err(|_| ConfigErrors(Vec::new()))
        } else {
            Err(ConfigErrors(self.errors))
        }
    }

    /// Parses one file and, depth first, its includes. `vars` are the variables in force for this
    /// file (its include's `vars` over the main file's `[vars]`); an included file's own `[vars]`
    /// fill in what those leave unset (its defaults), then `builtin_var`, then the environment.
    /// `prefix` is prepended to the ids of the probes it defines.
    #[allow(clippy::too_many_arguments)]
    fn parse_doc(
        &mut self,
        file: &Path,
        src: String,
        is_main: bool,
        stack: &mut Vec<PathBuf>,
        mut vars: BTreeMap<String, String>,
        prefix: String,
        agent: Option<String>,
    ) {
        let mut table = match toml::from_str::<toml::Table>(&src) {
            Ok(t) => t,
            Err(e) => {
                let at = e.span().map(|s| error::line_col(&src, s.start));
                let msg = e
                    .message()
                    .lines()
                    .next()
                    .unwrap_or("invalid TOML")
                    .trim()
                    .to_string();
                self.errors.push(ConfigError {
                    file: file.to_path_buf(),
                    key: String::new(),
                    at,
                    message: format!("invalid TOML: {msg}"),
                });
                return;
            }
        };
        let mut env_errors = Vec::new();
        // the main file's [vars] apply everywhere; their values may use ${ENV}
        if is_main && let Some(v) = table.get_mut("vars") {
            let lookup = |name: &str| builtin_var(name).or_else(|| (self.env)(name));
            env::expand_tree(v, "vars", &lookup, &mut env_errors);
            match v.as_table() {
                Some(t) => {
                    for (k, val) in t {
                        match val {
                            toml::Value::String(s) => {
                                vars.insert(k.clone(), s.clone());
                            }
                            toml::Value::Integer(_)
                            | toml::Value::Float(_)
                            | toml::Value::Boolean(_) => {
                                vars.insert(k.clone(), val.to_string());
                            }
                            _ => env_errors.push((
                                format!("vars.{k}"),
                                "expected a string, number or boolean".into(),
                            )),
                        }
                    }
                }
                None => env_errors.push(("vars".into(), "expected a table of variables".into())),
            }
        }
        // a pack's own [vars] are its defaults: they fill in what the include's vars and the main
        // [vars] leave unset, and may refer to each other
        if !is_main && let Some(v) = table.get("vars") {
            pack_defaults(v, &mut vars, self.env, &mut env_errors);
        }
        {
            let lookup = |name: &str| {
                vars.get(name)
                    .cloned()
                    .or_else(|| builtin_var(name))
                    .or_else(|| (self.env)(name))
            };
            for (k, v) in table.iter_mut() {
                if k != "vars" {
                    env::expand_tree(v, k, &lookup, &mut env_errors);
                }
            }
        }
        let base_dir =
            if file.starts_with("<embedded>") || file.to_string_lossy().starts_with("builtin:") {
                PathBuf::from("/")
            } else {
                file.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."))
            };
        {
            let mut sink = Sink {
                file,
                src: Some(&src),
                errors: &mut self.errors,
            };
            for (k, m) in env_errors {
                sink.err(k, m);
            }
        }
        // includes: top-level `include` and, in the main file, `daemon.include`; each entry is a
        // path or { path, vars, prefix }
        let mut includes: Vec<Include> = Vec::new();
        let mut inc_errors = Vec::new();
        collect_includes(
            "include",
            table.get("include"),
            &mut includes,
            &mut inc_errors,
        );
        if let Some(toml::Value::Table(d)) = table.get("daemon") {
            collect_includes(
                "daemon.include",
                d.get("include"),
                &mut includes,
                &mut inc_errors,
            );
        }
        {
            let mut sink = Sink {
                file,
                src: Some(&src),
                errors: &mut self.errors,
            };
            for (k, m) in inc_errors {
                sink.err(k, m);
            }
        }
        let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        self.seen.insert((canonical.clone(), prefix.clone()));
        stack.push(canonical);
        let doc_index = self.docs.len();
        self.docs.push(Doc {
            file: file.to_path_buf(),
            src,
            table,
            base_dir: base_dir.clone(),
            is_main,
            prefix: prefix.clone(),
            agent: agent.clone(),
        });
        for inc in includes {
            let key = inc.key.clone();
            let (path, text) = if let Some(name) = inc.path.strip_prefix("builtin:") {
                match BUILTIN_PACKS.iter().find(|(n, _)| *n == name) {
                    Some((_, text)) => (
                        PathBuf::from(format!("builtin:{name}")),
                        Ok(text.to_string()),
                    ),
                    None => {
                        let names: Vec<_> = BUILTIN_PACKS
                            .iter()
                            .map(|(n, _)| format!("builtin:{n}"))
                            .collect();
                        self.doc_err(
                            doc_index,
                            &key,
                            format!(
                                "no embedded pack '{}' (expected one of {})",
                                inc.path,
                                names.join(", ")
                            ),
                        );
                        continue;
                    }
                }
            } else {
                let p = crate::probe::resolve_path(&base_dir, Path::new(&inc.path));
                let text = read_text(&p);
                (p, text)
            };
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if let Some(pos) = stack.iter().position(|p| *p == canonical) {
                let mut chain: Vec<String> = stack[pos..]
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                chain.push(canonical.display().to_string());
                self.doc_err(
                    doc_index,
                    &key,
                    format!("include cycle: {}", chain.join(" -> ")),
                );
                continue;
            }
            let child_prefix = format!("{prefix}{}", inc.prefix);
            if self
                .seen
                .contains(&(canonical.clone(), child_prefix.clone()))
            {
                if inc.vars.is_empty() {
                    continue; // a diamond include: already loaded once
                }
                self.doc_err(doc_index, &format!("{key}.prefix"), "this file is already included with the same prefix: give each copy its own `prefix`".into());
                continue;
            }
            let child_agent = inc.vars.get("agent").cloned().or_else(|| agent.clone());
            let mut child_vars = vars.clone();
            child_vars.extend(inc.vars);
            match text {
                Ok(text) => self.parse_doc(
                    &path,
                    text,
                    false,
                    stack,
                    child_vars,
                    child_prefix,
                    child_agent,
                ),
                Err((msg, _)) => self.doc_err(
                    doc_index,
                    &key,
                    format!("cannot include '{}': {msg}", path.display()),
                ),
            }
        }
        stack.pop();
    }

    fn doc_err(&mut self, doc: usize, key: &str, msg: String) {
        let d = &self.docs[doc];
        Sink {
            file: &d.file,
            src: Some(&d.src),
            errors: &mut self.errors,
        }
        .err(key, msg);
    }

    fn build(&mut self, main_path: &Path) -> Result<Config, ()> {
        let docs = std::mem::take(&mut self.docs);
        let mut errors = std::mem::take(&mut self.errors);
        let mut catalog = Catalog::builtin();
        let mut daemon_raw = RawDaemon::default();
        let mut probes = Vec::new();
        let mut channels = Vec::new();
        let mut routes_raw: Vec<(usize, usize, RawRoute)> = Vec::new();
        let mut probe_files: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut channel_ids: BTreeSet<String> = BTreeSet::new();
        let mut daemon_src: Option<usize> = None;

        // pass 1: lessons (probes in any file may cite lessons from any file)
        for (di, doc) in docs.iter().enumerate() {
            let mut sink = Sink {
                file: &doc.file,
                src: Some(&doc.src),
                errors: &mut errors,
            };
            if let Some(v) = doc.table.get("lesson") {
                let Some(t) = v.as_table() else {
                    sink.err("lesson", "expected a table of [lesson.<number>] tables");
                    continue;
                };
                for (num, body) in t {
                    let key = format!("lesson.{num}");
                    let Ok(n) = num.parse::<u32>() else {
                        sink.err(&key, "lesson numbers are integers, 33 and up");
                        continue;
                    };
                    if n <= BUILTIN_LESSONS {
                        sink.err(&key, format!("lessons 1-{BUILTIN_LESSONS} are the published ledger; number your own from {}", BUILTIN_LESSONS + 1));
                        continue;
                    }
                    match deserialize::<RawLesson>(body.clone()) {
                        Err((k, m)) => sink.err(join(&key, &k), m),
                        Ok(l) => {
                            if !CLASSES.contains(&l.class.as_str()) {
                                sink.err(
                                    format!("{key}.class"),
                                    format!(
                                        "unknown class '{}', expected one of {}",
                                        l.class,
                                        CLASSES.join(", ")
                                    ),
                                );
                            }
                            if !AUDIENCES.contains(&l.audience.as_str()) {
                                sink.err(
                                    format!("{key}.audience"),
                                    format!(
                                        "unknown audience '{}', expected one of {}",
                                        l.audience,
                                        AUDIENCES.join(", ")
                                    ),
                                );
                            }
                            catalog.add(Lesson {
                                number: n,
                                title: l.title,
                                fix: l.fix,
                                rule: l.rule,
                                class: l.class,
                                audience: l.audience,
                                audience_inferred: false,
                                owner: l.owner.unwrap_or_else(|| "platform".into()),
                            });
                        }
                    }
                }
            }
            let _ = di;
        }

        for (di, doc) in docs.iter().enumerate() {
            let mut sink = Sink {
                file: &doc.file,
                src: Some(&doc.src),
                errors: &mut errors,
            };
            let allowed: &[&str] = if doc.is_main {
                &[
                    "daemon", "vars", "include", "lesson", "probe", "channel", "route", "silence",
                ]
            } else {
                &[
                    "vars", "include", "lesson", "probe", "channel", "route", "silence",
                ]
            };
            for key in doc.table.keys() {
                if !allowed.contains(&key.as_str()) {
                    let hint = if key == "daemon" {
                        " ([daemon] belongs in the main config file)"
                    } else {
                        ""
                    };
                    sink.err(
                        key,
                        format!(
                            "unknown top-level key '{key}', expected one of {}{hint}",
                            allowed.join(", ")
                        ),
                    );
                }
            }
            if doc.is_main
                && let Some(v) = doc.table.get("daemon")
            {
                match deserialize::<RawDaemon>(v.clone()) {
                    Ok(d) => {
                        daemon_raw = d;
                        daemon_src = Some(di);
                    }
                    Err((k, m)) => sink.err(join("daemon", &k), m),
                }
            }
            if let Some(v) = doc.table.get("probe") {
                match v.as_table() {
                    None => sink.err("probe", "expected [probe.<id>] tables"),
                    Some(t) => {
                        for (file_id, body) in t {
                            let key = format!("probe.{file_id}");
                            let id = format!("{}{file_id}", doc.prefix);
                            if let Some(prev) = probe_files.get(&id) {
                                sink.err(
                                    &key,
                                    format!(
                                        "probe id '{id}' is already defined in {}",
                                        prev.display()
                                    ),
                                );
                                continue;
                            }
                            probe_files.insert(id.clone(), doc.file.clone());
                            if let Some(mut p) =
                                build_probe(file_id, body, doc, &catalog, &mut sink)
                            {
                                p.id = id;
                                for d in &mut p.depends_on {
                                    *d = format!("{}{d}", doc.prefix);
                                }
                                probes.push(p);
                            }
                        }
                    }
                }
            }
            if let Some(v) = doc.table.get("channel") {
                match v.as_table() {
                    None => sink.err("channel", "expected [channel.<id>] tables"),
                    Some(t) => {
                        for (id, body) in t {
                            let key = format!("channel.{id}");
                            if !channel_ids.insert(id.clone()) {
                                sink.err(&key, format!("channel id '{id}' is defined twice"));
                                continue;
                            }
                            if let Some(c) = build_channel(id, body, doc, &mut sink) {
                                channels.push(c);
                            }
                        }
                    }
                }
            }
            if let Some(v) = doc.table.get("route") {
                match v.as_array() {
                    None => sink.err("route", "expected [[route]] tables"),
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            match deserialize::<RawRoute>(item.clone()) {
                                Ok(r) => routes_raw.push((di, i, r)),
                                Err((k, m)) => sink.err(join(&format!("route[{i}]"), &k), m),
                            }
                        }
                    }
                }
            }
        }

        let agents: BTreeSet<String> = probes
            .iter()
            .filter_map(|p: &ProbeConfig| p.agent.clone())
            .collect();

        // waivers
        let mut silences = Vec::new();
        for doc in docs.iter() {
            let mut sink = Sink {
                file: &doc.file,
                src: Some(&doc.src),
                errors: &mut errors,
            };
            let Some(v) = doc.table.get("silence") else {
                continue;
            };
            let Some(items) = v.as_array() else {
                sink.err("silence", "expected [[silence]] tables");
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let key = format!("silence[{i}]");
                let r: RawSilence = match deserialize(item.clone()) {
                    Ok(r) => r,
                    Err((k, m)) => {
                        sink.err(join(&key, &k), m);
                        continue;
                    }
                };
                if r.lesson.is_none()
                    && r.probe.is_none()
                    && r.tag.is_none()
                    && r.host.is_none()
                    && r.agent.is_none()
                {
                    sink.err(
                        &key,
                        "a silence needs a lesson, probe, tag, host or agent to match",
                    );
                    continue;
                }
                if let Some(a) = &r.agent
                    && !agents.contains(a)
                {
                    sink.err(
                        format!("{key}.agent"),
                        format!(
                            "no probe belongs to agent '{a}' (agents: {})",
                            list_or_none(&agents)
                        ),
                    );
                    continue;
                }
                if let Some(n) = r.lesson
                    && catalog.get(n).is_none()
                {
                    sink.err(
                        format!("{key}.lesson"),
                        format!("lesson {n} is not in the catalog"),
                    );
                    continue;
                }
                if r.reason.trim().is_empty() {
                    sink.err(
                        format!("{key}.reason"),
                        "say why the alerts may be silenced",
                    );
                    continue;
                }
                let Some(expires) = datetime_ms(&r.expires) else {
                    sink.err(
                        format!("{key}.expires"),
                        format!(
                            "expected a date (2026-12-15) or date-time with offset, got {}",
                            r.expires
                        ),
                    );
                    continue;
                };
                if expires <= chrono::Utc::now().timestamp_millis() {
                    self.warnings.push(ConfigWarning {
                        file: doc.file.clone(),
                        key: key.clone(),
                        message: format!("expired on {}: no longer silences anything", r.expires),
                    });
                }
                silences.push(crate::store::SilenceRow {
                    id: -(silences.len() as i64) - 1,
                    lesson: r.lesson,
                    probe: r.probe.map(|p| format!("{}{p}", doc.prefix)),
                    tag: r.tag,
                    host: r.host,
                    agent: r.agent,
                    reason: r.reason,
                    created_by: r.by.unwrap_or_else(|| "config".into()),
                    created: 0,
                    expires,
                    removed: None,
                });
            }
        }

        // routes need the channel list
        let mut routes = Vec::new();
        for (di, i, r) in routes_raw {
            let doc = &docs[di];
            let mut sink = Sink {
                file: &doc.file,
                src: Some(&doc.src),
                errors: &mut errors,
            };
            let key = format!("route[{i}]");
            if r.to.is_empty() {
                sink.err(format!("{key}.to"), "name at least one channel");
            }
            for (j, c) in r.to.iter().enumerate() {
                if !channel_ids.contains(c) {
                    sink.err(
                        format!("{key}.to[{j}]"),
                        format!("no channel '{c}' (defined: {})", list_or_none(&channel_ids)),
                    );
                }
            }
            let mut lessons = Vec::new();
            for (j, n) in r.lessons.iter().enumerate() {
                match catalog.id(*n) {
                    Some(id) => lessons.push(id),
                    None => sink.err(
                        format!("{key}.lessons[{j}]"),
                        format!("lesson {n} is not in the catalog (1-32, or define [lesson.{n}])"),
                    ),
                }
            }
            for (j, c) in r.classes.iter().enumerate() {
                if !CLASSES.contains(&c.as_str()) {
                    sink.err(
                        format!("{key}.classes[{j}]"),
                        format!(
                            "unknown class '{c}', expected one of {}",
                            CLASSES.join(", ")
                        ),
                    );
                }
            }
            for (j, p) in r.probes.iter().enumerate() {
                if !probe_files.contains_key(p) {
                    sink.err(format!("{key}.probes[{j}]"), format!("no probe '{p}'"));
                }
            }
            for (j, a) in r.agents.iter().enumerate() {
                if !agents.contains(a) {
                    sink.err(
                        format!("{key}.agents[{j}]"),
                        format!(
                            "no probe belongs to agent '{a}' (agents: {})",
                            list_or_none(&agents)
                        ),
                    );
                }
            }
            let min_health = parse_min_health(
                r.min_health.as_deref(),
                &format!("{key}.min_health"),
                &mut sink,
            );
            let remind_every = r
                .remind_every
                .as_deref()
                .and_then(|s| match parse_duration(s) {
                    Ok(d) => Some(d),
                    Err(m) => {
                        sink.err(format!("{key}.remind_every"), m);
                        None
                    }
                });
            check_threshold(r.fail_after, &format!("{key}.fail_after"), &mut sink);
            check_threshold(r.resolve_after, &format!("{key}.resolve_after"), &mut sink);
            let max_health = match r.max_health.as_deref() {
                None | Some("critical") => Health::Critical,
                Some("degraded") => Health::Degraded,
                Some(other) => {
                    sink.err(
                        format!("{key}.max_health"),
                        format!("unknown health '{other}', expected \"degraded\" or \"critical\""),
                    );
                    Health::Critical
                }
            };
            if max_health.rank() < min_health.rank() {
                sink.err(
                    format!("{key}.max_health"),
                    "is below min_health: the route would match nothing",
                );
            }
            check_flap_window(r.flap_window, &format!("{key}.flap_window"), &mut sink);
            routes.push(Route {
                lessons,
                classes: r.classes,
                probes: r.probes,
                tags: r.tags,
                agents: r.agents,
                min_health,
                max_health,
                to: r.to,
                fail_after: r.fail_after,
                resolve_after: r.resolve_after,
                flap_failures: r.flap_failures,
                flap_window: r.flap_window,
                remind_every,
                send_resolved: r.send_resolved.unwrap_or(true),
                default: r.default,
            });
        }

        // depends_on must name probes
        for p in &probes {
            for (j, dep) in p.depends_on.iter().enumerate() {
                if !probe_files.contains_key(dep) || dep == &p.id {
                    let doc = docs.iter().find(|d| d.file == p.file);
                    let mut sink = Sink {
                        file: &p.file,
                        src: doc.map(|d| d.src.as_str()),
                        errors: &mut errors,
                    };
                    sink.err(
                        format!("probe.{}.depends_on[{j}]", p.id),
                        format!("no other probe '{dep}'"),
                    );
                }
            }
        }

        let daemon = {
            let doc = daemon_src.map(|i| &docs[i]);
            let file = doc.map_or(main_path, |d| d.file.as_path());
            let mut sink = Sink {
                file,
                src: doc.map(|d| d.src.as_str()),
                errors: &mut errors,
            };
            build_daemon(
                daemon_raw,
                doc.map(|d| d.base_dir.as_path()).unwrap_or(Path::new("/")),
                &mut sink,
            )
        };

        // warnings
        let guarded: BTreeSet<u32> = probes
            .iter()
            .flat_map(|p| p.lessons.iter().map(|l| l.0))
            .collect();
        let unguarded: Vec<String> = catalog
            .iter()
            .filter(|l| !guarded.contains(&l.number))
            .map(|l| l.number.to_string())
            .collect();
        if !unguarded.is_empty() {
            self.warnings.push(ConfigWarning {
                file: main_path.to_path_buf(),
                key: String::new(),
                message: format!(
                    "{} lessons have no probe: {}",
                    unguarded.len(),
                    unguarded.join(", ")
                ),
            });
        }
        for p in &probes {
            if let Some(info) = crate::probe::KINDS.iter().find(|k| k.kind == p.kind())
                && !info.lessons.is_empty()
            {
                let cannot: Vec<String> = p
                    .lessons
                    .iter()
                    .map(|l| l.0)
                    .filter(|n| *n <= BUILTIN_LESSONS && !info.lessons.contains(n))
                    .map(|n| n.to_string())
                    .collect();
                if !cannot.is_empty() {
                    let can: Vec<String> = info.lessons.iter().map(|n| n.to_string()).collect();
                    self.warnings.push(ConfigWarning {
                        file: p.file.clone(),
                        key: format!("probe.{}", p.id),
                        message: format!(
                            "cites lesson {} but a {} probe cannot check it (it guards {}): the lesson would look held while nothing watches it",
                            cannot.join(", "),
                            info.kind,
                            can.join(", ")
                        ),
                    });
                }
            }
            if p.mode == Mode::Shadow {
                self.warnings.push(ConfigWarning {
                    file: p.file.clone(),
                    key: format!("probe.{}", p.id),
                    message: "shadow mode: records and displays, never notifies".into(),
                });
            }
        }
        if channels.is_empty() {
            self.warnings.push(ConfigWarning {
                file: main_path.to_path_buf(),
                key: String::new(),
                message: "no [channel.*] configured: alerts go to the log only".into(),
            });
        }

        self.errors = errors;
        let daemon = daemon.ok_or(())?;
        Ok(Config {
            daemon,
            catalog,
            probes,
            channels,
            routes,
            silences,
            files: docs.iter().map(|d| d.file.clone()).collect(),
            warnings: std::mem::take(&mut self.warnings),
            origin: main_path.to_path_buf(),
        })
    }
}

/// Variables every config can use without defining them: below the include's vars, the main
/// `[vars]` and a pack's `[vars]`, above the environment. `os` ("linux", "macos", ...),
/// `os_linux` and `os_macos` ("true"/"false", for `enabled = "${os_linux}"`) and `os_home_root`
/// ("/Users" on macOS, else "/home").
pub fn builtin_var(name: &str) -> Option<String> {
    let os = std::env::consts::OS;
    match name {
        "os" => Some(os.to_string()),
        "os_linux" => Some((os == "linux").to_string()),
        "os_macos" => Some((os == "macos").to_string()),
        "os_home_root" => Some(if os == "macos" { "/Users" } else { "/home" }.to_string()),
        _ => None,
    }
}

/// Adds an included file's `[vars]` table to `vars` as defaults: a name already set (by the
/// include's vars or the main `[vars]`) keeps its value. Defaults may use each other in any
/// order, the variables above, the built-ins and the environment; a cycle is an error.
fn pack_defaults(
    v: &toml::Value,
    vars: &mut BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    let Some(t) = v.as_table() else {
        errors.push(("vars".into(), "expected a table of variables".into()));
        return;
    };
    let mut pending: BTreeMap<String, String> = BTreeMap::new();
    for (k, val) in t {
        if vars.contains_key(k) {
            continue;
        }
        match val {
            toml::Value::String(s) => {
                pending.insert(k.clone(), s.clone());
            }
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                pending.insert(k.clone(), val.to_string());
            }
            _ => errors.push((
                format!("vars.{k}"),
                "expected a string, number or boolean".into(),
            )),
        }
    }
    while !pending.is_empty() {
        let mut progress = false;
        let names: Vec<String> = pending.keys().cloned().collect();
        for name in names {
            let result = {
                let waits = std::cell::Cell::new(false);
                let lookup = |n: &str| {
                    if n != name && pending.contains_key(n) {
                        waits.set(true);
                        return None;
                    }
                    vars.get(n)
                        .cloned()
                        .or_else(|| builtin_var(n))
                        .or_else(|| env(n))
                };
                let r = env::expand(&pending[&name], &lookup);
                if waits.get() { None } else { Some(r) }
            };
            match result {
                None => continue,
                Some(Ok(value)) => {
                    vars.insert(name.clone(), value);
                }
                Some(Err(e)) => errors.push((format!("vars.{name}"), e)),
            }
            pending.remove(&name);
            progress = true;
        }
        if !progress {
            let names: Vec<String> = pending.keys().cloned().collect();
            for name in &names {
                errors.push((
                    format!("vars.{name}"),
                    format!(
                        "defaults refer to each other in a cycle ({})",
                        names.join(", ")
                    ),
                ));
            }
            return;
        }
    }
}

/// A TOML date or offset date-time as unix milliseconds (dates at 00:00 UTC).
fn datetime_ms(d: &toml::value::Datetime) -> Option<i64> {
    let text = d.to_string();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&text) {
        return Some(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

fn list_or_none(ids: &BTreeSet<String>) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn join(prefix: &str, key: &str) -> String {
    if key.is_empty() {
        prefix.to_string()
    } else if key.starts_with('[') {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}.{key}")
    }
}

/// Deserializes a strict struct, returning (key path, message) on failure.
fn deserialize<T: serde::de::DeserializeOwned>(v: toml::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let p = e.path().to_string();
        (
            if p == "." { String::new() } else { p },
            e.inner().to_string(),
        )
    })
}

fn read_text(path: &Path) -> Result<String, (String, Option<(usize, usize)>)> {
    let bytes = std::fs::read(path).map_err(|e| (format!("cannot read file: {e}"), None))?;
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..off]).into_owned();
        (
            format!("file is not valid UTF-8 (invalid byte at offset {off})"),
            Some(error::line_col(&valid, off)),
        )
    })
}

/// Agent ids name a row of the lesson × agent matrix, a URL (`/agent/<id>`) and a metric label:
/// 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit.
pub fn check_agent_id(a: &str) -> Result<(), String> {
    let ok = !a.is_empty()
        && a.len() <= 64
        && a.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid agent id '{a}': expected 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        ))
    }
}

fn check_flap_window(v: Option<u32>, key: &str, sink: &mut Sink<'_>) {
    if let Some(w) = v
        && !(2..=64).contains(&w)
    {
        sink.err(key, "must be between 2 and 64 runs");
    }
}

fn check_threshold(v: Option<u32>, key: &str, sink: &mut Sink<'_>) {
    if v == Some(0) {
        sink.err(key, "must be at least 1");
    }
}

fn parse_min_health(v: Option<&str>, key: &str, sink: &mut Sink<'_>) -> Health {
    match v {
        None | Some("degraded") => Health::Degraded,
        Some("critical") => Health::Critical,
        Some(other) => {
            sink.err(
                key,
                format!("unknown health '{other}', expected \"degraded\" or \"critical\""),
            );
            Health::Degraded
        }
    }
}

fn build_daemon(r: RawDaemon, base: &Path, sink: &mut Sink<'_>) -> Option<Daemon> {
    let listen = match r
        .listen
        .as_deref()
        .unwrap_or("127.0.0.1:9477")
        .parse::<SocketAddr>()
    {
        Ok(a) => a,
        Err(e) => {
            sink.err(
                "daemon.listen",
                format!("invalid address: {e} (expected host:port, e.g. \"127.0.0.1:9477\")"),
            );
            return None;
        }
    };
    let auth_token = match &r.auth_token_file {
        None => None,
        Some(p) => {
            let path = crate::probe::resolve_path(base, p);
            match std::fs::read_to_string(&path) {
                Ok(t) if t.trim().len() >= 16 => Some(crate::redact::Secret::new(t.trim())),
                Ok(_) => {
                    sink.err(
                        "daemon.auth_token_file",
                        format!(
                            "the token in '{}' is shorter than 16 characters",
                            path.display()
                        ),
                    );
                    None
                }
                Err(e) => {
                    sink.err(
                        "daemon.auth_token_file",
                        format!("cannot read token file '{}': {e}", path.display()),
                    );
                    None
                }
            }
        }
    };
    let basic_auth = match (r.basic_auth_user, r.basic_auth_password_hash) {
        (None, None) => None,
        (Some(_), None) => {
            sink.err(
                "daemon.basic_auth_user",
                "set daemon.basic_auth_password_hash too (an Argon2 PHC string)",
            );
            None
        }
        (None, Some(_)) => {
            sink.err(
                "daemon.basic_auth_password_hash",
                "set daemon.basic_auth_user too",
            );
            None
        }
        (Some(user), Some(hash)) => {
            let mut ok = true;
            if user.is_empty() || user.contains(':') {
                sink.err(
                    "daemon.basic_auth_user",
                    "must be non-empty and must not contain ':'",
                );
                ok = false;
            }
            if let Err(m) = crate::web::auth::check_password_hash(&hash) {
                sink.err("daemon.basic_auth_password_hash", m);
                ok = false;
            }
            ok.then(|| BasicAuth {
                user,
                password_hash: crate::redact::Secret::new(hash),
            })
        }
    };
    if !listen.ip().is_loopback()
        && auth_token.is_none()
        && basic_auth.is_none()
        && r.auth_token_file.is_none()
    {
        sink.err("daemon.listen", format!("{listen} is not a loopback address and no authentication is configured; set daemon.auth_token_file or daemon.basic_auth_user + daemon.basic_auth_password_hash, or bind 127.0.0.1 and forward the port over a private network (lessons 13 and 20: access needs auth, secure reachability needs design)"));
    }
    let mut dur =
        |key: &str, v: Option<&str>, default: &str| match parse_duration(v.unwrap_or(default)) {
            Ok(d) => d,
            Err(m) => {
                sink.err(format!("daemon.{key}"), m);
                Duration::from_secs(1)
            }
        };
    let retention = crate::store::Retention {
        observations: dur("retention", r.retention.as_deref(), "14d"),
        keep_observations: r.keep_observations.unwrap_or(100),
        rollups_5m: dur("retention_5m", r.retention_5m.as_deref(), "2d"),
        rollups_1h: dur("retention_1h", r.retention_1h.as_deref(), "90d"),
        transitions: dur(
            "retention_transitions",
            r.retention_transitions.as_deref(),
            "365d",
        ),
    };
    let default_timeout = dur("default_timeout", r.default_timeout.as_deref(), "10s");
    if retention.keep_observations == 0 {
        sink.err("daemon.keep_observations", "must be at least 1");
    }
    if retention.rollups_5m < Duration::from_secs(86_400) {
        sink.err(
            "daemon.retention_5m",
            "must be at least 1d (the dashboard shows the last 24 hours from it)",
        );
    }
    let concurrency = r.concurrency.unwrap_or(32);
    if concurrency == 0 {
        sink.err("daemon.concurrency", "must be at least 1");
    }
    let state_dir = r
        .state_dir
        .map(|p| crate::probe::resolve_path(base, &p))
        .unwrap_or_else(crate::platform::default_state_dir);
    let host = r.host.unwrap_or_else(crate::platform::hostname);
    let dashboard_url = r
        .dashboard_url
        .unwrap_or_else(|| format!("http://{listen}"));
    Some(Daemon {
        listen,
        state_dir,
        host,
        concurrency: concurrency.max(1),
        retention,
        dashboard_url: dashboard_url.trim_end_matches('/').to_string(),
        default_timeout,
        auth_token,
        basic_auth,
    })
}

fn build_probe(
    id: &str,
    body: &toml::Value,
    doc: &Doc,
    catalog: &Catalog,
    sink: &mut Sink<'_>,
) -> Option<ProbeConfig> {
    let key = format!("probe.{id}");
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        sink.err(&key, "probe ids use letters, digits, '_' and '-'");
    }
    let Some(table) = body.as_table() else {
        sink.err(&key, "expected a table");
        return None;
    };
    let (common_t, kind_t): (toml::Table, toml::Table) = table
        .clone()
        .into_iter()
        .partition(|(k, _)| PROBE_COMMON_KEYS.contains(&k.as_str()));
    if !common_t.contains_key("kind") {
        sink.err(
            &key,
            format!(
                "missing 'kind' (one of {})",
                crate::probe::kind_names().join(", ")
            ),
        );
        return None;
    }
    let c: RawProbeCommon = match deserialize(toml::Value::Table(common_t)) {
        Ok(c) => c,
        Err((k, m)) => {
            sink.err(join(&key, &k), m);
            return None;
        }
    };
    let mut ok = true;
    let mut lessons = Vec::new();
    let nums: Vec<(String, u32)> = match (&c.lesson, &c.lessons) {
        (Some(_), Some(_)) => {
            sink.err(
                format!("{key}.lessons"),
                "set 'lesson' or 'lessons', not both",
            );
            ok = false;
            Vec::new()
        }
        (Some(n), None) => vec![(format!("{key}.lesson"), *n)],
        (None, Some(ns)) => ns
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("{key}.lessons[{i}]"), *n))
            .collect(),
        (None, None) => {
            sink.err(
                &key,
                "missing 'lesson': every probe guards a lesson of the ledger",
            );
            ok = false;
            Vec::new()
        }
    };
    if c.lessons.as_ref().is_some_and(|l| l.is_empty()) {
        sink.err(format!("{key}.lessons"), "name at least one lesson");
        ok = false;
    }
    for (k, n) in nums {
        match catalog.id(n) {
            Some(l) => lessons.push(l),
            None => {
                sink.err(k, format!("lesson {n} is not in the catalog (1-32, or define [lesson.{n}] numbered 33 and up)"));
                ok = false;
            }
        }
    }
    let schedule = match (&c.every, &c.cron) {
        (Some(_), Some(_)) => {
            sink.err(format!("{key}.cron"), "set 'every' or 'cron', not both");
            None
        }
        (None, Some(expr)) => {
            let tz = match c
                .timezone
                .as_deref()
                .unwrap_or("UTC")
                .parse::<chrono_tz::Tz>()
            {
                Ok(tz) => Some(tz),
                Err(_) => {
                    sink.err(
                        format!("{key}.timezone"),
                        format!(
                            "unknown time zone '{}' (expected an IANA name like \"Europe/Berlin\")",
                            c.timezone.as_deref().unwrap_or_default()
                        ),
                    );
                    None
                }
            };
            match expr.parse::<croner::Cron>() {
                Ok(cron) => tz.map(|tz| Schedule::Cron {
                    expr: expr.clone(),
                    cron: Box::new(cron),
                    tz,
                }),
                Err(e) => {
                    sink.err(format!("{key}.cron"), format!("invalid cron expression '{expr}': {e} (expected 5 or 6 fields, e.g. \"*/5 * * * *\")"));
                    None
                }
            }
        }
        (Some(every), None) => match parse_duration(every) {
            Ok(d) if d < Duration::from_secs(1) => {
                sink.err(format!("{key}.every"), "must be at least 1s");
                None
            }
            Ok(d) => {
                if c.timezone.is_some() {
                    sink.err(format!("{key}.timezone"), "only applies to 'cron'");
                }
                Some(Schedule::Every(d))
            }
            Err(m) => {
                sink.err(format!("{key}.every"), m);
                None
            }
        },
        (None, None) => Some(Schedule::Every(Duration::from_secs(60))),
    };
    let mut dur = |k: &str, v: &Option<String>| -> Option<Duration> {
        v.as_deref().and_then(|s| match parse_duration(s) {
            Ok(d) => Some(d),
            Err(m) => {
                sink.err(format!("{key}.{k}"), m);
                None
            }
        })
    };
    let jitter = dur("jitter", &c.jitter);
    let timeout = dur("timeout", &c.timeout);
    let max_health = match c.severity.as_deref() {
        None | Some("page") => Health::Critical,
        Some("warn") => Health::Degraded,
        Some(o) => {
            sink.err(
                format!("{key}.severity"),
                format!("unknown severity '{o}', expected \"page\" or \"warn\""),
            );
            Health::Critical
        }
    };
    let mode = match c.mode.as_deref() {
        None | Some("enforce") => Mode::Enforce,
        Some("shadow") => Mode::Shadow,
        Some(o) => {
            sink.err(
                format!("{key}.mode"),
                format!("unknown mode '{o}', expected \"enforce\" or \"shadow\""),
            );
            Mode::Enforce
        }
    };
    check_threshold(c.fail_after, &format!("{key}.fail_after"), sink);
    check_threshold(c.resolve_after, &format!("{key}.resolve_after"), sink);
    check_flap_window(c.flap_window, &format!("{key}.flap_window"), sink);
    let agent = match (&c.agent, &doc.agent) {
        (Some(a), _) => {
            if let Err(m) = check_agent_id(a) {
                sink.err(format!("{key}.agent"), m);
                ok = false;
            }
            Some(a.clone())
        }
        (None, Some(a)) => {
            if let Err(m) = check_agent_id(a) {
                sink.err(&key, format!("the include's `agent` var: {m}"));
                ok = false;
            }
            Some(a.clone())
        }
        (None, None) => None,
    };
    let probe = match AnyProbe::parse(&c.kind, toml::Value::Table(kind_t)) {
        None => {
            sink.err(
                format!("{key}.kind"),
                format!(
                    "unknown kind '{}', expected one of {}",
                    c.kind,
                    crate::probe::kind_names().join(", ")
                ),
            );
            return None;
        }
        Some(Err(problems)) => {
            for p in problems {
                sink.err(join(&key, &p.key), p.message);
            }
            return None;
        }
        Some(Ok(p)) => p,
    };
    if c.enabled == Some(false) {
        return None;
    }
    let schedule = schedule?;
    if !ok {
        return None;
    }
    Some(ProbeConfig {
        id: id.to_string(),
        lessons,
        schedule,
        jitter,
        timeout: timeout.unwrap_or(Duration::from_secs(10)),
        max_health,
        tags: c.tags,
        mode,
        fail_after: c.fail_after,
        resolve_after: c.resolve_after,
        flap_failures: c.flap_failures,
        flap_window: c.flap_window,
        description: c.description,
        depends_on: c.depends_on,
        agent,
        probe,
        file: doc.file.clone(),
        base_dir: doc.base_dir.clone(),
    })
}

fn build_channel(
    id: &str,
    body: &toml::Value,
    doc: &Doc,
    sink: &mut Sink<'_>,
) -> Option<ChannelConfig> {
    let key = format!("channel.{id}");
    let Some(table) = body.as_table() else {
        sink.err(&key, "expected a table");
        return None;
    };
    let (common_t, mut kind_t): (toml::Table, toml::Table) = table
        .clone()
        .into_iter()
        .partition(|(k, _)| CHANNEL_COMMON_KEYS.contains(&k.as_str()));
    if !common_t.contains_key("kind") {
        sink.err(
            &key,
            format!(
                "missing 'kind' (one of {})",
                crate::alert::channel_kind_names().join(", ")
            ),
        );
        return None;
    }
    let c: RawChannelCommon = match deserialize(toml::Value::Table(common_t)) {
        Ok(c) => c,
        Err((k, m)) => {
            sink.err(join(&key, &k), m);
            return None;
        }
    };
    let mut secret_errors = Vec::new();
    env::read_secret_files(&mut kind_t, &doc.base_dir, &mut secret_errors);
    let failed = !secret_errors.is_empty();
    for (k, m) in secret_errors {
        sink.err(join(&key, &k), m);
    }
    let min_health = parse_min_health(c.min_health.as_deref(), &format!("{key}.min_health"), sink);
    let group_wait = match parse_duration(c.group_wait.as_deref().unwrap_or("30s")) {
        Ok(d) => d,
        Err(m) => {
            sink.err(format!("{key}.group_wait"), m);
            Duration::ZERO
        }
    };
    let group_max = c.group_max.unwrap_or(20);
    if group_max == 0 {
        sink.err(format!("{key}.group_max"), "must be at least 1");
    }
    let max_per_minute = c.max_per_minute.unwrap_or(10);
    if max_per_minute < 2 {
        sink.err(
            format!("{key}.max_per_minute"),
            "must be at least 2 (one message plus the overflow summary)",
        );
    }
    let digest = match (&c.digest_at, &c.digest_timezone) {
        (None, None) => None,
        (None, Some(_)) => {
            sink.err(
                format!("{key}.digest_timezone"),
                "only applies with digest_at",
            );
            None
        }
        (Some(at), tz) => {
            let time = chrono::NaiveTime::parse_from_str(at, "%H:%M")
                .map_err(|_| {
                    sink.err(
                        format!("{key}.digest_at"),
                        format!("expected a local time like \"09:00\", got '{at}'"),
                    )
                })
                .ok();
            let zone = match tz.as_deref().unwrap_or("UTC").parse::<chrono_tz::Tz>() {
                Ok(z) => Some(z),
                Err(_) => {
                    sink.err(
                        format!("{key}.digest_timezone"),
                        format!(
                            "unknown time zone '{}' (expected an IANA name like \"Europe/Berlin\")",
                            tz.as_deref().unwrap_or_default()
                        ),
                    );
                    None
                }
            };
            time.zip(zone)
        }
    };
    let channel = match AnyChannel::parse(&c.kind, toml::Value::Table(kind_t)) {
        None => {
            sink.err(
                format!("{key}.kind"),
                format!(
                    "unknown channel kind '{}', expected one of {}",
                    c.kind,
                    crate::alert::channel_kind_names().join(", ")
                ),
            );
            return None;
        }
        Some(Err(problems)) => {
            if !failed {
                for p in problems {
                    sink.err(join(&key, &p.key), p.message);
                }
            }
            return None;
        }
        Some(Ok(ch)) => ch,
    };
    if c.enabled == Some(false) || failed {
        return None;
    }
    Some(ChannelConfig {
        id: id.to_string(),
        min_health,
        group_wait,
        group_max,
        max_per_minute,
        digest,
        channel,
        file: doc.file.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const PACK: &str = r#"
[vars]
# defaults, in any order, referring to each other
openclaw_dir = "${home}/.openclaw"
home = "/home/${agent}"
use_systemd = "true"
port = 18789

[probe.modes]
kind = "file_mode"
lesson = 19
paths = ["${root:-}${openclaw_dir}/plugins"]
optional = true

[probe.unit]
kind = "systemd_unit"
lesson = 25
enabled = "${use_systemd}"
unit = "openclaw-${agent}.service"

[probe.ports]
kind = "listen_ports"
lesson = 20
enabled = "${os_linux}"
loopback_only = ["${port}"]
"#;

    fn probe<'a>(c: &'a Config, id: &str) -> Option<&'a ProbeConfig> {
        c.probes.iter().find(|p| p.id == id)
    }

    #[test]
    fn pack_vars_are_defaults_under_include_and_main_vars() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pack.toml", PACK);
        let main = write(
            dir.path(),
            "main.toml",
            r#"
include = [
  { path = "pack.toml", prefix = "cs_", vars = { agent = "cs", home = "/Users/cs", use_systemd = false } },
  { path = "pack.toml", prefix = "hub_", vars = { agent = "hub" } },
]
[daemon]
state_dir = "state"
[vars]
root = "/fixture"
"#,
        );
        let c = load_file_with_env(&main, &no_env).unwrap();
        let dbg = |id: &str| format!("{:?}", probe(&c, id).map(|p| &p.probe));
        assert!(dbg("cs_modes").contains("/fixture/Users/cs/.openclaw/plugins"));
        assert!(dbg("hub_modes").contains("/fixture/home/hub/.openclaw/plugins"));
        // `enabled = "${use_systemd}"` became a boolean: false for cs, the default true for hub
        assert!(probe(&c, "cs_unit").is_none());
        assert!(dbg("hub_unit").contains("openclaw-hub.service"));
        // the built-in os_linux decides whether the linux-only probe is loaded
        assert_eq!(
            probe(&c, "hub_ports").is_some(),
            std::env::consts::OS == "linux"
        );
    }

    #[test]
    fn agents_come_from_the_include_var_or_the_probe_key_and_routes_and_waivers_check_them() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pack.toml", PACK);
        let main_text = r#"
include = [
  { path = "pack.toml", prefix = "cs_", vars = { agent = "cs" } },
  { path = "pack.toml", prefix = "hub_", vars = { agent = "hub" } },
]
[daemon]
state_dir = "state"
[probe.disk]
kind = "file_mode"
lesson = 19
paths = ["/tmp"]
[probe.finance_modes]
kind = "file_mode"
lesson = 19
agent = "finance"
paths = ["/tmp"]
[channel.cs_owner]
kind = "webhook"
url = "http://127.0.0.1:9/x"
[[route]]
agents = ["cs"]
to = ["cs_owner"]
[[silence]]
agent = "hub"
lesson = 19
reason = "hub's plugins are being reinstalled"
expires = 2099-01-01
"#;
        let main = write(dir.path(), "main.toml", main_text);
        let c = load_file_with_env(&main, &no_env).unwrap();
        let agent = |id: &str| probe(&c, id).and_then(|p| p.agent.clone());
        assert_eq!(agent("cs_modes").as_deref(), Some("cs"));
        assert_eq!(agent("hub_modes").as_deref(), Some("hub"));
        assert_eq!(agent("finance_modes").as_deref(), Some("finance"));
        assert_eq!(agent("disk"), None, "a probe of the main file is host-wide");
        assert_eq!(c.agents(), vec!["cs", "finance", "hub"]);
        assert_eq!(c.routes[0].agents, vec!["cs"]);
        assert_eq!(c.silences[0].agent.as_deref(), Some("hub"));

        let bad = main_text
            .replace("agents = [\"cs\"]", "agents = [\"cx\"]")
            .replace("agent = \"hub\"\nlesson", "agent = \"hbu\"\nlesson")
            .replace("agent = \"finance\"", "agent = \"fin ance\"");
        let main = write(dir.path(), "bad.toml", &bad);
        let text = load_file_with_env(&main, &no_env).unwrap_err().to_string();
        assert!(
            text.contains("route[0].agents[0]") && text.contains("no probe belongs to agent 'cx'"),
            "{text}"
        );
        assert!(
            text.contains("silence[0].agent") && text.contains("'hbu'"),
            "{text}"
        );
        assert!(
            text.contains("probe.finance_modes.agent") && text.contains("invalid agent id"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_required_var_and_a_cycle_are_errors_with_key_paths() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pack.toml", PACK);
        write(
            dir.path(),
            "cycle.toml",
            "[vars]\na = \"${b}\"\nb = \"x${a}\"\n[probe.p]\nkind = \"file_mode\"\nlesson = 19\npaths = [\"/${a}\"]\n",
        );
        let main = write(
            dir.path(),
            "main.toml",
            "[daemon]\nstate_dir = \"state\"\ninclude = [\"pack.toml\", \"cycle.toml\"]\n",
        );
        let errs = load_file_with_env(&main, &no_env).unwrap_err();
        let text = errs.to_string();
        assert!(text.contains("vars.home"), "{text}");
        assert!(text.contains("'agent' is not set"), "{text}");
        assert!(text.contains("vars.a") && text.contains("cycle"), "{text}");
    }

    #[test]
    fn a_string_enabled_that_is_not_a_boolean_is_still_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "main.toml",
            "[daemon]\nstate_dir = \"state\"\n[vars]\nflag = \"yes\"\n[probe.p]\nkind = \"file_mode\"\nlesson = 19\nenabled = \"${flag}\"\npaths = [\"/tmp\"]\n",
        );
        let text = load_file_with_env(&main, &no_env).unwrap_err().to_string();
        assert!(text.contains("probe.p.enabled"), "{text}");
    }
}
