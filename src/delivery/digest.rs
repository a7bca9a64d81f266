//! The daily digest: once a day, at a channel's `digest_at` in its `digest_timezone`, every
//! open incident is queued to that channel as one grouped message (event `digest`), so a
//! violation nobody fixed does not fade out of sight. Decides when and what; the outbox delivers.

use crate::alert::{Alert, Event};
use crate::config::Config;
use crate::probe::{Evidence, Health};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// The local date whose digest is due at `now`, if `at` has passed today and today's digest was
/// not sent yet (`last` is the local date of the last one sent).
pub fn due(
    now: DateTime<Utc>,
    at: NaiveTime,
    tz: chrono_tz::Tz,
    last: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    (local.time() >= at && last.is_none_or(|l| l < today)).then_some(today)
}

/// Digest lines for the open incidents, from the store and the config.
/// Worst first, then by lesson number.
pub fn open_incident_alerts(store: &Store, config: &Config, now: DateTime<Utc>) -> Vec<Alert> {
    let incidents = store.incidents(true, None, 500).unwrap_or_default();
    let latest = store.latest_observations().unwrap_or_default();
    let mut alerts: Vec<Alert> = incidents
        .into_iter()
        .filter_map(|inc| {
            let p = config.probes.iter().find(|p| p.id == inc.probe)?;
            let obs = latest.iter().find(|o| o.probe == inc.probe);
            let evidence: Vec<Evidence> = obs
                .and_then(|o| o.body.get("evidence").cloned())
                .and_then(|e| serde_json::from_value(e).ok())
                .unwrap_or_default();
            Some(Alert {
                evidence,
                ack: inc.acked_by.clone().map(|by| crate::alert::Ack {
                    by,
                    at: inc
                        .acked_at
                        .and_then(DateTime::from_timestamp_millis)
                        .unwrap_or(now),
                    note: inc.ack_note.clone(),
                }),
                ..super::About {
                    event: Event::Digest,
                    probe: &inc.probe,
                    kind: p.kind(),
                    agent: p.agent.clone(),
                    lessons: p.lessons.iter().map(|l| l.0).collect(),
                    health: obs
                        .and_then(|o| Health::parse(&o.health))
                        .or_else(|| Health::parse(&inc.health))
                        .unwrap_or(Health::Unknown),
                    summary: obs
                        .map(|o| o.summary.clone())
                        .unwrap_or(inc.summary.clone()),
                    since: DateTime::from_timestamp_millis(inc.opened).unwrap_or(now),
                    at: now,
                    incident: inc.id,
                }
                .alert(config)
            })
        })
        .collect();
    alerts.sort_by_key(|a| (std::cmp::Reverse(a.health.rank()), a.lesson, a.incident));
    alerts
}

/// Queues every digest that is due; returns how many rows were queued.
pub fn queue_due(store: &Store, config: &Config, now: DateTime<Utc>) -> usize {
    let mut queued = 0;
    for ch in &config.channels {
        let Some((at, tz)) = ch.digest else { continue };
        let meta_key = format!("digest:{}", ch.id);
        let last = store
            .meta(&meta_key)
            .ok()
            .flatten()
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        let Some(today) = due(now, at, tz, last) else {
            continue;
        };
        let alerts = open_incident_alerts(store, config, now);
        let ms = now.timestamp_millis();
        for a in &alerts {
            let key = format!("digest:{}:{today}:{}", ch.id, a.incident);
            let payload = serde_json::to_string(a).unwrap_or_default();
            if store.enqueue(&key, &ch.id, &payload, ms).unwrap_or(false) {
                queued += 1;
            }
        }
        if let Err(e) = store.set_meta(&meta_key, &today.to_string()) {
            tracing::error!(error = %e, "recording the digest");
        }
        tracing::info!(channel = %ch.id, open = alerts.len(), "daily digest queued");
    }
    queued
}

/// Checks every 30 s whether a digest is due.
pub async fn run(
    store: Arc<Mutex<Store>>,
    mut config: watch::Receiver<Arc<Config>>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cfg = config.borrow_and_update().clone();
        if cfg.channels.iter().all(|c| c.digest.is_none()) {
            continue;
        }
        let n = match store.lock() {
            Ok(s) => queue_due(&s, &cfg, Utc::now()),
            Err(_) => 0,
        };
        if n > 0 {
            wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_a_day_after_the_local_time() {
        let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let at = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 07:59 UTC = 08:59 in Berlin (winter): not yet
        assert_eq!(due(utc("2026-11-28T07:59:00Z"), at, tz, None), None);
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(due(utc("2026-11-28T08:00:00Z"), at, tz, None), Some(day));
        assert_eq!(
            due(utc("2026-11-28T20:00:00Z"), at, tz, Some(day)),
            None,
            "once a day"
        );
        assert_eq!(
            due(utc("2026-11-29T08:30:00Z"), at, tz, Some(day)),
            day.succ_opt()
        );
    }
}
