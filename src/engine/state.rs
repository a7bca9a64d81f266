//! The per-probe state machine: old state + observed health + thresholds + now → new state and
//! maybe a transition (fired, escalated, reminder, resolved). Pure: no I/O, never reads the
//! clock (`now` is a parameter). Table-tested below.

use crate::probe::Health;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Holding: the last observations were ok (or there were none yet).
    #[default]
    Ok,
    /// Failing, but fewer than `fail_after` times in a row: not alerted yet.
    Pending,
    /// Alerted and not yet resolved.
    Firing,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct ProbeState {
    pub status: Status,
    /// Health of the last observation (after the probe's severity cap); None before the first.
    pub health: Option<Health>,
    /// Consecutive non-ok observations.
    pub fails: u32,
    /// Consecutive ok observations.
    pub oks: u32,
    /// Start of the current failing streak.
    pub since: Option<DateTime<Utc>>,
    /// Worst health alerted for the open incident.
    pub firing_health: Option<Health>,
    /// Incident id of the open incident (set by the store when the firing transition is saved).
    pub incident: Option<i64>,
    /// Last time a notification went out for the open incident (for reminders).
    pub notified_at: Option<DateTime<Utc>>,
    pub last_run: Option<DateTime<Utc>>,
    /// The last runs, newest in bit 0; a set bit is a failure.
    #[serde(default)]
    pub history: u64,
    /// Runs recorded in `history` (at most 64).
    #[serde(default)]
    pub runs: u32,
    /// The open incident was opened for flapping (and stays open until the window calms).
    #[serde(default)]
    pub flapping: bool,
    /// Someone was told about the open incident (false while it is silenced, shadowed or
    /// suppressed by a parent; set by the recorder).
    #[serde(default)]
    pub notified: bool,
}

impl ProbeState {
    /// Failures and health flips among the last `window` runs.
    pub fn recent(&self, window: u32) -> (u32, u32) {
        let w = window.clamp(1, 63).min(self.runs.max(1));
        let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        let failures = (self.history & mask).count_ones();
        let flips = ((self.history ^ (self.history >> 1)) & (mask >> 1)).count_ones();
        (failures, flips)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub fail_after: u32,
    pub resolve_after: u32,
    pub remind_every: Option<Duration>,
    /// Monit's rule: `flap_failures` failures within the last `flap_window` runs, with the
    /// health flipping back and forth, mark the probe flapping (0 disables).
    pub flap_failures: u32,
    pub flap_window: u32,
}

/// Defaults: 4 failures within 10 runs is flapping.
pub const DEFAULT_FLAP_FAILURES: u32 = 4;
pub const DEFAULT_FLAP_WINDOW: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// Failed `fail_after` times in a row: open an incident and alert.
    Fired,
    /// Never failed `fail_after` times in a row, but keeps flipping: one incident, one alert,
    /// held open until the window calms (the alternative is silence or a storm).
    Flapping,
    /// Still firing, and worse than what was alerted (degraded → critical): alert again.
    Escalated,
    /// Still firing after `remind_every` since the last notification.
    Reminder,
    /// Ok `resolve_after` times in a row after firing: close the incident.
    Resolved,
    /// Not from `step`: the recorder's note that an incident nobody was told about (silenced,
    /// shadowed, suppressed) is no longer muted, so it is announced now.
    Unmuted,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Fired => "fired",
            Transition::Flapping => "flapping",
            Transition::Escalated => "escalated",
            Transition::Reminder => "reminder",
            Transition::Resolved => "resolved",
            Transition::Unmuted => "unmuted",
        }
    }
}

