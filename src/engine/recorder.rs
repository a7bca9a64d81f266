//! Applies finished runs to per-probe state and writes them in one transaction per batch:
//! observations, state, facts, incidents, transitions, and the outbox rows of the alerts the
//! transitions produce (routing via `alert::route`). Logs each transition (the log channel).
//! It must not deliver anything: the outbox worker does.

use super::scheduler::Recorded;
use super::state::{self, ProbeState, Status, Transition};
use crate::alert::{self, Alert, Event};
use crate::config::{Config, Mode, ProbeConfig};
use crate::probe::Health;
use crate::store::{NewObservation, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Recorder {
    store: Store,
    config: Arc<Config>,
    index: HashMap<String, usize>,
    states: HashMap<String, ProbeState>,
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
            states,
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
        self.config = config;
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
        let config = self.config.clone();
        let mut new_states: HashMap<String, ProbeState> = HashMap::new();
        let mut out = BatchOutcome::default();
        let mut logs: Vec<(Transition, Alert, Option<String>)> = Vec::new();
        let tx = self.store.batch()?;
        let mut silences = tx.silences_active(chrono::Utc::now().timestamp_millis())?;
        silences.extend(config.silences.iter().cloned());
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
            out.observations += 1;
            let old = new_states
                .get(&p.id)
                .or_else(|| self.states.get(&p.id))
                .cloned()
                .unwrap_or_default();
            let th = alert::route::thresholds(&config, p);
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
                let lesson = p.primary_lesson().0;
                let health = r.obs.health.as_str();
                let mut obs = r.obs.clone();
                if t == Transition::Flapping {
                    let (failures, _) = s.recent(th.flap_window);
                    obs.summary = format!(
                        "flapping ({failures} failures in the last {} runs): {}",
                        th.flap_window.min(s.runs),
                        obs.summary
                    );
                }
                let incident = match t {
                    Transition::Fired | Transition::Flapping => {
                        let opened = s.since.unwrap_or(r.started).timestamp_millis();
                        let id = tx.open_incident(
                            &p.id,
                            lesson,
                            opened,
                            health,
                            &obs.summary,
                            p.agent.as_deref(),
                        )?;
                        s.incident = Some(id);
                        Some(id)
                    }
                    Transition::Escalated => {
                        if let Some(id) = s.incident {
                            tx.update_incident(id, health, &obs.summary)?;
                        }
                        s.incident
                    }
                    Transition::Reminder | Transition::Unmuted => s.incident,
                    Transition::Resolved => {
                        if let Some(id) = old.incident {
                            tx.close_incident(id, ts)?;
                        }
                        s.incident = None;
                        old.incident
                    }
                };
                let mut muted = muted_reason(&config, p, &silences, ts, &new_states, &self.states);
                if muted.is_none()
                    && t == Transition::Reminder
                    && let Some(by) = incident.map(|id| tx.acked_by(id)).transpose()?.flatten()
                {
                    muted = Some(format!("acknowledged by {by}"));
                }
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
                )?;
                let since = if t == Transition::Resolved {
                    old.since.unwrap_or(r.started)
                } else {
                    s.since.unwrap_or(r.started)
                };
                let a = build_alert(&config, p, &obs, t, since, r.started, incident.unwrap_or(0));
                if muted.is_none() {
                    let channels = if t == Transition::Resolved {
                        let told = incident
                            .map(|id| tx.incident_channels(id))
                            .transpose()?
                            .unwrap_or_default();
                        alert::route::resolved_channels(&config, p, &told)
                    } else {
                        alert::route::channels_for(&config, p, r.obs.health)
                    };
                    let payload = serde_json::to_string(&a).unwrap_or_default();
                    for ch in channels {
                        let key = format!("{}:{tid}:{ch}", incident.unwrap_or(0));
                        let wait = config
                            .channels
                            .iter()
                            .find(|c| c.id == ch)
                            .map_or(0, |c| c.group_wait.as_millis() as i64);
                        if tx.enqueue(&key, &ch, &payload, ts, ts + wait)? {
                            out.queued += 1;
                        }
                    }
                }
                if matches!(t, Transition::Fired | Transition::Flapping) {
                    // children's alerts still waiting in the outbox (group_wait) are inhibited
                    for child in config
                        .probes
                        .iter()
                        .filter(|q| q.depends_on.contains(&p.id))
                    {
                        let n = tx.inhibit_pending(
                            &child.id,
                            &format!("parent probe '{}' is failing", p.id),
                        )?;
                        if n > 0 {
                            if let Some(cs) = new_states.get_mut(&child.id) {
                                cs.notified = false;
                            } else if let Some(mut cs) = self.states.get(&child.id).cloned() {
                                cs.notified = false;
                                new_states.insert(child.id.clone(), cs);
                            }
                        }
                    }
                }
                if t != Transition::Resolved {
                    s.notified = s.notified || muted.is_none();
                }
                if matches!(t, Transition::Fired | Transition::Flapping) {
                    s.notified = muted.is_none();
                }
                logs.push((t, a, muted));
            }
            let facts = r.obs.facts.as_ref().map(|f| f.to_string());
            let state_json = serde_json::to_string(&s).unwrap_or_else(|_| "{}".into());
            tx.state(&p.id, &state_json, facts.as_deref(), ts)?;
            new_states.insert(p.id.clone(), s);
        }
        tx.commit()?;
        self.states.extend(new_states);
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
        Ok(out)
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
    let lesson = p.primary_lesson().0;
    let l = config.catalog.get(lesson);
    let event = match t {
        Transition::Fired | Transition::Flapping | Transition::Escalated | Transition::Unmuted => {
            Event::Firing
        }
        Transition::Reminder => Event::Reminder,
        Transition::Resolved => Event::Resolved,
    };
    Alert {
        event,
        lesson,
        lessons: p.lessons.iter().map(|l| l.0).collect(),
        rule: l.map(|l| l.rule.clone()).unwrap_or_default(),
        lesson_title: l.map(|l| l.title.clone()).unwrap_or_default(),
        fix: l.map(|l| l.fix.clone()).unwrap_or_default(),
        class: l.map(|l| l.class.clone()).unwrap_or_default(),
        owner: l.map(|l| l.owner.clone()).unwrap_or_default(),
        probe: p.id.clone(),
        kind: p.kind().to_string(),
        host: config.daemon.host.clone(),
        agent: p.agent.clone(),
        health: if event == Event::Resolved {
            Health::Ok
        } else {
            obs.health
        },
        summary: obs.summary.clone(),
        expected: obs.expected.clone(),
        evidence: obs.evidence.clone(),
        since,
        at,
        url: format!("{}/probe/{}", config.daemon.dashboard_url, p.id),
        incident,
        ack: None,
        suppressed: config
            .probes
            .iter()
            .filter(|q| q.depends_on.contains(&p.id))
            .map(|q| q.id.clone())
            .collect(),
    }
}
