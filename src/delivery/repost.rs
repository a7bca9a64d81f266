//! Re-posting for channels whose receiver forgets a firing alert unless it is posted again
//! (Alertmanager ends an alert when its `endsAt` passes). For each channel whose kind asks for it
//! (`Channel::repost_every`), a daemon task re-queues the last payload of every still-open
//! incident that channel was sent, once per period, through the outbox. `due_reposts` decides
//! when (pure); `run` reads the store and queues. It must not deliver anything or format text, and
//! it never re-posts what a channel was not sent (muted or routed elsewhere).

use super::with;
use crate::alert::{Alert, Event};
use crate::config::Config;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// What the outbox holds about the newest notification of an incident on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastPost {
    /// When it was queued (unix ms).
    pub at_ms: i64,
    /// Still waiting for delivery: re-posting would only pile up behind it.
    pub pending: bool,
}

/// The open incidents whose newest notification on a channel is at least `every` old and
/// delivered (or given up on). Incidents the channel never got are not due.
pub fn due_reposts(
    open_incidents: &[i64],
    last_posted: &HashMap<i64, LastPost>,
    now_ms: i64,
    every: Duration,
) -> Vec<i64> {
    let every_ms = every.as_millis() as i64;
    open_incidents
        .iter()
        .copied()
        .filter(|id| {
            last_posted
                .get(id)
                .is_some_and(|p| !p.pending && p.at_ms.saturating_add(every_ms) <= now_ms)
        })
        .collect()
}

/// How often to look: a quarter of the shortest period, between 250 ms and 30 s; `None` when no
/// channel re-posts.
fn tick(config: &Config) -> Option<Duration> {
    config
        .channels
        .iter()
        .filter_map(|c| c.channel.repost_every())
        .min()
        .map(|d| (d / 4).clamp(Duration::from_millis(250), Duration::from_secs(30)))
}

