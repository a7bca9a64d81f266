//! `resources`: the host's headroom (lesson 12, "architecture follows operational load"): disk
//! and inode use per mount, available memory, swap, load per core, OOM kills and the RSS of named
//! processes, optionally only those of one user (one agent's gateway on a host running one per
//! agent user). A threshold counts only when it has been exceeded continuously for `sustain`
//! (first-exceeded times are kept in facts), so a single spike is never reported; OOM kills are
//! reported at once. It reads `statvfs` and the proc tree only: it never frees, kills or
//! throttles anything, and it is no substitute for deciding where agents run.

use super::users::{self, UserSpec};
use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::proc::{Proc as ProcTree, status_field};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Root of the proc file system (meminfo, loadavg, vmstat, per-process status). Default
    /// "/proc"; tests point it at a fixture tree.
    #[serde(default = "super::proc_root")]
    proc_root: PathBuf,
    /// Mount points whose disk and inode use is checked. Default ["/"].
    #[serde(default = "default_mounts")]
    mounts: Vec<PathBuf>,
    /// Highest healthy disk use per mount, percent of the space usable by non-root users (as
    /// `df` counts it). Default 90; at 98 or more a sustained breach is critical.
    #[serde(default = "default_90")]
    max_disk_used_percent: f64,
    /// Highest healthy inode use per mount, percent. Default 90.
    #[serde(default = "default_90")]
    max_inode_used_percent: f64,
    /// Lowest healthy MemAvailable, percent of MemTotal. Default 10; below 2 a sustained breach
    /// is critical.
    #[serde(default = "default_10")]
    min_mem_available_percent: f64,
    /// Highest healthy swap use, percent of SwapTotal (not checked without swap). Default 50.
    #[serde(default = "default_50")]
    max_swap_used_percent: f64,
    /// Highest healthy 5-minute load average divided by the number of cores. Default 2.0.
    #[serde(default = "default_load")]
    max_load_per_core: f64,
    /// Report any increase of `oom_kill` in vmstat since the previous run as critical, at once.
    /// Default true.
    #[serde(default = "super::yes")]
    oom_kills: bool,
    /// Per-process RSS limits: `{ name = "openclaw-gateway", max_rss = "2GiB", user = "cs" }`.
    /// `name` is compared with `comm` (also when the kernel cut it to 15 bytes) and argv[0]'s file
    /// name; with `user`, only that user's processes count (the largest is judged). Sizes take B,
    /// K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or KB/MB/GB/TB (powers of 1000). Default none.
    #[serde(default)]
    process_rss: Vec<RssLimit>,
    /// How long a threshold must be exceeded continuously before it is reported. Default "5m".
    #[serde(default = "default_sustain", deserialize_with = "crate::duration::de")]
    sustain: Duration,
    /// Number of cores for the load check. Default: what the OS reports.
    cores: Option<usize>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RssLimit {
    /// Process name (comm or argv[0] file name).
    name: String,
    /// Largest healthy resident set size of one such process, e.g. "2GiB".
    max_rss: String,
    /// Count only processes owned by this user: a user name (from `/etc/passwd`, else the
    /// system's user database) or a numeric uid, compared with the real uid in `status`. On a
    /// host running one gateway per agent user, each agent's limit then judges its own gateway,
    /// not the largest of all. A name unknown on this host makes this limit unknown. Empty or
    /// absent: every user's processes.
    user: Option<UserSpec>,
}

impl RssLimit {
    /// The user filter, when one is given (an empty pack variable is none).
    fn user(&self) -> Option<&UserSpec> {
        self.user.as_ref().filter(|u| !u.is_empty())
    }

    /// The limit's key in facts, metrics and evidence: the name, and `@user` with a user.
    fn key(&self) -> String {
        match self.user() {
            Some(u) => format!("{}@{}", self.name, u.label()),
            None => self.name.clone(),
        }
    }
}

