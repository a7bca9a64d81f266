//! `ledgerd test-alert --channel ID`: send a synthetic alert to one channel right now (not via
//! the outbox) and print the receiver's answer; exit 1 when the send failed.

use super::{EXIT_ERROR, EXIT_OK, EXIT_VIOLATION};
use crate::alert::{Alert, Event, SendCx};
use crate::probe::{Evidence, Health};
use std::path::Path;
use std::time::Duration;

pub fn run(path: Option<&Path>, channel: &str) -> anyhow::Result<u8> {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let Some(ch) = config.channels.iter().find(|c| c.id == channel) else {
        let ids: Vec<&str> = config.channels.iter().map(|c| c.id.as_str()).collect();
        eprintln!(
            "ledgerd: no channel '{channel}' (configured: {})",
            super::names_or_none(&ids)
        );
        return Ok(EXIT_ERROR);
    };
    let l = config.catalog.get(26);
    let now = chrono::Utc::now();
    let alert = Alert {
        event: Event::Test,
        lesson: 26,
        lessons: vec![26],
        rule: l.map(|l| l.rule.clone()).unwrap_or_default(),
        lesson_title: l.map(|l| l.title.clone()).unwrap_or_default(),
        fix: l.map(|l| l.fix.clone()).unwrap_or_default(),
        class: l.map(|l| l.class.clone()).unwrap_or_default(),
        owner: l.map(|l| l.owner.clone()).unwrap_or_default(),
        probe: "test_alert".into(),
        kind: "test".into(),
        host: config.daemon.host.clone(),
        agent: None,
        health: Health::Degraded,
        summary: format!(
            "test alert from ledgerd on {} to channel '{channel}'",
            config.daemon.host
        ),
        expected: Some("this message arrives, with its lesson and evidence".into()),
        evidence: vec![Evidence {
            key: "channel".into(),
            value: format!("{channel} ({})", ch.channel.kind()),
        }],
        since: now,
        at: now,
        url: config.daemon.dashboard_url.clone(),
        incident: 0,
        ack: None,
        suppressed: Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = crate::http_client::shared();
    let key = format!("test:{}:{}", channel, now.timestamp_millis());
    let members = ch.channel.members();
    let mut failed = false;
    for member in 0..members {
        let cx = SendCx {
            member,
            channel_id: channel,
            http: &http,
            timeout: Duration::from_secs(15),
            idempotency_key: &key,
        };
        let which = if members > 1 {
            format!(" member {}", member + 1)
        } else {
            String::new()
        };
        match rt.block_on(ch.channel.send(&cx, std::slice::from_ref(&alert))) {
            Ok(receipt) => {
                println!(
                    "delivered to '{channel}'{which} ({}): {receipt}",
                    ch.channel.kind()
                );
            }
            Err(e) => {
                failed = true;
                println!(
                    "sending to channel '{channel}'{which} ({}) failed: {e}{}",
                    ch.channel.kind(),
                    if e.retryable {
                        " (retryable: the daemon would retry)"
                    } else {
                        " (permanent: fix the channel's config)"
                    }
                );
            }
        }
    }
    Ok(if failed { EXIT_VIOLATION } else { EXIT_OK })
}
