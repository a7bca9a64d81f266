//! `model_swap`: an agent's model routes (OpenClaw `openclaw.json` `agents.defaults.model` and
//! per-agent `agents.list[].model`, Hermes `config.yaml` `model`) remembered across runs, and a
//! changed primary model judged as a behaviour change (lesson 30: "Provider swaps are behavior
//! changes"): it needs a later edit of the agent's prompt (SOUL.md or the configured prompt files)
//! and an evaluation record since the swap. Without history it dates a swap from the config's
//! backups (`openclaw.json.bak*`: names with a timestamp, else mtimes). A model pinned to one
//! OpenClaw session (`modelOverride` in the agent's session store) that differs from the
//! configured primary is a swap too, dated by the session's `updatedAt`. It only reads: it never
//! rolls a model back, runs an evaluation or edits a prompt, and it shows model ids, paths and
//! dates, never prompt text.

use super::docmeta;
use super::{Health, Invalid, Observation, Probe, ProbeCx};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSwap {
    /// The runtime's config file holding the model routes: OpenClaw `openclaw.json` (JSON5) or
    /// Hermes `config.yaml`. Required.
    config: PathBuf,
    /// "openclaw" (`agents.defaults.model` and `agents.list[].model`, a string or
    /// `{ primary, fallbacks }`) or "hermes" (`model`, a string or `{ default }`, and
    /// `fallback_model`). Default: hermes for a `.yaml`/`.yml` file, else openclaw.
    runtime: Option<Runtime>,
    /// The agent's prompt files (SOUL.md, COMPANY_CORE.md, AGENTS.md, a master prompt); a `*` in
    /// the file name matches several. A file is "edited" at the latest date of its front matter's
    /// `updated`, `last_updated`, `last_verified`, `version_date` or `date`, else at its mtime.
    /// Missing files are skipped. Required.
    prompts: Vec<PathBuf>,
    /// Evaluation or promotion records: a JSONL file (one record per line) or a directory of
    /// `.jsonl` / `.json` files (any other file counts by its mtime). A record counts when its
    /// time (`ts`, `timestamp`, `time`, `at`, `date`, `created_at`, `finished_at`; else the
    /// file's mtime) is at or after the swap, its `model` (if any) names the new model and its
    /// `agent` (if any) is this agent. Default: none, then a prompt edit alone reviews a swap.
    evals: Option<PathBuf>,
    /// How long after a swap the review may take: an unreviewed swap younger than this is
    /// degraded ("review pending"); older, critical when neither a prompt edit nor an evaluation
    /// followed, degraded when one of them is missing. Default "24h".
    #[serde(default = "default_grace", deserialize_with = "crate::duration::de")]
    grace: Duration,
    /// Read `<config>.bak*` (`.bak`, `.bak-<ts>`, `.bak.1`) and `<config>~` beside the config to
    /// date a swap on a first look, when no history exists. Default true.
    #[serde(default = "super::yes")]
    backups: bool,
    /// An extra directory of config backups (file names containing the config's name).
    /// Default none.
    backup_dir: Option<PathBuf>,
    /// OpenClaw session stores, a path with `*` for the agent id
    /// (`~/.openclaw/agents/*/sessions/sessions.json`: session key → entry). A session whose
    /// `modelOverride` (after `providerOverride`, set by `/model` or `sessions.patch`) names
    /// another model than its agent's configured primary bypasses the routes: it is judged as a
    /// swap of its own, dated by the entry's `updatedAt`. A runtime fallback
    /// (`modelOverrideSource = "auto"`) to a configured fallback is not a swap. Stores that
    /// cannot be read or parsed are named in evidence. Default none; OpenClaw only.
    sessions: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Runtime {
    Openclaw,
    Hermes,
}

fn default_grace() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// Largest config, backup, prompt or eval file read.
const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Most directory entries read (backups, prompt globs, eval dirs).
const MAX_ENTRIES: usize = 2048;
/// Most routes remembered.
const MAX_ROUTES: usize = 64;
/// Front-matter keys that date a prompt edit.
const PROMPT_DATES: &[&str] = &[
    "updated",
    "last_updated",
    "last_verified",
    "version_date",
    "date",
];
/// Keys that date an evaluation record.
const EVAL_TIMES: &[&str] = &[
    "ts",
    "timestamp",
    "time",
    "at",
    "date",
    "created_at",
    "finished_at",
];

impl Probe for ModelSwap {
    const KIND: &'static str = "model_swap";
    const SUMMARY: &'static str =
        "a changed primary model with no later prompt edit and no evaluation record since";
    const LESSONS: &'static [u32] = &[30];
    const EXAMPLE: &'static str = r#"[probe.cs_model_swap]
lesson = 30
every = "15m"
agent = "cs"
# the CS agent's tone changed when its provider did (lesson 30): a swap is a behaviour change
config = "/Users/cs/.openclaw/openclaw.json"
prompts = ["/Users/cs/.openclaw/workspace-cs/SOUL.md", "/Users/cs/.openclaw/workspace-cs/COMPANY_CORE.md"]
# one JSON line per evaluation run: {"ts": "...", "agent": "cs", "model": "...", "passed": 20}
evals = "/opt/brain/evals/model-evals.jsonl"
grace = "24h"
# a session pinned to another model with `/model` bypasses the routes: a swap of its own
sessions = "/Users/cs/.openclaw/agents/*/sessions/sessions.json"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.config.as_os_str().is_empty() {
            bad.push(Invalid::new("config", "expected the runtime's config file"));
        }
        Invalid::require_at_least_one(&mut bad, "prompts", &self.prompts, "prompt file (SOUL.md)");
        for (i, p) in self.prompts.iter().enumerate() {
            let s = p.to_string_lossy();
            let dir_star = p
                .parent()
                .is_some_and(|d| d.to_string_lossy().contains('*'));
            if s.is_empty() || dir_star || s.matches('*').count() > 1 {
                bad.push(Invalid::new(
                    format!("prompts[{i}]"),
                    "expected a path, with at most one `*` in the file name",
                ));
            }
        }
        if self.backup_dir.is_some() && !self.backups {
            bad.push(Invalid::new("backup_dir", "only used with backups = true"));
        }
        if self.sessions.is_some() && self.runtime() != Runtime::Openclaw {
            bad.push(Invalid::new(
                "sessions",
                "OpenClaw session stores: only with runtime = \"openclaw\"",
            ));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let paths = Paths {
            config: cx.resolve(&self.config),
            prompts: self.prompts.iter().map(|p| cx.resolve(p)).collect(),
            evals: self.evals.as_ref().map(|p| cx.resolve(p)),
            backup_dir: self.backup_dir.as_ref().map(|p| cx.resolve(p)),
            sessions: self.sessions.as_ref().map(|p| cx.resolve(p)),
            root: cx.root().map(Path::to_path_buf),
        };
        let this = self.clone();
        let prior = cx.prior.cloned();
        let agent = cx.agent.map(str::to_string);
        let now = cx.now;
        super::blocking(move || this.look(&paths, prior.as_ref(), agent.as_deref(), now))
            .await
            .unwrap_or_else(|o| o)
    }
}

/// Configured paths, resolved.
struct Paths {
    config: PathBuf,
    prompts: Vec<PathBuf>,
    evals: Option<PathBuf>,
    backup_dir: Option<PathBuf>,
    sessions: Option<PathBuf>,
    /// The audited tree (`--root`): session stores found by expansion are re-anchored in it.
    root: Option<PathBuf>,
}

/// One model route: where it is configured and what it names.
#[derive(Clone, Debug, PartialEq)]
struct Route {
    primary: String,
    fallbacks: Vec<String>,
}

/// What is known of a route's last swap.
#[derive(Clone, Debug)]
struct Swap {
    previous: String,
    at: DateTime<Utc>,
    /// How `at` was learned: "history", "config mtime", "backup <name>".
    dated_by: String,
}

impl ModelSwap {
    fn runtime(&self) -> Runtime {
        self.runtime.unwrap_or_else(|| {
            match self
                .config
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("yaml" | "yml") => Runtime::Hermes,
                _ => Runtime::Openclaw,
            }
        })
    }

    fn look(
        &self,
        p: &Paths,
        prior: Option<&Value>,
        agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Observation {
        let Routes { routes, mtime } = match read_routes(&p.config, self.runtime()) {
            Ok(r) => r,
            Err(o) => return *o,
        };
        if routes.is_empty() {
            return Observation::ok(format!(
                "no model route configured in {}",
                p.config.display()
            ))
            .evidence("config", p.config.display());
        }
        let prior_routes = prior
            .and_then(|v| v.get("routes"))
            .and_then(Value::as_object);
        let prior_seen = prior
            .and_then(|v| v.get("seen_at"))
            .and_then(Value::as_str)
            .and_then(docmeta::parse_date);
        let mut backups: Option<Vec<Backup>> = None;
        let mut swaps: BTreeMap<String, Option<Swap>> = BTreeMap::new();
        for (key, route) in &routes {
            let before = prior_routes.and_then(|m| m.get(key));
            let swap = match before {
                Some(b) => from_history(b, route, mtime, prior_seen, now),
                None if self.backups => {
                    let list = backups.get_or_insert_with(|| {
                        list_backups(&p.config, p.backup_dir.as_deref(), self.runtime())
                    });
                    from_backups(list, key, route)
                }
                None => None,
            };
            swaps.insert(key.clone(), swap);
        }
        let prompts = prompt_times(&p.prompts);
        let evals = p.evals.as_ref().map(|e| read_evals(e, agent));
        // session overrides are judged with the routes, never remembered as routes
        let mut judged_routes = routes.clone();
        let mut judged_swaps = swaps.clone();
        let mut store_notes = Vec::new();
        if let Some(pattern) = &p.sessions {
            for (key, route, swap) in
                session_swaps(pattern, p.root.as_deref(), &routes, &mut store_notes)
            {
                judged_routes.insert(key.clone(), route);
                judged_swaps.insert(key, Some(swap));
            }
        }
        let mut obs = self.judge(
            &judged_routes,
            &judged_swaps,
            &prompts,
            evals.as_ref(),
            agent,
            now,
        );
        for n in store_notes {
            obs = obs.evidence("sessions", n);
        }
        obs = obs.evidence("config", p.config.display());
        for (path, (t, how)) in &prompts {
            obs = obs.evidence("prompt", format!("{}: {} ({how})", path.display(), day(*t)));
        }
        if prompts.is_empty() {
            obs = obs.evidence("prompt", "no prompt file found");
        }
        if let (Some(e), Some(path)) = (&evals, &p.evals) {
            let what = match &e.error {
                Some(err) => format!("{}: {err}", path.display()),
                None => format!("{}: {} records", path.display(), e.records.len()),
            };
            obs = obs.evidence("evals", what);
        }
        if let Some(list) = &backups {
            obs = obs.evidence("backups_read", list.len());
        }
        let mut facts = Map::new();
        for (key, route) in &routes {
            let s = swaps.get(key).cloned().flatten();
            facts.insert(
                key.clone(),
                json!({
                    "primary": route.primary,
                    "fallbacks": route.fallbacks,
                    "previous": s.as_ref().map(|s| s.previous.clone()),
                    "changed_at": s.as_ref().map(|s| s.at.to_rfc3339()),
                    "dated_by": s.as_ref().map(|s| s.dated_by.clone()),
                }),
            );
        }
        obs.metric("routes", routes.len() as f64)
            .facts(json!({ "seen_at": now.to_rfc3339(), "routes": facts }))
    }

    /// The verdict over every route's last swap.
    fn judge(
        &self,
        routes: &BTreeMap<String, Route>,
        swaps: &BTreeMap<String, Option<Swap>>,
        prompts: &BTreeMap<PathBuf, (DateTime<Utc>, String)>,
        evals: Option<&Evals>,
        agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Observation {
        let grace = chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::hours(24));
        let mut problems: Vec<(Health, String)> = Vec::new();
        let mut fine: Vec<String> = Vec::new();
        let mut evidence: Vec<(&str, String)> = Vec::new();
        for (key, route) in routes {
            let who = route_name(key, agent);
            let session = key.starts_with(SESSION_KEY);
            let what = if session {
                "session model override"
            } else {
                "primary model"
            };
            evidence.push((
                if session { "session" } else { "route" },
                format!(
                    "{who}: {} (fallbacks: {})",
                    route.primary,
                    if route.fallbacks.is_empty() {
                        "none".to_string()
                    } else {
                        route.fallbacks.join(", ")
                    }
                ),
            ));
            let Some(s) = swaps.get(key).cloned().flatten() else {
                fine.push(format!("{who} on {}", route.primary));
                continue;
            };
            evidence.push((
                "swap",
                format!(
                    "{who}: {} → {} at {} (dated by {})",
                    s.previous,
                    route.primary,
                    stamp(s.at),
                    s.dated_by
                ),
            ));
            let prompt_after = prompts
                .iter()
                .filter(|(_, (t, _))| *t >= s.at)
                .map(|(p, (t, _))| (p, *t))
                .max_by_key(|(_, t)| *t);
            let eval_after = evals.and_then(|e| e.latest_for(&route.primary, s.at));
            let prompt_ok = prompt_after.is_some();
            let eval_ok = evals.is_none() || eval_after.is_some();
            let head = format!(
                "{who}: {what} {} → {} (changed {})",
                s.previous,
                route.primary,
                stamp(s.at)
            );
            if prompt_ok && eval_ok {
                let mut why = Vec::new();
                if let Some((p, t)) = prompt_after {
                    why.push(format!("{} edited {}", file_name(p), day(t)));
                }
                if let Some(t) = eval_after {
                    why.push(format!("evaluated {}", day(t)));
                }
                fine.push(format!("{head} reviewed: {}", why.join(", ")));
                continue;
            }
            let mut missing = Vec::new();
            if !prompt_ok {
                missing.push("no prompt edit");
            }
            if !eval_ok {
                missing.push("no evaluation record");
            }
            let missing = missing.join(" and ");
            let (health, text) = if now - s.at < grace {
                (
                    Health::Degraded,
                    format!("{head}: review pending, {missing} since"),
                )
            } else if !prompt_ok && !eval_ok || evals.is_none() {
                (
                    Health::Critical,
                    format!("{head} with {missing} since: behaviour change unreviewed"),
                )
            } else {
                (
                    Health::Degraded,
                    format!("{head} with {missing} since: half reviewed"),
                )
            };
            problems.push((health, text));
        }
        let mut obs = match problems.iter().map(|(h, _)| *h).reduce(Health::worst) {
            Some(worst) => {
                let text: Vec<&str> = problems.iter().map(|(_, t)| t.as_str()).collect();
                Observation::new(worst, text.join("; "))
            }
            None => Observation::ok(fine.join("; ")),
        };
        obs = obs.expected(format!(
            "a primary-model swap followed by a prompt edit{} within {}",
            if evals.is_some() {
                " and an evaluation record"
            } else {
                ""
            },
            humantime::format_duration(self.grace)
        ));
        for (k, v) in evidence {
            obs.push_evidence(k, v);
        }
        obs
    }
}

/// "defaults" names the probe's agent; a list entry its id; a session its agent and key.
fn route_name(key: &str, agent: Option<&str>) -> String {
    if let Some((id, session)) = key
        .strip_prefix(SESSION_KEY)
        .and_then(|rest| rest.split_once('\u{0}'))
    {
        return format!("agent {id} session {session}");
    }
    match key.strip_prefix("agents.list:") {
        Some(id) => format!("agent {id}"),
        None => match agent {
            Some(a) => format!("agent {a}"),
            None => format!("route {key}"),
        },
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The swap known from history: the same primary keeps its last swap; a new one was swapped
/// at the config's mtime when that is newer than the previous run, else now.
fn from_history(
    before: &Value,
    route: &Route,
    mtime: Option<DateTime<Utc>>,
    prior_seen: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Swap> {
    let old = before.get("primary").and_then(Value::as_str)?;
    if old == route.primary {
        let previous = before.get("previous").and_then(Value::as_str)?;
        let at = before
            .get("changed_at")
            .and_then(Value::as_str)
            .and_then(docmeta::parse_date)?;
        let dated_by = before
            .get("dated_by")
            .and_then(Value::as_str)
            .unwrap_or("history");
        return Some(Swap {
            previous: previous.to_string(),
            at,
            dated_by: dated_by.to_string(),
        });
    }
    let (at, dated_by) = match mtime {
        Some(m) if m <= now && prior_seen.is_none_or(|s| m > s) => (m, "config mtime"),
        _ => (now, "seen changed"),
    };
    Some(Swap {
        previous: old.to_string(),
        at,
        dated_by: dated_by.to_string(),
    })
}

/// One config backup: when it was taken and the routes it holds.
struct Backup {
    name: String,
    at: DateTime<Utc>,
    routes: BTreeMap<String, Route>,
}

/// The newest backup whose route names another primary: the swap came after it was taken (a
/// backup is written just before an edit), so it is dated by that backup.
fn from_backups(list: &[Backup], key: &str, route: &Route) -> Option<Swap> {
    list.iter().find_map(|b| {
        let old = b.routes.get(key)?;
        (old.primary != route.primary).then(|| Swap {
            previous: old.primary.clone(),
            at: b.at,
            dated_by: format!("backup {}", b.name),
        })
    })
}

/// Backups beside the config (`<name>.bak*`, `<name>~`) and in `backup_dir`, newest first.
fn list_backups(config: &Path, backup_dir: Option<&Path>, rt: Runtime) -> Vec<Backup> {
    let Some(name) = config.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = Vec::new();
    let mut scan = |dir: &Path, accept: &dyn Fn(&str) -> bool| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.take(MAX_ENTRIES).flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if accept(&n) {
                    found.push(e.path());
                }
            }
        }
    };
    if let Some(dir) = config.parent() {
        scan(dir, &|n| {
            n != name && (n.starts_with(&format!("{name}.bak")) || n == format!("{name}~"))
        });
    }
    if let Some(dir) = backup_dir {
        scan(dir, &|n| n.contains(name.as_str()));
    }
    let mut out: Vec<Backup> = found
        .into_iter()
        .filter_map(|path| {
            let n = path.file_name()?.to_string_lossy().into_owned();
            let Routes { routes, mtime } = read_routes(&path, rt).ok()?;
            let at = docmeta::name_timestamp(&n, &name).or(mtime)?;
            Some(Backup {
                name: n,
                at,
                routes,
            })
        })
        .collect();
    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.name.cmp(&b.name)));
    out
}

