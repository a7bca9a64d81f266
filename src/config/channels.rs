//! `[channel.<id>]` tables into `ChannelConfig` (common keys here, the kind's own keys and
//! `*_file` secrets through `AnyChannel::parse`), `[[route]]` tables into `Route`, and
//! `[[silence]]` waivers into `Silence`. It must not send anything.

use super::doc::Doc;
use super::error::{ConfigError, ConfigWarning, Sink};
use super::raw::{CHANNEL_COMMON_KEYS, RawChannelCommon, RawRoute, RawSilence};
use super::{
    ChannelConfig, MAX_GROUP, MAX_HEALTH, MAX_INTERVAL, MAX_TIMEOUT, MIN_HEALTH, Route, Silence,
    check_flap_window, check_threshold, count_in, deserialize, duration_in, env, join,
    split_kind_table, unknown_kind,
};
use crate::alert::AnyChannel;
use crate::ledger::{CLASSES, Catalog};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn build_channel(
    id: &str,
    body: &toml::Value,
    doc: &Doc,
    sink: &mut Sink<'_>,
) -> Option<ChannelConfig> {
    let key = format!("channel.{id}");
    let kinds = crate::alert::channel_kind_names;
    let (c, mut kind_t): (RawChannelCommon, _) =
        split_kind_table(&key, body, CHANNEL_COMMON_KEYS, kinds, sink)?;
    let mut secret_errors = Vec::new();
    env::read_secret_files(&mut kind_t, &doc.base_dir, &mut secret_errors);
    let failed = !secret_errors.is_empty();
    for (k, m) in secret_errors {
        sink.err(join(&key, &k), m);
    }
    let min_health = MIN_HEALTH.read(c.min_health.as_deref(), &format!("{key}.min_health"), sink);
    let group_wait = duration_in(
        c.group_wait.as_deref().unwrap_or("30s"),
        &format!("{key}.group_wait"),
        (Duration::ZERO, MAX_TIMEOUT),
        sink,
    )
    .unwrap_or(Duration::ZERO);
    let group_max = c.group_max.unwrap_or(20);
    count_in(
        group_max,
        &format!("{key}.group_max"),
        (1, MAX_GROUP),
        "",
        sink,
    );
    let max_per_minute = c.max_per_minute.unwrap_or(10);
    count_in(
        max_per_minute as usize,
        &format!("{key}.max_per_minute"),
        (2, MAX_GROUP),
        " (one message plus the overflow summary)",
        sink,
    );
    let digest = digest_of(&c, &key, sink);
    let channel = match AnyChannel::parse(&c.kind, toml::Value::Table(kind_t)) {
        None => {
            unknown_kind(&key, "channel kind", &c.kind, &kinds(), sink);
            return None;
        }
        Some(Err(problems)) => {
            if !failed {
                for p in problems {
                    sink.err(join(&key, &p.key), p.message);
                }
            }
            return None;
        }
        Some(Ok(ch)) => ch,
    };
    if c.enabled == Some(false) || failed {
        return None;
    }
    Some(ChannelConfig {
        id: id.to_string(),
        min_health,
        group_wait,
        group_max,
        max_per_minute,
        digest,
        channel,
        file: doc.file.clone(),
    })
}

/// `digest_at` ("09:00") in `digest_timezone` (default UTC), if set.
fn digest_of(
    c: &RawChannelCommon,
    key: &str,
    sink: &mut Sink<'_>,
) -> Option<(chrono::NaiveTime, chrono_tz::Tz)> {
    match (&c.digest_at, &c.digest_timezone) {
        (None, None) => None,
        (None, Some(_)) => {
            sink.err(
                format!("{key}.digest_timezone"),
                "only applies with digest_at",
            );
            None
        }
        (Some(at), tz) => {
            let time = chrono::NaiveTime::parse_from_str(at, "%H:%M")
                .map_err(|_| {
                    sink.err(
                        format!("{key}.digest_at"),
                        format!("expected a local time like \"09:00\", got '{at}'"),
                    )
                })
                .ok();
            let zone = match tz.as_deref().unwrap_or("UTC").parse::<chrono_tz::Tz>() {
                Ok(z) => Some(z),
                Err(_) => {
                    sink.err(
                        format!("{key}.digest_timezone"),
                        format!(
                            "unknown time zone '{}' (expected an IANA name like \"Europe/Berlin\")",
                            tz.as_deref().unwrap_or_default()
                        ),
                    );
                    None
                }
            };
            time.zip(zone)
        }
    }
}

