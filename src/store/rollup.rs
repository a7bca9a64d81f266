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
    /// Boxed: an `Acc` pair is ~300 bytes, and a map grows to twice its entries in slots (and
    /// three times while it rehashes), so inline pairs cost ~1 MB at 1,000 probes, boxed ~0.35.
    open: HashMap<Box<str>, Box<[Option<Acc>; 2]>>,
    last_flush: i64,
    names: Names,
}

/// The recorder's copy of `metric_names` (one row per distinct metric name ever recorded, which
/// the configured probes bound). Cleared with `forget`: a failed batch rolls back the names it
/// added, so an id is only trusted once it is in a committed table or this batch.
#[derive(Debug, Default)]
struct Names {
    by_name: HashMap<Box<str>, i64>,
    by_id: HashMap<i64, Box<str>>,
    loaded: bool,
}

impl Names {
    fn load(&mut self, tx: &rusqlite::Connection) -> Result<(), StoreError> {
        self.by_id = names_table(tx)?;
        self.by_name = self.by_id.iter().map(|(i, n)| (n.clone(), *i)).collect();
        self.loaded = true;
        Ok(())
    }

    /// The id of `name`, added to the table when new.
    fn id(&mut self, b: &Batch<'_>, name: &str) -> Result<i64, StoreError> {
        if !self.loaded {
            self.load(&b.tx)?;
        }
        if let Some(id) = self.by_name.get(name) {
            return Ok(*id);
        }
        b.tx.prepare_cached(
            "INSERT INTO metric_names (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
        )?
        .execute([super::clean(name)])?;
        let id: i64 =
            b.tx.prepare_cached("SELECT id FROM metric_names WHERE name = ?1")?
                .query_row([super::clean(name)], |r| r.get(0))?;
        self.by_name.insert(Box::from(name), id);
        self.by_id.insert(id, Box::from(name));
        Ok(id)
    }

    /// Names of a stored row's metrics; the table is read again once if an id is new here.
    fn resolve(
        &mut self,
        b: &Batch<'_>,
        stored: Stored,
    ) -> Result<BTreeMap<String, MinMax>, StoreError> {
        if let Stored::Packed(p) = &stored
            && (!self.loaded
                || decode_metrics(p)
                    .iter()
                    .any(|m| !self.by_id.contains_key(&m.0)))
        {
            self.load(&b.tx)?;
        }
        Ok(stored.resolve(&|id| self.by_id.get(&id).map(|n| n.to_string())))
    }
}

/// `metric_names` as id -> name.
fn names_table(conn: &rusqlite::Connection) -> Result<HashMap<i64, Box<str>>, StoreError> {
    Ok(
        all_rows(conn, "SELECT id, name FROM metric_names", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?.into_boxed_str()))
        })?
        .into_iter()
        .collect(),
    )
}

/// A row's `metrics` column as stored: NULL, JSON text (rows written by store version 5) or
/// packed (`encode_metrics`).
enum Stored {
    None,
    Json(String),
    Packed(Vec<u8>),
}

impl Stored {
    fn column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Stored> {
        use rusqlite::types::ValueRef;
        Ok(match r.get_ref(i)? {
            ValueRef::Text(t) => Stored::Json(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Stored::Packed(b.to_vec()),
            _ => Stored::None,
        })
    }

    /// Per metric name, min and max; a metric whose name id is unknown is left out.
    fn resolve(self, name: &dyn Fn(i64) -> Option<String>) -> BTreeMap<String, MinMax> {
        match self {
            Stored::None => BTreeMap::new(),
            Stored::Json(j) => serde_json::from_str::<BTreeMap<String, [f64; 2]>>(&j)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, [min, max])| (k, MinMax { min, max }))
                .collect(),
            Stored::Packed(p) => decode_metrics(&p)
                .into_iter()
                .filter_map(|(id, min, max)| Some((name(id)?, MinMax { min, max })))
                .collect(),
        }
    }
}

/// Format byte of packed metrics.
const PACKED_V1: u8 = 1;

