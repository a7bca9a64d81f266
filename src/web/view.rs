//! One consistent snapshot of what the dashboard, the JSON API and `/metrics` show: each probe's
//! latest observation, state, staleness and open incident, and each lesson's state with the
//! probes guarding it. Computed from the store and the current config at request time. It must
//! not format HTML or JSON and must not write the store.

use crate::config::{Config, Mode, ProbeConfig};
use crate::probe::Health;
use crate::status::{LessonState, LessonStatus};
use crate::store::{IncidentRow, ObservationRow, SilenceRow, Store};
use std::collections::HashMap;
use std::sync::Arc;

/// A probe as shown: config facts, latest observation, state and freshness.
#[derive(Debug, Clone)]
pub struct ProbeView {
    pub id: String,
    pub kind: &'static str,
    /// The agent it belongs to; `None` for host-wide probes.
    pub agent: Option<String>,
    pub lessons: Vec<u32>,
    pub description: Option<String>,
    pub shadow: bool,
    pub interval_ms: i64,
    pub latest: Option<ObservationRow>,
    pub health: Option<Health>,
    /// State machine status: ok, pending, firing.
    pub status: String,
    /// Start of the current failing streak (unix ms).
    pub since: Option<i64>,
    /// Milliseconds since the latest observation.
    pub age_ms: Option<i64>,
    /// The latest observation is older than twice the probe's interval (or none exists and the
    /// daemon has run for longer than that).
    pub stale: bool,
    pub open_incident: Option<IncidentRow>,
    pub silenced_by: Option<SilenceRow>,
}

/// A lesson as shown: its state and the indexes of its probes in `Snapshot::probes`.
#[derive(Debug, Clone)]
pub struct LessonView {
    pub status: LessonStatus,
    pub probes: Vec<usize>,
    /// Earliest start of a failing streak among its failing probes (unix ms).
    pub since: Option<i64>,
    /// Oldest "latest observation" among its probes that have one (unix ms).
    pub checked: Option<i64>,
    pub stale: bool,
}

/// One row of the lesson × agent matrix.
#[derive(Debug, Clone)]
pub struct AgentView {
    /// `None`: the host-wide probes (no agent).
    pub agent: Option<String>,
    pub lessons: Vec<LessonView>,
}

impl AgentView {
    /// The row's name: the agent, or "host".
    pub fn label(&self) -> &str {
        self.agent.as_deref().unwrap_or("host")
    }
    /// How many of its lessons are in `state`.
    pub fn count(&self, state: LessonState) -> usize {
        self.lessons
            .iter()
            .filter(|l| l.status.state == state)
            .count()
    }
}

pub struct Snapshot {
    pub config: Arc<Config>,
    pub now_ms: i64,
    pub probes: Vec<ProbeView>,
    /// Catalog order (plus custom lessons).
    pub lessons: Vec<LessonView>,
    /// The lesson × agent matrix: one row per agent (sorted), then the host-wide row
    /// (`agent: None`); each row's lessons in catalog order, over that row's probes only.
    pub agents: Vec<AgentView>,
    /// Newest observation time (unix ms) and id.
    pub newest: Option<(i64, i64)>,
    /// Channels whose last delivery failed: (channel, error). A problem of the daemon itself.
    pub channel_errors: Vec<(String, String)>,
}

impl Snapshot {
    pub fn probe(&self, id: &str) -> Option<&ProbeView> {
        self.probes.iter().find(|p| p.id == id)
    }
    pub fn lesson(&self, n: u32) -> Option<&LessonView> {
        self.lessons.iter().find(|l| l.status.number == n)
    }
    /// A row of the matrix: `Some(agent)`, or `None` for the host-wide row.
    pub fn agent(&self, agent: Option<&str>) -> Option<&AgentView> {
        self.agents.iter().find(|a| a.agent.as_deref() == agent)
    }
    pub fn count(&self, state: LessonState) -> usize {
        self.lessons
            .iter()
            .filter(|l| l.status.state == state)
            .count()
    }
    pub fn guarded(&self) -> usize {
        self.lessons.len() - self.count(LessonState::NotGuarded)
    }
    /// Lessons ordered for display: violated, at risk, unknown, holding, not guarded; then number.
    pub fn lessons_by_severity(&self) -> Vec<&LessonView> {
        let mut v: Vec<&LessonView> = self.lessons.iter().collect();
        v.sort_by_key(|l| (l.status.state, l.status.number));
        v
    }
}

/// Builds the snapshot. `started_ms` is when the daemon started (a probe that never ran is stale
/// only once the daemon has been up for twice its interval plus the grace).
pub fn snapshot(config: Arc<Config>, store: &Store, now_ms: i64, started_ms: i64) -> Snapshot {
    let stored = Stored::read(store, now_ms);
    let newest = stored
        .latest
        .values()
        .map(|o| (o.ts, o.id))
        .max_by_key(|(ts, id)| (*ts, *id));
    let probes: Vec<ProbeView> = config
        .probes
        .iter()
        .map(|p| probe_view(p, &stored, &config.daemon.host, now_ms, started_ms))
        .collect();
    let health: HashMap<String, Health> = probes
        .iter()
        .filter_map(|p| p.health.map(|h| (p.id.clone(), h)))
        .collect();
    let position: HashMap<&str, usize> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let view = |status: LessonStatus| lesson_view(status, &probes, &position);
    let lessons = crate::status::lessons(&config, &health)
        .into_iter()
        .map(&view)
        .collect();
    let agents = crate::status::by_agent(&config, &health)
        .into_iter()
        .map(|row| AgentView {
            agent: row.agent,
            lessons: row.lessons.into_iter().map(&view).collect(),
        })
        .collect();
    Snapshot {
        config,
        now_ms,
        probes,
        lessons,
        agents,
        newest,
        channel_errors: store.channel_errors().unwrap_or_default(),
    }
}

