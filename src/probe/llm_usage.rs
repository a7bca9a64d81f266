//! `llm_usage`: reads an LLM usage database (the kit's `state/llm-usage.db`, one row per call:
//! time, provider, model, caller, ok, error, latency, cost; table and column names configurable)
//! and judges the routes it shows. Per caller and route (provider/model) it compares the error and
//! 429 rate and the p95 latency in busy hours with quiet hours and reports a route that collapses
//! at peak (lesson 21); it reports fallbacks that stay within one provider, seen as a failed call
//! followed by the same caller's call on another route (lesson 21); paid subscription routes that
//! carry no traffic while metered routes do (lesson 29); and free-tier models serving callers
//! (lesson 24). The database is opened read-only (`mode=ro` URI, `PRAGMA query_only`), with a
//! short busy timeout and a statement deadline enforced by a progress handler, on the blocking
//! pool; it never writes and never holds a lock longer than one bounded read. Error texts are
//! counted, never quoted (they may carry keys).

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use chrono::{DateTime, NaiveTime, TimeZone, Timelike, Utc};
use regex::Regex;
use rusqlite::{OpenFlags, types::ValueRef};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmUsage {
    /// The SQLite usage database, e.g. "/opt/compai/state/llm-usage.db". Required.
    db: PathBuf,
    /// The table with one row per call. Default "llm_usage".
    #[serde(default = "default_table")]
    table: String,
    /// Column names, for databases that differ from the kit's. Default the kit's names.
    #[serde(default)]
    columns: Columns,
    /// How the time column is stored: "iso" (ISO 8601 text, the kit's), "epoch_s" or
    /// "epoch_ms". Default "iso".
    #[serde(default)]
    ts_format: TsFormat,
    /// Rows younger than this are judged, e.g. "7d". Default "7days".
    #[serde(default = "default_window", deserialize_with = "crate::duration::de")]
    window: Duration,
    /// Busy hours "HH:MM-HH:MM" (may wrap past midnight); the rest of the day is quiet.
    /// Default "09:00-18:00".
    #[serde(default = "default_busy")]
    busy_hours: String,
    /// IANA time zone of `busy_hours`, e.g. "Europe/Madrid". Default "UTC".
    #[serde(default = "default_tz")]
    busy_timezone: String,
    /// Fewest calls in a window before its rates are judged. Default 20.
    #[serde(default = "default_min_calls")]
    min_calls: usize,
    /// Highest acceptable error rate (0..1) of a route in busy hours. Default 0.10.
    #[serde(default = "default_max_error_rate")]
    max_error_rate: f64,
    /// Busy p95 latency this many times the quiet p95 (and above `min_p95`) is degraded.
    /// Default 3.0.
    #[serde(default = "default_p95_ratio")]
    max_p95_ratio: f64,
    /// A busy p95 below this is never reported, e.g. "2s". Default "2s".
    #[serde(default = "default_min_p95", deserialize_with = "crate::duration::de")]
    min_p95: Duration,
    /// Regex over the error text that marks a rate limit. Default "(?i)\\b429\\b|rate.?limit|too
    /// many requests|quota".
    #[serde(default = "default_rate_limit")]
    rate_limit_pattern: String,
    /// A failed call followed within this gap by the same caller's call on another route is a
    /// fallback. Default "2m".
    #[serde(default = "default_gap", deserialize_with = "crate::duration::de")]
    fallback_gap: Duration,
    /// Report fallbacks that stay within the failing route's provider (lesson 21). Default true.
    #[serde(default = "super::yes")]
    check_fallbacks: bool,
    /// Paid subscription routes, as "provider/model" globs (`*` any text), e.g.
    /// ["openai-codex/*"]; each must carry traffic when metered routes do (lesson 29). Default none.
    #[serde(default)]
    subscription_routes: Vec<String>,
    /// Free-tier routes, as "provider/model" globs, e.g. ["*:free", "qwen/qwen-turbo"]; any
    /// traffic on them is reported (lesson 24). Default none.
    #[serde(default)]
    free_tier: Vec<String>,
    /// Longest a query may run before it is interrupted, e.g. "3s". Default "3s".
    #[serde(
        default = "default_stmt_timeout",
        deserialize_with = "crate::duration::de"
    )]
    statement_timeout: Duration,
    /// Most rows read per run (newest first). Default 500000.
    #[serde(default = "default_max_rows")]
    max_rows: usize,
}

