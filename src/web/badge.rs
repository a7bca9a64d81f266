//! Badges and times as the dashboard shows them: a state or health badge (CSS class, icon and
//! text: icon + text, never colour alone) and a point in time (unix ms, ISO, absolute UTC, age),
//! shared by the pages and the lesson × agent matrix. It must not render HTML or read the store.

use super::view::short_age;
use crate::status::LessonState;
use chrono::{TimeZone, Utc};
use serde::Serialize;

/// A state or health badge: CSS class, icon and text (icon + text, never colour alone).
#[derive(Serialize, Clone, Copy)]
pub struct Badge {
    pub cls: &'static str,
    pub icon: &'static str,
    pub text: &'static str,
}

pub fn state_badge(state: LessonState) -> Badge {
    let (cls, icon) = match state {
        LessonState::Violated => ("st-violated", "✖"),
        LessonState::AtRisk => ("st-at-risk", "▲"),
        LessonState::Unknown => ("st-unknown", "?"),
        LessonState::Holding => ("st-holding", "✔"),
        LessonState::NotGuarded => ("st-not-guarded", "○"),
    };
    Badge {
        cls,
        icon,
        text: state.as_str(),
    }
}

pub fn health_badge(health: Option<&str>) -> Badge {
    let (cls, icon, text) = match health {
        Some("ok") => ("st-holding", "✔", "ok"),
        Some("degraded") => ("st-at-risk", "▲", "degraded"),
        Some("critical") => ("st-violated", "✖", "critical"),
        Some("unknown") => ("st-unknown", "?", "unknown"),
        _ => ("st-unknown", "…", "not run yet"),
    };
    Badge { cls, icon, text }
}

/// A point in time as the page shows it: unix ms (for the script), ISO (for `datetime`), the
/// absolute UTC time (tooltip) and the age relative to the snapshot ("12 s").
#[derive(Serialize, Clone)]
pub struct Time {
    pub ms: i64,
    pub iso: String,
    pub abs: String,
    pub age: String,
}

pub fn time(ms: i64, now: i64) -> Time {
    Time {
        ms,
        iso: iso(ms),
        abs: abs_time(ms),
        age: short_age(now - ms),
    }
}

fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn abs_time(ms: i64) -> String {
    hm(ms, "%Y-%m-%d %H:%M:%S UTC")
}

pub fn hm(ms: i64, fmt: &str) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format(fmt).to_string())
        .unwrap_or_default()
}
