//! Server-rendered HTML: the ledger page, a page per lesson and per probe (with a 24-hour SVG
//! history), and the form endpoints behind their acknowledge and silence buttons. Every value
//! from config, store or probes goes through `esc`, so probed text stays text (lesson 22); no
//! inline script or style, so the strict CSP holds. It must not define API shapes.

use super::api::{self, ApiError, SilenceRequest};
use super::view::{LessonView, ProbeView, Snapshot, short_age};
use super::{WebState, auth};
use crate::status::LessonState;
use crate::store::{HealthBucket, IncidentRow, ObservationRow, SilenceRow, TransitionRow};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{TimeZone, Utc};
use std::collections::HashMap;
use std::fmt::Write as _;

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

/// History window and bucket width of the SVG chart.
const HISTORY_MS: i64 = 24 * 3_600_000;
const BUCKETS: i64 = 96;

fn icon(state: LessonState) -> &'static str {
    match state {
        LessonState::Violated => "✖",
        LessonState::AtRisk => "▲",
        LessonState::Unknown => "?",
        LessonState::Holding => "✔",
        LessonState::NotGuarded => "○",
    }
}

fn state_class(state: LessonState) -> String {
    format!("st-{}", state.as_str().replace(' ', "-"))
}

fn badge(state: LessonState) -> String {
    format!(
        "<span class=\"badge {}\"><span aria-hidden=\"true\">{}</span> {}</span>",
        state_class(state),
        icon(state),
        state.as_str()
    )
}

fn health_badge(health: Option<&str>) -> String {
    let (cls, ic, text) = match health {
        Some("ok") => ("st-holding", "✔", "ok"),
        Some("degraded") => ("st-at-risk", "▲", "degraded"),
        Some("critical") => ("st-violated", "✖", "critical"),
        Some("unknown") => ("st-unknown", "?", "unknown"),
        _ => ("st-unknown", "…", "not run yet"),
    };
    format!("<span class=\"hb {cls}\"><span aria-hidden=\"true\">{ic}</span> {text}</span>")
}

fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn abs_time(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// "12 s ago" that the page's script keeps current; the absolute time is its tooltip.
fn ago(ms: i64, now: i64) -> String {
    format!(
        "<time class=\"ago\" datetime=\"{}\" data-ts=\"{ms}\" title=\"{}\">{} ago</time>",
        iso(ms),
        abs_time(ms),
        short_age(now - ms)
    )
}

fn layout(web: &WebState, snap: &Snapshot, title: &str, body: &str) -> Html<String> {
    let host = esc(&snap.config.daemon.host);
    let _ = web;
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} · ledgerd · {host}</title>\
<link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">\
<link rel=\"stylesheet\" href=\"/assets/style.css\">\
<script src=\"/assets/app.js\" defer></script></head>\
<body><header class=\"site\"><a class=\"brand\" href=\"/\"><img src=\"/assets/icon.svg\" alt=\"\" width=\"22\" height=\"22\"> ledgerd</a>\
<span class=\"host\">host <b>{host}</b></span>\
<nav><a href=\"/\">Ledger</a><a href=\"/api/v1/lessons\">API</a><a href=\"/metrics\">Metrics</a></nav></header>\
<main id=\"live\" data-now=\"{now}\" data-newest=\"{newest}\">{body}</main>\
<p id=\"conn\" class=\"conn\" hidden></p>\
<footer class=\"site\">ledgerd {version} · the Failure Ledger's 32 lessons as probes · page rendered {rendered}</footer>\
</body></html>",
        title = esc(title),
        now = snap.now_ms,
        newest = snap.newest.map(|(_, id)| id).unwrap_or(0),
        version = env!("CARGO_PKG_VERSION"),
        rendered = abs_time(snap.now_ms),
    ))
}

