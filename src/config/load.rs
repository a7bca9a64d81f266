//! Loading: reads the main file and, depth first, its includes (through the bounded reader
//! `crate::read`, so a FIFO, device or huge file is a config error naming the file, never a hang),
//! parses each as TOML, expands variables, then assembles the typed `Config` from every file's
//! lessons, probes, channels, routes and waivers, with the warnings `doctor` shows. It must not
//! know a probe or channel kind's keys (their files parse those) and must not start anything.

use super::doc::Doc;
use super::error::{self, ConfigError, ConfigErrors, ConfigWarning, Sink};
use super::includes::{Include, collect_includes, expand_doc};
use super::raw::{RawDaemon, RawLesson, RawRoute};
use super::{BUILTIN_PACKS, ChannelConfig, Config, Mode, ProbeConfig, deserialize, join};
use crate::ledger::{AUDIENCES, BUILTIN_LESSONS, CLASSES, Catalog, Lesson};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Most bytes read from one config file, include or secret file.
pub const MAX_CONFIG_BYTES: u64 = crate::read::SMALL;

pub(super) struct Loader<'e> {
    env: &'e dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
    docs: Vec<Doc>,
    seen: BTreeSet<(PathBuf, String)>,
}

/// What a file inherits from the include that loaded it: variables in force, the id prefix and
/// the agent its probes belong to.
struct Scope {
    vars: BTreeMap<String, String>,
    prefix: String,
    agent: Option<String>,
}

/// What pass 2 collects from every file before routes, waivers and dependencies are checked.
#[derive(Default)]
struct Parts {
    daemon: RawDaemon,
    daemon_doc: Option<usize>,
    probes: Vec<ProbeConfig>,
    channels: Vec<ChannelConfig>,
    routes: Vec<(usize, usize, RawRoute)>,
    /// Probe id -> the file defining it.
    probe_files: BTreeMap<String, PathBuf>,
    channel_ids: BTreeSet<String>,
}