/// The column names of the usage table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Columns {
    /// Call time. Default "ts".
    ts: String,
    /// Provider name. Default "provider".
    provider: String,
    /// Model id. Default "model".
    model: String,
    /// Who called ("cs-factory:triage"). Default "caller".
    caller: String,
    /// 1 = success, 0 = failure. Default "ok".
    ok: String,
    /// Error text of a failed call. Default "error".
    error: String,
    /// Latency in milliseconds. Default "latency_ms".
    latency_ms: String,
    /// Cost of the call (metered spend). Default "cost_usd".
    cost: String,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            ts: "ts".into(),
            provider: "provider".into(),
            model: "model".into(),
            caller: "caller".into(),
            ok: "ok".into(),
            error: "error".into(),
            latency_ms: "latency_ms".into(),
            cost: "cost_usd".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum TsFormat {
    #[default]
    Iso,
    EpochS,
    EpochMs,
}

fn default_table() -> String {
    "llm_usage".into()
}
fn default_window() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_busy() -> String {
    "09:00-18:00".into()
}
fn default_tz() -> String {
    "UTC".into()
}
fn default_min_calls() -> usize {
    20
}
fn default_max_error_rate() -> f64 {
    0.10
}
fn default_p95_ratio() -> f64 {
    3.0
}
fn default_min_p95() -> Duration {
    Duration::from_secs(2)
}
fn default_rate_limit() -> String {
    r"(?i)\b429\b|rate.?limit|too many requests|quota".into()
}
fn default_gap() -> Duration {
    Duration::from_secs(120)
}
fn default_stmt_timeout() -> Duration {
    Duration::from_secs(3)
}
fn default_max_rows() -> usize {
    500_000
}

fn parse_hours(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = s.split_once('-')?;
    Some((
        NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?,
        NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?,
    ))
}

fn ident_ok(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// `*` matches any text; the rest literally; whole string, case-insensitive.
fn glob_re(g: &str) -> Option<Regex> {
    let mut re = String::from("(?i)^");
    for (i, part) in g.split('*').enumerate() {
        if i > 0 {
            re.push_str(".*");
        }
        re.push_str(&regex::escape(part));
    }
    re.push('$');
    Regex::new(&re).ok()
}

const MAX_LISTED: usize = 12;
/// Longest text read from one column of one row (provider, model, caller, error, time), in
/// characters; longer values are cut by SQLite before they are copied.
const MAX_TEXT: usize = 1024;

impl Probe for LlmUsage {
    const KIND: &'static str = "llm_usage";
    const SUMMARY: &'static str = "LLM usage database: routes that collapse at peak, same-provider fallbacks, idle paid subscriptions, free-tier routes";
    const LESSONS: &'static [u32] = &[21, 29, 24];
    const EXAMPLE: &'static str = r#"[probe.llm_routes]
lessons = [21, 29, 24]
every = "1h"
# the kit's usage database, opened read-only; never locks the writer
db = "/opt/compai/state/llm-usage.db"
window = "7days"
busy_hours = "09:00-19:00"
busy_timezone = "Europe/Madrid"
max_error_rate = 0.10
# team subscriptions that should carry internal work before pay-per-token routes do
subscription_routes = ["openai-codex/*"]
# free tiers are not infrastructure
free_tier = ["*:free", "*/qwen-turbo"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if !ident_ok(&self.table) {
            bad.push(Invalid::new(
                "table",
                "expected a plain SQL identifier (letters, digits, _)",
            ));
        }
        let c = &self.columns;
        for (k, v) in [
            ("ts", &c.ts),
            ("provider", &c.provider),
            ("model", &c.model),
            ("caller", &c.caller),
            ("ok", &c.ok),
            ("error", &c.error),
            ("latency_ms", &c.latency_ms),
            ("cost", &c.cost),
        ] {
            if !ident_ok(v) {
                bad.push(Invalid::new(
                    format!("columns.{k}"),
                    "expected a plain SQL identifier (letters, digits, _)",
                ));
            }
        }
        if parse_hours(&self.busy_hours).is_none() {
            bad.push(Invalid::new(
                "busy_hours",
                "expected \"HH:MM-HH:MM\", e.g. \"09:00-18:00\"",
            ));
        }
        if self.busy_timezone.parse::<chrono_tz::Tz>().is_err() {
            bad.push(Invalid::new(
                "busy_timezone",
                "expected an IANA time zone name, e.g. \"Europe/Madrid\"",
            ));
        }
        if !(0.0..=1.0).contains(&self.max_error_rate) {
            bad.push(Invalid::new(
                "max_error_rate",
                "expected a rate from 0 to 1",
            ));
        }
        if self.max_p95_ratio < 1.0 {
            bad.push(Invalid::new("max_p95_ratio", "expected at least 1.0"));
        }
        Invalid::require_at_least_1(&mut bad, "min_calls", self.min_calls);
        Invalid::require_longer_than_0s(&mut bad, "window", self.window);
        Invalid::require_longer_than_0s(&mut bad, "statement_timeout", self.statement_timeout);
        Invalid::require_at_least_1(&mut bad, "max_rows", self.max_rows);
        Invalid::require_regex(&mut bad, "rate_limit_pattern", &self.rate_limit_pattern);
        for (key, list) in [
            ("subscription_routes", &self.subscription_routes),
            ("free_tier", &self.free_tier),
        ] {
            for (i, g) in list.iter().enumerate() {
                // an empty entry is a pack variable left unset: ignored
                if !g.trim().is_empty() && glob_re(g).is_none() {
                    bad.push(Invalid::new(
                        format!("{key}[{i}]"),
                        "expected a \"provider/model\" glob",
                    ));
                }
            }
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let db = cx.resolve(&self.db);
        let now = cx.now;
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.look(&db, now)).await {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("llm usage check failed: {e}")),
        }
    }
}

