//! `incident_note`: writes a markdown incident note per incident into a folder (e.g. a company
//! brain's `_health/`), in the ledger's incident format (Title, Date, Severity, Area, What
//! failed, User/business impact, Root cause, Fix, Verification, Prevention rule, Owner, Related
//! files/tools). ledgerd fills what it knows and appends to a timeline on acknowledgement,
//! reminders and resolution. It never overwrites text a person added: it only replaces a field
//! line that still holds ledgerd's own placeholder, and appends at the end.

use super::{Alert, Channel, Event, SendCx, SendError, render};
use crate::probe::Invalid;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentNote {
    /// Folder for the notes (created if missing, mode 0700). Relative paths are relative to the
    /// daemon's working directory; prefer absolute ones.
    dir: PathBuf,
}

/// What ledgerd writes where a person has to fill in the blank.
const TO_FILL: &str = "_to be filled in by the owner_";
const VERIFY_PENDING: &str = "_pending: ledgerd records the recovery here_";

impl Channel for IncidentNote {
    const KIND: &'static str = "incident_note";
    const SUMMARY: &'static str =
        "write and update a markdown incident note per incident, in the ledger's incident format";
    const EXAMPLE: &'static str = r#"[channel.brain_health]
# the company brain's health folder: a degraded check opens a task there
dir = "${LEDGERD_NOTES_DIR:-/tmp/ledgerd-notes}"
group_wait = "0s"
"#;

    fn validate(&self) -> Vec<Invalid> {
        if self.dir.as_os_str().is_empty() {
            return vec![Invalid::new("dir", "name a folder for the notes")];
        }
        Vec::new()
    }

    async fn send(&self, _cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let dir = self.dir.clone();
        let alerts = alerts.to_vec();
        tokio::task::spawn_blocking(move || write_all(&dir, &alerts))
            .await
            .map_err(|e| SendError::retry(format!("writing incident notes: {e}")))?
    }
}

fn write_all(dir: &Path, alerts: &[Alert]) -> Result<String, SendError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                SendError::retry(format!("creating notes folder '{}': {e}", dir.display()))
            })?;
    }
    let mut written = Vec::new();
    for a in alerts {
        if matches!(a.event, Event::Digest | Event::Overflow) {
            continue;
        }
        let path = dir.join(file_name(a));
        let old = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(SendError::retry(format!(
                    "reading note '{}': {e}",
                    path.display()
                )));
            }
        };
        let text = match old {
            None => new_note(a),
            Some(t) => update_note(&t, a),
        };
        let tmp = path.with_extension("md.tmp");
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| SendError::retry(format!("writing note '{}': {e}", path.display())))?;
        written.push(
            path.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    Ok(format!(
        "notes: {}",
        if written.is_empty() {
            "none".into()
        } else {
            written.join(", ")
        }
    ))
}