fn default_mounts() -> Vec<PathBuf> {
    vec![PathBuf::from("/")]
}
fn default_90() -> f64 {
    90.0
}
fn default_10() -> f64 {
    10.0
}
fn default_50() -> f64 {
    50.0
}
fn default_load() -> f64 {
    2.0
}
fn default_sustain() -> Duration {
    Duration::from_secs(300)
}
/// Sustained disk use at or above this is critical.
const DISK_CRITICAL_PERCENT: f64 = 98.0;
/// Sustained MemAvailable below this is critical.
const MEM_CRITICAL_PERCENT: f64 = 2.0;
/// Most `/proc/<pid>` entries read for `process_rss`.
const MAX_PROCS: usize = 65536;

impl Probe for Resources {
    const KIND: &'static str = "resources";
    const SUMMARY: &'static str = "disk, inodes, memory, swap, load, OOM kills and process RSS, thresholds sustained over a window";
    const LESSONS: &'static [u32] = &[12];
    const EXAMPLE: &'static str = r#"[probe.vps_headroom]
lesson = 12
every = "1m"
# the VPS that once ran six ~1 GB agents plus gateway, MCP and crons (lesson 12)
mounts = ["/", "/opt/brain"]
max_disk_used_percent = 85
min_mem_available_percent = 15
max_swap_used_percent = 40
max_load_per_core = 1.5
oom_kills = true
# one gateway per agent user: each limit judges that user's gateway, not the largest of all
process_rss = [
  { name = "openclaw-gateway", max_rss = "2GiB", user = "cs" },
  { name = "openclaw-gateway", max_rss = "2GiB", user = "retail" },
  { name = "hermes", max_rss = "1500MiB" },
]
sustain = "10m"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        for (key, v) in [
            ("max_disk_used_percent", self.max_disk_used_percent),
            ("max_inode_used_percent", self.max_inode_used_percent),
            ("min_mem_available_percent", self.min_mem_available_percent),
            ("max_swap_used_percent", self.max_swap_used_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                bad.push(Invalid::new(key, "expected a percentage from 0 to 100"));
            }
        }
        if !(self.max_load_per_core > 0.0 && self.max_load_per_core.is_finite()) {
            bad.push(Invalid::new(
                "max_load_per_core",
                "expected a number above 0",
            ));
        }
        if self.cores == Some(0) {
            bad.push(Invalid::new("cores", "must be at least 1"));
        }
        for (i, m) in self.mounts.iter().enumerate() {
            if m.as_os_str().is_empty() {
                bad.push(Invalid::new(format!("mounts[{i}]"), "must not be empty"));
            }
        }
        for (i, r) in self.process_rss.iter().enumerate() {
            if r.name.is_empty() {
                bad.push(Invalid::new(
                    format!("process_rss[{i}].name"),
                    "must not be empty",
                ));
            }
            if let Some(u) = &r.user {
                bad.extend(u.invalid(&format!("process_rss[{i}].user")));
            }
            if parse_size(&r.max_rss).is_none() {
                bad.push(Invalid::new(
                    format!("process_rss[{i}].max_rss"),
                    "expected a size such as \"2GiB\" or \"512MiB\"",
                ));
            }
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        if let Some(o) = cx.live_host("memory, load and disk headroom") {
            return o;
        }
        let mounts: Vec<PathBuf> = self.mounts.iter().map(|m| cx.resolve(m)).collect();
        let proc_root = cx.resolve(&self.proc_root);
        let prior = cx.prior.cloned();
        let now = cx.now;
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.look(&proc_root, &mounts, prior, now)).await
        {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("resource check failed: {e}")),
        }
    }
}

/// One threshold exceeded in this run.
struct Breach {
    key: String,
    text: String,
    critical: bool,
}

/// What one run reads, filled in by the `check_*` methods: the limits exceeded, what could not
/// be read, the metrics, and notes for the evidence.
#[derive(Default)]
struct Readings {
    breaches: Vec<Breach>,
    cannot: Vec<String>,
    metrics: Vec<(String, f64)>,
    notes: Vec<(String, String)>,
}

impl Readings {
    fn breach(&mut self, key: impl Into<String>, text: String, critical: bool) {
        self.breaches.push(Breach {
            key: key.into(),
            text,
            critical,
        });
    }
}

