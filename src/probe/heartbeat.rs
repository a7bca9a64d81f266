//! `heartbeat`: judges a heartbeat someone else writes (an OpenClaw heartbeat run, the kit's
//! agent-runner log line, a watchdog's `watchdog-state.json`, ledgerd's own heartbeat watched
//! from another host). "No report is red": a missing heartbeat is critical, and so is one nobody
//! can read (an unparseable timestamp is a failed heartbeat). It also catches lesson 28's
//! failure: an upgraded runtime writes a heartbeat document the schema no longer accepts. It
//! only reads the file; it never touches or rewrites a heartbeat.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The heartbeat file (`~/` and paths relative to the config file are resolved).
    path: PathBuf,
    /// Where the last beat's time comes from: "mtime" (default, the file's modification time),
    /// "last_line" (the last non-empty line: an RFC 3339/ISO timestamp anywhere in it, leading
    /// epoch seconds or milliseconds, or, when `field` is set, the line parsed as JSON and that
    /// field taken) or "json_field" (the whole file is JSON; `field` holds the time).
    #[serde(default)]
    source: Source,
    /// The timestamp's key: a JSONPath (`$.last.at`) or a dotted key (`heartbeat.last_run`).
    /// Its value is an RFC 3339 string (no offset = UTC) or epoch seconds/milliseconds.
    /// Required with source "json_field", optional with "last_line", not used with "mtime".
    field: Option<String>,
    /// Oldest healthy heartbeat, e.g. "30m". Give this or `interval`.
    #[serde(default, deserialize_with = "crate::duration::de_opt")]
    max_age: Option<Duration>,
    /// The writer's interval; `max_age` becomes twice this (lesson 28: within 2x `every`).
    #[serde(default, deserialize_with = "crate::duration::de_opt")]
    interval: Option<Duration>,
    /// When beats are expected, "HH:MM-HH:MM" (may wrap past midnight). Outside it a stale
    /// heartbeat is ok, and for `max_age` after the window opens too. Default: always.
    active_hours: Option<String>,
    /// IANA time zone of `active_hours`, e.g. "Europe/Madrid". Default "UTC".
    active_timezone: Option<String>,
    /// A JSON Schema file (any draft, detected) the heartbeat document must satisfy. The document
    /// is the whole file, or the last line with source "last_line". Default: none.
    schema: Option<PathBuf>,
    /// Key paths (JSONPath or dotted) that must exist in the heartbeat document. Default none.
    #[serde(default)]
    require_keys: Vec<String>,
    /// Key paths (JSONPath or dotted) that must not exist in the heartbeat document. Default none.
    #[serde(default)]
    forbid_keys: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Source {
    #[default]
    Mtime,
    LastLine,
    JsonField,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Mtime => "mtime",
            Source::LastLine => "last_line",
            Source::JsonField => "json_field",
        }
    }
}

/// Bytes read from the end of a file to find its last line.
const TAIL_BYTES: u64 = 64 * 1024;
/// Largest heartbeat document read whole.
const MAX_DOC_BYTES: u64 = 4 * 1024 * 1024;
/// Most schema failures named in the summary.
const MAX_FAILURES: usize = 5;

