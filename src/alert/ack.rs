//! Acknowledging an incident: records who and why in the store, then queues an "acknowledged"
//! notification to every channel that was sent the incident's alerts, built from the incident's
//! firing payload. One function shared by the web API, the dashboard's form and the CLI. It must
//! not deliver anything itself: the caller wakes the outbox worker.

use super::{Ack, Alert, Event};
use crate::config::Config;
use crate::probe::Health;
use crate::store::{IncidentRow, Store, StoreError};
use chrono::{DateTime, TimeZone, Utc};

/// Longest accepted `by` and `note`, in characters.
pub const MAX_BY: usize = 100;
pub const MAX_NOTE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("no incident #{0}")]
    NotFound(i64),
    #[error("incident #{0} is already closed")]
    Closed(i64),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What an acknowledgement did.
#[derive(Debug, Clone)]
pub struct AckOutcome {
    /// The incident as stored after the acknowledgement.
    pub incident: IncidentRow,
    /// Channels an "acknowledged" notification was queued for.
    pub queued: Vec<String>,
}

/// Acknowledges open incident `incident` as `by` with an optional note, and queues the
/// acknowledgement to the channels that got the incident's alerts. The caller wakes the outbox
/// (`Shared::wake_outbox`) when `queued` is not empty.
pub fn acknowledge(
    store: &Store,
    config: &Config,
    incident: i64,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AckOutcome, AckError> {
    let by = by.trim();
    if by.is_empty() {
        return Err(AckError::Invalid(
            "say who acknowledges ('by' is empty)".into(),
        ));
    }
    if by.chars().count() > MAX_BY {
        return Err(AckError::Invalid(format!(
            "'by' is longer than {MAX_BY} characters"
        )));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(AckError::Invalid(format!(
            "'note' is longer than {MAX_NOTE} characters"
        )));
    }
    let Some(row) = store.incident(incident)? else {
        return Err(AckError::NotFound(incident));
    };
    if row.closed.is_some() {
        return Err(AckError::Closed(incident));
    }
    let now_ms = now.timestamp_millis();
    store.ack(incident, by, note, now_ms)?;
    let mut alert = store
        .incident_payload(incident)?
        .and_then(|p| serde_json::from_str::<Alert>(&p).ok())
        .unwrap_or_else(|| fallback_alert(config, &row));
    alert.event = Event::Acknowledged;
    alert.at = now;
    alert.incident = incident;
    alert.ack = Some(Ack {
        by: by.to_string(),
        at: now,
        note: note.map(str::to_string),
    });
    let payload = serde_json::to_string(&alert).unwrap_or_default();
    let mut queued = Vec::new();
    for ch in store.incident_channels(incident)? {
        if !config.channels.iter().any(|c| c.id == ch) {
            continue;
        }
        let key = format!("{incident}:ack:{now_ms}:{ch}");
        if store.enqueue(&key, &ch, &payload, now_ms)? {
            queued.push(ch);
        }
    }
    let incident = store.incident(incident)?.unwrap_or(row);
    Ok(AckOutcome { incident, queued })
}

/// An alert rebuilt from the incident row and the config, when its firing payload is gone
/// (pruned) or unreadable.
fn fallback_alert(config: &Config, row: &IncidentRow) -> Alert {
    let probe = config.probes.iter().find(|p| p.id == row.probe);
    let lesson = config.catalog.get(row.lesson);
    let since = Utc
        .timestamp_millis_opt(row.opened)
        .single()
        .unwrap_or_else(Utc::now);
    Alert {
        event: Event::Acknowledged,
        lesson: row.lesson,
        lessons: probe
            .map(|p| p.lessons.iter().map(|l| l.0).collect())
            .unwrap_or_else(|| vec![row.lesson]),
        rule: lesson.map(|l| l.rule.clone()).unwrap_or_default(),
        lesson_title: lesson.map(|l| l.title.clone()).unwrap_or_default(),
        fix: lesson.map(|l| l.fix.clone()).unwrap_or_default(),
        class: lesson.map(|l| l.class.clone()).unwrap_or_default(),
        owner: lesson.map(|l| l.owner.clone()).unwrap_or_default(),
        probe: row.probe.clone(),
        kind: probe.map(|p| p.kind().to_string()).unwrap_or_default(),
        host: config.daemon.host.clone(),
        agent: row.agent.clone(),
        health: Health::parse(&row.health).unwrap_or(Health::Unknown),
        summary: row.summary.clone(),
        expected: None,
        evidence: Vec::new(),
        since,
        at: since,
        url: format!("{}/probe/{}", config.daemon.dashboard_url, row.probe),
        incident: row.id,
        ack: None,
        suppressed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            format!(
                "[daemon]\nstate_dir = \"{}\"\n[probe.p]\nkind = \"command\"\nlesson = 26\nargv = [\"true\"]\n[channel.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n",
                dir.join("s").display()
            ),
        )
        .unwrap();
        crate::config::load_file(&path).unwrap()
    }

    #[test]
    fn ack_records_and_queues_to_the_incidents_channels() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut s = Store::open(&dir.path().join("s")).unwrap();
        let b = s.batch().unwrap();
        let id = b
            .open_incident("p", 26, 1000, "critical", "down", None)
            .unwrap();
        let firing = fallback_alert(
            &cfg,
            &IncidentRow {
                id,
                probe: "p".into(),
                lesson: 26,
                opened: 1000,
                closed: None,
                health: "critical".into(),
                summary: "data: []".into(),
                acked_by: None,
                acked_at: None,
                ack_note: None,
                agent: None,
            },
        );
        let payload = serde_json::to_string(&Alert {
            event: Event::Firing,
            ..firing
        })
        .unwrap();
        b.enqueue(&format!("{id}:1:hook"), "hook", &payload, 1000, 1000)
            .unwrap();
        b.enqueue(&format!("{id}:1:gone"), "gone", &payload, 1000, 1000)
            .unwrap();
        b.commit().unwrap();

        assert!(matches!(
            acknowledge(&s, &cfg, id, "  ", None, Utc::now()),
            Err(AckError::Invalid(_))
        ));
        assert!(matches!(
            acknowledge(&s, &cfg, 999, "ana", None, Utc::now()),
            Err(AckError::NotFound(999))
        ));
        let out = acknowledge(&s, &cfg, id, "ana", Some("on it"), Utc::now()).unwrap();
        assert_eq!(out.incident.acked_by.as_deref(), Some("ana"));
        assert_eq!(out.incident.ack_note.as_deref(), Some("on it"));
        assert_eq!(
            out.queued,
            vec!["hook".to_string()],
            "unknown channels skipped"
        );
        let rows = s.outbox(10).unwrap();
        let ack: Alert = serde_json::from_str(&rows[0].payload).unwrap();
        assert_eq!(ack.event, Event::Acknowledged);
        assert_eq!(ack.ack.as_ref().unwrap().by, "ana");
        assert_eq!(ack.summary, "data: []");
    }
}
