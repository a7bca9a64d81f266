//! `ledgerd silence add|list|remove`: silences in the store (the running daemon reads them on
//! every batch). Config waivers (`[[silence]]`) are listed too but changed in the config.

use super::{EXIT_ERROR, EXIT_OK, Paint};
use crate::cli::{Format, SilenceAction};
use crate::config::Config;
use crate::store::{NewSilence, Store};
use std::path::Path;

pub fn run(path: Option<&Path>, action: SilenceAction, paint: Paint) -> anyhow::Result<u8> {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let now = chrono::Utc::now().timestamp_millis();
    match action {
        SilenceAction::Add {
            lesson,
            probe,
            tag,
            host,
            agent,
            duration,
            until,
            reason,
            by,
        } => {
            if !targets_exist(&config, lesson, probe.as_deref(), agent.as_deref()) {
                return Ok(EXIT_ERROR);
            }
            let Some(expires) = expires_at(now, duration, until) else {
                return Ok(EXIT_ERROR);
            };
            let store = Store::open(&config.daemon.state_dir)?;
            let s = NewSilence {
                lesson,
                probe,
                tag,
                host,
                agent,
                reason,
                created_by: super::actor(by),
                expires,
            };
            match store.add_silence(&s, now) {
                Ok(id) => {
                    println!("silence #{id} in force until {}", fmt_ms(expires));
                    Ok(EXIT_OK)
                }
                Err(e) => {
                    eprintln!("ledgerd: {e}");
                    Ok(EXIT_ERROR)
                }
            }
        }
        SilenceAction::List { all, format } => list(&config, now, all, format, paint),
        SilenceAction::Remove { id } => {
            let store = Store::open(&config.daemon.state_dir)?;
            if store.remove_silence(id, now)? {
                println!("silence #{id} removed");
                Ok(EXIT_OK)
            } else {
                eprintln!("ledgerd: no silence #{id} in force");
                Ok(EXIT_ERROR)
            }
        }
    }
}

/// Whether the lesson, probe and agent a new silence names (those given) exist; says which does
/// not on stderr.
fn targets_exist(
    config: &Config,
    lesson: Option<u32>,
    probe: Option<&str>,
    agent: Option<&str>,
) -> bool {
    if let Some(n) = lesson
        && config.catalog.get(n).is_none()
    {
        eprintln!("ledgerd: lesson {n} is not in the catalog");
        return false;
    }
    if let Some(p) = probe
        && !config.probes.iter().any(|c| c.id == p)
    {
        eprintln!("ledgerd: no probe '{p}' in the config");
        return false;
    }
    if let Some(a) = agent {
        let agents = config.agents();
        if !agents.iter().any(|x| x == a) {
            eprintln!(
                "ledgerd: no probe belongs to agent '{a}' (agents: {})",
                super::names_or_none(&agents)
            );
            return false;
        }
    }
    true
}

/// When a new silence ends (unix ms), from `--for` or `--until` (exactly one); `None` after
/// saying what is wrong on stderr.
fn expires_at(now: i64, duration: Option<String>, until: Option<String>) -> Option<i64> {
    match (duration, until) {
        (Some(d), None) => match crate::duration::parse(&d) {
            Ok(d) => Some(now + d.as_millis() as i64),
            Err(e) => {
                eprintln!("ledgerd: --for: {e}");
                None
            }
        },
        (None, Some(u)) => match parse_until(&u) {
            Some(t) if t > now => Some(t),
            Some(_) => {
                eprintln!("ledgerd: --until {u} is in the past");
                None
            }
            None => {
                eprintln!(
                    "ledgerd: --until: expected a date (2026-12-15) or RFC 3339 date-time, got '{u}'"
                );
                None
            }
        },
        _ => {
            eprintln!("ledgerd: say how long: --for 2h or --until 2026-12-15");
            None
        }
    }
}

/// `silence list`: the store's silences and the config's waivers, in force at `now` (all with
/// `all`), as text or JSON.
fn list(config: &Config, now: i64, all: bool, format: Format, paint: Paint) -> anyhow::Result<u8> {
    let mut rows: Vec<Listed> = match Store::open_existing(&config.daemon.state_dir)? {
        Some(store) => store
            .silences(if all { None } else { Some(now) })?
            .into_iter()
            .map(Listed::from_store)
            .collect(),
        None => Vec::new(),
    };
    rows.extend(
        config
            .silences
            .iter()
            .filter(|s| all || s.expires > now)
            .map(Listed::from_config),
    );
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(EXIT_OK);
    }
    if rows.is_empty() {
        println!("no silences in force");
    }
    for s in rows {
        let what = s.describe();
        let state = if s.removed.is_some() {
            paint.dim("removed")
        } else if s.expires <= now {
            paint.dim("expired")
        } else {
            paint.yellow("active")
        };
        let id =
            s.id.map_or_else(|| "config".to_string(), |id| format!("#{id}"));
        println!(
            "{id:<8} {state:<8} {what}  until {}  by {}: {}",
            fmt_ms(s.expires),
            s.created_by,
            s.reason
        );
    }
    Ok(EXIT_OK)
}

/// One listed silence: from the store (`id` set) or a config waiver (`file` and `key` set).
#[derive(Debug, serde::Serialize)]
struct Listed {
    id: Option<i64>,
    lesson: Option<u32>,
    probe: Option<String>,
    tag: Option<String>,
    host: Option<String>,
    agent: Option<String>,
    reason: String,
    created_by: String,
    expires: i64,
    removed: Option<i64>,
    file: Option<std::path::PathBuf>,
    key: Option<String>,
}

impl Listed {
    /// What it matches, e.g. "agent cs, lesson L19".
    fn describe(&self) -> String {
        crate::store::describe_matchers(
            self.agent.as_deref(),
            self.lesson,
            self.probe.as_deref(),
            self.tag.as_deref(),
            self.host.as_deref(),
        )
    }

    fn from_store(s: crate::store::SilenceRow) -> Self {
        Listed {
            id: Some(s.id),
            lesson: s.lesson,
            probe: s.probe,
            tag: s.tag,
            host: s.host,
            agent: s.agent,
            reason: s.reason,
            created_by: s.created_by,
            expires: s.expires,
            removed: s.removed,
            file: None,
            key: None,
        }
    }
    fn from_config(s: &crate::config::Silence) -> Self {
        Listed {
            id: None,
            file: Some(s.file.clone()),
            key: Some(s.key.clone()),
            ..Listed::from_store(s.to_row())
        }
    }
}

fn parse_until(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

pub fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
