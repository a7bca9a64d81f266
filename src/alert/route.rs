//! Routing: which channels an alert goes to, and the effective thresholds for a probe. Pure
//! functions of config and alert; they never send.

use crate::config::{Config, DEFAULT_FAIL_AFTER, DEFAULT_RESOLVE_AFTER, ProbeConfig, Route};
use crate::probe::Health;

/// The routes that match a probe at a health.
pub fn matching<'c>(
    config: &'c Config,
    probe: &ProbeConfig,
    health: Health,
) -> impl Iterator<Item = &'c Route> {
    let class = config
        .catalog
        .get(probe.primary_lesson().0)
        .map(|l| l.class.clone())
        .unwrap_or_default();
    let tags = probe.tags.clone();
    let lessons = probe.lessons.clone();
    let id = probe.id.clone();
    config.routes.iter().filter(move |r| {
        (r.lessons.is_empty() || r.lessons.iter().any(|l| lessons.contains(l)))
            && (r.classes.is_empty() || r.classes.contains(&class))
            && (r.probes.is_empty() || r.probes.contains(&id))
            && (r.tags.is_empty() || r.tags.iter().any(|t| tags.contains(t)))
            && (health == Health::Ok
                || health.rank() >= r.min_health.rank()
                || health == Health::Unknown)
    })
}

/// Channel ids an alert at `health` for `probe` goes to. With no routes configured, every
/// channel gets every alert (respecting each channel's `min_health`).
pub fn channels_for(
    config: &Config,
    probe: &ProbeConfig,
    health: Health,
    resolved: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if config.routes.is_empty() {
        out.extend(config.channels.iter().map(|c| c.id.clone()));
    } else {
        for r in matching(config, probe, health) {
            if resolved && !r.send_resolved {
                continue;
            }
            for c in &r.to {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
    }
    out.retain(|id| {
        config.channels.iter().any(|c| {
            &c.id == id
                && (resolved || health == Health::Unknown || health.rank() >= c.min_health.rank())
        })
    });
    out
}

/// Thresholds: the probe's own, else the first matching route's, else the defaults.
pub fn thresholds(config: &Config, probe: &ProbeConfig) -> (u32, u32) {
    let first = matching(config, probe, Health::Critical).next();
    let fail = probe
        .fail_after
        .or(first.and_then(|r| r.fail_after))
        .unwrap_or(DEFAULT_FAIL_AFTER);
    let resolve = probe
        .resolve_after
        .or(first.and_then(|r| r.resolve_after))
        .unwrap_or(DEFAULT_RESOLVE_AFTER);
    (fail, resolve)
}

/// The reminder interval for a probe, if any route sets one.
pub fn remind_every(config: &Config, probe: &ProbeConfig) -> Option<std::time::Duration> {
    matching(config, probe, Health::Critical)
        .filter_map(|r| r.remind_every)
        .min()
}
