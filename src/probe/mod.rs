//! The probe contract: the `Probe` trait, `Observation`, `Health`, `Evidence`, `ProbeCx`, and the
//! `probe_kinds!` list that generates `AnyProbe` (parse by `kind`, validate, dispatch) and the
//! `KINDS` table. A kind lives in one file beside this one. Probes only look: they never alert,
//! never write the store and never change what they audit. A finding is data, never an `Err`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod change_window;
mod command;
mod config_file;
mod connectors;
mod credentials;
mod cron_env;
pub mod docmeta;
pub mod expect;
mod file_mode;
mod heartbeat;
pub mod hermes_env;
mod http;
pub mod json5doc;
mod launchd_job;
mod listen_ports;
mod llm_usage;
mod markdown;
mod mcp;
mod model_swap;
pub mod pathglob;
mod process;
mod resources;
mod review_queue;
mod runtime_pin;
pub mod schema;
pub mod scriptscan;
pub mod shape;
mod skills;
mod systemd_unit;
mod token_expiry;
pub mod users;

/// How a lesson holds according to one observation. `Unknown` means "could not look"
/// (permission denied, tool missing, timed out), never "target down".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Degraded,
    Critical,
    Unknown,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Critical => "critical",
            Health::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Health> {
        match s {
            "ok" => Some(Health::Ok),
            "degraded" => Some(Health::Degraded),
            "critical" => Some(Health::Critical),
            "unknown" => Some(Health::Unknown),
            _ => None,
        }
    }
    /// Severity rank for "worst of": ok < unknown < degraded < critical.
    pub fn rank(self) -> u8 {
        match self {
            Health::Ok => 0,
            Health::Unknown => 1,
            Health::Degraded => 2,
            Health::Critical => 3,
        }
    }
    pub fn worst(self, other: Health) -> Health {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
    pub fn is_ok(self) -> bool {
        self == Health::Ok
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fact a person can act on: a path, key name, PID, exit code, status code or fingerprint.
/// Never a secret value.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Evidence {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

/// Longest evidence value kept; longer values are cut with a marker.
pub const EVIDENCE_MAX_CHARS: usize = 400;

/// What one probe run saw.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Observation {
    pub health: Health,
    /// One line: what was observed ("$.data has 0 items").
    pub summary: String,
    /// What was expected, when the probe can say it ("$.data min_len 1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Kind-specific memory handed back as `ProbeCx::prior` on the next run (a runtime's version,
    /// a config's key set). Probes set it only on observations they want to compare against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<serde_json::Value>,
}

impl Observation {
    pub fn new(health: Health, summary: impl Into<String>) -> Self {
        Observation {
            health,
            summary: summary.into(),
            expected: None,
            evidence: Vec::new(),
            metrics: Vec::new(),
            facts: None,
        }
    }
    pub fn ok(summary: impl Into<String>) -> Self {
        Self::new(Health::Ok, summary)
    }
    pub fn degraded(summary: impl Into<String>) -> Self {
        Self::new(Health::Degraded, summary)
    }
    pub fn critical(summary: impl Into<String>) -> Self {
        Self::new(Health::Critical, summary)
    }
    pub fn unknown(summary: impl Into<String>) -> Self {
        Self::new(Health::Unknown, summary)
    }
    /// The standard answer of a kind on an OS it does not support.
    pub fn unsupported_os(os: &str) -> Self {
        Self::unknown(format!("only available on {os}"))
    }
    pub fn expected(mut self, what: impl Into<String>) -> Self {
        self.expected = Some(what.into());
        self
    }
    /// Adds evidence; the value is truncated to `EVIDENCE_MAX_CHARS`.
    pub fn evidence(mut self, key: impl Into<String>, value: impl std::fmt::Display) -> Self {
        self.push_evidence(key, value);
        self
    }
    pub fn push_evidence(&mut self, key: impl Into<String>, value: impl std::fmt::Display) {
        self.evidence.push(Evidence {
            key: key.into(),
            value: crate::redact::truncate(&value.to_string(), EVIDENCE_MAX_CHARS),
        });
    }
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.push(Metric {
            name: name.into(),
            value,
        });
        self
    }
    pub fn facts(mut self, facts: serde_json::Value) -> Self {
        self.facts = Some(facts);
        self
    }
    /// Every registered secret removed from every text of the observation (`redact::scrub`):
    /// the scheduler applies it to each run, whatever the kind did.
    pub fn scrubbed(mut self) -> Self {
        let clean = |s: &mut String| {
            if let std::borrow::Cow::Owned(o) = crate::redact::scrub(s) {
                *s = o;
            }
        };
        clean(&mut self.summary);
        if let Some(e) = &mut self.expected {
            clean(e);
        }
        for e in &mut self.evidence {
            clean(&mut e.key);
            clean(&mut e.value);
        }
        for m in &mut self.metrics {
            clean(&mut m.name);
        }
        if let Some(f) = &mut self.facts {
            crate::redact::scrub_json(f);
        }
        self
    }
}