/// A config file's routes and its mtime.
struct Routes {
    routes: BTreeMap<String, Route>,
    mtime: Option<DateTime<Utc>>,
}

/// The routes of a config file and its mtime; `Err` is the unknown observation.
fn read_routes(path: &Path, rt: Runtime) -> Result<Routes, Box<Observation>> {
    let text = crate::read::text(path, MAX_BYTES)
        .map_err(|e| Box::new(super::unreadable("config", &e)))?;
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    let doc: Value = match rt {
        Runtime::Openclaw => super::json5doc::parse(&text).map_err(|e| e.to_string()),
        Runtime::Hermes => serde_saphyr::from_str(&text).map_err(|e| e.to_string()),
    }
    .map_err(|e| {
        Box::new(
            Observation::unknown(format!("cannot parse {}: {e}", path.display()))
                .evidence("path", path.display()),
        )
    })?;
    let mut routes = BTreeMap::new();
    match rt {
        Runtime::Openclaw => {
            if let Some(r) = doc.pointer("/agents/defaults/model").and_then(route_of) {
                routes.insert("agents.defaults".to_string(), r);
            }
            let list = doc.pointer("/agents/list").and_then(Value::as_array);
            for entry in list.into_iter().flatten().take(MAX_ROUTES) {
                let id = entry.get("id").and_then(Value::as_str);
                if let (Some(id), Some(r)) = (id, entry.get("model").and_then(route_of)) {
                    routes.insert(format!("agents.list:{id}"), r);
                }
            }
        }
        Runtime::Hermes => {
            if let Some(mut r) = doc.get("model").and_then(route_of) {
                let fb = doc.get("fallback_model").or(doc.get("fallback_models"));
                r.fallbacks.extend(fb.map(models).unwrap_or_default());
                routes.insert("model".to_string(), r);
            }
        }
    }
    Ok(Routes { routes, mtime })
}