impl Resources {
    /// Reads the mounts and /proc, judges each breach against `sustain`, and keeps the
    /// first-exceeded times and the OOM count as facts.
    fn look(
        &self,
        proc_root: &Path,
        mounts: &[PathBuf],
        prior: Option<Value>,
        now: DateTime<Utc>,
    ) -> Observation {
        let mut r = Readings::default();
        let mut oom_problem = None;
        let mut oom_now = prior
            .as_ref()
            .and_then(|p| p.get("oom_kill"))
            .and_then(Value::as_u64);

        for m in mounts {
            self.check_mount(m, &mut r);
        }

        let proc_supported = cfg!(target_os = "linux") || self.proc_root != super::proc_root();
        if !proc_supported {
            r.notes.push((
                "proc".into(),
                "memory, swap, load, OOM and RSS are read on linux only".into(),
            ));
        } else {
            self.check_memory(proc_root, &mut r);
            self.check_load(proc_root, &mut r);
            if self.oom_kills {
                oom_problem = self.check_oom(proc_root, &mut oom_now, &mut r);
            }
            if !self.process_rss.is_empty() {
                self.check_rss(proc_root, &mut r);
            }
        }

        // Sustain: a breach counts once it has lasted `sustain`; first-exceeded times live in facts.
        let (since_facts, mut problems, pending) = self.sustained(&r.breaches, prior.as_ref(), now);
        if let Some(p) = oom_problem {
            problems.insert(0, (Health::Critical, p));
        }

        let mut obs = if let Some(o) = super::of_problems(&problems) {
            o
        } else if !r.cannot.is_empty() {
            Observation::unknown(r.cannot.join("; "))
        } else if !pending.is_empty() {
            Observation::ok(format!(
                "{} threshold(s) exceeded, not yet for {}",
                pending.len(),
                humantime::format_duration(self.sustain)
            ))
        } else {
            Observation::ok("resources within thresholds")
        };
        obs = obs.expected(format!(
            "disk <= {}%, inodes <= {}%, memory available >= {}%, swap <= {}%, load/core <= {}, \
             no OOM kills, sustained {}",
            self.max_disk_used_percent,
            self.max_inode_used_percent,
            self.min_mem_available_percent,
            self.max_swap_used_percent,
            self.max_load_per_core,
            humantime::format_duration(self.sustain)
        ));
        for (k, v) in pending {
            obs = obs.evidence(k, v);
        }
        if !problems.is_empty() {
            for c in &r.cannot {
                obs = obs.evidence("not_read", c);
            }
        }
        for (k, v) in r.notes {
            obs = obs.evidence(k, v);
        }
        for (k, v) in r.metrics {
            obs = obs.metric(k, v);
        }
        let mut facts = json!({ "since": since_facts });
        if let Some(n) = oom_now {
            facts["oom_kill"] = json!(n);
        }
        obs.facts(facts)
    }

    /// OOM kills from vmstat: the counter as a metric, and a problem when it grew since the
    /// last check (`oom_now` holds the last count and is updated).
    fn check_oom(
        &self,
        proc_root: &Path,
        oom_now: &mut Option<u64>,
        r: &mut Readings,
    ) -> Option<String> {
        let mut problem = None;
        match read_vmstat_oom(proc_root) {
            Ok(Some(n)) => {
                r.metrics.push(("oom_kills_total".into(), n as f64));
                if let Some(before) = *oom_now
                    && n > before
                {
                    problem = Some(format!("{} OOM kills since last check", n - before));
                }
                *oom_now = Some(n);
            }
            Ok(None) => r.notes.push((
                "oom_kill".into(),
                "not counted by this kernel's vmstat".into(),
            )),
            Err(e) => r.notes.push(("oom_kill".into(), e)),
        }
        problem
    }

