//! `[probe.<id>]` tables into `ProbeConfig`: the common keys (lessons, schedule, timeout,
//! severity, mode, thresholds) here, the kind's own keys through `AnyProbe::parse`. It must not
//! run a probe.

use super::doc::Doc;
use super::error::{ConfigError, Sink};
use super::raw::{PROBE_COMMON_KEYS, RawProbeCommon};
use super::{
    MAX_INTERVAL, MAX_TIMEOUT, Mode, ProbeConfig, Schedule, TwoWords, check_flap_window,
    check_threshold, duration_in, join, split_kind_table, unknown_kind,
};
use crate::ledger::{Catalog, LessonId};
use crate::probe::{AnyProbe, Health};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn build_probe(
    id: &str,
    body: &toml::Value,
    doc: &Doc,
    catalog: &Catalog,
    sink: &mut Sink<'_>,
) -> Option<ProbeConfig> {
    let key = format!("probe.{id}");
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        sink.err(&key, "probe ids use letters, digits, '_' and '-'");
    }
    let (c, kind_t): (RawProbeCommon, _) = split_kind_table(
        &key,
        body,
        PROBE_COMMON_KEYS,
        crate::probe::kind_names,
        sink,
    )?;
    let lessons = lessons_of(&c, &key, catalog, sink);
    let ok = lessons.is_some();
    let schedule = schedule_of(&c, &key, sink);
    let mut dur = |k: &str, v: &Option<String>, bounds| -> Option<Duration> {
        v.as_deref()
            .and_then(|s| duration_in(s, &format!("{key}.{k}"), bounds, sink))
    };
    let jitter = dur("jitter", &c.jitter, (Duration::ZERO, MAX_INTERVAL));
    let timeout = dur(
        "timeout",
        &c.timeout,
        (Duration::from_millis(1), MAX_TIMEOUT),
    );
    let (max_health, mode) = severity_and_mode(&c, &key, sink);
    check_threshold(c.fail_after, &format!("{key}.fail_after"), sink);
    check_threshold(c.resolve_after, &format!("{key}.resolve_after"), sink);
    check_flap_window(c.flap_window, &format!("{key}.flap_window"), sink);
    let agent = agent_of(&c, doc, &key, sink);
    let probe = match AnyProbe::parse(&c.kind, toml::Value::Table(kind_t)) {
        None => {
            unknown_kind(&key, "kind", &c.kind, &crate::probe::kind_names(), sink);
            return None;
        }
        Some(Err(problems)) => {
            for p in problems {
                sink.err(join(&key, &p.key), p.message);
            }
            return None;
        }
        Some(Ok(p)) => p,
    };
    if c.enabled == Some(false) {
        return None;
    }
    let schedule = schedule?;
    if !ok {
        return None;
    }
    Some(ProbeConfig {
        id: id.to_string(),
        lessons: lessons?,
        schedule,
        jitter,
        timeout: timeout.unwrap_or(Duration::from_secs(10)),
        max_health,
        tags: c.tags,
        mode,
        fail_after: c.fail_after,
        resolve_after: c.resolve_after,
        flap_failures: c.flap_failures,
        flap_window: c.flap_window,
        description: c.description,
        depends_on: c.depends_on,
        agent: agent?,
        probe,
        file: doc.file.clone(),
        base_dir: doc.base_dir.clone(),
    })
}

/// `lesson` or `lessons`, each in the catalog; `None` after reporting a problem.
fn lessons_of(
    c: &RawProbeCommon,
    key: &str,
    catalog: &Catalog,
    sink: &mut Sink<'_>,
) -> Option<Vec<LessonId>> {
    let mut ok = true;
    let mut lessons = Vec::new();
    let nums: Vec<(String, u32)> = match (&c.lesson, &c.lessons) {
        (Some(_), Some(_)) => {
            sink.err(
                format!("{key}.lessons"),
                "set 'lesson' or 'lessons', not both",
            );
            ok = false;
            Vec::new()
        }
        (Some(n), None) => vec![(format!("{key}.lesson"), *n)],
        (None, Some(ns)) => ns
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("{key}.lessons[{i}]"), *n))
            .collect(),
        (None, None) => {
            sink.err(
                key,
                "missing 'lesson': every probe guards a lesson of the ledger",
            );
            ok = false;
            Vec::new()
        }
    };
    if c.lessons.as_ref().is_some_and(|l| l.is_empty()) {
        sink.err(format!("{key}.lessons"), "name at least one lesson");
        ok = false;
    }
    for (k, n) in nums {
        match catalog.id(n) {
            Some(l) => lessons.push(l),
            None => {
                sink.err(k, format!("lesson {n} is not in the catalog (1-32, or define [lesson.{n}] numbered 33 and up)"));
                ok = false;
            }
        }
    }
    ok.then_some(lessons)
}

