//! `store_size`: how big the store gets per day of runs, without waiting days. It writes a temp
//! config with N probes, opens the real store and drives the real `engine::recorder::Recorder`
//! with runs stamped by a simulated clock (one batch per simulated second, each probe once per
//! interval, spread over it like the scheduler spreads them), applies the configured retention
//! every simulated hour as the daemon does, and prints the store's size (database + WAL) and row
//! counts after each simulated day. Each probe fails for one minute once a day (an incident: two
//! transitions) so change is part of the load. It must not touch anything but its temp directory.
//!
//! `cargo bench --bench store_size -- --probes 1000 --interval 10s --days 4` (`cargo test` runs a
//! 10-probe, two-simulated-hour smoke run).

// a benchmark tool, not the product: unwrap/expect fail the run loudly
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{Context, Result, bail};
use ledgerd::engine::recorder::Recorder;
use ledgerd::engine::scheduler::Recorded;
use ledgerd::probe::Observation;
use ledgerd::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    probes: usize,
    interval: Duration,
    days: u32,
    keep_observations: u32,
    retention_5m: String,
    retention_1h: String,
    keep: bool,
    /// Simulated seconds per "day" (86,400 except in the smoke run).
    day_s: i64,
    /// Simulated seconds between two printed rows (a day unless `--report-every`).
    report_s: Option<i64>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        probes: 1000,
        interval: Duration::from_secs(10),
        days: 4,
        keep_observations: 100,
        retention_5m: "1d".into(),
        retention_1h: "2d".into(),
        keep: false,
        day_s: 86_400,
        report_s: None,
    };
    // `cargo test --all-targets` runs this with no arguments: a short smoke run (10 probes, one
    // simulated 2-hour "day"); `cargo bench` passes --bench
    if std::env::args().len() == 1 {
        a.probes = 10;
        a.days = 1;
        a.day_s = 7200;
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--probes" => a.probes = value()?.parse().context("--probes")?,
            "--interval" => {
                a.interval = humantime::parse_duration(&value()?).context("--interval")?
            }
            "--days" => a.days = value()?.parse().context("--days")?,
            "--keep-observations" => {
                a.keep_observations = value()?.parse().context("--keep-observations")?
            }
            "--retention-5m" => a.retention_5m = value()?,
            "--retention-1h" => a.retention_1h = value()?,
            "--report-every" => {
                let d = humantime::parse_duration(&value()?).context("--report-every")?;
                a.report_s = Some(d.as_secs().max(1) as i64);
            }
            "--keep" => a.keep = true,
            // `cargo bench` passes --bench to every bench target
            "--bench" => {}
            "-h" | "--help" => {
                println!(
                    "usage: cargo bench --bench store_size -- [--probes N (1000)] [--interval D (10s)] [--days D (4)]\n\
                     [--keep-observations N (100)] [--retention-5m D (1d)] [--retention-1h D (2d)]\n\
                     [--report-every D (1d): simulated time between printed rows] [--keep]\n\
                     Drives the real recorder with a simulated clock and prints the store size per simulated day."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if a.probes == 0 || a.interval < Duration::from_secs(1) || a.days == 0 {
        bail!("--probes and --days must be positive, --interval at least 1s");
    }
    Ok(a)
}

fn write_config(dir: &Path, a: &Args) -> Result<std::path::PathBuf> {
    use std::fmt::Write as _;
    let mut c = format!(
        "[daemon]\nstate_dir = {:?}\nkeep_observations = {}\nretention_5m = {:?}\nretention_1h = {:?}\nretention_transitions = {:?}\n\n",
        dir.join("state").display().to_string(),
        a.keep_observations,
        a.retention_5m,
        a.retention_1h,
        a.retention_1h,
    );
    for i in 0..a.probes {
        write!(
            c,
            "[probe.target_{i:05}]\nkind = \"http\"\nlesson = 26\nevery = \"{}\"\nurl = \"http://127.0.0.1:9/t/{i}\"\nexpect_json = [{{ path = \"$.data\", min_len = 1 }}]\nfail_after = 1\nresolve_after = 1\n\n",
            humantime::format_duration(a.interval)
        )?;
    }
    let path = dir.join("ledgerd.toml");
    std::fs::write(&path, c)?;
    Ok(path)
}

/// What an `http` probe records (same summary, evidence and metrics as `probe::http`).
fn observation(i: usize, ok: bool, latency_us: u64) -> Observation {
    let target = format!("GET http://127.0.0.1:9/t/{i}");
    let ms = latency_us as f64 / 1000.0;
    let mut o = if ok {
        Observation::ok(format!("{target}: 200 in {ms:.1} ms, 2 checks passed"))
    } else {
        Observation::critical(format!(
            "{target}: $.data has 0 items (expected at least 1)"
        ))
    };
    o = o
        .expected("status 200, $.data min_len 1")
        .evidence("request", &target)
        .evidence("status", 200);
    if !ok {
        o = o
            .evidence("$.data", "0 items, expected at least 1")
            .evidence("body", "{\"ok\":true,\"data\":[]}");
    }
    o.evidence("body_bytes", 27)
        .metric("latency_seconds", latency_us as f64 / 1e6)
        .metric("status_code", 200.0)
}

fn size(dir: &Path) -> u64 {
    ["ledgerd.db", "ledgerd.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn rows(store_dir: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open_with_flags(
        store_dir.join("ledgerd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    );
    c.and_then(|c| c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)))
        .unwrap_or(-1)
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let dir = tempfile::tempdir()?;
    let cfg_path = write_config(dir.path(), &a)?;
    let config = ledgerd::config::load_file(&cfg_path)
        .map_err(|e| anyhow::anyhow!("bench config: {e:?}"))?;
    let config = Arc::new(config);
    let state = dir.path().join("state");
    let mut recorder = Recorder::new(Store::open(&state)?, config.clone())?;
    let interval_s = a.interval.as_secs() as i64;
    let day_s = a.day_s;
    // a fixed start on a day boundary, so days and rollup periods line up
    let t0 = 1_798_761_600i64; // 2027-01-01T00:00:00Z
    let ids: Vec<String> = config.probes.iter().map(|p| p.id.clone()).collect();
    println!(
        "store_size: {} probes every {}s, keep_observations {}, retention_5m {}, retention_1h {} (transitions too)",
        a.probes, interval_s, a.keep_observations, a.retention_5m, a.retention_1h
    );
    let report_s = a.report_s.unwrap_or(day_s);
    println!(
        "| simulated h | runs | store MB | MB since last row | observations | rollups 5m | rollups 1h | transitions | wall s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut runs: u64 = 0;
    let mut last_size = size(&state);
    let mut batch: Vec<Recorded> = Vec::with_capacity(a.probes / interval_s.max(1) as usize + 1);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    for day in 0..a.days as i64 {
        for sec in 0..day_s {
            let now = t0 + day * day_s + sec;
            batch.clear();
            // probe i runs when (now + i) % interval == 0: spread over the interval
            let mut i = ((interval_s - now % interval_s) % interval_s) as usize;
            while i < ids.len() {
                // one failing minute per probe per day, at a time of day that depends on the probe
                let fail_at = (i as i64 * 7919) % (day_s - 60);
                let ok = !(sec >= fail_at && sec < fail_at + 60);
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let latency_us = 300 + rng % 1700;
                batch.push(Recorded {
                    probe: ids[i].clone(),
                    obs: observation(i, ok, latency_us),
                    started: chrono::DateTime::from_timestamp(now, (rng % 1000) as u32 * 1000)
                        .unwrap_or_default(),
                    duration: Duration::from_micros(latency_us + 100),
                    late: Duration::from_millis(rng % 3),
                });
                i += interval_s as usize;
            }
            if !batch.is_empty() {
                recorder.record(&batch)?;
                runs += batch.len() as u64;
            }
            if sec % 3600 == 3599 {
                recorder.prune(now * 1000)?;
            }
            let elapsed = day * day_s + sec + 1;
            if elapsed % report_s == 0 || elapsed == i64::from(a.days) * day_s {
                report(&state, elapsed, runs, &mut last_size, started);
            }
        }
    }
    recorder.flush()?;
    drop(recorder);
    let kept = rows(&state, "observations");
    if kept > (a.probes as i64) * i64::from(a.keep_observations) {
        bail!("{kept} observations kept for {} probes", a.probes);
    }
    if a.keep {
        let kept = dir.keep();
        eprintln!("kept {}", kept.display());
    }
    Ok(())
}

/// One row of the table: the store's size and row counts after `elapsed` simulated seconds.
fn report(state: &Path, elapsed: i64, runs: u64, last_size: &mut u64, started: Instant) {
    let now_size = size(state);
    println!(
        "| {:.1} | {} | {:.1} | {:+.1} | {} | {} | {} | {} | {:.0} |",
        elapsed as f64 / 3600.0,
        runs,
        now_size as f64 / 1e6,
        (now_size as f64 - *last_size as f64) / 1e6,
        rows(state, "observations"),
        rows(state, "rollups WHERE period_s = 300"),
        rows(state, "rollups WHERE period_s = 3600"),
        rows(state, "transitions"),
        started.elapsed().as_secs_f64()
    );
    *last_size = now_size;
}