fn evidence_list(o: &ObservationRow) -> String {
    let mut out = String::new();
    if let Some(exp) = o.body.get("expected").and_then(|v| v.as_str()) {
        let _ = write!(
            out,
            "<p class=\"expected\"><span class=\"k\">expected</span> {}</p>",
            esc(exp)
        );
    }
    let items = o
        .body
        .get("evidence")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    if !items.is_empty() {
        out.push_str("<dl class=\"evidence\">");
        for e in items.iter().take(20) {
            let k = e.get("key").and_then(|v| v.as_str()).unwrap_or("");
            let v = e.get("value").and_then(|v| v.as_str()).unwrap_or("");
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        if items.len() > 20 {
            let _ = write!(out, "<dt>…</dt><dd>{} more</dd>", items.len() - 20);
        }
        out.push_str("</dl>");
    }
    out
}

fn stale_note(p: &ProbeView) -> String {
    if !p.stale {
        return String::new();
    }
    let every = short_age(p.interval_ms);
    match p.age_ms {
        Some(a) => format!(
            "<span class=\"stale\"><span aria-hidden=\"true\">⚠</span> stale: no observation for {}, expected every {every}</span>",
            short_age(a)
        ),
        None => format!(
            "<span class=\"stale\"><span aria-hidden=\"true\">⚠</span> stale: never observed, expected every {every}</span>"
        ),
    }
}

/// One probe inside a lesson tile or lesson page: health, freshness, and evidence when failing.
fn probe_item(p: &ProbeView, now: i64, detail: bool) -> String {
    let mut out = format!(
        "<li class=\"probe\"><div class=\"probe-line\">{} <a class=\"pid\" href=\"/probe/{id}\">{id}</a> <span class=\"kind\">{kind}</span>{shadow}</div>",
        health_badge(p.latest.as_ref().map(|o| o.health.as_str())),
        id = esc(&p.id),
        kind = esc(p.kind),
        shadow = if p.shadow {
            " <span class=\"tag\">shadow</span>"
        } else {
            ""
        },
    );
    let fresh = match &p.latest {
        Some(o) => format!("checked {}", ago(o.ts, now)),
        None => "not checked yet".to_string(),
    };
    let _ = write!(out, "<div class=\"fresh\">{fresh} {}</div>", stale_note(p));
    if let Some(o) = &p.latest
        && (o.health != "ok" || detail)
    {
        let _ = write!(out, "<p class=\"summary\">{}</p>", esc(&o.summary));
        if o.health != "ok" {
            out.push_str(&evidence_list(o));
        }
    }
    if let Some(i) = &p.open_incident
        && let Some(by) = &i.acked_by
    {
        let _ = write!(
            out,
            "<p class=\"acked\"><span aria-hidden=\"true\">✔</span> incident #{} acknowledged by {}{}</p>",
            i.id,
            esc(by),
            i.ack_note
                .as_deref()
                .map(|n| format!(": {}", esc(n)))
                .unwrap_or_default()
        );
    }
    if let Some(s) = &p.silenced_by {
        let _ = write!(
            out,
            "<p class=\"silenced\"><span aria-hidden=\"true\">🔕</span> silenced until {} by {}: {}</p>",
            abs_time(s.expires),
            esc(&s.created_by),
            esc(&s.reason)
        );
    }
    out.push_str("</li>");
    out
}

fn since_line(l: &LessonView, now: i64) -> String {
    match (l.status.state, l.since) {
        (LessonState::Violated | LessonState::AtRisk, Some(since)) => format!(
            "<p class=\"since\">{} since <time datetime=\"{}\">{}</time> (for {})</p>",
            l.status.state.as_str(),
            iso(since),
            abs_time(since),
            short_age(now - since)
        ),
        _ => String::new(),
    }
}

fn tile(snap: &Snapshot, l: &LessonView) -> String {
    let now = snap.now_ms;
    let n = l.status.number;
    let mut probes = String::new();
    for &i in &l.probes {
        probes.push_str(&probe_item(&snap.probes[i], now, false));
    }
    let fresh = match l.checked {
        Some(ts) => format!("checked {}", ago(ts, now)),
        None => "not checked yet".into(),
    };
    let stale = if l.stale {
        " <span class=\"stale\"><span aria-hidden=\"true\">⚠</span> stale data</span>"
    } else {
        ""
    };
    format!(
        "<article class=\"tile {cls}\" id=\"L{n}\"><div class=\"tile-head\"><a class=\"num\" href=\"/lesson/{n}\">L{n}</a>{badge}</div>\
<h2 class=\"rule\"><a href=\"/lesson/{n}\">{rule}</a></h2><p class=\"what\">{title}</p>{since}\
<ul class=\"probes\">{probes}</ul><p class=\"tile-fresh\">{fresh}{stale}</p></article>",
        cls = state_class(l.status.state),
        badge = badge(l.status.state),
        rule = esc(&l.status.rule),
        title = esc(&l.status.title),
        since = since_line(l, now),
    )
}

pub async fn index(State(web): State<WebState>) -> Response {
    let Some(snap) = web.snapshot() else {
        return unavailable();
    };
    let now = snap.now_ms;
    let s = api::summary_of(&snap);
    let newest = match snap.newest {
        Some((ts, _)) => format!(
            "newest observation {} <span class=\"abs\">({})</span>",
            ago(ts, now),
            abs_time(ts)
        ),
        None => "no observation yet".into(),
    };
    let mut body = String::new();
    for (channel, error) in &snap.channel_errors {
        body.push_str(&format!(
            "<section class=\"head st-violated\" role=\"alert\"><p><span aria-hidden=\"true\">⚠</span> <b>Alerts are not getting through:</b> channel <b>{}</b> {}: {}</p></section>",
            esc(channel),
            if error.starts_with("broken") { "is broken (fix its config, then run <code>ledgerd test-alert</code>)" } else { "is failing and being retried" },
            esc(error)
        ));
    }
    body.push_str(&format!(
        "<section class=\"headline\"><h1>{guarded} of {total} lessons guarded, {violated} violated, {at_risk} at risk</h1>\
<p class=\"sub\">Host <b>{host}</b> · {newest} · {stale} stale probe{ps} · {open} open incident{os}</p>\
<ul class=\"counts\">{counts}</ul></section>",
        guarded = s.guarded,
        total = s.lessons_total,
        violated = s.violated,
        at_risk = s.at_risk,
        host = esc(&s.host),
        stale = s.stale_probes,
        ps = if s.stale_probes == 1 { "" } else { "s" },
        open = s.open_incidents,
        os = if s.open_incidents == 1 { "" } else { "s" },
        counts = [
            LessonState::Violated,
            LessonState::AtRisk,
            LessonState::Unknown,
            LessonState::Holding,
            LessonState::NotGuarded
        ]
        .iter()
        .map(|st| format!(
            "<li class=\"{}\"><span aria-hidden=\"true\">{}</span> <b>{}</b> {}</li>",
            state_class(*st),
            icon(*st),
            snap.count(*st),
            st.as_str()
        ))
        .collect::<String>(),
    ));
    body.push_str("<section class=\"tiles\" aria-label=\"Guarded lessons, violated first\">");
    let ordered = snap.lessons_by_severity();
    for l in ordered
        .iter()
        .filter(|l| l.status.state != LessonState::NotGuarded)
    {
        body.push_str(&tile(&snap, l));
    }
    body.push_str("</section>");
    let unguarded: Vec<&&LessonView> = ordered
        .iter()
        .filter(|l| l.status.state == LessonState::NotGuarded)
        .collect();
    if !unguarded.is_empty() {
        let _ = write!(
            body,
            "<section class=\"unguarded\"><h2>Not guarded ({}): no probe watches these lessons</h2><ul>",
            unguarded.len()
        );
        for l in unguarded {
            let n = l.status.number;
            let _ = write!(
                body,
                "<li class=\"mini st-not-guarded\" id=\"L{n}\"><a href=\"/lesson/{n}\"><span class=\"num\">L{n}</span> {}</a> <span class=\"badge st-not-guarded\"><span aria-hidden=\"true\">○</span> not guarded</span></li>",
                esc(&l.status.rule)
            );
        }
        body.push_str("</ul></section>");
    }
    let title = format!("{} violated, {} at risk", s.violated, s.at_risk);
    layout(&web, &snap, &title, &body).into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is not available\n",
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what}\n")).into_response()
}

