//! Daemon-wide shared state: what the scheduler, recorder, outbox worker and web server all see
//! (`Shared`: the current config, the store, liveness facts) and the in-memory run metrics the
//! recorder feeds and `/metrics` reads (`RunMetrics`). A leaf below `daemon` and `web`, so neither
//! imports the other. It must not start tasks, serve HTTP or decide health.

use crate::config::Config;
use crate::store::Store;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Metric labels as (name, value) pairs.
pub type Labels = Vec<(String, String)>;
type HistFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

/// Liveness facts `/healthz` and `/metrics` read.
#[derive(Debug, Default)]
pub struct Liveness {
    pub scheduler_running: AtomicBool,
    pub store_ok: AtomicBool,
    pub store_error: Mutex<String>,
    /// Unix ms of the last batch written.
    pub last_write: AtomicI64,
    pub observations: AtomicI64,
    pub started: AtomicI64,
    /// Run durations, lateness and last successes for `/metrics`.
    pub runs: RunMetrics,
    /// Web connections open now, refused at the cap, and failed `accept` calls.
    pub connections_open: AtomicI64,
    pub connections_refused: AtomicU64,
    pub accept_errors: AtomicU64,
}

/// What the web server shares with the daemon.
pub struct Shared {
    pub config: watch::Receiver<Arc<Config>>,
    pub live: Arc<Liveness>,
    pub store: Mutex<Store>,
    pub wake_outbox: Arc<Notify>,
}

/// In-memory metrics the recorder thread updates per recorded run.
pub struct RunMetrics {
    pub(crate) duration: HistFamily,
    pub(crate) lateness: Histogram,
    /// Unix ms of each probe's last ok observation (seeded from the store at first scrape).
    pub(crate) last_ok: Mutex<HashMap<String, i64>>,
}

impl Default for RunMetrics {
    fn default() -> Self {
        RunMetrics {
            duration: Family::new_with_constructor(duration_histogram),
            lateness: Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0]),
            last_ok: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for RunMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunMetrics")
    }
}

impl RunMetrics {
    /// Records one finished run (called by the recorder after a batch is written).
    pub fn observe(&self, probe: &str, duration: Duration, late: Duration, ok_at: Option<i64>) {
        self.duration
            .get_or_create(&vec![("probe".to_string(), probe.to_string())])
            .observe(duration.as_secs_f64());
        self.lateness.observe(late.as_secs_f64());
        if let Some(ts) = ok_at
            && let Ok(mut m) = self.last_ok.lock()
        {
            let e = m.entry(probe.to_string()).or_insert(ts);
            *e = (*e).max(ts);
        }
    }
}