/// What a probe may use while it looks. Built by the scheduler for each run.
pub struct ProbeCx<'a> {
    pub probe_id: &'a str,
    /// The one shared HTTP client (keep-alive, timeouts, body cap); see `http_client`.
    pub http: &'a reqwest::Client,
    /// The run's deadline; the scheduler enforces it too, this is for child processes.
    pub timeout: Duration,
    /// `facts` of the most recent observation of this probe that carried facts.
    pub prior: Option<&'a serde_json::Value>,
    /// Directory of the config file that defined the probe; relative paths resolve against it.
    pub base_dir: &'a Path,
    /// `--root DIR` / `daemon.root`: the copied host tree being audited. Every absolute path,
    /// configured or read from inside an audited file, resolves under it (`resolve`,
    /// `resolve_inner`); probes that need the live host report unknown (`live_host`).
    pub root: Option<&'a Path>,
    /// The agent the probe belongs to (its common `agent` key or a pack include's `agent` var);
    /// `None` for host-wide probes. Kinds name it in their findings.
    pub agent: Option<&'a str>,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl ProbeCx<'_> {
    /// Resolves a configured path: `~/` to `$HOME`, relative paths against `base_dir`. When a
    /// copied tree is audited, absolute and `~/` paths resolve under `root` (`crate::reroot`);
    /// a path relative to the config file is the operator's own file (a schema beside the
    /// config) and stays where it is.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        let resolved = resolve_path(self.base_dir, p);
        if p.is_relative() && !p.starts_with("~") {
            return resolved;
        }
        self.under_root(resolved)
    }
    /// Resolves a path read from inside an audited file (`EnvironmentFile=`, a crontab's script,
    /// a plist's log path, a `source` line): relative ones against `relative_to`, then under
    /// `root` when auditing a copied tree (a relative path is re-anchored too, so `..` or a
    /// symlink cannot leave the tree).
    pub fn resolve_inner(&self, p: &Path, relative_to: &Path) -> PathBuf {
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            relative_to.join(p)
        };
        self.under_root(joined)
    }
    /// A path found by expanding a pattern (a glob's match) re-anchored again, so a symlink met
    /// during the expansion cannot lead out of the tree. Unchanged without a root.
    pub fn reanchor(&self, p: PathBuf) -> PathBuf {
        self.under_root(p)
    }
    /// The audited tree, when not this host.
    pub fn root(&self) -> Option<&Path> {
        self.root
    }
    /// `Some(observation)` when this probe needs the live host (processes, listeners,
    /// systemctl, launchctl, resources, running a runtime) and a copied tree is being audited:
    /// unknown, "not available under --root", instead of judging the machine ledgerd runs on.
    pub fn live_host(&self, what: &str) -> Option<Observation> {
        self.root.map(|r| {
            Observation::unknown(format!("{what}: {NOT_UNDER_ROOT}")).evidence("root", r.display())
        })
    }
    fn under_root(&self, p: PathBuf) -> PathBuf {
        match self.root {
            Some(r) => crate::reroot::under(r, &p),
            None => p,
        }
    }
}

