//! `change_window`: watches per-agent files (`openclaw.json`, `SOUL.md`, `COMPANY_CORE.md`) across
//! a fleet for changes rolled out too broadly (lesson 31: N agents changed within a window with no
//! validation between, found even when the burst ended hours ago, within `lookback`), for a
//! forgotten node (lesson 31: one agent left behind on a version key of JSON, TOML, YAML or
//! markdown front matter for longer than a limit) and for edits made without a backup beside them
//! (lessons 31, 16; judged by mtimes when there is no history). In `scope = "agent"` (a per-agent
//! pack) several files of one agent are never a fleet rollout. Content hashes, mtimes, change
//! times and first-disagreement times are kept in facts so changes are seen across runs. It only
//! reads: it never restores a backup or edits a file, and it shows paths, times, hash fingerprints
//! and the version values, never file contents.

use super::docmeta;
use super::{Health, Invalid, Observation, Probe, ProbeCx};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeWindow {
    /// Watched files: paths, or patterns with `*` inside path segments (one per segment), e.g.
    /// "/home/*/.openclaw/openclaw.json", "/Users/*/.openclaw/workspace-*/COMPANY_CORE.md".
    /// In the fleet scope what the first `*` matched names the agent (a path without `*` is named
    /// by the home folder above its first dot-folder, "/root/.openclaw/openclaw.json" → root).
    /// Required.
    files: Vec<String>,
    /// "fleet" (default): the files belong to many agents, and changes are counted per agent.
    /// "agent": every file belongs to the probe's one agent (a per-agent pack), so no rollout is
    /// counted; backups and versions are still judged.
    #[serde(default)]
    scope: Scope,
    /// In the fleet scope, this many or more agents changed within `window`, with no validation
    /// between them, is a non-staged rollout (critical). A number, or a string holding one (a
    /// pack var). Default 3.
    #[serde(default, deserialize_with = "count_or_text")]
    max_changes: Option<usize>,
    /// The rollout window. Default "1h".
    #[serde(default = "default_window", deserialize_with = "crate::duration::de")]
    window: Duration,
    /// How far back a burst is still reported (it stays critical after it ended) and how long
    /// change times are remembered; also how old an unbacked change may be and still count.
    /// Default "24h".
    #[serde(default = "default_lookback", deserialize_with = "crate::duration::de")]
    lookback: Duration,
    /// A marker file whose mtime is the time of the last successful validation (written by a
    /// canary or health smoke after a wave). Changes on either side of it are separate waves.
    /// Default: none.
    validated_by: Option<PathBuf>,
    /// A dotted key read from each JSON (JSON5), TOML or YAML file, or from a markdown file's
    /// front matter (by extension), e.g. "meta.lastTouchedVersion" or "version"; alternatives
    /// comma-separated ("version,meta.lastTouchedVersion"), the first one a file has counts.
    /// Files with the same name are compared across agents. Default: versions not compared.
    versioned_key: Option<String>,
    /// Longest healthy disagreement on `versioned_key` between agents (forgotten node,
    /// degraded). Default "24h".
    #[serde(
        default = "default_disagreement",
        deserialize_with = "crate::duration::de"
    )]
    max_disagreement: Duration,
    /// A changed file needs a backup: `<file>.bak`, `<file>.bak*` (`.bak.1`, `.bak-<ts>`),
    /// `<file>~`, `<file>.orig`, or a file in `backup_dir` whose name contains the file's name,
    /// with an mtime within `window` of the change. A change is one seen against the previous
    /// run or, with no history, an mtime within `lookback`. Otherwise degraded. Default false.
    #[serde(default)]
    require_backup: bool,
    /// An extra directory where backups are kept (e.g. "~/agents-config/backups"). Default none.
    backup_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Scope {
    #[default]
    Fleet,
    Agent,
}

/// `3` or `"3"` (a pack's `${var}` expands to text).
fn count_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(usize),
        Text(String),
    }
    match N::deserialize(d)? {
        N::Num(n) => Ok(Some(n)),
        N::Text(t) => {
            t.trim().parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("expected a whole number, got {t:?}"))
            })
        }
    }
}

fn default_window() -> Duration {
    Duration::from_secs(3600)
}
fn default_lookback() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_disagreement() -> Duration {
    Duration::from_secs(24 * 3600)
}
/// Most directory entries read when expanding a pattern or looking for backups.
const MAX_ENTRIES: usize = 4096;
/// Most files watched.
const MAX_FILES: usize = 1024;
/// Largest file hashed.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Longest version value shown.
const MAX_VERSION_CHARS: usize = 80;
/// Most change times remembered per file.
const MAX_CHANGES: usize = 16;