/// `2026-11-28-L14-agent_crontab-7.md`: date the incident opened, lesson, probe, incident.
pub fn file_name(a: &Alert) -> String {
    let probe: String = a
        .probe
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if a.event == Event::Test {
        return format!("{}-test-{}.md", a.at.format("%Y-%m-%d"), a.at.timestamp());
    }
    format!(
        "{}-L{}-{probe}-{}.md",
        a.since.format("%Y-%m-%d"),
        a.lesson,
        a.incident
    )
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn timeline_line(a: &Alert) -> String {
    let at = a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match (&a.event, &a.ack) {
        (Event::Acknowledged, Some(ack)) => format!(
            "- {at} acknowledged by {}{}",
            one_line(&ack.by),
            ack.note
                .as_ref()
                .map(|n| format!(": {}", one_line(n)))
                .unwrap_or_default()
        ),
        (Event::Resolved, _) => format!(
            "- {at} resolved: the probe passes again ({})",
            one_line(&a.summary)
        ),
        (e, _) => format!(
            "- {at} {}: {} — {}",
            e.as_str(),
            a.health,
            one_line(&a.summary)
        ),
    }
}

fn new_note(a: &Alert) -> String {
    let related: Vec<String> = a
        .evidence
        .iter()
        .filter(|e| e.value.starts_with('/') || e.value.starts_with('~'))
        .map(|e| format!("`{}`", one_line(&e.value)))
        .collect();
    let mut out = String::new();
    out.push_str(&format!(
        "# {}\n\n",
        render::title(&Alert {
            event: Event::Firing,
            ..a.clone()
        })
    ));
    out.push_str(&format!("Title: {}\n", one_line(&a.lesson_title)));
    out.push_str(&format!(
        "Date: {}\n",
        a.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    out.push_str(&format!("Severity: {}\n", a.health));
    out.push_str(&format!(
        "Area: {} ({} on {})\n",
        a.class.replace('_', " "),
        a.kind,
        a.host
    ));
    let expected = a
        .expected
        .as_ref()
        .map(|e| format!(" (expected: {})", one_line(e)))
        .unwrap_or_default();
    out.push_str(&format!(
        "What failed: {}{expected}\n",
        one_line(&a.summary)
    ));
    out.push_str(&format!("User/business impact: {TO_FILL}\n"));
    out.push_str(&format!("Root cause: {TO_FILL}\n"));
    out.push_str(&format!(
        "Fix: {} (the ledger's fix for lesson {}; record what was actually done)\n",
        one_line(&a.fix),
        a.lesson
    ));
    out.push_str(&format!("Verification: {VERIFY_PENDING}\n"));
    out.push_str(&format!("Prevention rule: {}\n", one_line(&a.rule)));
    out.push_str(&format!(
        "Owner: {}\n",
        if a.owner.is_empty() {
            TO_FILL.to_string()
        } else {
            a.owner.clone()
        }
    ));
    let mut rel = related;
    rel.push(format!("probe `{}:{}`", a.kind, a.probe));
    rel.push(format!("dashboard {}", a.url));
    out.push_str(&format!("Related files/tools: {}\n", rel.join(", ")));
    if !a.evidence.is_empty() {
        out.push_str("\n## Evidence (ledgerd)\n\n");
        for e in &a.evidence {
            out.push_str(&format!("- {}: {}\n", one_line(&e.key), one_line(&e.value)));
        }
    }
    out.push_str("\n## Timeline (ledgerd)\n\n");
    out.push_str(&timeline_line(a));
    out.push('\n');
    out
}

/// Appends the event to the note and fills `Verification:` on resolution, but only while that
/// line still holds ledgerd's placeholder; everything a person wrote stays as it is.
fn update_note(text: &str, a: &Alert) -> String {
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    if a.event == Event::Resolved {
        let placeholder = format!("Verification: {VERIFY_PENDING}");
        if let Some(line) = out.iter_mut().find(|l| **l == placeholder) {
            *line = format!(
                "Verification: ledgerd saw the probe pass again at {} (incident closed)",
                a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
    }
    let entry = timeline_line(a);
    if !out.contains(&entry) {
        out.push(entry);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::{sample_alert, send_cx};

    #[tokio::test]
    async fn writes_then_updates_without_touching_human_text() {
        let dir = tempfile::tempdir().unwrap();
        let ch = IncidentNote {
            dir: dir.path().join("_health"),
        };
        let http = crate::http_client::shared();
        let cx = SendCx {
            timeout: std::time::Duration::from_secs(5),
            ..send_cx(&http, "notes", "k")
        };
        let mut a = sample_alert();
        a.class = "process_management".into();
        a.owner = "platform".into();
        ch.send(&cx, std::slice::from_ref(&a)).await.unwrap();
        let path = dir.path().join("_health").join(file_name(&a));
        let text = std::fs::read_to_string(&path).unwrap();
        for field in [
            "Title:",
            "Date:",
            "Severity:",
            "Area: process management",
            "What failed:",
            "User/business impact:",
            "Root cause:",
            "Fix:",
            "Verification:",
            "Prevention rule:",
            "Owner: platform",
            "Related files/tools:",
        ] {
            assert!(text.contains(field), "{field} missing in:\n{text}");
        }
        assert!(text.contains(&format!("Prevention rule: {}", a.rule)));
        // a person fills in the root cause and adds a paragraph
        let edited = text
            .replace(
                &format!("Root cause: {TO_FILL}"),
                "Root cause: the cron wrapper lost its env file",
            )
            .replace(
                "## Timeline (ledgerd)",
                "We rotated the token too.\n\n## Timeline (ledgerd)",
            );
        std::fs::write(&path, &edited).unwrap();
        let mut ack = a.clone();
        ack.event = Event::Acknowledged;
        ack.ack = Some(crate::alert::Ack {
            by: "Ana".into(),
            at: a.at,
            note: Some("on it".into()),
        });
        ch.send(&cx, &[ack]).await.unwrap();
        let mut resolved = a.clone();
        resolved.event = Event::Resolved;
        ch.send(&cx, &[resolved]).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("Root cause: the cron wrapper lost its env file"),
            "{text}"
        );
        assert!(text.contains("We rotated the token too."));
        assert!(text.contains("acknowledged by Ana: on it"));
        assert!(
            text.contains("Verification: ledgerd saw the probe pass again"),
            "{text}"
        );
        assert!(text.contains("resolved: the probe passes again"));
        // a person's own Verification line is never replaced
        let mine = text.replace(
            "Verification: ledgerd saw",
            "Verification: Ana re-ran the job by hand; ledgerd saw",
        );
        std::fs::write(&path, &mine).unwrap();
        let mut again = a.clone();
        again.event = Event::Resolved;
        again.at += chrono::TimeDelta::seconds(60);
        ch.send(&cx, &[again]).await.unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("Verification: Ana re-ran the job by hand")
        );
    }
}