/// One call as read from the database.
struct Call {
    at: DateTime<Utc>,
    provider: String,
    route: String,
    caller: String,
    ok: bool,
    rate_limited: bool,
    latency_ms: f64,
    cost: f64,
}

/// Calls of one window (busy or quiet) of one route.
#[derive(Default)]
struct Stats {
    calls: usize,
    errors: usize,
    limited: usize,
    latencies: Vec<f64>,
}

impl Stats {
    fn add(&mut self, c: &Call) {
        self.calls += 1;
        if !c.ok {
            self.errors += 1;
        }
        if c.rate_limited {
            self.limited += 1;
        }
        self.latencies.push(c.latency_ms);
    }
    fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
    }
    fn limited_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.limited as f64 / self.calls as f64
        }
    }
    /// Nearest-rank percentile, milliseconds.
    fn p(&mut self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        self.latencies.sort_by(|a, b| a.total_cmp(b));
        let rank = ((q * self.latencies.len() as f64).ceil() as usize).max(1);
        self.latencies[rank.min(self.latencies.len()) - 1]
    }
}

fn pct(r: f64) -> String {
    format!("{:.0}%", r * 100.0)
}

fn secs(ms: f64) -> String {
    format!("{:.1}s", ms / 1000.0)
}

/// A message for a read that failed: missing file, busy, timed out, or other.
fn describe_sql(e: &rusqlite::Error, db: &Path) -> String {
    let msg = e.to_string();
    if msg.contains("interrupted") {
        format!(
            "{}: query interrupted after the statement timeout",
            db.display()
        )
    } else {
        format!("{}: {msg}", db.display())
    }
}

