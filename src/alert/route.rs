//! Routing: which channels an alert goes to, and the effective thresholds for a probe. Pure
//! functions of config and alert; they never send.

use crate::config::{Config, DEFAULT_FAIL_AFTER, DEFAULT_RESOLVE_AFTER, ProbeConfig, Route};
use crate::engine::state::{DEFAULT_FLAP_FAILURES, DEFAULT_FLAP_WINDOW, Thresholds};
use crate::probe::Health;

/// Unknown ("could not look") routes like degraded: worth a warning, not a page.
fn routing_rank(h: Health) -> u8 {
    match h {
        Health::Unknown => Health::Degraded.rank(),
        h => h.rank(),
    }
}

/// Whether a route's matchers (lessons, classes, probes, tags, agents) select a probe; health
/// aside. A route with `agents` never selects a host-wide probe.
fn selects(config: &Config, r: &Route, probe: &ProbeConfig) -> bool {
    let class = config
        .catalog
        .get(probe.primary_lesson().0)
        .map(|l| l.class.as_str())
        .unwrap_or("");
    (r.lessons.is_empty() || r.lessons.iter().any(|l| probe.lessons.contains(l)))
        && (r.classes.is_empty() || r.classes.iter().any(|c| c == class))
        && (r.probes.is_empty() || r.probes.contains(&probe.id))
        && (r.tags.is_empty() || r.tags.iter().any(|t| probe.tags.contains(t)))
        && (r.agents.is_empty() || probe.agent.as_ref().is_some_and(|a| r.agents.contains(a)))
}

/// The routes that take an alert of `probe` at `health`: the matching non-default routes, or
/// when none matches, the default routes.
pub fn matching<'c>(config: &'c Config, probe: &ProbeConfig, health: Health) -> Vec<&'c Route> {
    let rank = routing_rank(health);
    let fits = |r: &&Route| {
        selects(config, r, probe) && rank >= r.min_health.rank() && rank <= r.max_health.rank()
    };
    let specific: Vec<&Route> = config
        .routes
        .iter()
        .filter(|r| !r.default)
        .filter(fits)
        .collect();
    if !specific.is_empty() {
        return specific;
    }
    config
        .routes
        .iter()
        .filter(|r| r.default)
        .filter(fits)
        .collect()
}

/// Channel ids a firing, escalation or reminder at `health` goes to. With no routes configured,
/// every channel gets every alert. Each channel's own `min_health` applies last.
pub fn channels_for(config: &Config, probe: &ProbeConfig, health: Health) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if config.routes.is_empty() {
        out.extend(config.channels.iter().map(|c| c.id.clone()));
    } else {
        for r in matching(config, probe, health) {
            for c in &r.to {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
    }
    let rank = routing_rank(health);
    out.retain(|id| {
        config
            .channels
            .iter()
            .any(|c| &c.id == id && rank >= c.min_health.rank())
    });
    out
}

/// Of the channels that were told about an incident, those that want to hear it resolved:
/// a channel is dropped when every route that sends `probe` to it says `send_resolved = false`.
pub fn resolved_channels(config: &Config, probe: &ProbeConfig, notified: &[String]) -> Vec<String> {
    notified
        .iter()
        .filter(|ch| config.channels.iter().any(|c| &c.id == *ch))
        .filter(|ch| {
            let routes: Vec<&Route> = config
                .routes
                .iter()
                .filter(|r| r.to.contains(ch) && selects(config, r, probe))
                .collect();
            routes.is_empty() || routes.iter().any(|r| r.send_resolved)
        })
        .cloned()
        .collect()
}

/// Thresholds: the probe's own, else the first matching route's, else the defaults.
pub fn thresholds(config: &Config, probe: &ProbeConfig) -> Thresholds {
    let routes = matching(config, probe, Health::Critical);
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
