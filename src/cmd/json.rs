//! The typed shapes of the CLI's JSON outputs (`--format json`), one struct per command.
//!
//! Each shape is documented by a JSON Schema in `docs/schemas/<command>.schema.json`, and
//! `tests/it/cli.rs` validates the real output of every command against its schema. Where the
//! CLI shows what the API shows (`status`), it reuses the API's type (`web::api::ProbeJson`), so
//! the two cannot drift. This module only declares shapes and prints them; it must not compute
//! anything a command decides.

use crate::ledger::{Lesson, LessonId};
use crate::probe::Observation;
use crate::status::{LessonState, LessonStatus};
use serde::Serialize;
use std::collections::BTreeMap;

/// Prints a shape as pretty JSON on stdout.
pub fn print<T: Serialize>(v: &T) -> anyhow::Result<()> {
    // scrubbed of registered secrets, like every other output
    let text = serde_json::to_string_pretty(v)?;
    println!("{}", crate::redact::scrub(&text));
    Ok(())
}

/// `ledgerd check --format json` (`docs/schemas/check.schema.json`).
#[derive(Debug, Serialize)]
pub struct CheckOutput {
    pub host: String,
    /// The audited tree (`--root DIR` / `daemon.root`); null on a live host.
    pub root: Option<std::path::PathBuf>,
    pub results: Vec<CheckResult>,
    /// Lessons guarded by the probes that ran.
    pub lessons: Vec<LessonStatus>,
    /// Per agent (null: host-wide probes), the lessons its probes guard.
    pub agents: Vec<AgentLessons>,
    /// Lessons with at least one probe not ok.
    pub violated_lessons: Vec<u32>,
}

/// One probe's result in `check`.
#[derive(Debug, Serialize)]
pub struct CheckResult {
    pub probe: String,
    pub kind: String,
    pub agent: Option<String>,
    pub lessons: Vec<LessonId>,
    pub shadow: bool,
    pub observation: Observation,
}

/// One agent's lessons in `check`.
#[derive(Debug, Serialize)]
pub struct AgentLessons {
    pub agent: Option<String>,
    pub lessons: Vec<AgentLesson>,
}

/// A lesson's state over one agent's probes.
#[derive(Debug, Serialize)]
pub struct AgentLesson {
    pub number: u32,
    pub state: LessonState,
    pub probes: Vec<String>,
}

/// `ledgerd doctor --format json` (`docs/schemas/doctor.schema.json`).
#[derive(Debug, Serialize)]
pub struct DoctorOutput {
    /// The config file checked, or `<embedded default>`.
    pub config: String,
    pub ok: bool,
    pub errors: Vec<DoctorError>,
    pub warnings: Vec<String>,
    /// Counts and agents; null when the config has errors.
    pub probes: Option<usize>,
    pub channels: Option<usize>,
    pub agents: Option<Vec<DoctorAgent>>,
    /// The audited tree (`--root DIR` / `daemon.root`); null on a live host or with errors.
    pub root: Option<std::path::PathBuf>,
}

/// One config error: file, dotted key path, position and message.
#[derive(Debug, Serialize)]
pub struct DoctorError {
    pub file: String,
    pub key: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// An agent the probes belong to.
#[derive(Debug, Serialize)]
pub struct DoctorAgent {
    pub agent: String,
    pub probes: usize,
    pub lessons: Vec<u32>,
}

/// One lesson in `ledgerd lessons --format json` (`docs/schemas/lessons.schema.json`).
#[derive(Debug, Serialize)]
pub struct LessonEntry {
    /// The catalog's lesson: number, title, fix, rule, class, audience, audience_inferred, owner.
    #[serde(flatten)]
    pub lesson: Lesson,
    pub probes: Vec<String>,
    pub state: LessonState,
    /// Per agent that guards the lesson: its state over that agent's probes.
    pub agents: BTreeMap<String, AgentState>,
}

/// A lesson's state over one agent's probes (in `lessons`).
#[derive(Debug, Serialize)]
pub struct AgentState {
    pub state: LessonState,
    pub probes: Vec<String>,
}

/// One probe in `ledgerd shadow --format json` (`docs/schemas/shadow.schema.json`).
#[derive(Debug, Serialize)]
pub struct ShadowEntry {
    pub probe: String,
    pub lessons: Vec<LessonId>,
    pub would_have_alerted: usize,
    /// When it last would have alerted (RFC 3339), and what it would have said.
    pub last_would_have_alerted: Option<String>,
    pub last_summary: Option<String>,
    pub latest: Option<ShadowLatest>,
}

/// The latest observation of a shadow probe.
#[derive(Debug, Serialize)]
pub struct ShadowLatest {
    pub health: String,
    pub summary: String,
    pub at: String,
}

/// `ledgerd status --format json` (`docs/schemas/status.schema.json`): the same probe objects
/// as `GET /api/v1/probes`, whether the daemon answered (`source: "api"`), the store was read
/// (`"store"`), or there is no store yet (`"none"`, no probes).
#[derive(Debug, Serialize)]
pub struct StatusOutput {
    pub source: &'static str,
    pub probes: Vec<crate::web::api::ProbeJson>,
}
