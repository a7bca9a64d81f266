//! The shipped service files pass ledgerd's own service-manager probes, and the daemon speaks
//! sd_notify (READY, then WATCHDOG pings) the way the systemd unit's `Type=notify` and
//! `WatchdogSec` expect, without needing systemd.

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn shipped_unit_and_plist_pass_our_own_probes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.unit]
kind = "systemd_unit"
lessons = [3, 4, 25]
unit = "ledgerd.service"
unit_dirs = ["{}"]
use_systemctl = false

[probe.plist]
kind = "launchd_job"
lesson = 3
plist = "{}"
domain = "daemon"
runtime_dirs = ["/usr/local/bin"]
"#,
            root.join("deploy/systemd").display(),
            root.join("deploy/launchd/com.ledgerd.daemon.plist")
                .display()
        ),
    );
    let o = ledgerd(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let unit = std::fs::read_to_string(root.join("deploy/systemd/ledgerd.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecStartPre=/usr/local/bin/ledgerd doctor",
        "RestartPreventExitStatus=78",
        "WatchdogSec=",
        "ExecReload=",
    ] {
        assert!(unit.contains(line), "{line}");
    }
}

#[test]
fn sd_notify_ready_then_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let tmp = tempfile::tempdir().unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.sh]\nkind = \"command\"\nlesson = 4\nargv = [\"true\"]\n",
    );
    let log = std::fs::File::create(tmp.path().join("d.log")).unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stderr(log)
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !(got.iter().any(|m: &String| m.contains("READY=1"))
        && got.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = sock.recv(&mut buf).expect("a notification within 20 s");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        assert!(got.len() < 100, "{got:?}");
    }
    let ready = got.iter().position(|m| m.contains("READY=1")).unwrap();
    let first_watchdog = got.iter().position(|m| m.contains("WATCHDOG=1")).unwrap();
    assert!(ready < first_watchdog, "READY comes first: {got:?}");
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
