//! `/metrics`: OpenMetrics text through prometheus-client. Gauges and counters are built per
//! scrape from the store (latest observations, lesson states, outbox counts) and `Liveness`; the
//! probe-duration and scheduler-lateness histograms live in memory (`RunMetrics`, fed by the
//! recorder thread). It must not write the store or decide health.
//!
//! Series (all prefixed `ledgerd_`):
//! - `up` 1; `build_info{version}` 1; `scheduler_running`, `store_writable` 0/1
//! - `probe_health{probe,lesson,kind[,agent]}`: 0 ok, 1 degraded, 2 critical, 3 unknown (or never
//!   ran); `agent` only on probes that belong to one
//! - `probe_stale{probe}` 1 when the latest observation is older than twice the interval plus 5 s
//! - `probe_last_success_timestamp_seconds{probe}`; `probe_duration_seconds{probe}` histogram
//! - `lesson_state{lesson,state}`: 1 for the lesson's current state, 0 for the other four; and
//!   per agent `lesson_state{agent,lesson,state}` over that agent's probes, for the lessons it
//!   guards, states violated/at_risk/unknown/holding (at most agents × lessons × 4 series).
//!   Select the host-wide series with `agent=""`
//! - `lesson_info{lesson,rule,class}` 1 (join on `lesson` for rule text in alerts)
//! - `alerts_sent_total{channel}`, `alerts_failed_total{channel}`: running totals kept in the
//!   store (never lowered by pruning, kept across restarts; a multi-URL channel counts each member),
//!   `outbox_depth`, `open_incidents`, `observations_total` (since start)
//! - `scheduler_lateness_seconds` histogram: how late runs started against their schedule

use super::WebState;
use super::view::Snapshot;
use crate::shared::{Labels, Liveness, RunMetrics};
use crate::status::LessonState;
use crate::store::ChannelCounts;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn gauge_family() -> Family<Labels, Gauge<f64, AtomicU64>> {
    Family::default()
}

