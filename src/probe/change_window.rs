//! `change_window`: watches a fleet's per-agent files (`openclaw.json`, `SOUL.md`,
//! `COMPANY_CORE.md`) for changes rolled out too broadly (lesson 31: too many agents changed
//! within a window with no validation in between), for a forgotten node (lesson 31: files
//! disagreeing on a version key for longer than a limit) and for edits made without a backup beside them (lesson 16). Content
//! hashes, mtimes and first-disagreement times are kept in facts so changes are seen across runs.
//! It only reads: it never restores a backup or edits a file, and it shows paths, times, hash
//! fingerprints and the version values, never file contents.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeWindow {
    /// Watched files: paths, or patterns with one `*` inside one path segment
    /// ("/Users/*/.openclaw/openclaw.json", "/opt/agents/*/SOUL.md", "~/.openclaw/workspace-*/COMPANY_CORE.md").
    /// What `*` matched names the agent in messages. Required.
    files: Vec<String>,
    /// This many or more files changed within `window`, with no validation after them, is a
    /// non-staged rollout (critical). Default 3.
    #[serde(default = "default_max_changes")]
    max_changes: usize,
    /// The rollout window. Default "1h".
    #[serde(default = "default_window", deserialize_with = "de_duration")]
    window: Duration,
    /// A marker file whose mtime is the time of the last successful validation (written by a
    /// canary or health smoke after a wave). Changes at or before that time do not count toward
    /// `max_changes`, so waves separated by a validation are fine. Default: none.
    validated_by: Option<PathBuf>,
    /// A dotted key read from each JSON, TOML or YAML file (by extension), e.g. "meta.version"
    /// or "agents.defaults.model.primary". Default: versions not compared.
    versioned_key: Option<String>,
    /// Longest healthy disagreement on `versioned_key` between files (forgotten node, degraded).
    /// Default "24h".
    #[serde(default = "default_disagreement", deserialize_with = "de_duration")]
    max_disagreement: Duration,
    /// When a file's content changed since the previous run, a backup must exist: `<file>.bak`,
    /// `<file>.bak*` (`.bak.1`, `.bak-<ts>`), `<file>~`, `<file>.orig`, or a file in `backup_dir`
    /// whose name contains the file's name, with an mtime within `window` of the change.
    /// Otherwise degraded while the change is within `window`. Default false.
    #[serde(default)]
    require_backup: bool,
    /// An extra directory where backups are kept (e.g. "~/agents-config/backups"). Default none.
    backup_dir: Option<PathBuf>,
}

fn default_max_changes() -> usize {
    3
}
fn default_window() -> Duration {
    Duration::from_secs(3600)
}
fn default_disagreement() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}")))
}

/// Most directory entries read when expanding a pattern or looking for backups.
const MAX_ENTRIES: usize = 4096;
/// Most files watched.
const MAX_FILES: usize = 1024;
/// Largest file hashed.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Longest version value shown.
const MAX_VERSION_CHARS: usize = 80;

impl Probe for ChangeWindow {
    const KIND: &'static str = "change_window";
    const SUMMARY: &'static str = "per-agent files changed too broadly at once, versions disagreeing too long, edits without a backup";
    const LESSONS: &'static [u32] = &[31, 16];
    const EXAMPLE: &'static str = r#"[probe.agent_config_rollout]
kind = "change_window"
lessons = [31, 16]
every = "5m"
# the Mac mini's agents, one macOS user each (lesson 31: 4 agents broke at once)
files = ["/Users/*/.openclaw/openclaw.json"]
max_changes = 3
window = "15m"
# touched by the canary after each wave passes `openclaw config validate` and a health smoke
validated_by = "/Users/Shared/agents-config/last-validated"
versioned_key = "meta.lastTouchedVersion"
max_disagreement = "24h"
require_backup = true
backup_dir = "/Users/Shared/agents-config/backups"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.files.is_empty() {
            bad.push(Invalid::new(
                "files",
                "expected at least one path or pattern",
            ));
        }
        for (i, f) in self.files.iter().enumerate() {
            if f.is_empty() {
                bad.push(Invalid::new(format!("files[{i}]"), "must not be empty"));
            } else if f.matches('*').count() > 1 {
                bad.push(Invalid::new(
                    format!("files[{i}]"),
                    "expected at most one `*` (inside one path segment)",
                ));
            } else if f.contains(['?', '[', '{']) {
                bad.push(Invalid::new(
                    format!("files[{i}]"),
                    "only `*` is supported in patterns",
                ));
            }
        }
        if self.max_changes == 0 {
            bad.push(Invalid::new("max_changes", "must be at least 1"));
        }
        if self.window.is_zero() {
            bad.push(Invalid::new("window", "must be longer than 0s"));
        }
        if let Some(k) = &self.versioned_key
            && (k.is_empty() || k.split('.').any(str::is_empty))
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
        let this = self.clone();
        let run = move || {
            this.look(
                &patterns,
                marker.as_deref(),
                backup_dir.as_deref(),
                prior,
                now,
            )
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("change check failed: {e}")),
        }
    }
}

