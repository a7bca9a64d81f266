//! Applies finished runs to per-probe state and writes them in one transaction per batch:
//! observations (trimmed to the newest `keep_observations` per probe), rollups, state, facts,
//! incidents, transitions (each with the observation that caused it), and the outbox rows of the
//! alerts the transitions produce (routing via `delivery::route`). Logs each transition (the log
//! channel). Times come from the runs (`Recorded::started`), so a bench can drive it with a
//! simulated clock. It must not deliver anything: the outbox worker does.

use super::scheduler::Recorded;
use super::state::{self, ProbeState, Status, Transition};
use crate::alert::{self, Alert, Event};
use crate::config::{Config, Mode, ProbeConfig};
use crate::delivery::About;
use crate::probe::Health;
use crate::store::rollup::Run;
use crate::store::{NewObservation, Pruned, Rollups, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Recorder {
    store: Store,
    config: Arc<Config>,
    index: HashMap<String, usize>,
    /// Effective thresholds per probe (by config index), computed once per config.
    thresholds: Vec<state::Thresholds>,
    states: HashMap<String, ProbeState>,
    rollups: Rollups,
    /// Observations written per probe (by config index) since its last trim to
    /// `keep_observations`.
    since_trim: Vec<u32>,
}

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub observations: usize,
    pub transitions: usize,
    pub queued: usize,
}

impl Recorder {
    pub fn new(store: Store, config: Arc<Config>) -> Result<Recorder, StoreError> {
        let mut states = HashMap::new();
        for row in store.states()? {
            if let Ok(s) = serde_json::from_value::<ProbeState>(row.state) {
                states.insert(row.probe, s);
            }
        }
        let mut r = Recorder {
            store,
            config: config.clone(),
            index: HashMap::new(),
            thresholds: Vec::new(),
            states,
            rollups: Rollups::default(),
            since_trim: Vec::new(),
        };
        r.set_config(config);
        Ok(r)
    }

    pub fn set_config(&mut self, config: Arc<Config>) {
        self.index = config
            .probes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let index = &self.index;
        self.rollups.retain(&|p| index.contains_key(p));
        self.thresholds = config
            .probes
            .iter()
            .map(|p| super::thresholds(&config, p))
            .collect();
        // a probe's count restarts with a new config: at worst one early trim
        self.since_trim = vec![0; config.probes.len()];
        self.config = config;
    }

    /// Writes every rollup period still open (at shutdown, so the store has every run).
    pub fn flush(&mut self) -> Result<usize, StoreError> {
        let tx = self.store.batch()?;
        let n = self.rollups.flush(&tx, i64::MAX, true)?;
        tx.commit()?;
        Ok(n)
    }

