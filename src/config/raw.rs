//! The serde mirror of the config file's fixed parts: `[daemon]`, the common probe and channel
//! keys, `[[route]]` and `[lesson.<n>]`. Strict (`deny_unknown_fields`). It must not hold
//! defaults or cross-field rules: `config::mod` turns these into typed values.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    /// Dashboard and API address. Default `127.0.0.1:9477`.
    pub listen: Option<String>,
    /// Where the SQLite store lives. Default: /var/lib/ledgerd as root, else
    /// `$XDG_STATE_HOME/ledgerd` (or `~/.local/state/ledgerd`).
    pub state_dir: Option<PathBuf>,
    /// Probe packs to load, relative to this file; `builtin:host.toml` names an embedded pack.
    /// (Read by the include pass: paths or `{ path, vars, prefix }` tables.)
    #[serde(default)]
    pub include: Vec<toml::Value>,
    /// Host name shown in alerts. Default: the system host name.
    pub host: Option<String>,
    /// Most probes running at once. Default 32.
    pub concurrency: Option<usize>,
    /// How long full observations (and delivered notifications) are kept. Default "14d".
    pub retention: Option<String>,
    /// Full observations kept per probe (the newest; older runs live on in rollups). Default 100.
    pub keep_observations: Option<u32>,
    /// How long the 5-minute rollups (the dashboard's 24-hour history) are kept. Default "2d".
    pub retention_5m: Option<String>,
    /// How long the hourly rollups are kept. Default "90d".
    pub retention_1h: Option<String>,
    /// How long transitions (each with the observation that caused it) and closed incidents are
    /// kept. Default "365d".
    pub retention_transitions: Option<String>,
    /// Base URL of the dashboard used in alert links. Default `http://<listen>`.
    pub dashboard_url: Option<String>,
    /// A copied host tree to audit instead of this host (a backup, an image, a test tree):
    /// every absolute path a probe reads resolves under it, and probes that need the live host
    /// report unknown. Relative to this file; `--root` overrides it. Default: none (this host).
    pub root: Option<PathBuf>,
    /// Probe timeout when a probe sets none. Default "10s".
    pub default_timeout: Option<String>,
    /// Probe interval when a probe sets neither `every` nor `cron`. Default "1m".
    pub default_every: Option<String>,
    /// File holding the bearer token the dashboard, API and /metrics require (trimmed; relative
    /// to this file). Default: none (no token; allowed only on a loopback `listen`).
    pub auth_token_file: Option<PathBuf>,
    /// User name for HTTP basic auth; set together with `basic_auth_password_hash`.
    /// Default: none.
    pub basic_auth_user: Option<String>,
    /// The basic-auth password as an Argon2 PHC string (`$argon2id$v=19$m=...`), never the
    /// password itself. Default: none.
    pub basic_auth_password_hash: Option<String>,
    /// How long a client may take to send a request's headers, counted from when the web server
    /// starts waiting for them (a new connection, or the end of the previous answer on a
    /// keep-alive connection); slower is closed. Default "10s".
    pub header_timeout: Option<String>,
    /// A web connection on which nothing moves in either direction for this long (a stalled
    /// upload, a client that stopped reading) is closed. Default "60s".
    pub idle_timeout: Option<String>,
    /// Most web connections open at once; past it a new connection is closed at once. Kept
    /// below the open-files limit (less a reserve of 64 for probes and the store). Default 256.
    pub max_connections: Option<usize>,
}