impl Probe for ChangeWindow {
    const KIND: &'static str = "change_window";
    const SUMMARY: &'static str = "agents' files changed too broadly at once (now or within a lookback), an agent left behind on a version, edits without a backup";
    const LESSONS: &'static [u32] = &[31, 16];
    const EXAMPLE: &'static str = r#"[probe.fleet_rollout]
lessons = [31, 16]
every = "5m"
# every agent's config and prompt on the VPS and the Mac mini (lesson 31: 4 agents broke at once)
files = [
  "/home/*/.openclaw/openclaw.json",
  "/Users/*/.openclaw/openclaw.json",
  "/Users/*/.openclaw/workspace-*/COMPANY_CORE.md",
]
max_changes = 3
window = "15m"
lookback = "24h"
# touched by the canary after each wave passes `openclaw config validate` and a health smoke
validated_by = "/Users/Shared/agents-config/last-validated"
# COMPANY_CORE.md carries `version: 1.4` in its front matter; openclaw.json meta.version
versioned_key = "version"
max_disagreement = "24h"
require_backup = true
backup_dir = "/Users/Shared/agents-config/backups"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        Invalid::require_at_least_one(&mut bad, "files", &self.files, "path or pattern");
        for (i, f) in self.files.iter().enumerate() {
            if f.is_empty() {
                bad.push(Invalid::new(format!("files[{i}]"), "must not be empty"));
            } else if f.split('/').any(|seg| seg.matches('*').count() > 1) {
                bad.push(Invalid::new(
                    format!("files[{i}]"),
                    "expected at most one `*` per path segment",
                ));
            } else if f.contains(['?', '[', '{']) {
                bad.push(Invalid::new(
                    format!("files[{i}]"),
                    "only `*` is supported in patterns",
                ));
            }
        }
        match (self.scope, self.max_changes) {
            (Scope::Agent, Some(_)) => bad.push(Invalid::new(
                "max_changes",
                "counts agents: not used with scope = \"agent\"",
            )),
            (_, Some(0)) => bad.push(Invalid::new("max_changes", "must be at least 1")),
            _ => {}
        }
        Invalid::require_longer_than_0s(&mut bad, "window", self.window);
        if self.lookback < self.window {
            bad.push(Invalid::new("lookback", "must be at least `window`"));
        }
        if let Some(k) = &self.versioned_key
            && k.split(',')
                .any(|k| k.trim().is_empty() || k.trim().split('.').any(str::is_empty))
        {
            bad.push(Invalid::new(
                "versioned_key",
                "expected a dotted key such as \"meta.version\"",
            ));
        }
        if self.backup_dir.is_some() && !self.require_backup {
            bad.push(Invalid::new(
                "backup_dir",
                "only used with require_backup = true",
            ));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let patterns: Vec<(String, PathBuf)> = self
            .files
            .iter()
            .map(|f| (f.clone(), cx.resolve(Path::new(f))))
            .collect();
        let marker = self.validated_by.as_ref().map(|p| cx.resolve(p));
        let backup_dir = self.backup_dir.as_ref().map(|p| cx.resolve(p));
        let prior = cx.prior.cloned();
        let now = cx.now;
        let agent = cx.agent.map(str::to_string);
        let root = cx.root().map(Path::to_path_buf);
        let this = self.clone();
        let run = move || {
            let places = Places {
                marker: marker.as_deref(),
                backup_dir: backup_dir.as_deref(),
                agent: agent.as_deref(),
                root: root.as_deref(),
            };
            this.look(&patterns, &places, prior, now)
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("change check failed: {e}")),
        }
    }
}

/// Resolved places besides the watched files.
struct Places<'a> {
    marker: Option<&'a Path>,
    backup_dir: Option<&'a Path>,
    /// The probe's agent (agent scope names it).
    agent: Option<&'a str>,
    /// The audited host tree (`--root`): every directory a pattern walks and every match is
    /// re-anchored inside it, so a symlinked directory in the tree cannot lead the walk out.
    root: Option<&'a Path>,
}

/// One watched file as seen now.
struct Seen {
    path: PathBuf,
    /// The agent it belongs to (fleet scope: what the first `*` matched).
    agent: String,
    hash: String,
    mtime: DateTime<Utc>,
    /// When its content last changed, as far as this probe can tell.
    changed_at: DateTime<Utc>,
    /// The change was seen as a hash difference against the previous run (not guessed from mtime).
    detected: bool,
    /// Change times within `lookback` (remembered across runs), oldest first.
    changes: Vec<DateTime<Utc>>,
    version: Option<String>,
    disagree_since: Option<DateTime<Utc>>,
}

/// The largest set of agents changed within one window with no validation between them.
struct Burst {
    agents: BTreeSet<String>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

fn dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1))
}

impl ChangeWindow {
    fn max_changes(&self) -> usize {
        self.max_changes.unwrap_or(3)
    }

