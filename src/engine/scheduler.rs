//! When probes run and how: fixed intervals (with a stable spread of first runs) or cron
//! schedules in a time zone; due probes are coalesced per tick (one wakeup serves many probes);
//! a global concurrency limit; never two runs of one probe at once; a per-run timeout; a probe
//! that hangs or panics is recorded as `unknown`. It must not write the store or decide alerts:
//! each finished run goes to the recorder over a channel (the recorder collects them for `FLUSH`
//! and writes one store transaction per burst; the scheduler never wakes up only to hand runs
//! over).

use crate::config::{Config, Schedule};
use crate::probe::{Health, Observation, ProbeCx};
use futures::FutureExt;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Interval (`every`) probes due within this window of the earliest due one run in the same
/// wakeup: more probes per wakeup, and their answers arrive together (on this class of machine a
/// wakeup costs more than a probe's HTTP exchange; numbers in benches/README.md). A run may start
/// up to this early; the schedule does not drift (`next_due` counts from the due time, not the
/// start).
pub const TICK: Duration = Duration::from_secs(1);

/// The same window for cron probes, which are run at most this early (a job checked at 03:00
/// should not be looked at long before 03:00).
pub const CRON_TICK: Duration = Duration::from_millis(50);

/// The recorder collects finished runs for this long after the first one of a burst and writes
/// them in one transaction (a commit and a thread wakeup cost more than a row).
pub const FLUSH: Duration = Duration::from_secs(1);

/// Facts handed back to probes as `ProbeCx::prior`, by probe id.
pub type Priors = Arc<Mutex<HashMap<String, serde_json::Value>>>;

/// One finished run, on its way to the recorder.
#[derive(Debug)]
pub struct Recorded {
    pub probe: String,
    pub obs: Observation,
    pub started: chrono::DateTime<chrono::Utc>,
    pub duration: Duration,
    /// How late the run started against its schedule (after waiting for a concurrency permit).
    pub late: Duration,
}

/// Runs probe `idx` once: timeout, panic capture, severity cap. Never fails.
pub async fn observe_once(
    config: &Config,
    idx: usize,
    http: &reqwest::Client,
    prior: Option<&serde_json::Value>,
) -> Observation {
    let Some(p) = config.probes.get(idx) else {
        return Observation::unknown("probe not configured");
    };
    let cx = ProbeCx {
        probe_id: &p.id,
        http,
        timeout: p.timeout,
        prior,
        base_dir: &p.base_dir,
        root: config.daemon.root.as_deref(),
        agent: p.agent.as_deref(),
        now: chrono::Utc::now(),
    };
    // Boxed: the future of `AnyProbe::observe` is as large as the largest kind's (~18 KB); inline,
    // it was copied by every wrapper below and by `spawn`, and made every task a large allocation.
    let mut obs = guarded(Box::pin(p.probe.observe(&cx)), p.timeout, &p.id).await;
    if obs.health.rank() > p.max_health.rank() && obs.health != Health::Unknown {
        obs.push_evidence(
            "severity",
            format!("capped from {} by severity = \"warn\"", obs.health),
        );
        obs.health = p.max_health;
    }
    // out of file descriptors is ledgerd's own fault, not the lesson's: unknown, and reported
    // as the daemon's fault (/healthz, /metrics), never critical
    if obs.health != Health::Ok && mentions_fd_exhaustion(&obs) {
        crate::platform::note_fd_exhausted();
        obs = Observation::unknown(
            "ledgerd could not look: it is out of file descriptors (its own fault, not a finding)",
        )
        .evidence("error", &obs.summary);
    }
    // the one place every observation passes: no registered secret leaves it
    obs.scrubbed()
}

/// Whether an observation failed because this process ran out of file descriptors (EMFILE).
fn mentions_fd_exhaustion(obs: &Observation) -> bool {
    let hit = |s: &str| s.contains("Too many open files") || s.contains("os error 24");
    hit(&obs.summary) || obs.evidence.iter().any(|e| hit(&e.value))
}