/// Keys every probe table may have; the rest belongs to the kind.
pub const PROBE_COMMON_KEYS: &[&str] = &[
    "kind",
    "lesson",
    "lessons",
    "every",
    "cron",
    "timezone",
    "jitter",
    "timeout",
    "severity",
    "tags",
    "enabled",
    "mode",
    "fail_after",
    "resolve_after",
    "flap_failures",
    "flap_window",
    "description",
    "depends_on",
    "agent",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProbeCommon {
    pub kind: String,
    /// The lesson this probe guards.
    pub lesson: Option<u32>,
    /// Or several lessons; the first is the primary one.
    pub lessons: Option<Vec<u32>>,
    /// Fixed interval, e.g. "30s".
    pub every: Option<String>,
    /// Cron expression (5 or 6 fields, `@daily`...).
    pub cron: Option<String>,
    /// IANA time zone for `cron`. Default UTC.
    pub timezone: Option<String>,
    /// Random spread of the first run, at most `every`. Default: a stable spread over 10% of
    /// the interval.
    pub jitter: Option<String>,
    pub timeout: Option<String>,
    /// "page" (default) or "warn": `warn` caps this probe's findings at degraded.
    pub severity: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub enabled: Option<bool>,
    /// "enforce" (default) or "shadow": shadow probes record and display, never notify.
    pub mode: Option<String>,
    pub fail_after: Option<u32>,
    pub resolve_after: Option<u32>,
    /// Failures within `flap_window` runs that mark a flipping probe flapping (0 disables).
    pub flap_failures: Option<u32>,
    /// Runs looked back over for flapping (at most 64).
    pub flap_window: Option<u32>,
    pub description: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// The agent this probe belongs to. Default: the `agent` var of the include that loaded
    /// the file, else none (a host-wide probe).
    pub agent: Option<String>,
}

pub const CHANNEL_COMMON_KEYS: &[&str] = &[
    "kind",
    "enabled",
    "min_health",
    "group_wait",
    "group_max",
    "max_per_minute",
    "digest_at",
    "digest_timezone",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannelCommon {
    pub kind: String,
    pub enabled: Option<bool>,
    /// Lowest health this channel is told about: "degraded" (default) or "critical".
    pub min_health: Option<String>,
    /// Alerts queued for this channel within this window go out as one message. Default "30s".
    pub group_wait: Option<String>,
    /// Most alerts in one grouped message. Default 20.
    pub group_max: Option<usize>,
    /// Storm cap: most messages per rolling minute; the rest are summarised in one overflow
    /// message (lesson 5). Default 10.
    pub max_per_minute: Option<u32>,
    /// Daily digest of open violations at this local time ("09:00"). Default: no digest.
    pub digest_at: Option<String>,
    /// IANA time zone of `digest_at`. Default UTC.
    pub digest_timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Lessons this route matches; empty = all.
    #[serde(default)]
    pub lessons: Vec<u32>,
    /// Failure classes (auth, permissions, ...); empty = all.
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default)]
    pub probes: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Agents (the probes' `agent`); empty = all, host-wide probes included.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Lowest health routed: "degraded" (default) or "critical".
    pub min_health: Option<String>,
    /// Channel ids.
    pub to: Vec<String>,
    pub fail_after: Option<u32>,
    pub resolve_after: Option<u32>,
    pub flap_failures: Option<u32>,
    pub flap_window: Option<u32>,
    pub remind_every: Option<String>,
    pub send_resolved: Option<bool>,
    /// Highest health routed: "degraded" makes a warn-only route, "critical" (default) all.
    pub max_health: Option<String>,
    /// A default route takes what no other route matched.
    #[serde(default)]
    pub default: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLesson {
    pub title: String,
    pub fix: String,
    pub rule: String,
    pub class: String,
    pub audience: String,
    pub owner: Option<String>,
}

/// `[[silence]]`: a waiver with a reason and an expiry (InSpec-style). Alerts it covers are
/// still recorded, not sent; once expired it lets alerts through again.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSilence {
    pub lesson: Option<u32>,
    pub probe: Option<String>,
    pub tag: Option<String>,
    pub host: Option<String>,
    /// Only the probes of this agent.
    pub agent: Option<String>,
    pub reason: String,
    /// RFC 3339 date ("2026-12-15") or date-time; required: a waiver without an end is a hole.
    pub expires: toml::value::Datetime,
    /// Who granted it. Default "config".
    pub by: Option<String>,
}