/// Metrics as a rollup row stores them: the format byte, then per metric its name id (LEB128), a
/// tag (bit 0: min = max, one value follows; bit 1: the values are f32, exactly) and the values,
/// little-endian. `{"latency_seconds":[0.000367,0.001971],"status_code":[200.0,200.0]}` was 67
/// bytes of JSON; packed it is 25.
fn encode_metrics(m: &[(i64, f64, f64)]) -> Vec<u8> {
    let mut out = vec![PACKED_V1];
    for &(id, min, max) in m {
        let mut v = id.max(0) as u64;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        let exact32 = |x: f64| f64::from(x as f32) == x;
        let one = min.to_bits() == max.to_bits();
        let f32s = exact32(min) && exact32(max);
        out.push(u8::from(one) | (u8::from(f32s) << 1));
        let vals = [min, max];
        for x in &vals[..if one { 1 } else { 2 }] {
            if f32s {
                out.extend_from_slice(&(*x as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    out
}

/// The inverse of `encode_metrics`: name id, min, max. An unknown format or a malformed tail
/// ends the list (what decoded before it is kept).
fn decode_metrics(b: &[u8]) -> Vec<(i64, f64, f64)> {
    let mut out = Vec::new();
    let Some((&PACKED_V1, mut rest)) = b.split_first() else {
        return out;
    };
    while !rest.is_empty() {
        let mut id: u64 = 0;
        let mut shift = 0;
        loop {
            let Some((&byte, r)) = rest.split_first() else {
                return out;
            };
            rest = r;
            if shift > 56 {
                return out;
            }
            id |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let Some((&tag, r)) = rest.split_first() else {
            return out;
        };
        rest = r;
        let (n, width) = (
            if tag & 1 == 1 { 1 } else { 2 },
            if tag & 2 == 2 { 4 } else { 8 },
        );
        if tag > 3 || rest.len() < n * width {
            return out;
        }
        let (vals, r) = rest.split_at(n * width);
        rest = r;
        let value = |c: &[u8]| match *c {
            [a, b, c, d] => f64::from(f32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => f64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => f64::NAN,
        };
        let (min, max) = (value(&vals[..width]), value(&vals[(n - 1) * width..]));
        out.push((i64::try_from(id).unwrap_or(i64::MAX), min, max));
    }
    out
}

fn period_start(ts: i64, period_s: i64) -> i64 {
    ts.div_euclid(period_s * 1000) * period_s * 1000
}

impl Rollups {
    /// Adds one run of `probe`. A period that ends is written out; a period started is seeded
    /// from the store (a restart in the middle of it keeps the counts already written).
    pub fn add(&mut self, b: &Batch<'_>, probe: &str, run: &Run<'_>) -> Result<(), StoreError> {
        if !self.open.contains_key(probe) {
            self.open.insert(probe.into(), Box::new([None, None]));
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
                    write(b, &mut self.names, probe, *period_s, &old, Open::No)?;
                }
                slots[tier] = Some(match b.rollup(probe, *period_s, start)? {
                    Some((mut row, stored, sketch)) => {
                        row.metrics = self.names.resolve(b, stored)?;
                        Acc::from_row(&row, sketch)
                    }
                    None => Acc::empty(start, run.lesson),
                });
            }
            if let Some(acc) = slots[tier].as_mut() {
                acc.add(run);
                if acc.written_at.is_none() {
                    // a new period shows up at once; later runs every FLUSH_MS
                    write(b, &mut self.names, probe, *period_s, acc, Open::Yes)?;
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
                    write(b, &mut self.names, probe, *period_s, acc, Open::Yes)?;
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
        self.names = Names::default();
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

fn write(
    b: &Batch<'_>,
    names: &mut Names,
    probe: &str,
    period_s: i64,
    a: &Acc,
    open: Open,
) -> Result<(), StoreError> {
    let (p50, p95) = a.percentiles();
    let metrics = if a.metrics.is_empty() {
        None
    } else {
        let mut m = Vec::with_capacity(a.metrics.len());
        for (k, lo, hi) in &a.metrics {
            m.push((names.id(b, k)?, *lo, *hi));
        }
        Some(encode_metrics(&m))
    };
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

/// A row without its metrics, and the metrics as stored (their names are resolved by the caller).
fn rollup_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(RollupRow, Stored)> {
    let us = |i: usize| -> rusqlite::Result<f64> { Ok(r.get::<_, i64>(i)? as f64 / 1000.0) };
    let (degraded, critical): (i64, i64) = (r.get(6)?, r.get(7)?);
    let row = RollupRow {
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
        metrics: BTreeMap::new(),
    };
    Ok((row, Stored::column(r, 13)?))
}

impl Batch<'_> {
    /// One stored rollup row (its metrics still as stored) and its histogram (hour rows), if any.
    fn rollup(
        &self,
        probe: &str,
        period_s: i64,
        start: i64,
    ) -> Result<Option<(RollupRow, Stored, Option<Sketch>)>, StoreError> {
        let mut st = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS}, sketch FROM rollups WHERE probe = ?1 AND period_s = ?2 AND start = ?3"
        ))?;
        let mut rows = st.query_map(rusqlite::params![probe, period_s, start], |r| {
            let sketch: Option<Vec<u8>> = r.get(14)?;
            let (row, stored) = rollup_row(r)?;
            Ok((row, stored, sketch.map(|s| Sketch::from_bytes(&s))))
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
        let rows = all_rows(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM rollups
             WHERE (?1 IS NULL OR probe IN (SELECT value FROM json_each(?1))) AND period_s = ?2
               AND (?3 IS NULL OR start >= ?3) AND (?4 IS NULL OR start < ?4)
             ORDER BY start DESC, probe LIMIT ?5"
            ),
            rusqlite::params![list, period_s, since_ms, until_ms, limit],
            rollup_row,
        )?;
        let names = if rows.iter().any(|r| matches!(r.1, Stored::Packed(_))) {
            names_table(&self.conn)?
        } else {
            HashMap::new()
        };
        let name = |id: i64| names.get(&id).map(|n| n.to_string());
        Ok(rows
            .into_iter()
            .map(|(mut row, stored)| {
                row.metrics = stored.resolve(&name);
                row
            })
            .collect())
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
    fn packed_metrics_round_trip_and_stop_at_a_malformed_tail() {
        let m = [
            (1, 0.000367, 0.001971),
            (2, 200.0, 200.0),
            (300, -1.5, 1e300),
            (7, f64::MIN_POSITIVE, f64::MIN_POSITIVE),
        ];
        let packed = encode_metrics(&m);
        assert_eq!(decode_metrics(&packed), m.to_vec());
        // the example in the doc comment: 25 bytes against 67 of JSON
        assert_eq!(
            encode_metrics(&[(1, 0.000367, 0.001971), (2, 200.0, 200.0)]).len(),
            25
        );
        // every cut of it decodes to a prefix, never panics, never invents a value
        for cut in 0..packed.len() {
            let got = decode_metrics(&packed[..cut]);
            assert!(got.len() < m.len(), "cut at {cut}: {got:?}");
            assert_eq!(got[..], m[..got.len()], "cut at {cut}");
        }
        assert!(
            decode_metrics(&[2, 1, 1, 0, 0, 0x80, 0x3f]).is_empty(),
            "unknown format"
        );
        assert!(
            decode_metrics(&[PACKED_V1, 1, 9, 0, 0, 0, 0]).is_empty(),
            "unknown tag"
        );
        assert!(
            decode_metrics(&[
                PACKED_V1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1
            ])
            .is_empty(),
            "id too long"
        );
    }

    #[test]
    fn rows_of_store_version_5_keep_their_json_metrics_next_to_packed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO rollups (probe, period_s, start, lesson, runs, ok, degraded, critical, unknown, p50_us, p95_us, max_us, late_max_ms, metrics)
                 VALUES ('old', 300, 0, 1, 1, 1, 0, 0, 0, 1000, 1000, 1000, 0, '{\"latency_seconds\":[0.5,0.75]}')",
                [],
            )
            .unwrap();
        let mut rollups = Rollups::default();
        let metric = |name: &str, value: f64| crate::probe::Metric {
            name: name.into(),
            value,
        };
        let metrics = [
            metric("latency_seconds", 0.25),
            metric("status_code", 200.0),
        ];
        let b = store.batch().unwrap();
        let run = Run {
            ts: 600_000,
            lesson: 1,
            health: "ok",
            duration_us: 2000,
            late_ms: 0,
            metrics: &metrics,
        };
        rollups.add(&b, "new", &run).unwrap();
        b.commit().unwrap();
        let rows = store.rollups(None, 300, None, None, 10).unwrap();
        let by_probe = |p: &str| rows.iter().find(|r| r.probe == p).unwrap().metrics.clone();
        let old = by_probe("old");
        assert_eq!(
            old["latency_seconds"],
            MinMax {
                min: 0.5,
                max: 0.75
            }
        );
        let new = by_probe("new");
        assert_eq!(new.len(), 2);
        assert_eq!(
            new["latency_seconds"],
            MinMax {
                min: 0.25,
                max: 0.25
            }
        );
        assert_eq!(
            new["status_code"],
            MinMax {
                min: 200.0,
                max: 200.0
            }
        );
        let stored: Vec<u8> = store
            .conn
            .query_row("SELECT metrics FROM rollups WHERE probe = 'new'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored[0], PACKED_V1, "new rows are packed, not JSON");
        // a second recorder (a restart) seeds the open period from the packed row
        let mut again = Rollups::default();
        let b = store.batch().unwrap();
        again.add(&b, "new", &Run { ts: 600_500, ..run }).unwrap();
        again.flush(&b, i64::MAX, true).unwrap();
        b.commit().unwrap();
        let rows = store
            .rollups(Some(&["new".to_string()]), 300, None, None, 10)
            .unwrap();
        assert_eq!(rows[0].runs, 2);
        assert_eq!(rows[0].metrics.len(), 2);
    }

    #[test]
    fn period_starts_align() {
        assert_eq!(period_start(299_999, 300), 0);
        assert_eq!(period_start(300_000, 300), 300_000);
        assert_eq!(period_start(7_199_999, 3600), 3_600_000);
        assert_eq!(period_start(-1, 300), -300_000);
    }
}
