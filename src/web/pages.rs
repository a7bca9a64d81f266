//! The dashboard's pages: the ledger page (the lesson × agent matrix and the lessons that do not
//! hold, from `matrix.rs`), a page per lesson, per probe and per agent (with a 24-hour SVG
//! history), and the form endpoints behind their acknowledge and silence buttons. Handlers turn
//! the view snapshot and store rows into plain display structs (times formatted, badges chosen)
//! and hand them to the templates in `templates/` (`render.rs`), which auto-escape every value,
//! so probed text stays text (lesson 22); no inline script or style, so the strict CSP holds.
//! It must not define API shapes or write HTML itself.

use super::api::{self, ApiError, SilenceRequest};
use super::badge::{Badge, Time, abs_time, health_badge, hm, state_badge, time};
use super::render;
use super::view::{LessonView, ProbeView, Snapshot, short_age};
use super::{WebState, auth};
use crate::status::LessonState;
use crate::store::{HealthBucket, IncidentRow, ObservationRow, SilenceRow, TransitionRow};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};
use serde::Serialize;
use std::collections::HashMap;

/// History window and bucket width of the SVG chart.
const HISTORY_MS: i64 = 24 * 3_600_000;
const BUCKETS: i64 = 96;
/// Evidence items shown per observation; the rest are counted.
const EVIDENCE_SHOWN: usize = 20;

/// The layout's values (`layout.html`).
#[derive(Serialize)]
struct PageMeta {
    title: String,
    host: String,
    now: i64,
    newest: i64,
    version: &'static str,
    rendered: String,
}

fn meta(snap: &Snapshot, title: String) -> PageMeta {
    PageMeta {
        title,
        host: snap.config.daemon.host.clone(),
        now: snap.now_ms,
        newest: snap.newest.map(|(_, id)| id).unwrap_or(0),
        version: env!("CARGO_PKG_VERSION"),
        rendered: abs_time(snap.now_ms),
    }
}

/// A display struct as a template value.
fn ser<T: Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Renders a page template; a template error is logged and answered 500 (never half a page).
fn page(name: &str, ctx: Value) -> Response {
    match render::render(name, ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "dashboard template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered (see the daemon log)\n",
            )
                .into_response()
        }
    }
}

#[derive(Serialize)]
pub struct EvidenceItem {
    pub key: String,
    pub value: String,
}

/// What an observation expected and saw (`macros.html` `evidence`).
#[derive(Serialize)]
pub struct Evidence {
    pub expected: Option<String>,
    pub items: Vec<EvidenceItem>,
    /// Items not shown.
    pub more: usize,
}

impl Evidence {
    fn is_empty(&self) -> bool {
        self.expected.is_none() && self.items.is_empty()
    }
}

pub fn evidence(o: &ObservationRow) -> Evidence {
    let all = o
        .body
        .get("evidence")
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text = |e: &serde_json::Value, k: &str| {
        e.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
    };
    Evidence {
        expected: o
            .body
            .get("expected")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        items: all
            .iter()
            .take(EVIDENCE_SHOWN)
            .map(|e| EvidenceItem {
                key: text(e, "key"),
                value: text(e, "value"),
            })
            .collect(),
        more: all.len().saturating_sub(EVIDENCE_SHOWN),
    }
}

/// "stale: no observation for 3 min, expected every 1 min", or `None` when fresh.
fn stale_note(p: &ProbeView) -> Option<String> {
    if !p.stale {
        return None;
    }
    let every = short_age(p.interval_ms);
    Some(match p.age_ms {
        Some(a) => format!(
            "stale: no observation for {}, expected every {every}",
            short_age(a)
        ),
        None => format!("stale: never observed, expected every {every}"),
    })
}

#[derive(Serialize)]
pub struct Acked {
    pub incident: i64,
    pub by: String,
    pub note: Option<String>,
}

#[derive(Serialize)]
pub struct Silenced {
    pub until: String,
    pub by: String,
    pub reason: String,
}