    fn look(
        &self,
        patterns: &[(String, PathBuf)],
        places: &Places<'_>,
        prior: Option<Value>,
        now: DateTime<Utc>,
    ) -> Observation {
        let mut notes: Vec<(String, String)> = Vec::new();
        let mut paths: BTreeMap<PathBuf, String> = BTreeMap::new();
        for (raw, p) in patterns {
            let found = expand(p, places.root);
            if found.is_empty() {
                notes.push(("no_match".into(), raw.clone()));
            }
            for (path, label) in found {
                if paths.len() < MAX_FILES {
                    let agent = match (self.scope, places.agent) {
                        (Scope::Agent, Some(a)) => a.to_string(),
                        (Scope::Agent, None) => "this agent".to_string(),
                        (Scope::Fleet, _) => label,
                    };
                    paths.entry(path).or_insert(agent);
                }
            }
        }
        if paths.is_empty() {
            return Observation::unknown("no files match")
                .expected("files matching the configured patterns")
                .evidence("patterns", self.files.join(", "));
        }
        let prior_files = prior
            .as_ref()
            .and_then(|p| p.get("files"))
            .and_then(Value::as_object);
        let mut seen: Vec<Seen> = Vec::new();
        let mut unreadable: Vec<String> = Vec::new();
        for (path, agent) in paths {
            match self.read_one(&path, agent, prior_files, now) {
                Ok(s) => seen.push(s),
                Err(e) => unreadable.push(format!("{}: {e}", path.display())),
            }
        }
        if seen.is_empty() {
            let mut o = Observation::unknown(format!(
                "none of {} matching files readable",
                unreadable.len()
            ));
            for u in unreadable {
                o = o.evidence("unreadable", u);
            }
            return o;
        }
        let validated_at =
            places.marker.and_then(
                |m| match std::fs::metadata(m).and_then(|md| md.modified()) {
                    Ok(t) => Some(DateTime::<Utc>::from(t)),
                    Err(e) => {
                        notes.push(("validated_by".into(), format!("{}: {e}", m.display())));
                        None
                    }
                },
            );
        let version_problem = match self.versioned_key {
            Some(_) => self.judge_versions(&mut seen, now),
            None => None,
        };
        let burst = match self.scope {
            Scope::Fleet => self.burst(&seen, validated_at, now),
            Scope::Agent => None,
        };
        let mut problems: Vec<(Health, String)> = Vec::new();
        if let Some(b) = burst
            .as_ref()
            .filter(|b| b.agents.len() >= self.max_changes())
        {
            problems.push((Health::Critical, self.burst_text(b, now)));
        }
        if let Some(msg) = version_problem {
            problems.push((Health::Degraded, msg));
        }
        if self.require_backup {
            let unbacked = self.unbacked(&seen, places.backup_dir, now);
            if !unbacked.is_empty() {
                problems.push((
                    Health::Degraded,
                    format!("config changed without a backup: {}", unbacked.join(", ")),
                ));
            }
        }
        let obs = self.verdict(&seen, &problems, burst.as_ref(), validated_at, now);
        self.finish(obs, &seen, unreadable, notes)
    }

    /// "4 agents changed within 15m with no validation between: …" (a past burst is dated).
    fn burst_text(&self, b: &Burst, now: DateTime<Utc>) -> String {
        let names: Vec<&str> = b.agents.iter().map(String::as_str).collect();
        let when = if now - b.end <= dur(self.window) {
            String::new()
        } else {
            format!(
                " at {}–{} ({} ago)",
                b.start.format("%Y-%m-%d %H:%M"),
                b.end.format("%H:%M UTC"),
                humantime::format_duration(
                    (now - b.end)
                        .to_std()
                        .map(|d| Duration::from_secs(d.as_secs() / 60 * 60))
                        .unwrap_or_default()
                )
            )
        };
        format!(
            "{} agents changed within {}{when} with no validation between: roll out swarm changes in waves ({})",
            b.agents.len(),
            humantime::format_duration(self.window),
            names.join(", ")
        )
    }

