//! Per-probe rollups: what the store keeps of runs once the full observations are pruned. For each
//! probe and each 5-minute and 1-hour period: runs, counts per health, run duration p50/p95/max
//! (from a log-bucket histogram, within 2% of the exact nearest-rank value), the latest start and
//! the min/max of every metric. `Rollups` accumulates in memory and writes rows through a store
//! batch (the recorder owns it); reading and pruning rows is `Store`'s. It must not decide health
//! or read the clock: times come from the observations.

use super::{Batch, Store, StoreError, all_rows};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The two tiers, in seconds.
pub const PERIODS_S: [i64; 2] = [300, 3600];
/// Metrics kept per rollup row (the first ones seen); more are dropped.
pub const MAX_METRICS: usize = 16;
/// How often open periods are written while they fill (observation time).
pub const FLUSH_MS: i64 = 60_000;

const GAMMA: f64 = 1.04;

/// A duration histogram with buckets growing by 4%: the value of a bucket is within 2% of any
/// duration in it. Sparse, sorted by bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    buckets: Vec<(u16, u32)>,
}

impl Sketch {
    fn key(us: u64) -> u16 {
        if us == 0 {
            return 0;
        }
        let i = ((us as f64).ln() / GAMMA.ln()).ceil().max(0.0) as u64;
        (i + 1).min(u16::MAX as u64) as u16
    }

    fn value(key: u16) -> u64 {
        if key == 0 {
            return 0;
        }
        let i = f64::from(key - 1);
        (2.0 * GAMMA.powf(i) / (GAMMA + 1.0)).round() as u64
    }

    pub fn add(&mut self, us: u64) {
        self.add_n(Self::key(us), 1);
    }

    fn add_n(&mut self, key: u16, n: u32) {
        match self.buckets.binary_search_by_key(&key, |b| b.0) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(n),
            Err(i) => self.buckets.insert(i, (key, n)),
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        for &(k, n) in &other.buckets {
            self.add_n(k, n);
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| u64::from(b.1)).sum()
    }

    /// Nearest-rank percentile (`q` in 0..=1) in microseconds; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for &(k, c) in &self.buckets {
            seen += u64::from(c);
            if seen >= rank {
                return Self::value(k);
            }
        }
        self.buckets.last().map_or(0, |b| Self::value(b.0))
    }

    /// Six bytes per bucket: key and count, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buckets.len() * 6);
        for &(k, n) in &self.buckets {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    /// The inverse of `to_bytes`; a malformed tail is ignored.
    pub fn from_bytes(b: &[u8]) -> Sketch {
        let mut s = Sketch::default();
        for c in b.chunks_exact(6) {
            let k = u16::from_le_bytes([c[0], c[1]]);
            let n = u32::from_le_bytes([c[2], c[3], c[4], c[5]]);
            s.add_n(k, n);
        }
        s
    }
}

/// One run as a rollup sees it.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    pub ts: i64,
    pub lesson: u32,
    /// ok | degraded | critical | unknown
    pub health: &'a str,
    pub duration_us: u64,
    pub late_ms: i64,
    pub metrics: &'a [crate::probe::Metric],
}

/// One period of one probe being filled.
#[derive(Clone, Debug)]
struct Acc {
    start: i64,
    lesson: u32,
    runs: i64,
    ok: i64,
    degraded: i64,
    critical: i64,
    unknown: i64,
    sketch: Sketch,
    max_us: i64,
    late_max_ms: i64,
    /// Metric name, min, max; sorted by name (at most `MAX_METRICS`: a sorted vector is a
    /// fifth of a `BTreeMap`'s memory for the few metrics a probe has, times two per probe).
    metrics: Vec<(Box<str>, f64, f64)>,
    /// Percentiles of runs recorded before a restart whose samples are gone (5-minute rows keep
    /// no histogram): used while no new sample is in.
    stored_p: Option<(i64, i64)>,
    dirty: bool,
    written_at: Option<i64>,
}

