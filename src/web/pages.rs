//! Server-rendered HTML for the dashboard. Every value from config, store or probes goes through
//! `esc`, so probed text stays text. No external assets.

use crate::config::Config;
use crate::status::{LessonState, LessonStatus};
use crate::store::ObservationRow;

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn ledger(config: &Config, lessons: &[LessonStatus], latest: &[ObservationRow]) -> String {
    let mut sorted: Vec<&LessonStatus> = lessons.iter().collect();
    sorted.sort_by_key(|l| (l.state, l.number));
    let guarded = lessons
        .iter()
        .filter(|l| l.state != LessonState::NotGuarded)
        .count();
    let violated = lessons
        .iter()
        .filter(|l| l.state == LessonState::Violated)
        .count();
    let at_risk = lessons
        .iter()
        .filter(|l| l.state == LessonState::AtRisk)
        .count();
    let mut rows = String::new();
    for l in sorted {
        let evidence: Vec<String> = l
            .probes
            .iter()
            .filter_map(|p| latest.iter().find(|o| &o.probe == p))
            .filter(|o| o.health != "ok")
            .map(|o| {
                format!(
                    "<div class=ev><b>{}</b>: {}</div>",
                    esc(&o.probe),
                    esc(&o.summary)
                )
            })
            .collect();
        rows.push_str(&format!(
            "<tr class=\"{cls}\"><td>L{n}</td><td>{rule}</td><td>{state}</td><td>{probes}{ev}</td></tr>\n",
            cls = l.state.as_str().replace(' ', "-"),
            n = l.number,
            rule = esc(&l.rule),
            state = esc(l.state.as_str()),
            probes = esc(&l.probes.join(", ")),
            ev = evidence.join("")
        ));
    }
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>ledgerd · {host}</title>\
<style>body{{font:15px system-ui,sans-serif;margin:1rem}}table{{border-collapse:collapse;width:100%}}td{{border-bottom:1px solid #ddd;padding:.4rem;vertical-align:top}}.violated{{background:#fde2e2}}.at-risk{{background:#fff4d6}}.ev{{font-size:.9em;color:#444}}</style></head>\
<body><h1>{guarded} of {total} lessons guarded, {violated} violated, {at_risk} at risk</h1><p>host {host}</p><table>{rows}</table></body></html>",
        host = esc(&config.daemon.host),
        total = lessons.len(),
    )
}
