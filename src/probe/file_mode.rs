//! `file_mode`: walks configured paths (plugin, skill and credential directories) and reports
//! modes and owners that break lesson 19 ("never use chmod 777 as operations"): world-writable
//! entries without the sticky bit, entries owned by someone other than the agent, group/other
//! bits on secrets, setuid/setgid files. It owns a bounded walk (depth, entry cap, exclusions,
//! symlink loops tracked by (dev, ino)) run on a blocking thread. It must never chmod, chown or
//! write anything, and it reports paths and modes only, never file contents.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use serde::Deserialize;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Offending paths listed in evidence at most; the rest are counted.
const MAX_LISTED: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMode {
    /// Files or directories to walk (`~/` and config-relative paths allowed). Required.
    paths: Vec<PathBuf>,
    /// Levels below each configured path that are walked; 0 checks the path itself only.
    /// Default 4.
    #[serde(default = "default_depth")]
    max_depth: usize,
    /// Entries examined at most; beyond it the walk stops and the result is at least degraded
    /// ("walk stopped after N entries"). Default 10000.
    #[serde(default = "default_entries")]
    max_entries: usize,
    /// Follow symbolic links below the configured paths (each directory is visited once, by
    /// device and inode, so links cannot loop). Configured paths themselves are always followed.
    /// Default false.
    #[serde(default)]
    follow_symlinks: bool,
    /// Expected owner (user name or numeric uid); entries owned by anyone else are critical.
    /// Default: not checked.
    owner: Option<IdSpec>,
    /// Expected group (group name or numeric gid); entries with another group are critical.
    /// Default: not checked.
    group: Option<IdSpec>,
    /// Files or directories holding secrets (walked too): directories must be 0700 and files
    /// 0600 or stricter; any group/other bit is critical. Default none.
    #[serde(default)]
    secret_paths: Vec<PathBuf>,
    /// Allow setuid/setgid files; when false (default) they are critical.
    #[serde(default)]
    allow_setuid: bool,
    /// Entries to skip with everything below them: a glob (`*`, `**`, `?`; `pathglob::to_regex`) matched against the
    /// full path, or against the entry name when it has no `/`; otherwise a path prefix
    /// (absolute or config-relative) or an entry name. Default none.
    #[serde(default)]
    exclude: Vec<String>,
    /// A configured path that does not exist is fine (default false: unknown "path does not
    /// exist").
    #[serde(default)]
    optional: bool,
}

/// A user or group given by name or numeric id.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum IdSpec {
    Id(u32),
    Name(String),
}

impl std::fmt::Display for IdSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdSpec::Id(n) => write!(f, "{n}"),
            IdSpec::Name(s) => f.write_str(s),
        }
    }
}

fn default_depth() -> usize {
    4
}
fn default_entries() -> usize {
    10000
}