/// `every` (at least 1s) or `cron` with its `timezone`; every 60s when neither is set.
fn schedule_of(c: &RawProbeCommon, key: &str, sink: &mut Sink<'_>) -> Option<Schedule> {
    match (&c.every, &c.cron) {
        (Some(_), Some(_)) => {
            sink.err(format!("{key}.cron"), "set 'every' or 'cron', not both");
            None
        }
        (None, Some(expr)) => {
            let tz = match c
                .timezone
                .as_deref()
                .unwrap_or("UTC")
                .parse::<chrono_tz::Tz>()
            {
                Ok(tz) => Some(tz),
                Err(_) => {
                    sink.err(
                        format!("{key}.timezone"),
                        format!(
                            "unknown time zone '{}' (expected an IANA name like \"Europe/Berlin\")",
                            c.timezone.as_deref().unwrap_or_default()
                        ),
                    );
                    None
                }
            };
            match expr.parse::<croner::Cron>() {
                Ok(cron) => tz.map(|tz| Schedule::Cron {
                    expr: expr.clone(),
                    cron: Box::new(cron),
                    tz,
                }),
                Err(e) => {
                    sink.err(format!("{key}.cron"), format!("invalid cron expression '{expr}': {e} (expected 5 or 6 fields, e.g. \"*/5 * * * *\")"));
                    None
                }
            }
        }
        (Some(every), None) => {
            if c.timezone.is_some() {
                sink.err(format!("{key}.timezone"), "only applies to 'cron'");
            }
            let bounds = (Duration::from_secs(1), MAX_INTERVAL);
            duration_in(every, &format!("{key}.every"), bounds, sink).map(Schedule::Every)
        }
        (None, None) => Some(Schedule::Every(Duration::from_secs(60))),
    }
}

/// `severity`: the highest health a probe reports.
const SEVERITY: TwoWords<Health> = TwoWords {
    what: "severity",
    words: [("page", Health::Critical), ("warn", Health::Degraded)],
    default: Health::Critical,
};

/// `mode`: shadow probes record and display, never notify.
const MODE: TwoWords<Mode> = TwoWords {
    what: "mode",
    words: [("enforce", Mode::Enforce), ("shadow", Mode::Shadow)],
    default: Mode::Enforce,
};

/// `severity` ("page" or "warn": the highest health reported) and `mode` ("enforce", "shadow").
fn severity_and_mode(c: &RawProbeCommon, key: &str, sink: &mut Sink<'_>) -> (Health, Mode) {
    let max_health = SEVERITY.read(c.severity.as_deref(), &format!("{key}.severity"), sink);
    let mode = MODE.read(c.mode.as_deref(), &format!("{key}.mode"), sink);
    (max_health, mode)
}

/// The probe's `agent` key, else the agent of the include that loaded its file. `Some(None)`
/// for a host-wide probe; `None` after reporting an invalid id.
fn agent_of(
    c: &RawProbeCommon,
    doc: &Doc,
    key: &str,
    sink: &mut Sink<'_>,
) -> Option<Option<String>> {
    let (a, at) = match (&c.agent, &doc.agent) {
        (Some(a), _) => (a, format!("{key}.agent")),
        (None, Some(a)) => (a, key.to_string()),
        (None, None) => return Some(None),
    };
    match super::check_agent_id(a) {
        Ok(()) => Some(Some(a.clone())),
        Err(m) if c.agent.is_some() => {
            sink.err(at, m);
            None
        }
        Err(m) => {
            sink.err(at, format!("the include's `agent` var: {m}"));
            None
        }
    }
}

/// `depends_on` must name other probes (ids with their include prefix).
pub(super) fn check_depends_on(
    docs: &[Doc],
    probes: &[ProbeConfig],
    probe_files: &BTreeMap<String, PathBuf>,
    errors: &mut Vec<ConfigError>,
) {
    for p in probes {
        for (j, dep) in p.depends_on.iter().enumerate() {
            if !probe_files.contains_key(dep) || dep == &p.id {
                let doc = docs.iter().find(|d| d.file == p.file);
                let mut sink = Sink {
                    file: &p.file,
                    src: doc.map(|d| d.src.as_str()),
                    errors,
                };
                sink.err(
                    format!("probe.{}.depends_on[{j}]", p.id),
                    format!("no other probe '{dep}'"),
                );
            }
        }
    }
}