/// A model setting: a string, or `{ primary | default | model, fallbacks }`.
fn route_of(v: &Value) -> Option<Route> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(Route {
            primary: s.trim().to_string(),
            fallbacks: Vec::new(),
        }),
        Value::Object(m) => {
            let primary = ["primary", "default", "model"]
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_str))?;
            Some(Route {
                primary: primary.trim().to_string(),
                fallbacks: m.get("fallbacks").map(models).unwrap_or_default(),
            })
        }
        _ => None,
    }
}

/// Model ids in a string, a `{ model }` object or a list of either.
fn models(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(m) => m
            .get("model")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        Value::Array(a) => a.iter().flat_map(models).collect(),
        _ => Vec::new(),
    }
}

/// Each existing prompt file and when it was last edited (front-matter date, else mtime).
fn prompt_times(patterns: &[PathBuf]) -> BTreeMap<PathBuf, (DateTime<Utc>, String)> {
    let mut out = BTreeMap::new();
    for p in patterns {
        for file in expand_name(p) {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            let dated = crate::read::text_lossy(&file, MAX_BYTES)
                .ok()
                .and_then(|t| docmeta::front_matter(&t))
                .and_then(|fm| {
                    PROMPT_DATES
                        .iter()
                        .filter_map(|k| fm.get(*k).and_then(docmeta::value_date))
                        .max()
                });
            let entry = match (dated, meta.modified()) {
                (Some(t), _) => (t, "front matter".to_string()),
                (None, Ok(m)) => (DateTime::<Utc>::from(m), "mtime".to_string()),
                (None, Err(_)) => continue,
            };
            out.insert(file, entry);
        }
    }
    out
}