impl Probe for Heartbeat {
    const KIND: &'static str = "heartbeat";
    const SUMMARY: &'static str = "a heartbeat file is fresh (mtime, last line or JSON field), in active hours, and matches its schema";
    const LESSONS: &'static [u32] = &[28];
    const EXAMPLE: &'static str = r#"[probe.hub_watchdog_heartbeat]
lesson = 28
every = "5m"
# the OpenClaw heartbeat runs every 30m, 08:00-23:00 Europe/Madrid; no report is red
path = "/home/hub/.openclaw/watchdog-state.json"
source = "json_field"
field = "$.last_heartbeat_at"
interval = "30m"
active_hours = "08:00-23:00"
active_timezone = "Europe/Madrid"
# lesson 28: an upgrade that changes the heartbeat document must not pass silently
schema = "schemas/watchdog-state.schema.json"
require_keys = ["current_version"]
forbid_keys = ["gateway.heartbeat"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        match (self.max_age, self.interval) {
            (None, None) => bad.push(Invalid::new("max_age", "expected `max_age` or `interval`")),
            (Some(_), Some(_)) => bad.push(Invalid::new(
                "interval",
                "give either `max_age` or `interval`, not both",
            )),
            (Some(d), None) | (None, Some(d)) if d.is_zero() => {
                bad.push(Invalid::new("max_age", "must be longer than 0s"))
            }
            _ => {}
        }
        match (self.source, &self.field) {
            (Source::JsonField, None) => bad.push(Invalid::new(
                "field",
                "expected the timestamp's key with source \"json_field\"",
            )),
            (Source::Mtime, Some(_)) => bad.push(Invalid::new(
                "field",
                "not used with source \"mtime\"; use \"json_field\" or \"last_line\"",
            )),
            _ => {}
        }
        if let Some(f) = &self.field
            && let Err(e) = KeyPath::parse(f)
        {
            bad.push(Invalid::new("field", e));
        }
        for (key, list) in [
            ("require_keys", &self.require_keys),
            ("forbid_keys", &self.forbid_keys),
        ] {
            for (i, k) in list.iter().enumerate() {
                if let Err(e) = KeyPath::parse(k) {
                    bad.push(Invalid::new(format!("{key}[{i}]"), e));
                }
            }
        }
        if let Some(h) = &self.active_hours
            && parse_hours(h).is_none()
        {
            bad.push(Invalid::new(
                "active_hours",
                "expected \"HH:MM-HH:MM\", e.g. \"08:00-23:00\"",
            ));
        }
        if let Some(tz) = &self.active_timezone {
            if tz.parse::<chrono_tz::Tz>().is_err() {
                bad.push(Invalid::new(
                    "active_timezone",
                    "expected an IANA time zone name, e.g. \"Europe/Madrid\"",
                ));
            }
            if self.active_hours.is_none() {
                bad.push(Invalid::new(
                    "active_timezone",
                    "only meaningful with `active_hours`",
                ));
            }
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let path = cx.resolve(&self.path);
        let schema = self.schema.as_ref().map(|s| cx.resolve(s));
        let now = cx.now;
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.look(&path, schema.as_deref(), now)).await {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("heartbeat check failed: {e}")),
        }
    }
}

impl Heartbeat {
    fn max_age(&self) -> Duration {
        match (self.max_age, self.interval) {
            (Some(m), _) => m,
            (None, Some(i)) => i * 2,
            (None, None) => Duration::from_secs(0),
        }
    }