/// One step of the state machine. `Unknown` counts as a failure: a probe that cannot look is
/// not evidence that the lesson holds ("no report is red").
pub fn step(
    old: &ProbeState,
    health: Health,
    th: &Thresholds,
    now: DateTime<Utc>,
) -> (ProbeState, Option<Transition>) {
    let mut s = old.clone();
    s.health = Some(health);
    s.last_run = Some(now);
    s.history = (s.history << 1) | u64::from(!health.is_ok());
    s.runs = (s.runs + 1).min(64);
    let fail_after = th.fail_after.max(1);
    let resolve_after = th.resolve_after.max(1);
    let (failures, flips) = s.recent(th.flap_window);
    let flapping_now = th.flap_failures > 0 && failures >= th.flap_failures && flips >= 2;
    if health.is_ok() {
        s.oks = s.oks.saturating_add(1);
        s.fails = 0;
        match s.status {
            // a flapping incident stays open until the whole window is clean (hysteresis: no
            // open-close-open cycles while it keeps flipping)
            Status::Firing if s.oks >= resolve_after && !(s.flapping && failures > 0) => {
                s.status = Status::Ok;
                s.firing_health = None;
                s.since = None;
                s.flapping = false;
                s.notified_at = Some(now);
                return (s, Some(Transition::Resolved));
            }
            Status::Firing => {}
            Status::Pending | Status::Ok => {
                s.status = Status::Ok;
                if !flapping_now {
                    s.since = None;
                }
            }
        }
        return (s, None);
    }
    s.fails = s.fails.saturating_add(1);
    s.oks = 0;
    if s.since.is_none() {
        s.since = Some(now);
    }
    match s.status {
        Status::Firing => {
            let alerted = s.firing_health.unwrap_or(health);
            if health.rank() > alerted.rank() {
                s.firing_health = Some(health);
                s.notified_at = Some(now);
                return (s, Some(Transition::Escalated));
            }
            if let (Some(every), Some(last)) = (th.remind_every, s.notified_at)
                && now
                    .signed_duration_since(last)
                    .to_std()
                    .is_ok_and(|d| d >= every)
            {
                s.notified_at = Some(now);
                return (s, Some(Transition::Reminder));
            }
            (s, None)
        }
        Status::Ok | Status::Pending => {
            if s.fails >= fail_after || flapping_now {
                s.status = Status::Firing;
                s.firing_health = Some(health);
                s.notified_at = Some(now);
                s.flapping = s.fails < fail_after;
                let t = if s.flapping {
                    Transition::Flapping
                } else {
                    Transition::Fired
                };
                (s, Some(t))
            } else {
                s.status = Status::Pending;
                (s, None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Health::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// Runs a sequence of (health, seconds) and returns the transitions.
    fn run(th: Thresholds, seq: &[(Health, i64)]) -> (ProbeState, Vec<Option<Transition>>) {
        let mut s = ProbeState::default();
        let mut out = Vec::new();
        for (h, at) in seq {
            let (n, tr) = step(&s, *h, &th, t(*at));
            s = n;
            out.push(tr);
        }
        (s, out)
    }

    const TH: Thresholds = Thresholds {
        fail_after: 2,
        resolve_after: 2,
        remind_every: None,
        flap_failures: 0,
        flap_window: 10,
    };
    const FLAP: Thresholds = Thresholds {
        flap_failures: 3,
        flap_window: 6,
        ..TH
    };

    /// One health a letter (`O`k, `D`egraded, `C`ritical, `U`nknown), 10 s apart.
    fn healths(letters: &str) -> Vec<(Health, i64)> {
        let health = |c| match c {
            'O' => Ok,
            'D' => Degraded,
            'C' => Critical,
            'U' => Unknown,
            other => panic!("no health is written {other:?}"),
        };
        letters
            .chars()
            .zip((0..).step_by(10))
            .map(|(c, at)| (health(c), at))
            .collect()
    }

    /// One step's transition a letter: `.` none, `F`ired, `L` flapping, `E`scalated,
    /// `M` reminder, `R`esolved.
    fn transitions(letters: &str) -> Vec<Option<Transition>> {
        use Transition::*;
        let transition = |c| match c {
            'F' => Some(Fired),
            'L' => Some(Flapping),
            'E' => Some(Escalated),
            'M' => Some(Reminder),
            'R' => Some(Resolved),
            '.' => None,
            other => panic!("no transition is written {other:?}"),
        };
        letters.chars().map(transition).collect()
    }

    #[test]
    fn table() {
        let remind = Thresholds {
            remind_every: Some(Duration::from_secs(3600)),
            ..TH
        };
        let once = Thresholds {
            fail_after: 1,
            resolve_after: 1,
            ..TH
        };
        // a reminder once remind_every has passed since the alert (at 10 s)
        let hourly: Vec<(Health, i64)> = [0, 10, 1800, 3610, 3700].map(|at| (Critical, at)).into();
        // (what, thresholds, healths, transitions, status at the end)
        let cases = [
            (
                "alternating failures below fail_after stay silent without flap detection",
                TH,
                healths("COCOCOCO"),
                "........",
                Status::Ok,
            ),
            (
                "alternating failures are flapping: one alert, held open",
                FLAP,
                healths("COCOCOCOCO"),
                "....L.....",
                Status::Firing,
            ),
            (
                "a flapping incident resolves once the window calms",
                FLAP,
                healths("COCOCOOOOOOO"),
                "....L.....R.",
                Status::Ok,
            ),
            (
                "a solid failure is not flapping",
                FLAP,
                healths("CCCCOO"),
                ".F...R",
                Status::Ok,
            ),
            ("all ok stays quiet", TH, healths("OO"), "..", Status::Ok),
            (
                "one failure is pending",
                TH,
                healths("C"),
                ".",
                Status::Pending,
            ),
            ("two failures fire", TH, healths("CC"), ".F", Status::Firing),
            (
                "flap under threshold never fires",
                TH,
                healths("COCO"),
                "....",
                Status::Ok,
            ),
            (
                "unknown counts as failure",
                TH,
                healths("UU"),
                ".F",
                Status::Firing,
            ),
            (
                "firing stays firing without repeat",
                TH,
                healths("CCCC"),
                ".F..",
                Status::Firing,
            ),
            (
                "resolve needs two oks",
                TH,
                healths("CCOO"),
                ".F.R",
                Status::Ok,
            ),
            (
                "a failure resets the recovery",
                TH,
                healths("CCOCOO"),
                ".F...R",
                Status::Ok,
            ),
            (
                "degraded then critical escalates",
                TH,
                healths("DDCD"),
                ".FE.",
                Status::Firing,
            ),
            (
                "reminder after remind_every",
                remind,
                hourly,
                ".F.M.",
                Status::Firing,
            ),
            (
                "fail_after 1 fires at once",
                once,
                healths("DO"),
                "FR",
                Status::Ok,
            ),
        ];
        for (name, th, seq, want, status) in cases {
            let (s, got) = run(th, &seq);
            assert_eq!(got, transitions(want), "{name}");
            assert_eq!(s.status, status, "{name}");
        }
    }

    #[test]
    fn since_marks_the_start_of_the_streak() {
        let (s, _) = run(TH, &[(Ok, 0), (Critical, 10), (Critical, 20)]);
        assert_eq!(s.since, Some(t(10)));
        let (s, _) = run(TH, &[(Critical, 10), (Critical, 20), (Ok, 30), (Ok, 40)]);
        assert_eq!(s.status, Status::Ok);
        let (s2, _) = step(&s, Critical, &TH, t(50));
        assert_eq!(s2.since, Some(t(50)), "a new streak starts after a resolve");
    }
}