/// A path with at most one `*` in its file name; regular files only.
fn expand_name(p: &Path) -> Vec<PathBuf> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((pre, post)) = name.split_once('*') else {
        return if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            Vec::new()
        };
    };
    let Some(dir) = p.parent() else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .take(MAX_ENTRIES)
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post)
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Prefix of a session override's key among the judged routes: `session:<agentId>\0<sessionKey>`.
const SESSION_KEY: &str = "session:";
/// Most session stores read.
const MAX_STORES: usize = 64;
/// Most sessions of one store looked at.
const MAX_SESSIONS: usize = 10_000;
/// Largest session store read (token counts and delivery state of every session).
const MAX_STORE_BYTES: u64 = crate::read::LARGE;

/// The sessions of the stores `pattern` matches whose model override differs from their agent's
/// configured primary (the `agents.list:<id>` route, else `agents.defaults`): each as a route
/// (the override) and its swap (from the primary, at the entry's `updatedAt`, else the store's
/// mtime). Stores that cannot be read or parsed go to `notes`.
fn session_swaps(
    pattern: &Path,
    root: Option<&Path>,
    routes: &BTreeMap<String, Route>,
    notes: &mut Vec<String>,
) -> Vec<(String, Route, Swap)> {
    let (stores, more) = super::pathglob::files(pattern, MAX_STORES);
    if more {
        notes.push(format!(
            "more than {MAX_STORES} stores match; the first are read"
        ));
    }
    let mut out = Vec::new();
    for store in stores {
        let store = match root {
            Some(r) => crate::reroot::under(r, &store),
            None => store,
        };
        let doc: Value = match crate::read::text(&store, MAX_STORE_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                notes.push(format!("{}: {e}", store.display()));
                continue;
            }
        };
        // agents/<agentId>/sessions/sessions.json
        let dir_agent = store
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mtime = std::fs::metadata(&store)
            .and_then(|m| m.modified())
            .ok()
            .map(DateTime::<Utc>::from);
        let Some(sessions) = doc.as_object() else {
            notes.push(format!("{}: not a JSON object", store.display()));
            continue;
        };
        for (skey, entry) in sessions.iter().take(MAX_SESSIONS) {
            let Some(model) = entry
                .get("modelOverride")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|m| !m.is_empty())
            else {
                continue;
            };
            let over = match entry.get("providerOverride").and_then(Value::as_str) {
                Some(p)
                    if !p.trim().is_empty() && !model.starts_with(&format!("{}/", p.trim())) =>
                {
                    format!("{}/{model}", p.trim())
                }
                _ => model.to_string(),
            };
            // "agent:<agentId>:<rest>" names the agent; else the store's folder does
            let id = skey
                .strip_prefix("agent:")
                .and_then(|r| r.split(':').next())
                .filter(|i| !i.is_empty())
                .unwrap_or(&dir_agent);
            let Some(configured) = routes
                .get(&format!("agents.list:{id}"))
                .or_else(|| routes.get("agents.defaults"))
            else {
                continue;
            };
            if same_model(&over, &configured.primary) {
                continue;
            }
            let auto = entry.get("modelOverrideSource").and_then(Value::as_str) == Some("auto");
            if auto && configured.fallbacks.iter().any(|f| same_model(f, &over)) {
                continue;
            }
            let at = entry
                .get("updatedAt")
                .and_then(Value::as_i64)
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .or(mtime);
            let Some(at) = at else {
                continue;
            };
            out.push((
                format!("{SESSION_KEY}{id}\u{0}{skey}"),
                Route {
                    primary: over,
                    fallbacks: Vec::new(),
                },
                Swap {
                    previous: configured.primary.clone(),
                    at,
                    dated_by: format!("session store {}", store.display()),
                },
            ));
        }
    }
    out
}