/// One watched file as seen now.
struct Seen {
    path: PathBuf,
    /// What `*` matched, else the path.
    label: String,
    hash: String,
    mtime: DateTime<Utc>,
    /// When its content last changed, as far as this probe can tell.
    changed_at: DateTime<Utc>,
    /// The change was seen as a hash difference against the previous run (not guessed from mtime).
    detected: bool,
    version: Option<String>,
    disagree_since: Option<DateTime<Utc>>,
}

impl ChangeWindow {
    fn look(
        &self,
        patterns: &[(String, PathBuf)],
        marker: Option<&Path>,
        backup_dir: Option<&Path>,
        prior: Option<Value>,
        now: DateTime<Utc>,
    ) -> Observation {
        let mut notes: Vec<(String, String)> = Vec::new();
        let mut paths: BTreeMap<PathBuf, String> = BTreeMap::new();
        for (raw, p) in patterns {
            let found = expand(p);
            if found.is_empty() {
                notes.push(("no_match".into(), raw.clone()));
            }
            for (path, label) in found {
                if paths.len() < MAX_FILES {
                    paths.entry(path).or_insert(label);
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
        for (path, label) in paths {
            match self.read_one(&path, label, prior_files, now) {
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

        let version_problem = match self.versioned_key {
            Some(_) => self.judge_versions(&mut seen, now),
            None => None,
        };
        let mut problems: Vec<(Health, String)> = Vec::new();

        // 1. non-staged rollout
        let validated_at =
            marker.and_then(
                |m| match std::fs::metadata(m).and_then(|md| md.modified()) {
                    Ok(t) => Some(DateTime::<Utc>::from(t)),
                    Err(e) => {
                        notes.push(("validated_by".into(), format!("{}: {e}", m.display())));
                        None
                    }
                },
            );
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::hours(1));
        let in_window = |t: DateTime<Utc>| t > now - window && t <= now;
        let counted: Vec<&Seen> = seen
            .iter()
            .filter(|s| in_window(s.changed_at) && validated_at.is_none_or(|v| s.changed_at > v))
            .collect();
        if counted.len() >= self.max_changes {
            let names: Vec<&str> = counted.iter().map(|s| s.label.as_str()).collect();
            problems.push((
                Health::Critical,
                format!(
                    "{} agent configs changed within {}{}: roll out swarm changes in waves ({})",
                    counted.len(),
                    humantime::format_duration(self.window),
                    if validated_at.is_some() {
                        " after the last validation"
                    } else {
                        " with no validation between"
                    },
                    names.join(", ")
                ),
            ));
        }

        // 2. version disagreement (forgotten node), judged above
        if let Some(msg) = version_problem {
            problems.push((Health::Degraded, msg));
        }

        // 3. changes without a backup
        if self.require_backup {
            let unbacked: Vec<String> = seen
                .iter()
                .filter(|s| s.detected && in_window(s.changed_at))
                .filter(|s| !has_backup(&s.path, backup_dir, s.changed_at, window))
                .map(|s| format!("{} at {}", s.label, s.changed_at.to_rfc3339()))
                .collect();
            if !unbacked.is_empty() {
                problems.push((
                    Health::Degraded,
                    format!("config changed without a backup: {}", unbacked.join(", ")),
                ));
            }
        }

        let recent = seen.iter().filter(|s| in_window(s.changed_at)).count();
        let mut obs = if let Some(worst) = problems.iter().map(|(h, _)| *h).reduce(Health::worst) {
            let text: Vec<&str> = problems.iter().map(|(_, s)| s.as_str()).collect();
            Observation::new(worst, text.join("; "))
        } else {
            Observation::ok(format!(
                "{} watched files, {recent} changed within {}, {} counted toward a rollout",
                seen.len(),
                humantime::format_duration(self.window),
                counted.len()
            ))
        };
        obs = obs.expected(format!(
            "fewer than {} changes per {} between validations{}{}",
            self.max_changes,
            humantime::format_duration(self.window),
            if self.versioned_key.is_some() {
                format!(
                    ", versions agreeing within {}",
                    humantime::format_duration(self.max_disagreement)
                )
            } else {
                String::new()
            },
            if self.require_backup {
                ", a backup before every change"
            } else {
                ""
            }
        ));
        if let Some(v) = validated_at {
            obs = obs.evidence("validated_at", v.to_rfc3339());
        }
        for s in seen.iter().filter(|s| in_window(s.changed_at)) {
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
        if let Some(k) = &self.versioned_key {
            for s in &seen {
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
        for s in &seen {
            files.insert(
                s.path.display().to_string(),
                json!({
                    "hash": s.hash,
                    "mtime": s.mtime.to_rfc3339(),
                    "changed_at": s.changed_at.to_rfc3339(),
                    "detected": s.detected,
                    "version": s.version,
                    "disagree_since": s.disagree_since.map(|t| t.to_rfc3339()),
                }),
            );
        }
        obs.metric("files_watched", seen.len() as f64)
            .metric("changes_in_window", recent as f64)
            .metric("changes_counted", counted.len() as f64)
            .facts(json!({ "files": files }))
    }

    fn read_one(
        &self,
        path: &Path,
        label: String,
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
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let (changed_at, detected) = match (prior_files, before) {
            // first run: the mtime is the best guess of the last change
            (None, _) => (mtime, false),
            // a file that appeared since the previous run
            (Some(_), None) => (mtime, false),
            (Some(_), Some(b)) => {
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
        let disagree_since = match before {
            Some(b) if b.get("version").and_then(Value::as_str) == version.as_deref() => {
                time(Some(b), "disagree_since")
            }
            _ => None,
        };
        Ok(Seen {
            path: path.to_path_buf(),
            label,
            hash,
            mtime,
            changed_at,
            detected,
            version,
            disagree_since,
        })
    }

    /// Groups files by version; files off the majority value get (or keep) a first-disagreement
    /// time. On the first sighting it is estimated from mtimes: no earlier than the oldest
    /// majority file's mtime (others had moved on by then) and the file's own mtime.
    fn judge_versions(&self, seen: &mut [Seen], now: DateTime<Utc>) -> Option<String> {
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
            return None;
        }
        // the majority; a tie goes to the value written most recently
        let (major, &(major_n, major_oldest, _)) = groups
            .iter()
            .max_by(|a, b| (a.1.0, a.1.2).cmp(&(b.1.0, b.1.2)))?;
        let major = major.clone();
        let limit = chrono::Duration::from_std(self.max_disagreement)
            .unwrap_or(chrono::Duration::hours(24));
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
                            "agent {} still on {v} while {major_n} others are on {major} (forgotten node, since {})",
                            s.label,
                            since.to_rfc3339()
                        ));
                    }
                }
                _ => s.disagree_since = None,
            }
        }
        (!stale.is_empty()).then(|| stale.join("; "))
    }
}

/// Expands a path with at most one `*` inside one segment; returns (path, label) of regular files.
fn expand(p: &Path) -> Vec<(PathBuf, String)> {
    let comps: Vec<Component<'_>> = p.components().collect();
    let Some(star) = comps
        .iter()
        .position(|c| c.as_os_str().to_string_lossy().contains('*'))
    else {
        return if p.is_file() {
            vec![(p.to_path_buf(), p.display().to_string())]
        } else {
            Vec::new()
        };
    };
    let parent: PathBuf = comps[..star].iter().collect();
    let rest: PathBuf = comps[star + 1..].iter().collect();
    let seg = comps[star].as_os_str().to_string_lossy().into_owned();
    let Some((prefix, suffix)) = seg.split_once('*') else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.take(MAX_ENTRIES).flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() < prefix.len() + suffix.len()
            || !name.starts_with(prefix)
            || !name.ends_with(suffix)
        {
            continue;
        }
        let label = name[prefix.len()..name.len() - suffix.len()].to_string();
        let candidate = parent.join(&name).join(&rest);
        if candidate.is_file() {
            out.push((candidate, label));
        }
    }
    out.sort();
    out
}

fn read_version(path: &Path, bytes: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let doc: Value = match ext.as_str() {
        "json" => serde_json::from_str(text).ok()?,
        "toml" => serde_json::to_value(toml::from_str::<toml::Table>(text).ok()?).ok()?,
        "yaml" | "yml" => serde_saphyr::from_str(text).ok()?,
        _ => return None,
    };
    let mut cur = &doc;
    for k in key.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(k)?,
            Value::Array(a) => a.get(k.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
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
    let near = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .map(|t| (DateTime::<Utc>::from(t) - changed_at).abs() <= window)
            .unwrap_or(false)
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
    use std::time::SystemTime;

    fn probe(src: &str) -> ChangeWindow {
        let p: ChangeWindow = toml::from_str(src).unwrap();
        assert!(p.validate().is_empty(), "{:?}", p.validate());
        p
    }

    async fn look(
        p: &ChangeWindow,
        base: &Path,
        prior: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Observation {
        let client = crate::http_client::shared();
        let cx = ProbeCx {
            probe_id: "t",
            http: &client,
            timeout: Duration::from_secs(5),
            prior,
            base_dir: base,
            root: None,
            now,
        };
        p.observe(&cx).await
    }

    fn set_mtime(p: &Path, t: DateTime<Utc>) {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(SystemTime::from(t)).unwrap();
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
        let o = look(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(
            o.summary.contains("4 changed within 1h, 2 counted"),
            "{}",
            o.summary
        );

        // without the validation between the waves: 4 at once
        std::fs::remove_file(d.path().join("validated")).unwrap();
        let o = look(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert!(
            o.summary.starts_with("4 agent configs changed within 1h with no validation between: roll out swarm changes in waves"),
            "{}",
            o.summary
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
        let first = look(&p, d.path(), None, now - mins(10)).await;
        assert_eq!(first.health, Health::Ok, "{first:?}");
        let facts = first.facts.unwrap();
        // two files rewritten, mtimes preserved (a copy from elsewhere): the hash still tells
        for a in ["hr", "cs"] {
            std::fs::write(cfg(d.path(), a), "{\"meta\":{\"version\":\"2026.5.13\"}}").unwrap();
            set_mtime(&cfg(d.path(), a), now - chrono::Duration::days(3));
        }
        let o = look(&p, d.path(), Some(&facts), now).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert!(
            o.summary.contains("2 agent configs changed within 15m"),
            "{}",
            o.summary
        );
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
        let o = look(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert!(
            o.summary.starts_with(
                "agent hr still on 2026.5.1 while 6 others are on 2026.5.12 (forgotten node"
            ),
            "{}",
            o.summary
        );
        // a fresh disagreement is not yet a forgotten node; the first sighting is kept in facts
        let d2 = agents("bad");
        all_at(d2.path(), now - mins(5));
        let o = look(&p, d2.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        let facts = o.facts.unwrap();
        let hr = cfg(d2.path(), "hr").display().to_string();
        assert!(facts["files"][&hr]["disagree_since"].is_string(), "{facts}");
        let o = look(
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
        let facts = look(&p, d.path(), None, now - mins(20))
            .await
            .facts
            .unwrap();
        std::fs::write(
            cfg(d.path(), "hub"),
            "{\"meta\":{\"version\":\"2026.5.13\"}}",
        )
        .unwrap();
        set_mtime(&cfg(d.path(), "hub"), now - mins(5));
        let o = look(&p, d.path(), Some(&facts), now).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert!(
            o.summary
                .starts_with("config changed without a backup: hub at "),
            "{}",
            o.summary
        );

        // a `.bak-<ts>` written just before the edit satisfies it
        let bak = d.path().join("agents/hub/openclaw.json.bak-20260512T1000");
        std::fs::write(&bak, "{}").unwrap();
        set_mtime(&bak, now - mins(6));
        assert_eq!(
            look(&p, d.path(), Some(&facts), now).await.health,
            Health::Ok
        );
        // so does a copy in backup_dir; an old .bak does not
        set_mtime(&bak, now - chrono::Duration::days(2));
        assert_eq!(
            look(&p, d.path(), Some(&facts), now).await.health,
            Health::Degraded
        );
        std::fs::create_dir_all(d.path().join("backups")).unwrap();
        std::fs::write(d.path().join("backups/hub-openclaw.json"), "{}").unwrap();
        assert_eq!(
            look(&p, d.path(), Some(&facts), now).await.health,
            Health::Ok
        );
    }

    #[tokio::test]
    async fn no_match_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let p = probe("files = [\"agents/*/openclaw.json\", \"nothing.json\"]");
        let o = look(&p, d.path(), None, Utc::now()).await;
        assert_eq!(o.health, Health::Unknown);
        assert_eq!(o.summary, "no files match");
    }
}