/// Encodes every series into OpenMetrics text.
pub fn render(web: &WebState) -> Result<String, String> {
    let snap = web.snapshot().ok_or("the store is not available")?;
    let live = &web.shared.live;
    let runs = &live.runs;
    let (channels, depth) = read_store(web, &snap, runs)?;

    let mut reg = Registry::with_prefix("ledgerd");
    register_liveness(&mut reg, live);
    register_probes(&mut reg, &snap, runs);
    register_lessons(&mut reg, &snap);
    register_delivery(&mut reg, &snap, &channels, depth);
    let obs: Counter = Counter::default();
    obs.inc_by(live.observations.load(Ordering::Acquire).max(0) as u64);
    reg.register(
        "observations",
        "Observations recorded since the daemon started",
        obs,
    );
    reg.register_with_unit(
        "scheduler_lateness",
        "How late probe runs started against their schedule",
        Unit::Seconds,
        runs.lateness.clone(),
    );

    let mut out = String::new();
    encode(&mut out, &reg).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Reads the per-channel counts and the outbox depth, and seeds `runs.last_ok` from the store for
/// probes this process has not seen succeed yet (so the series survive a restart).
fn read_store(
    web: &WebState,
    snap: &Snapshot,
    runs: &RunMetrics,
) -> Result<(Vec<ChannelCounts>, i64), String> {
    let (channels, depth, missing_ok) = {
        let store = web.shared.store.lock().map_err(|_| "store lock poisoned")?;
        let channels = store.channel_counts().map_err(|e| e.to_string())?;
        let depth = store.outbox_depth().map_err(|e| e.to_string())?;
        let known: Vec<String> = runs
            .last_ok
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut seeded = HashMap::new();
        for p in snap.probes.iter().filter(|p| !known.contains(&p.id)) {
            let ts = store
                .last_ok_observation(&p.id)
                .map_err(|e| e.to_string())?;
            seeded.insert(p.id.clone(), ts.unwrap_or(0));
        }
        (channels, depth, seeded)
    };
    if let Ok(mut m) = runs.last_ok.lock() {
        for (k, v) in missing_ok {
            m.entry(k).or_insert(v);
        }
    }
    Ok((channels, depth))
}

/// `up`, `build_info`, `scheduler_running`, `store_writable`.
fn register_liveness(reg: &mut Registry, live: &Liveness) {
    gauge(reg, "up", "1 while ledgerd serves this endpoint", 1);
    let build = Family::<Labels, Gauge>::default();
    build
        .get_or_create(&labels(&[("version", env!("CARGO_PKG_VERSION"))]))
        .set(1);
    reg.register("build_info", "ledgerd version (value is always 1)", build);
    gauge(
        reg,
        "scheduler_running",
        "1 while the probe scheduler runs",
        live.scheduler_running.load(Ordering::Acquire) as i64,
    );
    gauge(
        reg,
        "store_writable",
        "1 while the last store write succeeded",
        live.store_ok.load(Ordering::Acquire) as i64,
    );
    gauge(
        reg,
        "web_connections_open",
        "web connections open now",
        live.connections_open.load(Ordering::Relaxed),
    );
    for (name, help, v) in [
        (
            "web_connections_refused",
            "web connections closed at once because daemon.max_connections were open",
            &live.connections_refused,
        ),
        (
            "web_accept_errors",
            "failed accept calls of the web server (ledgerd's own fault)",
            &live.accept_errors,
        ),
    ] {
        let c: prometheus_client::metrics::counter::Counter = Default::default();
        c.inc_by(v.load(Ordering::Relaxed));
        reg.register(name, help, c);
    }
    gauge(
        reg,
        "fd_exhausted",
        "1 when ledgerd ran out of file descriptors within the last minute",
        crate::platform::fd_exhausted_within(std::time::Duration::from_secs(60)) as i64,
    );
}

/// Registers a plain gauge set to `value`.
fn gauge(reg: &mut Registry, name: &str, help: &str, value: i64) {
    let g: Gauge = Gauge::default();
    g.set(value);
    reg.register(name, help, g);
}

/// `probe_health`, `probe_stale`, `probe_last_success_timestamp_seconds`,
/// `probe_duration_seconds`.
fn register_probes(reg: &mut Registry, snap: &Snapshot, runs: &RunMetrics) {
    let health = Family::<Labels, Gauge>::default();
    let stale = Family::<Labels, Gauge>::default();
    let last_ok = gauge_family();
    let last_ok_map = runs.last_ok.lock().map(|m| m.clone()).unwrap_or_default();
    for p in &snap.probes {
        let lesson = p.lessons.first().copied().unwrap_or(0).to_string();
        let v = match p.health {
            Some(crate::probe::Health::Ok) => 0,
            Some(crate::probe::Health::Degraded) => 1,
            Some(crate::probe::Health::Critical) => 2,
            Some(crate::probe::Health::Unknown) | None => 3,
        };
        let mut l = labels(&[("probe", &p.id), ("lesson", &lesson), ("kind", p.kind)]);
        if let Some(a) = &p.agent {
            l.push(("agent".into(), a.clone()));
        }
        health.get_or_create(&l).set(v);
        stale
            .get_or_create(&labels(&[("probe", &p.id)]))
            .set(p.stale as i64);
        if let Some(ts) = last_ok_map.get(&p.id).filter(|t| **t > 0) {
            last_ok
                .get_or_create(&labels(&[("probe", &p.id)]))
                .set(*ts as f64 / 1000.0);
        }
    }
    reg.register(
        "probe_health",
        "Health of the probe's latest observation: 0 ok, 1 degraded, 2 critical, 3 unknown or not run yet",
        health,
    );
    reg.register(
        "probe_stale",
        "1 when the probe's latest observation is older than twice its interval plus 5 s",
        stale,
    );
    reg.register_with_unit(
        "probe_last_success_timestamp",
        "Unix time of the probe's last ok observation",
        Unit::Seconds,
        last_ok,
    );
    reg.register_with_unit(
        "probe_duration",
        "How long probe runs took (since the daemon started)",
        Unit::Seconds,
        runs.duration.clone(),
    );
}

/// `lesson_state` (host-wide, and per agent for the lessons it guards) and `lesson_info`.
fn register_lessons(reg: &mut Registry, snap: &Snapshot) {
    let lesson_state = Family::<Labels, Gauge>::default();
    let lesson_info = Family::<Labels, Gauge>::default();
    let states = [
        LessonState::Violated,
        LessonState::AtRisk,
        LessonState::Unknown,
        LessonState::Holding,
        LessonState::NotGuarded,
    ];
    for l in &snap.lessons {
        let n = l.status.number.to_string();
        for s in states {
            let name = s.as_str().replace(' ', "_");
            lesson_state
                .get_or_create(&labels(&[("lesson", &n), ("state", &name)]))
                .set((l.status.state == s) as i64);
        }
        lesson_info
            .get_or_create(&labels(&[
                ("lesson", &n),
                ("rule", &l.status.rule),
                ("class", &l.status.class),
            ]))
            .set(1);
    }
    for row in &snap.agents {
        let Some(agent) = &row.agent else { continue };
        for l in row
            .lessons
            .iter()
            .filter(|l| l.status.state != LessonState::NotGuarded)
        {
            let n = l.status.number.to_string();
            for s in &states[..4] {
                let name = s.as_str().replace(' ', "_");
                lesson_state
                    .get_or_create(&labels(&[
                        ("agent", agent),
                        ("lesson", &n),
                        ("state", &name),
                    ]))
                    .set((l.status.state == *s) as i64);
            }
        }
    }
    reg.register(
        "lesson_state",
        "1 for the lesson's current state (violated, at_risk, unknown, holding, not_guarded), 0 otherwise",
        lesson_state,
    );
    reg.register(
        "lesson_info",
        "The lesson's one-line rule and failure class (value is always 1)",
        lesson_info,
    );
}

/// `alerts_sent_total`, `alerts_failed_total` (per configured channel), `outbox_depth`,
/// `open_incidents`.
fn register_delivery(reg: &mut Registry, snap: &Snapshot, channels: &[ChannelCounts], depth: i64) {
    let sent = Family::<Labels, Counter>::default();
    let failed = Family::<Labels, Counter>::default();
    for ch in &snap.config.channels {
        let c = channels.iter().find(|c| c.channel == ch.id);
        let l = labels(&[("channel", &ch.id)]);
        sent.get_or_create(&l)
            .inc_by(c.map_or(0, |c| c.sent.max(0) as u64));
        failed
            .get_or_create(&l)
            .inc_by(c.map_or(0, |c| c.failed.max(0) as u64));
    }
    reg.register(
        "alerts_sent",
        "Notifications delivered per channel (a running total kept in the store; each member of a multi-URL channel counts)",
        sent,
    );
    reg.register(
        "alerts_failed",
        "Notifications given up on per channel (permanent failures)",
        failed,
    );
    gauge(
        reg,
        "outbox_depth",
        "Notifications waiting for delivery",
        depth,
    );
    let open = snap
        .probes
        .iter()
        .filter(|p| p.open_incident.is_some())
        .count();
    gauge(reg, "open_incidents", "Open incidents", open as i64);
}

/// The classic Prometheus text format (0.0.4), for clients that ask for `text/plain` only
/// (older tooling such as `promtool check metrics`): counter families are named with `_total`,
/// and `# UNIT` / `# EOF` lines are dropped.
pub fn to_classic(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

pub async fn handler(State(web): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let classic = accept.contains("text/plain") && !accept.contains("application/openmetrics-text");
    match render(&web) {
        Ok(text) if classic => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            to_classic(&text),
        )
            .into_response(),
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn classic_names_counters_with_total() {
        let om = "# HELP x_sent Sent.\n# TYPE x_sent counter\nx_sent_total{c=\"a\"} 1\n# HELP y Y.\n# TYPE y gauge\n# UNIT y seconds\ny 2\n# EOF\n";
        assert_eq!(
            super::to_classic(om),
            "# HELP x_sent_total Sent.\n# TYPE x_sent_total counter\nx_sent_total{c=\"a\"} 1\n# HELP y Y.\n# TYPE y gauge\ny 2\n"
        );
    }
}