/// Queues the re-posts due at `now_ms`; returns how many were queued. Keys are
/// `<incident>:repost:<period>:<channel>`, so a period is queued at most once.
pub fn queue_due(store: &Mutex<Store>, config: &Config, now_ms: i64) -> Result<usize, StoreError> {
    let mut queued = 0;
    for ch in &config.channels {
        let Some(every) = ch.channel.repost_every() else {
            continue;
        };
        let open: Vec<i64> = with(store, |s| s.incidents(true, None, 10_000))?
            .into_iter()
            .map(|i| i.id)
            .collect();
        let mut last = HashMap::new();
        let mut payloads = HashMap::new();
        for &id in &open {
            if let Some(row) = with(store, |s| s.last_outbox_for_incident(id, &ch.id))? {
                last.insert(
                    id,
                    LastPost {
                        at_ms: row.created,
                        pending: row.status == "pending",
                    },
                );
                payloads.insert(id, row.payload);
            }
        }
        let period = now_ms / (every.as_millis() as i64).max(1);
        for id in due_reposts(&open, &last, now_ms, every) {
            let Some(payload) = payloads.remove(&id) else {
                continue;
            };
            // the newest row of an open incident is never a resolve; be sure anyway
            match serde_json::from_str::<Alert>(&payload) {
                Ok(a) if a.event != Event::Resolved => {}
                _ => continue,
            }
            let key = format!("{id}:repost:{period}:{}", ch.id);
            if with(store, |s| {
                s.enqueue_if_open(id, &key, &ch.id, &payload, now_ms)
            })? {
                tracing::debug!(channel = %ch.id, incident = id, "re-posting a still-firing alert");
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Runs until `cancel`: looks every `tick`, queues what is due and wakes the outbox worker.
pub async fn run(
    store: Arc<Mutex<Store>>,
    mut config: watch::Receiver<Arc<Config>>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut config_open = true;
    loop {
        let cfg = config.borrow_and_update().clone();
        let wait = match tick(&cfg) {
            Some(t) => {
                match queue_due(&store, &cfg, chrono::Utc::now().timestamp_millis()) {
                    Ok(n) if n > 0 => wake.notify_one(),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "queueing re-posts of firing alerts"),
                }
                t
            }
            None => Duration::from_secs(60),
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = config.changed(), if config_open => config_open = r.is_ok(),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_old_enough_delivered_and_ever_sent() {
        let every = Duration::from_secs(120);
        let last: HashMap<i64, LastPost> = [
            (
                1,
                LastPost {
                    at_ms: 0,
                    pending: false,
                },
            ), // old, delivered: due
            (
                2,
                LastPost {
                    at_ms: 100_000,
                    pending: false,
                },
            ), // 20 s ago: not yet
            (
                3,
                LastPost {
                    at_ms: 0,
                    pending: true,
                },
            ), // still queued: wait
            (
                5,
                LastPost {
                    at_ms: 0,
                    pending: false,
                },
            ), // not open any more
        ]
        .into_iter()
        .collect();
        // 4 is open but was never sent to this channel
        assert_eq!(due_reposts(&[1, 2, 3, 4], &last, 120_000, every), vec![1]);
        assert_eq!(
            due_reposts(&[1, 2, 3, 4], &last, 220_000, every),
            vec![1, 2]
        );
        assert!(due_reposts(&[], &last, 1_000_000, every).is_empty());
    }

    #[test]
    fn queues_once_per_period_only_for_open_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let b = s.batch().unwrap();
        let open = b
            .open_incident("hub", 26, 0, "critical", "down", None)
            .unwrap();
        let closed = b
            .open_incident("db", 4, 0, "critical", "down", None)
            .unwrap();
        b.close_incident(closed, 50).unwrap();
        let payload = r#"{"event":"firing"}"#;
        b.enqueue(&format!("{open}:1:am"), "am", payload, 0, 0)
            .unwrap();
        b.enqueue(&format!("{closed}:2:am"), "am", payload, 0, 0)
            .unwrap();
        b.commit().unwrap();
        for r in s.due_outbox(10, 10).unwrap() {
            s.mark_sent(r.id, 10, "ok").unwrap();
        }
        assert!(
            !s.enqueue_if_open(closed, "x", "am", payload, 1).unwrap(),
            "a closed incident is not re-posted"
        );
        let last = s.last_outbox_for_incident(open, "am").unwrap().unwrap();
        assert_eq!(last.key, format!("{open}:1:am"));
        assert!(s.last_outbox_for_incident(open, "other").unwrap().is_none());
        let key = format!("{open}:repost:1:am");
        assert!(s.enqueue_if_open(open, &key, "am", payload, 1).unwrap());
        assert!(!s.enqueue_if_open(open, &key, "am", payload, 1).unwrap());
        let last = s.last_outbox_for_incident(open, "am").unwrap().unwrap();
        assert_eq!(
            (last.key.as_str(), last.status.as_str()),
            (key.as_str(), "pending")
        );
    }

    #[test]
    fn queue_due_reposts_only_for_repost_channels_and_open_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("c.toml");
        std::fs::write(
            &cfg_path,
            format!(
                "[daemon]\nstate_dir = {:?}\n\n[probe.p]\nkind = \"command\"\nlesson = 26\nargv = [\"true\"]\n\n\
                 [channel.am]\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9\"\nrepost_every = \"10s\"\n\n\
                 [channel.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\n",
                dir.path().join("state").display().to_string()
            ),
        )
        .unwrap();
        let config = crate::config::load_file(&cfg_path).unwrap();
        let mut s = Store::open(&dir.path().join("state")).unwrap();
        let b = s.batch().unwrap();
        let id = b
            .open_incident("p", 26, 0, "critical", "down", None)
            .unwrap();
        let firing = r#"{"event":"firing","lesson":26,"lessons":[26],"rule":"r","lesson_title":"t","fix":"f","probe":"p","kind":"command","host":"h","health":"critical","summary":"s","expected":null,"evidence":[],"since":"1970-01-01T00:00:00Z","at":"1970-01-01T00:00:00Z","url":"u","incident":1}"#;
        b.enqueue(&format!("{id}:1:am"), "am", firing, 0, 0)
            .unwrap();
        b.enqueue(&format!("{id}:1:hook"), "hook", firing, 0, 0)
            .unwrap();
        b.commit().unwrap();
        let store = Mutex::new(s);
        assert_eq!(queue_due(&store, &config, 5_000).unwrap(), 0, "not due yet");
        assert_eq!(
            queue_due(&store, &config, 10_000).unwrap(),
            0,
            "the firing row is still pending"
        );
        {
            let s = store.lock().unwrap();
            for r in s.due_outbox(10_000, 10).unwrap() {
                s.mark_sent(r.id, 10_000, "ok").unwrap();
            }
        }
        assert_eq!(queue_due(&store, &config, 10_000).unwrap(), 1);
        let s = store.lock().unwrap();
        let last = s.last_outbox_for_incident(id, "am").unwrap().unwrap();
        assert_eq!(last.key, format!("{id}:repost:1:am"));
        assert_eq!(last.payload, firing);
        assert!(
            s.last_outbox_for_incident(id, "hook").unwrap().unwrap().key == format!("{id}:1:hook"),
            "channels without repost_every are left alone"
        );
    }
}
