//! Loads `config.toml` and its includes once into typed values (`Config`), reporting every
//! problem with its file, key path and line/column (`ConfigErrors`, exit 78). This is the only
//! place that knows the file format; everything after it sees typed values. It must not run
//! probes, touch the store or send anything.

mod channels;
mod daemon;
mod doc;
pub mod env;
pub mod error;
mod includes;
mod load;
mod probes;
pub mod raw;

pub use daemon::audit_root;
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use includes::builtin_var;
pub use load::MAX_CONFIG_BYTES;

use crate::alert::AnyChannel;
use crate::ledger::{Catalog, LessonId};
use crate::probe::{AnyProbe, Health};
use error::Sink;
use load::Loader;
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
    ("kit.toml", include_str!("../../checks/kit.toml")),
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
    /// Waivers from `[[silence]]`.
    pub silences: Vec<Silence>,
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
    /// `daemon.root` / `--root`: the copied host tree audited instead of this host (canonical).
    pub root: Option<PathBuf>,
    /// The web server's limits (`header_timeout`, `idle_timeout`, `max_connections`).
    pub web: WebLimits,
}

/// Limits of the web server against slow or many clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 256,
        }
    }
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
        let set: std::collections::BTreeSet<&str> = self
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

/// A waiver from `[[silence]]`: alerts it covers are recorded but not sent until `expires`.
/// At least one of lesson, probe, tag, host is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub lesson: Option<u32>,
    /// With the include's prefix applied.
    pub probe: Option<String>,
    pub tag: Option<String>,
    pub host: Option<String>,
    pub agent: Option<String>,
    pub reason: String,
    /// `by`, or "config".
    pub by: String,
    /// Unix ms.
    pub expires: i64,
    /// Where it is written: file and key path (`silence[0]`).
    pub file: PathBuf,
    pub key: String,
}

impl Silence {
    /// This waiver as a store row: id 0 and created 0 (a config waiver has neither), never
    /// removed (it ends by editing the config).
    pub fn to_row(&self) -> crate::store::SilenceRow {
        crate::store::SilenceRow {
            id: 0,
            lesson: self.lesson,
            probe: self.probe.clone(),
            tag: self.tag.clone(),
            host: self.host.clone(),
            agent: self.agent.clone(),
            reason: self.reason.clone(),
            created_by: self.by.clone(),
            created: 0,
            expires: self.expires,
            removed: None,
        }
    }