/// `true`: the serde default of a kind's switches that are on unless turned off
/// (`#[serde(default = "super::yes")]`).
pub fn yes() -> bool {
    true
}

/// The proc file system: the serde default of the `proc_root` key of the kinds that read it
/// (tests point it at a fixture tree).
pub fn proc_root() -> PathBuf {
    PathBuf::from("/proc")
}

/// How a live-host check answers when a copied tree is audited (`ProbeCx::live_host`).
pub const NOT_UNDER_ROOT: &str = "not available under --root";

/// `~/x` → `$HOME/x`; relative → `base/x`; absolute unchanged.
pub fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Runs a probe's blocking work (files, `/proc`, parsing) on tokio's blocking pool, so a slow
/// disk or a stuck read never stalls the runtime's threads. The scheduler's timeout still fires
/// while this waits; the thread is then abandoned (runtime shutdown does not wait for it).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Observation> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Observation::unknown(format!("probe work did not finish: {e}")))
}

/// A URL as evidence and summaries show it: no query string, no credentials.
pub fn shown_url(u: &str) -> String {
    match reqwest::Url::parse(u) {
        Ok(mut p) => {
            let _ = p.set_password(None);
            let _ = p.set_username("");
            p.set_query(None);
            p.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

/// The observation a list of findings makes: the worst health among them, summarised by the
/// first one (`lead`), with " (+N more)" when there are more; `None` without findings.
pub fn led_by<T>(
    findings: &[T],
    health: impl Fn(&T) -> Health,
    lead: impl FnOnce(&T) -> String,
) -> Option<Observation> {
    let first = findings.first()?;
    let worst = findings.iter().fold(Health::Ok, |h, f| h.worst(health(f)));
    let mut s = lead(first);
    if findings.len() > 1 {
        s.push_str(&format!(" (+{} more)", findings.len() - 1));
    }
    Some(Observation::new(worst, s))
}

/// The observation a list of `(health, message)` problems makes: the worst health, every message
/// in the order given, joined by `; `; `None` without problems.
pub fn of_problems(problems: &[(Health, String)]) -> Option<Observation> {
    let worst = problems.iter().map(|(h, _)| *h).reduce(Health::worst)?;
    let text: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
    Some(Observation::new(worst, text.join("; ")))
}

/// What a finding of an agent's probe starts with (`agent cs: `); empty for a host-wide probe.
pub fn agent_prefix(agent: Option<&str>) -> String {
    agent.map(|a| format!("agent {a}: ")).unwrap_or_default()
}

/// The `unknown` observation for a file that could not be read in full (`what` names its role,
/// e.g. "unit file"): "cannot read unit file /x.service: not a regular file (a FIFO)".
pub fn unreadable(what: &str, e: &crate::read::ReadError) -> Observation {
    Observation::unknown(format!(
        "cannot read {what} {}: {}",
        e.path().display(),
        e.reason()
    ))
    .evidence("path", e.path().display())
}

/// A problem with one key of a probe's (or channel's) own table, found at load time.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    /// Key path below the probe's table, e.g. `expect_json[1].path`; empty for the whole table.
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    // The checks many kinds' `validate` share, each worded once so every kind says it the same.

    /// A count or size limit (`max_files`): 0 is "must be at least 1".
    pub fn require_at_least_1<N: PartialEq + From<u8>>(bad: &mut Vec<Invalid>, key: &str, n: N) {
        if n == N::from(0) {
            bad.push(Invalid::new(key, "must be at least 1"));
        }
    }

    /// A duration (`window`): zero is "must be longer than 0s".
    pub fn require_longer_than_0s(bad: &mut Vec<Invalid>, key: &str, d: Duration) {
        if d.is_zero() {
            bad.push(Invalid::new(key, "must be longer than 0s"));
        }
    }

    /// A list the kind cannot look without (`paths`): empty is "expected at least one {what}".
    pub fn require_at_least_one<T>(bad: &mut Vec<Invalid>, key: &str, list: &[T], what: &str) {
        if list.is_empty() {
            bad.push(Invalid::new(key, format!("expected at least one {what}")));
        }
    }

    /// A regular expression (`argv_matches`): one that does not compile is "invalid regex: …".
    pub fn require_regex(bad: &mut Vec<Invalid>, key: &str, pattern: &str) {
        if let Err(e) = regex::Regex::new(pattern) {
            bad.push(Invalid::new(key, format!("invalid regex: {e}")));
        }
    }

    /// A list of regular expressions (`forking_commands`): each as `require_regex`, its key
    /// `key[i]`.
    pub fn require_regexes(bad: &mut Vec<Invalid>, key: &str, patterns: &[String]) {
        for (i, p) in patterns.iter().enumerate() {
            Invalid::require_regex(bad, &format!("{key}[{i}]"), p);
        }
    }
}

/// A probe kind: one file, registered in `probe_kinds!`.
pub trait Probe: DeserializeOwned + Debug + Send + Sync + 'static {
    /// `kind = "http"` in config; a snake_case noun.
    const KIND: &'static str;
    /// One line for `ledgerd kinds`.
    const SUMMARY: &'static str;
    /// The lessons this kind can actually check (`ledgerd kinds` shows them). A shipped probe (a
    /// pack, a kind's EXAMPLE, config.example.toml, the README) may cite only these, and `doctor`
    /// warns when a config's probe cites a ledger lesson its kind cannot check. Empty means "what
    /// the operator's own command checks" (`command`): any lesson in an operator's config, and
    /// never used by a shipped probe.
    const LESSONS: &'static [u32];
    /// A commented TOML `[probe.<id>]` table without its `kind` key, which `KindInfo::example`
    /// adds from `KIND`; a test parses the result through the real loader.
    const EXAMPLE: &'static str;
    /// Cross-field checks at load; every problem at once.
    fn validate(&self) -> Vec<Invalid> {
        Vec::new()
    }
    /// Looks once. Never fails: a problem is an `Observation` with the right health.
    fn observe(&self, cx: &ProbeCx<'_>) -> impl Future<Output = Observation> + Send;
}

/// One row of the kinds table (`ledgerd kinds`, docs, tidy test).
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    pub kind: &'static str,
    pub summary: &'static str,
    pub lessons: &'static [u32],
    /// The kind's `EXAMPLE`: its table without the `kind` key.
    pub table: &'static str,
}

impl KindInfo {
    /// The example config: `table` with `kind = "<kind>"` as its first key.
    pub fn example(&self) -> String {
        with_kind(self.table, self.kind)
    }
}

/// A one-table TOML example (`[probe.<id>]` or `[channel.<id>]` on its first line) with
/// `kind = "<kind>"` added as the table's first key: kinds' examples do not repeat their `KIND`.
pub fn with_kind(table: &str, kind: &str) -> String {
    match table.split_once('\n') {
        Some((header, rest)) => format!("{header}\nkind = \"{kind}\"\n{rest}"),
        None => format!("{table}\nkind = \"{kind}\"\n"),
    }
}

/// Parses a kind's own table (probe or channel kind: the common keys already removed) and runs
/// its `validate`: a serde error becomes one `Invalid` at its key path.
pub fn parse_kind<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    validate: impl FnOnce(&T) -> Vec<Invalid>,
) -> Result<T, Vec<Invalid>> {
    let kind: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        vec![Invalid::new(key, e.inner().to_string())]
    })?;
    let problems = validate(&kind);
    if problems.is_empty() {
        Ok(kind)
    } else {
        Err(problems)
    }
}