    /// Applies the configured retention at `now_ms`.
    pub fn prune(&self, now_ms: i64) -> Result<Pruned, StoreError> {
        self.store.prune(now_ms, &self.config.daemon.retention)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn state(&self, probe: &str) -> Option<&ProbeState> {
        self.states.get(probe)
    }

    /// Records a batch in one transaction. On error nothing of the batch is kept in memory
    /// either, so state and store never disagree.
    pub fn record(&mut self, batch: &[Recorded]) -> Result<BatchOutcome, StoreError> {
        let out = self.record_batch(batch);
        if out.is_err() {
            self.rollups.forget(batch.iter().map(|r| r.probe.as_str()));
        }
        out
    }

    /// Writes each run of the batch (probes without dependencies first), steps its state and
    /// records the transitions, then commits and logs them.
    fn record_batch(&mut self, batch: &[Recorded]) -> Result<BatchOutcome, StoreError> {
        let config = self.config.clone();
        let keep = config.daemon.retention.keep_observations.max(1);
        let trim_every = (keep / 5).max(1);
        let mut newest = i64::MIN;
        let mut new_states: HashMap<String, ProbeState> = HashMap::new();
        let mut out = BatchOutcome::default();
        let mut logs: Vec<(Transition, Alert, Option<String>)> = Vec::new();
        let tx = self.store.batch()?;
        let silences = tx.silences_active(chrono::Utc::now().timestamp_millis())?;
        // probes without dependencies first, so a parent's failure is known before its children's
        let mut order: Vec<&Recorded> = batch.iter().collect();
        order.sort_by_key(|r| {
            self.index
                .get(&r.probe)
                .is_some_and(|&i| !config.probes[i].depends_on.is_empty())
        });
        for r in order {
            let Some(&idx) = self.index.get(&r.probe) else {
                continue;
            };
            let p = &config.probes[idx];
            let ts = r.started.timestamp_millis();
            write_run(&tx, &mut self.rollups, p, r)?;
            out.observations += 1;
            newest = newest.max(ts);
            if let Some(n) = self.since_trim.get_mut(idx) {
                *n += 1;
                if *n >= trim_every {
                    *n = 0;
                    tx.trim_observations(&p.id, keep)?;
                }
            }
            let old = new_states
                .get(&p.id)
                .or_else(|| self.states.get(&p.id))
                .cloned()
                .unwrap_or_default();
            let th = self
                .thresholds
                .get(idx)
                .copied()
                .unwrap_or_else(|| super::thresholds(&config, p));
            let (mut s, mut transition) = state::step(&old, r.obs.health, &th, r.started);
            if transition.is_none()
                && s.status == Status::Firing
                && !s.notified
                && p.mode == Mode::Enforce
                && muted_reason(&config, p, &silences, ts, &new_states, &self.states).is_none()
            {
                transition = Some(Transition::Unmuted);
            }
            if let Some(t) = transition {
                out.transitions += 1;
                let cx = RunCx {
                    config: &config,
                    p,
                    r,
                    ts,
                    th: &th,
                    silences: &silences,
                };
                let (a, muted, queued) =
                    record_transition(&tx, &cx, t, &mut s, &old, &mut new_states, &self.states)?;
                out.queued += queued;
                logs.push((t, a, muted));
            }
            let facts = r.obs.facts.as_ref().map(|f| f.to_string());
            let state_json = serde_json::to_string(&s).unwrap_or_else(|_| "{}".into());
            tx.state(&p.id, &state_json, facts.as_deref(), ts)?;
            new_states.insert(p.id.clone(), s);
        }
        if newest > i64::MIN {
            self.rollups.flush(&tx, newest, false)?;
        }
        tx.commit()?;
        self.states.extend(new_states);
        log_transitions(logs);
        Ok(out)
    }
}

/// One run being recorded: its probe, when it started (ms), the probe's thresholds and the
/// silences in force.
struct RunCx<'a> {
    config: &'a Config,
    p: &'a ProbeConfig,
    r: &'a Recorded,
    ts: i64,
    th: &'a state::Thresholds,
    silences: &'a [crate::store::SilenceRow],
}

/// Writes one run's observation and adds it to the probe's rollups.
fn write_run(
    tx: &crate::store::Batch<'_>,
    rollups: &mut Rollups,
    p: &ProbeConfig,
    r: &Recorded,
) -> Result<(), StoreError> {
    let ts = r.started.timestamp_millis();
    let body = serde_json::to_string(&r.obs).unwrap_or_else(|_| "{}".into());
    tx.observation(&NewObservation {
        probe: &p.id,
        lesson: p.primary_lesson().0,
        ts,
        health: r.obs.health.as_str(),
        summary: &r.obs.summary,
        body: &body,
        duration_ms: r.duration.as_millis() as i64,
        late_ms: r.late.as_millis() as i64,
        agent: p.agent.as_deref(),
    })?;
    rollups.add(
        tx,
        &p.id,
        &Run {
            ts,
            lesson: p.primary_lesson().0,
            health: r.obs.health.as_str(),
            duration_us: r.duration.as_micros().min(u64::MAX as u128) as u64,
            late_ms: r.late.as_millis() as i64,
            metrics: &r.obs.metrics,
        },
    )
}

