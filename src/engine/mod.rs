//! The engine: `scheduler` decides when each probe runs and runs it safely (timeout, panic,
//! concurrency); `state` is the pure state machine; `recorder` applies observations to state and
//! writes them, with transitions and queued alerts, to the store in batches. `thresholds` picks a
//! probe's effective thresholds (its own, its first matching route's, the defaults).

pub mod recorder;
pub mod scheduler;
pub mod state;

use crate::config::{Config, DEFAULT_FAIL_AFTER, DEFAULT_RESOLVE_AFTER, ProbeConfig, Route};
use crate::delivery::route;
use crate::probe::Health;
use state::{DEFAULT_FLAP_FAILURES, DEFAULT_FLAP_WINDOW, Thresholds};

/// Thresholds: the probe's own, else the first matching route's, else the defaults.
pub fn thresholds(config: &Config, probe: &ProbeConfig) -> Thresholds {
    let routes = route::matching(config, probe, Health::Critical);
    let first = routes.first();
    // the probe's own value, else the first route's, else the default
    let pick = |own: Option<u32>, of_route: fn(&Route) -> Option<u32>, default: u32| {
        own.or(first.and_then(|r| of_route(r))).unwrap_or(default)
    };
    Thresholds {
        fail_after: pick(probe.fail_after, |r| r.fail_after, DEFAULT_FAIL_AFTER),
        resolve_after: pick(
            probe.resolve_after,
            |r| r.resolve_after,
            DEFAULT_RESOLVE_AFTER,
        ),
        remind_every: routes.iter().filter_map(|r| r.remind_every).min(),
        flap_failures: pick(
            probe.flap_failures,
            |r| r.flap_failures,
            DEFAULT_FLAP_FAILURES,
        ),
        flap_window: pick(probe.flap_window, |r| r.flap_window, DEFAULT_FLAP_WINDOW),
    }
}