macro_rules! probe_kinds {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        /// Every configured probe, whatever its kind (boxed: kinds differ a lot in size).
        #[derive(Debug)]
        pub enum AnyProbe {
            $($ty(Box<$module::$ty>),)*
        }

        /// All kinds, in registration order.
        pub const KINDS: &[KindInfo] = &[
            $(KindInfo {
                kind: <$module::$ty as Probe>::KIND,
                summary: <$module::$ty as Probe>::SUMMARY,
                lessons: <$module::$ty as Probe>::LESSONS,
                table: <$module::$ty as Probe>::EXAMPLE,
            },)*
        ];

        impl AnyProbe {
            /// Parses the kind-specific keys (the common keys already removed). `None` when the
            /// kind is not known.
            pub fn parse(kind: &str, value: toml::Value) -> Option<Result<AnyProbe, Vec<Invalid>>> {
                $(if kind == <$module::$ty as Probe>::KIND {
                    return Some(parse_kind(value, <$module::$ty as Probe>::validate).map(|p| AnyProbe::$ty(Box::new(p))));
                })*
                None
            }

            pub fn kind(&self) -> &'static str {
                match self {
                    $(AnyProbe::$ty(_) => <$module::$ty as Probe>::KIND,)*
                }
            }

            pub async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
                match self {
                    $(AnyProbe::$ty(p) => p.observe(cx).await,)*
                }
            }
        }
    };
}