/// Evaluation records: (time, model named) of those for this agent.
struct Evals {
    records: Vec<(DateTime<Utc>, Option<String>)>,
    error: Option<String>,
}

impl Evals {
    /// The latest record at or after `since` that names `model` (or no model).
    fn latest_for(&self, model: &str, since: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.records
            .iter()
            .filter(|(t, m)| *t >= since && m.as_deref().is_none_or(|m| same_model(m, model)))
            .map(|(t, _)| *t)
            .max()
    }
}

/// "openai/gpt-5.4" and "gpt-5.4" name the same model.
fn same_model(a: &str, b: &str) -> bool {
    let tail = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    a.eq_ignore_ascii_case(b) || tail(a) == tail(b)
}

fn read_evals(path: &Path, agent: Option<&str>) -> Evals {
    let mut ev = Evals {
        records: Vec::new(),
        error: None,
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        match std::fs::read_dir(path) {
            Ok(rd) => {
                let mut v: Vec<PathBuf> = rd
                    .take(MAX_ENTRIES)
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect();
                v.sort();
                v
            }
            Err(e) => {
                ev.error = Some(e.to_string());
                return ev;
            }
        }
    } else {
        vec![path.to_path_buf()]
    };
    for f in files {
        let mtime = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .ok()
            .map(DateTime::<Utc>::from);
        let ext = f
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let text = match crate::read::text_lossy(&f, MAX_BYTES) {
            Ok(t) => t,
            Err(e) => {
                // the setting's own path is shown beside the error already
                ev.error = Some(if f == path {
                    e.reason()
                } else {
                    format!("{}: {}", f.display(), e.reason())
                });
                continue;
            }
        };
        let docs: Vec<Value> = match ext.as_deref() {
            Some("json") => serde_json::from_str(&text).into_iter().collect(),
            Some("jsonl" | "ndjson") => text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            _ => {
                if let Some(m) = mtime {
                    ev.records.push((m, None));
                }
                continue;
            }
        };
        for d in docs {
            let who = d.get("agent").and_then(Value::as_str);
            if let (Some(w), Some(a)) = (who, agent)
                && !w.eq_ignore_ascii_case(a)
            {
                continue;
            }
            let at = EVAL_TIMES
                .iter()
                .find_map(|k| d.get(*k).and_then(eval_time))
                .or(mtime);
            let model = d.get("model").and_then(Value::as_str).map(str::to_string);
            if let Some(at) = at {
                ev.records.push((at, model));
            }
        }
    }
    ev
}

