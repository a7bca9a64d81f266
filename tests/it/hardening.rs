//! Issue 10's hostile inputs against the real binary, one test per row this file covers: a
//! crontab line nested 6,000 deep (row 1), FIFOs and devices where files are expected (rows 2
//! and 3), a crontab past its cap (row 5), junk as a unit file (row 6), secrets echoed back
//! (row 7), and receivers and children that do not stop (row 11). Everything runs in temp dirs
//! against loopback.

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// `ledgerd check --format json` on `cfg`: (exit code, JSON, how long it took).
fn check(cfg: &Path) -> (i32, serde_json::Value, Duration) {
    let start = Instant::now();
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let took = start.elapsed();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code().unwrap_or(-1), v, took)
}

fn observation<'a>(v: &'a serde_json::Value, probe: &str) -> &'a serde_json::Value {
    &v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["probe"] == probe)
        .unwrap_or_else(|| panic!("no result for {probe}: {v}"))["observation"]
}

/// Row 1: 6,000 nested `$(` in a crontab line was a stack overflow (exit 134); now the probe
/// answers `unknown` naming the nesting limit, and the process exits normally.
#[test]
fn row1_deeply_nested_crontab_line_is_a_finding_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let line = format!(
        "* * * * * {}echo $X{}\n",
        "$(".repeat(6000),
        ")".repeat(6000)
    );
    std::fs::write(tmp.path().join("ct"), line).unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.cron]\nkind = \"cron_env\"\nlesson = 14\ncrontabs = [\"ct\"]\n",
    );
    let (code, v, _) = check(&cfg);
    // `check` exits 1 when a probe could not look (not 134: no crash).
    assert_eq!(code, 1, "{v}");
    let o = observation(&v, "cron");
    assert_eq!(o["health"], "unknown", "{o}");
    let text = o.to_string();
    assert!(
        text.contains("command nesting deeper than 64 levels at line 1"),
        "{o}"
    );
}