impl Acc {
    fn empty(start: i64, lesson: u32) -> Acc {
        Acc {
            start,
            lesson,
            runs: 0,
            ok: 0,
            degraded: 0,
            critical: 0,
            unknown: 0,
            sketch: Sketch::default(),
            max_us: 0,
            late_max_ms: 0,
            metrics: Vec::new(),
            stored_p: None,
            dirty: false,
            written_at: None,
        }
    }

    fn from_row(r: &RollupRow, sketch: Option<Sketch>) -> Acc {
        let mut a = Acc::empty(r.start, r.lesson);
        a.runs = r.runs;
        a.ok = r.ok;
        a.degraded = r.degraded;
        a.critical = r.critical;
        a.unknown = r.unknown;
        a.max_us = (r.duration_max_ms * 1000.0).round() as i64;
        a.late_max_ms = r.late_max_ms;
        a.metrics = r
            .metrics
            .iter()
            .map(|(k, m)| (Box::from(k.as_str()), m.min, m.max))
            .collect();
        match sketch {
            Some(s) if s.count() > 0 => a.sketch = s,
            _ => {
                a.stored_p = Some((
                    (r.duration_p50_ms * 1000.0).round() as i64,
                    (r.duration_p95_ms * 1000.0).round() as i64,
                ))
            }
        }
        a
    }

    fn add(&mut self, run: &Run<'_>) {
        self.lesson = run.lesson;
        self.runs += 1;
        match run.health {
            "ok" => self.ok += 1,
            "degraded" => self.degraded += 1,
            "critical" => self.critical += 1,
            _ => self.unknown += 1,
        }
        self.sketch.add(run.duration_us);
        self.max_us = self.max_us.max(run.duration_us.min(i64::MAX as u64) as i64);
        self.late_max_ms = self.late_max_ms.max(run.late_ms);
        for m in run.metrics {
            if !m.value.is_finite() {
                continue;
            }
            match self
                .metrics
                .binary_search_by(|e| (*e.0).cmp(m.name.as_str()))
            {
                Ok(i) => {
                    let e = &mut self.metrics[i];
                    e.1 = e.1.min(m.value);
                    e.2 = e.2.max(m.value);
                }
                Err(i) if self.metrics.len() < MAX_METRICS => {
                    self.metrics
                        .insert(i, (Box::from(m.name.as_str()), m.value, m.value));
                }
                Err(_) => {}
            }
        }
        self.dirty = true;
    }

    fn percentiles(&self) -> (i64, i64) {
        if self.sketch.count() == 0 {
            return self.stored_p.unwrap_or((0, 0));
        }
        (
            self.sketch.quantile(0.5) as i64,
            self.sketch.quantile(0.95) as i64,
        )
    }
}

/// A stored rollup row, as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RollupRow {
    pub probe: String,
    pub period_seconds: i64,
    /// Unix ms, start of the period.
    pub start: i64,
    pub lesson: u32,
    pub runs: i64,
    pub ok: i64,
    /// degraded + critical
    pub failed: i64,
    pub degraded: i64,
    pub critical: i64,
    pub unknown: i64,
    pub duration_p50_ms: f64,
    pub duration_p95_ms: f64,
    pub duration_max_ms: f64,
    pub late_max_ms: i64,
    /// Per metric name: the smallest and largest value in the period.
    pub metrics: BTreeMap<String, MinMax>,
}

#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct MinMax {
    pub min: f64,
    pub max: f64,
}

/// The recorder's rollup accumulators: one per probe and tier for the period being filled.
#[derive(Debug, Default)]
pub struct Rollups {
    open: HashMap<String, [Option<Acc>; 2]>,
    last_flush: i64,
}

fn period_start(ts: i64, period_s: i64) -> i64 {
    ts.div_euclid(period_s * 1000) * period_s * 1000
}

