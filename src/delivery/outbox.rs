//! The outbox worker: delivers queued notifications in order per channel, retries retryable
//! failures with exponential backoff and jitter (honouring `Retry-After`), marks permanent
//! failures (a broken channel is itself a problem of the daemon, logged as an error and kept in
//! the store), and resumes whatever is pending after a restart. The one place retries live.
//! A channel with several members (an Alertmanager HA cluster) has one queue per member
//! (`<id>@<n>`): its rows are split into per-member rows here, so each member keeps its own
//! order, backoff, storm cap and error, and a dead member never holds up a live one.

use super::with;
use crate::alert::{Alert, Event, SendCx, SendError};
use crate::config::{ChannelConfig, Config};
use crate::store::{OutboxRow, Store};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// Backoff before attempt `attempts + 1`: 5 s doubling to at most 1 h, plus up to 20% jitter.
pub fn backoff(attempts: i64, retry_after: Option<Duration>) -> Duration {
    if let Some(r) = retry_after {
        return r.min(Duration::from_secs(3600));
    }
    let base = Duration::from_secs(5)
        .saturating_mul(1u32 << attempts.clamp(0, 10) as u32)
        .min(Duration::from_secs(3600));
    let jitter_ms = (base.as_millis() as u64 / 5).max(1);
    base + Duration::from_millis(rand::random::<u64>() % jitter_ms)
}

/// Delivers everything due now, one message per channel head: the head and the rows queued
/// within the channel's `group_wait` after it (up to `group_max`) go out together. When a
/// channel has had `max_per_minute - 1` messages in the last minute, everything pending for it
/// is held and summarised in one overflow message (lesson 5: no storms). Returns how many
/// messages were attempted.
pub async fn deliver_due(store: &Mutex<Store>, config: &Config, http: &reqwest::Client) -> usize {
    let now = chrono::Utc::now().timestamp_millis();
    split_members(store, config);
    let heads = match with(store, |s| s.due_outbox(now, 100)) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox");
            return 0;
        }
    };
    let mut attempted = 0;
    for head in heads {
        // the queue: the channel id, or `<id>@<member>` for one member of a cluster
        let queue = head.channel.clone();
        let (channel_id, member) = crate::alert::parse_queue(&queue);
        let Some(ch) = config.channels.iter().find(|c| c.id == channel_id) else {
            let _ = with(store, |s| {
                s.mark_failed(head.id, "channel is no longer configured")
            });
            continue;
        };
        if ch.channel.members() > 1 && queue == ch.id {
            continue; // queued after this pass split the channel: split on the next one
        }
        if member >= ch.channel.members() {
            let _ = with(store, |s| {
                s.mark_failed(head.id, "channel member is no longer configured")
            });
            continue;
        }
        let head_alert: Alert = match serde_json::from_str(&head.payload) {
            Ok(a) => a,
            Err(e) => {
                let _ = with(store, |s| {
                    s.mark_failed(head.id, &format!("unreadable payload: {e}"))
                });
                continue;
            }
        };
        if storm_held(store, config, ch, &queue, &head, &head_alert, now) {
            continue;
        }
        let (ids, alerts) = group(store, ch, &queue, &head, &head_alert);
        if alerts.is_empty() {
            continue;
        }
        attempted += 1;
        let cx = SendCx {
            member,
            channel_id: &ch.id,
            http,
            timeout: Duration::from_secs(10),
            idempotency_key: &head.key,
        };
        let result = ch.channel.send(&cx, &alerts).await;
        record_result(store, &queue, &head, &ids, alerts.len(), result);
    }
    attempted
}

/// Splits the pending rows of every multi-member channel into per-member queues.
fn split_members(store: &Mutex<Store>, config: &Config) {
    for ch in config.channels.iter().filter(|c| c.channel.members() > 1) {
        let queues: Vec<String> = (0..ch.channel.members())
            .map(|m| crate::alert::queue_name(&ch.id, m, ch.channel.members()))
            .collect();
        if let Err(e) = with(store, |s| s.split_pending(&ch.id, &queues)) {
            tracing::error!(error = %e, channel = %ch.id, "splitting the outbox per member");
        }
    }
}

