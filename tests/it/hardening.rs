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

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

/// The `listen` address `write_config` chose.
fn base_url(cfg: &Path) -> String {
    let text = std::fs::read_to_string(cfg).unwrap();
    let listen = text
        .lines()
        .find_map(|l| l.strip_prefix("listen = "))
        .unwrap()
        .trim_matches('"');
    format!("http://{listen}")
}

/// Rows 2 and 3: a FIFO or a device where a unit file, plist, crontab, token file,
/// bearer token file or EnvironmentFile should be. `check` answers on time with `unknown` and
/// the reason for each, never freezing.
#[test]
fn rows2_3_fifos_and_devices_are_unknown_and_check_finishes_on_time() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("u")).unwrap();
    mkfifo(&d.join("u/x.service"));
    std::fs::create_dir(d.join("e")).unwrap();
    mkfifo(&d.join("env.fifo"));
    std::fs::write(
        d.join("e/y.service"),
        format!(
            "[Service]\nType=simple\nEnvironmentFile={}\nExecStart=/bin/true\n",
            d.join("env.fifo").display()
        ),
    )
    .unwrap();
    std::fs::create_dir(d.join("LaunchDaemons")).unwrap();
    mkfifo(&d.join("LaunchDaemons/job.plist"));
    mkfifo(&d.join("ct"));
    let rx = Receiver::start();
    let cfg = write_config(
        d,
        &format!(
            r#"[probe.unit]
kind = "systemd_unit"
lesson = 25
timeout = "2s"
unit = "x.service"
unit_dirs = ["u"]
use_systemctl = false

[probe.envfile]
kind = "systemd_unit"
lesson = 25
timeout = "2s"
unit = "y.service"
unit_dirs = ["e"]
use_systemctl = false

[probe.plist]
kind = "launchd_job"
lesson = 3
timeout = "2s"
plist = "LaunchDaemons/job.plist"

[probe.cron]
kind = "cron_env"
lesson = 14
timeout = "2s"
crontabs = ["ct"]

[probe.token]
kind = "token_expiry"
lesson = 10
timeout = "2s"
file = "/dev/zero"
format = "jwt"

[probe.bearer]
kind = "http"
lesson = 26
timeout = "2s"
url = "{}"
bearer_token_file = "/dev/zero"
"#,
            rx.url("/x")
        ),
    );
    let (_, v, took) = check(&cfg);
    assert!(took < Duration::from_secs(10), "check took {took:?}");
    for (probe, needle) in [
        ("unit", "not a regular file (a FIFO)"),
        ("envfile", "env.fifo: not a regular file (a FIFO)"),
        ("plist", "not a regular file (a FIFO)"),
        ("cron", "not a regular file (a FIFO)"),
        ("token", "not a regular file (a character device)"),
        ("bearer", "not a regular file (a character device)"),
    ] {
        let o = observation(&v, probe);
        assert_eq!(o["health"], "unknown", "{probe}: {o}");
        assert!(o.to_string().contains(needle), "{probe}: {o}");
    }
}

/// Row 2 in the daemon: a systemd_unit probe on a FIFO (timeout 2s) is recorded `unknown`
/// within about two seconds while /healthz keeps answering, and SIGTERM ends the daemon on time.
#[test]
fn row2_fifo_unit_in_the_daemon_does_not_freeze_healthz_or_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("u")).unwrap();
    mkfifo(&tmp.path().join("u/x.service"));
    let cfg = write_config(
        tmp.path(),
        "[probe.unit]\nkind = \"systemd_unit\"\nlesson = 25\nevery = \"1s\"\ntimeout = \"2s\"\nunit = \"x.service\"\nunit_dirs = [\"u\"]\nuse_systemctl = false\n",
    );
    let base = base_url(&cfg);
    let mut d = Daemon::start(&cfg, &tmp.path().join("log"));
    let started = Instant::now();
    let obs = wait_for(
        "the unit probe's first observation",
        Duration::from_secs(40),
        || {
            let (s, body) = get(&format!("{base}/api/v1/probes/unit"))?;
            (s == 200 && body.contains("not a regular file (a FIFO)")).then_some(body)
        },
    );
    assert!(obs.contains("unknown"), "{obs}");
    // /healthz answers while the probe keeps running every second.
    for _ in 0..5 {
        let t = Instant::now();
        let (s, _) = get(&format!("{base}/healthz")).expect("healthz answers");
        assert_eq!(s, 200);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    assert!(started.elapsed() < Duration::from_secs(40));
    let t = Instant::now();
    assert_eq!(d.stop(), Some(0), "{}", d.log());
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        t.elapsed()
    );
}

/// Row 5: a crontab past the cap (a job after 3,000 comment lines) is `unknown` "truncated at
/// N", never judged from its first part.
#[test]
fn row5_crontab_past_the_cap_is_truncated_not_ok() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ct = "# a comment line long enough to push the job past the 256 KiB cap of cron_env\n"
        .repeat(3_500);
    ct.push_str("* * * * * /nonexistent/job.sh\n");
    assert!(ct.len() > 256 * 1024);
    std::fs::write(tmp.path().join("ct"), ct).unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.cron]\nkind = \"cron_env\"\nlesson = 14\ncrontabs = [\"ct\"]\n",
    );
    let (_, v, _) = check(&cfg);
    let o = observation(&v, "cron");
    assert_eq!(o["health"], "unknown", "{o}");
    assert!(o.to_string().contains("truncated at 262144 bytes"), "{o}");
}

/// Row 6: 1 MiB of random printable text, or NULs, as a unit file (and as a crontab) is
/// `unknown` "not a unit file" / "not a crontab", never "looks right".
#[test]
fn row6_junk_unit_files_and_crontabs_are_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("u")).unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let junk: String = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let c = (x % 96) as u8;
            if c == 95 { '\n' } else { char::from(b' ' + c) }
        })
        .collect();
    std::fs::write(tmp.path().join("u/x.service"), &junk).unwrap();
    std::fs::write(tmp.path().join("u/z.service"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(tmp.path().join("ct"), &junk[..200_000]).unwrap();
    let cfg = write_config(
        tmp.path(),
        r#"[probe.junk]
kind = "systemd_unit"
lesson = 25
unit = "x.service"
unit_dirs = ["u"]
use_systemctl = false

[probe.nuls]
kind = "systemd_unit"
lesson = 25
unit = "z.service"
unit_dirs = ["u"]
use_systemctl = false

[probe.cron]
kind = "cron_env"
lesson = 14
crontabs = ["ct"]
"#,
    );
    let (_, v, _) = check(&cfg);
    for (probe, needle) in [
        ("junk", "not a unit file"),
        ("nuls", "not a unit file"),
        ("cron", "not a crontab"),
    ] {
        let o = observation(&v, probe);
        assert_eq!(o["health"], "unknown", "{probe}: {o}");
        assert!(o.to_string().contains(needle), "{probe}: {o}");
    }
}