impl Probe for FileMode {
    const KIND: &'static str = "file_mode";
    const SUMMARY: &'static str = "walk paths for world-writable entries, foreign owners, loose secret modes and setuid files";
    const LESSONS: &'static [u32] = &[19];
    const EXAMPLE: &'static str = r#"[probe.cs_openclaw_modes]
lesson = 19
every = "15m"
# OpenClaw refuses world-writable plugin paths: a chmod -R 777 stops the agent (lesson 19)
paths = ["/Users/cs/.openclaw/plugins", "/Users/cs/.openclaw/extensions", "/Users/cs/.openclaw/skills"]
owner = "cs"
group = "staff"
secret_paths = ["/Users/cs/.openclaw/credentials", "/Users/cs/.openclaw/openclaw.json"]
exclude = ["node_modules/.cache", "*.log"]
max_depth = 6
max_entries = 20000
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.paths.is_empty() && self.secret_paths.is_empty() {
            bad.push(Invalid::new(
                "paths",
                "must list at least one path (or set secret_paths)",
            ));
        }
        for (i, p) in self.paths.iter().enumerate() {
            if p.as_os_str().is_empty() {
                bad.push(Invalid::new(format!("paths[{i}]"), "must not be empty"));
            }
        }
        Invalid::require_at_least_1(&mut bad, "max_entries", self.max_entries);
        for (key, id) in [("owner", &self.owner), ("group", &self.group)] {
            if let Some(IdSpec::Name(n)) = id
                && n.trim().is_empty()
            {
                bad.push(Invalid::new(key, "expected a name or a numeric id"));
            }
        }
        for (i, e) in self.exclude.iter().enumerate() {
            if e.trim().is_empty() {
                bad.push(Invalid::new(format!("exclude[{i}]"), "must not be empty"));
            } else if is_glob(e) && regex::Regex::new(&crate::probe::pathglob::to_regex(e)).is_err()
            {
                bad.push(Invalid::new(format!("exclude[{i}]"), "invalid glob"));
            }
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let uid = match self.owner.as_ref().map(resolve_user).transpose() {
            Ok(u) => u,
            Err(e) => return Observation::unknown(e),
        };
        let gid = match self.group.as_ref().map(resolve_group).transpose() {
            Ok(g) => g,
            Err(e) => return Observation::unknown(e),
        };
        let excludes: Vec<Exclude> = self
            .exclude
            .iter()
            .filter_map(|e| Exclude::new(e, cx))
            .collect();
        let mut roots: Vec<PathBuf> = self.paths.iter().map(|p| cx.resolve(p)).collect();
        let secrets: Vec<PathBuf> = self.secret_paths.iter().map(|p| cx.resolve(p)).collect();
        roots.extend(secrets.iter().cloned());
        let cfg = WalkCfg {
            max_depth: self.max_depth,
            max_entries: self.max_entries,
            follow: self.follow_symlinks,
            uid,
            gid,
            secrets,
            allow_setuid: self.allow_setuid,
            excludes,
            owner_label: self.owner.as_ref().map(ToString::to_string),
            group_label: self.group.as_ref().map(ToString::to_string),
        };
        let w = match tokio::task::spawn_blocking(move || walk(&roots, &cfg)).await {
            Ok(w) => w,
            Err(e) => return Observation::unknown(format!("walk did not finish: {e}")),
        };

        let mut parts: Vec<(Health, String)> = Vec::new();
        if !w.offenders.is_empty() {
            parts.push((
                Health::Critical,
                format!(
                    "{} entr{} with unsafe mode or owner (first: {})",
                    w.offenders.len(),
                    if w.offenders.len() == 1 { "y" } else { "ies" },
                    w.offenders[0]
                ),
            ));
        }
        if w.truncated {
            parts.push((
                Health::Degraded,
                format!("walk stopped after {} entries", self.max_entries),
            ));
        }
        for m in &w.missing {
            if !self.optional {
                parts.push((Health::Unknown, format!("path does not exist: {m}")));
            }
        }
        if !w.denied.is_empty() {
            parts.push((
                Health::Unknown,
                format!("{} subtree(s) could not be read", w.denied.len()),
            ));
        }
        parts.sort_by_key(|(h, _)| std::cmp::Reverse(h.rank()));
        let mut o = super::of_problems(&parts)
            .unwrap_or_else(|| {
                Observation::ok(format!(
                    "{} entries checked, no unsafe modes or owners",
                    w.entries
                ))
            })
            .expected(
                "no world-writable entries without sticky bit, expected owner/group, secrets 0700/0600, no setuid",
            )
            .metric("entries_checked", w.entries as f64)
            .metric("offenders", w.offenders.len() as f64);
        for line in w.offenders.iter().take(MAX_LISTED) {
            o.push_evidence("offender", line);
        }
        if w.offenders.len() > MAX_LISTED {
            o.push_evidence("offenders_total", w.offenders.len());
        }
        for d in w.denied.iter().take(MAX_LISTED) {
            o.push_evidence("unreadable", d);
        }
        for m in &w.missing {
            o.push_evidence("missing", m);
        }
        o
    }
}

fn resolve_user(id: &IdSpec) -> Result<u32, String> {
    resolve_id(id, "user", |name| {
        nix::unistd::User::from_name(name).map(|u| u.map(|u| u.uid.as_raw()))
    })
}

fn resolve_group(id: &IdSpec) -> Result<u32, String> {
    resolve_id(id, "group", |name| {
        nix::unistd::Group::from_name(name).map(|g| g.map(|g| g.gid.as_raw()))
    })
}