/// One probe in a lesson tile or on a lesson page (`macros.html` `probe_row`).
#[derive(Serialize)]
pub struct ProbeRow {
    pub id: String,
    pub kind: &'static str,
    pub shadow: bool,
    pub health: Badge,
    pub checked: Option<Time>,
    pub stale: Option<String>,
    /// The latest summary: shown when failing, or always on a lesson page.
    pub summary: Option<String>,
    /// The latest evidence, when failing.
    pub evidence: Option<Evidence>,
    pub acked: Option<Acked>,
    pub silenced: Option<Silenced>,
}

pub fn probe_row(p: &ProbeView, now: i64, detail: bool) -> ProbeRow {
    let latest = p.latest.as_ref();
    let failing = latest.is_some_and(|o| o.health != "ok");
    ProbeRow {
        id: p.id.clone(),
        kind: p.kind,
        shadow: p.shadow,
        health: health_badge(latest.map(|o| o.health.as_str())),
        checked: latest.map(|o| time(o.ts, now)),
        stale: stale_note(p),
        summary: latest
            .filter(|_| failing || detail)
            .map(|o| o.summary.clone()),
        evidence: latest.filter(|_| failing).map(evidence),
        acked: p.open_incident.as_ref().and_then(|i| {
            i.acked_by.as_ref().map(|by| Acked {
                incident: i.id,
                by: by.clone(),
                note: i.ack_note.clone(),
            })
        }),
        silenced: p.silenced_by.as_ref().map(|s| Silenced {
            until: abs_time(s.expires),
            by: s.created_by.clone(),
            reason: s.reason.clone(),
        }),
    }
}

/// "violated since <time>" for a failing lesson.
#[derive(Serialize)]
pub struct Since {
    pub what: &'static str,
    pub at: Time,
}

fn since(l: &LessonView, now: i64) -> Option<Since> {
    match (l.status.state, l.since) {
        (LessonState::Violated | LessonState::AtRisk, Some(s)) => Some(Since {
            what: l.status.state.as_str(),
            at: time(s, now),
        }),
        _ => None,
    }
}

/// One guarded lesson on the ledger page (`macros.html` `tile`).
#[derive(Serialize)]
pub struct Tile {
    pub n: u32,
    pub state: Badge,
    pub rule: String,
    pub title: String,
    pub since: Option<Since>,
    pub probes: Vec<ProbeRow>,
    pub checked: Option<Time>,
    pub stale: bool,
}

pub fn tile(snap: &Snapshot, l: &LessonView) -> Tile {
    let now = snap.now_ms;
    Tile {
        n: l.status.number,
        state: state_badge(l.status.state),
        rule: l.status.rule.clone(),
        title: l.status.title.clone(),
        since: since(l, now),
        probes: l
            .probes
            .iter()
            .map(|&i| probe_row(&snap.probes[i], now, false))
            .collect(),
        checked: l.checked.map(|t| time(t, now)),
        stale: l.stale,
    }
}

#[derive(Serialize)]
struct ChannelError<'a> {
    channel: &'a str,
    broken: bool,
    error: &'a str,
}

#[derive(Serialize)]
struct Headline {
    guarded: usize,
    total: usize,
    violated: usize,
    at_risk: usize,
    host: String,
    newest: Option<Time>,
    stale: usize,
    open: usize,
}

#[derive(Serialize)]
struct Count {
    state: Badge,
    n: usize,
}

#[derive(Serialize)]
struct Unguarded<'a> {
    n: u32,
    rule: &'a str,
}