impl Rollups {
    /// Adds one run of `probe`. A period that ends is written out; a period started is seeded
    /// from the store (a restart in the middle of it keeps the counts already written).
    pub fn add(&mut self, b: &Batch<'_>, probe: &str, run: &Run<'_>) -> Result<(), StoreError> {
        if !self.open.contains_key(probe) {
            self.open.insert(probe.to_string(), [None, None]);
        }
        let Some(slots) = self.open.get_mut(probe) else {
            return Ok(());
        };
        for (tier, period_s) in PERIODS_S.iter().enumerate() {
            let start = period_start(run.ts, *period_s);
            let current = slots[tier].as_ref().map(|a| a.start);
            if current != Some(start) {
                // a period that ends is written without its histogram (hour rows had one only
                // to resume after a restart): ~290 bytes less per stored hour row
                if let Some(old) = slots[tier].take()
                    && (old.dirty || *period_s >= 3600)
                {
                    write(b, probe, *period_s, &old, Open::No)?;
                }
                slots[tier] = Some(match b.rollup(probe, *period_s, start)? {
                    Some((row, sketch)) => Acc::from_row(&row, sketch),
                    None => Acc::empty(start, run.lesson),
                });
            }
            if let Some(acc) = slots[tier].as_mut() {
                acc.add(run);
                if acc.written_at.is_none() {
                    // a new period shows up at once; later runs every FLUSH_MS
                    write(b, probe, *period_s, acc, Open::Yes)?;
                    acc.dirty = false;
                    acc.written_at = Some(run.ts);
                }
            }
        }
        Ok(())
    }

    /// Writes every period with unwritten runs when `now_ms` is `FLUSH_MS` past the last flush
    /// (or always with `force`). Returns rows written.
    pub fn flush(&mut self, b: &Batch<'_>, now_ms: i64, force: bool) -> Result<usize, StoreError> {
        if !force && now_ms - self.last_flush < FLUSH_MS {
            return Ok(0);
        }
        self.last_flush = now_ms;
        let mut n = 0;
        for (probe, slots) in &mut self.open {
            for (tier, period_s) in PERIODS_S.iter().enumerate() {
                if let Some(acc) = slots[tier].as_mut().filter(|a| a.dirty) {
                    write(b, probe, *period_s, acc, Open::Yes)?;
                    acc.dirty = false;
                    acc.written_at = Some(now_ms);
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Drops the accumulators of `probes` (after a failed write: they are seeded from the store
    /// again, so memory never counts a run the store does not have).
    pub fn forget<'a>(&mut self, probes: impl IntoIterator<Item = &'a str>) {
        for p in probes {
            self.open.remove(p);
        }
    }

    /// Keeps only the accumulators of `probes` (after a reload removed some).
    pub fn retain(&mut self, keep: &dyn Fn(&str) -> bool) {
        self.open.retain(|p, _| keep(p));
    }
}

/// Whether a written period may still get runs (then an hour row keeps its histogram).
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Yes,
    No,
}

fn write(b: &Batch<'_>, probe: &str, period_s: i64, a: &Acc, open: Open) -> Result<(), StoreError> {
    let (p50, p95) = a.percentiles();
    let metrics = (!a.metrics.is_empty()).then(|| {
        let m: BTreeMap<&str, [f64; 2]> = a
            .metrics
            .iter()
            .map(|(k, lo, hi)| (&**k, [*lo, *hi]))
            .collect();
        serde_json::to_string(&m).unwrap_or_default()
    });
    // only open hour rows keep their histogram, to resume after a restart: 5-minute rows are
    // many and short-lived, and a closed period's percentiles are in p50_us/p95_us
    let sketch = (period_s >= 3600 && open == Open::Yes).then(|| a.sketch.to_bytes());
    let mut st = b.tx.prepare_cached(
        "INSERT OR REPLACE INTO rollups (probe, period_s, start, lesson, runs, ok, degraded, critical, unknown, p50_us, p95_us, max_us, late_max_ms, metrics, sketch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    st.execute(rusqlite::params![
        probe,
        period_s,
        a.start,
        a.lesson,
        a.runs,
        a.ok,
        a.degraded,
        a.critical,
        a.unknown,
        p50,
        p95,
        a.max_us,
        a.late_max_ms,
        metrics,
        sketch
    ])?;
    Ok(())
}

const COLUMNS: &str = "probe, period_s, start, lesson, runs, ok, degraded, critical, unknown, p50_us, p95_us, max_us, late_max_ms, metrics";

fn rollup_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RollupRow> {
    let us = |i: usize| -> rusqlite::Result<f64> { Ok(r.get::<_, i64>(i)? as f64 / 1000.0) };
    let metrics: Option<String> = r.get(13)?;
    let metrics: BTreeMap<String, [f64; 2]> = metrics
        .and_then(|m| serde_json::from_str(&m).ok())
        .unwrap_or_default();
    let (degraded, critical): (i64, i64) = (r.get(6)?, r.get(7)?);
    Ok(RollupRow {
        probe: r.get(0)?,
        period_seconds: r.get(1)?,
        start: r.get(2)?,
        lesson: r.get(3)?,
        runs: r.get(4)?,
        ok: r.get(5)?,
        failed: degraded + critical,
        degraded,
        critical,
        unknown: r.get(8)?,
        duration_p50_ms: us(9)?,
        duration_p95_ms: us(10)?,
        duration_max_ms: us(11)?,
        late_max_ms: r.get(12)?,
        metrics: metrics
            .into_iter()
            .map(|(k, [min, max])| (k, MinMax { min, max }))
            .collect(),
    })
}

impl Batch<'_> {
    /// One stored rollup row and its histogram (hour rows), if any.
    pub fn rollup(
        &self,
        probe: &str,
        period_s: i64,
        start: i64,
    ) -> Result<Option<(RollupRow, Option<Sketch>)>, StoreError> {
        let mut st = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS}, sketch FROM rollups WHERE probe = ?1 AND period_s = ?2 AND start = ?3"
        ))?;
        let mut rows = st.query_map(rusqlite::params![probe, period_s, start], |r| {
            let sketch: Option<Vec<u8>> = r.get(14)?;
            Ok((rollup_row(r)?, sketch.map(|s| Sketch::from_bytes(&s))))
        })?;
        Ok(rows.next().transpose()?)
    }
}