impl<'e> Loader<'e> {
    pub(super) fn new(env: &'e dyn Fn(&str) -> Option<String>) -> Self {
        Loader {
            env,
            errors: Vec::new(),
            warnings: Vec::new(),
            docs: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    pub(super) fn load_main(
        mut self,
        path: &Path,
        embedded: Option<String>,
    ) -> Result<Config, ConfigErrors> {
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
        let top = Scope {
            vars: BTreeMap::new(),
            prefix: String::new(),
            agent: None,
        };
        self.parse_doc(path, src, true, &mut stack, top);
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
    fn parse_doc(
        &mut self,
        file: &Path,
        src: String,
        is_main: bool,
        stack: &mut Vec<PathBuf>,
        scope: Scope,
    ) {
        let Scope {
            mut vars,
            prefix,
            agent,
        } = scope;
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
        // expansion's errors, then the includes' (reported in that order)
        let mut doc_errors = Vec::new();
        expand_doc(&mut table, is_main, &mut vars, self.env, &mut doc_errors);
        let base_dir =
            if file.starts_with("<embedded>") || file.to_string_lossy().starts_with("builtin:") {
                PathBuf::from("/")
            } else {
                file.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."))
            };
        // includes: top-level `include` and, in the main file, `daemon.include`; each entry is a
        // path or { path, vars, prefix }
        let mut includes: Vec<Include> = Vec::new();
        collect_includes(
            "include",
            table.get("include"),
            &mut includes,
            &mut doc_errors,
        );
        if let Some(toml::Value::Table(d)) = table.get("daemon") {
            collect_includes(
                "daemon.include",
                d.get("include"),
                &mut includes,
                &mut doc_errors,
            );
        }
        {
            let mut sink = Sink {
                file,
                src: Some(&src),
                errors: &mut self.errors,
            };
            for (k, m) in doc_errors {
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
            base_dir,
            is_main,
            prefix: prefix.clone(),
            agent: agent.clone(),
        });
        for inc in includes {
            self.load_include(doc_index, inc, stack, &vars, &prefix, agent.as_deref());
        }
        stack.pop();
    }

    /// Reads and parses one include of the file `doc_index`, reporting cycles, duplicates and
    /// unreadable files at the include's key.
    fn load_include(
        &mut self,
        doc_index: usize,
        inc: Include,
        stack: &mut Vec<PathBuf>,
        vars: &BTreeMap<String, String>,
        prefix: &str,
        agent: Option<&str>,
    ) {
        let base_dir = self.docs[doc_index].base_dir.clone();
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
                    return;
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
            return;
        }
        let child_prefix = format!("{prefix}{}", inc.prefix);
        if self
            .seen
            .contains(&(canonical.clone(), child_prefix.clone()))
        {
            if inc.vars.is_empty() {
                return; // a diamond include: already loaded once
            }
            self.doc_err(doc_index, &format!("{key}.prefix"), "this file is already included with the same prefix: give each copy its own `prefix`".into());
            return;
        }
        let child_agent = inc
            .vars
            .get("agent")
            .cloned()
            .or_else(|| agent.map(str::to_string));
        let mut child_vars = vars.clone();
        child_vars.extend(inc.vars);
        match text {
            Ok(text) => {
                let scope = Scope {
                    vars: child_vars,
                    prefix: child_prefix,
                    agent: child_agent,
                };
                self.parse_doc(&path, text, false, stack, scope)
            }
            Err((msg, _)) => self.doc_err(
                doc_index,
                &key,
                format!("cannot include '{}': {msg}", path.display()),
            ),
        }
    }

    fn doc_err(&mut self, doc: usize, key: &str, msg: String) {
        let d = &self.docs[doc];
        d.sink(&mut self.errors).err(key, msg);
    }

    /// Assembles the typed config from every parsed file: lessons first (probes in any file may
    /// cite lessons from any file), then each file's daemon, probes, channels and raw routes,
    /// then what needs all of them (routes, waivers, dependencies), then warnings.
    fn build(&mut self, main_path: &Path) -> Result<Config, ()> {
        let docs = std::mem::take(&mut self.docs);
        let mut errors = std::mem::take(&mut self.errors);
        let catalog = lessons(&docs, &mut errors);
        let mut parts = Parts::default();
        for (di, doc) in docs.iter().enumerate() {
            collect_doc(di, doc, &catalog, &mut parts, &mut errors);
        }
        let agents: BTreeSet<String> = parts
            .probes
            .iter()
            .filter_map(|p| p.agent.clone())
            .collect();
        let silences =
            super::channels::silences(&docs, &agents, &catalog, &mut errors, &mut self.warnings);
        let routes = super::channels::routes(
            &docs,
            std::mem::take(&mut parts.routes),
            &catalog,
            &parts.channel_ids,
            &parts.probe_files,
            &agents,
            &mut errors,
        );
        super::probes::check_depends_on(&docs, &parts.probes, &parts.probe_files, &mut errors);
        let daemon = {
            let doc = parts.daemon_doc.map(|i| &docs[i]);
            let file = doc.map_or(main_path, |d| d.file.as_path());
            let mut sink = Sink {
                file,
                src: doc.map(|d| d.src.as_str()),
                errors: &mut errors,
            };
            super::daemon::build_daemon(
                std::mem::take(&mut parts.daemon),
                doc.map(|d| d.base_dir.as_path()).unwrap_or(Path::new("/")),
                &mut sink,
            )
        };
        warn(main_path, &catalog, &parts, &mut self.warnings);
        self.errors = errors;
        let daemon = daemon.ok_or(())?;
        Ok(Config {
            daemon,
            catalog,
            probes: parts.probes,
            channels: parts.channels,
            routes,
            silences,
            files: docs.iter().map(|d| d.file.clone()).collect(),
            warnings: std::mem::take(&mut self.warnings),
            origin: main_path.to_path_buf(),
        })
    }
}

/// Pass 1: the built-in catalog plus every file's `[lesson.<n>]` tables (numbered 33 and up).
fn lessons(docs: &[Doc], errors: &mut Vec<ConfigError>) -> Catalog {
    let mut catalog = Catalog::builtin();
    for doc in docs {
        let mut sink = doc.sink(errors);
        let Some(v) = doc.table.get("lesson") else {
            continue;
        };
        let Some(t) = v.as_table() else {
            sink.err("lesson", "expected a table of [lesson.<number>] tables");
            continue;
        };
        for (num, body) in t {
            if let Some(l) = lesson(num, body, &mut sink) {
                catalog.add(l);
            }
        }
    }
    catalog
}

/// One `[lesson.<num>]` table.
fn lesson(num: &str, body: &toml::Value, sink: &mut Sink<'_>) -> Option<Lesson> {
    let key = format!("lesson.{num}");
    let Ok(n) = num.parse::<u32>() else {
        sink.err(&key, "lesson numbers are integers, 33 and up");
        return None;
    };
    if n <= BUILTIN_LESSONS {
        sink.err(
            &key,
            format!(
                "lessons 1-{BUILTIN_LESSONS} are the published ledger; number your own from {}",
                BUILTIN_LESSONS + 1
            ),
        );
        return None;
    }
    let l = match deserialize::<RawLesson>(body.clone()) {
        Err((k, m)) => {
            sink.err(join(&key, &k), m);
            return None;
        }
        Ok(l) => l,
    };
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
    Some(Lesson {
        number: n,
        title: l.title,
        fix: l.fix,
        rule: l.rule,
        class: l.class,
        audience: l.audience,
        audience_inferred: false,
        owner: l.owner.unwrap_or_else(|| "platform".into()),
    })
}

/// Pass 2 for one file: its top-level keys, `[daemon]` (main file only), probes, channels and
/// raw routes.
fn collect_doc(
    di: usize,
    doc: &Doc,
    catalog: &Catalog,
    parts: &mut Parts,
    errors: &mut Vec<ConfigError>,
) {
    let mut sink = doc.sink(errors);
    check_top_level_keys(doc, &mut sink);
    if doc.is_main
        && let Some(v) = doc.table.get("daemon")
    {
        match deserialize::<RawDaemon>(v.clone()) {
            Ok(d) => {
                parts.daemon = d;
                parts.daemon_doc = Some(di);
            }
            Err((k, m)) => sink.err(join("daemon", &k), m),
        }
    }
    if let Some(v) = doc.table.get("probe") {
        match v.as_table() {
            None => sink.err("probe", "expected [probe.<id>] tables"),
            Some(t) => {
                for (file_id, body) in t {
                    collect_probe(file_id, body, doc, catalog, parts, &mut sink);
                }
            }
        }
    }
    if let Some(v) = doc.table.get("channel") {
        match v.as_table() {
            None => sink.err("channel", "expected [channel.<id>] tables"),
            Some(t) => {
                for (id, body) in t {
                    if !parts.channel_ids.insert(id.clone()) {
                        sink.err(
                            format!("channel.{id}"),
                            format!("channel id '{id}' is defined twice"),
                        );
                        continue;
                    }
                    if let Some(c) = super::channels::build_channel(id, body, doc, &mut sink) {
                        parts.channels.push(c);
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
                        Ok(r) => parts.routes.push((di, i, r)),
                        Err((k, m)) => sink.err(join(&format!("route[{i}]"), &k), m),
                    }
                }
            }
        }
    }
}

/// One `[probe.<file_id>]`: its id gets the file's include prefix, and must be unique.
fn collect_probe(
    file_id: &str,
    body: &toml::Value,
    doc: &Doc,
    catalog: &Catalog,
    parts: &mut Parts,
    sink: &mut Sink<'_>,
) {
    let id = format!("{}{file_id}", doc.prefix);
    if let Some(prev) = parts.probe_files.get(&id) {
        sink.err(
            format!("probe.{file_id}"),
            format!("probe id '{id}' is already defined in {}", prev.display()),
        );
        return;
    }
    parts.probe_files.insert(id.clone(), doc.file.clone());
    if let Some(mut p) = super::probes::build_probe(file_id, body, doc, catalog, sink) {
        p.id = id;
        for d in &mut p.depends_on {
            *d = format!("{}{d}", doc.prefix);
        }
        parts.probes.push(p);
    }
}

fn check_top_level_keys(doc: &Doc, sink: &mut Sink<'_>) {
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
}

/// The warnings `doctor` shows: lessons without a probe, shadow-mode probes, no channels.
fn warn(main_path: &Path, catalog: &Catalog, parts: &Parts, warnings: &mut Vec<ConfigWarning>) {
    let guarded: BTreeSet<u32> = parts
        .probes
        .iter()
        .flat_map(|p| p.lessons.iter().map(|l| l.0))
        .collect();
    let unguarded: Vec<String> = catalog
        .iter()
        .filter(|l| !guarded.contains(&l.number))
        .map(|l| l.number.to_string())
        .collect();
    if !unguarded.is_empty() {
        warnings.push(ConfigWarning {
            file: main_path.to_path_buf(),
            key: String::new(),
            message: format!(
                "{} lessons have no probe: {}",
                unguarded.len(),
                unguarded.join(", ")
            ),
        });
    }
    for p in &parts.probes {
        if let Some(w) = cannot_check(p) {
            warnings.push(w);
        }
        if p.mode == Mode::Shadow {
            warnings.push(ConfigWarning {
                file: p.file.clone(),
                key: format!("probe.{}", p.id),
                message: "shadow mode: records and displays, never notifies".into(),
            });
        }
    }
    if parts.channels.is_empty() {
        warnings.push(ConfigWarning {
            file: main_path.to_path_buf(),
            key: String::new(),
            message: "no [channel.*] configured: alerts go to the log only".into(),
        });
    }
}

/// A probe citing a published lesson its kind cannot check: the lesson would look held while
/// nothing watches it.
fn cannot_check(p: &ProbeConfig) -> Option<ConfigWarning> {
    let info = crate::probe::KINDS
        .iter()
        .find(|k| k.kind == p.kind())
        .filter(|k| !k.lessons.is_empty())?;
    let cannot: Vec<String> = p
        .lessons
        .iter()
        .map(|l| l.0)
        .filter(|n| *n <= BUILTIN_LESSONS && !info.lessons.contains(n))
        .map(|n| n.to_string())
        .collect();
    if cannot.is_empty() {
        return None;
    }
    let can: Vec<String> = info.lessons.iter().map(|n| n.to_string()).collect();
    Some(ConfigWarning {
        file: p.file.clone(),
        key: format!("probe.{}", p.id),
        message: format!(
            "cites lesson {} but a {} probe cannot check it (it guards {}): the lesson would look held while nothing watches it",
            cannot.join(", "),
            info.kind,
            can.join(", ")
        ),
    })
}

/// Reads a config file through the bounded reader: a FIFO, device, directory or file over
/// `MAX_CONFIG_BYTES` is an error naming the file, never a hang or an unbounded read. Invalid
/// UTF-8 is reported with its line and column.
pub(super) fn read_text(path: &Path) -> Result<String, (String, Option<(usize, usize)>)> {
    let bytes = crate::read::bytes(path, MAX_CONFIG_BYTES).map_err(|e| (reason(&e), None))?;
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..off]).into_owned();
        (
            format!("file is not valid UTF-8 (invalid byte at offset {off})"),
            Some(error::line_col(&valid, off)),
        )
    })
}

/// A read error without its path (callers name the file themselves).
pub(super) fn reason(e: &crate::read::ReadError) -> String {
    use crate::read::ReadError as E;
    match e {
        E::Missing { .. } => "cannot read file: no such file".into(),
        E::Denied { .. } => "cannot read file: permission denied".into(),
        E::NotRegular { what, .. } => {
            format!("cannot read file: not a regular file ({what}); refusing to read it")
        }
        E::TooLarge { cap, .. } => {
            format!("cannot read file: larger than {cap} bytes (truncated at {cap}); not loaded")
        }
        E::NotUtf8 { offset, .. } => format!("file is not valid UTF-8 at byte {offset}"),
        E::Io { message, .. } => format!("cannot read file: {message}"),
    }
}