pub async fn index(State(web): State<WebState>) -> Response {
    let Some(snap) = web.snapshot() else {
        return unavailable();
    };
    let now = snap.now_ms;
    let s = api::summary_of(&snap);
    let channel_errors: Vec<ChannelError> = snap
        .channel_errors
        .iter()
        .map(|(channel, error)| ChannelError {
            channel,
            broken: error.starts_with("broken"),
            error,
        })
        .collect();
    let headline = Headline {
        guarded: s.guarded,
        total: s.lessons_total,
        violated: s.violated,
        at_risk: s.at_risk,
        host: s.host.clone(),
        newest: snap.newest.map(|(ts, _)| time(ts, now)),
        stale: s.stale_probes,
        open: s.open_incidents,
    };
    let counts: Vec<Count> = [
        LessonState::Violated,
        LessonState::AtRisk,
        LessonState::Unknown,
        LessonState::Holding,
        LessonState::NotGuarded,
    ]
    .into_iter()
    .map(|st| Count {
        state: state_badge(st),
        n: snap.count(st),
    })
    .collect();
    let ordered = snap.lessons_by_severity();
    let unguarded: Vec<&LessonView> = ordered
        .into_iter()
        .filter(|l| l.status.state == LessonState::NotGuarded)
        .collect();
    let unguarded: Vec<Unguarded> = unguarded
        .iter()
        .map(|l| Unguarded {
            n: l.status.number,
            rule: &l.status.rule,
        })
        .collect();
    let matrix = super::matrix::matrix(&snap);
    let vtiles = super::matrix::vtiles(&snap);
    let title = format!("{} violated, {} at risk", s.violated, s.at_risk);
    page(
        "index.html",
        context! {
            page => ser(&meta(&snap, title)),
            channel_errors => ser(&channel_errors),
            s => ser(&headline),
            counts => ser(&counts),
            matrix => ser(&matrix),
            vtiles => ser(&vtiles),
            unguarded => ser(&unguarded),
        },
    )
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

/// One bar of the 24-hour chart.
#[derive(Serialize)]
pub struct Bar {
    pub cls: &'static str,
    pub x: i64,
    pub y: i64,
    pub h: i64,
    pub from: String,
    pub to: String,
    pub label: &'static str,
    pub n: i64,
}

/// The 24-hour chart (`macros.html` `chart`): one bar per 15 minutes, height and colour by the
/// worst health in it (taller = worse, so colour is not the only signal), and a text summary
/// for screen readers and for anyone who cannot tell the colours apart.
#[derive(Serialize)]
pub struct Chart {
    pub summary: String,
    pub bars: Vec<Bar>,
}

pub fn history_chart(buckets: &[HealthBucket], since: i64) -> Chart {
    let width_ms = HISTORY_MS / BUCKETS;
    let by_index: HashMap<i64, &HealthBucket> = buckets.iter().map(|b| (b.index, b)).collect();
    let mut counts = [0usize; 5]; // ok, unknown, degraded, critical, no data
    let bars = (0..BUCKETS)
        .map(|i| {
            let start = since + i * width_ms;
            let (cls, h, label, n) = match by_index.get(&i) {
                Some(b) => {
                    counts[usize::from(b.worst.min(3))] += 1;
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
            Bar {
                cls,
                x: i * 10,
                y: 60 - h,
                h,
                from: hm(start, "%H:%M"),
                to: hm(start + width_ms, "%H:%M UTC"),
                label,
                n,
            }
        })
        .collect();
    Chart {
        summary: format!(
            "Last 24 hours in 15-minute slots: {} ok, {} unknown, {} degraded, {} critical, {} without data",
            counts[0], counts[1], counts[2], counts[3], counts[4]
        ),
        bars,
    }
}

#[derive(Serialize)]
struct ObservationLine<'a> {
    at: Time,
    probe: &'a str,
    health: Badge,
    summary: &'a str,
    evidence: Option<Evidence>,
    duration_ms: i64,
}

fn observation_lines(rows: &[ObservationRow], now: i64) -> Vec<ObservationLine<'_>> {
    rows.iter()
        .map(|o| {
            let ev = evidence(o);
            ObservationLine {
                at: time(o.ts, now),
                probe: &o.probe,
                health: health_badge(Some(&o.health)),
                summary: &o.summary,
                evidence: (!ev.is_empty()).then_some(ev),
                duration_ms: o.duration_ms,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct TransitionLine<'a> {
    at: Time,
    probe: &'a str,
    kind: &'a str,
    incident: Option<i64>,
    health: Badge,
    summary: &'a str,
    muted: Option<&'a str>,
}

fn transition_lines(rows: &[TransitionRow], now: i64) -> Vec<TransitionLine<'_>> {
    rows.iter()
        .map(|t| TransitionLine {
            at: time(t.ts, now),
            probe: &t.probe,
            kind: &t.kind,
            incident: t.incident,
            health: health_badge(Some(&t.health)),
            summary: &t.summary,
            muted: t.muted.as_deref(),
        })
        .collect()
}

#[derive(Serialize)]
struct IncidentLine<'a> {
    id: i64,
    probe: &'a str,
    lesson: u32,
    opened: Time,
    closed: Option<String>,
    health: Badge,
    summary: &'a str,
    acked_by: Option<&'a str>,
    acked_at: Option<Time>,
    ack_note: Option<&'a str>,
}

fn incident_lines(rows: &[IncidentRow], now: i64) -> Vec<IncidentLine<'_>> {
    rows.iter()
        .map(|i| IncidentLine {
            id: i.id,
            probe: &i.probe,
            lesson: i.lesson,
            opened: time(i.opened, now),
            closed: i.closed.map(abs_time),
            health: health_badge(Some(&i.health)),
            summary: &i.summary,
            acked_by: i.acked_by.as_deref(),
            acked_at: i.acked_at.map(|t| time(t, now)),
            ack_note: i.ack_note.as_deref(),
        })
        .collect()
}

/// What every state-changing form carries: this daemon's CSRF token and the page to return to.
#[derive(Serialize)]
struct FormCtx<'a> {
    csrf: &'a str,
    back: &'a str,
}