    fn look(&self, path: &Path, schema: Option<&Path>, now: DateTime<Utc>) -> Observation {
        let max_age = self.max_age();
        let expected = format!(
            "a heartbeat younger than {} ({})",
            humantime::format_duration(max_age),
            self.source.as_str()
        );
        let base = |o: Observation| {
            o.expected(expected.clone())
                .evidence("path", path.display())
                .evidence("source", self.source.as_str())
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return base(Observation::critical(format!(
                    "no heartbeat at {}",
                    path.display()
                )));
            }
            Err(e) => {
                return base(Observation::unknown(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let text = match self.read_text(path, schema) {
            Ok(t) => t,
            Err(e) => return base(Observation::unknown(e)),
        };
        // The heartbeat document: the whole file, or the last line with source "last_line".
        let doc_text = match (&text, self.source) {
            (Some(t), Source::LastLine) => t.lines().rev().find(|l| !l.trim().is_empty()),
            (Some(t), _) => Some(t.as_str()),
            (None, _) => None,
        };

        let mut problems: Vec<String> = Vec::new();
        let mut obs_extra: Vec<(String, String)> = Vec::new();

        // 1. the document itself: schema, required and forbidden keys
        if let Err(e) = self.check_doc(doc_text, schema, &mut problems, &mut obs_extra) {
            return base(Observation::unknown(e));
        }
        // 2. the last beat's time, and its age
        let last = self.last_beat(&meta, doc_text);
        let (stale_ok_reason, age_secs) =
            self.judge_age(path, &last, now, max_age, &mut problems, &mut obs_extra);

        let mut obs = if problems.is_empty() {
            match (&last, stale_ok_reason) {
                (Ok(_), Some(why)) => Observation::ok(format!("heartbeat stale but {why}"))
                    .evidence("active_hours", why),
                _ => Observation::ok(format!(
                    "last heartbeat {} ago",
                    obs_extra
                        .iter()
                        .find(|(k, _)| k == "age")
                        .map_or("?", |(_, v)| v.as_str())
                )),
            }
        } else {
            Observation::new(Health::Critical, problems.join("; "))
        };
        obs = base(obs);
        for (k, v) in obs_extra {
            obs = obs.evidence(k, v);
        }
        if let Some(a) = age_secs {
            obs = obs.metric("age_seconds", a as f64);
        }
        obs
    }

    /// The file's text when anything beyond its mtime is needed, else `None`; a read failure is
    /// the message of the unknown observation to report.
    fn read_text(&self, path: &Path, schema: Option<&Path>) -> Result<Option<String>, String> {
        let needs_doc = self.source != Source::Mtime
            || schema.is_some()
            || !self.require_keys.is_empty()
            || !self.forbid_keys.is_empty();
        if !needs_doc {
            return Ok(None);
        }
        // Through the bounded reader (`look` runs on the blocking pool): a FIFO is refused,
        // a document past MAX_DOC_BYTES is "truncated at N", a log is read from its tail.
        let read = if self.source == Source::LastLine {
            match crate::read::tail(path, TAIL_BYTES) {
                // the tail of a long file with no full line: its last line is too long to judge
                Ok((t, true)) if t.trim().is_empty() => {
                    return Err(format!(
                        "cannot read {}: its last line is longer than {TAIL_BYTES} bytes; not judged",
                        path.display()
                    ));
                }
                r => r.map(|(t, _)| t),
            }
        } else {
            crate::read::text_lossy(path, MAX_DOC_BYTES)
        };
        match read {
            Ok(t) => Ok(Some(t)),
            Err(e) => Err(format!("cannot read {}: {}", path.display(), e.reason())),
        }
    }

    /// Checks the heartbeat document against `schema`, `require_keys` and `forbid_keys`, adding
    /// to `problems` and `obs_extra`; an unusable schema is the message of the unknown
    /// observation to report.
    fn check_doc(
        &self,
        doc_text: Option<&str>,
        schema: Option<&Path>,
        problems: &mut Vec<String>,
        obs_extra: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        let doc: Option<Value> = doc_text.and_then(|t| serde_json::from_str(t.trim()).ok());
        let checks_doc =
            schema.is_some() || !self.require_keys.is_empty() || !self.forbid_keys.is_empty();
        if !checks_doc {
            return Ok(());
        }
        let d = match &doc {
            // with a JSON `field` the timestamp check already says so
            None if self.field.is_some() => return Ok(()),
            None => {
                problems.push("heartbeat document is not JSON".into());
                return Ok(());
            }
            Some(d) => d,
        };
        if let Some(s) = schema {
            match schema_failures(s, d) {
                Ok(fails) if fails.is_empty() => {}
                Ok(fails) => {
                    let n = fails.len();
                    let shown: Vec<&str> = fails
                        .iter()
                        .take(MAX_FAILURES)
                        .map(String::as_str)
                        .collect();
                    problems.push(format!(
                        "heartbeat schema drift: {n} failure(s) at {}",
                        shown.join(", ")
                    ));
                    obs_extra.push(("schema".into(), s.display().to_string()));
                }
                Err(e) => {
                    return Err(format!("cannot use schema {}: {e}", s.display()));
                }
            }
        }
        for k in &self.require_keys {
            if KeyPath::parse(k).is_ok_and(|p| p.get(d).is_none()) {
                problems.push(format!("heartbeat lacks required key {k}"));
            }
        }
        for k in &self.forbid_keys {
            if KeyPath::parse(k).is_ok_and(|p| p.get(d).is_some()) {
                problems.push(format!("heartbeat has forbidden key {k}"));
            }
        }
        Ok(())
    }

    /// The last beat's time from the configured source, or why it cannot be read.
    fn last_beat(
        &self,
        meta: &std::fs::Metadata,
        doc_text: Option<&str>,
    ) -> Result<DateTime<Utc>, String> {
        match self.source {
            Source::Mtime => meta
                .modified()
                .map(DateTime::<Utc>::from)
                .map_err(|e| format!("no modification time: {e}")),
            Source::JsonField | Source::LastLine => match (&self.field, doc_text) {
                (_, None) => Err("heartbeat file is empty".into()),
                (Some(f), Some(t)) => match serde_json::from_str::<Value>(t.trim()) {
                    Err(_) => Err("heartbeat is not JSON".into()),
                    Ok(d) => match KeyPath::parse(f).ok().and_then(|p| p.get(&d)) {
                        None => Err(format!("heartbeat has no {f}")),
                        Some(v) => {
                            time_from_value(&v).ok_or_else(|| format!("{f} is not a timestamp"))
                        }
                    },
                },
                (None, Some(line)) => {
                    time_in_line(line).ok_or_else(|| "last line holds no timestamp".to_string())
                }
            },
        }
    }

    /// Judges the last beat's age against `max_age` and active hours, adding to `problems` and
    /// `obs_extra`; returns why a stale beat is still ok (if it is) and the age in seconds.
    fn judge_age(
        &self,
        path: &Path,
        last: &Result<DateTime<Utc>, String>,
        now: DateTime<Utc>,
        max_age: Duration,
        problems: &mut Vec<String>,
        obs_extra: &mut Vec<(String, String)>,
    ) -> (Option<&'static str>, Option<i64>) {
        let mut stale_ok_reason = None;
        let mut age_secs = None;
        match last {
            // an alert shows the summary: a heartbeat that cannot be read names its file
            Err(e) => problems.push(format!("unreadable heartbeat {}: {e}", path.display())),
            Ok(t) => {
                let age = now.signed_duration_since(*t);
                let age_std = age.to_std().unwrap_or_default();
                age_secs = Some(age.num_seconds());
                obs_extra.push(("last_heartbeat".into(), t.to_rfc3339()));
                obs_extra.push(("age".into(), fmt_age(age_std)));
                if age.num_seconds() < -60 {
                    obs_extra.push(("clock".into(), "last heartbeat is in the future".into()));
                }
                if age_std > max_age {
                    match self.active_state(now, max_age) {
                        Active::Outside => stale_ok_reason = Some("outside active hours"),
                        Active::JustOpened => {
                            stale_ok_reason = Some("active hours began less than max_age ago")
                        }
                        Active::Inside => problems.push(format!(
                            "last heartbeat {} ago (max {})",
                            fmt_age(age_std),
                            humantime::format_duration(max_age)
                        )),
                    }
                }
            }
        }
        (stale_ok_reason, age_secs)
    }

    fn active_state(&self, now: DateTime<Utc>, max_age: Duration) -> Active {
        let Some((start, end)) = self.active_hours.as_deref().and_then(parse_hours) else {
            return Active::Inside;
        };
        let tz: chrono_tz::Tz = self
            .active_timezone
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let local = tz.from_utc_datetime(&now.naive_utc()).time();
        let mins = |t: NaiveTime| i64::from(t.hour() * 60 + t.minute());
        let len = (mins(end) - mins(start)).rem_euclid(1440);
        let len = if len == 0 { 1440 } else { len };
        let since_open = (mins(local) - mins(start)).rem_euclid(1440);
        if since_open >= len {
            Active::Outside
        } else if (since_open as u64) * 60 < max_age.as_secs() {
            Active::JustOpened
        } else {
            Active::Inside
        }
    }
}

enum Active {
    Inside,
    /// Inside, but the window opened less than `max_age` ago: the first beat is not due yet.
    JustOpened,
    Outside,
}

fn parse_hours(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = s.split_once('-')?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
    Some((a, b))
}

fn fmt_age(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// Instance paths (and failing keywords) where the document breaks the schema. No instance
/// values are included: a heartbeat may carry more than timestamps.
fn schema_failures(schema: &Path, doc: &Value) -> Result<Vec<String>, String> {
    let text = crate::read::text_lossy(schema, MAX_DOC_BYTES).map_err(|e| e.to_string())?;
    let schema: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
    Ok(validator
        .iter_errors(doc)
        .map(|e| {
            let at = e.instance_path().as_str();
            let at = if at.is_empty() { "/" } else { at };
            let keyword = e
                .schema_path()
                .as_str()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            format!("{at} ({keyword})")
        })
        .collect())
}

/// A key path in a JSON document: a JSONPath (`$...`) or dotted keys (`a.b.0`).
enum KeyPath {
    Json(serde_json_path::JsonPath),
    Dotted(Vec<String>),
}

impl KeyPath {
    fn parse(s: &str) -> Result<KeyPath, String> {
        if s.starts_with('$') {
            super::expect::parse_path(s)
                .map(KeyPath::Json)
                .map_err(|e| format!("invalid JSONPath {s:?}: {e}"))
        } else if s.is_empty() || s.split('.').any(str::is_empty) {
            Err(format!(
                "invalid key path {s:?}: expected dotted keys or a JSONPath"
            ))
        } else {
            Ok(KeyPath::Dotted(s.split('.').map(str::to_string).collect()))
        }
    }

    fn get(&self, doc: &Value) -> Option<Value> {
        match self {
            KeyPath::Json(p) => p.query(doc).first().cloned(),
            KeyPath::Dotted(keys) => {
                let mut cur = doc;
                for k in keys {
                    cur = match cur {
                        Value::Object(m) => m.get(k)?,
                        Value::Array(a) => a.get(k.parse::<usize>().ok()?)?,
                        _ => return None,
                    };
                }
                Some(cur.clone())
            }
        }
    }
}

fn time_from_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => {
            parse_time(s.trim()).or_else(|| s.trim().parse::<f64>().ok().and_then(from_epoch))
        }
        Value::Number(n) => n.as_f64().and_then(from_epoch),
        _ => None,
    }
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds.
fn from_epoch(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let secs = if x > 1e11 { x / 1000.0 } else { x };
    DateTime::from_timestamp(secs.trunc() as i64, ((secs.fract()) * 1e9) as u32)
}

/// RFC 3339, or ISO 8601 without offset (taken as UTC), with `T` or a space.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A timestamp in a log line: the first ISO/RFC 3339 timestamp anywhere, else leading epoch
/// seconds or milliseconds (`1767225600\theartbeat\thub`).
fn time_in_line(line: &str) -> Option<DateTime<Utc>> {
    use crate::patterns::{EPOCH_TIME, ISO_TIME};
    if let Some(t) = ISO_TIME
        .find_iter(line)
        .find_map(|m| parse_time(m.as_str()))
    {
        return Some(t);
    }
    let caps = EPOCH_TIME.captures(line)?;
    from_epoch(caps.get(1)?.as_str().parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, at, look_with, set_mtime};

    fn probe(src: &str) -> Heartbeat {
        testkit::parse(src)
    }

    #[tokio::test]
    async fn mtime_fresh_stale_missing_unreadable() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("beat");
        std::fs::write(&f, "").unwrap();
        let now = at("2026-05-12T12:00:00Z");
        set_mtime(&f, now - chrono::Duration::minutes(10));
        let p = probe("path = \"beat\"\nmax_age = \"30m\"");
        let o = look_with(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(o.summary, "last heartbeat 10m ago");

        set_mtime(&f, now - chrono::Duration::hours(2));
        let o = look_with(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Critical);
        assert_eq!(o.summary, "last heartbeat 2h ago (max 30m)");
        assert!(o.evidence.iter().any(|e| e.key == "last_heartbeat"));

        let missing = probe("path = \"nope\"\ninterval = \"15m\"");
        let o = look_with(&missing, d.path(), None, now).await;
        testkit::assert_starts(&o, Health::Critical, "no heartbeat at ");

        // a path through a regular file cannot be looked at: not "missing", unknown
        let odd = probe("path = \"beat/inner\"\nmax_age = \"1m\"");
        assert_eq!(
            look_with(&odd, d.path(), None, now).await.health,
            Health::Unknown
        );
    }

    #[tokio::test]
    async fn last_line_jsonl_and_plain_log() {
        let d = tempfile::tempdir().unwrap();
        let now = at("2026-05-12T12:00:00Z");
        let jsonl = d.path().join("beats.jsonl");
        std::fs::write(
            &jsonl,
            "{\"ts\":\"2026-05-12T09:00:00Z\"}\n{\"ts\":\"2026-05-12T11:59:00+00:00\",\"agent\":\"hub\"}\n\n",
        )
        .unwrap();
        let p = probe(
            "path = \"beats.jsonl\"\nsource = \"last_line\"\nfield = \"ts\"\ninterval = \"60s\"",
        );
        let o = look_with(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");

        let log = d.path().join("hub.log");
        std::fs::write(&log, "1778576400\theartbeat\thub\tacme\n").unwrap(); // 2026-05-12T09:00Z
        let p = probe("path = \"hub.log\"\nsource = \"last_line\"\ninterval = \"60s\"");
        let o = look_with(&p, d.path(), None, now).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, "last heartbeat 3h ago (max 2m)");

        std::fs::write(&log, "garbage without a time\n").unwrap();
        let o = look_with(&p, d.path(), None, now).await;
        assert_finding(&o, Health::Critical, "unreadable heartbeat ");
        assert!(o.summary.contains("hub.log: "), "{}", o.summary);

        // a last line longer than the tail was "heartbeat file is empty" (or a fragment of it
        // judged); now unknown, naming the file
        for tail in ["\n", ""] {
            let long = format!("1778576400 ok\n{}{tail}", "x".repeat(100_000));
            std::fs::write(&log, long).unwrap();
            let o = look_with(&p, d.path(), None, now).await;
            assert_finding(
                &o,
                Health::Unknown,
                "its last line is longer than 65536 bytes",
            );
            assert!(o.summary.contains("hub.log"), "{o:?}");
        }
    }

    #[tokio::test]
    async fn json_field_and_active_hours() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("state.json"),
            r#"{"current_version":"2026.5.12","last_heartbeat_at":"2026-05-12T06:00:00Z"}"#,
        )
        .unwrap();
        let p = probe(
            r#"path = "state.json"
source = "json_field"
field = "$.last_heartbeat_at"
interval = "30m"
active_hours = "08:00-23:00"
active_timezone = "Europe/Madrid""#,
        );
        // 23:30 Madrid (21:30Z): outside the window, stale is fine
        let o = look_with(&p, d.path(), None, at("2026-05-12T21:30:00Z")).await;
        assert_finding(&o, Health::Ok, "outside active hours");
        // 08:20 Madrid: the window opened 20m ago, the first beat is not due yet
        let o = look_with(&p, d.path(), None, at("2026-05-12T06:20:00Z")).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        // 12:00 Madrid: stale inside the window
        let o = look_with(&p, d.path(), None, at("2026-05-12T10:00:00Z")).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, "last heartbeat 4h ago (max 1h)");

        // epoch millis in a dotted field
        std::fs::write(d.path().join("n.json"), r#"{"hb":{"at":1778580000000}}"#).unwrap();
        let p = probe(
            "path = \"n.json\"\nsource = \"json_field\"\nfield = \"hb.at\"\nmax_age = \"5m\"",
        );
        let o = look_with(&p, d.path(), None, at("2026-05-12T10:01:00Z")).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
    }

    #[tokio::test]
    async fn schema_drift_and_keys_from_fixtures() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hosts/heartbeat");
        let now = at("2026-05-12T12:00:00Z");
        let src = r#"path = "heartbeat.json"
source = "json_field"
field = "$.last_heartbeat_at"
max_age = "1h"
schema = "../watchdog-state.schema.json"
require_keys = ["current_version"]
forbid_keys = ["gateway.heartbeat"]"#;
        let p = probe(src);
        let good = look_with(&p, &data.join("good"), None, now).await;
        assert_eq!(good.health, Health::Ok, "{good:?}");

        let bad = look_with(&p, &data.join("bad"), None, now).await;
        assert_finding(&bad, Health::Critical, "heartbeat schema drift");
        assert!(
            bad.summary.contains("/current_version (type)"),
            "{}",
            bad.summary
        );
        assert!(
            bad.summary.contains("forbidden key gateway.heartbeat"),
            "{}",
            bad.summary
        );
        // values from the document never appear
        assert!(!format!("{bad:?}").contains("v2026"), "{bad:?}");

        let broken = probe(&src.replace("../watchdog-state.schema.json", "heartbeat.json.missing"));
        assert_eq!(
            look_with(&broken, &data.join("good"), None, now)
                .await
                .health,
            Health::Unknown
        );
    }

    #[test]
    fn timestamps_in_lines() {
        assert_eq!(
            time_in_line("2026-05-12 11:00:00 heartbeat hub"),
            Some(at("2026-05-12T11:00:00Z"))
        );
        assert_eq!(
            time_in_line("[hub] beat at 2026-05-12T13:00:00+02:00 ok"),
            Some(at("2026-05-12T11:00:00Z"))
        );
        assert_eq!(
            time_in_line("1778583600.5\tbeat"),
            Some(at("2026-05-12T11:00:00.5Z"))
        );
        assert_eq!(time_in_line("pid 12345 beat"), None);
    }
}
