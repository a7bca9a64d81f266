//! The lesson × agent view of the ledger page and the agent page: the matrix (agents as rows,
//! then the host-wide row; every lesson of the catalog as a column; each cell the row's state for
//! the lesson over its own probes), the compact tiles of lessons that do not hold (one line per
//! failing probe, each probe once per tile) and `/agent/<id>`. Builds display structs from the
//! view snapshot for the templates; it must not compute health or lesson states (`status`, `view`
//! do) and writes nothing.

use super::badge::{Badge, Time, health_badge, state_badge, time};
use super::view::{AgentView, LessonView, ProbeView, Snapshot};
use crate::status::LessonState;
use serde::Serialize;

/// Failing-probe lines shown in a tile before the rest fold into "N more".
const LINES_SHOWN: usize = 8;
/// A line's summary is cut here (the probe page has all of it).
const SUMMARY_CHARS: usize = 160;

/// The URL segment of a matrix row: the agent id, or `-` for the host-wide row.
pub fn row_id(agent: Option<&str>) -> &str {
    agent.unwrap_or("-")
}

#[derive(Serialize)]
pub struct Col {
    pub n: u32,
    pub rule: String,
    /// The lesson's overall state class (header colour; the text is in the cells).
    pub cls: &'static str,
}

#[derive(Serialize)]
pub struct Cell {
    pub n: u32,
    pub cls: &'static str,
    pub icon: &'static str,
    pub text: &'static str,
    /// Whether the row has probes for this lesson (then the cell links to them).
    pub link: bool,
}

#[derive(Serialize)]
pub struct Row {
    pub id: String,
    pub label: String,
    pub violated: usize,
    pub at_risk: usize,
    pub cells: Vec<Cell>,
}

#[derive(Serialize)]
pub struct Matrix {
    pub legend: Vec<Badge>,
    pub cols: Vec<Col>,
    pub rows: Vec<Row>,
}

pub const STATES: [LessonState; 5] = [
    LessonState::Violated,
    LessonState::AtRisk,
    LessonState::Unknown,
    LessonState::Holding,
    LessonState::NotGuarded,
];

fn row_label(a: &AgentView) -> String {
    match &a.agent {
        Some(id) => id.clone(),
        None => "host (no agent)".into(),
    }
}

pub fn matrix(snap: &Snapshot) -> Matrix {
    let cols = snap
        .lessons
        .iter()
        .map(|l| Col {
            n: l.status.number,
            rule: l.status.rule.clone(),
            cls: state_badge(l.status.state).cls,
        })
        .collect();
    let rows = snap
        .agents
        .iter()
        .map(|a| Row {
            id: row_id(a.agent.as_deref()).to_string(),
            label: row_label(a),
            violated: a.count(LessonState::Violated),
            at_risk: a.count(LessonState::AtRisk),
            cells: a
                .lessons
                .iter()
                .map(|l| {
                    let b = state_badge(l.status.state);
                    Cell {
                        n: l.status.number,
                        cls: b.cls,
                        icon: b.icon,
                        text: b.text,
                        link: !l.probes.is_empty(),
                    }
                })
                .collect(),
        })
        .collect();
    Matrix {
        legend: STATES.iter().map(|s| state_badge(*s)).collect(),
        cols,
        rows,
    }
}

/// One failing probe in a compact tile.
#[derive(Serialize)]
pub struct FailLine {
    pub id: String,
    pub agent: String,
    pub agent_id: String,
    pub health: Badge,
    pub summary: String,
    pub since: Option<Time>,
    pub checked: Option<Time>,
    pub stale: bool,
    /// Who acknowledged its open incident.
    pub acked: Option<String>,
}

#[derive(Serialize)]
pub struct VTile {
    pub n: u32,
    pub state: Badge,
    pub rule: String,
    /// "3 agents" / "host-wide" / "2 agents and the host".
    pub agents: String,
    pub fails: Vec<FailLine>,
    pub more: Vec<FailLine>,
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(SUMMARY_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn fail_line(p: &ProbeView, now: i64) -> FailLine {
    FailLine {
        id: p.id.clone(),
        agent: p.agent.clone().unwrap_or_else(|| "host".into()),
        agent_id: row_id(p.agent.as_deref()).to_string(),
        health: health_badge(p.health.map(|h| h.as_str())),
        summary: p
            .latest
            .as_ref()
            .map(|o| cut(&o.summary))
            .unwrap_or_else(|| "not run yet".into()),
        since: p.since.map(|t| time(t, now)),
        checked: p.latest.as_ref().map(|o| time(o.ts, now)),
        stale: p.stale,
        acked: p.open_incident.as_ref().and_then(|i| i.acked_by.clone()),
    }
}

/// A lesson that does not hold as a compact tile: its probes whose latest health is not ok,
/// worst first, each once.
pub fn vtile(snap: &Snapshot, l: &LessonView) -> VTile {
    let now = snap.now_ms;
    let mut failing: Vec<&ProbeView> = l
        .probes
        .iter()
        .map(|&i| &snap.probes[i])
        .filter(|p| !p.health.is_some_and(|h| h.is_ok()))
        .collect();
    failing.sort_by_key(|p| {
        (
            std::cmp::Reverse(p.health.map_or(0, |h| h.rank())),
            p.agent.is_none(),
            p.agent.clone(),
            p.id.clone(),
        )
    });
    let agents: std::collections::BTreeSet<Option<&str>> =
        failing.iter().map(|p| p.agent.as_deref()).collect();
    let named = agents.iter().filter(|a| a.is_some()).count();
    let host = agents.iter().any(|a| a.is_none());
    let who = match (named, host) {
        (0, _) => "host-wide".to_string(),
        (1, false) => "1 agent".to_string(),
        (n, false) => format!("{n} agents"),
        (1, true) => "1 agent and the host".to_string(),
        (n, true) => format!("{n} agents and the host"),
    };
    let mut lines: Vec<FailLine> = failing.iter().map(|p| fail_line(p, now)).collect();
    let more = if lines.len() > LINES_SHOWN + 2 {
        lines.split_off(LINES_SHOWN)
    } else {
        Vec::new()
    };
    VTile {
        n: l.status.number,
        state: state_badge(l.status.state),
        rule: l.status.rule.clone(),
        agents: who,
        fails: lines,
        more,
    }
}

/// Tiles for the lessons that do not hold (violated, at risk, unknown), worst first.
pub fn vtiles(snap: &Snapshot) -> Vec<VTile> {
    snap.lessons_by_severity()
        .into_iter()
        .filter(|l| {
            matches!(
                l.status.state,
                LessonState::Violated | LessonState::AtRisk | LessonState::Unknown
            )
        })
        .map(|l| vtile(snap, l))
        .collect()
}