/// A TOML date or offset date-time as unix milliseconds (dates at 00:00 UTC).
fn datetime_ms(d: &toml::value::Datetime) -> Option<i64> {
    let text = d.to_string();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&text) {
        return Some(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

fn list_or_none(ids: &BTreeSet<String>) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Every file's `[[silence]]` waivers. An expired waiver is a warning, not an error.
pub(super) fn silences(
    docs: &[Doc],
    agents: &BTreeSet<String>,
    catalog: &Catalog,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<Silence> {
    let mut out = Vec::new();
    for doc in docs {
        let mut sink = doc.sink(errors);
        let Some(v) = doc.table.get("silence") else {
            continue;
        };
        let Some(items) = v.as_array() else {
            sink.err("silence", "expected [[silence]] tables");
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            out.extend(silence(
                i,
                item,
                doc,
                (catalog, agents),
                &mut sink,
                warnings,
            ));
        }
    }
    out
}

fn silence(
    i: usize,
    item: &toml::Value,
    doc: &Doc,
    (catalog, agents): (&Catalog, &BTreeSet<String>),
    sink: &mut Sink<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<Silence> {
    let key = format!("silence[{i}]");
    let r: RawSilence = match deserialize(item.clone()) {
        Ok(r) => r,
        Err((k, m)) => {
            sink.err(join(&key, &k), m);
            return None;
        }
    };
    if r.lesson.is_none()
        && r.probe.is_none()
        && r.tag.is_none()
        && r.host.is_none()
        && r.agent.is_none()
    {
        sink.err(
            &key,
            "a silence needs a lesson, probe, tag, host or agent to match",
        );
        return None;
    }
    if let Some(a) = &r.agent
        && !agents.contains(a)
    {
        sink.err(
            format!("{key}.agent"),
            format!(
                "no probe belongs to agent '{a}' (agents: {})",
                list_or_none(agents)
            ),
        );
        return None;
    }
    if let Some(n) = r.lesson
        && catalog.get(n).is_none()
    {
        sink.err(
            format!("{key}.lesson"),
            format!("lesson {n} is not in the catalog"),
        );
        return None;
    }
    if r.reason.trim().is_empty() {
        sink.err(
            format!("{key}.reason"),
            "say why the alerts may be silenced",
        );
        return None;
    }
    let Some(expires) = datetime_ms(&r.expires) else {
        sink.err(
            format!("{key}.expires"),
            format!(
                "expected a date (2026-12-15) or date-time with offset, got {}",
                r.expires
            ),
        );
        return None;
    };
    if expires <= chrono::Utc::now().timestamp_millis() {
        warnings.push(ConfigWarning {
            file: doc.file.clone(),
            key: key.clone(),
            message: format!("expired on {}: no longer silences anything", r.expires),
        });
    }
    Some(Silence {
        lesson: r.lesson,
        probe: r.probe.map(|p| format!("{}{p}", doc.prefix)),
        tag: r.tag,
        host: r.host,
        agent: r.agent,
        reason: r.reason,
        by: r.by.unwrap_or_else(|| "config".into()),
        expires,
        file: doc.file.clone(),
        key,
    })
}

/// Every `[[route]]`, checked against the channels, lessons and probes of all files.
pub(super) fn routes(
    docs: &[Doc],
    raw: Vec<(usize, usize, RawRoute)>,
    catalog: &Catalog,
    channel_ids: &BTreeSet<String>,
    probe_files: &BTreeMap<String, PathBuf>,
    agents: &BTreeSet<String>,
    errors: &mut Vec<ConfigError>,
) -> Vec<Route> {
    raw.into_iter()
        .map(|(di, i, r)| {
            let known = Known {
                catalog,
                channel_ids,
                probe_files,
                agents,
            };
            route(i, r, &known, &mut docs[di].sink(errors))
        })
        .collect()
}

/// What a route may refer to.
struct Known<'a> {
    catalog: &'a Catalog,
    channel_ids: &'a BTreeSet<String>,
    probe_files: &'a BTreeMap<String, PathBuf>,
    agents: &'a BTreeSet<String>,
}

fn route(i: usize, r: RawRoute, known: &Known<'_>, sink: &mut Sink<'_>) -> Route {
    let Known {
        catalog,
        channel_ids,
        probe_files,
        agents,
    } = *known;
    let key = format!("route[{i}]");
    if r.to.is_empty() {
        sink.err(format!("{key}.to"), "name at least one channel");
    }
    for (j, c) in r.to.iter().enumerate() {
        if !channel_ids.contains(c) {
            sink.err(
                format!("{key}.to[{j}]"),
                format!("no channel '{c}' (defined: {})", list_or_none(channel_ids)),
            );
        }
    }
    let mut lessons = Vec::new();
    for (j, n) in r.lessons.iter().enumerate() {
        match catalog.id(*n) {
            Some(id) => lessons.push(id),
            None => sink.err(
                format!("{key}.lessons[{j}]"),
                format!("lesson {n} is not in the catalog (1-32, or define [lesson.{n}])"),
            ),
        }
    }
    for (j, c) in r.classes.iter().enumerate() {
        if !CLASSES.contains(&c.as_str()) {
            sink.err(
                format!("{key}.classes[{j}]"),
                format!(
                    "unknown class '{c}', expected one of {}",
                    CLASSES.join(", ")
                ),
            );
        }
    }
    for (j, p) in r.probes.iter().enumerate() {
        if !probe_files.contains_key(p) {
            sink.err(format!("{key}.probes[{j}]"), format!("no probe '{p}'"));
        }
    }
    for (j, a) in r.agents.iter().enumerate() {
        if !agents.contains(a) {
            sink.err(
                format!("{key}.agents[{j}]"),
                format!(
                    "no probe belongs to agent '{a}' (agents: {})",
                    list_or_none(agents)
                ),
            );
        }
    }
    let min_health = MIN_HEALTH.read(r.min_health.as_deref(), &format!("{key}.min_health"), sink);
    let remind_every = r.remind_every.as_deref().and_then(|s| {
        let bounds = (Duration::from_secs(1), MAX_INTERVAL);
        duration_in(s, &format!("{key}.remind_every"), bounds, sink)
    });
    check_threshold(r.fail_after, &format!("{key}.fail_after"), sink);
    check_threshold(r.resolve_after, &format!("{key}.resolve_after"), sink);
    let max_health = MAX_HEALTH.read(r.max_health.as_deref(), &format!("{key}.max_health"), sink);
    if max_health.rank() < min_health.rank() {
        sink.err(
            format!("{key}.max_health"),
            "is below min_health: the route would match nothing",
        );
    }
    check_flap_window(r.flap_window, &format!("{key}.flap_window"), sink);
    Route {
        lessons,
        classes: r.classes,
        probes: r.probes,
        tags: r.tags,
        agents: r.agents,
        min_health,
        max_health,
        to: r.to,
        fail_after: r.fail_after,
        resolve_after: r.resolve_after,
        flap_failures: r.flap_failures,
        flap_window: r.flap_window,
        remind_every,
        send_resolved: r.send_resolved.unwrap_or(true),
        default: r.default,
    }
}