impl LlmUsage {
    fn read_calls(&self, db: &Path, since: DateTime<Utc>) -> Result<(Vec<Call>, bool), String> {
        match std::fs::metadata(db) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(format!("{}: not a regular file", db.display())),
            Err(e) => return Err(format!("{}: {e}", db.display())),
        }
        // `mode=ro` in a URI: never creates the file, never writes
        let mut uri = String::from("file:");
        for b in db.to_string_lossy().bytes() {
            match b {
                b'?' | b'#' | b'%' => uri.push_str(&format!("%{b:02X}")),
                _ => uri.push(b as char),
            }
        }
        uri.push_str("?mode=ro");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            rusqlite::Connection::open_with_flags(&uri, flags).map_err(|e| describe_sql(&e, db))?;
        conn.busy_timeout(Duration::from_millis(500))
            .map_err(|e| describe_sql(&e, db))?;
        conn.execute_batch("PRAGMA query_only = 1;")
            .map_err(|e| describe_sql(&e, db))?;
        let deadline = Instant::now() + self.statement_timeout;
        conn.progress_handler(10_000, Some(move || Instant::now() > deadline))
            .map_err(|e| describe_sql(&e, db))?;
        let c = &self.columns;
        let q = |s: &str| format!("\"{s}\"");
        // a text value is cut to MAX_TEXT characters inside SQLite: 40 rows of a 20 MB provider
        // name took 1.7 GB of RSS once copied into routes; numbers keep their type
        let t = |s: &str| {
            format!(
                "CASE WHEN typeof(\"{s}\") = 'text' THEN substr(\"{s}\", 1, {MAX_TEXT}) ELSE \"{s}\" END"
            )
        };
        let sql = format!(
            "SELECT {}, {}, {}, {}, {}, {}, {}, {} FROM {} WHERE {} >= ?1 ORDER BY {} DESC LIMIT ?2",
            t(&c.ts),
            t(&c.provider),
            t(&c.model),
            t(&c.caller),
            t(&c.ok),
            t(&c.error),
            t(&c.latency_ms),
            t(&c.cost),
            q(&self.table),
            q(&c.ts),
            q(&c.ts),
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| describe_sql(&e, db))?;
        let bound: rusqlite::types::Value = match self.ts_format {
            TsFormat::Iso => since.format("%Y-%m-%dT%H:%M:%S").to_string().into(),
            TsFormat::EpochS => since.timestamp().into(),
            TsFormat::EpochMs => since.timestamp_millis().into(),
        };
        let limit = i64::try_from(self.max_rows).unwrap_or(i64::MAX);
        let re = Regex::new(&self.rate_limit_pattern).map_err(|e| e.to_string())?;
        let mut rows = stmt
            .query(rusqlite::params![bound, limit.saturating_add(1)])
            .map_err(|e| describe_sql(&e, db))?;
        let mut calls = Vec::new();
        let mut capped = false;
        while let Some(r) = rows.next().map_err(|e| describe_sql(&e, db))? {
            if calls.len() >= self.max_rows {
                capped = true;
                break;
            }
            let text = |i: usize| -> String {
                match r.get_ref(i) {
                    Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                    Ok(ValueRef::Integer(n)) => n.to_string(),
                    Ok(ValueRef::Real(f)) => f.to_string(),
                    _ => String::new(),
                }
            };
            let num = |i: usize| -> f64 {
                match r.get_ref(i) {
                    Ok(ValueRef::Integer(n)) => n as f64,
                    Ok(ValueRef::Real(f)) => f,
                    Ok(ValueRef::Text(t)) => {
                        String::from_utf8_lossy(t).trim().parse().unwrap_or(0.0)
                    }
                    _ => 0.0,
                }
            };
            let at = match self.ts_format {
                TsFormat::Iso => parse_iso(&text(0)),
                TsFormat::EpochS => DateTime::from_timestamp(num(0) as i64, 0),
                TsFormat::EpochMs => DateTime::from_timestamp_millis(num(0) as i64),
            };
            let Some(at) = at else { continue };
            let provider = text(1);
            let model = text(2);
            let ok = match r.get_ref(4) {
                Ok(ValueRef::Integer(n)) => n != 0,
                Ok(ValueRef::Text(t)) => {
                    matches!(String::from_utf8_lossy(t).trim(), "1" | "true" | "ok")
                }
                Ok(ValueRef::Null) => true,
                _ => true,
            };
            let error = text(5);
            calls.push(Call {
                at,
                route: format!("{provider}/{model}"),
                provider,
                caller: {
                    let c = text(3);
                    if c.is_empty() { "(none)".into() } else { c }
                },
                ok,
                rate_limited: !ok && re.is_match(&error),
                latency_ms: num(6),
                cost: num(7),
            });
        }
        Ok((calls, capped))
    }

    fn is_busy(&self, at: DateTime<Utc>) -> bool {
        let Some((start, end)) = parse_hours(&self.busy_hours) else {
            return false;
        };
        let tz: chrono_tz::Tz = self.busy_timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = tz.from_utc_datetime(&at.naive_utc()).time();
        let m = |t: NaiveTime| i64::from(t.hour() * 60 + t.minute());
        let len = (m(end) - m(start)).rem_euclid(1440);
        let len = if len == 0 { 1440 } else { len };
        (m(local) - m(start)).rem_euclid(1440) < len
    }

    fn look(&self, db: &Path, now: DateTime<Utc>) -> Observation {
        let since = now - chrono::Duration::from_std(self.window).unwrap_or_default();
        let expected = format!(
            "busy-hour ({} {}) error rate at most {} and p95 within {}x quiet per route; cross-provider fallbacks; subscriptions used; no free tiers",
            self.busy_hours,
            self.busy_timezone,
            pct(self.max_error_rate),
            self.max_p95_ratio
        );
        let (mut calls, capped) = match self.read_calls(db, since) {
            Ok(c) => c,
            Err(e) => {
                return Observation::unknown(format!("cannot read usage: {e}"))
                    .expected(expected)
                    .evidence("db", db.display());
            }
        };
        calls.sort_by_key(|c| c.at);
        let mut findings: Vec<Finding> = Vec::new();

        // 1. per caller and route: busy vs quiet (lesson 21)
        let routes = self.judge_peaks(&calls, &mut findings);
        // 2. fallbacks that stay within one provider (lesson 21)
        if self.check_fallbacks {
            self.judge_fallbacks(&calls, &mut findings);
        }
        // 3. idle paid subscriptions while metered routes carry traffic (lesson 29)
        self.judge_subscriptions(&calls, &mut findings);
        // 4. free tiers as routes (lesson 24)
        self.judge_free_tiers(&calls, &mut findings);

        findings.sort_by_key(|f| std::cmp::Reverse(f.0.rank()));
        let mut obs = super::led_by(&findings, |f| f.0, |f| f.3.clone()).unwrap_or_else(|| {
            Observation::ok(format!(
                "{} calls on {} caller/route pairs in {}: no route collapses at peak",
                calls.len(),
                routes,
                humantime::format_duration(self.window)
            ))
        });
        obs = obs.expected(expected).evidence("db", db.display());
        for (_, lesson, key, detail) in findings.iter().take(MAX_LISTED) {
            obs = obs.evidence(key, format!("lesson {lesson}: {detail}"));
        }
        if findings.len() > MAX_LISTED {
            obs = obs.evidence("more", format!("{} more", findings.len() - MAX_LISTED));
        }
        if capped {
            obs = obs.evidence(
                "max_rows",
                format!("read the newest {} rows only", self.max_rows),
            );
        }
        obs.metric("calls", calls.len() as f64)
            .metric("findings", findings.len() as f64)
    }

    /// Lesson 21: per caller and route, busy-hour error rate and p95 against quiet hours.
    /// Returns how many caller/route pairs were seen.
    fn judge_peaks(&self, calls: &[Call], findings: &mut Vec<Finding>) -> usize {
        let mut by_route: BTreeMap<(String, String), (Stats, Stats)> = BTreeMap::new();
        for c in calls {
            let e = by_route
                .entry((c.caller.clone(), c.route.clone()))
                .or_default();
            if self.is_busy(c.at) {
                e.0.add(c);
            } else {
                e.1.add(c);
            }
        }
        for ((caller, route), (busy, quiet)) in &mut by_route {
            if busy.calls < self.min_calls {
                continue;
            }
            let (be, qe) = (busy.error_rate(), quiet.error_rate());
            let (bp, qp) = (busy.p(0.95), quiet.p(0.95));
            let quiet_known = quiet.calls >= self.min_calls;
            let detail = format!(
                "caller {caller} route {route}: busy {} calls, errors {} (429 {}), p95 {}; quiet {} calls, errors {}, p95 {}",
                busy.calls,
                pct(be),
                pct(busy.limited_rate()),
                secs(bp),
                quiet.calls,
                pct(qe),
                secs(qp)
            );
            if be > self.max_error_rate {
                let what = if quiet_known && qe <= self.max_error_rate {
                    "collapses at peak"
                } else {
                    "fails in busy hours"
                };
                findings.push((
                    Health::Critical,
                    21,
                    "peak_collapse".into(),
                    format!("{what}: {detail}"),
                ));
            } else if quiet_known
                && bp > self.min_p95.as_millis() as f64
                && qp > 0.0
                && bp / qp >= self.max_p95_ratio
            {
                findings.push((
                    Health::Degraded,
                    21,
                    "peak_latency".into(),
                    format!("p95 {:.1}x slower at peak: {detail}", bp / qp),
                ));
            }
        }
        by_route.len()
    }

    /// Lesson 21: a failed call followed within `fallback_gap` by the same caller's call on
    /// another route of the same provider. `calls` are in time order.
    fn judge_fallbacks(&self, calls: &[Call], findings: &mut Vec<Finding>) {
        let gap = chrono::Duration::from_std(self.fallback_gap).unwrap_or_default();
        let mut last_fail: BTreeMap<&str, &Call> = BTreeMap::new();
        let mut same: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for c in calls {
            if let Some(prev) = last_fail.get(c.caller.as_str())
                && c.route != prev.route
                && c.at - prev.at <= gap
                && c.provider == prev.provider
            {
                *same
                    .entry((c.caller.clone(), prev.route.clone(), c.route.clone()))
                    .or_default() += 1;
            }
            if c.ok {
                last_fail.remove(c.caller.as_str());
            } else {
                last_fail.insert(&c.caller, c);
            }
        }
        for ((caller, from, to), n) in same {
            findings.push((
                Health::Degraded,
                21,
                "same_provider_fallback".into(),
                format!(
                    "caller {caller} fell back from {from} to {to} ({n} times): same provider, so a provider outage takes both"
                ),
            ));
        }
    }

    /// Lesson 29: a paid subscription route with no calls while metered routes carry at least
    /// `min_calls`.
    fn judge_subscriptions(&self, calls: &[Call], findings: &mut Vec<Finding>) {
        let subs = globs(&self.subscription_routes);
        if subs.is_empty() {
            return;
        }
        let metered: Vec<&Call> = calls
            .iter()
            .filter(|c| !subs.iter().any(|(_, r)| r.is_match(&c.route)))
            .collect();
        let spend: f64 = metered.iter().map(|c| c.cost).sum();
        if metered.len() < self.min_calls {
            return;
        }
        for (g, r) in &subs {
            let used = calls.iter().filter(|c| r.is_match(&c.route)).count();
            if used == 0 {
                findings.push((
                    Health::Degraded,
                    29,
                    "idle_subscription".into(),
                    format!(
                        "paid subscription route {g} carried no calls in {} while metered routes carried {} calls ({spend:.2} spent)",
                        humantime::format_duration(self.window),
                        metered.len()
                    ),
                ));
            }
        }
    }

    /// Lesson 24: callers served by a free-tier route.
    fn judge_free_tiers(&self, calls: &[Call], findings: &mut Vec<Finding>) {
        let free = globs(&self.free_tier);
        if free.is_empty() {
            return;
        }
        let mut on_free: BTreeMap<(String, String), usize> = BTreeMap::new();
        for c in calls {
            if free.iter().any(|(_, r)| r.is_match(&c.route)) {
                *on_free
                    .entry((c.caller.clone(), c.route.clone()))
                    .or_default() += 1;
            }
        }
        for ((caller, route), n) in on_free {
            findings.push((
                Health::Degraded,
                24,
                "free_tier_route".into(),
                format!("caller {caller} uses free-tier route {route} ({n} calls)"),
            ));
        }
    }
}

