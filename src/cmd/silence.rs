//! `ledgerd silence add|list|remove`: silences in the store (the running daemon reads them on
//! every batch). Config waivers (`[[silence]]`) are listed too but changed in the config.

use super::{EXIT_ERROR, EXIT_OK, Paint};
use crate::cli::{Format, SilenceAction};
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
            if let Some(n) = lesson
                && config.catalog.get(n).is_none()
            {
                eprintln!("ledgerd: lesson {n} is not in the catalog");
                return Ok(EXIT_ERROR);
            }
            if let Some(p) = &probe
                && !config.probes.iter().any(|c| &c.id == p)
            {
                eprintln!("ledgerd: no probe '{p}' in the config");
                return Ok(EXIT_ERROR);
            }
            if let Some(a) = &agent {
                let agents = config.agents();
                if !agents.contains(a) {
                    eprintln!(
                        "ledgerd: no probe belongs to agent '{a}' (agents: {})",
                        if agents.is_empty() {
                            "none".into()
                        } else {
                            agents.join(", ")
                        }
                    );
                    return Ok(EXIT_ERROR);
                }
            }
            let expires = match (duration, until) {
                (Some(d), None) => match crate::config::parse_duration(&d) {
                    Ok(d) => now + d.as_millis() as i64,
                    Err(e) => {
                        eprintln!("ledgerd: --for: {e}");
                        return Ok(EXIT_ERROR);
                    }
                },
                (None, Some(u)) => match parse_until(&u) {
                    Some(t) if t > now => t,
                    Some(_) => {
                        eprintln!("ledgerd: --until {u} is in the past");
                        return Ok(EXIT_ERROR);
                    }
                    None => {
                        eprintln!(
                            "ledgerd: --until: expected a date (2026-12-15) or RFC 3339 date-time, got '{u}'"
                        );
                        return Ok(EXIT_ERROR);
                    }
                },
                _ => {
                    eprintln!("ledgerd: say how long: --for 2h or --until 2026-12-15");
                    return Ok(EXIT_ERROR);
                }
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
        SilenceAction::List { all, format } => {
            let mut rows = match Store::open_existing(&config.daemon.state_dir)? {
                Some(store) => store.silences(if all { None } else { Some(now) })?,
                None => Vec::new(),
            };
            rows.extend(
                config
                    .silences
                    .iter()
                    .filter(|s| all || s.expires > now)
                    .cloned(),
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
                let id = if s.id < 0 {
                    "config".to_string()
                } else {
                    format!("#{}", s.id)
                };
                println!(
                    "{id:<8} {state:<8} {what}  until {}  by {}: {}",
                    fmt_ms(s.expires),
                    s.created_by,
                    s.reason
                );
            }
            Ok(EXIT_OK)
        }
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
