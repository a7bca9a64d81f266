//! `ledgerd shadow`: probes in shadow mode and what they would have alerted (transitions
//! recorded with mute reason "shadow mode"), with their latest evidence, so an operator can
//! promote a probe to `mode = "enforce"` with evidence (lesson 9: draft first, automate last).

use super::{EXIT_OK, Paint};
use crate::cli::Format;
use crate::config::Mode;
use std::path::Path;

pub fn run(path: Option<&Path>, format: Format, paint: Paint) -> anyhow::Result<u8> {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = crate::store::Store::open_existing(&config.daemon.state_dir)?;
    let mut report = Vec::new();
    for p in config.probes.iter().filter(|p| p.mode == Mode::Shadow) {
        let transitions = match &store {
            Some(s) => s.transitions(Some(&p.id), 1000)?,
            None => Vec::new(),
        };
        let would: Vec<_> = transitions
            .iter()
            .filter(|t| t.muted.as_deref() == Some("shadow mode") && t.kind != "resolved")
            .collect();
        let latest = match &store {
            Some(s) => s
                .observations(Some(&p.id), None, None, None, 1)?
                .into_iter()
                .next(),
            None => None,
        };
        report.push(super::json::ShadowEntry {
            probe: p.id.clone(),
            lessons: p.lessons.clone(),
            would_have_alerted: would.len(),
            last_would_have_alerted: would.first().map(|t| super::silence::fmt_ms(t.ts)),
            last_summary: would.first().map(|t| t.summary.clone()),
            latest: latest.map(|o| super::json::ShadowLatest {
                health: o.health,
                summary: o.summary,
                at: super::silence::fmt_ms(o.ts),
            }),
        });
    }
    if format == Format::Json {
        super::json::print(&report)?;
        return Ok(EXIT_OK);
    }
    if report.is_empty() {
        println!("no probes in shadow mode");
    }
    for r in &report {
        let n = r.would_have_alerted;
        let verdict = if n == 0 {
            paint.green("would have stayed quiet")
        } else {
            paint.yellow(&format!("would have alerted {n} time(s)"))
        };
        println!("{}  {verdict}", paint.bold(&r.probe));
        if let Some(s) = &r.last_summary {
            println!(
                "      last: {s} ({})",
                r.last_would_have_alerted.as_deref().unwrap_or("")
            );
        }
        if let Some(l) = &r.latest {
            println!("      now:  {} {}", l.health, l.summary);
        }
    }
    Ok(EXIT_OK)
}