    /// The widest burst within `lookback`: agents whose changes fall in one `window`, all on
    /// the same side of the last validation.
    fn burst(
        &self,
        seen: &[Seen],
        validated_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Burst> {
        let from = now - dur(self.lookback);
        let mut events: Vec<(DateTime<Utc>, &str)> = seen
            .iter()
            .flat_map(|s| s.changes.iter().map(move |t| (*t, s.agent.as_str())))
            .filter(|(t, _)| *t > from && *t <= now)
            .collect();
        events.sort();
        let side = |t: DateTime<Utc>| validated_at.is_some_and(|v| t > v);
        let window = dur(self.window);
        let mut best: Option<Burst> = None;
        for (i, (start, _)) in events.iter().enumerate() {
            let mut agents = BTreeSet::new();
            let mut end = *start;
            for (t, a) in &events[i..] {
                if *t - *start > window || side(*t) != side(*start) {
                    break;
                }
                agents.insert(a.to_string());
                end = *t;
            }
            if best.as_ref().is_none_or(|b| agents.len() > b.agents.len()) {
                best = Some(Burst {
                    agents,
                    start: *start,
                    end,
                });
            }
        }
        best
    }

    /// Changes within `lookback` with no backup near them: seen against history, or on a
    /// first sighting judged by the file's mtime.
    fn unbacked(
        &self,
        seen: &[Seen],
        backup_dir: Option<&Path>,
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let from = now - dur(self.lookback);
        seen.iter()
            .filter(|s| s.changed_at > from && s.changed_at <= now)
            .filter(|s| !has_backup(&s.path, backup_dir, s.changed_at, dur(self.window)))
            .map(|s| {
                format!(
                    "{} at {}{}",
                    self.name(s),
                    s.changed_at.to_rfc3339(),
                    if s.detected { "" } else { " (by mtime)" }
                )
            })
            .collect()
    }

    /// How a file is named in messages: its agent in the fleet scope, its path for one agent.
    fn name(&self, s: &Seen) -> String {
        match self.scope {
            Scope::Fleet => s.agent.clone(),
            Scope::Agent => s.path.display().to_string(),
        }
    }

    fn verdict(
        &self,
        seen: &[Seen],
        problems: &[(Health, String)],
        burst: Option<&Burst>,
        validated_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Observation {
        let window = dur(self.window);
        let recent = seen
            .iter()
            .filter(|s| s.changed_at > now - window && s.changed_at <= now)
            .count();
        let mut obs = if let Some(o) = super::of_problems(problems) {
            o
        } else {
            let counted = match self.scope {
                Scope::Fleet => format!(
                    ", widest burst {} agents within {}",
                    burst.map_or(0, |b| b.agents.len()),
                    humantime::format_duration(self.lookback)
                ),
                Scope::Agent => String::new(),
            };
            Observation::ok(format!(
                "{} watched files, {recent} changed within {}{counted}",
                seen.len(),
                humantime::format_duration(self.window),
            ))
        };
        let mut expected = Vec::new();
        if self.scope == Scope::Fleet {
            expected.push(format!(
                "fewer than {} agents changed per {} between validations (looking back {})",
                self.max_changes(),
                humantime::format_duration(self.window),
                humantime::format_duration(self.lookback)
            ));
        }
        if self.versioned_key.is_some() {
            expected.push(format!(
                "versions agreeing within {}",
                humantime::format_duration(self.max_disagreement)
            ));
        }
        if self.require_backup {
            expected.push("a backup before every change".into());
        }
        if !expected.is_empty() {
            obs = obs.expected(expected.join(", "));
        }
        if let Some(v) = validated_at {
            obs = obs.evidence("validated_at", v.to_rfc3339());
        }
        if let Some(b) = burst.filter(|b| b.agents.len() > 1) {
            obs = obs.evidence(
                "burst",
                format!(
                    "{} agents {}–{}: {}",
                    b.agents.len(),
                    b.start.to_rfc3339(),
                    b.end.to_rfc3339(),
                    b.agents.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        let from = now - dur(self.lookback);
        for s in seen.iter().filter(|s| s.changed_at > from) {
            obs = obs.evidence(
                "changed",
                format!(
                    "{} at {} ({})",
                    s.path.display(),
                    s.changed_at.to_rfc3339(),
                    s.hash
                ),
            );
        }
        obs.metric("files_watched", seen.len() as f64)
            .metric("changes_in_window", recent as f64)
            .metric("burst_agents", burst.map_or(0, |b| b.agents.len()) as f64)
    }

    /// Versions, unreadable files and notes as evidence; facts for the next run.
    fn finish(
        &self,
        mut obs: Observation,
        seen: &[Seen],
        unreadable: Vec<String>,
        notes: Vec<(String, String)>,
    ) -> Observation {
        if let Some(k) = &self.versioned_key {
            for s in seen {
                obs = obs.evidence(
                    "version",
                    format!(
                        "{}: {k} = {}",
                        s.path.display(),
                        s.version.as_deref().unwrap_or("(missing)")
                    ),
                );
            }
        }
        for u in unreadable {
            obs = obs.evidence("unreadable", u);
        }
        for (k, v) in notes {
            obs = obs.evidence(k, v);
        }
        let mut files = Map::new();
        for s in seen {
            files.insert(
                s.path.display().to_string(),
                json!({
                    "hash": s.hash,
                    "mtime": s.mtime.to_rfc3339(),
                    "changed_at": s.changed_at.to_rfc3339(),
                    "detected": s.detected,
                    "changes": s.changes.iter().map(|t| t.to_rfc3339()).collect::<Vec<_>>(),
                    "version": s.version,
                    "disagree_since": s.disagree_since.map(|t| t.to_rfc3339()),
                }),
            );
        }
        obs.facts(json!({ "files": files }))
    }

    fn read_one(
        &self,
        path: &Path,
        agent: String,
        prior_files: Option<&Map<String, Value>>,
        now: DateTime<Utc>,
    ) -> Result<Seen, String> {
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        let bytes = crate::read::bytes(path, MAX_FILE_BYTES).map_err(|e| e.reason())?;
        let mtime = meta.modified().map(DateTime::<Utc>::from).unwrap_or(now);
        let hash = crate::redact::fingerprint(&String::from_utf8_lossy(&bytes));
        let version = self
            .versioned_key
            .as_deref()
            .and_then(|k| read_version(path, &bytes, k));

        let before = prior_files.and_then(|m| m.get(&path.display().to_string()));
        let time = |v: Option<&Value>, k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .and_then(docmeta::parse_date)
        };
        let (changed_at, detected) = match before {
            // first sighting (first run, or a file that appeared): the mtime is the best guess
            None => (mtime, false),
            Some(b) => {
                if b.get("hash").and_then(Value::as_str) != Some(hash.as_str()) {
                    // a restored or copied file may carry an old mtime: then the change is now
                    let prev_mtime = time(Some(b), "mtime");
                    let at = if prev_mtime.is_none_or(|p| mtime > p) && mtime <= now {
                        mtime
                    } else {
                        now
                    };
                    (at, true)
                } else {
                    (
                        time(Some(b), "changed_at").unwrap_or(mtime),
                        b.get("detected").and_then(Value::as_bool).unwrap_or(false),
                    )
                }
            }
        };
        let from = now - dur(self.lookback);
        let mut changes: Vec<DateTime<Utc>> = before
            .and_then(|b| b.get("changes"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter_map(docmeta::parse_date)
                    .collect()
            })
            .unwrap_or_default();
        if !changes.contains(&changed_at) {
            changes.push(changed_at);
        }
        changes.retain(|t| *t > from && *t <= now);
        changes.sort();
        if changes.len() > MAX_CHANGES {
            changes.drain(..changes.len() - MAX_CHANGES);
        }
        let disagree_since = match before {
            Some(b) if b.get("version").and_then(Value::as_str) == version.as_deref() => {
                time(Some(b), "disagree_since")
            }
            _ => None,
        };
        Ok(Seen {
            path: path.to_path_buf(),
            agent,
            hash,
            mtime,
            changed_at,
            detected,
            changes,
            version,
            disagree_since,
        })
    }

    /// Groups files of the same name by version; files off the majority value get (or keep) a
    /// first-disagreement time. On the first sighting it is estimated from mtimes: no earlier
    /// than the oldest majority file's mtime (others had moved on by then) and the file's own.
    fn judge_versions(&self, seen: &mut [Seen], now: DateTime<Utc>) -> Option<String> {
        let names: BTreeSet<String> = seen.iter().map(|s| file_name(&s.path)).collect();
        let mut stale = Vec::new();
        for name in names {
            let mut group: Vec<&mut Seen> = seen
                .iter_mut()
                .filter(|s| file_name(&s.path) == name)
                .collect();
            stale.extend(self.judge_group(&mut group, &name, now));
        }
        (!stale.is_empty()).then(|| stale.join("; "))
    }

    fn judge_group(&self, seen: &mut [&mut Seen], name: &str, now: DateTime<Utc>) -> Vec<String> {
        let mut groups: BTreeMap<String, (usize, DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
        for s in seen.iter() {
            if let Some(v) = &s.version {
                let g = groups.entry(v.clone()).or_insert((0, s.mtime, s.mtime));
                g.0 += 1;
                g.1 = g.1.min(s.mtime);
                g.2 = g.2.max(s.mtime);
            }
        }
        if groups.len() < 2 {
            for s in seen.iter_mut() {
                s.disagree_since = None;
            }
            return Vec::new();
        }
        // the majority; a tie goes to the value written most recently
        let Some((major, &(major_n, major_oldest, _))) = groups
            .iter()
            .max_by(|a, b| (a.1.0, a.1.2).cmp(&(b.1.0, b.1.2)))
        else {
            return Vec::new();
        };
        let major = major.clone();
        let limit = dur(self.max_disagreement);
        let mut stale = Vec::new();
        for s in seen.iter_mut() {
            match &s.version {
                Some(v) if *v != major => {
                    let since = s
                        .disagree_since
                        .unwrap_or_else(|| major_oldest.max(s.mtime).min(now));
                    s.disagree_since = Some(since);
                    if now - since > limit {
                        stale.push(format!(
                            "agent {} still on {v} while {major_n} others are on {major} in {name} (forgotten node, since {})",
                            s.agent,
                            since.to_rfc3339()
                        ));
                    }
                }
                _ => s.disagree_since = None,
            }
        }
        stale
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Expands a path whose segments may each hold one `*`; returns (path, agent) of regular files.
/// The agent is what the first `*` matched (without leading or trailing `-`, `_`, `.`), else the
/// home folder above the first dot-folder, else the path. Under `root` every directory read and
/// every match is resolved inside the tree (`reroot::under`): a link to a directory outside it is
/// followed as the audited host would, re-anchored, never to this machine's files.
fn expand(p: &Path, root: Option<&Path>) -> Vec<(PathBuf, String)> {
    let comps: Vec<Component<'_>> = p.components().collect();
    let mut out = Vec::new();
    walk(&comps, PathBuf::new(), None, root, &mut out);
    out.sort();
    out.truncate(MAX_FILES);
    out
}

fn walk(
    comps: &[Component<'_>],
    at: PathBuf,
    label: Option<String>,
    root: Option<&Path>,
    out: &mut Vec<(PathBuf, String)>,
) {
    if out.len() >= MAX_FILES {
        return;
    }
    let inside = |p: PathBuf| match root {
        Some(r) => crate::reroot::under(r, &p),
        None => p,
    };
    let Some(star) = comps
        .iter()
        .position(|c| c.as_os_str().to_string_lossy().contains('*'))
    else {
        let path = inside(at.join(comps.iter().collect::<PathBuf>()));
        if path.is_file() {
            let label = label.unwrap_or_else(|| home_label(&path));
            out.push((path, label));
        }
        return;
    };
    let parent = inside(at.join(comps[..star].iter().collect::<PathBuf>()));
    let seg = comps[star].as_os_str().to_string_lossy().into_owned();
    let Some((prefix, suffix)) = seg.split_once('*') else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return;
    };
    let mut names: Vec<String> = entries
        .take(MAX_ENTRIES)
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .collect();
    names.sort();
    for name in names {
        // `workspace*` matching "workspace-cs" names "cs"; matching nothing names nobody
        let matched = name[prefix.len()..name.len() - suffix.len()]
            .trim_matches(['-', '_', '.'])
            .to_string();
        let next = label
            .clone()
            .or_else(|| (!matched.is_empty()).then_some(matched));
        walk(&comps[star + 1..], parent.join(&name), next, root, out);
    }
}

/// "/root/.openclaw/openclaw.json" → "root": the folder above the last dot-folder on the way to
/// the file; a path with no dot-folder names itself.
fn home_label(p: &Path) -> String {
    let comps: Vec<String> = p
        .parent()
        .map(|d| {
            d.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    match comps
        .iter()
        .rposition(|c| c.starts_with('.') && c.len() > 1)
    {
        Some(i) if i > 0 && comps[i - 1] != "/" => comps[i - 1].clone(),
        _ => p.display().to_string(),
    }
}

fn read_version(path: &Path, bytes: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let doc: Value = match ext.as_str() {
        "json" | "json5" => super::json5doc::parse(text).ok()?,
        "toml" => serde_json::to_value(toml::from_str::<toml::Table>(text).ok()?).ok()?,
        "yaml" | "yml" => serde_saphyr::from_str(text).ok()?,
        "md" | "markdown" => docmeta::front_matter(text)?,
        _ => return None,
    };
    let cur = key.split(',').find_map(|alt| {
        let mut cur = &doc;
        for k in alt.trim().split('.') {
            cur = match cur {
                Value::Object(m) => m.get(k)?,
                Value::Array(a) => a.get(k.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    })?;
    let s = match cur {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    Some(crate::redact::truncate(&s, MAX_VERSION_CHARS))
}

/// A backup beside the file (`.bak`, `.bak*`, `~`, `.orig`) or in `backup_dir` (name contains
/// the file's name) whose mtime is within `window` of the change.
fn has_backup(
    file: &Path,
    backup_dir: Option<&Path>,
    changed_at: DateTime<Utc>,
    window: chrono::Duration,
) -> bool {
    let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return false;
    };
    // a backup is dated by its mtime or by a timestamp in its name (`.bak-20260512T1000`)
    let near = |p: &Path| {
        let close = |t: DateTime<Utc>| (t - changed_at).abs() <= window;
        let named = p
            .file_name()
            .and_then(|n| docmeta::name_timestamp(&n.to_string_lossy(), &name));
        named.is_some_and(close)
            || std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| close(DateTime::<Utc>::from(t)))
    };
    let beside = |entry: &str| {
        entry != name
            && (entry.starts_with(&format!("{name}.bak"))
                || entry == format!("{name}~")
                || entry == format!("{name}.orig"))
    };
    let scan = |dir: &Path, accept: &dyn Fn(&str) -> bool| {
        std::fs::read_dir(dir).is_ok_and(|rd| {
            rd.take(MAX_ENTRIES).flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                accept(&n) && near(&e.path())
            })
        })
    };
    if let Some(dir) = file.parent()
        && scan(dir, &beside)
    {
        return true;
    }
    backup_dir.is_some_and(|d| scan(d, &|n: &str| n.contains(name.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look_with, set_mtime};

    fn probe(src: &str) -> ChangeWindow {
        testkit::parse(src)
    }

    fn mins(n: i64) -> chrono::Duration {
        chrono::Duration::minutes(n)
    }

    /// Copies tests/data/hosts/change_window/<which>/agents into a temp dir (mtimes set by the test).
    fn agents(which: &str) -> tempfile::TempDir {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/hosts/change_window")
            .join(which)
            .join("agents");
        let d = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            let to = d.path().join("agents").join(e.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
        d
    }

    fn all_at(d: &Path, t: DateTime<Utc>) {
        for e in std::fs::read_dir(d.join("agents")).unwrap() {
            for f in std::fs::read_dir(e.unwrap().path()).unwrap() {
                set_mtime(&f.unwrap().path(), t);
            }
        }
    }

    fn cfg(d: &Path, agent: &str) -> PathBuf {
        d.join("agents").join(agent).join("openclaw.json")
    }

    #[tokio::test]
    async fn staged_waves_are_ok_and_a_broad_rollout_is_critical() {
        let d = agents("good");
        let now = Utc::now();
        all_at(d.path(), now - chrono::Duration::days(3));
        // wave 1: hub and cs, validated, then wave 2: finance and retail
        for a in ["hub", "cs"] {
            set_mtime(&cfg(d.path(), a), now - mins(50));
        }
        std::fs::write(d.path().join("validated"), "").unwrap();
        set_mtime(&d.path().join("validated"), now - mins(40));
        for a in ["finance", "retail"] {
            set_mtime(&cfg(d.path(), a), now - mins(30));
        }
        let p = probe(
            "files = [\"agents/*/openclaw.json\"]\nvalidated_by = \"validated\"\nversioned_key = \"meta.version\"",
        );
        let o = look_with(&p, d.path(), None, now).await;
        testkit::assert_ends(
            &o,
            Health::Ok,
            "4 changed within 1h, widest burst 2 agents within 1day",
        );

        // without the validation between the waves: 4 at once
        std::fs::remove_file(d.path().join("validated")).unwrap();
        let o = look_with(&p, d.path(), None, now).await;
        testkit::assert_starts(
            &o,
            Health::Critical,
            "4 agents changed within 1h with no validation between: roll out swarm changes in waves",
        );
        // contents never shown
        assert!(!format!("{o:?}").contains("gpt-"), "{o:?}");
    }

    #[tokio::test]
    async fn changes_across_runs_use_hashes() {
        let d = agents("good");
        let now = Utc::now();
        all_at(d.path(), now - chrono::Duration::days(3));
        let p = probe("files = [\"agents/*/openclaw.json\"]\nmax_changes = 2\nwindow = \"15m\"");
        let first = look_with(&p, d.path(), None, now - mins(10)).await;
        assert_eq!(first.health, Health::Ok, "{first:?}");
        let facts = first.facts.unwrap();
        // two files rewritten, mtimes preserved (a copy from elsewhere): the hash still tells
        for a in ["hr", "cs"] {
            std::fs::write(cfg(d.path(), a), "{\"meta\":{\"version\":\"2026.5.13\"}}").unwrap();
            set_mtime(&cfg(d.path(), a), now - chrono::Duration::days(3));
        }
        let o = look_with(&p, d.path(), Some(&facts), now).await;
        assert_finding(&o, Health::Critical, "2 agents changed within 15m");
        assert!(o.summary.contains("cs, hr"), "{}", o.summary);
    }

    #[tokio::test]
    async fn forgotten_node_is_degraded() {
        let d = agents("bad");
        let now = Utc::now();
        all_at(d.path(), now - chrono::Duration::days(3));
        set_mtime(&cfg(d.path(), "hr"), now - chrono::Duration::days(20));
        let p = probe(
            "files = [\"agents/*/openclaw.json\"]\nversioned_key = \"meta.version\"\nmax_changes = 10",
        );
        let o = look_with(&p, d.path(), None, now).await;
        testkit::assert_starts(
            &o,
            Health::Degraded,
            "agent hr still on 2026.5.1 while 6 others are on 2026.5.12 in openclaw.json (forgotten node",
        );
        // a fresh disagreement is not yet a forgotten node; the first sighting is kept in facts
        let d2 = agents("bad");
        all_at(d2.path(), now - mins(5));
        let o = look_with(&p, d2.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        let facts = o.facts.unwrap();
        let hr = cfg(d2.path(), "hr").display().to_string();
        assert!(facts["files"][&hr]["disagree_since"].is_string(), "{facts}");
        let o = look_with(
            &p,
            d2.path(),
            Some(&facts),
            now + chrono::Duration::hours(25),
        )
        .await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
    }

    #[tokio::test]
    async fn change_without_backup_is_degraded() {
        let d = agents("good");
        let now = Utc::now();
        all_at(d.path(), now - chrono::Duration::days(3));
        let p = probe(
            "files = [\"agents/*/openclaw.json\"]\nrequire_backup = true\nbackup_dir = \"backups\"",
        );
        let facts = look_with(&p, d.path(), None, now - mins(20))
            .await
            .facts
            .unwrap();
        std::fs::write(
            cfg(d.path(), "hub"),
            "{\"meta\":{\"version\":\"2026.5.13\"}}",
        )
        .unwrap();
        set_mtime(&cfg(d.path(), "hub"), now - mins(5));
        let o = look_with(&p, d.path(), Some(&facts), now).await;
        testkit::assert_starts(
            &o,
            Health::Degraded,
            "config changed without a backup: hub at ",
        );

        // a `.bak-<ts>` written just before the edit satisfies it
        let bak = d.path().join("agents/hub/openclaw.json.bak-20260512T1000");
        std::fs::write(&bak, "{}").unwrap();
        set_mtime(&bak, now - mins(6));
        assert_eq!(
            look_with(&p, d.path(), Some(&facts), now).await.health,
            Health::Ok
        );
        // so does a copy in backup_dir; an old .bak does not
        set_mtime(&bak, now - chrono::Duration::days(2));
        assert_eq!(
            look_with(&p, d.path(), Some(&facts), now).await.health,
            Health::Degraded
        );
        std::fs::create_dir_all(d.path().join("backups")).unwrap();
        std::fs::write(d.path().join("backups/hub-openclaw.json"), "{}").unwrap();
        assert_eq!(
            look_with(&p, d.path(), Some(&facts), now).await.health,
            Health::Ok
        );
    }

    #[tokio::test]
    async fn a_burst_that_ended_hours_ago_is_still_critical_on_a_first_look() {
        let d = agents("good");
        let now = Utc::now();
        all_at(d.path(), now - chrono::Duration::days(3));
        // three agents rewritten within ten minutes, five hours ago; no history, so mtimes tell
        for (a, m) in [("hub", 300), ("cs", 295), ("hr", 290)] {
            set_mtime(&cfg(d.path(), a), now - mins(m));
        }
        let p = probe("files = [\"agents/*/openclaw.json\"]\nwindow = \"15m\"");
        let o = look_with(&p, d.path(), None, now).await;
        testkit::assert_starts(&o, Health::Critical, "3 agents changed within 15m at ");
        assert!(
            o.summary
                .contains("(4h 50m ago) with no validation between"),
            "{}",
            o.summary
        );
        assert!(o.summary.ends_with("(cs, hr, hub)"), "{}", o.summary);
        // the burst is remembered: a later look (files untouched) still reports it
        let facts = o.facts.unwrap();
        let later = look_with(&p, d.path(), Some(&facts), now + mins(60)).await;
        assert_eq!(later.health, Health::Critical, "{later:?}");
        // past the lookback it is history
        let o = look_with(
            &p,
            d.path(),
            Some(&facts),
            now + chrono::Duration::hours(20),
        )
        .await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        // a shorter lookback does not see it at all
        let p = probe("files = [\"agents/*/openclaw.json\"]\nwindow = \"15m\"\nlookback = \"2h\"");
        assert_eq!(look_with(&p, d.path(), None, now).await.health, Health::Ok);
    }

    #[tokio::test]
    async fn several_files_of_one_agent_are_not_a_fleet_rollout() {
        let d = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let ws = d.path().join("home/cs/.openclaw");
        for f in [
            "openclaw.json",
            "workspace-cs/SOUL.md",
            "workspace-cs/COMPANY_CORE.md",
            "workspace-cs/AGENTS.md",
        ] {
            crate::probe::testkit::write(&ws.join(f), "---\nversion: 1\n---\n", 0o644);
            set_mtime(&ws.join(f), now - mins(3));
        }
        let files = "files = [\"home/cs/.openclaw/openclaw.json\", \"home/cs/.openclaw/workspace*/SOUL.md\", \"home/cs/.openclaw/workspace*/COMPANY_CORE.md\", \"home/cs/.openclaw/workspace*/AGENTS.md\"]";
        let p = probe(&format!("{files}\nscope = \"agent\"\nwindow = \"15m\""));
        let o = look_with(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(o.summary, "4 watched files, 4 changed within 15m");
        // the fleet scope names the agent by its home: one agent, still no rollout
        let p = probe(&format!("{files}\nmax_changes = 2"));
        let o = look_with(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        // a backup is still required, judged by mtime with no history
        let p = probe(&format!(
            "{files}\nscope = \"agent\"\nrequire_backup = true"
        ));
        let o = look_with(&p, d.path(), None, now).await;
        assert_finding(&o, Health::Degraded, "SOUL.md at ");
        assert!(o.summary.contains(" (by mtime)"), "{}", o.summary);
    }

    #[tokio::test]
    async fn version_skew_in_front_matter_across_homes() {
        let d = tempfile::tempdir().unwrap();
        let now = Utc::now();
        for (a, v) in [
            ("cs", "1.4"),
            ("hr", "1.4"),
            ("finance", "1.4"),
            ("retail", "1.3"),
        ] {
            let f = d
                .path()
                .join(format!("Users/{a}/.openclaw/workspace-{a}/COMPANY_CORE.md"));
            crate::probe::testkit::write(&f, &format!("---\nversion: {v}\n---\n# Core\n"), 0o644);
            set_mtime(&f, now - chrono::Duration::days(5));
        }
        // the hub, outside the pattern's homes, agrees
        let hub = d
            .path()
            .join("root/.openclaw/workspace-hub/COMPANY_CORE.md");
        crate::probe::testkit::write(&hub, "---\nversion: 1.4\n---\n", 0o644);
        set_mtime(&hub, now - chrono::Duration::days(5));
        let p = probe(
            "files = [\"Users/*/.openclaw/workspace-*/COMPANY_CORE.md\", \"root/.openclaw/workspace-hub/COMPANY_CORE.md\"]\nversioned_key = \"version\"",
        );
        let o = look_with(&p, d.path(), None, now).await;
        testkit::assert_starts(
            &o,
            Health::Degraded,
            "agent retail still on 1.3 while 4 others are on 1.4 in COMPANY_CORE.md (forgotten node",
        );
    }

    #[test]
    fn validate_names_the_key() {
        let keys = testkit::invalid_keys::<ChangeWindow>(
            "files = [\"a/**/x\"]\nscope = \"agent\"\nmax_changes = 3\nwindow = \"2h\"\nlookback = \"1h\"",
        );
        assert_eq!(keys, ["files[0]", "max_changes", "lookback"]);
        assert_eq!(
            home_label(Path::new("/root/.openclaw/openclaw.json")),
            "root"
        );
        assert_eq!(home_label(Path::new("/etc/x.json")), "/etc/x.json");
    }

    #[tokio::test]
    async fn under_root_a_linked_directory_does_not_lead_the_glob_outside() {
        let d = tempfile::tempdir().unwrap();
        let (host, outside) = (d.path().join("host"), d.path().join("outside"));
        for dir in [host.join("home/cs/.openclaw"), outside.join(".openclaw")] {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("openclaw.json"), "{}").unwrap();
        }
        // a home linked to a directory outside the tree, by absolute and by climbing path
        std::os::unix::fs::symlink(&outside, host.join("home/evil")).unwrap();
        std::os::unix::fs::symlink("../../outside", host.join("home/up")).unwrap();
        let p = probe("files = [\"/home/*/.openclaw/openclaw.json\"]\nscope = \"fleet\"");
        let files = |o: &Observation| -> Vec<String> {
            o.facts.as_ref().unwrap()["files"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let at = testkit::At {
            root: Some(&host),
            ..testkit::At::default()
        };
        let o = testkit::observe(&p, at).await;
        let seen = files(&o);
        assert_eq!(
            seen,
            [host
                .join("home/cs/.openclaw/openclaw.json")
                .display()
                .to_string()],
            "{o:?}"
        );
        assert!(!format!("{o:?}").contains("outside"), "{o:?}");
        // the links are real: walked from the tree's own path without a root, both lead out
        let p = probe(&format!(
            "files = [\"{}/home/*/.openclaw/openclaw.json\"]\nscope = \"fleet\"",
            host.display()
        ));
        let o = testkit::observe(&p, testkit::At::default()).await;
        assert_eq!(files(&o).len(), 3, "{o:?}");
    }

    #[tokio::test]
    async fn no_match_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let p = probe("files = [\"agents/*/openclaw.json\", \"nothing.json\"]");
        let o = look_with(&p, d.path(), None, Utc::now()).await;
        assert_eq!(o.health, Health::Unknown);
        assert_eq!(o.summary, "no files match");
    }
}
