//! The outbox worker: delivers queued notifications in order per channel, retries retryable
//! failures with exponential backoff and jitter (honouring `Retry-After`), marks permanent
//! failures (a broken channel is itself a problem of the daemon, logged as an error and kept in
//! the store), and resumes whatever is pending after a restart. The one place retries live.

use super::{Alert, SendCx};
use crate::config::Config;
use crate::store::{Store, StoreError};
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

/// Runs one short store operation under the lock (never held across an await).
fn with<T>(
    store: &Mutex<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match store.lock() {
        Ok(s) => f(&s),
        Err(poisoned) => f(&poisoned.into_inner()),
    }
}

/// Delivers everything due now; returns how many were attempted.
pub async fn deliver_due(store: &Mutex<Store>, config: &Config, http: &reqwest::Client) -> usize {
    let now = chrono::Utc::now().timestamp_millis();
    let due = match with(store, |s| s.due_outbox(now, 100)) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox");
            return 0;
        }
    };
    let n = due.len();
    for row in due {
        let Some(ch) = config.channels.iter().find(|c| c.id == row.channel) else {
            let _ = with(store, |s| {
                s.mark_failed(row.id, "channel is no longer configured")
            });
            continue;
        };
        let alert: Alert = match serde_json::from_str(&row.payload) {
            Ok(a) => a,
            Err(e) => {
                let _ = with(store, |s| {
                    s.mark_failed(row.id, &format!("unreadable payload: {e}"))
                });
                continue;
            }
        };
        let cx = SendCx {
            channel_id: &ch.id,
            http,
            timeout: Duration::from_secs(10),
            idempotency_key: &row.key,
        };
        let result = ch.channel.send(&cx, std::slice::from_ref(&alert)).await;
        let now = chrono::Utc::now().timestamp_millis();
        let written = match result {
            Ok(receipt) => {
                tracing::info!(channel = %ch.id, key = %row.key, receipt = %receipt, "alert delivered");
                with(store, |s| {
                    s.set_meta(&format!("channel_error:{}", ch.id), "")?;
                    s.mark_sent(row.id, now, &receipt)
                })
            }
            Err(e) if e.retryable => {
                let wait = backoff(row.attempts, e.retry_after);
                tracing::info!(channel = %ch.id, key = %row.key, error = %e, retry_in = ?wait, "alert delivery failed; will retry");
                with(store, |s| {
                    s.set_meta(&format!("channel_error:{}", ch.id), &e.message)?;
                    s.mark_retry(row.id, now + wait.as_millis() as i64, &e.message)
                })
            }
            Err(e) => {
                tracing::error!(channel = %ch.id, key = %row.key, error = %e, "sending to channel '{}': permanent failure; channel marked broken", ch.id);
                with(store, |s| {
                    s.set_meta(
                        &format!("channel_error:{}", ch.id),
                        &format!("broken: {}", e.message),
                    )?;
                    s.mark_failed(row.id, &e.message)
                })
            }
        };
        if let Err(e) = written {
            tracing::error!(error = %e, "updating the outbox");
        }
    }
    n
}

/// Runs until `cancel`, waking when the recorder queues something or a retry falls due.
pub async fn run(
    store: Mutex<Store>,
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
