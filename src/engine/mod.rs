//! The engine: `scheduler` decides when each probe runs and runs it safely (timeout, panic,
//! concurrency); `state` is the pure state machine; `recorder` applies observations to state and
//! writes them, with transitions and queued alerts, to the store in batches. `thresholds` picks a
//! probe's effective thresholds (its own, its first matching route's, the defaults).

pub mod recorder;
pub mod scheduler;
pub mod state;

use crate::config::{Config, DEFAULT_FAIL_AFTER, DEFAULT_RESOLVE_AFTER, ProbeConfig};
use crate::delivery::route;
use crate::probe::Health;
use state::{DEFAULT_FLAP_FAILURES, DEFAULT_FLAP_WINDOW, Thresholds};

/// Thresholds: the probe's own, else the first matching route's, else the defaults.
pub fn thresholds(config: &Config, probe: &ProbeConfig) -> Thresholds {
    let routes = route::matching(config, probe, Health::Critical);
    let first = routes.first();
    Thresholds {
        fail_after: probe
            .fail_after
            .or(first.and_then(|r| r.fail_after))
            .unwrap_or(DEFAULT_FAIL_AFTER),
        resolve_after: probe
            .resolve_after
            .or(first.and_then(|r| r.resolve_after))
            .unwrap_or(DEFAULT_RESOLVE_AFTER),
        remind_every: routes.iter().filter_map(|r| r.remind_every).min(),
        flap_failures: probe
            .flap_failures
            .or(first.and_then(|r| r.flap_failures))
            .unwrap_or(DEFAULT_FLAP_FAILURES),
        flap_window: probe
            .flap_window
            .or(first.and_then(|r| r.flap_window))
            .unwrap_or(DEFAULT_FLAP_WINDOW),
    }
}