#[derive(Serialize)]
struct LessonPage<'a> {
    n: u32,
    state: Badge,
    class: &'a str,
    rule: &'a str,
    title: &'a str,
    fix: &'a str,
    since: Option<Since>,
    probes: Vec<ProbeRow>,
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
    let ((buckets, incidents, transitions), observations) = {
        let Ok(store) = web.shared.store.lock() else {
            return unavailable();
        };
        (
            history(&store, &ids, now),
            store
                .observations_of(Some(&ids), None, None, 20)
                .unwrap_or_default(),
        )
    };
    let fix = snap
        .config
        .catalog
        .get(num)
        .map(|x| x.fix.as_str())
        .unwrap_or("");
    let back = format!("/lesson/{num}");
    let lesson = LessonPage {
        n: num,
        state: state_badge(l.status.state),
        class: &l.status.class,
        rule: &l.status.rule,
        title: &l.status.title,
        fix,
        since: since(l, now),
        probes: l
            .probes
            .iter()
            .map(|&i| probe_row(&snap.probes[i], now, true))
            .collect(),
    };
    page(
        "lesson.html",
        context! {
            page => ser(&meta(&snap, format!("L{num} {}", l.status.rule))),
            l => ser(&lesson),
            chart => ser(&history_chart(&buckets, now - HISTORY_MS)),
            incidents => ser(&incident_lines(&incidents, now)),
            transitions => ser(&transition_lines(&transitions, now)),
            observations => ser(&observation_lines(&observations, now)),
            form => ser(&FormCtx { csrf: &web.csrf, back: &back }),
        },
    )
}

#[derive(Serialize)]
struct LessonLink<'a> {
    n: u32,
    rule: &'a str,
}

#[derive(Serialize)]
struct Latest<'a> {
    summary: &'a str,
    evidence: Evidence,
    at: Time,
    duration_ms: i64,
    late_ms: i64,
}