/// A numeric id as given, a name that is a number as that number, else the name looked up on
/// this host (`what` is "user" or "group").
fn resolve_id(
    id: &IdSpec,
    what: &str,
    lookup: impl Fn(&str) -> nix::Result<Option<u32>>,
) -> Result<u32, String> {
    match id {
        IdSpec::Id(n) => Ok(*n),
        IdSpec::Name(name) => match name.parse::<u32>() {
            Ok(n) => Ok(n),
            Err(_) => match lookup(name) {
                Ok(Some(n)) => Ok(n),
                Ok(None) => Err(format!("{what} {name} does not exist on this host")),
                Err(e) => Err(format!("cannot look up {what} {name}: {e}")),
            },
        },
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?'])
}

enum Exclude {
    /// Matched against the full path, or the entry name when the glob has no `/`.
    Glob {
        re: regex::Regex,
        name_only: bool,
    },
    Prefix(PathBuf),
    Name(String),
}

impl Exclude {
    fn new(s: &str, cx: &ProbeCx<'_>) -> Option<Exclude> {
        if is_glob(s) {
            let re = regex::Regex::new(&crate::probe::pathglob::to_regex(s)).ok()?;
            return Some(Exclude::Glob {
                re,
                name_only: !s.contains('/'),
            });
        }
        if s.contains('/') || s.starts_with('~') {
            Some(Exclude::Prefix(cx.resolve(Path::new(s))))
        } else {
            Some(Exclude::Name(s.to_string()))
        }
    }
    fn matches(&self, p: &Path) -> bool {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        match self {
            Exclude::Glob { re, name_only } if *name_only => re.is_match(&name),
            Exclude::Glob { re, .. } => re.is_match(&p.to_string_lossy()),
            Exclude::Prefix(pre) => p.starts_with(pre),
            Exclude::Name(n) => name == n.as_str(),
        }
    }
}

struct WalkCfg {
    max_depth: usize,
    max_entries: usize,
    follow: bool,
    uid: Option<u32>,
    gid: Option<u32>,
    secrets: Vec<PathBuf>,
    allow_setuid: bool,
    excludes: Vec<Exclude>,
    owner_label: Option<String>,
    group_label: Option<String>,
}

#[derive(Default)]
struct WalkResult {
    offenders: Vec<String>,
    entries: usize,
    truncated: bool,
    denied: Vec<String>,
    missing: Vec<String>,
}

/// Walks every root depth-first (sorted, so evidence is stable), visiting each (dev, ino) once.
fn walk(roots: &[PathBuf], cfg: &WalkCfg) -> WalkResult {
    let mut r = WalkResult::default();
    let mut visited: HashSet<(u64, u64)> = HashSet::new();
    'roots: for root in roots {
        // Configured paths are followed even when they are links.
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                r.missing.push(root.display().to_string());
                continue;
            }
            Err(e) => {
                r.denied.push(format!("{}: {e}", root.display()));
                continue;
            }
        };
        let mut stack: Vec<(PathBuf, std::fs::Metadata, usize)> = vec![(root.clone(), meta, 0)];
        while let Some((path, meta, depth)) = stack.pop() {
            if cfg.excludes.iter().any(|e| e.matches(&path)) {
                continue;
            }
            if !visited.insert((meta.dev(), meta.ino())) {
                continue;
            }
            if r.entries >= cfg.max_entries {
                r.truncated = true;
                break 'roots;
            }
            r.entries += 1;
            if let Some(line) = judge(&path, &meta, cfg) {
                r.offenders.push(line);
            }
            if !meta.is_dir() || depth >= cfg.max_depth {
                continue;
            }
            let rd = match std::fs::read_dir(&path) {
                Ok(rd) => rd,
                Err(e) => {
                    r.denied.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let mut children: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            children.sort();
            for child in children.into_iter().rev() {
                let Ok(lm) = std::fs::symlink_metadata(&child) else {
                    continue;
                };
                let m = if lm.file_type().is_symlink() {
                    if !cfg.follow {
                        continue;
                    }
                    // A dangling link has nothing to judge.
                    match std::fs::metadata(&child) {
                        Ok(m) => m,
                        Err(_) => continue,
                    }
                } else {
                    lm
                };
                stack.push((child, m, depth + 1));
            }
        }
    }
    r
}