fn eval_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => crate::tokens::from_epoch(n.as_f64()?),
        other => docmeta::value_date(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, at, ev, look_as, set_mtime, write};

    fn oc(primary: &str) -> String {
        format!(
            "{{\n  // JSON5, as OpenClaw writes it\n  agents: {{ defaults: {{ model: {{ primary: \"{primary}\", fallbacks: [\"anthropic/claude-opus-4-6\"] }} }} }},\n}}\n"
        )
    }

    /// An agent whose primary moved from sonnet to gpt-5.4 on 2026-05-12 10:00 (a dated backup
    /// holds the old model), with a SOUL.md dated by its front matter.
    fn swapped(soul_updated: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let oc_dir = d.path().join(".openclaw");
        write(&oc_dir.join("openclaw.json"), &oc("openai/gpt-5.4"), 0o600);
        write(
            &oc_dir.join("openclaw.json.bak-20260512T1000"),
            &oc("anthropic/claude-sonnet-4-5"),
            0o600,
        );
        write(
            &oc_dir.join("openclaw.json.bak-20260401T0900"),
            &oc("anthropic/claude-sonnet-4-5"),
            0o600,
        );
        write(
            &oc_dir.join("workspace-cs/SOUL.md"),
            &format!("---\nversion: 3\nupdated: {soul_updated}\n---\n# CS\nConcise. Direct.\n"),
            0o644,
        );
        d
    }

    fn probe(evals: &str) -> ModelSwap {
        testkit::parse(&format!(
            "config = \".openclaw/openclaw.json\"\nprompts = [\".openclaw/workspace-cs/SOU*.md\"]\n{evals}"
        ))
    }

    #[tokio::test]
    async fn unreviewed_swap_from_backups_is_critical() {
        let d = swapped("2026-04-01");
        let p = probe("evals = \"evals.jsonl\"");
        write(
            &d.path().join("evals.jsonl"),
            "{\"ts\":\"2026-04-02T00:00:00Z\",\"agent\":\"cs\",\"model\":\"anthropic/claude-sonnet-4-5\"}\n",
            0o644,
        );
        let o = testkit::look_with(&p, d.path(), None, at("2026-05-20T00:00:00Z")).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(
            o.summary,
            "route agents.defaults: primary model anthropic/claude-sonnet-4-5 → openai/gpt-5.4 \
             (changed 2026-05-12 10:00 UTC) with no prompt edit and no evaluation record since: \
             behaviour change unreviewed"
        );
        assert_eq!(
            ev(&o, "swap"),
            [
                "route agents.defaults: anthropic/claude-sonnet-4-5 → openai/gpt-5.4 at 2026-05-12 10:00 UTC (dated by backup openclaw.json.bak-20260512T1000)"
            ]
        );
        assert!(ev(&o, "prompt")[0].ends_with("SOUL.md: 2026-04-01 00:00 (front matter)"));
        // prompt text never shown; the swap is remembered
        assert!(!format!("{o:?}").contains("Concise"), "{o:?}");
        let facts = o.facts.unwrap();
        assert_eq!(
            facts["routes"]["agents.defaults"]["previous"],
            "anthropic/claude-sonnet-4-5"
        );
    }

    #[tokio::test]
    async fn reviewed_swap_is_ok_and_half_reviewed_is_degraded() {
        let d = swapped("2026-05-13");
        let p = probe("evals = \"evals\"");
        let now = at("2026-05-20T00:00:00Z");
        // the prompt was revised after the swap, but no evaluation ran: half reviewed
        std::fs::create_dir_all(d.path().join("evals")).unwrap();
        let o = look_as(&p, d.path(), "cs", now).await;
        testkit::assert_ends(
            &o,
            Health::Degraded,
            "with no evaluation record since: half reviewed",
        );
        // an evaluation of another agent or another model does not count; this one does
        write(
            &d.path().join("evals/run-1.jsonl"),
            "{\"ts\":\"2026-05-14T08:00:00Z\",\"agent\":\"hr\",\"model\":\"gpt-5.4\"}\n{\"ts\":\"2026-05-14T08:00:00Z\",\"model\":\"gpt-4o\"}\n",
            0o644,
        );
        assert_eq!(
            look_as(&p, d.path(), "cs", now).await.health,
            Health::Degraded
        );
        write(
            &d.path().join("evals/run-2.json"),
            "{\"finished_at\":\"2026-05-14T09:00:00Z\",\"model\":\"gpt-5.4\",\"passed\":20}",
            0o644,
        );
        let o = look_as(&p, d.path(), "cs", now).await;
        testkit::assert_ends(
            &o,
            Health::Ok,
            "reviewed: SOUL.md edited 2026-05-13 00:00, evaluated 2026-05-14 09:00",
        );
    }

    #[tokio::test]
    async fn swap_seen_across_runs_is_pending_then_critical() {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("config.yaml");
        write(
            &cfg,
            "model:\n  default: anthropic/claude-sonnet-4-5\n  provider: anthropic\n",
            0o600,
        );
        write(&d.path().join("SOUL.md"), "# Hermes\n", 0o644);
        let t0 = at("2026-05-01T00:00:00Z");
        set_mtime(&cfg, t0);
        set_mtime(&d.path().join("SOUL.md"), t0);
        let p: ModelSwap = testkit::parse("config = \"config.yaml\"\nprompts = [\"SOUL.md\"]");
        // first look, no backups, no history: nothing known to have changed
        let first = testkit::look_with(&p, d.path(), None, at("2026-05-02T00:00:00Z")).await;
        assert_eq!(first.health, Health::Ok, "{first:?}");
        assert_eq!(first.summary, "route model on anthropic/claude-sonnet-4-5");
        let facts = first.facts.unwrap();
        // the swap, written an hour before the next look
        write(
            &cfg,
            "model: openrouter/deepseek-v3\nfallback_model:\n  model: gpt-4o\n",
            0o600,
        );
        set_mtime(&cfg, at("2026-05-03T09:00:00Z"));
        let o = testkit::look_with(&p, d.path(), Some(&facts), at("2026-05-03T10:00:00Z")).await;
        testkit::assert_ends(&o, Health::Degraded, "review pending, no prompt edit since");
        assert_eq!(
            ev(&o, "route"),
            ["route model: openrouter/deepseek-v3 (fallbacks: gpt-4o)"]
        );
        let facts = o.facts.unwrap();
        assert_eq!(facts["routes"]["model"]["dated_by"], "config mtime");
        // a day later, still no prompt edit: critical, dated from the remembered swap
        let o = testkit::look_with(&p, d.path(), Some(&facts), at("2026-05-05T00:00:00Z")).await;
        assert_finding(&o, Health::Critical, "(changed 2026-05-03 09:00 UTC)");
    }

    #[tokio::test]
    async fn per_agent_overrides_are_routes_of_their_own() {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("openclaw.json");
        write(
            &cfg,
            r#"{"agents":{"defaults":{"model":"anthropic/claude-sonnet-4-5"},"list":[{"id":"hr","model":{"primary":"openai/gpt-5.4"}},{"id":"ops"}]}}"#,
            0o600,
        );
        write(
            &d.path().join("openclaw.json.bak"),
            r#"{"agents":{"defaults":{"model":"anthropic/claude-sonnet-4-5"},"list":[{"id":"hr","model":"anthropic/claude-sonnet-4-5"}]}}"#,
            0o600,
        );
        set_mtime(
            &d.path().join("openclaw.json.bak"),
            at("2026-05-10T00:00:00Z"),
        );
        write(&d.path().join("SOUL.md"), "# x\n", 0o644);
        set_mtime(&d.path().join("SOUL.md"), at("2026-05-01T00:00:00Z"));
        let p: ModelSwap = testkit::parse("config = \"openclaw.json\"\nprompts = [\"SOUL.md\"]");
        let o = look_as(&p, d.path(), "hub", at("2026-05-20T00:00:00Z")).await;
        testkit::assert_starts(
            &o,
            Health::Critical,
            "agent hr: primary model anthropic/claude-sonnet-4-5 → openai/gpt-5.4 (changed 2026-05-10 00:00 UTC)",
        );
        assert_eq!(
            ev(&o, "route"),
            [
                "agent hub: anthropic/claude-sonnet-4-5 (fallbacks: none)",
                "agent hr: openai/gpt-5.4 (fallbacks: none)"
            ]
        );
    }

    #[tokio::test]
    async fn unreadable_or_broken_config_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let p: ModelSwap = testkit::parse("config = \"openclaw.json\"\nprompts = [\"SOUL.md\"]");
        let o = testkit::look_in(&p, d.path()).await;
        testkit::assert_starts(&o, Health::Unknown, "cannot read config");
        write(&d.path().join("openclaw.json"), "{ agents: ", 0o600);
        let o = testkit::look_in(&p, d.path()).await;
        testkit::assert_starts(&o, Health::Unknown, "cannot parse");
    }

    #[test]
    fn validate_names_the_key() {
        let keys = testkit::invalid_keys::<ModelSwap>(
            "config = \"x.json\"\nprompts = [\"a/*/SOUL.md\"]\nbackups = false\nbackup_dir = \"b\"",
        );
        assert_eq!(keys, ["prompts[0]", "backup_dir"]);
        assert!(
            toml::from_str::<ModelSwap>("config = \"x\"\nprompts = []\nruntime = \"gpt\"").is_err()
        );
    }

    /// OpenClaw's session store for agent `agent` (session key → entry), as the gateway writes it.
    fn store(d: &Path, agent: &str, sessions: &str) {
        write(
            &d.join(format!(".openclaw/agents/{agent}/sessions/sessions.json")),
            &format!("{{\n{sessions}\n}}\n"),
            0o600,
        );
    }

    fn session(key: &str, provider: &str, model: &str, source: &str, updated_ms: i64) -> String {
        format!(
            "  \"{key}\": {{ \"sessionId\": \"0b7e2d9a-7c1f-4e8b-a2d4-5f6e7d8c9b0a\", \"updatedAt\": {updated_ms}, \"providerOverride\": \"{provider}\", \"modelOverride\": \"{model}\", \"modelOverrideSource\": \"{source}\", \"totalTokens\": 5200 }}"
        )
    }

    #[tokio::test]
    async fn a_session_override_off_the_primary_is_a_swap_and_the_primary_or_a_fallback_is_not() {
        // no config swap: gpt-5.4 has been the primary since before any backup
        let d = tempfile::tempdir().unwrap();
        let oc_dir = d.path().join(".openclaw");
        write(&oc_dir.join("openclaw.json"), &oc("openai/gpt-5.4"), 0o600);
        write(
            &oc_dir.join("workspace-cs/SOUL.md"),
            "---\nupdated: 2026-05-01\n---\n# CS\n",
            0o644,
        );
        // 2026-05-12 10:00 UTC
        let may12 = 1_778_580_000_000_i64;
        let p: ModelSwap = testkit::parse(
            "config = \".openclaw/openclaw.json\"\nprompts = [\".openclaw/workspace-cs/SOUL.md\"]\n\
             sessions = \".openclaw/agents/*/sessions/sessions.json\"",
        );
        // pinned to the primary itself, and a runtime fallback to the configured fallback
        store(
            d.path(),
            "cs",
            &[
                session("agent:cs:main", "openai", "gpt-5.4", "user", may12),
                session(
                    "agent:cs:slack:channel:c01",
                    "anthropic",
                    "claude-opus-4-6",
                    "auto",
                    may12,
                ),
            ]
            .join(",\n"),
        );
        let o = look_as(&p, d.path(), "cs", at("2026-05-20T00:00:00Z")).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        // a user pin to a free tier: a swap the routes never show, unreviewed after the grace
        store(
            d.path(),
            "cs",
            &session(
                "agent:cs:slack:channel:c02",
                "openrouter",
                "meta-llama/llama-3.3-70b-instruct:free",
                "user",
                may12,
            ),
        );
        let o = look_as(&p, d.path(), "cs", at("2026-05-20T00:00:00Z")).await;
        assert_finding(
            &o,
            Health::Critical,
            "agent cs session agent:cs:slack:channel:c02: session model override openai/gpt-5.4 → \
             openrouter/meta-llama/llama-3.3-70b-instruct:free (changed 2026-05-12 10:00 UTC) \
             with no prompt edit",
        );
        assert!(
            ev(&o, "swap")[0].contains("(dated by session store "),
            "{o:?}"
        );
        // sessions are judged, never remembered as routes
        let facts = o.facts.clone().unwrap();
        assert_eq!(facts["routes"].as_object().unwrap().len(), 1, "{facts}");
        // a broken store is named, not judged
        store(d.path(), "cs", "\"agent:cs:main\": ");
        let o = look_as(&p, d.path(), "cs", at("2026-05-20T00:00:00Z")).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(ev(&o, "sessions")[0].contains("sessions.json: "), "{o:?}");
        // OpenClaw only
        let bad = testkit::invalid_keys::<ModelSwap>(
            "config = \"config.yaml\"\nprompts = [\"SOUL.md\"]\nsessions = \"agents/*/sessions/sessions.json\"",
        );
        assert_eq!(bad, ["sessions"]);
    }
}