/// Records one transition: its incident, the transition row, the alert queued to its
/// channels unless muted, and its children's pending alerts inhibited when it fires. Updates
/// `s` (incident, notified). Returns the alert, why it was muted, and how many rows were queued.
fn record_transition(
    tx: &crate::store::Batch<'_>,
    cx: &RunCx<'_>,
    t: Transition,
    s: &mut ProbeState,
    old: &ProbeState,
    new_states: &mut HashMap<String, ProbeState>,
    stored: &HashMap<String, ProbeState>,
) -> Result<(Alert, Option<String>, usize), StoreError> {
    let (config, p, r, ts) = (cx.config, cx.p, cx.r, cx.ts);
    let lesson = p.primary_lesson().0;
    let health = r.obs.health.as_str();
    let mut obs = r.obs.clone();
    if t == Transition::Flapping {
        let (failures, _) = s.recent(cx.th.flap_window);
        obs.summary = format!(
            "flapping ({failures} failures in the last {} runs): {}",
            cx.th.flap_window.min(s.runs),
            obs.summary
        );
    }
    let incident = track_incident(tx, cx, t, s, old, &obs.summary)?;
    let mut muted = muted_reason(config, p, cx.silences, ts, new_states, stored);
    if muted.is_none()
        && t == Transition::Reminder
        && let Some(by) = incident.map(|id| tx.acked_by(id)).transpose()?.flatten()
    {
        muted = Some(format!("acknowledged by {by}"));
    }
    let obs_json = serde_json::to_string(&obs).ok();
    let tid = tx.transition(
        &p.id,
        lesson,
        ts,
        t.as_str(),
        health,
        &obs.summary,
        incident,
        muted.as_deref(),
        p.agent.as_deref(),
        obs_json.as_deref(),
    )?;
    let since = if t == Transition::Resolved {
        old.since.unwrap_or(r.started)
    } else {
        s.since.unwrap_or(r.started)
    };
    let a = build_alert(config, p, &obs, t, since, r.started, incident.unwrap_or(0));
    let queued = if muted.is_none() {
        enqueue_alert(tx, cx, t, incident, tid, &a)?
    } else {
        0
    };
    if matches!(t, Transition::Fired | Transition::Flapping) {
        inhibit_children(tx, config, p, new_states, stored)?;
    }
    if t != Transition::Resolved {
        s.notified = s.notified || muted.is_none();
    }
    if matches!(t, Transition::Fired | Transition::Flapping) {
        s.notified = muted.is_none();
    }
    Ok((a, muted, queued))
}

/// The incident a transition belongs to: opened when it fires or flaps, updated when it
/// escalates, closed when it resolves (then the closed one is returned).
fn track_incident(
    tx: &crate::store::Batch<'_>,
    cx: &RunCx<'_>,
    t: Transition,
    s: &mut ProbeState,
    old: &ProbeState,
    summary: &str,
) -> Result<Option<i64>, StoreError> {
    let (p, r) = (cx.p, cx.r);
    let health = r.obs.health.as_str();
    Ok(match t {
        Transition::Fired | Transition::Flapping => {
            let opened = s.since.unwrap_or(r.started).timestamp_millis();
            let id = tx.open_incident(
                &p.id,
                p.primary_lesson().0,
                opened,
                health,
                summary,
                p.agent.as_deref(),
            )?;
            s.incident = Some(id);
            Some(id)
        }
        Transition::Escalated => {
            if let Some(id) = s.incident {
                tx.update_incident(id, health, summary)?;
            }
            s.incident
        }
        Transition::Reminder | Transition::Unmuted => s.incident,
        Transition::Resolved => {
            if let Some(id) = old.incident {
                tx.close_incident(id, cx.ts)?;
            }
            s.incident = None;
            old.incident
        }
    })
}