/// One evidence line when the entry breaks a rule: `path: mode 0777 (world-writable, ...)`.
fn judge(path: &Path, meta: &std::fs::Metadata, cfg: &WalkCfg) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    let is_dir = meta.is_dir();
    let mut why: Vec<String> = Vec::new();
    if mode & 0o002 != 0 && !(is_dir && mode & 0o1000 != 0) {
        why.push("world-writable".into());
    }
    let owner = (cfg.uid, meta.uid(), cfg.owner_label.as_deref());
    why.extend(not_as_expected("owner", owner, user_name));
    let group = (cfg.gid, meta.gid(), cfg.group_label.as_deref());
    why.extend(not_as_expected("group", group, group_name));
    if !is_dir && !cfg.allow_setuid {
        if mode & 0o4000 != 0 {
            why.push("setuid".into());
        }
        if mode & 0o2000 != 0 {
            why.push("setgid".into());
        }
    }
    if mode & 0o077 != 0 && cfg.secrets.iter().any(|s| path.starts_with(s)) {
        why.push(if is_dir {
            "secret directory, expected 0700".into()
        } else {
            "secret file, expected 0600".into()
        });
    }
    (!why.is_empty()).then(|| format!("{}: mode {mode:04o} ({})", path.display(), why.join(", ")))
}

/// `owner cs (uid 501), expected hub` when an expected id is set (`want`, shown as `label`) and
/// the entry's id (`got`, shown by `name`) differs.
fn not_as_expected(
    what: &str,
    (want, got, label): (Option<u32>, u32, Option<&str>),
    name: fn(u32) -> String,
) -> Option<String> {
    let want = want?;
    (got != want).then(|| format!("{what} {}, expected {}", name(got), label.unwrap_or("?")))
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("{} (uid {uid})", u.name),
        _ => format!("uid {uid}"),
    }
}

fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(g)) => format!("{} (gid {gid})", g.name),
        _ => format!("gid {gid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look_in};
    use std::os::unix::fs::PermissionsExt;

    fn probe(toml_src: &str) -> FileMode {
        testkit::parse(toml_src)
    }

    fn mk(p: &Path, mode: u32, dir: bool) {
        if dir {
            std::fs::create_dir_all(p).unwrap();
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// ~/.openclaw with sane modes: plugins 755/644, credentials 700/600.
    fn openclaw_home() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let oc = tmp.path().join(".openclaw");
        mk(&oc.join("plugins/slack/index.js"), 0o644, false);
        mk(&oc.join("plugins/slack/bin/run"), 0o755, false);
        mk(&oc.join("plugins/slack"), 0o755, true);
        mk(&oc.join("plugins"), 0o755, true);
        mk(&oc.join("credentials/oauth.json"), 0o600, false);
        mk(&oc.join("credentials"), 0o700, true);
        mk(&oc.join("openclaw.json"), 0o400, false);
        tmp
    }

    fn me() -> u32 {
        nix::unistd::getuid().as_raw()
    }

    const PATHS: &str = "paths = [\".openclaw/plugins\"]\nsecret_paths = [\".openclaw/credentials\", \".openclaw/openclaw.json\"]\n";

    #[tokio::test]
    async fn sane_tree_is_ok() {
        let tmp = openclaw_home();
        let p = probe(&format!("{PATHS}owner = {}", me()));
        let o = look_in(&p, tmp.path()).await;
        testkit::assert_starts(&o, Health::Ok, "8 entries checked");
    }

    #[tokio::test]
    async fn chmod_777_secrets_setuid_and_owner_are_critical() {
        let tmp = openclaw_home();
        let oc = tmp.path().join(".openclaw");
        std::fs::set_permissions(oc.join("plugins"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        // A sticky world-writable dir (like /tmp) is fine.
        mk(&oc.join("plugins/slack/tmp"), 0o1777, true);
        mk(&oc.join("plugins/slack/bin/helper"), 0o4755, false);
        std::fs::set_permissions(
            oc.join("credentials/oauth.json"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let p = probe(PATHS);
        let o = look_in(&p, tmp.path()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        let offenders = testkit::ev(&o, "offender");
        let plugins = format!(
            "{}: mode 0777 (world-writable)",
            oc.join("plugins").display()
        );
        assert!(offenders.contains(&plugins.as_str()), "{offenders:?}");
        assert!(
            offenders
                .iter()
                .any(|l| l.contains("helper: mode 4755 (setuid)"))
        );
        assert!(
            offenders
                .iter()
                .any(|l| l.contains("oauth.json: mode 0644 (secret file, expected 0600)"))
        );
        assert_eq!(offenders.len(), 3, "{offenders:?}");

        // Owned by someone else.
        let other = if me() == 0 { 4242 } else { 0 };
        let p = probe(&format!(
            "paths = [\".openclaw/credentials\"]\nowner = {other}"
        ));
        let o = look_in(&p, tmp.path()).await;
        assert_finding(&o, Health::Critical, &format!("expected {other}"));
    }

    #[tokio::test]
    async fn exclusions_and_depth_limit_what_is_judged() {
        let tmp = openclaw_home();
        let oc = tmp.path().join(".openclaw");
        mk(
            &oc.join("plugins/slack/node_modules/.cache/x"),
            0o666,
            false,
        );
        mk(&oc.join("plugins/slack/debug.log"), 0o666, false);
        let p = probe(
            "paths = [\".openclaw/plugins\"]\nexclude = [\"node_modules/.cache\", \"*.log\"]",
        );
        // "node_modules/.cache" is config-relative: not under plugins, so .cache/x is still found.
        let o = look_in(&p, tmp.path()).await;
        testkit::assert_starts(&o, Health::Critical, "1 entry");
        let p =
            probe("paths = [\".openclaw/plugins\"]\nexclude = [\"**/node_modules/**\", \"*.log\"]");
        assert_eq!(look_in(&p, tmp.path()).await.health, Health::Ok);
        let p = probe("paths = [\".openclaw/plugins\"]\nmax_depth = 1\nexclude = [\"*.log\"]");
        assert_eq!(look_in(&p, tmp.path()).await.health, Health::Ok);
    }

    #[tokio::test]
    async fn entry_cap_is_degraded_and_symlink_loops_end() {
        let tmp = openclaw_home();
        let oc = tmp.path().join(".openclaw");
        std::os::unix::fs::symlink(&oc, oc.join("plugins/slack/loop")).unwrap();
        let p = probe("paths = [\".openclaw\"]\nfollow_symlinks = true\nmax_depth = 50");
        let o = look_in(&p, tmp.path()).await;
        testkit::assert_starts(&o, Health::Ok, "9 entries");

        let p = probe("paths = [\".openclaw\"]\nmax_entries = 3");
        let o = look_in(&p, tmp.path()).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(o.summary, "walk stopped after 3 entries");
    }

    #[tokio::test]
    async fn missing_path_is_unknown_unless_optional() {
        let tmp = openclaw_home();
        let p = probe("paths = [\".openclaw/extensions\"]");
        let o = look_in(&p, tmp.path()).await;
        assert_finding(&o, Health::Unknown, "path does not exist");
        let p = probe("paths = [\".openclaw/extensions\"]\noptional = true");
        assert_eq!(look_in(&p, tmp.path()).await.health, Health::Ok);
        let p = probe("paths = [\".openclaw\"]\nowner = \"no-such-user-ledgerd\"");
        assert_eq!(look_in(&p, tmp.path()).await.health, Health::Unknown);
    }

    #[tokio::test]
    async fn unreadable_subtree_is_unknown() {
        if me() == 0 {
            // root reads everything; nothing to deny.
            return;
        }
        let tmp = openclaw_home();
        let locked = tmp.path().join(".openclaw/plugins/slack");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let p = probe("paths = [\".openclaw/plugins\"]");
        let o = look_in(&p, tmp.path()).await;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(o.health, Health::Unknown, "{o:?}");
        assert!(o.evidence.iter().any(|e| e.key == "unreadable"));
    }

    #[test]
    fn validate_reports_bad_keys() {
        let keys = testkit::invalid_keys::<FileMode>(
            "paths = []\nmax_entries = 0\nowner = \"\"\nexclude = [\"\"]",
        );
        assert_eq!(keys, vec!["paths", "max_entries", "owner", "exclude[0]"]);
    }
}