#[derive(Serialize)]
struct SilenceLine<'a> {
    id: i64,
    until: String,
    by: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct ProbePage<'a> {
    id: &'a str,
    kind: &'a str,
    shadow: bool,
    state: Badge,
    health: Badge,
    failing_since: Option<Time>,
    status: &'a str,
    lessons: Vec<LessonLink<'a>>,
    every: String,
    description: Option<&'a str>,
    latest: Option<Latest<'a>>,
    stale: Option<String>,
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
    let ((buckets, incidents, transitions), observations, silences) = {
        let Ok(store) = web.shared.store.lock() else {
            return unavailable();
        };
        let cfg = &snap.config;
        let pc = cfg.probes.iter().find(|x| x.id == p.id);
        let silences: Vec<SilenceRow> = store
            .silences(Some(now))
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                pc.is_some_and(|pc| {
                    s.covers(
                        &crate::store::SilenceTarget {
                            lessons: &p.lessons,
                            probe: &p.id,
                            tags: &pc.tags,
                            agent: pc.agent.as_deref(),
                            host: &cfg.daemon.host,
                        },
                        now,
                    )
                })
            })
            .collect();
        (
            history(&store, &ids, now),
            store
                .observations_of(Some(&ids), None, None, 20)
                .unwrap_or_default(),
            silences,
        )
    };
    let state = p
        .latest
        .as_ref()
        .and_then(|o| crate::probe::Health::parse(&o.health))
        .map(LessonState::from_health)
        .unwrap_or(LessonState::Unknown);
    let failing = p.health.is_some_and(|h| !h.is_ok());
    let view = ProbePage {
        id: &p.id,
        kind: p.kind,
        shadow: p.shadow,
        state: state_badge(state),
        health: health_badge(p.latest.as_ref().map(|o| o.health.as_str())),
        failing_since: p.since.filter(|_| failing).map(|s| time(s, now)),
        status: &p.status,
        lessons: p
            .lessons
            .iter()
            .map(|n| LessonLink {
                n: *n,
                rule: snap
                    .config
                    .catalog
                    .get(*n)
                    .map(|l| l.rule.as_str())
                    .unwrap_or(""),
            })
            .collect(),
        every: short_age(p.interval_ms),
        description: p.description.as_deref(),
        latest: p.latest.as_ref().map(|o| Latest {
            summary: &o.summary,
            evidence: evidence(o),
            at: time(o.ts, now),
            duration_ms: o.duration_ms,
            late_ms: o.late_ms,
        }),
        stale: stale_note(p),
    };
    let silence_lines: Vec<SilenceLine> = silences
        .iter()
        .map(|s| SilenceLine {
            id: s.id,
            until: abs_time(s.expires),
            by: &s.created_by,
            reason: &s.reason,
        })
        .collect();
    let back = format!("/probe/{}", p.id);
    page(
        "probe.html",
        context! {
            page => ser(&meta(&snap, format!("probe {}", p.id))),
            p => ser(&view),
            chart => ser(&history_chart(&buckets, now - HISTORY_MS)),
            incidents => ser(&incident_lines(&incidents, now)),
            silences => ser(&silence_lines),
            transitions => ser(&transition_lines(&transitions, now)),
            observations => ser(&observation_lines(&observations, now)),
            form => ser(&FormCtx { csrf: &web.csrf, back: &back }),
        },
    )
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
    let mut r = page("form_error.html", context! { message, back });
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
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

/// The past a page shows of the probes `ids`: their health per bucket over `HISTORY_MS` before
/// `now`, their last 20 incidents and last 20 transitions (empty where the store cannot say).
fn history(
    store: &crate::store::Store,
    ids: &[String],
    now: i64,
) -> (Vec<HealthBucket>, Vec<IncidentRow>, Vec<TransitionRow>) {
    (
        store
            .health_buckets(ids, now - HISTORY_MS, HISTORY_MS / BUCKETS)
            .unwrap_or_default(),
        store.incidents_of(ids, 20).unwrap_or_default(),
        store.transitions_of(Some(ids), 20).unwrap_or_default(),
    )
}

fn api_error(e: ApiError, back: &str) -> Response {
    form_error(e.0, &e.1, back)
}

/// The answer to a form once the API did its part: on to `to`, or the API's error shown with a
/// link `back`.
fn after<T>(done: Result<T, ApiError>, to: &str, back: &str) -> Response {
    match done {
        Ok(_) => see_other(to),
        Err(e) => api_error(e, back),
    }
}

/// A silence form's end: `target` (what to silence) with the form's reason, author and
/// duration (default 1h), created, then back.
fn create_silence(
    web: &WebState,
    form: &HashMap<String, String>,
    target: SilenceRequest,
    back: &str,
) -> Response {
    let req = SilenceRequest {
        reason: form.get("reason").cloned().unwrap_or_default(),
        by: form.get("by").cloned().unwrap_or_default(),
        duration: Some(form.get("duration").cloned().unwrap_or_else(|| "1h".into())),
        ..target
    };
    after(api::create(web, &req), back, back)
}