/// Queues the alert in the outbox for each channel it routes to (a resolution goes to the
/// channels that were told of the incident), each after its channel's `group_wait`. Returns
/// how many rows were new.
fn enqueue_alert(
    tx: &crate::store::Batch<'_>,
    cx: &RunCx<'_>,
    t: Transition,
    incident: Option<i64>,
    tid: i64,
    a: &Alert,
) -> Result<usize, StoreError> {
    let (config, p, ts) = (cx.config, cx.p, cx.ts);
    let channels = if t == Transition::Resolved {
        let told = incident
            .map(|id| tx.incident_channels(id))
            .transpose()?
            .unwrap_or_default();
        crate::delivery::route::resolved_channels(config, p, &told)
    } else {
        crate::delivery::route::channels_for(config, p, cx.r.obs.health)
    };
    let payload = serde_json::to_string(a).unwrap_or_default();
    let mut queued = 0;
    for ch in channels {
        let key = format!("{}:{tid}:{ch}", incident.unwrap_or(0));
        let wait = config
            .channels
            .iter()
            .find(|c| c.id == ch)
            .map_or(0, |c| c.group_wait.as_millis() as i64);
        if tx.enqueue(&key, &ch, &payload, ts, ts + wait)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// A parent fired: its children's alerts still waiting in the outbox (group_wait) are
/// inhibited, and those children count as not notified.
fn inhibit_children(
    tx: &crate::store::Batch<'_>,
    config: &Config,
    p: &ProbeConfig,
    new_states: &mut HashMap<String, ProbeState>,
    stored: &HashMap<String, ProbeState>,
) -> Result<(), StoreError> {
    for child in config
        .probes
        .iter()
        .filter(|q| q.depends_on.contains(&p.id))
    {
        let n = tx.inhibit_pending(&child.id, &format!("parent probe '{}' is failing", p.id))?;
        if n > 0 {
            if let Some(cs) = new_states.get_mut(&child.id) {
                cs.notified = false;
            } else if let Some(mut cs) = stored.get(&child.id).cloned() {
                cs.notified = false;
                new_states.insert(child.id.clone(), cs);
            }
        }
    }
    Ok(())
}

/// Logs each transition of a committed batch (the log channel): resolutions at info, the rest
/// at warn, with why it was muted.
fn log_transitions(logs: Vec<(Transition, Alert, Option<String>)>) {
    for (t, a, muted) in logs {
        let title = alert::render::title(&a);
        let muted = muted.unwrap_or_default();
        match t {
            Transition::Resolved => {
                tracing::info!(lesson = a.lesson, probe = %a.probe, muted = %muted, "{title}")
            }
            _ => {
                tracing::warn!(lesson = a.lesson, probe = %a.probe, agent = a.agent.as_deref().unwrap_or(""), health = %a.health, summary = %a.summary, muted = %muted, "{title}")
            }
        }
    }
}

/// Why a transition of `p` must not notify, if it must not: shadow mode, a silence in force,
/// or a failing parent (`depends_on`).
fn muted_reason(
    config: &Config,
    p: &ProbeConfig,
    silences: &[crate::store::SilenceRow],
    now_ms: i64,
    fresh: &HashMap<String, ProbeState>,
    stored: &HashMap<String, ProbeState>,
) -> Option<String> {
    if p.mode == Mode::Shadow {
        return Some("shadow mode".into());
    }
    let lessons: Vec<u32> = p.lessons.iter().map(|l| l.0).collect();
    let target = crate::store::SilenceTarget {
        lessons: &lessons,
        probe: &p.id,
        tags: &p.tags,
        agent: p.agent.as_deref(),
        host: &config.daemon.host,
    };
    if let Some(s) = silences.iter().find(|s| s.covers(&target, now_ms)) {
        return Some(format!(
            "silence #{} by {}: {}",
            s.id, s.created_by, s.reason
        ));
    }
    if let Some(s) = config.silences.iter().find(|s| s.covers(&target, now_ms)) {
        return Some(format!(
            "silence {} in {} by {}: {}",
            s.key,
            s.file.display(),
            s.by,
            s.reason
        ));
    }
    suppressed_by_parent(config, p, fresh, stored)
        .map(|parent| format!("parent probe '{parent}' is failing"))
}

/// A parent (`depends_on`) that is failing suppresses its children's notifications.
fn suppressed_by_parent<'a>(
    config: &'a Config,
    p: &ProbeConfig,
    fresh: &HashMap<String, ProbeState>,
    stored: &HashMap<String, ProbeState>,
) -> Option<&'a str> {
    p.depends_on.iter().find_map(|dep| {
        let s = fresh.get(dep).or_else(|| stored.get(dep))?;
        let failing = s.status == Status::Firing || s.status == Status::Pending;
        failing
            .then(|| {
                config
                    .probes
                    .iter()
                    .find(|q| &q.id == dep)
                    .map(|q| q.id.as_str())
            })
            .flatten()
    })
}