    /// Which breaches have lasted `sustain` (problems, critical at the critical level) and which
    /// not yet (pending evidence), with the first-exceeded time of each for the facts.
    #[allow(clippy::type_complexity)]
    fn sustained(
        &self,
        breaches: &[Breach],
        prior: Option<&Value>,
        now: DateTime<Utc>,
    ) -> (
        Map<String, Value>,
        Vec<(Health, String)>,
        Vec<(String, String)>,
    ) {
        let prior_since = prior
            .and_then(|p| p.get("since"))
            .and_then(Value::as_object);
        let mut since_facts = Map::new();
        let mut problems: Vec<(Health, String)> = Vec::new();
        let mut pending: Vec<(String, String)> = Vec::new();
        for b in breaches {
            let since = prior_since
                .and_then(|m| m.get(&b.key))
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .filter(|t| *t <= now)
                .unwrap_or(now);
            since_facts.insert(b.key.clone(), json!(since.to_rfc3339()));
            let lasted = now
                .signed_duration_since(since)
                .to_std()
                .unwrap_or_default();
            if lasted >= self.sustain {
                let lasted = humantime::format_duration(Duration::from_secs(lasted.as_secs()));
                if b.critical {
                    problems.push((
                        Health::Critical,
                        format!("{} for {lasted} (critical level)", b.text),
                    ));
                } else {
                    problems.push((Health::Degraded, format!("{} for {lasted}", b.text)));
                }
            } else {
                pending.push((
                    b.key.clone(),
                    format!(
                        "{}: above threshold since {}, not yet sustained",
                        b.text,
                        since.to_rfc3339()
                    ),
                ));
            }
        }
        (since_facts, problems, pending)
    }

    fn check_mount(&self, m: &Path, r: &mut Readings) {
        let st = match nix::sys::statvfs::statvfs(m) {
            Ok(s) => s,
            Err(e) => {
                r.cannot
                    .push(format!("cannot statvfs {}: {e}", m.display()));
                return;
            }
        };
        let mount = m.display().to_string();
        let blocks = st.blocks() as f64;
        let used = blocks - st.blocks_free() as f64;
        let usable = used + st.blocks_available() as f64;
        if usable > 0.0 {
            let pct = used / usable * 100.0;
            r.metrics.push((format!("disk_used_percent:{mount}"), pct));
            if pct > self.max_disk_used_percent {
                r.breach(
                    format!("disk:{mount}"),
                    format!(
                        "disk {mount} {pct:.1}% used (max {}%{})",
                        self.max_disk_used_percent,
                        if pct >= DISK_CRITICAL_PERCENT {
                            ", critical at 98%"
                        } else {
                            ""
                        }
                    ),
                    pct >= DISK_CRITICAL_PERCENT,
                );
            }
        }
        let files = st.files() as f64;
        // Some file systems (btrfs) report no inode counts: nothing to judge there.
        if files > 0.0 {
            let pct = (files - st.files_free() as f64) / files * 100.0;
            r.metrics.push((format!("inode_used_percent:{mount}"), pct));
            if pct > self.max_inode_used_percent {
                r.breach(
                    format!("inode:{mount}"),
                    format!(
                        "inodes {mount} {pct:.1}% used (max {}%)",
                        self.max_inode_used_percent
                    ),
                    false,
                );
            }
        }
    }

    fn check_memory(&self, root: &Path, r: &mut Readings) {
        let text = match ProcTree::at(root).system_file("meminfo") {
            Ok(t) => t,
            Err(e) => {
                r.cannot.push(format!("cannot read {e}"));
                return;
            }
        };
        let field = |k: &str| -> Option<f64> {
            text.lines().find_map(|l| {
                let (name, rest) = l.split_once(':')?;
                (name == k).then(|| rest.split_whitespace().next()?.parse::<f64>().ok())?
            })
        };
        match (field("MemTotal"), field("MemAvailable")) {
            (Some(total), Some(avail)) if total > 0.0 => {
                let pct = avail / total * 100.0;
                r.metrics.push(("mem_available_percent".into(), pct));
                r.metrics
                    .push(("mem_available_bytes".into(), avail * 1024.0));
                if pct < self.min_mem_available_percent {
                    let crit = pct < MEM_CRITICAL_PERCENT;
                    r.breach(
                        "mem",
                        format!(
                            "memory available {pct:.1}% (min {}%{})",
                            self.min_mem_available_percent,
                            if crit { ", critical below 2%" } else { "" }
                        ),
                        crit,
                    );
                }
            }
            _ => r.cannot.push(format!(
                "{} lacks MemTotal or MemAvailable",
                root.join("meminfo").display()
            )),
        }
        if let (Some(total), Some(free)) = (field("SwapTotal"), field("SwapFree"))
            && total > 0.0
        {
            let pct = (total - free) / total * 100.0;
            r.metrics.push(("swap_used_percent".into(), pct));
            if pct > self.max_swap_used_percent {
                r.breach(
                    "swap",
                    format!("swap {pct:.1}% used (max {}%)", self.max_swap_used_percent),
                    false,
                );
            }
        }
    }

