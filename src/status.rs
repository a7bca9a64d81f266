//! Lesson state: how each lesson stands given its probes' latest health (violated, at risk,
//! unknown, holding, not guarded). Pure; shared by `ledgerd check`, `lessons`, `status` and the
//! dashboard so they never disagree.

use crate::config::{Config, ProbeConfig};
use crate::probe::Health;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LessonState {
    Violated,
    AtRisk,
    Unknown,
    Holding,
    NotGuarded,
}

impl LessonState {
    pub fn as_str(self) -> &'static str {
        match self {
            LessonState::Violated => "violated",
            LessonState::AtRisk => "at risk",
            LessonState::Unknown => "unknown",
            LessonState::Holding => "holding",
            LessonState::NotGuarded => "not guarded",
        }
    }
    pub fn from_health(h: Health) -> LessonState {
        match h {
            Health::Critical => LessonState::Violated,
            Health::Degraded => LessonState::AtRisk,
            Health::Unknown => LessonState::Unknown,
            Health::Ok => LessonState::Holding,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LessonStatus {
    pub number: u32,
    pub rule: String,
    pub title: String,
    pub class: String,
    pub state: LessonState,
    /// Probe ids guarding this lesson.
    pub probes: Vec<String>,
    /// Probes guarding it that have not reported yet.
    pub pending: Vec<String>,
}

/// Lesson states from the latest health of each probe (`health` by probe id; probes missing
/// from it have not run). A lesson guarded only by probes that have not run is `unknown`.
pub fn lessons(config: &Config, health: &HashMap<String, Health>) -> Vec<LessonStatus> {
    lessons_where(config, health, |_| true)
}

/// Which probes a row of the lesson × agent matrix covers: one agent's, or the host-wide ones
/// (`None`).
pub fn of_agent(agent: Option<&str>) -> impl Fn(&ProbeConfig) -> bool + '_ {
    move |p| p.agent.as_deref() == agent
}

/// Like `lessons`, over the probes `keep` selects (one agent's, or the host-wide ones).
pub fn lessons_where(
    config: &Config,
    health: &HashMap<String, Health>,
    keep: impl Fn(&ProbeConfig) -> bool,
) -> Vec<LessonStatus> {
    config
        .catalog
        .iter()
        .map(|l| {
            let probes: Vec<&ProbeConfig> = config
                .probes
                .iter()
                .filter(|p| keep(p) && p.lessons.iter().any(|x| x.0 == l.number))
                .collect();
            let mut worst: Option<Health> = None;
            let mut pending = Vec::new();
            for p in &probes {
                match health.get(&p.id) {
                    Some(h) => worst = Some(worst.map_or(*h, |w| w.worst(*h))),
                    None => pending.push(p.id.clone()),
                }
            }
            let state = match (probes.is_empty(), worst) {
                (true, _) => LessonState::NotGuarded,
                (false, None) => LessonState::Unknown,
                (false, Some(h)) => LessonState::from_health(h),
            };
            LessonStatus {
                number: l.number,
                rule: l.rule.clone(),
                title: l.title.clone(),
                class: l.class.clone(),
                state,
                probes: probes.iter().map(|p| p.id.clone()).collect(),
                pending,
            }
        })
        .collect()
}

/// One row of the lesson × agent matrix: an agent (or `None`: the host-wide probes) and its
/// state for every lesson of the catalog, over its own probes only.
#[derive(Clone, Debug, Serialize)]
pub struct AgentRow {
    pub agent: Option<String>,
    pub lessons: Vec<LessonStatus>,
}

/// The lesson × agent matrix: every agent (sorted), then the host-wide row.
pub fn by_agent(config: &Config, health: &HashMap<String, Health>) -> Vec<AgentRow> {
    config
        .agents()
        .into_iter()
        .map(Some)
        .chain(std::iter::once(None))
        .map(|agent| AgentRow {
            lessons: lessons_where(config, health, of_agent(agent.as_deref())),
            agent,
        })
        .collect()
}