// The registry: one line per kind (the `mod` line above plus one here).
probe_kinds! {
    change_window::ChangeWindow,
    command::Command,
    config_file::ConfigFile,
    connectors::Connectors,
    credentials::Credentials,
    cron_env::CronEnv,
    file_mode::FileMode,
    heartbeat::Heartbeat,
    http::Http,
    launchd_job::LaunchdJob,
    listen_ports::ListenPorts,
    llm_usage::LlmUsage,
    markdown::Markdown,
    mcp::Mcp,
    model_swap::ModelSwap,
    process::Process,
    resources::Resources,
    review_queue::ReviewQueue,
    runtime_pin::RuntimePin,
    skills::Skills,
    systemd_unit::SystemdUnit,
    token_expiry::TokenExpiry,
}

/// Names of all kinds, for error messages.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.kind).collect()
}

/// The probe test kit, the one way a kind's tests build a probe from TOML (`parse`, `invalid`,
/// `invalid_keys`),
/// look once with a test `ProbeCx` (`look`, `look_in`, `look_with`, `look_as`, `look_under`,
/// `observe` with `At`), assert a
/// finding (`assert_finding`, `assert_health`, `assert_starts`, `assert_ends`, `assert_says`,
/// `assert_ev`, `one`, `ev`, `text`, `assert_contains`, `assert_lacks`) and lay out fixtures (`write`, `put`,
/// `set_mtime`, `at`, `serve` for a loopback server). Shared by every kind's tests instead of a copy per file.
#[cfg(test)]
pub mod testkit {
    use super::*;
    use chrono::{DateTime, Utc};

    /// Asserts that `text` contains every needle; a failure names the missing one and the text.
    #[track_caller]
    pub fn assert_contains(text: &str, needles: &[&str]) {
        for n in needles {
            assert!(text.contains(n), "missing {n:?} in: {text}");
        }
    }

    /// Asserts that `text` contains none of the needles.
    #[track_caller]
    pub fn assert_lacks(text: &str, needles: &[&str]) {
        if let Some(n) = needles.iter().find(|n| text.contains(**n)) {
            panic!("unexpected {n:?} in: {text}");
        }
    }

    /// Parses a kind's keys and asserts they validate.
    pub fn parse<P: Probe>(toml_src: &str) -> P {
        let p: P = toml::from_str(toml_src).unwrap_or_else(|e| panic!("{e}"));
        let bad = p.validate();
        assert!(bad.is_empty(), "{bad:?}");
        p
    }

    /// Parses a kind's keys that must not validate; returns what `validate` reports.
    pub fn invalid<P: Probe>(toml_src: &str) -> Vec<Invalid> {
        let p: P = toml::from_str(toml_src).unwrap_or_else(|e| panic!("{e}"));
        let bad = p.validate();
        assert!(!bad.is_empty(), "{toml_src} should not validate");
        bad
    }

    /// The keys `validate` names for a kind's keys that must not validate, in its order.
    pub fn invalid_keys<P: Probe>(toml_src: &str) -> Vec<String> {
        invalid::<P>(toml_src).into_iter().map(|i| i.key).collect()
    }