    fn check_load(&self, root: &Path, r: &mut Readings) {
        let path = root.join("loadavg");
        let load5 = ProcTree::at(root)
            .system_file("loadavg")
            .map_err(|e| format!("cannot read {e}"))
            .and_then(|t| {
                t.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("{} has no 5-minute load", path.display()))
            });
        let load5 = match load5 {
            Ok(l) => l,
            Err(e) => {
                r.cannot.push(e);
                return;
            }
        };
        let cores = self
            .cores
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .max(1);
        let per_core = load5 / cores as f64;
        r.metrics.push(("load5".into(), load5));
        r.metrics.push(("load_per_core".into(), per_core));
        if per_core > self.max_load_per_core {
            r.breach(
                "load",
                format!(
                    "load {load5:.2} on {cores} cores = {per_core:.2} per core (max {})",
                    self.max_load_per_core
                ),
                false,
            );
        }
    }

    /// The largest matching process per limit (of its user, when it names one), judged against
    /// `max_rss`. A limit whose user does not exist here cannot be judged.
    fn check_rss(&self, root: &Path, r: &mut Readings) {
        let tree = ProcTree::at(root);
        let pids = match tree.pids() {
            Ok(p) => p,
            Err(e) => {
                r.notes.push(("process_rss".into(), e));
                return;
            }
        };
        // the uid each limit counts: Ok(None) every user's, Err the user is unknown here
        let owners: Vec<Result<Option<u32>, String>> = self
            .process_rss
            .iter()
            .enumerate()
            .map(|(i, lim)| match lim.user() {
                None => Ok(None),
                Some(u) => u.uid().map(Some).ok_or_else(|| {
                    format!(
                        "process_rss[{i}].user: user {} does not exist on this host",
                        u.label()
                    )
                }),
            })
            .collect();
        // (pid, uid, rss bytes) of the largest process per configured limit
        let mut largest: Vec<Option<(u32, Option<u32>, u64)>> = vec![None; self.process_rss.len()];
        for pid in pids.into_iter().take(MAX_PROCS) {
            let comm = tree.comm(pid).unwrap_or_default();
            let argv0 = tree.argv0_base(pid).unwrap_or_default();
            let mut status: Option<Option<String>> = None;
            for (i, lim) in self.process_rss.iter().enumerate() {
                if !name_matches(&lim.name, &comm, &argv0) {
                    continue;
                }
                let Ok(owner) = &owners[i] else {
                    continue;
                };
                let Some(st) = status.get_or_insert_with(|| tree.status(pid).ok()) else {
                    continue;
                };
                let uid = status_field(st, "Uid")
                    .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok());
                if owner.is_some() && uid != *owner {
                    continue;
                }
                let Some(rss) = vm_rss_bytes(st) else {
                    continue;
                };
                if largest[i].is_none_or(|(_, _, r)| rss > r) {
                    largest[i] = Some((pid, uid, rss));
                }
            }
        }
        for ((lim, top), owner) in self.process_rss.iter().zip(largest).zip(owners) {
            let key = lim.key();
            if let Err(e) = owner {
                r.cannot.push(e);
                continue;
            }
            let whose = match lim.user() {
                Some(u) => format!(" of user {}", u.label()),
                None => String::new(),
            };
            let Some((pid, uid, rss)) = top else {
                r.notes
                    .push((format!("rss:{key}"), format!("no such process{whose}")));
                continue;
            };
            let who = match uid {
                Some(_) => format!("{} pid {pid} ({})", lim.name, users::describe(uid)),
                None => format!("{} pid {pid}", lim.name),
            };
            r.metrics.push((format!("rss_bytes:{key}"), rss as f64));
            r.notes.push((
                format!("rss:{key}"),
                format!("{who}: RSS {}", fmt_bytes(rss)),
            ));
            let Some(max) = parse_size(&lim.max_rss) else {
                continue;
            };
            if rss > max {
                r.breach(
                    format!("rss:{key}"),
                    format!("{who} RSS {} (max {})", fmt_bytes(rss), lim.max_rss),
                    false,
                );
            }
        }
    }
}