/// Storm control (lesson 5): whether the queue's head must wait. An overflow head waits for room
/// under `max_per_minute`; any other head, once the queue has had `max_per_minute - 1` messages
/// in the last minute, is held with everything pending behind one overflow summary.
fn storm_held(
    store: &Mutex<Store>,
    config: &Config,
    ch: &ChannelConfig,
    queue: &str,
    head: &OutboxRow,
    head_alert: &Alert,
    now: i64,
) -> bool {
    let (sent, oldest) =
        with(store, |s| s.messages_sent_since(queue, now - 60_000)).unwrap_or((0, None));
    let room_frees = oldest.map_or(now, |o| o + 60_000).max(now + 1);
    if head_alert.event == Event::Overflow {
        if sent >= i64::from(ch.max_per_minute) {
            let _ = with(store, |s| {
                s.mark_retry(head.id, room_frees, "waiting for the storm cap")
            });
            return true;
        }
    } else if sent >= i64::from(ch.max_per_minute) - 1 {
        let key = format!("overflow:{queue}:{now}");
        let summary = |held: &[OutboxRow]| overflow_payload(config, &ch.id, held, now);
        match with(store, |s| {
            s.hold_pending(queue, &key, &summary, now, room_frees)
        }) {
            Ok(held) => {
                tracing::warn!(channel = %ch.id, held = held.len(), cap = ch.max_per_minute, "storm control: alerts held back and summarised in one message")
            }
            Err(e) => tracing::error!(error = %e, "holding alerts for storm control"),
        }
        return true;
    }
    false
}

/// The head and the rows queued within `group_wait` after it (up to `group_max`, same kind),
/// as row ids and alerts; an unreadable row is marked failed and left out.
fn group(
    store: &Mutex<Store>,
    ch: &ChannelConfig,
    queue: &str,
    head: &OutboxRow,
    head_alert: &Alert,
) -> (Vec<i64>, Vec<Alert>) {
    let group_end = head.created + ch.group_wait.as_millis() as i64;
    let rows = with(store, |s| {
        s.pending_for_channel(queue, head.id, ch.group_max as u32)
    })
    .unwrap_or_default();
    let mut ids = Vec::new();
    let mut alerts = Vec::new();
    for row in rows {
        if row.id != head.id && row.created > group_end {
            break;
        }
        match serde_json::from_str::<Alert>(&row.payload) {
            Ok(a) if row.id == head.id || same_kind(&a, head_alert) => {
                ids.push(row.id);
                alerts.push(a);
            }
            Ok(_) => break,
            Err(e) => {
                let _ = with(store, |s| {
                    s.mark_failed(row.id, &format!("unreadable payload: {e}"))
                });
            }
        }
    }
    (ids, alerts)
}

/// Writes a send's outcome: sent rows and a cleared channel error; a retry with backoff; or,
/// for a permanent failure, failed rows and a broken channel.
fn record_result(
    store: &Mutex<Store>,
    queue: &str,
    head: &OutboxRow,
    ids: &[i64],
    alerts: usize,
    result: Result<String, SendError>,
) {
    let now = chrono::Utc::now().timestamp_millis();
    let written = match result {
        Ok(receipt) => {
            tracing::info!(channel = %queue, key = %head.key, alerts, receipt = %receipt, "alert delivered");
            with(store, |s| {
                s.set_meta(&format!("channel_error:{queue}"), "")?;
                s.mark_sent_batch(ids, now, &receipt)
            })
        }
        Err(e) if e.retryable => {
            let wait = backoff(head.attempts, e.retry_after);
            tracing::info!(channel = %queue, key = %head.key, error = %e, retry_in = ?wait, "alert delivery failed; will retry");
            with(store, |s| {
                s.set_meta(&format!("channel_error:{queue}"), &e.message)?;
                s.mark_retry(head.id, now + wait.as_millis() as i64, &e.message)
            })
        }
        Err(e) => {
            tracing::error!(channel = %queue, key = %head.key, error = %e, "sending to channel '{queue}': permanent failure; channel marked broken");
            with(store, |s| {
                s.set_meta(
                    &format!("channel_error:{queue}"),
                    &format!("broken: {}", e.message),
                )?;
                for id in ids {
                    s.mark_failed(*id, &e.message)?;
                }
                Ok(())
            })
        }
    };
    if let Err(e) = written {
        tracing::error!(error = %e, "updating the outbox");
    }
}