    /// Where and when a test looks: the parts of `ProbeCx` a test varies. The default looks
    /// from `/`, now, with no prior facts, no root, no agent and a 5 s timeout.
    #[derive(Clone, Copy)]
    pub struct At<'a> {
        pub base: &'a Path,
        pub prior: Option<&'a serde_json::Value>,
        pub now: DateTime<Utc>,
        pub root: Option<&'a Path>,
        pub agent: Option<&'a str>,
        pub timeout: Duration,
    }

    impl Default for At<'_> {
        fn default() -> Self {
            At {
                base: Path::new("/"),
                prior: None,
                now: Utc::now(),
                root: None,
                agent: None,
                timeout: Duration::from_secs(5),
            }
        }
    }

    /// Looks once as `at` says, through the one shared HTTP client.
    pub async fn observe<P: Probe>(p: &P, at: At<'_>) -> Observation {
        let client = crate::http_client::shared();
        let cx = ProbeCx {
            probe_id: "t",
            http: &client,
            timeout: at.timeout,
            prior: at.prior,
            base_dir: at.base,
            root: at.root,
            agent: at.agent,
            now: at.now,
        };
        p.observe(&cx).await
    }

    /// Looks once with relative paths resolved against `/`.
    pub async fn look<P: Probe>(p: &P) -> Observation {
        observe(p, At::default()).await
    }

    /// Looks once with relative paths resolved against `base`.
    pub async fn look_in<P: Probe>(p: &P, base: &Path) -> Observation {
        observe(
            p,
            At {
                base,
                ..At::default()
            },
        )
        .await
    }

    /// Looks once with a base dir, the prior facts and the clock given (5 s timeout).
    pub async fn look_with<P: Probe>(
        p: &P,
        base: &Path,
        prior: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Observation {
        observe(
            p,
            At {
                base,
                prior,
                now,
                ..At::default()
            },
        )
        .await
    }

    /// Looks once as the probe of `agent`, with a base dir and the clock given.
    pub async fn look_as<P: Probe>(
        p: &P,
        base: &Path,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Observation {
        let agent = Some(agent);
        observe(
            p,
            At {
                base,
                agent,
                now,
                ..At::default()
            },
        )
        .await
    }

    /// Looks once at a copied host tree `root` (`--root`), relative paths against `/`.
    pub async fn look_under<P: Probe>(p: &P, root: &Path) -> Observation {
        observe(
            p,
            At {
                root: Some(root),
                ..At::default()
            },
        )
        .await
    }

    /// Asserts the observation's health, showing its summary and evidence when it differs.
    #[track_caller]
    pub fn assert_health(o: &Observation, want: Health) {
        assert_eq!(o.health, want, "{}", text(o));
    }

    /// Asserts a finding: the observation's health, and that its summary says `needle`.
    #[track_caller]
    pub fn assert_finding(o: &Observation, want: Health, needle: &str) {
        assert_summary(o, want, needle, |s, n| s.contains(n), "not in");
    }

    /// Asserts the observation's health and that its summary starts with `prefix`.
    #[track_caller]
    pub fn assert_starts(o: &Observation, want: Health, prefix: &str) {
        assert_summary(o, want, prefix, |s, p| s.starts_with(p), "does not start");
    }

    /// Asserts the observation's health and that its summary ends with `suffix`.
    #[track_caller]
    pub fn assert_ends(o: &Observation, want: Health, suffix: &str) {
        assert_summary(o, want, suffix, |s, x| s.ends_with(x), "does not end");
    }

    /// Asserts the observation's health and `holds(summary, part)`; the message is
    /// `"<part>" <fails>: <text>`.
    #[track_caller]
    fn assert_summary(
        o: &Observation,
        want: Health,
        part: &str,
        holds: fn(&str, &str) -> bool,
        fails: &str,
    ) {
        assert_health(o, want);
        assert!(holds(&o.summary, part), "{part:?} {fails}: {}", text(o));
    }

    /// Asserts the observation's health and that its `text` (summary and evidence) says every
    /// needle; returns that text for further checks.
    #[track_caller]
    pub fn assert_says(o: &Observation, want: Health, needles: &[&str]) -> String {
        assert_health(o, want);
        let t = text(o);
        assert_contains(&t, needles);
        t
    }

    /// The summary, then every evidence row as `key: value` lines.
    pub fn text(o: &Observation) -> String {
        let mut t = format!("{}\n", o.summary);
        for e in &o.evidence {
            t.push_str(&format!("{}: {}\n", e.key, e.value));
        }
        t
    }

    /// Every evidence row as `key -> value` lines.
    pub fn evidence(o: &Observation) -> String {
        o.evidence
            .iter()
            .map(|e| format!("{} -> {}\n", e.key, e.value))
            .collect()
    }

    /// The values of the evidence rows named `key`.
    pub fn ev<'a>(o: &'a Observation, key: &str) -> Vec<&'a str> {
        o.evidence
            .iter()
            .filter(|e| e.key == key)
            .map(|e| e.value.as_str())
            .collect()
    }

    /// The value of the first evidence row named `key`; panics (showing the observation) if none.
    #[track_caller]
    pub fn one<'a>(o: &'a Observation, key: &str) -> &'a str {
        o.evidence
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
            .unwrap_or_else(|| panic!("no evidence {key} in {o:?}"))
    }

    /// Asserts that an evidence row named `key` contains `needle`; a failure shows the
    /// observation's text.
    #[track_caller]
    pub fn assert_ev(o: &Observation, key: &str, needle: &str) {
        assert!(
            ev(o, key).iter().any(|v| v.contains(needle)),
            "no {key} evidence with {needle:?} in: {}",
            text(o)
        );
    }

    /// Writes `text` to `path` (parents created) with Unix `mode`.
    pub fn write(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        put_at(path, text);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Writes each `(rel, text, mode)` below `dir`, as `write` does.
    pub fn write_files(dir: &Path, files: &[(&str, &str, u32)]) {
        for (rel, text, mode) in files {
            write(&dir.join(rel), text, *mode);
        }
    }

    /// Writes `text` to `dir/rel` (parents created, default mode); returns the path.
    pub fn put(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let path = dir.join(rel);
        put_at(&path, text);
        path
    }

    fn put_at(path: &Path, text: &str) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    /// Serves `app` on a fresh loopback port until the test's runtime ends; returns its address.
    pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    /// Sets a file's modification time.
    pub fn set_mtime(path: &Path, t: DateTime<Utc>) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(std::time::SystemTime::from(t)).unwrap();
    }

    /// An RFC 3339 instant, for a test's clock.
    pub fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's EXAMPLE is a single `[probe.<id>]` table whose kind keys (the common keys
    /// stripped, as the loader does) parse into the kind and pass its `validate()`.
    #[test]
    fn every_example_parses_and_validates() {
        for k in KINDS {
            let mut doc: toml::Table =
                toml::from_str(&k.example()).unwrap_or_else(|e| panic!("{}: {e}", k.kind));
            let probes = doc
                .remove("probe")
                .unwrap_or_else(|| panic!("{}: no [probe.*]", k.kind));
            let probes = probes.as_table().unwrap();
            assert_eq!(probes.len(), 1, "{}: one probe per example", k.kind);
            let table = probes.values().next().unwrap().as_table().unwrap();
            assert_eq!(table.get("kind").and_then(|v| v.as_str()), Some(k.kind));
            let kind_keys: toml::Table = table
                .iter()
                .filter(|(key, _)| !crate::config::raw::PROBE_COMMON_KEYS.contains(&key.as_str()))
                .map(|(key, v)| (key.clone(), v.clone()))
                .collect();
            match AnyProbe::parse(k.kind, toml::Value::Table(kind_keys)) {
                Some(Ok(p)) => assert_eq!(p.kind(), k.kind),
                Some(Err(problems)) => panic!("{}: {problems:?}", k.kind),
                None => panic!("{}: not registered", k.kind),
            }
        }
    }
}