/// `comm` is cut to 15 bytes by the kernel, so a longer name matches its first 15 bytes too.
fn name_matches(name: &str, comm: &str, argv0: &str) -> bool {
    name == comm
        || name == argv0
        || (name.len() > 15 && name.as_bytes().get(..15) == Some(comm.as_bytes()))
}

fn vm_rss_bytes(status: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix("VmRSS:")?;
        rest.split_whitespace()
            .next()?
            .parse::<u64>()
            .ok()
            .map(|kb| kb * 1024)
    })
}

/// `oom_kill` from vmstat: `Ok(None)` when the kernel does not count it.
fn read_vmstat_oom(root: &Path) -> Result<Option<u64>, String> {
    let text = ProcTree::at(root)
        .system_file("vmstat")
        .map_err(|e| format!("cannot read {e}"))?;
    Ok(text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == "oom_kill").then(|| it.next()?.parse().ok())?
    }))
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0_f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    let bytes = num * mult;
    (bytes.is_finite() && bytes > 0.0).then_some(bytes as u64)
}

fn fmt_bytes(b: u64) -> String {
    let mib = b as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.2}GiB", mib / 1024.0)
    } else {
        format!("{mib:.0}MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look_with};

    /// Looks at the live host now, with no prior run.
    async fn look_now(p: &Resources) -> Observation {
        look_with(p, Path::new("/"), None, Utc::now()).await
    }

    const MEMINFO_TIGHT: &str = "MemTotal:       16000000 kB\nMemFree:          100000 kB\nMemAvailable:     800000 kB\nSwapTotal:       4000000 kB\nSwapFree:        1000000 kB\n";
    const MEMINFO_DIRE: &str = "MemTotal:       16000000 kB\nMemAvailable:     160000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
    const MEMINFO_FINE: &str = "MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\nSwapTotal:       4000000 kB\nSwapFree:        4000000 kB\n";

    fn fixture(meminfo: Option<&str>, load: &str, oom: u64) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        if let Some(m) = meminfo {
            std::fs::write(d.path().join("meminfo"), m).unwrap();
        }
        std::fs::write(d.path().join("loadavg"), format!("{load} 1/345 6789\n")).unwrap();
        std::fs::write(
            d.path().join("vmstat"),
            format!("nr_free_pages 1234\noom_kill {oom}\n"),
        )
        .unwrap();
        d
    }

    /// Disk checks off (thresholds 100) so fixture runs do not depend on the test host's disk.
    fn probe(root: &Path, extra: &str) -> Resources {
        testkit::parse(&format!(
            "proc_root = \"{}\"\nmounts = [\"{}\"]\nmax_disk_used_percent = 100\nmax_inode_used_percent = 100\ncores = 2\n{extra}",
            root.display(),
            root.display()
        ))
    }

    #[tokio::test]
    async fn spike_is_ok_then_sustained_is_degraded_or_critical() {
        let d = fixture(Some(MEMINFO_TIGHT), "9.10 9.00 8.50", 3);
        let p = probe(d.path(), "");
        let now = Utc::now();
        // a single spike: no prior
        let first = look_with(&p, Path::new("/"), None, now).await;
        assert_finding(&first, Health::Ok, "not yet for 5m");
        assert!(
            first
                .evidence
                .iter()
                .any(|e| e.key == "mem" && e.value.contains("not yet sustained")),
            "{first:?}"
        );
        let facts = first.facts.clone().unwrap();
        assert!(facts["since"]["mem"].is_string() && facts["since"]["swap"].is_string());
        assert!(facts["since"]["load"].is_string());
        assert_eq!(facts["oom_kill"], 3);

        // the same condition 6 minutes later: sustained
        let later = look_with(
            &p,
            Path::new("/"),
            Some(&facts),
            now + chrono::Duration::minutes(6),
        )
        .await;
        assert_finding(
            &later,
            Health::Degraded,
            "memory available 5.0% (min 10%) for 6m",
        );
        assert!(
            later.summary.contains("swap 75.0% used"),
            "{}",
            later.summary
        );
        assert!(later.summary.contains("4.50 per core"), "{}", later.summary);
        assert!(
            later
                .metrics
                .iter()
                .any(|m| m.name == "mem_available_percent")
        );

        // under 2% available: critical, and it says so
        let d = fixture(Some(MEMINFO_DIRE), "0.1 0.1 0.1", 3);
        let p = probe(d.path(), "");
        let since = json!({ "since": { "mem": (now - chrono::Duration::minutes(30)).to_rfc3339() }, "oom_kill": 3 });
        let o = look_with(&p, Path::new("/"), Some(&since), now).await;
        assert_finding(&o, Health::Critical, "critical below 2%");

        // recovered: ok, and the first-exceeded time is dropped
        let d = fixture(Some(MEMINFO_FINE), "0.1 0.1 0.1", 3);
        let p = probe(d.path(), "");
        let o = look_with(&p, Path::new("/"), Some(&since), now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(o.facts.unwrap()["since"], json!({}));
    }

    #[tokio::test]
    async fn oom_increase_is_critical_at_once() {
        let d = fixture(Some(MEMINFO_FINE), "0.1 0.1 0.1", 7);
        let p = probe(d.path(), "");
        let prior = json!({ "since": {}, "oom_kill": 5 });
        let o = look_with(&p, Path::new("/"), Some(&prior), Utc::now()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, "2 OOM kills since last check");
        // no prior: recorded, not judged
        assert_eq!(look_now(&p).await.health, Health::Ok);
    }

    #[tokio::test]
    async fn real_statvfs_with_zero_threshold_fires() {
        let d = fixture(Some(MEMINFO_FINE), "0.1 0.1 0.1", 0);
        let p: Resources = testkit::parse(&format!(
            "proc_root = \"{0}\"\nmounts = [\"{0}\"]\nmax_disk_used_percent = 0\nmax_inode_used_percent = 0\nsustain = \"0s\"\ncores = 2",
            d.path().display()
        ));
        let o = look_now(&p).await;
        assert!(
            matches!(o.health, Health::Degraded | Health::Critical),
            "{o:?}"
        );
        assert!(
            o.summary.contains(&format!("disk {}", d.path().display())),
            "{}",
            o.summary
        );
        assert!(o.summary.contains("inodes"), "{}", o.summary);

        let gone: Resources = testkit::parse(&format!(
            "proc_root = \"{0}\"\nmounts = [\"{0}/no-such-mount\"]",
            d.path().display()
        ));
        assert_eq!(look_now(&gone).await.health, Health::Unknown);
    }

    #[tokio::test]
    async fn missing_meminfo_is_unknown() {
        let d = fixture(None, "0.1 0.1 0.1", 0);
        let o = look_now(&probe(d.path(), "")).await;
        assert_finding(&o, Health::Unknown, "meminfo");
    }

    #[tokio::test]
    async fn process_rss_over_limit() {
        let d = fixture(Some(MEMINFO_FINE), "0.1 0.1 0.1", 0);
        let pdir = d.path().join("4242");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::write(pdir.join("comm"), "openclaw-gatewa\n").unwrap();
        std::fs::write(pdir.join("cmdline"), b"openclaw-gateway\0--port\x0018789\0").unwrap();
        std::fs::write(
            pdir.join("status"),
            "Name:\topenclaw-gatewa\nVmRSS:\t 3145728 kB\n",
        )
        .unwrap();
        let p = probe(
            d.path(),
            "sustain = \"0s\"\nprocess_rss = [{ name = \"openclaw-gateway\", max_rss = \"2GiB\" }]",
        );
        let o = look_now(&p).await;
        assert_finding(
            &o,
            Health::Degraded,
            "openclaw-gateway pid 4242 RSS 3.00GiB (max 2GiB)",
        );
    }

    fn gateway(root: &Path, pid: u32, uid: u32, rss_kb: u64) {
        let pdir = root.join(pid.to_string());
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::write(pdir.join("comm"), "openclaw-gatewa\n").unwrap();
        std::fs::write(pdir.join("cmdline"), b"openclaw-gateway\0").unwrap();
        std::fs::write(
            pdir.join("status"),
            format!(
                "Name:\topenclaw-gatewa\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nVmRSS:\t {rss_kb} kB\n"
            ),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn process_rss_of_one_user_judges_that_users_gateway_only() {
        let d = fixture(Some(MEMINFO_FINE), "0.1 0.1 0.1", 0);
        // two agents' gateways on one host: uid 1002's is over the limit, uid 1003's is not
        gateway(d.path(), 4242, 1002, 3 * 1024 * 1024);
        gateway(d.path(), 4343, 1003, 1024 * 1024);
        let limit = |user: &str| {
            probe(
                d.path(),
                &format!(
                    "sustain = \"0s\"\nprocess_rss = [{{ name = \"openclaw-gateway\", max_rss = \"2GiB\"{user} }}]"
                ),
            )
        };
        let o = look_now(&limit(", user = 1003")).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(
            o.evidence
                .iter()
                .any(|e| e.key == "rss:openclaw-gateway@1003"
                    && e.value.starts_with("openclaw-gateway pid 4343 (")
                    && e.value.ends_with("RSS 1.00GiB")),
            "{o:?}"
        );
        let o = look_now(&limit(", user = \"1002\"")).await;
        assert_finding(&o, Health::Degraded, "openclaw-gateway pid 4242 (");
        assert!(
            o.summary.contains("uid 1002) RSS 3.00GiB (max 2GiB)"),
            "{o:?}"
        );
        // an empty user (a pack variable left empty): every user's, so the largest
        let o = look_now(&limit(", user = \"\"")).await;
        assert_finding(&o, Health::Degraded, "pid 4242");
        // a user with no gateway: nothing to judge, said so
        let o = look_now(&limit(", user = 1004")).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(
            o.evidence
                .iter()
                .any(|e| e.key == "rss:openclaw-gateway@1004"
                    && e.value == "no such process of user 1004"),
            "{o:?}"
        );
        // a user unknown on this host: that limit cannot be judged
        let o = look_now(&limit(", user = \"no-such-user-xyz\"")).await;
        assert_finding(
            &o,
            Health::Unknown,
            "process_rss[0].user: user no-such-user-xyz does not exist on this host",
        );
    }

    #[test]
    fn process_rss_user_shape_is_checked_at_its_key_path() {
        let bad = testkit::invalid::<Resources>(
            "process_rss = [{ name = \"a\", max_rss = \"1GiB\", user = \"cs\" }, { name = \"b\", max_rss = \"1GiB\", user = \"bad user\" }]",
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].key, "process_rss[1].user");
    }

    /// A real process of this test's user, under a name no other process has: counted with this
    /// user, not with another user that exists here (nobody, uid 65534).
    #[tokio::test]
    async fn real_process_counts_for_its_own_user_only() {
        let d = tempfile::tempdir().unwrap();
        let name = format!("lgrss{}", std::process::id());
        let exe = d.path().join(&name);
        std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
        let mut child = std::process::Command::new(&exe).arg("60").spawn().unwrap();
        let me = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap()
            .name;
        let limit = |user: &str| -> Resources {
            testkit::parse(&format!(
                "mounts = [\"{}\"]\nmax_disk_used_percent = 100\nmax_inode_used_percent = 100\n\
                 min_mem_available_percent = 0\nmax_swap_used_percent = 100\nmax_load_per_core = 100000\n\
                 oom_kills = false\nsustain = \"0s\"\n\
                 process_rss = [{{ name = \"{name}\", max_rss = \"1B\", user = {user} }}]",
                d.path().display()
            ))
        };
        let mine = look_now(&limit(&format!("\"{me}\""))).await;
        let nobody = look_now(&limit("\"nobody\"")).await;
        let uid_65534 = look_now(&limit("65534")).await;
        child.kill().unwrap();
        child.wait().unwrap();
        assert_finding(
            &mine,
            Health::Degraded,
            &format!("{name} pid {} ({me} (uid ", child.id()),
        );
        for o in [nobody, uid_65534] {
            assert_eq!(o.health, Health::Ok, "{o:?}");
            assert!(
                o.evidence
                    .iter()
                    .any(|e| e.key.starts_with(&format!("rss:{name}@"))
                        && e.value.starts_with("no such process of user ")),
                "{o:?}"
            );
        }
    }
}