/// The alert for a transition.
pub fn build_alert(
    config: &Config,
    p: &ProbeConfig,
    obs: &crate::probe::Observation,
    t: Transition,
    since: chrono::DateTime<chrono::Utc>,
    at: chrono::DateTime<chrono::Utc>,
    incident: i64,
) -> Alert {
    let event = match t {
        Transition::Fired | Transition::Flapping | Transition::Escalated | Transition::Unmuted => {
            Event::Firing
        }
        Transition::Reminder => Event::Reminder,
        Transition::Resolved => Event::Resolved,
    };
    let health = if event == Event::Resolved {
        Health::Ok
    } else {
        obs.health
    };
    Alert {
        expected: obs.expected.clone(),
        evidence: obs.evidence.clone(),
        suppressed: config
            .probes
            .iter()
            .filter(|q| q.depends_on.contains(&p.id))
            .map(|q| q.id.clone())
            .collect(),
        ..About {
            event,
            probe: &p.id,
            kind: p.kind(),
            agent: p.agent.clone(),
            lessons: p.lessons.iter().map(|l| l.0).collect(),
            health,
            summary: obs.summary.clone(),
            since,
            at,
            incident,
        }
        .alert(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Evidence, Metric, Observation};
    use crate::store::RollupRow;
    use chrono::{DateTime, Utc};
    use std::time::Duration;

    const T0: i64 = 1_800_000_000_000; // on an hour boundary

    fn recorder(dir: &std::path::Path, keep: u32) -> Recorder {
        let cfg = dir.join("c.toml");
        std::fs::write(
            &cfg,
            format!(
                "[daemon]\nstate_dir = {:?}\nkeep_observations = {keep}\n\n[probe.p]\nkind = \"command\"\nlesson = 14\nargv = [\"true\"]\nfail_after = 1\nresolve_after = 1\n",
                dir.join("state").display().to_string()
            ),
        )
        .unwrap();
        let config = Arc::new(crate::config::load_file(&cfg).unwrap());
        Recorder::new(Store::open(&dir.join("state")).unwrap(), config).unwrap()
    }

    fn run(ts: i64, health: Health, ms: u64, metric: f64) -> Recorded {
        let mut obs = Observation::new(health, format!("run at {ts}"));
        obs.metrics.push(Metric {
            name: "latency_seconds".into(),
            value: metric,
        });
        if !health.is_ok() {
            obs.evidence.push(Evidence {
                key: "exit".into(),
                value: format!("status 1 at {ts}"),
            });
        }
        Recorded {
            probe: "p".into(),
            obs,
            started: DateTime::<Utc>::from_timestamp_millis(ts).unwrap(),
            duration: Duration::from_millis(ms),
            late: Duration::from_millis(ms % 7),
        }
    }

    fn rollups(r: &Recorder, period_s: i64) -> Vec<RollupRow> {
        r.store()
            .rollups(None, period_s, None, None, 1000)
            .unwrap()
            .into_iter()
            .rev()
            .collect()
    }

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= want * 0.02
    }

    #[test]
    fn rollups_count_runs_and_percentiles_per_period_and_hour() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = recorder(dir.path(), 100);
        // first 5 minutes: 30 runs every 10 s, 1..=30 ms, runs 21..=25 degraded, 26..=30 critical
        // second 5 minutes: 30 runs of 100 ms, all ok
        let mut batch = Vec::new();
        for i in 1..=30i64 {
            let h = match i {
                ..=20 => Health::Ok,
                21..=25 => Health::Degraded,
                _ => Health::Critical,
            };
            batch.push(run(T0 + (i - 1) * 10_000, h, i as u64, i as f64 / 10.0));
        }
        for i in 0..30i64 {
            batch.push(run(T0 + 300_000 + i * 10_000, Health::Ok, 100, 0.5));
        }
        for chunk in batch.chunks(7) {
            r.record(chunk).unwrap();
        }
        r.flush().unwrap();
        let five = rollups(&r, 300);
        assert_eq!(five.len(), 2, "{five:#?}");
        let a = &five[0];
        assert_eq!((a.start, a.runs, a.ok, a.failed), (T0, 30, 20, 10));
        assert_eq!((a.degraded, a.critical, a.unknown, a.lesson), (5, 5, 0, 14));
        // nearest rank: p50 of 1..=30 ms is 15 ms, p95 is the 29th = 29 ms
        assert!(close(a.duration_p50_ms, 15.0), "{a:?}");
        assert!(close(a.duration_p95_ms, 29.0), "{a:?}");
        assert_eq!(a.duration_max_ms, 30.0);
        assert_eq!(a.late_max_ms, 6);
        let m = a.metrics["latency_seconds"];
        assert_eq!((m.min, m.max), (0.1, 3.0));
        let b = &five[1];
        assert_eq!((b.start, b.runs, b.ok, b.failed), (T0 + 300_000, 30, 30, 0));
        assert!(close(b.duration_p50_ms, 100.0) && close(b.duration_p95_ms, 100.0));
        let hour = rollups(&r, 3600);
        assert_eq!(hour.len(), 1);
        let h = &hour[0];
        assert_eq!((h.start, h.runs, h.ok, h.failed), (T0, 60, 50, 10));
        // 60 runs: 30 of 1..=30 ms, 30 of 100 ms: p50 = 30th = 30 ms, p95 = 100 ms
        assert!(close(h.duration_p50_ms, 30.0), "{h:?}");
        assert!(close(h.duration_p95_ms, 100.0), "{h:?}");
        let m = h.metrics["latency_seconds"];
        assert_eq!((m.min, m.max), (0.1, 3.0));

        // a restart in the middle of the second period: counts and the hour's histogram resume
        drop(r);
        let mut r = recorder(dir.path(), 100);
        r.record(&[run(T0 + 590_000, Health::Critical, 1000, 9.0)])
            .unwrap();
        r.flush().unwrap();
        let b = &rollups(&r, 300)[1];
        assert_eq!((b.runs, b.ok, b.critical), (31, 30, 1));
        assert!(close(b.duration_max_ms, 1000.0));
        assert_eq!(b.metrics["latency_seconds"].max, 9.0);
        let h = &rollups(&r, 3600)[0];
        assert_eq!((h.runs, h.failed), (61, 11));
        // 61 runs, 30 of them 1..=30 ms: p50 is now the 31st, 100 ms; the 1 s run is the max
        assert!(close(h.duration_p50_ms, 100.0), "{h:?}");
        assert!(close(h.duration_max_ms, 1000.0), "{h:?}");
        // the 24-hour chart reads the 5-minute rows: worst health per bucket, run counts
        let buckets = r
            .store()
            .health_buckets(&["p".to_string()], T0, 900_000)
            .unwrap();
        assert_eq!(buckets.len(), 1, "{buckets:?}");
        assert_eq!((buckets[0].worst, buckets[0].count), (3, 61));

        // the next hour closes the first: its row keeps its percentiles, not its histogram (only
        // the open hour needs one, to resume after a restart)
        r.record(&[run(T0 + 3_600_000, Health::Ok, 5, 0.5)])
            .unwrap();
        r.flush().unwrap();
        let h = &rollups(&r, 3600);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].runs, 61);
        assert!(close(h[0].duration_p50_ms, 100.0), "{h:?}");
        let db = rusqlite::Connection::open_with_flags(
            dir.path().join("state").join(crate::store::DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let sketches: Vec<(i64, bool)> = db
            .prepare("SELECT start, sketch IS NOT NULL FROM rollups WHERE period_s = 3600 ORDER BY start")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sketches, [(T0, false), (T0 + 3_600_000, true)]);
    }

    #[test]
    fn only_the_last_n_observations_stay_and_transitions_keep_their_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = recorder(dir.path(), 10);
        // one failure (fires), then 49 ok runs (resolves at the first)
        r.record(&[run(T0, Health::Critical, 5, 1.0)]).unwrap();
        for i in 1..50i64 {
            r.record(&[run(T0 + i * 10_000, Health::Ok, 5, 1.0)])
                .unwrap();
        }
        let kept = |r: &Recorder| -> Vec<i64> {
            r.store()
                .observations(Some("p"), None, None, None, 1000)
                .unwrap()
                .into_iter()
                .map(|o| o.ts)
                .collect()
        };
        let n = kept(&r).len();
        assert!((10..=11).contains(&n), "trimmed while recording: {n}");
        let pruned = r.prune(T0 + 50 * 10_000).unwrap();
        assert_eq!(pruned.transitions, 0);
        let ts = kept(&r);
        assert_eq!(
            ts,
            (40..50).rev().map(|i| T0 + i * 10_000).collect::<Vec<_>>(),
            "exactly the newest 10"
        );
        let t = r.store().transitions(Some("p"), 10).unwrap();
        assert_eq!(
            t.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(),
            ["resolved", "fired"]
        );
        let fired = &t[1];
        assert_eq!(fired.ts, T0);
        let ev = fired.observation.as_ref().expect("the observation is kept");
        assert_eq!(ev["health"], "critical");
        assert_eq!(ev["evidence"][0]["value"], format!("status 1 at {T0}"));
        assert!(
            r.store()
                .incident(fired.incident.unwrap())
                .unwrap()
                .is_some()
        );
        // rollups still count every run
        r.flush().unwrap();
        let runs: i64 = rollups(&r, 300).iter().map(|x| x.runs).sum();
        assert_eq!(runs, 50);

        // retention per tier: a year later only transitions' own retention removes them
        let later = T0 + 400 * 86_400_000;
        let p = r.prune(later).unwrap();
        assert_eq!(p.transitions, 2);
        assert!(p.rollups >= 3, "{p:?}");
        assert_eq!(kept(&r).len(), 1, "each probe's newest observation stays");
        assert!(rollups(&r, 300).is_empty() && rollups(&r, 3600).is_empty());
    }
}
