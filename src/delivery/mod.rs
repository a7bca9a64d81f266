//! The delivery pipeline, one home for what happens to an alert after the engine decides an
//! incident changed: `route` (which channels, pure), `outbox` (durable delivery through the store:
//! grouping, storm cap, retries), `digest` (the daily digest), `repost` (re-posting firing alerts
//! to receivers that forget them) and `ack` (acknowledgements). The engine hands alerts down to
//! it; it never calls back up into the engine, the scheduler or the web server. Formatting and
//! sending belong to the channel kinds in `alert`.

pub mod ack;
pub mod digest;
pub mod outbox;
pub mod repost;
pub mod route;

use crate::alert::{Alert, Event};
use crate::config::Config;
use crate::probe::Health;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// What an alert is about. `alert` is the one place an `Alert` is assembled: the lesson's
/// words from the catalog, host and dashboard link from the daemon settings; callers add
/// what only they know (`expected`, `evidence`, `ack`, `suppressed`) with struct update syntax.
pub struct About<'a> {
    pub event: Event,
    pub probe: &'a str,
    pub kind: &'a str,
    /// The agent the probe belongs to, if any.
    pub agent: Option<String>,
    /// The primary lesson first; never empty.
    pub lessons: Vec<u32>,
    pub health: Health,
    pub summary: String,
    pub since: DateTime<Utc>,
    pub at: DateTime<Utc>,
    /// Incident number in the store (0 when there is none).
    pub incident: i64,
}

impl About<'_> {
    pub fn alert(self, config: &Config) -> Alert {
        let lesson = self.lessons.first().copied().unwrap_or(0);
        let l = config.catalog.get(lesson);
        let text = |f: fn(&crate::ledger::Lesson) -> &String| l.map(f).cloned().unwrap_or_default();
        Alert {
            event: self.event,
            lesson,
            lessons: self.lessons,
            rule: text(|l| &l.rule),
            lesson_title: text(|l| &l.title),
            fix: text(|l| &l.fix),
            class: text(|l| &l.class),
            owner: text(|l| &l.owner),
            probe: self.probe.to_string(),
            kind: self.kind.to_string(),
            host: config.daemon.host.clone(),
            agent: self.agent,
            health: self.health,
            summary: self.summary,
            expected: None,
            evidence: Vec::new(),
            since: self.since,
            at: self.at,
            url: format!("{}/probe/{}", config.daemon.dashboard_url, self.probe),
            incident: self.incident,
            ack: None,
            suppressed: Vec::new(),
        }
    }
}

/// Runs one short store operation under the lock (never held across an await); shared by
/// `outbox` and `repost`.
pub(crate) fn with<T>(
    store: &Mutex<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match store.lock() {
        Ok(s) => f(&s),
        Err(poisoned) => f(&poisoned.into_inner()),
    }
}