impl Store {
    /// Rollup rows of one tier, newest first, for any of `probes` (all when None), with
    /// `start >= since_ms` and `start < until_ms`.
    pub fn rollups(
        &self,
        probes: Option<&[String]>,
        period_s: i64,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        limit: u32,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let list = probes.map(|p| serde_json::Value::from(p.to_vec()).to_string());
        all_rows(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM rollups
             WHERE (?1 IS NULL OR probe IN (SELECT value FROM json_each(?1))) AND period_s = ?2
               AND (?3 IS NULL OR start >= ?3) AND (?4 IS NULL OR start < ?4)
             ORDER BY start DESC, probe LIMIT ?5"
            ),
            rusqlite::params![list, period_s, since_ms, until_ms, limit],
            rollup_row,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_percentiles_are_within_two_percent_of_nearest_rank() {
        let mut s = Sketch::default();
        // 1..=100 ms: nearest-rank p50 = 50 ms, p95 = 95 ms
        for ms in 1..=100u64 {
            s.add(ms * 1000);
        }
        assert_eq!(s.count(), 100);
        for (q, exact) in [(0.5, 50_000.0), (0.95, 95_000.0), (1.0, 100_000.0)] {
            let got = s.quantile(q) as f64;
            assert!(
                (got - exact).abs() / exact <= 0.02,
                "q{q}: {got} vs {exact}"
            );
        }
        let back = Sketch::from_bytes(&s.to_bytes());
        assert_eq!(back, s);
        let mut m = Sketch::default();
        m.add(0);
        m.merge(&s);
        assert_eq!(m.count(), 101);
        assert_eq!(m.quantile(0.0), 0);
        assert_eq!(Sketch::default().quantile(0.5), 0);
    }

    #[test]
    fn period_starts_align() {
        assert_eq!(period_start(299_999, 300), 0);
        assert_eq!(period_start(300_000, 300), 300_000);
        assert_eq!(period_start(7_199_999, 3600), 3_600_000);
        assert_eq!(period_start(-1, 300), -300_000);
    }
}