    /// True when this waiver covers the target at `now_ms`: matched as the store's silences
    /// are (`SilenceRow::covers`, the one matching).
    pub fn covers(&self, t: &crate::store::SilenceTarget<'_>, now_ms: i64) -> bool {
        self.to_row().covers(t, now_ms)
    }
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

/// Bounds a running daemon relies on; `doctor` reports values outside them as config errors
/// (a larger value overflows schedule arithmetic or a semaphore, and means nothing for a monitor).
pub const MAX_INTERVAL: Duration = Duration::from_secs(366 * 86_400);
/// Longest probe timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// Longest retention of history: ten years.
pub const MAX_RETENTION: Duration = Duration::from_secs(3_660 * 86_400);
/// Most probes running at once.
pub const MAX_CONCURRENCY: usize = 4_096;
/// Probes running at once by default. Measured with 1,000 probes every 10 s (benches/README.md):
/// 256 instead of 32 kept ~100 connections open, cost 5 MB more heap and more CPU per run, and
/// did not lower lateness, also with 10% of the targets answering after 2 s.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Most alerts in one grouped message, and most messages per minute and channel.
pub const MAX_GROUP: usize = 10_000;

/// Parses the duration at `key` and checks that it lies in `min..=max`; `None` after reporting.
fn duration_in(
    text: &str,
    key: &str,
    (min, max): (Duration, Duration),
    sink: &mut Sink<'_>,
) -> Option<Duration> {
    match crate::duration::parse(text) {
        Ok(d) if d < min => {
            sink.err(
                key,
                format!("must be at least {}", crate::duration::format(min)),
            );
            None
        }
        Ok(d) if d > max => {
            sink.err(
                key,
                format!(
                    "must be at most {} (got '{}')",
                    crate::duration::format(max),
                    text.trim()
                ),
            );
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            sink.err(key, m);
            None
        }
    }
}

/// Checks a count lies in `min..=max`.
fn count_in(v: usize, key: &str, (min, max): (usize, usize), why: &str, sink: &mut Sink<'_>) {
    if v < min {
        sink.err(key, format!("must be at least {min}{why}"));
    } else if v > max {
        sink.err(key, format!("must be at most {max}"));
    }
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

/// A key that takes one of two words, each standing for a value.
struct TwoWords<T> {
    /// What the key holds, for the error: `unknown <what> 'x', expected "a" or "b"`.
    what: &'static str,
    words: [(&'static str, T); 2],
    /// The value when the key is absent, or holds another word (which is reported).
    default: T,
}

impl<T: Copy> TwoWords<T> {
    fn read(&self, v: Option<&str>, key: &str, sink: &mut Sink<'_>) -> T {
        let [(a, first), (b, second)] = self.words;
        match v {
            None => self.default,
            Some(w) if w == a => first,
            Some(w) if w == b => second,
            Some(other) => {
                let what = self.what;
                sink.err(
                    key,
                    format!("unknown {what} '{other}', expected \"{a}\" or \"{b}\""),
                );
                self.default
            }
        }
    }
}

/// `min_health` of a channel or route, and `max_health` of a route: the same words, told apart
/// by their defaults.
const MIN_HEALTH: TwoWords<Health> = TwoWords {
    default: Health::Degraded,
    ..MAX_HEALTH
};
const MAX_HEALTH: TwoWords<Health> = TwoWords {
    what: "health",
    words: [
        ("degraded", Health::Degraded),
        ("critical", Health::Critical),
    ],
    default: Health::Critical,
};

/// Splits a `[probe.<id>]` or `[channel.<id>]` table into its common keys, read as `C`, and the
/// kind's own keys; `None` once `sink` is told why (not a table, no `kind`, a bad common key).
fn split_kind_table<C: serde::de::DeserializeOwned>(
    key: &str,
    body: &toml::Value,
    common: &[&str],
    kinds: fn() -> Vec<&'static str>,
    sink: &mut Sink<'_>,
) -> Option<(C, toml::Table)> {
    let Some(table) = body.as_table() else {
        sink.err(key, "expected a table");
        return None;
    };
    let (common_t, kind_t): (toml::Table, toml::Table) = table
        .clone()
        .into_iter()
        .partition(|(k, _)| common.contains(&k.as_str()));
    if !common_t.contains_key("kind") {
        sink.err(
            key,
            format!("missing 'kind' (one of {})", kinds().join(", ")),
        );
        return None;
    }
    match deserialize(toml::Value::Table(common_t)) {
        Ok(c) => Some((c, kind_t)),
        Err((k, m)) => {
            sink.err(join(key, &k), m);
            None
        }
    }
}

/// Reports a `kind` that no kind registered answers to (`what`: "kind", "channel kind").
fn unknown_kind(key: &str, what: &str, kind: &str, kinds: &[&str], sink: &mut Sink<'_>) {
    sink.err(
        format!("{key}.kind"),
        format!(
            "unknown {what} '{kind}', expected one of {}",
            kinds.join(", ")
        ),
    );
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

    /// The two-word keys and the kind of a probe or channel say what they expected, at their key.
    #[test]
    fn two_word_keys_and_kinds_name_what_they_expected() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "main.toml",
            r#"
[daemon]
state_dir = "state"
[probe.a]
kind = "file_mode"
lesson = 19
paths = ["/x"]
severity = "loud"
mode = "dry"
[probe.b]
lesson = 19
[probe.c]
kind = "nope"
lesson = 19
[channel.x]
kind = "nope"
min_health = "ok"
[channel.y]
url = "http://127.0.0.1:9/"
[[route]]
to = ["x"]
max_health = "fine"
"#,
        );
        let text = load_file_with_env(&main, &no_env).unwrap_err().to_string();
        for want in [
            "probe.a.severity",
            "unknown severity 'loud', expected \"page\" or \"warn\"",
            "probe.a.mode",
            "unknown mode 'dry', expected \"enforce\" or \"shadow\"",
            "probe.b",
            "missing 'kind' (one of ",
            "probe.c.kind",
            "unknown kind 'nope', expected one of ",
            "channel.x.kind",
            "unknown channel kind 'nope', expected one of ",
            "channel.x.min_health",
            "unknown health 'ok', expected \"degraded\" or \"critical\"",
            "route[0].max_health",
            "unknown health 'fine', expected \"degraded\" or \"critical\"",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
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