/// Awaits a probe's observation with a deadline (its timeout plus a grace period) and catches
/// a panic: a probe that hangs or panics is recorded as `unknown`, never takes the daemon down.
pub async fn guarded(
    fut: impl std::future::Future<Output = Observation>,
    timeout: Duration,
    probe: &str,
) -> Observation {
    let fut = AssertUnwindSafe(fut).catch_unwind();
    match tokio::time::timeout(timeout.saturating_add(Duration::from_millis(250)), fut).await {
        Err(_) => Observation::unknown(format!(
            "probe did not finish within its timeout of {}",
            humantime::format_duration(timeout)
        )),
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(probe = %probe, panic = %msg, "probe panicked; recorded as unknown");
            Observation::unknown(format!("probe panicked: {msg}"))
        }
        Ok(Ok(o)) => o,
    }
}

/// Stable offset of a probe's first run: a hash of its id spread over min(interval, 30 s),
/// unless `jitter` is set (then random within it).
fn first_offset(id: &str, interval: Duration, jitter: Option<Duration>) -> Duration {
    if let Some(j) = jitter {
        let ms = u64::try_from(j.as_millis()).unwrap_or(u64::MAX).max(1);
        return Duration::from_millis(rand::random::<u64>() % ms);
    }
    let span = interval.min(Duration::from_secs(30)).as_millis().max(1) as u64;
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    Duration::from_millis(h % span)
}

/// The next run time strictly after `after`.
fn next_due(schedule: &Schedule, prev_due: Instant, now: Instant) -> Instant {
    match schedule {
        Schedule::Every(d) => {
            // checked arithmetic: config bounds intervals, but a schedule must never panic
            let Some(next) = prev_due.checked_add(*d).filter(|n| *n > now) else {
                // missed slots are skipped, not replayed: the next slot on the grid after `now`
                let since = now.saturating_duration_since(prev_due).as_millis();
                let step = d.as_millis().max(1);
                let slots = u32::try_from(since / step + 1).unwrap_or(u32::MAX);
                return d
                    .checked_mul(slots)
                    .and_then(|ahead| prev_due.checked_add(ahead))
                    .filter(|n| *n > now)
                    .unwrap_or_else(|| later(now, *d));
            };
            next
        }
        Schedule::Cron { cron, tz, .. } => cron_next(cron, tz, now),
    }
}

/// `t + d`, or a day after `t` when that is not representable.
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(t)
}

fn cron_next(cron: &croner::Cron, tz: &chrono_tz::Tz, now: Instant) -> Instant {
    let wall = chrono::Utc::now().with_timezone(tz);
    match cron.find_next_occurrence(&wall, false) {
        Ok(next) => {
            let ahead = (next.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            later(now, ahead)
        }
        Err(_) => later(now, Duration::from_secs(3600)),
    }
}

/// Runs the schedule until `cancel`; then lets in-flight runs finish within `drain` and returns.
pub async fn run(
    config: Arc<Config>,
    http: reqwest::Client,
    priors: Priors,
    tx: mpsc::Sender<Recorded>,
    cancel: CancellationToken,
    drain: Duration,
) {
    let n = config.probes.len();
    let start = Instant::now();
    let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::with_capacity(n);
    for (i, p) in config.probes.iter().enumerate() {
        let due = match &p.schedule {
            Schedule::Every(d) => later(start, first_offset(&p.id, *d, p.jitter)),
            Schedule::Cron { cron, tz, .. } => cron_next(cron, tz, start),
        };
        heap.push(Reverse((due, i)));
    }
    let cx = Arc::new(RunCx {
        // config bounds concurrency far below Semaphore::MAX_PERMITS; clamp so it cannot panic
        permits: Semaphore::new(config.daemon.concurrency.clamp(1, Semaphore::MAX_PERMITS)),
        running: (0..n).map(|_| Default::default()).collect(),
        config,
        http,
        priors,
        tx,
    });
    let config = &cx.config;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // finished runs have sent their results already; only their task slots are reaped here
        while tasks.try_join_next().is_some() {}
        let Some(wake) = heap.peek().map(|Reverse((due, _))| *due) else {
            cancel.cancelled().await;
            break;
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(wake) => {}
        }
        let now = Instant::now();
        let mut not_yet = Vec::new();
        while let Some(Reverse((due, i))) = heap.peek().copied() {
            if due > now + TICK {
                break;
            }
            heap.pop();
            let p = &config.probes[i];
            if due > now + CRON_TICK && !matches!(p.schedule, Schedule::Every(_)) {
                not_yet.push(Reverse((due, i)));
                continue;
            }
            heap.push(Reverse((next_due(&p.schedule, due, now), i)));
            if cx.running[i].swap(true, std::sync::atomic::Ordering::AcqRel) {
                tracing::info!(probe = %p.id, "previous run still in progress; skipping this slot");
                continue;
            }
            tasks.spawn(cx.clone().run_one(i, due));
        }
        heap.extend(not_yet);
    }
    let deadline = tokio::time::sleep(drain);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                tracing::warn!(in_flight = tasks.len(), "drain deadline passed; abandoning in-flight probes");
                tasks.abort_all();
                break;
            }
        }
    }
}

