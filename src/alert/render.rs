//! Plain-text rendering of an `Alert`: the title (`L14 · Cron is not your shell — cron_env:x on
//! vps-1`) and the body every channel starts from. Channels that have markup escape probed text
//! themselves. It must not decide whether to send.

use super::{Alert, Event};

/// `L26 · HTTP 200 is not proof of correctness — http:hub_gateway on vps-1`, prefixed for
/// resolved and reminder messages.
pub fn title(a: &Alert) -> String {
    let prefix = match a.event {
        Event::Firing => "",
        Event::Resolved => "RESOLVED ",
        Event::Reminder => "STILL FAILING ",
        Event::Acknowledged => "ACK ",
        Event::Digest => "OPEN ",
        Event::Overflow => "HELD BACK ",
        Event::Test => "TEST ",
    };
    let agent = a
        .agent
        .as_deref()
        .map(|x| format!(" (agent {x})"))
        .unwrap_or_default();
    format!(
        "{prefix}L{} · {} — {}:{}{agent} on {}",
        a.lesson, a.rule, a.kind, a.probe, a.host
    )
}

/// The plain-text body: observed vs expected, evidence, since-when, the ledger's fix, the link.
pub fn body(a: &Alert) -> String {
    let mut out = String::new();
    let state = match a.event {
        Event::Resolved => "resolved".to_string(),
        _ => a.health.to_string(),
    };
    out.push_str(&format!(
        "Lesson {}: {} ({})\n",
        a.lesson, a.rule, a.lesson_title
    ));
    out.push_str(&format!(
        "Probe {} ({}) on {}: {}\n",
        a.probe, a.kind, a.host, state
    ));
    if let Some(agent) = &a.agent {
        out.push_str(&format!("Agent: {agent}\n"));
    }
    out.push_str(&format!("Observed: {}\n", a.summary));
    if let Some(e) = &a.expected {
        out.push_str(&format!("Expected: {e}\n"));
    }
    if !a.evidence.is_empty() {
        out.push_str("Evidence:\n");
        for e in &a.evidence {
            out.push_str(&format!("  - {}: {}\n", e.key, e.value));
        }
    }
    if let Some(ack) = &a.ack {
        out.push_str(&format!(
            "Acknowledged by {} at {}{}\n",
            ack.by,
            ack.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ack.note
                .as_ref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ));
    }
    if !a.suppressed.is_empty() {
        out.push_str(&format!(
            "Suppressed while this fails: {}\n",
            a.suppressed.join(", ")
        ));
    }
    let since_word = if a.event == Event::Resolved {
        "Failing since"
    } else {
        "Since"
    };
    out.push_str(&format!(
        "{since_word}: {}\n",
        a.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    if a.lessons.len() > 1 {
        let all: Vec<String> = a.lessons.iter().map(|l| format!("L{l}")).collect();
        out.push_str(&format!("Lessons: {}\n", all.join(", ")));
    }
    out.push_str(&format!("Fix (ledger): {}\n", a.fix));
    out.push_str(&format!("Dashboard: {}", a.url));
    out
}

/// Title of a message carrying one or more alerts.
pub fn group_title(alerts: &[Alert]) -> String {
    match alerts {
        [] => String::new(),
        [a] => title(a),
        [first, ..] => {
            let mut lessons: Vec<String> =
                alerts.iter().map(|a| format!("L{}", a.lesson)).collect();
            lessons.dedup();
            let what = match first.event {
                Event::Digest => "open violations",
                Event::Resolved if alerts.iter().all(|a| a.event == Event::Resolved) => "resolved",
                _ => "alerts",
            };
            format!(
                "{} {what} on {}: {}",
                alerts.len(),
                first.host,
                lessons.join(", ")
            )
        }
    }
}

/// Body of a message carrying one or more alerts: each alert's title and body in turn.
pub fn group_body(alerts: &[Alert]) -> String {
    match alerts {
        [a] => body(a),
        _ => alerts
            .iter()
            .map(|a| format!("{}\n{}", title(a), body(a)))
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::sample_alert;

    #[test]
    fn title_and_body_cite_the_lesson() {
        let a = Alert {
            since: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            at: chrono::DateTime::from_timestamp(60, 0).unwrap(),
            incident: 1,
            ..sample_alert()
        };
        assert_eq!(
            title(&a),
            "L14 · Cron is not your shell — cron_env:agent-crontab on vps-1"
        );
        let b = body(&a);
        assert!(b.contains("Observed: 1 job lacks SHOPIFY_TOKEN"));
        assert!(b.contains("Fix (ledger): Source config"));
        assert!(b.contains("Since: 1970-01-01T00:00:00Z"));
        assert!(!b.contains("Agent:"), "a host-wide probe names no agent");
        let a = Alert {
            agent: Some("cs".into()),
            ..a
        };
        assert_eq!(
            title(&a),
            "L14 · Cron is not your shell — cron_env:agent-crontab (agent cs) on vps-1"
        );
        assert!(body(&a).contains("\nAgent: cs\n"), "{}", body(&a));
    }
}