/// What the snapshot reads from the store, per probe id: the latest observation, the state, the
/// first open incident; and the silences active at `now_ms`.
struct Stored {
    latest: HashMap<String, ObservationRow>,
    states: HashMap<String, serde_json::Value>,
    open: HashMap<String, IncidentRow>,
    silences: Vec<SilenceRow>,
}

impl Stored {
    fn read(store: &Store, now_ms: i64) -> Stored {
        let latest = store
            .latest_observations()
            .unwrap_or_default()
            .into_iter()
            .map(|o| (o.probe.clone(), o))
            .collect();
        let states = store
            .states()
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.probe, s.state))
            .collect();
        let mut open: HashMap<String, IncidentRow> = HashMap::new();
        for i in store.incidents(true, None, 10_000).unwrap_or_default() {
            open.entry(i.probe.clone()).or_insert(i);
        }
        let silences = store.silences(Some(now_ms)).unwrap_or_default();
        Stored {
            latest,
            states,
            open,
            silences,
        }
    }
}

/// Slack on top of twice the interval before a probe is stale: runs start on 1 s scheduling slots
/// and the recorder writes a burst of results a second after its first one, so a healthy probe's
/// newest stored observation can be ~2 s older than its interval says, more on a loaded host.
pub const STALE_GRACE_MS: i64 = 5_000;

/// A probe is stale when its newest observation is older than twice its interval plus
/// [`STALE_GRACE_MS`]; one never observed is stale once the daemon has been up that long.
pub fn is_stale(age_ms: Option<i64>, up_ms: i64, interval_ms: i64) -> bool {
    age_ms.unwrap_or(up_ms) > 2 * interval_ms + STALE_GRACE_MS
}

/// One probe as shown: its config facts with what the store holds for it, its freshness (stale
/// past twice its interval plus a grace) and the silence covering it, if any.
fn probe_view(
    p: &ProbeConfig,
    stored: &Stored,
    host: &str,
    now_ms: i64,
    started_ms: i64,
) -> ProbeView {
    let obs = stored.latest.get(&p.id).cloned();
    let st = stored.states.get(&p.id);
    let interval_ms = p.nominal_interval().as_millis() as i64;
    let age_ms = obs.as_ref().map(|o| (now_ms - o.ts).max(0));
    let stale = is_stale(age_ms, now_ms - started_ms, interval_ms);
    let lessons: Vec<u32> = p.lessons.iter().map(|l| l.0).collect();
    ProbeView {
        id: p.id.clone(),
        kind: p.kind(),
        agent: p.agent.clone(),
        lessons: lessons.clone(),
        description: p.description.clone(),
        shadow: p.mode == Mode::Shadow,
        interval_ms,
        health: obs.as_ref().and_then(|o| Health::parse(&o.health)),
        latest: obs,
        status: st
            .and_then(|s| s.get("status"))
            .and_then(|v| v.as_str())
            .unwrap_or("ok")
            .to_string(),
        since: st
            .and_then(|s| s.get("since"))
            .and_then(|v| v.as_str())
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.timestamp_millis()),
        age_ms,
        stale,
        open_incident: stored.open.get(&p.id).cloned(),
        silenced_by: stored
            .silences
            .iter()
            .find(|s| {
                s.covers(
                    &crate::store::SilenceTarget {
                        lessons: &lessons,
                        probe: &p.id,
                        tags: &p.tags,
                        agent: p.agent.as_deref(),
                        host,
                    },
                    now_ms,
                )
            })
            .cloned(),
    }
}

/// A lesson as shown: its guarding probes (indexes into `probes`, found through `position`),
/// the earliest failing streak among them, their oldest latest check and whether any is stale.
fn lesson_view(
    status: LessonStatus,
    probes: &[ProbeView],
    position: &HashMap<&str, usize>,
) -> LessonView {
    let idx: Vec<usize> = status
        .probes
        .iter()
        .filter_map(|id| position.get(id.as_str()).copied())
        .collect();
    let since = idx
        .iter()
        .filter(|&&i| probes[i].health.is_some_and(|h| !h.is_ok()))
        .filter_map(|&i| probes[i].since)
        .min();
    let checked = idx
        .iter()
        .filter_map(|&i| probes[i].latest.as_ref().map(|o| o.ts))
        .min();
    let stale = idx.iter().any(|&i| probes[i].stale);
    LessonView {
        status,
        probes: idx,
        since,
        checked,
        stale,
    }
}

/// "12 s", "4 min", "3 h", "2 d": a short age for freshness labels.
pub fn short_age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_short() {
        assert_eq!(short_age(12_400), "12 s");
        assert_eq!(short_age(600_000), "10 min");
        assert_eq!(short_age(3 * 3_600_000), "3 h");
        assert_eq!(short_age(3 * 86_400_000), "3 d");
        assert_eq!(short_age(-5), "0 s");
    }

    #[test]
    fn staleness_allows_two_intervals_and_the_grace() {
        // a 1 s probe written by the recorder's one-second bursts is not stale at 2.9 s
        assert!(!is_stale(Some(2_900), 60_000, 1_000));
        assert!(!is_stale(Some(2_000 + STALE_GRACE_MS), 60_000, 1_000));
        assert!(is_stale(Some(2_001 + STALE_GRACE_MS), 60_000, 1_000));
        // a 1 min probe: fresh at 2 min, stale past 2 min 5 s
        assert!(!is_stale(Some(120_000), 0, 60_000));
        assert!(is_stale(Some(125_001), 0, 60_000));
        // never observed: judged by the daemon's uptime
        assert!(!is_stale(None, 125_000, 60_000));
        assert!(is_stale(None, 125_001, 60_000));
    }
}