/// Server-rendered 24-hour chart: one bar per 15 minutes, height and colour by the worst health
/// in it (taller = worse, so colour is not the only signal), a `<title>` per bar, and a text
/// summary for screen readers and for anyone who cannot tell the colours apart.
fn history_svg(buckets: &[HealthBucket], since: i64) -> String {
    let width_ms = HISTORY_MS / BUCKETS;
    let by_index: HashMap<i64, &HealthBucket> = buckets.iter().map(|b| (b.index, b)).collect();
    let mut counts = [0usize; 5]; // ok, unknown, degraded, critical, no data
    let mut bars = String::new();
    for i in 0..BUCKETS {
        let x = i * 10;
        let start = since + i * width_ms;
        let (cls, h, label, n) = match by_index.get(&i) {
            Some(b) => {
                counts[b.worst as usize] += 1;
                match b.worst {
                    3 => ("b-crit", 56, "critical", b.count),
                    2 => ("b-degr", 42, "degraded", b.count),
                    1 => ("b-unkn", 28, "unknown", b.count),
                    _ => ("b-ok", 14, "ok", b.count),
                }
            }
            None => {
                counts[4] += 1;
                ("b-none", 3, "no data", 0)
            }
        };
        let _ = write!(
            bars,
            "<rect class=\"{cls}\" x=\"{x}\" y=\"{y}\" width=\"9\" height=\"{h}\"><title>{from}–{to}: {label} ({n} observation{s})</title></rect>",
            y = 60 - h,
            from = Utc
                .timestamp_millis_opt(start)
                .single()
                .map(|d| d.format("%H:%M").to_string())
                .unwrap_or_default(),
            to = Utc
                .timestamp_millis_opt(start + width_ms)
                .single()
                .map(|d| d.format("%H:%M UTC").to_string())
                .unwrap_or_default(),
            s = if n == 1 { "" } else { "s" },
        );
    }
    let summary = format!(
        "Last 24 hours in 15-minute slots: {} ok, {} unknown, {} degraded, {} critical, {} without data",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
    format!(
        "<figure class=\"history\"><svg class=\"chart\" viewBox=\"0 0 960 78\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{summary}\">\
<line class=\"axis\" x1=\"0\" y1=\"60.5\" x2=\"960\" y2=\"60.5\"/>{bars}\
<text x=\"0\" y=\"75\">−24 h</text><text x=\"480\" y=\"75\" text-anchor=\"middle\">−12 h</text><text x=\"960\" y=\"75\" text-anchor=\"end\">now</text></svg>\
<figcaption>{summary}. Taller bars are worse: <span class=\"lg b-ok\">ok</span> <span class=\"lg b-unkn\">unknown</span> <span class=\"lg b-degr\">degraded</span> <span class=\"lg b-crit\">critical</span></figcaption></figure>"
    )
}

fn observations_table(rows: &[ObservationRow], now: i64, with_probe: bool) -> String {
    if rows.is_empty() {
        return "<p class=\"empty\">No observations yet.</p>".into();
    }
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr><th>When</th>");
    if with_probe {
        out.push_str("<th>Probe</th>");
    }
    out.push_str("<th>Health</th><th>Observed</th><th>Took</th></tr></thead><tbody>");
    for o in rows {
        let _ = write!(out, "<tr><td>{}</td>", ago(o.ts, now));
        if with_probe {
            let _ = write!(
                out,
                "<td><a href=\"/probe/{id}\">{id}</a></td>",
                id = esc(&o.probe)
            );
        }
        let ev = evidence_list(o);
        let detail = if ev.is_empty() {
            String::new()
        } else {
            format!("<details><summary>evidence</summary>{ev}</details>")
        };
        let _ = write!(
            out,
            "<td>{}</td><td>{}{detail}</td><td>{} ms</td></tr>",
            health_badge(Some(&o.health)),
            esc(&o.summary),
            o.duration_ms
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn transitions_table(rows: &[TransitionRow], now: i64) -> String {
    if rows.is_empty() {
        return "<p class=\"empty\">No transitions yet: the probe has not fired.</p>".into();
    }
    let mut out = String::from(
        "<div class=\"scroll\"><table><thead><tr><th>When</th><th>Probe</th><th>Transition</th><th>Health</th><th>Observed</th><th>Notified</th></tr></thead><tbody>",
    );
    for t in rows {
        let notified = match &t.muted {
            Some(m) => format!("<span class=\"muted\">muted: {}</span>", esc(m)),
            None => "yes".into(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td><a href=\"/probe/{id}\">{id}</a></td><td>{}{}</td><td>{}</td><td>{}</td><td>{notified}</td></tr>",
            ago(t.ts, now),
            esc(&t.kind),
            t.incident
                .map(|i| format!(" <span class=\"inc\">#{i}</span>"))
                .unwrap_or_default(),
            health_badge(Some(&t.health)),
            esc(&t.summary),
            id = esc(&t.probe),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn incidents_section(web: &WebState, rows: &[IncidentRow], now: i64, back: &str) -> String {
    if rows.is_empty() {
        return "<p class=\"empty\">No incidents.</p>".into();
    }
    let mut out = String::from("<ul class=\"incidents\">");
    for i in rows {
        let state = match i.closed {
            None => {
                "<span class=\"badge st-violated\"><span aria-hidden=\"true\">●</span> open</span>"
                    .to_string()
            }
            Some(c) => format!(
                "<span class=\"badge st-holding\"><span aria-hidden=\"true\">✔</span> closed</span> <span class=\"abs\">{}</span>",
                abs_time(c)
            ),
        };
        let _ = write!(
            out,
            "<li class=\"incident\" id=\"incident-{id}\"><div class=\"inc-head\"><b>#{id}</b> {state} <a href=\"/probe/{p}\">{p}</a> · L{lesson} · opened {opened} {health}</div><p class=\"summary\">{summary}</p>",
            id = i.id,
            p = esc(&i.probe),
            lesson = i.lesson,
            opened = ago(i.opened, now),
            health = health_badge(Some(&i.health)),
            summary = esc(&i.summary),
        );
        if let Some(by) = &i.acked_by {
            let _ = write!(
                out,
                "<p class=\"acked\"><span aria-hidden=\"true\">✔</span> acknowledged by {}{}{}</p>",
                esc(by),
                i.acked_at
                    .map(|t| format!(" {}", ago(t, now)))
                    .unwrap_or_default(),
                i.ack_note
                    .as_deref()
                    .map(|n| format!(": {}", esc(n)))
                    .unwrap_or_default()
            );
        }
        if i.closed.is_none() {
            let _ = write!(
                out,
                "<form class=\"inline\" method=\"post\" action=\"/incident/{id}/ack\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"back\" value=\"{back}\">\
<label>Name <input name=\"by\" required maxlength=\"100\" autocomplete=\"name\"></label>\
<label>Note <input name=\"note\" maxlength=\"1000\" placeholder=\"optional\"></label>\
<button type=\"submit\">{verb} #{id}</button></form>",
                id = i.id,
                csrf = esc(&web.csrf),
                back = esc(back),
                verb = if i.acked_by.is_some() {
                    "Acknowledge again"
                } else {
                    "Acknowledge"
                },
            );
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

fn silences_section(web: &WebState, probe: &str, silences: &[SilenceRow], back: &str) -> String {
    let mut out = String::new();
    for s in silences {
        let _ = write!(
            out,
            "<div class=\"silence\"><p class=\"silenced\"><span aria-hidden=\"true\">🔕</span> silence #{id} until {until} by {by}: {reason}</p>\
<form class=\"inline\" method=\"post\" action=\"/silence/{id}/remove\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"back\" value=\"{back}\"><button type=\"submit\" class=\"secondary\">End silence #{id}</button></form></div>",
            id = s.id,
            until = abs_time(s.expires),
            by = esc(&s.created_by),
            reason = esc(&s.reason),
            csrf = esc(&web.csrf),
            back = esc(back),
        );
    }
    let _ = write!(
        out,
        "<form class=\"inline\" method=\"post\" action=\"/probe/{p}/silence\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>For <select name=\"duration\"><option value=\"15m\">15 minutes</option><option value=\"1h\" selected>1 hour</option><option value=\"4h\">4 hours</option><option value=\"1d\">1 day</option><option value=\"7d\">7 days</option></select></label>\
<label>Reason <input name=\"reason\" required maxlength=\"1000\" placeholder=\"planned maintenance\"></label>\
<label>Name <input name=\"by\" required maxlength=\"100\" autocomplete=\"name\"></label>\
<button type=\"submit\">Silence {p}</button></form>\
<p class=\"hint\">A silence mutes notifications only: the probe keeps running and the page keeps showing what it sees.</p>",
        p = esc(probe),
        csrf = esc(&web.csrf),
    );
    out
}

pub async fn lesson(State(web): State<WebState>, Path(n): Path<String>) -> Response {
    let Some(snap) = web.snapshot() else {
        return unavailable();
    };
    let Ok(num) = n.trim_start_matches(['L', 'l']).parse::<u32>() else {
        return not_found("no such lesson");
    };
    let Some(l) = snap.lesson(num) else {
        return not_found("no such lesson");
    };
    let now = snap.now_ms;
    let ids: Vec<String> = l.status.probes.clone();
    let (buckets, incidents, transitions, observations) = {
        let Ok(store) = web.shared.store.lock() else {
            return unavailable();
        };
        let since = now - HISTORY_MS;
        (
            store
                .health_buckets(&ids, since, HISTORY_MS / BUCKETS)
                .unwrap_or_default(),
            store.incidents_of(&ids, 20).unwrap_or_default(),
            store.transitions_of(Some(&ids), 20).unwrap_or_default(),
            store
                .observations_of(Some(&ids), None, None, 20)
                .unwrap_or_default(),
        )
    };
    let lesson = snap.config.catalog.get(num);
    let fix = lesson.map(|x| x.fix.as_str()).unwrap_or("");
    let mut probes = String::new();
    for &i in &l.probes {
        probes.push_str(&probe_item(&snap.probes[i], now, true));
    }
    if probes.is_empty() {
        probes = "<li class=\"empty\">No probe guards this lesson. Add one with <code>lesson = N</code> in a probe table.</li>".into();
    }
    let back = format!("/lesson/{num}");
    let body = format!(
        "<nav class=\"crumbs\"><a href=\"/\">Ledger</a> › L{num}</nav>\
<section class=\"head {cls}\"><p class=\"eyebrow\">Lesson {num} · {class}</p><h1>{rule}</h1><p class=\"state\">{badge}</p>{since}\
<dl class=\"facts\"><dt>What failed</dt><dd>{title}</dd><dt>Fix</dt><dd>{fix}</dd></dl></section>\
<section><h2>Guarding probes</h2><ul class=\"probes\">{probes}</ul></section>\
<section><h2>Last 24 hours</h2>{chart}</section>\
<section><h2>Incidents</h2>{inc}</section>\
<section><h2>Transitions</h2>{tr}</section>\
<section><h2>Last observations</h2>{obs}</section>",
        cls = state_class(l.status.state),
        class = esc(&l.status.class),
        rule = esc(&l.status.rule),
        badge = badge(l.status.state),
        since = since_line(l, now),
        title = esc(&l.status.title),
        fix = esc(fix),
        chart = history_svg(&buckets, now - HISTORY_MS),
        inc = incidents_section(&web, &incidents, now, &back),
        tr = transitions_table(&transitions, now),
        obs = observations_table(&observations, now, true),
    );
    layout(&web, &snap, &format!("L{num} {}", l.status.rule), &body).into_response()
}

pub async fn probe(State(web): State<WebState>, Path(id): Path<String>) -> Response {
    let Some(snap) = web.snapshot() else {
        return unavailable();
    };
    let Some(p) = snap.probe(&id) else {
        return not_found("no such probe");
    };
    let now = snap.now_ms;
    let ids = vec![p.id.clone()];
    let (buckets, incidents, transitions, observations, silences) = {
        let Ok(store) = web.shared.store.lock() else {
            return unavailable();
        };
        let since = now - HISTORY_MS;
        let cfg = &snap.config;
        let pc = cfg.probes.iter().find(|x| x.id == p.id);
        let silences: Vec<SilenceRow> = store
            .silences(Some(now))
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                pc.is_some_and(|pc| s.matches(&p.lessons, &p.id, &pc.tags, &cfg.daemon.host, now))
            })
            .collect();
        (
            store
                .health_buckets(&ids, since, HISTORY_MS / BUCKETS)
                .unwrap_or_default(),
            store.incidents_of(&ids, 20).unwrap_or_default(),
            store.transitions_of(Some(&ids), 20).unwrap_or_default(),
            store
                .observations_of(Some(&ids), None, None, 20)
                .unwrap_or_default(),
            silences,
        )
    };
    let lessons: String = p
        .lessons
        .iter()
        .map(|n| {
            let rule = snap
                .config
                .catalog
                .get(*n)
                .map(|l| l.rule.as_str())
                .unwrap_or("");
            format!("<a href=\"/lesson/{n}\">L{n} {}</a>", esc(rule))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let state = p
        .latest
        .as_ref()
        .and_then(|o| crate::probe::Health::parse(&o.health))
        .map(LessonState::from_health)
        .unwrap_or(LessonState::Unknown);
    let latest = match &p.latest {
        Some(o) => format!(
            "<p class=\"summary big\">{}</p>{}<p class=\"fresh\">checked {} · took {} ms{} {}</p>",
            esc(&o.summary),
            evidence_list(o),
            ago(o.ts, now),
            o.duration_ms,
            if o.late_ms > 0 {
                format!(" · started {} ms late", o.late_ms)
            } else {
                String::new()
            },
            stale_note(p)
        ),
        None => format!("<p class=\"empty\">Not checked yet. {}</p>", stale_note(p)),
    };
    let since = match (p.since, p.health.is_some_and(|h| !h.is_ok())) {
        (Some(s), true) => format!(
            "<p class=\"since\">failing since <time datetime=\"{}\">{}</time> (for {}) · state {}</p>",
            iso(s),
            abs_time(s),
            short_age(now - s),
            esc(&p.status)
        ),
        _ => format!("<p class=\"since\">state {}</p>", esc(&p.status)),
    };
    let back = format!("/probe/{}", p.id);
    let body = format!(
        "<nav class=\"crumbs\"><a href=\"/\">Ledger</a> › probe {id}</nav>\
<section class=\"head {cls}\"><p class=\"eyebrow\">Probe · {kind}{shadow}</p><h1>{id}</h1><p class=\"state\">{hb}</p>{since}\
<dl class=\"facts\"><dt>Guards</dt><dd>{lessons}</dd><dt>Runs every</dt><dd>{every}</dd>{desc}</dl></section>\
<section><h2>Latest observation</h2>{latest}</section>\
<section><h2>Last 24 hours</h2>{chart}</section>\
<section><h2>Incidents</h2>{inc}</section>\
<section><h2>Silence</h2>{sil}</section>\
<section><h2>Transitions</h2>{tr}</section>\
<section><h2>Last observations</h2>{obs}</section>",
        id = esc(&p.id),
        cls = state_class(state),
        kind = esc(p.kind),
        shadow = if p.shadow { " · shadow mode" } else { "" },
        hb = health_badge(p.latest.as_ref().map(|o| o.health.as_str())),
        every = short_age(p.interval_ms),
        desc = p
            .description
            .as_deref()
            .map(|d| format!("<dt>About</dt><dd>{}</dd>", esc(d)))
            .unwrap_or_default(),
        chart = history_svg(&buckets, now - HISTORY_MS),
        inc = incidents_section(&web, &incidents, now, &back),
        sil = silences_section(&web, &p.id, &silences, &back),
        tr = transitions_table(&transitions, now),
        obs = observations_table(&observations, now, false),
    );
    layout(&web, &snap, &format!("probe {}", p.id), &body).into_response()
}

/// A redirect target from a form: a local path only (no scheme, no `//host`).
fn safe_back(back: Option<&str>, default: &str) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && b.chars().all(|c| c.is_ascii_graphic()) =>
        {
            b.to_string()
        }
        _ => default.to_string(),
    }
}

fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, to.to_string())],
        "",
    )
        .into_response()
}

fn form_error(status: StatusCode, message: &str, back: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>ledgerd: not done</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
<body><main><section class=\"head st-violated\"><h1>Not done</h1><p>{}</p><p><a href=\"{}\">Back</a></p></section></main></body></html>",
            esc(message),
            esc(back)
        ),
    )
        .into_response()
}

/// The form's CSRF token matches this daemon's; `Some(refusal)` when it does not.
fn csrf_refusal(web: &WebState, form: &HashMap<String, String>, back: &str) -> Option<Response> {
    match form.get("csrf") {
        Some(t) if auth::secret_eq(t, &web.csrf) => None,
        _ => Some(form_error(
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or stale (the daemon restarted?): reload the page and try again",
            back,
        )),
    }
}

fn api_error(e: ApiError, back: &str) -> Response {
    form_error(e.0, &e.1, back)
}

pub async fn form_ack(
    State(web): State<WebState>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let back = safe_back(form.get("back").map(String::as_str), "/");
    if let Some(r) = csrf_refusal(&web, &form, &back) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return form_error(StatusCode::BAD_REQUEST, "not an incident id", &back);
    };
    let by = form.get("by").map(String::as_str).unwrap_or("");
    let note = form.get("note").map(String::as_str);
    match api::acknowledge(&web, id, by, note) {
        Ok(_) => see_other(&format!("{back}#incident-{id}")),
        Err(e) => api_error(e, &back),
    }
}

pub async fn form_silence(
    State(web): State<WebState>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let back = safe_back(Some(&format!("/probe/{id}")), "/");
    if let Some(r) = csrf_refusal(&web, &form, &back) {
        return r;
    }
    let req = SilenceRequest {
        probe: Some(id),
        reason: form.get("reason").cloned().unwrap_or_default(),
        by: form.get("by").cloned().unwrap_or_default(),
        duration: Some(form.get("duration").cloned().unwrap_or_else(|| "1h".into())),
        ..Default::default()
    };
    match api::create(&web, &req) {
        Ok(_) => see_other(&back),
        Err(e) => api_error(e, &back),
    }
}

pub async fn form_unsilence(
    State(web): State<WebState>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let back = safe_back(form.get("back").map(String::as_str), "/");
    if let Some(r) = csrf_refusal(&web, &form, &back) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return form_error(StatusCode::BAD_REQUEST, "not a silence id", &back);
    };
    match api::remove(&web, id) {
        Ok(()) => see_other(&back),
        Err(e) => api_error(e, &back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_hostile_text() {
        assert_eq!(
            esc("<img src=x onerror=\"alert(1)\">&'"),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn back_links_stay_local() {
        assert_eq!(safe_back(Some("/probe/a"), "/"), "/probe/a");
        assert_eq!(safe_back(Some("//evil.example"), "/"), "/");
        assert_eq!(safe_back(Some("https://evil.example"), "/"), "/");
        assert_eq!(safe_back(Some("/\\evil"), "/"), "/");
        assert_eq!(safe_back(None, "/x"), "/x");
    }

    #[test]
    fn chart_has_a_bar_per_slot_and_a_text_summary() {
        let svg = history_svg(
            &[
                HealthBucket {
                    index: 95,
                    worst: 3,
                    count: 4,
                },
                HealthBucket {
                    index: 0,
                    worst: 0,
                    count: 1,
                },
            ],
            0,
        );
        assert_eq!(svg.matches("<rect").count(), 96);
        assert!(svg.contains("1 ok, 0 unknown, 0 degraded, 1 critical, 94 without data"));
        assert!(svg.contains("critical (4 observations)"));
    }
}