/// The checks a form acting on one stored row starts with: its `back` page, the CSRF token, and
/// the row id from the path (`what` names a bad one). `Err` is the answer to send instead.
fn form_target(
    web: &WebState,
    form: &HashMap<String, String>,
    id: &str,
    what: &str,
) -> Result<(i64, String), Box<Response>> {
    let back = safe_back(form.get("back").map(String::as_str), "/");
    if let Some(r) = csrf_refusal(web, form, &back) {
        return Err(Box::new(r));
    }
    let Ok(id) = id.parse::<i64>() else {
        return Err(Box::new(form_error(StatusCode::BAD_REQUEST, what, &back)));
    };
    Ok((id, back))
}

pub async fn form_ack(
    State(web): State<WebState>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, back) = match form_target(&web, &form, &id, "not an incident id") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let by = form.get("by").map(String::as_str).unwrap_or("");
    let note = form.get("note").map(String::as_str);
    after(
        api::acknowledge(&web, id, by, note),
        &format!("{back}#incident-{id}"),
        &back,
    )
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
    let target = SilenceRequest {
        probe: Some(id),
        ..Default::default()
    };
    create_silence(&web, &form, target, &back)
}

pub async fn form_unsilence(
    State(web): State<WebState>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, back) = match form_target(&web, &form, &id, "not a silence id") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    after(api::remove(&web, id), &back, &back)
}

#[derive(Serialize)]
struct AgentHead {
    id: String,
    label: String,
    host: bool,
    state: Badge,
    probes: usize,
    guarded: usize,
    violated: usize,
    at_risk: usize,
    unknown: usize,
    holding: usize,
}

#[derive(Serialize)]
struct AgentSilence {
    id: i64,
    what: String,
    until: String,
    by: String,
    reason: String,
}

/// `/agent/<id>`: one agent's lessons (over its own probes) and history; `/agent/-` is the
/// host-wide probes.
pub async fn agent(State(web): State<WebState>, Path(id): Path<String>) -> Response {
    let Some(snap) = web.snapshot() else {
        return unavailable();
    };
    let key = (id != "-").then_some(id.as_str());
    let Some(row) = snap.agent(key) else {
        return not_found("no such agent");
    };
    let now = snap.now_ms;
    let ids: Vec<String> = snap
        .probes
        .iter()
        .filter(|p| p.agent.as_deref() == key)
        .map(|p| p.id.clone())
        .collect();
    let ((buckets, incidents, transitions), silences) = {
        let Ok(store) = web.shared.store.lock() else {
            return unavailable();
        };
        let mut silences: Vec<SilenceRow> = store.silences(Some(now)).unwrap_or_default();
        // config waivers are shown too (id 0: removed by editing the config, not from the page)
        silences.extend(
            snap.config
                .silences
                .iter()
                .filter(|s| s.expires > now)
                .map(crate::config::Silence::to_row),
        );
        silences.retain(|s| key.is_some() && s.agent.as_deref() == key);
        (history(&store, &ids, now), silences)
    };
    let mut guarded: Vec<&LessonView> = row
        .lessons
        .iter()
        .filter(|l| l.status.state != LessonState::NotGuarded)
        .collect();
    guarded.sort_by_key(|l| (l.status.state, l.status.number));
    let worst = guarded
        .first()
        .map_or(LessonState::NotGuarded, |l| l.status.state);
    let head = AgentHead {
        id: super::matrix::row_id(key).to_string(),
        label: key.unwrap_or("host").to_string(),
        host: key.is_none(),
        state: state_badge(worst),
        probes: ids.len(),
        guarded: guarded.len(),
        violated: row.count(LessonState::Violated),
        at_risk: row.count(LessonState::AtRisk),
        unknown: row.count(LessonState::Unknown),
        holding: row.count(LessonState::Holding),
    };
    let tiles: Vec<Tile> = guarded.iter().map(|l| tile(&snap, l)).collect();
    let silences: Vec<AgentSilence> = silences
        .iter()
        .map(|s| AgentSilence {
            id: s.id,
            what: s.describe(),
            until: abs_time(s.expires),
            by: s.created_by.clone(),
            reason: s.reason.clone(),
        })
        .collect();
    let back = format!("/agent/{}", head.id);
    page(
        "agent.html",
        context! {
            page => ser(&meta(&snap, format!("{} · {} violated", head.label, head.violated))),
            a => ser(&head),
            tiles => ser(&tiles),
            silences => ser(&silences),
            chart => ser(&history_chart(&buckets, now - HISTORY_MS)),
            incidents => ser(&incident_lines(&incidents, now)),
            transitions => ser(&transition_lines(&transitions, now)),
            form => ser(&FormCtx { csrf: &web.csrf, back: &back }),
        },
    )
}