/// What every run of one schedule shares (one `Arc` clone per run).
struct RunCx {
    config: Arc<Config>,
    http: reqwest::Client,
    priors: Priors,
    permits: Semaphore,
    /// Per probe: a run is in progress.
    running: Vec<std::sync::atomic::AtomicBool>,
    /// To the recorder, which batches what arrives within `FLUSH`.
    tx: mpsc::Sender<Recorded>,
}

impl RunCx {
    async fn run_one(self: Arc<Self>, i: usize, due: Instant) {
        let _permit = self.permits.acquire().await;
        let started = chrono::Utc::now();
        let t0 = Instant::now();
        // lateness counts from the schedule to the real start, waiting for a permit included
        let late = t0.saturating_duration_since(due);
        let id = &self.config.probes[i].id;
        let prior = self
            .priors
            .lock()
            .ok()
            .and_then(|m| m.get(id.as_str()).cloned());
        let obs = observe_once(&self.config, i, &self.http, prior.as_ref()).await;
        if let Some(f) = &obs.facts
            && let Ok(mut m) = self.priors.lock()
        {
            m.insert(id.clone(), f.clone());
        }
        self.running[i].store(false, std::sync::atomic::Ordering::Release);
        let r = Recorded {
            probe: id.clone(),
            obs,
            started,
            duration: t0.elapsed(),
            late,
        };
        // the recorder is gone only at shutdown, after the scheduler
        let _ = self.tx.send(r).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_or_hanging_probe_is_unknown() {
        let o = guarded(
            async { panic!("index out of bounds") },
            Duration::from_secs(1),
            "p",
        )
        .await;
        assert_eq!(o.health, Health::Unknown);
        assert_eq!(o.summary, "probe panicked: index out of bounds");
        let o = guarded(std::future::pending(), Duration::from_millis(50), "p").await;
        assert_eq!(o.health, Health::Unknown);
        assert!(
            o.summary
                .starts_with("probe did not finish within its timeout of 50ms"),
            "{}",
            o.summary
        );
        let o = guarded(
            async { Observation::critical("down") },
            Duration::from_secs(1),
            "p",
        )
        .await;
        assert_eq!(o.health, Health::Critical);
    }

    #[test]
    fn huge_intervals_never_overflow_the_schedule() {
        // issue 10 row 9: `every = "18446744073709551615s"` overflowed `Instant + Duration`
        let t0 = Instant::now();
        let huge = Schedule::Every(Duration::from_secs(u64::MAX));
        assert!(next_due(&huge, t0, t0) > t0);
        assert!(next_due(&huge, t0, t0 + Duration::from_secs(5)) > t0);
        let tiny = Schedule::Every(Duration::from_nanos(1));
        let late = t0 + Duration::from_secs(1_000_000);
        assert!(next_due(&tiny, t0, late) > late);
        assert!(
            first_offset("x", Duration::from_secs(u64::MAX), Some(Duration::MAX)) < Duration::MAX
        );
    }

    #[test]
    fn every_skips_missed_slots_and_offsets_are_stable() {
        let t0 = Instant::now();
        let s = Schedule::Every(Duration::from_secs(10));
        assert_eq!(next_due(&s, t0, t0), t0 + Duration::from_secs(10));
        let late = t0 + Duration::from_secs(35);
        assert_eq!(next_due(&s, t0, late), t0 + Duration::from_secs(40));
        let a = first_offset("hub", Duration::from_secs(10), None);
        assert_eq!(a, first_offset("hub", Duration::from_secs(10), None));
        assert!(a < Duration::from_secs(10));
        assert!(first_offset("x", Duration::from_secs(3600), None) < Duration::from_secs(30));
    }
}