/// A finding: its health, the lesson it checks, its evidence key and what was seen.
type Finding = (Health, u32, String, String);

/// The non-blank globs in `list`, each with its compiled pattern (ones that do not compile are
/// left out).
fn globs(list: &[String]) -> Vec<(String, Regex)> {
    list.iter()
        .filter(|g| !g.trim().is_empty())
        .filter_map(|g| glob_re(g).map(|r| (g.clone(), r)))
        .collect()
}

fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look_with};

    /// 2026-07-20 is a Monday; busy hours 09:00-18:00 Europe/Madrid (UTC+2).
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-07-20T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    struct Row<'a> {
        at: DateTime<Utc>,
        provider: &'a str,
        model: &'a str,
        caller: &'a str,
        ok: bool,
        error: &'a str,
        latency: i64,
        cost: f64,
    }

    /// The kit's schema, in WAL mode as a busy writer would keep it.
    fn make_db(path: &Path, rows: &[Row]) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE llm_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL,
               provider TEXT NOT NULL, model TEXT NOT NULL, tokens_in INTEGER DEFAULT 0,
               tokens_out INTEGER DEFAULT 0, cost_usd REAL DEFAULT 0.0, latency_ms INTEGER DEFAULT 0,
               caller TEXT, ok INTEGER DEFAULT 1, error TEXT);",
        )
        .unwrap();
        insert(&c, rows);
        c
    }

    fn insert(c: &rusqlite::Connection, rows: &[Row]) {
        for r in rows {
            c.execute(
                "INSERT INTO llm_usage (ts, provider, model, cost_usd, latency_ms, caller, ok, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    r.at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
                    r.provider,
                    r.model,
                    r.cost,
                    r.latency,
                    r.caller,
                    r.ok as i64,
                    if r.ok { None } else { Some(r.error) },
                ],
            )
            .unwrap();
        }
    }

    /// A healthy week: cs-factory on anthropic/sonnet around the clock, quick and clean.
    fn healthy() -> Vec<Row<'static>> {
        let mut rows = Vec::new();
        for day in 1..=5 {
            for hour in 0..24 {
                let at = now() - chrono::Duration::days(day) + chrono::Duration::hours(hour - 20);
                rows.push(Row {
                    at,
                    provider: "anthropic",
                    model: "sonnet-4.5",
                    caller: "cs-factory:drafter",
                    ok: true,
                    error: "",
                    latency: 900 + hour * 10,
                    cost: 0.01,
                });
            }
        }
        rows
    }

    /// Looks at `dir` now, with the probe table `extra` and no prior run.
    async fn look_now(dir: &Path, extra: &str) -> Observation {
        look_with(&probe(extra), dir, None, now()).await
    }

    fn probe(extra: &str) -> LlmUsage {
        let db = if extra.starts_with("db") {
            ""
        } else {
            "db = \"usage.db\"\n"
        };
        testkit::parse(&format!(
            "{db}busy_hours = \"09:00-18:00\"\nbusy_timezone = \"Europe/Madrid\"\nmin_calls = 10\n{extra}"
        ))
    }

    #[tokio::test]
    async fn healthy_week_is_ok_and_the_writer_is_never_blocked() {
        let d = tempfile::tempdir().unwrap();
        let writer = make_db(&d.path().join("usage.db"), &healthy());
        // the writer holds an open write transaction while ledgerd reads
        writer.execute_batch("BEGIN IMMEDIATE;").unwrap();
        insert(&writer, &healthy()[..1]);
        let o = look_now(d.path(), "").await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(
            o.summary.starts_with("120 calls on 1 caller/route pairs"),
            "{o:?}"
        );
        writer.execute_batch("COMMIT;").unwrap();
        // and can write again right after
        insert(&writer, &healthy()[..1]);
        assert!(
            !d.path()
                .join("usage.db")
                .with_extension("db-journal")
                .exists()
        );
    }

    /// Huge text columns are cut inside SQLite: 40 rows of a 20 MB provider took 1.7 GB RSS.
    #[test]
    fn huge_text_columns_are_cut_before_they_are_copied() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("usage.db");
        let huge = "x".repeat(200_000);
        let mut rows = healthy();
        for r in &mut rows {
            r.provider = &huge;
            r.caller = &huge;
        }
        drop(make_db(&path, &rows));
        let (calls, capped) = probe("")
            .read_calls(&path, now() - chrono::Duration::days(7))
            .unwrap();
        assert!(!capped);
        assert_eq!(calls.len(), 120);
        for c in &calls {
            assert_eq!(c.provider.len(), MAX_TEXT);
            assert_eq!(c.caller.len(), MAX_TEXT);
            assert_eq!(c.route.len(), MAX_TEXT + "/sonnet-4.5".len());
            assert!(
                c.ok && c.latency_ms >= 900.0 && c.cost > 0.0,
                "numbers keep their type"
            );
        }
    }

    #[tokio::test]
    async fn busy_hour_failures_are_a_peak_collapse() {
        let d = tempfile::tempdir().unwrap();
        let mut rows = healthy();
        // the cheap route: fine at night, 429s and slow answers in Madrid's working hours
        for day in 1..=5 {
            for hour in 0..24 {
                let at = now() - chrono::Duration::days(day) + chrono::Duration::hours(hour - 20);
                let local_hour = (hour + 2) % 24;
                let busy = (9..18).contains(&local_hour);
                for k in 0..3 {
                    let fail = busy && k < 2;
                    rows.push(Row {
                        at: at + chrono::Duration::minutes(k * 10),
                        provider: "qwen",
                        model: "qwen-turbo",
                        caller: "ops:summaries",
                        ok: !fail,
                        error: "HTTP 429 Too Many Requests: key sk-live-abcdef123456",
                        latency: if busy { 9000 } else { 700 },
                        cost: 0.0001,
                    });
                    if fail {
                        // the runtime retries on the same provider
                        rows.push(Row {
                            at: at
                                + chrono::Duration::minutes(k * 10)
                                + chrono::Duration::seconds(5),
                            provider: "qwen",
                            model: "qwen-plus",
                            caller: "ops:summaries",
                            ok: true,
                            error: "",
                            latency: 3000,
                            cost: 0.001,
                        });
                    }
                }
            }
        }
        make_db(&d.path().join("usage.db"), &rows);
        let o = look_now(d.path(), "free_tier = [\"*/qwen-turbo\"]").await;
        let t = testkit::assert_says(
            &o,
            Health::Critical,
            &[
                "collapses at peak: caller ops:summaries route qwen/qwen-turbo: busy 135 calls, errors 67% (429 67%), p95 9.0s; quiet 225 calls, errors 0%, p95 0.7s",
                "lesson 21: caller ops:summaries fell back from qwen/qwen-turbo to qwen/qwen-plus (90 times): same provider",
                "lesson 24: caller ops:summaries uses free-tier route qwen/qwen-turbo (360 calls)",
            ],
        );
        assert!(!t.contains("sk-live"), "error texts are never quoted: {t}");
        testkit::assert_lacks(&t, &["anthropic/sonnet"]);
    }

    #[tokio::test]
    async fn idle_subscription_is_degraded() {
        let d = tempfile::tempdir().unwrap();
        make_db(&d.path().join("usage.db"), &healthy());
        let o = look_now(d.path(), "subscription_routes = [\"openai-codex/*\"]").await;
        assert_finding(
            &o,
            Health::Degraded,
            "paid subscription route openai-codex/* carried no calls in 7days while metered routes carried 120 calls (1.20 spent)",
        );
    }

    #[tokio::test]
    async fn missing_db_wrong_table_or_corrupt_file_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let o = look_now(d.path(), "").await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
        assert!(!d.path().join("usage.db").exists(), "never created");
        make_db(&d.path().join("usage.db"), &healthy());
        let o = look_now(d.path(), "table = \"calls\"").await;
        assert_finding(&o, Health::Unknown, "no such table: calls");
        std::fs::write(d.path().join("junk.db"), vec![7u8; 8192]).unwrap();
        let o = look_now(d.path(), "db = \"junk.db\"").await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
    }

    #[test]
    fn validate_names_the_key() {
        let keys = testkit::invalid_keys::<LlmUsage>(
            "db = \"x\"\ntable = \"a;drop\"\ncolumns = { ts = \"t s\" }\nbusy_hours = \"9-5\"\nbusy_timezone = \"Mars/Base\"\nmax_error_rate = 2.0",
        );
        assert_eq!(
            keys,
            [
                "table",
                "columns.ts",
                "busy_hours",
                "busy_timezone",
                "max_error_rate"
            ]
        );
    }
}