/// The agent page's silence form: a silence by agent (optionally one lesson).
pub async fn form_agent_silence(
    State(web): State<WebState>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let back = safe_back(Some(&format!("/agent/{id}")), "/");
    if let Some(r) = csrf_refusal(&web, &form, &back) {
        return r;
    }
    let lesson = match form
        .get("lesson")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => match s.trim_start_matches(['L', 'l']).parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return form_error(StatusCode::BAD_REQUEST, "not a lesson number", &back),
        },
    };
    let target = SilenceRequest {
        agent: Some(id),
        lesson,
        ..Default::default()
    };
    create_silence(&web, &form, target, &back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{assert_contains, assert_lacks};

    #[test]
    fn back_links_stay_local() {
        assert_eq!(safe_back(Some("/probe/a"), "/"), "/probe/a");
        assert_eq!(safe_back(Some("//evil.example"), "/"), "/");
        assert_eq!(safe_back(Some("https://evil.example"), "/"), "/");
        assert_eq!(safe_back(Some("/\\evil"), "/"), "/");
        assert_eq!(safe_back(None, "/x"), "/x");
    }

    /// Renders one macro of `macros.html` with `arg`.
    fn macro_html(call: &str, arg: Value) -> String {
        let src = format!("{{% import \"macros.html\" as m %}}{{{{ m.{call}(arg) }}}}");
        render::render_str(&src, context! { arg }).unwrap()
    }

    #[test]
    fn chart_has_a_bar_per_slot_and_a_text_summary() {
        let chart = history_chart(
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
        let svg = macro_html("chart", ser(&chart));
        assert_eq!(svg.matches("<rect").count(), 96);
        assert!(svg.contains("1 ok, 0 unknown, 0 degraded, 1 critical, 94 without data"));
        assert!(svg.contains("critical (4 observations)"));
        assert!(svg.contains("ok (1 observation)<"));
    }

    #[test]
    fn a_probe_row_keeps_hostile_text_inert() {
        let hostile = "<script>alert(1)</script> <img src=x onerror='x()'> \"q\" &amp;";
        let row = ProbeRow {
            id: "p\"><b>".into(),
            kind: "command",
            shadow: true,
            health: health_badge(Some("critical")),
            checked: Some(time(1_000, 13_000)),
            stale: Some("stale: never observed, expected every 1 s".into()),
            summary: Some(hostile.into()),
            evidence: Some(Evidence {
                expected: Some(hostile.into()),
                items: vec![EvidenceItem {
                    key: hostile.into(),
                    value: hostile.into(),
                }],
                more: 2,
            }),
            acked: Some(Acked {
                incident: 7,
                by: hostile.into(),
                note: Some(hostile.into()),
            }),
            silenced: None,
        };
        let html = macro_html("probe_row", ser(&row));
        let e = crate::alert::escape::html(hostile);
        assert_eq!(html.matches(&e).count(), 6, "{html}");
        assert_lacks(&html, &["<script", "<img", "<b>", "silenced"]);
        let says = [
            "href=\"/probe/p&quot;&gt;&lt;b&gt;\"",
            "checked <time class=\"ago\"",
            "12 s ago</time>",
            "<dt>…</dt><dd>2 more</dd>",
            "<span class=\"tag\">shadow</span>",
            "incident #7 acknowledged by",
        ];
        assert_contains(&html, &says);
    }
}