/// Digests group only with digests; everything else groups together.
fn same_kind(a: &Alert, b: &Alert) -> bool {
    (a.event == Event::Digest) == (b.event == Event::Digest)
        && a.event != Event::Overflow
        && b.event != Event::Overflow
}

/// The overflow message: how many alerts were held and for which lessons.
fn overflow_payload(config: &Config, channel: &str, held: &[OutboxRow], now_ms: i64) -> String {
    let alerts: Vec<Alert> = held
        .iter()
        .filter_map(|r| serde_json::from_str(&r.payload).ok())
        .collect();
    let mut per_lesson: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for a in &alerts {
        *per_lesson.entry(a.lesson).or_default() += 1;
    }
    let lessons: Vec<String> = per_lesson
        .iter()
        .map(|(l, n)| format!("L{l} ×{n}"))
        .collect();
    let worst = alerts
        .iter()
        .map(|a| a.health)
        .fold(crate::probe::Health::Ok, crate::probe::Health::worst);
    let at = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    let mut evidence: Vec<crate::probe::Evidence> = per_lesson
        .iter()
        .map(|(l, n)| crate::probe::Evidence {
            key: format!("L{l}"),
            value: format!("{n} alert(s) held"),
        })
        .collect();
    let probes: Vec<&str> = alerts.iter().map(|a| a.probe.as_str()).take(10).collect();
    evidence.push(crate::probe::Evidence {
        key: "probes".into(),
        value: probes.join(", "),
    });
    let a = Alert {
        expected: Some("at most max_per_minute messages per channel".into()),
        evidence,
        url: config.daemon.dashboard_url.clone(),
        ..super::About {
            event: Event::Overflow,
            probe: "storm_control",
            kind: "ledgerd",
            agent: None,
            lessons: vec![5],
            health: worst,
            summary: format!(
                "{} alert(s) for channel '{channel}' held back by the storm cap: {}",
                alerts.len(),
                lessons.join(", ")
            ),
            since: alerts.iter().map(|a| a.at).min().unwrap_or(at),
            at,
            incident: 0,
        }
        .alert(config)
    };
    serde_json::to_string(&a).unwrap_or_default()
}

/// Runs until `cancel`, waking when the recorder queues something or a retry falls due.
pub async fn run(
    store: Arc<Mutex<Store>>,
    mut config: watch::Receiver<Arc<Config>>,
    http: reqwest::Client,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        let cfg = config.borrow_and_update().clone();
        deliver_due(&store, &cfg, &http).await;
        let now = chrono::Utc::now().timestamp_millis();
        let wait = match with(&store, |s| s.next_outbox_at()) {
            Ok(Some(at)) => Duration::from_millis((at - now).clamp(0, 30_000) as u64),
            _ => Duration::from_secs(30),
        };
        if wait.is_zero() {
            // the head of some channel is due but behind another channel's retry: yield briefly
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => {}
            _ = config.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert!(
            backoff(0, None) >= Duration::from_secs(5) && backoff(0, None) < Duration::from_secs(7)
        );
        assert!(backoff(3, None) >= Duration::from_secs(40));
        assert!(backoff(30, None) <= Duration::from_secs(3600 + 720));
        assert_eq!(
            backoff(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
